"""Overview: what the dashboard is for, and the studies at a glance with their headline numbers."""
from __future__ import annotations

import pandas as pd

from components.evidence_map import evidence_map
from evidence.naming import DESIGN_LABELS, QUALIFIER_SIGNS, design_label, study_name

from . import patient as pt
from .model import PRESENT, ViewModel, font_size

PATH = ""   # the default page lives at /

_HEADLINE_MEDIANS = ("OS_median", "PFS_median", "TTP_median")


def _fmt_median(row) -> str:
    ci = ""
    if pd.notna(row.ci_low) and pd.notna(row.ci_high):
        ci = f" ({row.ci_low:g}-{row.ci_high:g})"
    bound = getattr(row, "qualifier", None)
    sign = QUALIFIER_SIGNS.get(bound, "") if isinstance(bound, str) else ""
    return f"{sign}{row.value:g}{ci}"


def arms_with_n(store, study_id: str, matched: bool) -> str:
    """'Hepa-HAIC (n=48 matched; 74 before matching); ...': the n of the cohort the medians come from.

    matched: the headline numbers shown beside it are the matched cohort's, so each
    arm's matched n leads and the n before matching follows; an arm without a
    matched n keeps its own n.
    """
    arms = store.arms[store.arms.study_id == study_id]
    parts = []
    for a in arms.to_dict("records"):
        n, nm = a.get("n"), a.get("n_matched")
        has_n, has_nm = n is not None and pd.notna(n), nm is not None and pd.notna(nm)
        if matched and has_nm:
            before = f"; {int(n)} before matching" if has_n and int(n) != int(nm) else ""
            parts.append(f"{a['label']} (n={int(nm)} matched{before})")
        elif has_n:
            parts.append(f"{a['label']} (n={int(n)})")
        else:
            parts.append(a["label"])
    return "; ".join(parts)


def studies_at_a_glance(store) -> pd.DataFrame:
    rows = []
    outcomes = store.outcomes
    conflicted = outcomes.conflict_ids.map(lambda c: bool(c) if isinstance(c, list) else False)
    for st in store.studies.itertuples():
        shows_matched = bool(((outcomes.study_id == st.study_id) & (outcomes.population == "matched")
                              & outcomes.endpoint.isin(_HEADLINE_MEDIANS) & outcomes.value.notna()).any())
        arm_text = arms_with_n(store, st.study_id, shows_matched)
        medians = []
        for ep in _HEADLINE_MEDIANS:
            sel = outcomes[(outcomes.study_id == st.study_id) & (outcomes.endpoint == ep)
                           & (outcomes.population.isin(["overall", "matched"])) & outcomes.value.notna()]
            if sel.empty:
                continue
            # prefer the matched cohort where the study has one: it is the paper's main analysis
            if (sel.population == "matched").any():
                sel = sel[sel.population == "matched"]
            bits = []
            for r in sel.drop_duplicates("arm_id").itertuples():
                mark = " ⚠" if conflicted.loc[r.Index] else ""
                bits.append(f"{store.arm_label(st.study_id, r.arm_id)} {_fmt_median(r)}{mark}")
            medians.append(f"{ep.split('_')[0]}: " + " vs ".join(bits))
        hrs = store.hazard_ratios[(store.hazard_ratios.study_id == st.study_id)
                                  & (store.hazard_ratios.population.isin(["overall", "matched"]))]
        hr_text = []
        for ep in ("OS", "PFS", "TTP", "DFS"):
            sel = hrs[hrs.endpoint == ep]
            if sel.empty:
                continue
            # the adjusted estimate is the paper's headline where both are given
            r = sel.sort_values("adjusted", ascending=False).iloc[0]
            ci = f" ({r.ci_low:g}-{r.ci_high:g})" if pd.notna(r.ci_low) else ""
            level = "" if r.ci_level == 0.95 else f" [{round(100 * r.ci_level)}% CI]"
            hr_text.append(f"{ep} HR {r.hr:g}{ci}{level}" + (" adj." if r.adjusted else ""))
        # the numbers first: a clinician scans the medians and HRs, then reads the context
        rows.append({
            "Study": study_name(store, st.study_id),
            "Design": design_label(st.design, st.source_kind),
            "Arms (n)": arm_text,
            "Median, months (CI)": " | ".join(medians),
            "Hazard ratio": "; ".join(hr_text),
            "Line of therapy": st.line_of_therapy if isinstance(st.line_of_therapy, str) else "",
            "Population": st.population if isinstance(st.population, str) else "",
            "study_id": st.study_id,
        })
    df = pd.DataFrame(rows)
    return df


