"""Certainty of the evidence (GRADE) for every hazard-ratio comparison, and the summary of findings.

One row of `certainty_table(store)` per hazard-ratio record of the store
(adjusted and unadjusted estimates of the same comparison are separate rows;
`sof_row` marks the one the summary of findings uses). Each row says where the
rating starts, how far each GRADE domain rates it down and why, in plain words.

The rules
---------
Start: randomised comparisons (study design 'randomised') start at high, all
others at low. Nothing rates up: GRADE rates up only evidence that nothing rates
down, and every non-randomised comparison here is rated down. A non-randomised
comparison is therefore never above low.

Risk of bias: the curator's judgement in the store (`risk_of_bias`).
  ROBINS-I (non-randomised, starting low): 'low' and 'moderate' rate down 0
  levels (ROBINS-I calls 'moderate' sound for a non-randomised study, which the
  low start already allows for); 'serious' 1; 'critical' 2.
  RoB 2 (randomised, starting high): 'low' 0; 'some concerns' 1; 'high' 2.
  'not assessable from the source', or no judgement recorded: 1 level.

Imprecision, computed from the hazard ratio (IMPRECISION_RULE):
  The 95% CI is used; a CI printed at another level (tivantinib's 90% CI) is
  converted first: SE = (ln upper - ln lower) / (2 z), z = 1.645 for 90%, and
  the 95% CI is exp(ln HR -/+ 1.96 SE).
  Rate down 1 level if any of
    1. the 95% CI includes HR = 1 (no difference);
    2. the 95% CI is wide relative to the effect: it runs from an appreciable
       effect to a small or trivial one, i.e. it contains 0.75 or 1.25 (GRADE's
       rough guide to appreciable benefit or harm);
    3. few events: fewer than the optimal information size, the events one
       trial needs to detect HR 0.75 with two-sided alpha 0.05, power 0.80 and
       1:1 allocation: 4 (z_0.975 + z_0.80)^2 / ln(0.75)^2 = 380 events.
       Events are the store's death or progression counts (reported, or derived
       from reported numbers), else approximated as 4 / SE^2 from the CI and
       labelled as approximate.
  Rate down 2 levels if the CI contains both appreciable benefit (HR <= 0.75)
  and appreciable harm (HR >= 1.25), or if 2 and 3 both hold and the events
  are fewer than a third of the optimal information size.
  No CI printed: 1 level (precision cannot be checked), 2 if the comparison
  has fewer patients than a third of the optimal information size.

Indirectness, one level per reason, at most 2:
  - a surrogate endpoint: PFS, TTP or DFS stand in for overall survival;
  - a subgroup: the result holds for a subgroup only;
  - known only through a review's summary of the trial;
  - a comparator that differs from the question (INDIRECT_COMPARATORS).

Inconsistency: only where several studies report the same comparison and
endpoint (same arm labels, same population). Rated down 1 level when I^2 > 50%
or the estimates lie on opposite sides of 1 with non-overlapping CIs.
Otherwise 'not applicable (single study)'.

Publication bias is not rated (one study per comparison cannot be tested).

The result is the start level minus all levels, never below very low.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Mapping, Optional

import pandas as pd

from analysis.absolute import Z95, ci95, landmark_effect, median_difference, se_log_hr

LEVELS = ("very_low", "low", "moderate", "high")
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very_low": "⊕◯◯◯"}
WORDS = {"high": "High", "moderate": "Moderate", "low": "Low", "very_low": "Very low"}
OUTCOME_NAMES = {"OS": "overall survival", "PFS": "progression-free survival",
                 "TTP": "time to progression", "DFS": "disease-free survival"}
SURROGATES = {"PFS", "TTP", "DFS"}

APPRECIABLE_BENEFIT = 0.75
APPRECIABLE_HARM = 1.25
OIS_HR = 0.75


def optimal_information_size(hr: float = OIS_HR, alpha: float = 0.05, power: float = 0.80) -> int:
    """Events a 1:1 trial needs to detect `hr` (Schoenfeld): 380 for HR 0.75, alpha 0.05, power 0.80."""
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return math.ceil(4 * z ** 2 / math.log(hr) ** 2)


OIS_EVENTS = optimal_information_size()
IMPRECISION_RULE = (
    f"Rated down 1 level if the 95% CI includes 1, or contains {APPRECIABLE_BENEFIT} or "
    f"{APPRECIABLE_HARM} (from an appreciable to a trivial effect), or there are fewer than "
    f"{OIS_EVENTS} events (the events one trial needs to detect HR {OIS_HR}); 2 levels if the CI "
    f"spans both appreciable benefit and harm, or if it is wide and the events are fewer than "
    f"{OIS_EVENTS // 3}. Other CI levels are converted to 95% from the log standard error.")

# Comparisons whose reference arm is not an alternative treatment a board would weigh.
INDIRECT_COMPARATORS = {
    ("jx594", "high_dose", "low_dose"):
        "compares two doses of the same treatment, not the treatment against an alternative",
}

ROB_LEVELS = {
    "ROBINS-I": {"low": 0, "moderate": 0, "serious": 1, "critical": 2},
    "RoB 2": {"low": 0, "some concerns": 1, "high": 2},
}


# --- the domains, each a pure function ---------------------------------------

@dataclass(frozen=True)
class Imprecision:
    levels: int
    reasons: list[str]
    ci95_low: Optional[float]
    ci95_high: Optional[float]
    se: Optional[float]
    events: Optional[float]
    events_source: str          # reported / derived / approximate from the CI / unknown


def imprecision(hr: float, ci_low: Optional[float], ci_high: Optional[float], ci_level: float = 0.95,
                events: Optional[float] = None, events_source: str = "reported",
                patients: Optional[int] = None) -> Imprecision:
    """Rate imprecision by IMPRECISION_RULE. `events` None: approximated from the CI."""
    if ci_low is None or ci_high is None or pd.isna(ci_low) or pd.isna(ci_high):
        few = patients is not None and patients < OIS_EVENTS / 3
        reasons = ["no confidence interval is reported, so precision cannot be checked"]
        if few:
            reasons.append(f"only {patients} patients, far fewer than the {OIS_EVENTS} events "
                           f"one trial would need to detect HR {OIS_HR}")
        return Imprecision(2 if few else 1, reasons, None, None, None, events,
                           events_source if events is not None else "unknown")
    lo, hi = ci95(hr, ci_low, ci_high, ci_level)
    se = se_log_hr(ci_low, ci_high, ci_level)
    if events is None:
        events, events_source = 4 / se ** 2, "approximate from the CI"
    converted = "" if abs(ci_level - 0.95) < 1e-9 else \
        f" (the printed {ci_level:.0%} CI {ci_low:g} to {ci_high:g} converted to 95%)"
    reasons = []
    crosses_one = lo <= 1 <= hi
    wide = lo < APPRECIABLE_BENEFIT < hi or lo < APPRECIABLE_HARM < hi
    few = events < OIS_EVENTS
    ci_text = f"the 95% CI {lo:.2f} to {hi:.2f}{converted}"
    if crosses_one:
        reasons.append(f"{ci_text} includes no difference (HR 1)")
    if wide:
        subject = "it also" if crosses_one else ci_text
        reasons.append(f"{subject} runs from an appreciable to a small or trivial effect")
    if few:
        approx = "about " if events_source.startswith("approx") else ""
        reasons.append(f"few events: {approx}{events:.0f} ({events_source}), fewer than the "
                       f"{OIS_EVENTS} one trial would need to detect HR {OIS_HR}")
    levels = 1 if reasons else 0
    if lo <= APPRECIABLE_BENEFIT and hi >= APPRECIABLE_HARM:
        levels = 2
    if wide and few and events < OIS_EVENTS / 3:
        levels = 2
    return Imprecision(levels, reasons, lo, hi, se, events, events_source)


def risk_of_bias_levels(tool: Optional[str], overall: Optional[str]) -> int:
    if not tool or not overall:
        return 1
    return ROB_LEVELS[tool].get(overall, 1)   # 'not assessable from the source' -> 1


def indirectness_reasons(endpoint: str, population: str, subgroup: Optional[str],
                         source_kind: str, comparator_reason: Optional[str] = None) -> list[str]:
    reasons = []
    if endpoint in SURROGATES:
        reasons.append(f"{OUTCOME_NAMES[endpoint]} is a surrogate for overall survival")
    if population == "subgroup":
        reasons.append(f"the result is for a subgroup only ({subgroup})")
    if source_kind == "review":
        reasons.append("the trial is known only through a review's summary")
    if comparator_reason:
        reasons.append(f"the comparison {comparator_reason}")
    return reasons


def inconsistency(log_hrs: list[float], ses: list[float]) -> tuple[int, str]:
    """I^2 across several studies of one comparison; (levels, detail)."""
    if len(log_hrs) < 2:
        return 0, "not applicable (single study)"
    w = [1 / s ** 2 for s in ses]
    pooled = sum(wi * y for wi, y in zip(w, log_hrs)) / sum(w)
    q = sum(wi * (y - pooled) ** 2 for wi, y in zip(w, log_hrs))
    df = len(log_hrs) - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    opposite = any(a + Z95 * sa < b - Z95 * sb and (a < 0) != (b < 0)
                   for a, sa in zip(log_hrs, ses) for b, sb in zip(log_hrs, ses))
    if i2 > 0.5 or opposite:
        return 1, f"the {len(log_hrs)} studies disagree (I² {i2:.0%})"
    return 0, f"{len(log_hrs)} studies agree (I² {i2:.0%})"


def rate(start: str, levels: int) -> str:
    return LEVELS[max(0, LEVELS.index(start) - levels)]


# --- the store-level tables --------------------------------------------------

def _events(store, study_id: str, arms: tuple[str, str], endpoint: str, population: str):
    """Deaths or progressions of the two arms (or the whole cohort) from the store; (count, source)."""
    o = store.outcomes
    ev = o[(o.study_id == study_id) & (o.endpoint == f"{endpoint}_events") & (o.population == population)]
    if ev.empty:
        return None, "unknown"
    per_arm = ev[ev.arm_id.isin(arms)]
    rows = per_arm if per_arm.arm_id.nunique() == 2 else ev[ev.arm_id.isna()]
    if rows.empty:
        return None, "unknown"
    value = rows["count"].fillna(rows["value"]).sum()
    derived = bool(rows["derived"].fillna(False).any())
    return float(value), "derived from reported numbers" if derived else "reported"


def _patients(store, study_id: str, arms: tuple[str, str], population: str) -> Optional[int]:
    a = store.arms[(store.arms.study_id == study_id) & store.arms.arm_id.isin(arms)]
    col = "n_matched" if population == "matched" else "n"
    if population not in ("overall", "matched") or len(a) != 2 or col not in a or a[col].isna().any():
        return None
    return int(a[col].sum())


def _rob(store, h) -> dict:
    rb = getattr(store, "risk_of_bias", pd.DataFrame())
    if rb is None or rb.empty:
        return {}
    m = rb[(rb.study_id == h.study_id) & (rb.experimental_arm_id == h.experimental_arm_id)
           & (rb.reference_arm_id == h.reference_arm_id) & (rb.endpoint == h.endpoint)
           & (rb.population == h.population)
           & (rb.subgroup.fillna("") == (h.subgroup if isinstance(h.subgroup, str) else ""))]
    if m.empty:
        return {}
    overall = m[m.domain == "overall"].iloc[0]
    domains = {r.domain: r.judgement for r in m.itertuples() if r.domain != "overall"}
    return {"tool": overall.tool, "overall": overall.judgement, "overall_reason": overall.reason,
            "domains": domains}


def _rob_reason(rob: dict, levels: int) -> Optional[str]:
    if levels == 0:
        return None
    if not rob:
        return "Risk of bias: no risk-of-bias judgement is recorded"
    if rob["overall"] not in ROB_LEVELS[rob["tool"]]:
        return (f"Risk of bias: {rob['tool']} domains are not assessable from the source "
                f"(curator's judgement)")
    worst = [f"{d.replace('_', ' ')} {j}" for d, j in rob["domains"].items()
             if j in ("serious", "critical", "high", "some concerns")]
    return (f"Risk of bias: {rob['overall']} ({rob['tool']}, curator's judgement; "
            f"{', '.join(worst)}). {rob['overall_reason']}")


def certainty_table(store, prefer_adjusted: bool = True) -> pd.DataFrame:
    """One row per hazard-ratio record with the GRADE rating, its reasons and every input."""
    hrs = store.hazard_ratios
    if hrs.empty:
        return pd.DataFrame(columns=["study_id", "experimental_arm_id", "reference_arm_id", "endpoint",
                                     "certainty", "reasons"])
    studies = store.studies.set_index("study_id")
    rows = []
    for h in hrs.itertuples():
        st = studies.loc[h.study_id]
        randomised = st.design == "randomised"
        start = "high" if randomised else "low"
        arms = (h.experimental_arm_id, h.reference_arm_id)
        subgroup = h.subgroup if isinstance(h.subgroup, str) else None
        rob = _rob(store, h)
        rob_lv = risk_of_bias_levels(rob.get("tool"), rob.get("overall"))
        events, ev_source = _events(store, h.study_id, arms, h.endpoint, h.population)
        patients = _patients(store, h.study_id, arms, h.population)
        ci_lo = None if pd.isna(h.ci_low) else float(h.ci_low)
        ci_hi = None if pd.isna(h.ci_high) else float(h.ci_high)
        imp = imprecision(float(h.hr), ci_lo, ci_hi, float(h.ci_level), events,
                          ev_source if events is not None else "unknown", patients)
        indirect = indirectness_reasons(h.endpoint, h.population, subgroup, st.source_kind,
                                        INDIRECT_COMPARATORS.get((h.study_id, *arms)))
        rows.append({
            "study_id": h.study_id, "study_label": store.study_label(h.study_id),
            "experimental_arm_id": h.experimental_arm_id, "reference_arm_id": h.reference_arm_id,
            "experimental_label": store.arm_label(h.study_id, h.experimental_arm_id),
            "reference_label": store.arm_label(h.study_id, h.reference_arm_id),
            "endpoint": h.endpoint, "population": h.population, "subgroup": subgroup,
            "adjusted": bool(h.adjusted), "adjusted_for": h.adjusted_for,
            "hr": float(h.hr), "ci_low": ci_lo, "ci_high": ci_hi, "ci_level": float(h.ci_level),
            "ci95_low": imp.ci95_low, "ci95_high": imp.ci95_high, "se_log_hr": imp.se,
            "p_text": h.p_text, "design": st.design, "source_kind": st.source_kind,
            "randomised": randomised, "start": start,
            "rob_tool": rob.get("tool"), "rob_overall": rob.get("overall", "not recorded"),
            "rob_domains": rob.get("domains", {}), "rob_overall_reason": rob.get("overall_reason"),
            "rob_levels": rob_lv,
            "events": imp.events, "events_source": imp.events_source, "patients": patients,
            "ois_events": OIS_EVENTS, "imprecision_levels": imp.levels, "imprecision_reasons": imp.reasons,
            "indirectness_levels": min(2, len(indirect)), "indirectness_reasons": indirect,
            "record_id": h.record_id, "location": h.location, "snippet": h.snippet,
        })
    df = pd.DataFrame(rows)
    df["sof_row"] = _sof_rows(df, prefer_adjusted)
    _add_inconsistency(df)
    df["certainty"] = [rate(r.start, r.rob_levels + r.imprecision_levels + r.indirectness_levels
                            + r.inconsistency_levels) for r in df.itertuples()]
    df["certainty_symbol"] = df["certainty"].map(SYMBOLS)
    df["certainty_label"] = df["certainty"].map(WORDS)
    df["reasons"] = [_reasons(r) for r in df.itertuples()]
    first = ["study_id", "experimental_arm_id", "reference_arm_id", "endpoint", "certainty", "reasons"]
    return df[first + [c for c in df.columns if c not in first]]


def _sof_rows(df: pd.DataFrame, prefer_adjusted: bool) -> list[bool]:
    """One estimate per comparison, endpoint and population: the adjusted one for a
    non-randomised comparison (less confounded) when prefer_adjusted, else the unadjusted."""
    keep = [False] * len(df)
    key = ["study_id", "experimental_arm_id", "reference_arm_id", "endpoint", "population"]
    for _, g in df.assign(_sg=df["subgroup"].fillna("")).groupby(key + ["_sg"], sort=False):
        want = prefer_adjusted and not g["randomised"].iloc[0]
        pick = g[g["adjusted"] == want]
        keep[(pick if not pick.empty else g).index[0]] = True
    return keep


def _add_inconsistency(df: pd.DataFrame) -> None:
    df["inconsistency_levels"] = 0
    df["inconsistency_detail"] = "not applicable (single study)"
    sof = df[df["sof_row"] & df["se_log_hr"].notna()]
    key = sof["experimental_label"].str.lower() + "|" + sof["reference_label"].str.lower() + "|" + \
        sof["endpoint"] + "|" + sof["population"] + "|" + sof["subgroup"].fillna("")
    for _, g in sof.groupby(key):
        if g["study_id"].nunique() < 2:
            continue
        lv, detail = inconsistency([math.log(x) for x in g["hr"]], list(g["se_log_hr"]))
        for i in g.index:
            df.at[i, "inconsistency_levels"] = lv
            df.at[i, "inconsistency_detail"] = detail


def _reasons(r) -> list[str]:
    out = []
    if not r.randomised:
        out.append("Starts at low: a non-randomised comparison")
    rob = _rob_reason({} if r.rob_tool is None else {
        "tool": r.rob_tool, "overall": r.rob_overall, "domains": r.rob_domains,
        "overall_reason": r.rob_overall_reason}, r.rob_levels)
    if rob:
        out.append(rob)
    if r.imprecision_levels:
        sev = "very serious" if r.imprecision_levels == 2 else "serious"
        out.append(f"Imprecision ({sev}): " + "; ".join(r.imprecision_reasons))
    if r.indirectness_levels:
        out.append("Indirectness: " + "; ".join(r.indirectness_reasons))
    if r.inconsistency_levels:
        out.append(f"Inconsistency: {r.inconsistency_detail}")
    return out


# --- summary of findings -----------------------------------------------------

RebuiltSurvival = Mapping[tuple, float]   # (study_id, arm_id, endpoint, months) -> percent


def _reported_rate(store, study_id, arm_id, endpoint, months, population):
    o = store.outcomes
    m = o[(o.study_id == study_id) & (o.arm_id == arm_id) & (o.endpoint == f"{endpoint}_rate")
          & (o.timepoint_months == months) & (o.population == population)]
    return None if m.empty else m.iloc[0]


def _median(store, study_id, arm_id, endpoint, population, subgroup):
    o = store.outcomes
    m = o[(o.study_id == study_id) & (o.arm_id == arm_id) & (o.endpoint == f"{endpoint}_median")
          & (o.population == population) & (o.subgroup.fillna("") == (subgroup or ""))]
    return None if m.empty else float(m.iloc[0]["value"])


def plain_statement(certainty: str, experimental: str, reference: str, endpoint: str,
                    ci95_low: Optional[float], ci95_high: Optional[float]) -> str:
    """GRADE's informative statements: 'improves', 'probably improves', 'may improve', 'very uncertain'."""
    outcome = OUTCOME_NAMES.get(endpoint, endpoint)
    if certainty == "very_low":
        return (f"The evidence is very uncertain about the effect of {experimental} on {outcome} "
                f"compared with {reference}.")
    if ci95_low is None or ci95_high is None or ci95_low <= 1 <= ci95_high:
        verb = {"high": "results", "moderate": "probably results", "low": "may result"}[certainty]
        return f"{experimental} {verb} in little to no difference in {outcome} compared with {reference}."
    better = ci95_high < 1
    verb = {("high", True): "improves", ("moderate", True): "probably improves", ("low", True): "may improve",
            ("high", False): "worsens", ("moderate", False): "probably worsens",
            ("low", False): "may worsen"}[(certainty, better)]
    return f"{experimental} {verb} {outcome} compared with {reference}."


