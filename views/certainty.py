"""Summary of findings: per comparison and outcome, how sure we are (GRADE) and how much it
matters (absolute effects at 12 and 24 months, medians), with the design details and the
curator's risk-of-bias judgements behind each rating. Pure: no streamlit.
"""
from __future__ import annotations

import pandas as pd

from analysis.absolute import PROPORTIONAL_HAZARDS_NOTE
from evidence.certainty import (IMPRECISION_RULE, OUTCOME_NAMES, certainty_table, design_summary, summary_line,
                                summary_of_findings)
from evidence.naming import POPULATION_LABELS, design_label, study_labels

from . import survival as sv
from .links import Many
from .model import PRESENT, Brief, ViewModel

PATH = "summary-of-findings"
TITLE = "Summary of findings"
MONTHS = (12, 24)
CAVEAT = ("Certainty and risk of bias are the curator's judgements, by GRADE's rules, from what the papers "
          "say; rows of different studies are not randomised comparisons of each other.")
ROB_LABEL = "Risk of bias: the curator's judgement from the paper's text (ROBINS-I or RoB 2 domains)"
START_NOTE = ("Certainty starts at high for randomised comparisons and at low for non-randomised ones, and is "
              "rated down for risk of bias, imprecision, indirectness and inconsistency. ⊕⊕⊕⊕ high, "
              "⊕⊕⊕◯ moderate, ⊕⊕◯◯ low, ⊕◯◯◯ very low.")
# design items shown beside a comparison (the full list, with snippets, is the design table)
DESIGN_SHORT = ("allocation", "timing", "centres", "subgroup_of_trials", "analysis_population", "follow_up")
SILENT = ("not reported in the source", "not recorded")
ROB_DOMAIN_NAMES = {"overall": "Overall"}


# --- the rows ----------------------------------------------------------------

def rebuilt_baselines(store) -> dict[tuple, float]:
    """Reference survival read off the rebuilt curves, for summary_of_findings(rebuilt=...).

    Only for the population the comparison is in (the matched cohort for a matched
    comparison): a whole cohort's curve is not the matched arms' baseline.
    """
    hrs = store.hazard_ratios
    wanted = set(zip(hrs.study_id, hrs.reference_arm_id, hrs.endpoint, hrs.population)) if len(hrs) else set()
    out = {}
    for family in sv.FAMILY_LABELS:
        for (sid, arm, endpoint, population, t), value in sv.rebuilt_landmarks(store, family, MONTHS).items():
            if (sid, arm, endpoint, population) in wanted:
                out[(sid, arm, endpoint, t)] = value
    return out


_SOF: dict = {}
_RATINGS: dict = {}


def ratings(store) -> tuple[pd.DataFrame, dict[str, str]]:
    """certainty_table indexed by hazard-ratio record id, and each study's design line; once per store."""
    key = store.fingerprint
    if key not in _RATINGS:
        _RATINGS.clear()
        designs = design_summary(store).set_index("study_id")
        _RATINGS[key] = (certainty_table(store).set_index("record_id"),
                         {sid: design_line(designs.loc[sid]) for sid in designs.index})
    return _RATINGS[key]


def sof_rows(store) -> pd.DataFrame:
    """summary_of_findings with rebuilt baselines where the paper prints none; primary papers first.

    Once per store (the forest view's brief needs it too, and the curves take seconds to rebuild);
    callers filter it, never change it.
    """
    key = store.fingerprint
    if key not in _SOF:
        _SOF.clear()   # one store at a time: a curator's edit replaces the old rows
        _SOF[key] = _sof_rows(store)
    return _SOF[key]


def _sof_rows(store) -> pd.DataFrame:
    sof = summary_of_findings(store, rebuilt=rebuilt_baselines(store), timepoints=MONTHS)
    if sof.empty:
        return sof
    order = {sid: i for i, sid in enumerate(store.studies.study_id)}
    sof = sof.assign(_p=(sof.source_kind == "review").astype(int), _s=sof.study_id.map(order),
                     _e=sof.endpoint.map({"OS": 0}).fillna(1))
    return sof.sort_values(["_p", "_s", "_e"], kind="stable").drop(columns=["_p", "_s", "_e"]).reset_index(drop=True)


def _pct(x) -> str:
    return f"{x:.1f}%" if x is not None and not pd.isna(x) else ""


def _outcome(r) -> str:
    text = r["outcome"]
    if r["population"] == "matched":
        return f"{text} (matched cohort)"
    if isinstance(r.get("subgroup"), str) and r["subgroup"]:
        return f"{text} (subgroup: {r['subgroup']})"
    if r["population"] != "overall":
        return f"{text} ({POPULATION_LABELS.get(r['population'], r['population'])})"
    return text