CAVEAT = ("Cross-study comparisons are not randomised. These studies differ in design (retrospective, "
          "propensity-matched, single-arm, randomised), population, line of therapy and response criteria. "
          "Numbers side by side are context for a discussion, not evidence that one regimen beats another. "
          "Survival curves here are reconstructed from published summaries, not the trials' patient data.")
GROUPS = (("primary", "Primary papers"), ("review", "Trials reported in the review (Gong & Qin 2016)"))


# the map's columns: the line of therapy as the papers state it, in four groups
LINES = ("First line", "After TACE failure", "Second line or later", "Not stated")


def line_group(text) -> str:
    """The line of therapy of a study, from the paper's own words, in one of LINES."""
    t = text.lower() if isinstance(text, str) else ""
    if not t or t.startswith("not stated"):
        return "Not stated"
    if "tace" in t and ("failure" in t or "refractor" in t):
        return "After TACE failure"
    if "second" in t:
        return "Second line or later"
    if t.startswith("first"):
        return "First line"
    return "Not stated"


def headline_effect(store, study_id: str) -> str:
    """'OS HR 0.29 adj.' (the overview table's choice), else the experimental arm's median OS."""
    hrs = store.hazard_ratios[(store.hazard_ratios.study_id == study_id)
                              & store.hazard_ratios.population.isin(["overall", "matched"])]
    for ep in ("OS", "PFS", "TTP"):
        sel = hrs[hrs.endpoint == ep]
        if len(sel):
            r = sel.sort_values("adjusted", ascending=False).iloc[0]
            return f"{ep} HR {r.hr:g}" + (" adj." if r.adjusted else "")
    out = store.outcomes
    med = out[(out.study_id == study_id) & (out.endpoint == "OS_median") & out.value.notna()
              & out.population.isin(["overall", "matched"])]
    if len(med):
        r = med.iloc[0]
        sign = QUALIFIER_SIGNS.get(r.qualifier, "") if isinstance(getattr(r, "qualifier", None), str) else ""
        return f"median OS {sign}{r.value:g} mo"
    return ""


def _n(store, st) -> int | None:
    if pd.notna(st.n_total):
        return int(st.n_total)
    arms = store.arms[store.arms.study_id == st.study_id]
    total = arms.n.dropna().sum()
    return int(total) if total else None


def study_links(store) -> dict[str, dict[str, str]]:
    """Each study's views, filtered to it: {study_id: {"forest": link, "survival": link}}."""
    from .core import view_spec   # late: core imports this module
    forest_studies = set(view_spec("forest", store)["studies"].options)
    survival_arms = list(view_spec("survival", store)["arms"].options)
    links: dict[str, dict[str, str]] = {}
    for sid in store.studies.study_id:
        mine = {}
        if sid in forest_studies:
            mine["forest"] = f"/forest?studies={sid}&comparisons=all"
        arms = [k for k in survival_arms if k.split(":", 1)[0] == sid]
        if arms:
            mine["survival"] = "/survival?arms=" + ",".join(arms)
        links[sid] = mine
    return links


