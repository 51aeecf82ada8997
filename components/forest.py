"""Forest plot: rows from the store, the pooling decision, and the plotly figure.

Builds data frames and figures only: touches no files and no streamlit, so the
page stays a thin layer of widgets and the figure can be tested directly.

Layout is computed in pixels (row heights, column widths) because a forest plot
on a meeting-room projector must never overlap its labels: the y axis is in
pixel units, so every text row of the side table sits exactly on its marker.
"""
from __future__ import annotations

import html
import math
import re
import textwrap
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from evidence import stats
from .overview import study_name
from .tables import DESIGN_LABELS

SURVIVAL_ENDPOINTS = ("OS", "PFS", "TTP", "DFS")
RESPONSE_ENDPOINTS = ("ORR", "DCR")
ENDPOINT_TITLES = {
    "OS": "Overall survival (OS)",
    "PFS": "Progression-free survival (PFS)",
    "TTP": "Time to progression (TTP)",
    "DFS": "Disease-free survival (DFS)",
    "ORR": "Objective response rate (ORR)",
    "DCR": "Disease control rate (DCR)",
}
POPULATION_LABELS = {
    "overall": "Overall", "matched": "Propensity-matched cohort", "unmatched": "Unmatched cohort",
    "subgroup": "Subgroup", "per_protocol": "Per protocol",
}
MEASURE_LABELS = {"HR": "Hazard ratio", "RR": "Risk ratio", "RD": "Risk difference (percentage points)"}

# Marker shape says how much to trust a row at a glance. Review-reported trials
# get their own shape: the numbers are second-hand, whatever the trial's design.
DESIGN_CATEGORY = {
    "randomised": "Randomised",
    "prospective": "Prospective, non-randomised",
    "prospective_single_arm": "Prospective, non-randomised",
    "retrospective": "Retrospective",
    "propensity_matched": "Retrospective, propensity-matched",
    "meta_analysis": "Meta-analysis",
}
REVIEW_CATEGORY = "Reported in a review"
SYMBOLS = {
    "Randomised": "square",
    "Prospective, non-randomised": "triangle-up",
    "Retrospective": "circle",
    "Retrospective, propensity-matched": "hexagon",
    "Meta-analysis": "star",
    REVIEW_CATEGORY: "cross",
}
SHORT_DESIGN = {
    "randomised": "RCT", "prospective": "Prospective", "prospective_single_arm": "Single-arm",
    "retrospective": "Retrospective", "propensity_matched": "Retro., PSM", "meta_analysis": "Meta-analysis",
}

INK = "#1f3b73"          # markers and whiskers: dark enough for a washed-out projector
MUTED = "#555555"
FONT = dict(family="Arial, Helvetica, sans-serif", size=14, color="#111111")
TABLE_FONT_SIZE = 13     # >= 12 px everywhere
# Helvetica/Arial advance widths (1/1000 em, ASCII 32..126): labels are wrapped
# by their rendered width, so 'HAIC-FOLFOX' (wide capitals) does not run into
# the next column the way a character count would let it.
_AFM = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]
# the few non-ASCII characters the table prints (same 1/1000 em units)
_AFM_EXTRA = {"–": 556, "—": 1000, "≤": 549, "≥": 549, "²": 333, "τ": 500, "†": 556, "‡": 556,
              "…": 1000, "⚠": 1000, "·": 278, "×": 584, "±": 584, "µ": 556}
LINE_PX = 17             # one text line at 13 px
ROW_PAD_PX = 12
GAP_PX = 10              # between two table columns, and between the table and the plot
EDGE_PX = 8              # left and right of the table, to the edge of the figure
PLOT_PX = 420            # width of the effect axis in the exported figure
MIN_PLOT_PX = 190        # narrowest effect axis: below it the figure scrolls instead of shrinking
MAX_PLOT_PX = 720        # widest effect axis on a wide screen: rows stay easy to follow across


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------

def _is_num(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x)) and not pd.isna(x)


def _fmt(x) -> str:
    """A store value as printed: 0.465 stays 0.465, 0.56 stays 0.56."""
    return f"{x:g}" if _is_num(x) else ""


def _conflict_text(ids, conflicts: pd.DataFrame) -> str:
    if not isinstance(ids, (list, tuple)) or not ids:
        return ""
    out = []
    for cid in ids:
        row = conflicts[conflicts.conflict_id == cid] if len(conflicts) else conflicts
        out.append(row.description.iloc[0] if len(row) else cid)
    return " | ".join(out)


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


def study_labels(store) -> dict[str, str]:
    """Study names a clinician can tell apart: 'Sun 2022', 'BRISK-FL'.

    Where the store has no author or trial name the id is made readable
    ('tivantinib_phase2' -> 'Tivantinib phase2'); where two studies would read
    the same ('Liu' the cohort, 'Liu' the meta-analysis) the design is added.
    """
    labels = {}
    for sid in store.studies.study_id:
        name = study_name(store, sid)
        if name == sid:
            name = sid.replace("_", " ")
            name = name[:1].upper() + name[1:]
        labels[sid] = name
    counts = pd.Series(list(labels.values())).value_counts()
    s = store.studies.set_index("study_id")
    for sid, name in labels.items():
        if counts[name] > 1:
            # the experimental regimen says which 'Liu' this is; else the design
            pc = s.loc[sid, "primary_comparison"]
            hint = (store.arm_label(sid, pc[0]).split(" (")[0] if isinstance(pc, list) and pc
                    else SHORT_DESIGN.get(s.loc[sid, "design"], s.loc[sid, "design"]).lower())
            labels[sid] = f"{name} ({hint})"
    return labels


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
            "conflict": _conflict_text(r["conflict_ids"], store.conflicts),
        })
    return _sorted(pd.DataFrame(rows, columns=ROW_COLUMNS), sort)