def summary_of_findings(store, rebuilt: Optional[RebuiltSurvival] = None, prefer_adjusted: bool = True,
                        timepoints: tuple[float, ...] = (12, 24)) -> pd.DataFrame:
    """One row per comparison, outcome and population: the GRADE summary of findings.

    rebuilt: survival percentages the caller read off the reconstructed curves,
    keyed (study_id, arm_id, endpoint, months); used only where the paper reports
    no landmark rate for the reference arm, and marked 'from the rebuilt curve'.
    """
    ct = certainty_table(store, prefer_adjusted)
    if ct.empty:
        return pd.DataFrame()
    rebuilt = rebuilt or {}
    rows = []
    for r in ct[ct["sof_row"]].itertuples():
        row = {
            "study_id": r.study_id, "study_label": r.study_label,
            "experimental_arm_id": r.experimental_arm_id, "reference_arm_id": r.reference_arm_id,
            "comparison": f"{r.experimental_label} vs {r.reference_label}",
            "endpoint": r.endpoint, "outcome": OUTCOME_NAMES.get(r.endpoint, r.endpoint).capitalize(),
            "population": r.population, "subgroup": r.subgroup,
            "n_studies": 1, "n_patients": r.patients, "design": r.design, "source_kind": r.source_kind,
            "hr": r.hr, "ci95_low": r.ci95_low, "ci95_high": r.ci95_high, "adjusted": r.adjusted,
            "relative_effect": _relative_text(r),
        }
        for t in timepoints:
            row.update(_landmark_columns(store, r, t, rebuilt))
        m_exp = _median(store, r.study_id, r.experimental_arm_id, r.endpoint, r.population, r.subgroup)
        m_ref = _median(store, r.study_id, r.reference_arm_id, r.endpoint, r.population, r.subgroup)
        diff = median_difference(m_exp, m_ref)
        row.update({"median_experimental": m_exp, "median_reference": m_ref, "median_difference": diff,
                    "median_text": _median_text(m_exp, m_ref, diff)})
        row.update({"certainty": r.certainty, "certainty_symbol": r.certainty_symbol,
                    "certainty_label": r.certainty_label, "reasons": r.reasons,
                    "statement": plain_statement(r.certainty, r.experimental_label, r.reference_label,
                                                 r.endpoint, r.ci95_low, r.ci95_high),
                    "hr_record_id": r.record_id})
        rows.append(row)
    return pd.DataFrame(rows)