def map_rows(store) -> list[dict]:
    rows = []
    for st in store.studies.itertuples():
        n, effect = _n(store, st), headline_effect(store, st.study_id)
        design = DESIGN_LABELS.get(st.design, st.design)
        line = line_group(st.line_of_therapy)
        rows.append({"study_id": st.study_id, "study": study_name(store, st.study_id), "design": design,
                     "line": line, "n": n, "effect": effect, "primary": st.source_kind == "primary",
                     "hover": [study_name(store, st.study_id), design_label(st.design, st.source_kind),
                               f"Line of therapy: {st.line_of_therapy or 'not stated in the source'}",
                               f"Patients: {n if n is not None else 'not reported'}",
                               f"Headline: {effect or 'no hazard ratio or median OS recorded'}"]})
    return rows


def map_figure(store, state: dict):
    rows = map_rows(store)
    designs = [DESIGN_LABELS[d] for d in DESIGN_LABELS if any(r["design"] == DESIGN_LABELS[d] for r in rows)]
    designs += sorted({r["design"] for r in rows} - set(designs))
    lines = [x for x in LINES if any(r["line"] == x for r in rows)]
    return evidence_map(rows, designs, lines, font_size=font_size(state) - 1,
                        title="The evidence: studies by design and line of therapy (marker area: patients; "
                              "label: headline effect)")


def glance_table(store) -> pd.DataFrame:
    """One row a study, narrow enough for 1280 px: the detail is in the expander and the views."""
    links = study_links(store)
    rows = []
    for r in map_rows(store):
        rows.append({"Study": r["study"], "Design": r["design"], "Line of therapy": r["line"],
                     "Patients": pd.NA if r["n"] is None else r["n"], "Headline effect": r["effect"],
                     "Forest": links[r["study_id"]].get("forest"), "Survival": links[r["study_id"]].get("survival"),
                     "primary": r["primary"]})
    df = pd.DataFrame(rows).sort_values("primary", ascending=False, kind="stable").drop(columns=["primary"])
    df["Patients"] = df["Patients"].astype("Int64")
    return df.reset_index(drop=True)


def spec(store) -> dict:
    return {"present": PRESENT}


def build(state: dict, store, params: dict) -> ViewModel:
    glance = studies_at_a_glance(store)
    kinds = dict(zip(store.studies.study_id, store.studies.source_kind))
    tables, titles = {}, {}
    for kind, title in GROUPS:
        part = glance[[kinds.get(s) == kind for s in glance.study_id]] if len(glance) else glance
        if part.empty:
            continue
        part = part.drop(columns=["study_id"])
        # a column no study of this group fills only pushes the numbers off screen
        part = part.loc[:, [c for c in part.columns if c == "Study" or (part[c].astype(str).str.strip() != "").any()]]
        tables[kind] = part.reset_index(drop=True)
        titles[kind] = f"{title} ({len(part)})"
    texts = {"table_titles": titles}
    profile = pt.profile_of(state)
    if profile:
        # the studies by verdict, with the criteria that decided it; then the matching subgroups
        fit = pt.fit_table(store, profile)
        tables["patient_fit"] = fit.drop(columns=["study_id"])
        titles["patient_fit"] = f"Does this evidence apply to this patient? ({len(fit)} studies by verdict)"
        subgroups = pt.subgroup_table(store, profile)
        if len(subgroups):
            tables["patient_subgroups"] = subgroups.drop(columns=["study_id"])
            titles["patient_subgroups"] = f"Subgroup results of patients like this one ({len(subgroups)})"
            texts["patient_subgroup_note"] = pt.SUBGROUP_NOTE
    tables = {"glance": glance_table(store), **tables}
    titles["glance"] = f"Every study ({len(tables['glance'])}): open its forest plot or survival curves"
    return ViewModel(page="overview", path=PATH, state=state, params=params,
                     title="Advanced hepatocellular carcinoma: evidence comparison",
                     figures={"map": map_figure(store, state)},
                     tables=tables, caveats=(CAVEAT,), texts=texts)