def _baseline(r, k: str) -> str:
    value = r.get(f"baseline{k}")
    if value is None or pd.isna(value):
        return "not available: not reported and no rebuilt curve reaches this time"
    return f"{value:.1f}% ({r[f'baseline_source{k}']})"


def design_line(design: pd.Series | None) -> str:
    """A study's design facts in a few words (what the paper states; silent items left out)."""
    if design is None:
        return ""
    parts = [str(design[i]) for i in DESIGN_SHORT if str(design[i]) not in SILENT]
    return "; ".join(parts)


def _rob_line(store, r) -> str:
    rb = store.risk_of_bias
    if rb is None or rb.empty:
        return "not recorded"
    m = rb[(rb.study_id == r["study_id"]) & (rb.experimental_arm_id == r["experimental_arm_id"])
           & (rb.reference_arm_id == r["reference_arm_id"]) & (rb.endpoint == r["endpoint"])
           & (rb.population == r["population"]) & (rb.domain == "overall")
           & (rb.subgroup.fillna("") == (r["subgroup"] if isinstance(r["subgroup"], str) else ""))]
    if m.empty:
        return "not recorded"
    o = m.iloc[0]
    return f"{o.judgement} ({o.tool}, curator's judgement): {o.reason}"


def summary_table(store, sof: pd.DataFrame) -> pd.DataFrame:
    """The summary of findings in the clinician's words, one row per comparison and outcome."""
    designs = design_summary(store).set_index("study_id") if len(sof) else pd.DataFrame()
    rows = []
    for r in sof.to_dict("records"):
        n = r["n_patients"]
        row = {
            "Study": r["study_label"],
            "Comparison": r["comparison"],
            "Outcome": _outcome(r),
            "Patients (studies)": f"{int(n) if n is not None and not pd.isna(n) else 'NR'} ({r['n_studies']} study)",
            "Design": design_label(r["design"], r["source_kind"]),
            "Design details": design_line(designs.loc[r["study_id"]] if r["study_id"] in designs.index else None),
            "Relative effect": r["relative_effect"],
        }
        for t in MONTHS:
            k = f"_{t}m"
            row[f"Baseline at {t} months"] = _baseline(r, k)
            row[f"Absolute effect at {t} months"] = r[f"absolute{k}"]
            base = r.get(f"baseline{k}")
            if base is None or pd.isna(base):
                check = ""
            elif not 0 < base < 100:
                check = "not checked: with the reference at 0% or 100% the hazard ratio projects nothing"
            else:
                check = r[f"check{k}"] or "the paper reports no rate for the experimental arm"
            row[f"Check at {t} months"] = check
        row.update({
            "Median (difference)": r["median_text"],
            "Certainty": f"{r['certainty_symbol']} {r['certainty_label']}",
            "Reasons": " · ".join(r["reasons"]),
            "What it means": r["statement"],
            "Risk of bias": _rob_line(store, r),
            "Baseline source (12 months)": (f"{r['baseline_location_12m']}: “{r['baseline_snippet_12m']}”"
                                            if isinstance(r.get("baseline_snippet_12m"), str) else ""),
            "HR record": r["hr_record_id"],
        })
        rows.append(row)
    # what a board reads first (certainty, what it means for 100 patients) before the inputs behind it
    first = ["Study", "Comparison", "Outcome", "Certainty", "Absolute effect at 12 months", "Relative effect",
             "Median (difference)", "What it means"]
    out = pd.DataFrame(rows)
    return out[first + [c for c in out.columns if c not in first]] if len(out) else out


def brief_table(sof: pd.DataFrame) -> pd.DataFrame:
    """The summary-of-findings rows a tumor-board brief carries."""
    if sof.empty:
        return pd.DataFrame(columns=["Study", "Comparison", "Outcome", "Summary", "Certainty", "What it means"])
    return pd.DataFrame({
        "Study": sof["study_label"],
        "Comparison": sof["comparison"],
        "Outcome": [_outcome(r) for r in sof.to_dict("records")],
        "Relative effect": sof["relative_effect"],
        "At 12 months": [a if b is not None and not pd.isna(b) else "no baseline survival available"
                         for a, b in zip(sof["absolute_12m"], sof["baseline_12m"])],
        "Median (difference)": sof["median_text"],
        "Certainty": sof["certainty_symbol"] + " " + sof["certainty_label"],
        "Reasons": [" · ".join(x) for x in sof["reasons"]],
        "What it means": sof["statement"],
        "Summary": [summary_line(r) for r in sof.to_dict("records")],
    })