def _relative_text(r) -> str:
    if r.ci95_low is None or pd.isna(r.ci95_low):
        return f"HR {r.hr:g} (no CI reported)"
    text = f"HR {r.hr:g} (95% CI {r.ci95_low:.2f} to {r.ci95_high:.2f})"
    if abs(r.ci_level - 0.95) > 1e-9:
        text += f"; printed {r.ci_level:.0%} CI {r.ci_low:g} to {r.ci_high:g}"
    return text + (", adjusted" if r.adjusted else "")


def _median_text(m_exp, m_ref, diff) -> str:
    if diff is None:
        return "medians not reported for both arms"
    sign = "+" if diff >= 0 else "-"
    return f"{m_exp:g} vs {m_ref:g} months ({sign}{abs(diff):.1f} months)"


def _landmark_columns(store, r, t: float, rebuilt) -> dict:
    k = f"_{t:g}m"
    ref = _reported_rate(store, r.study_id, r.reference_arm_id, r.endpoint, t, r.population)
    exp = _reported_rate(store, r.study_id, r.experimental_arm_id, r.endpoint, t, r.population)
    source, snippet, location = None, None, None
    if ref is not None and r.subgroup is None:
        s_ref, source, snippet, location = float(ref["value"]), "reported", ref["snippet"], ref["location"]
    elif r.subgroup is None and (r.study_id, r.reference_arm_id, r.endpoint, t) in rebuilt:
        # a rebuilt curve is a whole arm's: it is no subgroup's baseline
        s_ref, source = float(rebuilt[(r.study_id, r.reference_arm_id, r.endpoint, t)]), "from the rebuilt curve"
    else:
        return {f"baseline{k}": None, f"baseline_source{k}": "not available", f"baseline_snippet{k}": None,
                f"baseline_location{k}": None, f"experimental{k}": None, f"experimental_low{k}": None,
                f"experimental_high{k}": None, f"per_100{k}": None, f"per_100_low{k}": None,
                f"per_100_high{k}": None, f"absolute{k}": "no baseline survival available",
                f"reported_experimental{k}": None, f"check{k}": None}
    reported_exp = None if exp is None or r.subgroup is not None else float(exp["value"])
    eff = landmark_effect(s_ref, r.hr, r.ci_low, r.ci_high, t, r.endpoint, r.ci_level, source, reported_exp)
    return {f"baseline{k}": s_ref, f"baseline_source{k}": source, f"baseline_snippet{k}": snippet,
            f"baseline_location{k}": location, f"experimental{k}": eff.experimental_percent,
            f"experimental_low{k}": eff.experimental_low, f"experimental_high{k}": eff.experimental_high,
            f"per_100{k}": eff.difference_per_100, f"per_100_low{k}": eff.difference_low,
            f"per_100_high{k}": eff.difference_high, f"absolute{k}": eff.text,
            f"reported_experimental{k}": reported_exp, f"check{k}": eff.check}