ROW_COLUMNS = [
    "row_id", "order", "measure", "endpoint", "group", "study_id", "study", "study_key", "citation",
    "design", "source_kind", "experimental", "reference", "comparison", "population",
    "population_label", "n_experimental", "n_reference", "events_experimental", "events_reference",
    "criteria", "effect", "ci_low", "ci_high", "ci_level", "ci_source", "log_effect", "se", "se_note",
    "p", "p_text", "adjusted", "adjusted_for", "model", "method", "continuity_correction", "location",
    "snippet", "snippets", "conflict_ids", "conflict",
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
                    "conflict_ids": ids, "conflict": _conflict_text(ids, store.conflicts),
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
# Figure
# ---------------------------------------------------------------------------
#
# The side table is laid out in pixels and anchored to the figure's edges: the
# left table sits in the left margin, the right table in the right margin, and
# only the effect axis between them stretches with the window. Streamlit
# resizes the figure to its container; text does not shrink, so a table in
# paper fractions would run its columns into each other on a narrow window.
# Here every column keeps its pixel width at any figure width, and below
# layout.meta["min_width"] the page scrolls the figure instead of squeezing it.

@dataclass
class _Col:
    header: list          # header lines: the second mirrors the cells' second line
    key: str
    max_px: int           # wider text wraps onto further lines
    align: str = "left"


# A cell is a list of lines; a line is text, or (text, colour) for a muted line.
SUB = "#555555"          # the muted second line (design, p): still 7:1 contrast on white


def _text_px(text: str, size: float = TABLE_FONT_SIZE, bold: bool = False) -> float:
    """Rendered width of a label in px (Arial metrics, 5% margin; bold ~8% wider)."""
    em = 0
    for ch in str(text):
        o = ord(ch)
        em += _AFM[o - 32] if 32 <= o < 127 else _AFM_EXTRA.get(ch, 1000 if o > 0x2000 else 600)
    return em / 1000 * size * (1.13 if bold else 1.05)


def _columns(measure: str) -> tuple[list[_Col], list[_Col]]:
    study = _Col(["Study", ("design", SUB)], "t_study", 132)
    if measure == "HR":
        left = [study, _Col(["Comparison", ("exp. vs ref.", SUB)], "t_comparison", 150),
                _Col(["n (events)", ("exp. / ref.", SUB)], "t_n", 90, "center")]
        right = [_Col(["HR (95% CI)", ("p", SUB)], "t_effect", 150),
                 _Col(["Adjustment", ("covariates", SUB)], "t_adjusted", 108)]
    else:
        name = ["RR (95% CI)"] if measure == "RR" else ["Risk difference,", "% points (95% CI)"]
        left = [study, _Col(["Comparison", ("exp. vs ref.", SUB)], "t_comparison", 150),
                _Col(["Criteria"], "t_criteria", 80),
                _Col(["Responders", ("exp. vs ref.", SUB)], "t_events", 120, "center")]
        right = [_Col(name + [("p", SUB)], "t_effect", 160)]
    return left, right


def _wrap(text: str, max_px: float, bold: bool = False, size: float = TABLE_FONT_SIZE) -> list[str]:
    """Greedy word wrap by rendered width; a single over-long word is cut."""
    text = str(text or "")
    if not text:
        return [""]
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _text_px(candidate, size, bold) <= max_px:
            line = candidate
            continue
        if line:
            lines.append(line)
        while _text_px(word, size, bold) > max_px and len(word) > 1:
            cut = len(word)
            while cut > 1 and _text_px(word[:cut], size, bold) > max_px:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    lines.append(line)
    return lines


def _clamp_lines(lines: list[str], n: int, max_px: float, size: float) -> list[str]:
    """At most n lines; the last one ends in '…' when text was left out."""
    if len(lines) <= n:
        return lines
    last = lines[n - 1]
    while last and _text_px(last + " …", size) > max_px:
        last = last[:-1]
    return lines[:n - 1] + [last.rstrip(" ,;") + " …"]


def _esc(text) -> str:
    """Plotly reads its labels as light HTML: '<0.001' must not start a tag."""
    return html.escape(str(text), quote=False)


def _effect_text(r: dict) -> str:
    m = r["measure"]
    if not _is_num(r["effect"]):
        return "not estimable"
    if m == "HR":
        est = _fmt(r["effect"])
        if r["ci_source"] == "printed":
            return f"{est} ({_fmt(r['ci_low'])}–{_fmt(r['ci_high'])})"
        if r["ci_source"] == "derived from p":
            return f"{est} ({r['ci_low']:.2f}–{r['ci_high']:.2f})†"
        return f"{est} (no CI printed)"
    if m == "RR":
        cc = "‡" if r["continuity_correction"] else ""
        return f"{r['effect']:.2f} ({r['ci_low']:.2f}–{r['ci_high']:.2f}){cc}"
    # percentage points: how clinicians speak of a difference in response rates
    return f"{100 * r['effect']:+.1f} ({100 * r['ci_low']:+.1f} to {100 * r['ci_high']:+.1f})"


def _ci_level_text(r: dict) -> str:
    """'90% CI' where the paper prints an interval at another level than 95%; else ''."""
    if r["measure"] == "HR" and r["ci_source"] == "printed" and _is_num(r["ci_level"]):
        level = round(100 * r["ci_level"])
        return "" if level == 95 else f"{level}% CI"
    return ""


NR = "NR"   # not reported: a blank cell would read as 'nothing happened' or 'we lost it'


def _nr(x) -> str:
    return _count(x) or NR


def _p_text(r: dict) -> str:
    """The p value as the paper prints it ('NS' and 'NA' stay as printed); NR when it prints none."""
    if isinstance(r.get("p_text"), str) and r["p_text"].strip():
        return r["p_text"].strip()
    return _fmt(r["p"]) if _is_num(r.get("p")) else NR


def _short_adjustment(adjusted_for: str) -> str:
    """'portal vein tumor thrombus (absence/presence), AFP (...)' -> 'portal vein tumor thrombus, AFP'."""
    short = re.sub(r"\s*\([^()]*\)", "", str(adjusted_for or ""))
    return re.sub(r"\s+", " ", short).strip(" ,;")


def _cells(r: dict, cols: list[_Col], size: float) -> dict:
    """The lines of every cell of one row, wrapped to the column widths."""
    def wrap(text, c):
        return _wrap(text, c.max_px, size=size)

    mark = "⚠ " if r["conflict"] else ""
    design = SHORT_DESIGN.get(r["design"], r["design"])
    if r["source_kind"] == "review":
        design += " (review)"
    pop = "" if r["population"] == "overall" else (
        "matched cohort" if r["population"] == "matched" else r["population_label"])
    out = {}
    for c in cols:
        if c.key == "t_study":
            out[c.key] = wrap(mark + r["study"], c) + [(x, SUB) for x in wrap(design, c)]
        elif c.key == "t_comparison":
            out[c.key] = wrap(r["comparison"], c) + [(x, SUB) for x in (wrap(pop, c) if pop else [])]
        elif c.key == "t_n":
            n_e, n_r, e_e, e_r = (r["n_experimental"], r["n_reference"], r["events_experimental"],
                                  r["events_reference"])
            n = NR if not (_is_num(n_e) or _is_num(n_r)) else f"{_nr(n_e)} / {_nr(n_r)}"
            ev = NR if not (_is_num(e_e) or _is_num(e_r)) else f"{_nr(e_e)} / {_nr(e_r)}"
            out[c.key] = [n, f"({ev})"]
        elif c.key == "t_events":   # responders of a response row
            out[c.key] = wrap(f"{r['events_experimental']}/{r['n_experimental']} vs "
                              f"{r['events_reference']}/{r['n_reference']}", c)
        elif c.key == "t_criteria":
            out[c.key] = wrap(r["criteria"] or "", c)
        elif c.key == "t_effect":
            level = _ci_level_text(r)
            out[c.key] = wrap(_effect_text(r), c) + [(f"p {_p_text(r)}" + (f" · {level}" if level else ""), SUB)]
        elif c.key == "t_adjusted":
            if r["adjusted"]:
                out[c.key] = _clamp_lines(wrap("adj. for " + (_short_adjustment(r["adjusted_for"]) or NR), c),
                                          2, c.max_px, size)
            else:
                out[c.key] = ["unadj."]
    return out


def _hover(r: dict) -> str:
    lines = [f"<b>{_esc(r['study'])}</b>  ({_esc(DESIGN_LABELS.get(r['design'], r['design']))}"
             + (", reported in a review" if r["source_kind"] == "review" else "") + ")",
             _esc(r["comparison"]) + f" · {_esc(ENDPOINT_TITLES.get(r['group'], r['group']))}"
             + (f" · {_esc(r['criteria'])}" if r["criteria"] else "")
             + f" · {_esc(r['population_label'])}",
             f"{MEASURE_LABELS[r['measure']]} {_esc(_effect_text(r))}"
             + (f" ({_ci_level_text(r)})" if _ci_level_text(r) else "") + f", p {_esc(_p_text(r))}"]
    if r["measure"] == "HR":
        lines.append("Adjusted for " + _esc(r["adjusted_for"]) if r["adjusted"] else "Unadjusted")
        lines.append(f"n {_nr(r['n_experimental'])} / {_nr(r['n_reference'])}, events "
                     f"{_nr(r['events_experimental'])} / {_nr(r['events_reference'])} "
                     "(experimental / reference; NR: not reported)")
    else:
        lines.append(_esc(r["method"]))
    if r["ci_source"] == "derived from p":
        lines.append("† no CI printed: 95% CI derived from the HR and p" + (f" ({_esc(r['se_note'])})" if r["se_note"] else ""))
    for loc, snip in r["snippets"]:
        wrapped = "<br>   ".join(_esc(x) for x in textwrap.wrap(f"“{snip}”", 90))
        lines.append(f"<i>{_esc(loc)}</i>: {wrapped}")
    if r["conflict"]:
        lines.append("⚠ Conflict: " + "<br>   ".join(_esc(x) for x in textwrap.wrap(r["conflict"], 90)))
    return "<br>".join(lines)


def _axis(measure: str, lows, highs, ests) -> tuple[float, float, list, list]:
    """Axis range (data units) and ticks. CIs may be clipped (arrows); estimates never are."""
    vals = [v for v in list(lows) + list(highs) + list(ests) if _is_num(v)]
    est = [v for v in ests if _is_num(v)]
    if measure == "RD":
        lo = min(vals + [0.0]) - 0.05
        hi = max(vals + [0.0]) + 0.05
        lo, hi = max(lo, -1.0), min(hi, 1.0)
        step = 0.1 if hi - lo <= 1 else 0.25
        ticks = [round(step * i, 2) for i in range(math.floor(lo / step), math.ceil(hi / step) + 1)]
        ticks = [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9]
        return lo, hi, ticks, [f"{100 * t:+.0f}" if t else "0" for t in ticks]
    vals = [v for v in vals if v > 0] or [1.0]
    lo = min(vals + [1.0]) / 1.15
    hi = max(vals + [1.0]) * 1.15
    # cap the span so one wide CI does not squash every other row; clip it with an arrow instead
    e_lo = min(est + [1.0]) / 1.3
    e_hi = max(est + [1.0]) * 1.3
    lo = max(lo, min(0.05, e_lo))
    hi = min(hi, max(20.0, e_hi))
    fine = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100]
    coarse = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    ticks = [t for t in fine if lo <= t <= hi]
    if len(ticks) > 9:
        ticks = [t for t in coarse if lo <= t <= hi]
    return lo, hi, ticks, [f"{t:g}" for t in ticks]


