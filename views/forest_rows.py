"""Forest plot rows from the store: hazard ratios and response effects, the pooling
decision, the note on selected studies without a row, and the table for display
and CSV. Pure: reads the store, no streamlit; the figure is drawn by
components.forest from the rows built here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis import effects as stats
from evidence.naming import DESIGN_LABELS, POPULATION_LABELS, study_labels

from . import conflicts

SURVIVAL_ENDPOINTS = ("OS", "PFS", "TTP", "DFS")
RESPONSE_ENDPOINTS = ("ORR", "DCR")

# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------

def _is_num(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x)) and not pd.isna(x)


def _fmt(x) -> str:
    """A store value as printed: 0.465 stays 0.465, 0.56 stays 0.56."""
    return f"{x:g}" if _is_num(x) else ""


def _study_key(study: dict) -> str:
    """A trial reported by two sources counts once when pooling: registry, else trial name."""
    for k in ("registry", "trial_name"):
        v = study.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip().lower()
    return study["study_id"]


def _population_label(population, subgroup) -> str:
    label = POPULATION_LABELS.get(population, str(population))
    return f"{label}: {subgroup}" if isinstance(subgroup, str) and subgroup else label


def default_studies(store) -> list[str]:
    """The view a tumor board opens first: the four primary papers and the review's randomised trials."""
    s = store.studies
    if s.empty:
        return []
    keep = (s.source_kind != "review") | (s.design == "randomised")
    return list(s[keep].study_id)


def _headline(study: dict, exp: str, ref: str) -> bool:
    pc = study.get("primary_comparison")
    if not isinstance(pc, (list, tuple)) or len(pc) != 2:
        return True   # the study does not name one: every comparison it reports is its headline
    return [exp, ref] == list(pc) or [ref, exp] == list(pc)


def _arm_n(store, study_id, arm_id, population):
    a = store.arms[(store.arms.study_id == study_id) & (store.arms.arm_id == arm_id)]
    if a.empty:
        return None
    row = a.iloc[0]
    if population == "matched":
        # the matched cohort's n; the whole cohort's n would overstate the sample
        return int(row["n_matched"]) if "n_matched" in a and _is_num(row.get("n_matched")) else None
    if population in ("subgroup", "per_protocol"):
        return None
    return int(row["n"]) if _is_num(row.get("n")) else None


def _events(store, study_id, arm_id, endpoint, population, subgroup):
    o = store.outcomes
    if o.empty:
        return None
    sel = o[(o.study_id == study_id) & (o.arm_id == arm_id) & (o.endpoint == f"{endpoint}_events")
            & (o.population == population)]
    if isinstance(subgroup, str) and subgroup:
        sel = sel[sel.subgroup == subgroup]
    for col in ("value", "count"):
        vals = sel[col].dropna() if col in sel else []
        if len(vals):
            return int(vals.iloc[0])
    return None


def _count(x) -> str | None:
    return str(int(x)) if _is_num(x) else None


def _filter_studies(store, studies, designs) -> pd.DataFrame:
    s = store.studies
    if studies is not None:
        s = s[s.study_id.isin(list(studies))]
    if designs:
        s = s[s.design.isin(list(designs))]
    return s