def summary_line(row) -> str:
    """One summary-of-findings row as a sentence block for the tumour-board brief."""
    parts = [f"{row['study_label']}: {row['comparison']}, {row['outcome'].lower()}"
             + (f" ({row['subgroup']})" if isinstance(row.get("subgroup"), str) else "")
             + (" (matched cohort)" if row.get("population") == "matched" else ""),
             row["relative_effect"]]
    absolute = row.get("absolute_12m")
    if absolute and row.get("baseline_12m") is not None and not pd.isna(row.get("baseline_12m")):
        parts.append(f"{absolute} (baseline {row['baseline_12m']:g}%, {row['baseline_source_12m']})")
    parts.append(f"median {row['median_text']}")
    parts.append(f"certainty {row['certainty_symbol']} {row['certainty_label']}")
    return "; ".join(parts) + ". " + row["statement"]


DESIGN_ITEMS = ("allocation", "blinding", "centres", "timing", "subgroup_of_trials",
                "analysis_population", "follow_up", "source_kind")


def design_summary(store) -> pd.DataFrame:
    """One row per study: each design item in plain words ('not reported in the source' where silent)."""
    dd = getattr(store, "design_details", pd.DataFrame())
    rows = []
    for sid in store.studies["study_id"]:
        d = dd[dd["study_id"] == sid] if not dd.empty else dd
        row = {"study_id": sid, "study_label": store.study_label(sid)}
        for item in DESIGN_ITEMS:
            vals = [] if d.empty else list(d[d["item"] == item]["value_text"])
            row[item] = "; ".join(vals) if vals else "not recorded"
        row["text"] = ", ".join(f"{k.replace('_', ' ')}: {row[k]}" for k in DESIGN_ITEMS)
        rows.append(row)
    return pd.DataFrame(rows)