def _line_html(line) -> str:
    if isinstance(line, tuple):
        return f'<span style="color:{line[1]}">{_esc(line[0])}</span>'
    return _esc(line)


def _lines_px(lines, size: float, bold: bool = False) -> float:
    return max([_text_px(x[0] if isinstance(x, tuple) else x, size, bold) for x in lines] + [0])


def table_layout(fig: go.Figure) -> dict:
    """The side table's geometry, as forest_figure laid it out (for the page and the tests)."""
    return dict(fig.layout.meta or {})


def text_boxes(fig: go.Figure, width: float | None = None) -> list[dict]:
    """Every side-table text as a box in figure pixels at this figure width.

    x from the annotation's paper x, its pixel shift and anchor; the width from
    the same font metrics the layout used. Used by the tests to prove that no
    two texts of one row overlap, whatever width the browser gives the figure.
    """
    meta = table_layout(fig)
    width = width or fig.layout.width
    ml, mr = fig.layout.margin.l, fig.layout.margin.r
    boxes = []
    for a in fig.layout.annotations:
        if a.yref != "y" or a.xref != "paper":
            continue
        lines = [re.sub(r"<[^>]+>", "", x) for x in a.text.split("<br>")]
        lines = [html.unescape(x) for x in lines]
        size = a.font.size or meta.get("table_font", TABLE_FONT_SIZE)
        bold = a.text.startswith("<b>")
        w = _lines_px(lines, size, bold)
        x = ml + a.x * (width - ml - mr) + (a.xshift or 0)
        x0 = x if a.xanchor == "left" else (x - w if a.xanchor == "right" else x - w / 2)
        boxes.append(dict(x0=x0, x1=x0 + w, y=a.y, lines=len(lines), text=" ".join(lines)))
    return boxes