def hazard_ratio_rows(store, endpoints=SURVIVAL_ENDPOINTS, studies=None, designs=None,
                      adjustment: str = "both", populations=None, comparisons: str = "all",
                      sort: str = "listed") -> pd.DataFrame:
    """One row per hazard ratio in the store that passes the filters, in store order.

    studies None = every study; designs/populations empty = all; adjustment
    'both' | 'adjusted' | 'unadjusted'; comparisons 'headline' keeps each
    study's primary comparison only; sort 'listed' | 'effect'.
    """
    hr = store.hazard_ratios
    keep = _filter_studies(store, studies, designs)
    labels = study_labels(store)
    meta = {r["study_id"]: r for r in keep.to_dict("records")}
    rows = []
    for order, r in enumerate(hr.to_dict("records")):
        if r["study_id"] not in meta or r["endpoint"] not in endpoints:
            continue
        if populations and r["population"] not in populations:
            continue
        if adjustment == "adjusted" and not r["adjusted"]:
            continue
        if adjustment == "unadjusted" and r["adjusted"]:
            continue
        s = meta[r["study_id"]]
        exp, ref = r["experimental_arm_id"], r["reference_arm_id"]
        if comparisons == "headline" and not _headline(s, exp, ref):
            continue
        effect = stats.log_hr_and_se(r["hr"], r["ci_low"], r["ci_high"], r["ci_level"], r["p"], r["p_text"])
        printed_ci = _is_num(r["ci_low"]) and _is_num(r["ci_high"])
        level = r["ci_level"] if _is_num(r["ci_level"]) else 0.95
        if printed_ci:
            lo, hi, ci_source = r["ci_low"], r["ci_high"], "printed"
        elif effect is not None:
            lo, hi = effect.interval(0.95)
            level, ci_source = 0.95, "derived from p"
        else:
            lo = hi = None
            ci_source = "none"
        exp_label, ref_label = store.arm_label(s["study_id"], exp), store.arm_label(s["study_id"], ref)
        n_e = _arm_n(store, s["study_id"], exp, r["population"])
        n_r = _arm_n(store, s["study_id"], ref, r["population"])
        ev_e = _events(store, s["study_id"], exp, r["endpoint"], r["population"], r.get("subgroup"))
        ev_r = _events(store, s["study_id"], ref, r["endpoint"], r["population"], r.get("subgroup"))
        rows.append({
            "row_id": r.get("record_id", f"{s['study_id']}:{order}"),
            "order": order,
            "measure": "HR",
            "endpoint": r["endpoint"],
            "group": r["endpoint"],
            "study_id": s["study_id"],
            "study": labels.get(s["study_id"], s["study_id"]),
            "study_key": _study_key(s),
            "citation": s.get("citation"),
            "design": s["design"],
            "source_kind": s.get("source_kind") or "primary",
            "experimental": exp_label,
            "reference": ref_label,
            "comparison": f"{exp_label} vs {ref_label}",
            "population": r["population"],
            "population_label": _population_label(r["population"], r.get("subgroup")),
            "n_experimental": n_e, "n_reference": n_r,
            "events_experimental": ev_e, "events_reference": ev_r,
            "criteria": None,
            "effect": r["hr"],
            "ci_low": lo, "ci_high": hi, "ci_level": level, "ci_source": ci_source,
            "log_effect": effect.log_estimate if effect else math.log(r["hr"]),
            "se": effect.se if effect else None,
            "se_note": effect.note if effect else "",
            "p": r["p"], "p_text": r["p_text"] if isinstance(r["p_text"], str) else "",
            "adjusted": bool(r["adjusted"]),
            "adjusted_for": r["adjusted_for"] if r["adjusted"] else "",
            "model": r.get("model") if isinstance(r.get("model"), str) else "",
            "method": "as reported" if printed_ci else (
                "95% CI derived from HR and p" if ci_source == "derived from p" else "no CI printed"),
            "continuity_correction": False,
            "location": r["location"],
            "snippet": r["snippet"],
            "snippets": [(r["location"], r["snippet"])],
            "conflict_ids": list(r["conflict_ids"]) if isinstance(r["conflict_ids"], list) else [],
            "conflict": conflicts.text(r["conflict_ids"], store.conflicts, r.get("evidence_file")),
            "conflict_severity": conflicts.severity(r["conflict_ids"], store.conflicts, r.get("evidence_file")),
        })
    return _sorted(pd.DataFrame(rows, columns=ROW_COLUMNS), sort)


ROW_COLUMNS = [
    "row_id", "order", "measure", "endpoint", "group", "study_id", "study", "study_key", "citation",
    "design", "source_kind", "experimental", "reference", "comparison", "population",
    "population_label", "n_experimental", "n_reference", "events_experimental", "events_reference",
    "criteria", "effect", "ci_low", "ci_high", "ci_level", "ci_source", "log_effect", "se", "se_note",
    "p", "p_text", "adjusted", "adjusted_for", "model", "method", "continuity_correction", "location",
    "snippet", "snippets", "conflict_ids", "conflict", "conflict_severity",
]