def sof_for_rows(store, rows: pd.DataFrame) -> pd.DataFrame:
    """Summary-of-findings rows of the comparisons a forest plot shows (its hazard-ratio rows)."""
    if rows.empty or "measure" not in rows or (rows["measure"] != "HR").all():
        return brief_table(pd.DataFrame())
    sof = sof_rows(store)
    if sof.empty:
        return brief_table(sof)
    hr = store.hazard_ratios.set_index("record_id")
    shown = {(x.study_id, x.experimental_arm_id, x.reference_arm_id, x.endpoint, x.population,
              x.subgroup if isinstance(x.subgroup, str) else "")
             for x in hr.loc[[i for i in rows["row_id"] if i in hr.index]].itertuples()}
    keep = [(r.study_id, r.experimental_arm_id, r.reference_arm_id, r.endpoint, r.population,
             r.subgroup if isinstance(r.subgroup, str) else "") in shown for r in sof.itertuples()]
    return brief_table(sof[keep].reset_index(drop=True))


def design_table(store, studies) -> pd.DataFrame:
    """Every design fact of these studies with its location and verbatim snippet."""
    dd = store.design_details
    cols = ["Study", "Item", "Value", "Detail", "Covariates", "Location", "Snippet", "study_id"]
    if dd is None or dd.empty:
        return pd.DataFrame(columns=cols)
    labels = study_labels(store)
    d = dd[dd.study_id.isin(list(studies))]
    order = {sid: i for i, sid in enumerate(studies)}
    d = d.assign(_o=d.study_id.map(order)).sort_values("_o", kind="stable")
    return pd.DataFrame({
        "Study": d.study_id.map(lambda s: labels.get(s, s)),
        "Item": d["item"].str.replace("_", " "),
        "Value": d["value_text"],
        "Detail": d["detail"].fillna(""),
        "Covariates": d["covariates"].map(lambda c: ", ".join(c) if isinstance(c, (list, tuple)) else (c or "")),
        "Location": d["location"].fillna(""),
        "Snippet": d["snippet"].fillna(""),
        "study_id": d["study_id"],
    }, columns=cols).reset_index(drop=True)


def risk_of_bias_table(store, sof: pd.DataFrame) -> pd.DataFrame:
    """The domains of each comparison shown, each judgement with its basis (the curator's judgement)."""
    rb = store.risk_of_bias
    cols = ["Study", "Outcome", "Domain", "Judgement", "Basis", "Snippet", "Location", "Tool", "Comparison",
            "Judged by"]
    if rb is None or rb.empty or sof.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for r in sof.to_dict("records"):
        sub = r["subgroup"] if isinstance(r["subgroup"], str) else ""
        m = rb[(rb.study_id == r["study_id"]) & (rb.experimental_arm_id == r["experimental_arm_id"])
               & (rb.reference_arm_id == r["reference_arm_id"]) & (rb.endpoint == r["endpoint"])
               & (rb.population == r["population"]) & (rb.subgroup.fillna("") == sub)]
        for d in m.to_dict("records"):
            judged = d.get("judged_by") if isinstance(d.get("judged_by"), str) else "curator"
            rows.append({
                "Study": r["study_label"], "Comparison": r["comparison"], "Outcome": _outcome(r),
                "Tool": d["tool"], "Domain": ROB_DOMAIN_NAMES.get(d["domain"], d["domain"].replace("_", " ")),
                "Judgement": d["judgement"], "Basis": d["reason"] if isinstance(d["reason"], str) else "",
                "Location": d["location"] if isinstance(d["location"], str) else "",
                "Snippet": d["snippet"] if isinstance(d["snippet"], str) else "",
                "Judged by": f"{judged} (judgement, not the paper's)",
            })
    return pd.DataFrame(rows, columns=cols)