def forest_figure(rows: pd.DataFrame, pooled: list[PooledRow] | None = None, reason: str = "",
                  title: str | None = None, font_size: int = 14) -> go.Figure:
    """The forest plot with its side table. rows come from hazard_ratio_rows or response_rows.

    font_size: base font in px (14 on a laptop, larger in presentation mode);
    every text, the table's columns and row heights scale with it.
    layout.width is the exported size; layout.meta["min_width"] the narrowest
    width at which the table still fits beside a readable effect axis.
    """
    pooled = pooled or []
    measure = rows["measure"].iloc[0] if len(rows) else "HR"
    log_axis = measure in ("HR", "RR")
    left, right = _columns(measure)
    k = font_size / 14
    tfs = max(12, round(TABLE_FONT_SIZE * k))        # never below 12 px
    line_px, pad_px, gap_px, edge_px = LINE_PX * tfs / TABLE_FONT_SIZE, ROW_PAD_PX * k, GAP_PX * k, EDGE_PX
    plot_full, plot_min, plot_max = PLOT_PX * k, MIN_PLOT_PX * k, MAX_PLOT_PX * k
    for c in left + right:
        c.max_px = int(c.max_px * tfs / TABLE_FONT_SIZE)
    records = rows.to_dict("records")
    cells = [_cells(r, left + right, tfs) for r in records]

    # --- row list: endpoint headers, study rows, pooled rows -----------------
    items = []   # (kind, payload, cells)
    for group in dict.fromkeys(r["group"] for r in records):
        items.append(("header", ENDPOINT_TITLES.get(group, group), None))
        items += [("row", r, c) for r, c in zip(records, cells) if r["group"] == group]
        for p in pooled:
            if p.group != group:
                continue
            v = p.pooled.ratio()
            pc = {left[0].key: _wrap(p.label, left[0].max_px, bold=True, size=tfs),
                  left[1].key: _wrap(p.comparison, left[1].max_px, size=tfs),
                  right[0].key: [f"{v['estimate']:.2f} ({v['ci_low']:.2f}–{v['ci_high']:.2f})",
                                 f"PI {v['pi_low']:.2f}–{v['pi_high']:.2f}" if v["pi_low"] is not None
                                 else "no PI (k < 3)"]}
            het = f"I² {100 * p.pooled.i2:.0f}%, τ² {p.pooled.tau2:.3f}"
            if len(right) > 1:
                pc[right[1].key] = _wrap(het, right[1].max_px, size=tfs)
            else:
                pc[right[0].key].append(het)
            items.append(("pooled", p, pc))

    # --- column widths (px): the widest line of the column, header included --
    def col_width(c: _Col) -> float:
        body = [_lines_px(it[2].get(c.key, []), tfs, bold=(it[0] == "pooled" and c is left[0]))
                for it in items if it[2] is not None]
        return min(max(body + [_lines_px(c.header, tfs, bold=True)]), max(c.max_px, _lines_px(c.header, tfs, True)))

    lw = [col_width(c) + gap_px for c in left]       # each followed by its gap (the last: to the plot)
    rw = [gap_px + col_width(c) for c in right]      # each preceded by its gap (the first: from the plot)
    margin_l = int(math.ceil(edge_px + sum(lw)))
    margin_r = int(math.ceil(sum(rw) + edge_px))

    # --- rows: heights from the lines of their tallest cell ------------------
    header_lines = max(len(c.header) for c in left + right)
    header_px = header_lines * line_px + pad_px
    heights, y_centres, y = [], [], header_px
    for kind, payload, pc in items:
        lines = 1 if kind == "header" else max(len(v) for v in pc.values())
        h = lines * line_px + pad_px
        heights.append(h)
        y_centres.append(y + h / 2)
        y += h
    plot_h = y + 8

    lows = [r["ci_low"] for r in records] + [p.pooled.ratio()["pi_low"] for p in pooled]
    highs = [r["ci_high"] for r in records] + [p.pooled.ratio()["pi_high"] for p in pooled]
    ests = [r["effect"] for r in records]
    lo, hi, ticks, ticktext = _axis(measure, lows, highs, ests)
    null = 1.0 if log_axis else 0.0

    fig = go.Figure()
    annotations, shapes = [], []
    body_top = header_px

    # --- table: pixel positions from the figure's left or right edge ---------
    # a left-table text sits at paper x=0 shifted left into the margin, a
    # right-table text at x=1 shifted right: neither moves when the width changes
    left_x = [edge_px + sum(lw[:i]) for i in range(len(left))]          # from the figure's left edge
    right_x = [sum(rw[:i]) + gap_px for i in range(len(right))]         # from the plot's right edge
    left_w = [w - gap_px for w in lw]
    right_w = [w - gap_px for w in rw]

    def put_text(lines, side, x_px, w_px, yc, align, bold=False, hover=None, color="#111111", size=tfs):
        if align == "left":
            pos, anchor = x_px, "left"
        elif align == "right":
            pos, anchor = x_px + w_px, "right"
        else:
            pos, anchor = x_px + w_px / 2, "center"
        text = "<br>".join(_line_html(x) for x in lines)
        ann = dict(x=0 if side == "left" else 1, xref="paper", xshift=pos - margin_l if side == "left" else pos,
                   y=yc, yref="y", xanchor=anchor, yanchor="middle",
                   text=f"<b>{text}</b>" if bold else text, showarrow=False, align=align,
                   font=dict(size=size, color=color))
        if hover:
            ann["hovertext"] = hover
            ann["hoverlabel"] = dict(bgcolor="white", font=dict(size=max(13, tfs)))
        annotations.append(ann)

    def band(y0, y1, fill=None, line=None):
        """A stripe or rule across the whole figure: left margin, plot area, right margin."""
        common = dict(yref="y", layer="below")
        if fill:
            common.update(type="rect", y0=y0, y1=y1, fillcolor=fill, line=dict(width=0))
        else:
            common.update(type="line", y0=y0, y1=y0, line=line)
        shapes.append(dict(common, xref="paper", xsizemode="pixel", xanchor=0, x0=edge_px / 2 - margin_l, x1=0))
        shapes.append(dict(common, xref="paper", x0=0, x1=1))
        shapes.append(dict(common, xref="paper", xsizemode="pixel", xanchor=1, x0=0, x1=margin_r - edge_px / 2))

    for side, cols, xs, ws in (("left", left, left_x, left_w), ("right", right, right_x, right_w)):
        for c, x, w in zip(cols, xs, ws):
            put_text(c.header, side, x, w, header_px / 2, c.align, bold=True)
    band(header_px, None, line=dict(color="#333333", width=1.2))

    striped = 0
    for (kind, payload, pc), yc, h in zip(items, y_centres, heights):
        if kind == "header":
            band(yc - h / 2, yc + h / 2, fill="#e8edf5")
            put_text([payload], "left", left_x[0], sum(left_w), yc, "left", bold=True, size=font_size)
            striped = 0
            continue
        if kind == "row":
            if striped % 2 == 1:
                band(yc - h / 2, yc + h / 2, fill="#f6f6f6")
            striped += 1
            hover = _hover(payload)
        for side, cols, xs, ws in (("left", left, left_x, left_w), ("right", right, right_x, right_w)):
            for c, x, w in zip(cols, xs, ws):
                if c.key not in pc:
                    continue
                color = "#8a4b00" if kind == "row" and c.key == "t_study" and payload["conflict"] else "#111111"
                tip = None
                if kind == "row" and c.key in ("t_study", "t_effect"):
                    tip = hover
                elif kind == "row" and c.key == "t_adjusted" and payload["adjusted"]:
                    tip = "Adjusted for " + _esc(payload["adjusted_for"])
                put_text(pc[c.key], side, x, w, yc, c.align, bold=(kind == "pooled" and c is left[0]),
                         hover=tip, color=color)

    # --- effect axis: null line, light ticks ---------------------------------
    def clip(v):
        return min(max(v, lo), hi)

    grid_x, grid_y = [], []
    for t in ticks:
        if t != null:
            grid_x += [t, t, None]
            grid_y += [body_top, plot_h, None]
    fig.add_trace(go.Scatter(x=grid_x, y=grid_y, mode="lines", line=dict(color="#dddddd", width=1),
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=[null, null], y=[body_top, plot_h], mode="lines",
                             line=dict(color="#333333", width=1.5), hoverinfo="skip", showlegend=False,
                             name="no difference"))

    # --- markers: shape by design, fill by adjustment, size by precision -----
    # Drawn before the whiskers, so a whisker is never hidden behind its marker,
    # and never wider than 55% of the CI on the narrowest axis the page allows:
    # a narrow interval (BRISK-FL, LIGHT) stays visible beside its marker.
    span = (math.log10(hi) - math.log10(lo)) if log_axis else (hi - lo)
    px_per_unit = plot_min / span if span > 0 else 1.0

    def to_unit(v):
        return math.log10(v) if log_axis else v

    precisions = [1 / r["se"] for r in records if _is_num(r["se"]) and r["se"] > 0]
    pmax = max(precisions) if precisions else 1.0
    smallest = 7 * k

    def size(r):
        # area proportional to precision (1/SE), between 9 and 20 px across
        if not _is_num(r["se"]) or r["se"] <= 0:
            s = 9 * k
        else:
            s = max(9.0 * k, 20.0 * k * math.sqrt((1 / r["se"]) / pmax))
        if _is_num(r["ci_low"]) and _is_num(r["ci_high"]) and (not log_axis or r["ci_low"] > 0):
            ci_px = (to_unit(clip(r["ci_high"])) - to_unit(clip(r["ci_low"]))) * px_per_unit
            s = min(s, max(smallest, 0.55 * ci_px))
        return round(s, 1)

    cats = {}
    for (kind, r, _), yc in zip(items, y_centres):
        if kind != "row" or not _is_num(r["effect"]):
            continue
        cat = REVIEW_CATEGORY if r["source_kind"] == "review" else DESIGN_CATEGORY.get(r["design"], r["design"])
        cats.setdefault((cat, r["adjusted"]), []).append((r, yc))
    for (cat, adjusted), pts in cats.items():
        symbol = SYMBOLS.get(cat, "square") + ("" if adjusted else "-open")
        fig.add_trace(go.Scatter(
            x=[clip(r["effect"]) for r, _ in pts], y=[yc for _, yc in pts], ids=[r["row_id"] for r, _ in pts],
            mode="markers", showlegend=False, name=f"{cat}, {'adjusted' if adjusted else 'unadjusted'}",
            # an '-open' symbol is drawn in marker.color: INK for both, the fill is in the symbol name
            marker=dict(symbol=symbol, size=[size(r) for r, _ in pts], color=INK,
                        line=dict(color=INK, width=1.6 * k)),
            customdata=[_hover(r) for r, _ in pts], hovertemplate="%{customdata}<extra></extra>",
            meta="estimates"))

    # --- whiskers (above the markers) and clipping arrows ---------------------
    wx, wy, dx, dy, arrows_l, arrows_r = [], [], [], [], [], []
    for (kind, r, _), yc in zip(items, y_centres):
        if kind != "row" or not _is_num(r["ci_low"]) or not _is_num(r["ci_high"]):
            continue
        a, b = clip(r["ci_low"]), clip(r["ci_high"])
        target_x, target_y = (dx, dy) if r["ci_source"] == "derived from p" else (wx, wy)
        target_x += [a, b, None]
        target_y += [yc, yc, None]
        if r["ci_low"] < lo:
            arrows_l.append((lo, yc))
        if r["ci_high"] > hi:
            arrows_r.append((hi, yc))
    fig.add_trace(go.Scatter(x=wx, y=wy, mode="lines", line=dict(color=INK, width=2 * k), hoverinfo="skip",
                             showlegend=False, meta="whiskers"))
    if dx:
        fig.add_trace(go.Scatter(x=dx, y=dy, mode="lines", line=dict(color=INK, width=2 * k, dash="dot"),
                                 hoverinfo="skip", showlegend=False, meta="whiskers derived"))
    for pts, symbol in ((arrows_l, "triangle-left"), (arrows_r, "triangle-right")):
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                                     marker=dict(symbol=symbol, size=12 * k, color=INK), hoverinfo="skip",
                                     showlegend=False, meta="clipped"))

    # --- pooled diamonds and prediction intervals ----------------------------
    for (kind, p, _), yc in zip(items, y_centres):
        if kind != "pooled":
            continue
        v = p.pooled.ratio()
        dh = 9 * k
        fig.add_trace(go.Scatter(
            x=[clip(v["ci_low"]), v["estimate"], clip(v["ci_high"]), v["estimate"], clip(v["ci_low"])],
            y=[yc, yc - dh, yc, yc + dh, yc], fill="toself", mode="lines", fillcolor="#b22222",
            line=dict(color="#b22222", width=1), showlegend=False, meta="pooled",
            hovertemplate=_esc(f"{p.label}: {p.comparison}. {p.pooled.method}") + "<extra></extra>"))
        if v["pi_low"] is not None:
            fig.add_trace(go.Scatter(x=[clip(v["pi_low"]), clip(v["pi_high"])], y=[yc + dh + 4] * 2,
                                     mode="lines", line=dict(color="#b22222", width=2, dash="dash"),
                                     showlegend=False, meta="prediction interval", hoverinfo="skip"))

    # --- legend: what shape and fill mean (dummy entries, no data) ----------
    # Two vertical legends: marker shape (design) in the left margin above the
    # table, fill (adjustment) above the effect axis. A horizontal plotly legend
    # wraps at the width of the plot area alone, which is narrow here.
    lsize = round(13 * k)
    shapes_legend, fill_legend = [], []
    present = list(dict.fromkeys(c for c, _ in cats))
    for cat in present:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=cat, meta="legend", legend="legend",
                                 marker=dict(symbol=SYMBOLS.get(cat, "square"), size=lsize, color=MUTED)))
        shapes_legend.append(cat)
    adj_states = {a for _, a in cats}
    if True in adj_states or measure == "HR":
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="filled: adjusted", meta="legend",
                                 legend="legend2",
                                 marker=dict(symbol="square", size=lsize, color=INK, line=dict(color=INK, width=2))))
        fill_legend.append("filled: adjusted")
    hollow = "hollow: unadjusted" + (" (crude counts)" if measure != "HR" else "")
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=hollow, meta="legend", legend="legend2",
                             marker=dict(symbol="square-open", size=lsize, color=INK, line=dict(color=INK, width=2))))
    fill_legend.append(hollow)
    if pooled:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="pooled (random effects)",
                                 meta="legend", legend="legend2",
                                 marker=dict(symbol="diamond-wide", size=lsize + 2, color="#b22222")))
        fill_legend.append("pooled (random effects)")

    # --- widths: exported, narrowest and widest ---------------------------------
    min_width = int(math.ceil(margin_l + margin_r + plot_min))
    width = int(math.ceil(margin_l + margin_r + plot_full))
    max_width = int(math.ceil(margin_l + margin_r + plot_max))

    legend_row_px = max(19.0, 1.45 * tfs)
    legend_rows = 1 + max(len(shapes_legend), len(fill_legend))      # a title row, then the items
    title_px = 1.5 * (font_size + 4) + 16 if title else 8
    margin_t = int(title_px + legend_rows * legend_row_px + 16)
    legend_top = 1 + (legend_rows * legend_row_px + 10) / plot_h     # paper units: the plot area is plot_h tall

    # --- favours labels, axis title, footnotes ------------------------------
    if log_axis:
        null_frac = (math.log10(null) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    else:
        null_frac = (null - lo) / (hi - lo)
    # lower HR = fewer events = better for the experimental arm; for response, higher is better
    left_label, right_label = ("favours experimental", "favours reference") if measure == "HR" else (
        "favours reference", "favours experimental")
    for text, anchor, shift in ((f"◀ {left_label}", "right", -8), (f"{right_label} ▶", "left", 8)):
        annotations.append(dict(x=null_frac, xref="x domain", y=0, yref="paper", xanchor=anchor,
                                yanchor="top", xshift=shift, yshift=-48 * k, text=f"<i>{text}</i>",
                                showarrow=False, font=dict(size=tfs, color="#111111")))
    notes = []
    if reason:
        notes.append(reason)
    if any(r["ci_source"] == "derived from p" for r in records):
        notes.append("† No CI printed: 95% CI derived from the HR and its p value (dotted whisker).")
    if any(r.get("continuity_correction") for r in records):
        notes.append("‡ An arm with no responders: 0.5 added to every cell (continuity correction).")
    if any(r["conflict"] for r in records):
        notes.append("⚠ The paper contradicts itself on a number of this row (hover for both values; "
                     "the evidence browser shows both snippets).")
    if measure != "HR" and records:
        notes.append("Computed from counts: " + ("risk ratio with a log-scale 95% CI." if measure == "RR"
                     else "risk difference with Newcombe's hybrid score 95% CI (method 10)."))
    if any(r["ci_source"] == "printed" and round(100 * r["ci_level"]) != 95 for r in records):
        notes.append("A CI level other than 95% is named after p, as the paper gives it.")
    if measure == "HR" and records:
        notes.append("NR: not reported by the source. n (events): experimental / reference arm.")
    # covariates shortened in the table, in full: the exported figure has no hover
    full = {}
    for r, c in zip(records, cells):
        shown = " ".join(x[0] if isinstance(x, tuple) else x for x in c.get("t_adjusted", []))
        if r["adjusted"] and " ".join(shown.split()) != " ".join(f"adj. for {r['adjusted_for']}".split()):
            full.setdefault(f"{r['study']} ({r['group']})", r["adjusted_for"])
    if full:
        notes.append("Adjusted for, in full: " + "; ".join(f"{k}: {v}" for k, v in full.items()) + ".")
    note_lines = [line for note in notes for line in _wrap(note, min_width - 2 * edge_px, size=tfs)]
    note_step = 1.45 * tfs
    for i, line in enumerate(note_lines):
        annotations.append(dict(x=0, xref="paper", xshift=edge_px - margin_l, y=0, yref="paper", xanchor="left",
                                yanchor="top", yshift=-(48 * k + 2.2 * tfs) - note_step * i, text=_esc(line),
                                showarrow=False, align="left", font=dict(size=tfs, color="#333333")))
    margin_b = int(48 * k + 2.2 * tfs + note_step * len(note_lines) + 16)
    height = int(plot_h + margin_t + margin_b)

    xaxis = dict(domain=[0, 1], showgrid=False, zeroline=False, showline=True,
                 linecolor="#333333", ticks="outside", tickvals=ticks, ticktext=ticktext,
                 tickfont=dict(size=tfs), title=dict(text=f"{MEASURE_LABELS[measure]}"
                                                   + (" (log scale)" if log_axis else ""),
                                                   font=dict(size=tfs), standoff=6),
                 fixedrange=True)
    if log_axis:
        xaxis.update(type="log", range=[math.log10(lo), math.log10(hi)])
    else:
        xaxis.update(type="linear", range=[lo, hi])
    fig.update_layout(
        title=dict(text=_esc(title) if title else None, x=0, xanchor="left", xref="container", y=1,
                   yanchor="top", yref="container", pad=dict(t=12, l=edge_px), font=dict(size=font_size + 4)),
        font=dict(FONT, size=font_size), width=width, height=height,
        margin=dict(l=margin_l, r=margin_r, t=margin_t, b=margin_b, autoexpand=False),
        paper_bgcolor="white", plot_bgcolor="white",
        xaxis=xaxis,
        yaxis=dict(range=[plot_h, 0], visible=False, fixedrange=True),
        legend=dict(orientation="v", xref="container", x=0, xanchor="left", y=legend_top, yanchor="top",
                    font=dict(size=tfs), itemclick=False, itemdoubleclick=False, tracegroupgap=0,
                    title=dict(text="<b>Marker shape: design</b>", font=dict(size=tfs)), bgcolor="rgba(0,0,0,0)"),
        legend2=dict(orientation="v", xref="paper", x=0, xanchor="left", y=legend_top, yanchor="top",
                     font=dict(size=tfs), itemclick=False, itemdoubleclick=False, tracegroupgap=0,
                     title=dict(text="<b>Fill: adjustment</b>" if measure == "HR" else "<b>Fill</b>",
                                font=dict(size=tfs)), bgcolor="rgba(0,0,0,0)"),
        annotations=annotations, shapes=shapes, hovermode="closest",
        hoverlabel=dict(bgcolor="white", font=dict(size=max(13, tfs)), align="left"),
        meta=dict(min_width=min_width, max_width=max_width, table_font=tfs,
                  left_columns=[c.key for c in left], right_columns=[c.key for c in right],
                  left_x=left_x, left_w=left_w, right_x=right_x, right_w=right_w),
    )
    return fig


def page_css(fig: go.Figure, scroll_key: str, frame_key: str, exports_key: str | None = None) -> str:
    """Stylesheet for the page, built from numbers and the given container keys only.

    Streamlit sizes a chart to its container and squeezes a wider one, so the
    figure sits in a frame that is at least layout.meta["min_width"] wide inside
    a container that scrolls sideways: on a narrow window the plot scrolls, the
    table keeps its size. On a wide screen the frame stops at max_width, so a
    row stays easy to follow from the study to its estimate. exports_key: the
    export buttons' row takes the width of its buttons (a long label is not cut).
    """
    meta = table_layout(fig)
    lo = int(meta.get("min_width", 0))
    hi = max(lo, int(meta.get("max_width", 0)) or 100000)
    for key in (scroll_key, frame_key, exports_key):
        if key is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", key):
            raise ValueError(f"container key {key!r}: letters, digits, '-' and '_' only")
    css = (f".st-key-{scroll_key} {{ overflow-x: auto; overflow-y: hidden; }}"
           f".st-key-{frame_key} {{ min-width: {lo}px; max-width: {hi}px; }}")
    if exports_key:
        css += (f".st-key-{exports_key} [data-testid='stHorizontalBlock'] {{ flex-wrap: wrap; }}"
                f".st-key-{exports_key} [data-testid='stColumn'] {{ flex: 0 0 auto !important; "
                f"width: auto !important; min-width: 0 !important; }}")
    return f"<style>{css}</style>"


def download_config(fig: go.Figure, fmt: str = "svg", filename: str = "forest_plot") -> dict:
    """Plotly config: the camera button saves the figure at its full size as SVG or PNG."""
    fmt = fmt.lower()
    return {
        "displaylogo": False,
        "displayModeBar": True,
        "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "zoom2d", "pan2d",
                                   "zoomIn2d", "zoomOut2d"],
        "toImageButtonOptions": {"format": fmt, "filename": filename,
                                 "width": fig.layout.width, "height": fig.layout.height,
                                 "scale": 2 if fmt == "png" else 1},
    }


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