def _sorted(df: pd.DataFrame, sort: str) -> pd.DataFrame:
    if df.empty:
        return df.reset_index(drop=True)
    group_order = {g: i for i, g in enumerate(SURVIVAL_ENDPOINTS + RESPONSE_ENDPOINTS)}
    df = df.assign(_g=df["group"].map(lambda g: group_order.get(g, 99)))
    by = ["_g", "effect", "order"] if sort == "effect" else ["_g", "order"]
    return df.sort_values(by, kind="stable", na_position="last").drop(columns="_g").reset_index(drop=True)


def _response_pairs(store, study: dict) -> list[tuple[str, str]]:
    """Every other arm against the study's reference arm; direction from primary_comparison."""
    arms = list(store.arms[store.arms.study_id == study["study_id"]].arm_id)
    pc = study.get("primary_comparison")
    if isinstance(pc, (list, tuple)) and len(pc) == 2:
        return [(pc[0], pc[1])] + [(a, pc[1]) for a in arms if a not in pc]
    if len(arms) == 2:
        return [(arms[0], arms[1])]
    return []   # several arms and no stated reference: no direction to compare in


def response_rows(store, endpoint: str = "ORR", measure: str = "RR", studies=None, designs=None,
                  populations=None, comparisons: str = "all", sort: str = "listed") -> pd.DataFrame:
    """Risk ratio or risk difference of responders, computed from counts.

    A row needs count and denominator for both arms with the same response
    criteria (RECIST 1.1 and mRECIST stay separate rows), population and subgroup.
    """
    measure = measure.upper()
    o = store.outcomes
    keep = _filter_studies(store, studies, designs)
    labels = study_labels(store)
    rows = []
    if o.empty:
        return pd.DataFrame(rows, columns=ROW_COLUMNS)
    o = o[(o.endpoint == endpoint) & o["count"].notna() & o["denominator"].notna()]
    if "qualifier" in o:
        o = o[o.qualifier.isna()]   # a bound ('< 7.2%') is shown as printed, never turned into an effect
    if populations:
        o = o[o.population.isin(list(populations))]
    order = 0
    for s in keep.to_dict("records"):
        pairs = _response_pairs(store, s)
        if comparisons == "headline":
            pairs = pairs[:1]
        so = o[o.study_id == s["study_id"]]
        for exp, ref in pairs:
            e_rows = so[so.arm_id == exp]
            r_rows = so[so.arm_id == ref]
            for e in e_rows.to_dict("records"):
                sub = e.get("subgroup") if isinstance(e.get("subgroup"), str) else None
                match = r_rows[(r_rows.criteria == e["criteria"]) & (r_rows.population == e["population"])]
                match = match[match.subgroup == sub] if sub else match[match.subgroup.isna()]
                if match.empty:
                    continue
                r = match.iloc[0].to_dict()
                x1, n1, x2, n2 = int(e["count"]), int(e["denominator"]), int(r["count"]), int(r["denominator"])
                if measure == "RD":
                    est = stats.risk_difference(x1, n1, x2, n2)
                else:
                    est = stats.risk_ratio(x1, n1, x2, n2)
                exp_label, ref_label = store.arm_label(s["study_id"], exp), store.arm_label(s["study_id"], ref)
                ids = list(dict.fromkeys(
                    (e["conflict_ids"] if isinstance(e["conflict_ids"], list) else [])
                    + (r["conflict_ids"] if isinstance(r["conflict_ids"], list) else [])))
                p_text = next((x for x in (e.get("p_text"), r.get("p_text")) if isinstance(x, str) and x), "")
                rows.append({
                    "row_id": f"{e.get('record_id')}|{r.get('record_id')}",
                    "order": order, "measure": measure, "endpoint": endpoint, "group": endpoint,
                    "study_id": s["study_id"], "study": labels.get(s["study_id"], s["study_id"]),
                    "study_key": _study_key(s), "citation": s.get("citation"),
                    "design": s["design"], "source_kind": s.get("source_kind") or "primary",
                    "experimental": exp_label, "reference": ref_label,
                    "comparison": f"{exp_label} vs {ref_label}",
                    "population": e["population"], "population_label": _population_label(e["population"], sub),
                    "n_experimental": n1, "n_reference": n2,
                    "events_experimental": x1, "events_reference": x2,
                    "criteria": e["criteria"],
                    "effect": est.estimate, "ci_low": est.low, "ci_high": est.high, "ci_level": est.level,
                    "ci_source": "computed from counts",
                    "log_effect": est.log_estimate, "se": est.se, "se_note": est.note,
                    "p": e.get("p") if _is_num(e.get("p")) else r.get("p"), "p_text": p_text,
                    "adjusted": False, "adjusted_for": "", "model": "",
                    "method": est.method + (f"; {est.note}" if est.note else ""),
                    "continuity_correction": est.continuity_correction,
                    "location": e["location"], "snippet": e["snippet"],
                    "snippets": [(e["location"], e["snippet"]), (r["location"], r["snippet"])],
                    "conflict_ids": ids, "conflict": conflicts.text(ids, store.conflicts, e.get("evidence_file")),
                    "conflict_severity": conflicts.severity(ids, store.conflicts, e.get("evidence_file")),
                })
                order += 1
    return _sorted(pd.DataFrame(rows, columns=ROW_COLUMNS), sort)