def risk_of_bias_records(store, study_ids) -> pd.DataFrame:
    """Every risk-of-bias domain the curator judged for these studies (the evidence browser's tab)."""
    rb = store.risk_of_bias
    cols = ["Study", "Outcome", "Domain", "Judgement", "Basis", "Snippet", "Location", "Tool", "Comparison",
            "Judged by", "study_id"]
    if rb is None or rb.empty:
        return pd.DataFrame(columns=cols)
    labels = study_labels(store)
    rows = []
    for d in rb[rb.study_id.isin(list(study_ids))].to_dict("records"):
        sub = d["subgroup"] if isinstance(d.get("subgroup"), str) and d["subgroup"] else None
        outcome = OUTCOME_NAMES.get(d["endpoint"], d["endpoint"]).capitalize()
        outcome += " (matched cohort)" if d["population"] == "matched" else (f" (subgroup: {sub})" if sub else "")
        judged = d.get("judged_by") if isinstance(d.get("judged_by"), str) else "curator"
        rows.append({
            "Study": labels.get(d["study_id"], d["study_id"]),
            "Comparison": f"{store.arm_label(d['study_id'], d['experimental_arm_id'])} vs "
                          f"{store.arm_label(d['study_id'], d['reference_arm_id'])}",
            "Outcome": outcome, "Tool": d["tool"],
            "Domain": ROB_DOMAIN_NAMES.get(d["domain"], d["domain"].replace("_", " ")),
            "Judgement": d["judgement"], "Basis": d["reason"] if isinstance(d["reason"], str) else "",
            "Location": d["location"] if isinstance(d["location"], str) else "",
            "Snippet": d["snippet"] if isinstance(d["snippet"], str) else "",
            "Judged by": f"{judged} (judgement, not the paper's)", "study_id": d["study_id"],
        })
    return pd.DataFrame(rows, columns=cols)


# --- the view ----------------------------------------------------------------

def _hr_studies(store) -> list[str]:
    hr_ids = set(store.hazard_ratios.study_id) if len(store.hazard_ratios) else set()
    return [s for s in store.studies.study_id if s in hr_ids]


def _endpoints(store) -> list[str]:
    present = set(store.hazard_ratios.endpoint) if len(store.hazard_ratios) else set()
    return [e for e in OUTCOME_NAMES if e in present]


def _without_hr_note(store) -> str:
    """Which studies have no row, and why: a single-arm study has no comparison to rate."""
    labels = study_labels(store)
    have = set(_hr_studies(store))
    missing = store.studies[~store.studies.study_id.isin(have)]
    if missing.empty:
        return ""
    primary = [labels.get(s, s) + (" (single arm)" if n == 1 else "")
               for s, n, k in zip(missing.study_id, missing.n_arms, missing.source_kind) if k != "review"]
    review = int((missing.source_kind == "review").sum())
    parts = primary + ([f"{review} studies reported in the review"] if review else [])
    return f"No hazard ratio, so no row: {', '.join(parts)}."


def spec(store) -> dict:
    studies = _hr_studies(store)
    return {
        "studies": Many(studies, studies),
        "endpoint": Many(_endpoints(store), []),
        "present": PRESENT,
    }


def build(state: dict, store, params: dict) -> ViewModel:
    labels = study_labels(store)
    texts = {
        "options": {"studies": {s: labels.get(s, s) for s in _hr_studies(store)},
                    "endpoint": {e: OUTCOME_NAMES[e].capitalize() for e in _endpoints(store)}},
        "ph_note": PROPORTIONAL_HAZARDS_NOTE,
        "imprecision_rule": IMPRECISION_RULE,
        "start_note": START_NOTE,
        "rob_label": ROB_LABEL,
    }
    texts["without_hr"] = _without_hr_note(store)
    sof = sof_rows(store)
    if not sof.empty:
        sof = sof[sof.study_id.isin(state["studies"])]
        if state["endpoint"]:
            sof = sof[sof.endpoint.isin(state["endpoint"])]
        sof = sof.reset_index(drop=True)
    model = dict(page="summary-of-findings", path=PATH, state=state, params=params, title=TITLE,
                 caveats=(CAVEAT,))
    if sof.empty:
        texts["empty"] = "No hazard-ratio comparison matches these filters. Widen the study or outcome choice."
        return ViewModel(**model, texts=texts)
    studies = list(dict.fromkeys(sof.study_id))
    summary = summary_table(store, sof)
    tables = {"summary": summary, "design": design_table(store, studies),
              "risk_of_bias": risk_of_bias_table(store, sof), "rows": sof}
    section = brief_table(sof)
    cites = tuple(c for c in store.studies[store.studies.study_id.isin(studies)].citation if isinstance(c, str))
    key_numbers = section[["Study", "Comparison", "Outcome", "Relative effect", "Certainty"]]
    brief = Brief(title=TITLE, figure=None, key_numbers=key_numbers, citations=cites,
                  caveats=(CAVEAT, PROPORTIONAL_HAZARDS_NOTE),
                  sections=(("Summary of findings", section.drop(columns=["Summary"])),))
    return ViewModel(**model, tables=tables, texts=texts, brief=brief)