# ---------------------------------------------------------------------------
# Pooling: which rows may carry a diamond
# ---------------------------------------------------------------------------

@dataclass
class PooledRow:
    group: str
    label: str
    comparison: str
    k: int
    pooled: stats.Pooled


def pooling(rows: pd.DataFrame) -> tuple[list[PooledRow], str]:
    """Apply the pooling rule to the rows shown: (diamonds to draw, one-line reason)."""
    if rows.empty:
        return [], "No pooled estimate: no rows are shown."
    measure = rows["measure"].iloc[0]
    df = rows.copy()
    # a pooled effect is only meaningful within one endpoint and, for response, one set of criteria
    df["endpoint"] = df["group"] + df["criteria"].map(lambda c: f" ({c})" if isinstance(c, str) else "")
    df["population"] = df["population_label"]
    if measure == "RD":
        # a difference has no log-scale SE; whether the comparison repeats is judged on the comparison alone
        df["se"] = 1.0
    decision = stats.pooling_decision(df[["study_key", "study", "experimental", "reference", "endpoint",
                                          "population", "se", "design", "adjusted"]])
    if not decision.allowed:
        return [], decision.reason
    if measure == "RD":
        return [], ("No pooled estimate drawn: risk differences are pooled on the risk-ratio scale only "
                    "(switch the effect measure to risk ratio).")
    out = []
    for g in decision.groups:
        p = stats.pooled_for_group(df, g)
        out.append(PooledRow(df.loc[g.rows[0], "group"], f"Pooled, random effects ({g.k} studies)",
                             f"{g.experimental} vs {g.reference}", g.k, p))
    return out, decision.reason


# ---------------------------------------------------------------------------
# Selected studies without a row
# ---------------------------------------------------------------------------

_PROGRESSION = ("PFS", "TTP", "DFS")


def _names_with(names: list[str], what: str) -> str:
    verb = what.format(s="s" if len(names) == 1 else "")
    return f"{', '.join(names)} ({verb})"


# studies that report nothing of the kind: the same few in every view, so counted, and named in the tooltip
_NOTHING = ("no hazard ratio at all", "single arm", "no counts for both arms")
_NOTHING_VERB = {"no hazard ratio at all": "report no hazard ratio at all", "single arm": "are single-arm",
                 "no counts for both arms": "give no counts for both arms"}


def missing_rows_note(store, rows: pd.DataFrame, endpoints, studies=None, designs=None,
                      measure: str = "HR") -> tuple[str, str]:
    """One line under the plot: which selected studies have no row for this endpoint, and why.

    Returns (line, details): 'No PFS hazard ratio reported by: Sun 2022 (reports
    TTP).' and, for the tooltip, the names behind a count ('7 more selected
    studies report no hazard ratio at all'). A study whose row the population,
    adjustment or comparison filters hide is named as hidden, not as missing.
    ('', '') when every selected study has a row.
    """
    endpoints = tuple(endpoints)
    chosen = _filter_studies(store, studies, designs)
    shown = set(rows.study_id) if len(rows) else set()
    labels = study_labels(store)
    groups: dict[str, list[str]] = {}
    hidden = []
    hr = store.hazard_ratios
    for sid in chosen.study_id:
        if sid in shown:
            continue
        name = labels.get(sid, sid)
        if measure == "HR":
            has = ((hr.study_id == sid) & hr.endpoint.isin(endpoints)).any()
            if has and len(hazard_ratio_rows(store, endpoints, studies=[sid])):
                hidden.append(name)
                continue
            others = [e for e in dict.fromkeys(hr[hr.study_id == sid].endpoint) if e not in endpoints]
            if any(e in _PROGRESSION for e in endpoints) and any(e in _PROGRESSION for e in others):
                others = [e for e in others if e in _PROGRESSION]   # TTP is what stands in for PFS
            why = ("report{s} " + " and ".join(sorted(others))) if others else _NOTHING[0]
        else:
            (endpoint,) = endpoints
            if len(response_rows(store, endpoint, measure, studies=[sid])):
                hidden.append(name)
                continue
            n_arms = int((store.arms.study_id == sid).sum())
            why = _NOTHING[1] if n_arms < 2 else _NOTHING[2]
        groups.setdefault(why, []).append(name)
    what = "/".join(endpoints) if len(endpoints) < 3 else "survival"
    if measure == "HR":
        head = f"No {what} hazard ratio reported by: "
    else:
        head = f"No {what} {'risk ratio' if measure == 'RR' else 'risk difference'} from counts for: "
    named = {w: n for w, n in groups.items() if w not in _NOTHING or len(n) <= 2}
    counted = {w: n for w, n in groups.items() if w not in named}
    parts, details = [], []
    if named:
        parts.append("; ".join(_names_with(names, why) for why, names in named.items()))
    for why, names in counted.items():
        parts.append(f"{len(names)} {'more ' if named else ''}selected studies that {_NOTHING_VERB[why]}")
        details.append(f"{why.capitalize()}: {', '.join(names)}.")
    line = (head + "; ".join(parts) + ".") if parts else ""
    if hidden:
        line += (" " if line else "") + f"Hidden by the population, estimate or comparison filters: {', '.join(hidden)}."
    return line, " ".join(details)


# ---------------------------------------------------------------------------
# Table for display and CSV
# ---------------------------------------------------------------------------

def rows_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows shown, in clinicians' words, for st.dataframe and the CSV download."""
    if rows.empty:
        return pd.DataFrame(columns=["Endpoint", "Study", "Design", "Comparison"])
    measure = rows["measure"].iloc[0]
    name = {"HR": "HR", "RR": "Risk ratio", "RD": "Risk difference"}[measure]
    out = pd.DataFrame({
        "Endpoint": rows["group"],
        "Study": rows["study"],
        "Design": [DESIGN_LABELS.get(d, d) + (" (reported in a review)" if k == "review" else "")
                   for d, k in zip(rows["design"], rows["source_kind"])],
        "Comparison": rows["comparison"],
        "Population": rows["population_label"],
        "Criteria": rows["criteria"].fillna(""),
        "n experimental": rows["n_experimental"].astype("Int64"),
        "n reference": rows["n_reference"].astype("Int64"),
        ("Responders experimental" if measure != "HR" else "Events experimental"):
            rows["events_experimental"].astype("Int64"),
        ("Responders reference" if measure != "HR" else "Events reference"):
            rows["events_reference"].astype("Int64"),
        name: rows["effect"],
        "CI low": rows["ci_low"],
        "CI high": rows["ci_high"],
        "CI level": rows["ci_level"],
        "CI source": rows["ci_source"],
        "p": rows["p_text"],
        "Adjusted for": [a if adj else "unadjusted" for a, adj in zip(rows["adjusted_for"], rows["adjusted"])],
        "Method": rows["method"],
        "log effect": rows["log_effect"],
        "SE (log)": rows["se"],
        "Conflict": rows["conflict"].map(lambda c: f"⚠ {c}" if c else ""),
        "Location": rows["location"],
        "Snippet": rows["snippet"],
    })
    if measure == "HR":
        out = out.drop(columns=["Criteria"])
    else:
        out = out.drop(columns=["Adjusted for"])
    return out

