"""Statistics on reconstructed (pseudo) patient data: KM, medians, RMST, Cox HR,
and the fidelity check of each rebuilt curve against what the paper printed.

Everything here describes the pseudo-data. A Cox HR from two rebuilt arms is a
check of the reconstruction against the reported HR, not a new result.
Pure functions, no streamlit.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter

HR_FLAG = 0.1          # |reconstructed - reported| HR above this is flagged (methods brief)
MEDIAN_FLAG = 0.05     # relative miss of a median worth a look
RATE_FLAG = 0.05       # 5 percentage points


def _fit(ipd: pd.DataFrame) -> KaplanMeierFitter:
    if ipd is None or len(ipd) == 0:
        raise ValueError("no patients to estimate a curve from")
    return KaplanMeierFitter().fit(ipd["time"].astype(float), ipd["event"].astype(int))


@dataclass(frozen=True)
class CurveStats:
    """The KM of one rebuilt arm, with what the tables need."""
    km: pd.DataFrame            # time, survival, lower, upper (0-1), starting at (0, 1)
    median: float               # inf when the curve never reaches 50%
    median_low: float
    median_high: float
    n: int
    events: int
    last_time: float            # last follow-up time of the pseudo-data

    def survival_at(self, t: float) -> float:
        km = self.km
        i = int(np.searchsorted(km.time.values, t, side="right")) - 1
        return float(km.survival.iloc[max(i, 0)])


# A product of KM factors that is 50% on paper can come out as 0.5000000000000001;
# R's survival package treats values within sqrt(machine epsilon) of 50% as 50%.
_HALF_TOLERANCE = math.sqrt(np.finfo(float).eps)


def median_time(times: Sequence[float], survival: Sequence[float]) -> float:
    """Median of a KM step curve (or of one of its confidence bands): the first
    time the curve is at or below 50%; inf when it never gets there.

    Where the curve sits at exactly 50% and drops later, the median is the
    midpoint between the time it reached 50% and the time of the next drop, as
    R's print(survfit) reports it. lifelines' median instead returns the first
    time at 50%, and misses the median altogether when rounding leaves the
    product of KM factors a hair above 50%.
    """
    t = np.asarray(times, dtype=float)
    s = np.asarray(survival, dtype=float)
    keep = ~np.isnan(s) & (s < 0.5 + _HALF_TOLERANCE)
    if not keep.any():
        return math.inf
    t, s = t[keep], s[keep]
    if abs(s[0] - 0.5) < _HALF_TOLERANCE:
        later = np.flatnonzero(s < s[0])
        if later.size:
            return float((t[0] + t[later[0]]) / 2)
    return float(t[0])


def summarise(ipd: pd.DataFrame) -> CurveStats:
    kmf = _fit(ipd)
    sf = kmf.survival_function_.iloc[:, 0]
    # lifelines' default band: log(-log) transform of Greenwood's variance
    # (R: survfit(conf.type = "log-log"))
    ci = kmf.confidence_interval_survival_function_
    km = pd.DataFrame({"time": sf.index.values.astype(float), "survival": sf.values,
                       "lower": ci.iloc[:, 0].values, "upper": ci.iloc[:, 1].values})
    # the median's CI is where the bands cross 50%: the lower band gives the lower limit
    return CurveStats(km=km, median=median_time(km.time, km.survival),
                      median_low=median_time(km.time, km.lower), median_high=median_time(km.time, km.upper),
                      n=int(len(ipd)), events=int(ipd["event"].sum()), last_time=float(ipd["time"].max()))


def survival_at(ipd: pd.DataFrame, t: float) -> float:
    return float(_fit(ipd).survival_function_at_times(t).iloc[0])


def number_at_risk(ipd: pd.DataFrame, times: Iterable[float]) -> list[int]:
    """Patients still followed and event-free at each time (as under a published KM plot)."""
    tt = np.sort(ipd["time"].to_numpy(dtype=float))
    return [int(len(tt) - np.searchsorted(tt, t, side="left")) for t in times]


def rmst(ipd: pd.DataFrame, tau: float) -> tuple[float, float]:
    """Restricted mean survival time to tau months and its standard error.

    The area under the KM step function, integrated exactly, with the usual
    Greenwood-type variance (sum over event times of A_j^2 d_j / (n_j (n_j - d_j)),
    A_j the area from t_j to tau). lifelines' restricted_mean_survival_time
    returns the variance of min(T, tau) across patients, not of the estimate,
    so it cannot give a standard error for the table.
    """
    kmf = _fit(ipd)
    tau = float(tau)
    sf = kmf.survival_function_.iloc[:, 0]
    t = np.r_[sf.index.values.astype(float), np.inf]
    surv = sf.values
    widths = np.clip(np.minimum(t[1:], tau) - t[:-1], 0.0, None)
    pieces = surv * widths
    area = float(pieces.sum())
    et = kmf.event_table
    var = 0.0
    for time, row in et.iterrows():
        d, n = float(row["observed"]), float(row["at_risk"])
        if d <= 0 or time > tau or n <= d:
            continue
        a_j = float(pieces[t[:-1] >= time].sum())
        var += a_j ** 2 * d / (n * (n - d))
    return area, float(math.sqrt(var))


def rmst_horizon(ipds: Sequence[pd.DataFrame]) -> float | None:
    """The longest time all the curves shown still cover: RMST beyond it would compare
    one arm's data with another arm's extrapolation."""
    lasts = [float(d["time"].max()) for d in ipds if d is not None and len(d)]
    if not lasts:
        return None
    tau = min(lasts)
    # a round number reads better in a table header
    return float(math.floor(tau)) if tau >= 2 else tau


def cox_hr(experimental: pd.DataFrame, reference: pd.DataFrame) -> dict:
    """Unadjusted Cox HR (experimental vs reference) with its 95% CI and p."""
    df = pd.concat([experimental[["time", "event"]].assign(arm=1), reference[["time", "event"]].assign(arm=0)],
                   ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # lifelines stops its damped Newton steps once the Newton decrement is
        # below 1e-7, which can leave the log HR 2e-5 short of the maximum
        # (R's coxph value); these tolerances take it to within 1e-8.
        cph = CoxPHFitter().fit(df, duration_col="time", event_col="event",
                                fit_options={"precision": 1e-14, "r_precision": 1e-14})
    s = cph.summary.loc["arm"]
    return {"hr": float(s["exp(coef)"]), "ci_low": float(s["exp(coef) lower 95%"]),
            "ci_high": float(s["exp(coef) upper 95%"]), "p": float(s["p"])}


def at_risk_times(last_time: float) -> list[float]:
    """Ticks of the number-at-risk table: every 3, 6 or 12 months depending on the span."""
    step = 3.0 if last_time <= 24 else 6.0 if last_time <= 60 else 12.0
    return [float(x) for x in np.arange(0.0, last_time + 1e-9, step)]


# --------------------------------------------------------------------------- #
# Fidelity: does the rebuilt curve give back what the paper printed?
# --------------------------------------------------------------------------- #

def fidelity(sources, stats: Mapping[str, CurveStats], reconstructed: Mapping[str, pd.DataFrame],
             reported_hrs=(), held: Mapping[tuple[str, str], str] | None = None) -> pd.DataFrame:
    """One row per reported number: reported vs reconstructed, difference, flag.

    sources: survival_inputs.CurveSource objects that were rebuilt; stats and
    reconstructed are keyed by source key; reported_hrs: survival_inputs.ReportedHR;
    held: survival_inputs.held_pairs(plan), (experimental key, reference key) ->
    how that pair was rebuilt, added to its hazard-ratio row.

    Deaths printed for both arms together ("59 of 96 died") give one row for the
    cohort when all its arms are shown, saying how the total was split.
    """
    held = dict(held or {})
    sources = list(sources)
    rows = []
    pooled_done: set[tuple] = set()
    for src in sources:
        st = stats.get(src.key)
        if st is None:
            continue
        for a in src.anchors:
            if a.kind == "median":
                got = st.median
                diff = got - a.time if math.isfinite(got) else math.inf
                flag = (not math.isfinite(got)) or abs(diff) > MEDIAN_FLAG * a.time
                rows.append(_row(src, "median (months)", a.time, got, diff, flag, a))
            else:
                got = st.survival_at(a.time)
                diff = 100 * (got - a.survival)
                rows.append(_row(src, f"survival at {a.time:g} months (%)", 100 * a.survival, 100 * got, diff,
                                 abs(diff) > 100 * RATE_FLAG, a))
        group = [x for x in sources if getattr(x, "pooled_events", None) is not None
                 and (x.study_id, x.endpoint, x.population) == (src.study_id, src.endpoint, src.population)]
        if group and src in group and all(x.key in stats for x in group):
            gid = (src.study_id, src.endpoint, src.population)
            if gid not in pooled_done:
                pooled_done.add(gid)
                counts = [stats[x.key].events for x in group]
                by_hr = [text for (e, r), text in held.items() if {e, r} == {x.key for x in group} and "split" in text]
                how = ("split between the arms by the reported hazard ratio" if by_hr
                       else "split between the arms by one follow-up pace fitted to their curves")
                total = sum(counts)
                rows.append({"key": src.key, "reference_key": group[1].key if len(group) > 1 else None,
                             "quantity": "events (all arms together)", "reported": float(src.pooled_events),
                             "reconstructed": float(total), "difference": float(total - src.pooled_events),
                             "flag": total != src.pooled_events,
                             "note": f"{src.pooled_text} reported together; {how}: "
                                     + " + ".join(f"{c} ({x.arm_label})" for c, x in zip(counts, group))
                                     + " (derived, not reported)",
                             "location": src.events_location, "snippet": src.events_snippet})
        elif src.events is not None:
            rows.append({"key": src.key, "quantity": "events", "reported": float(src.events),
                         "reconstructed": float(st.events), "difference": float(st.events - src.events),
                         "flag": st.events != src.events, "note": src.events_text,
                         "location": src.events_location, "snippet": src.events_snippet})
    for h in reported_hrs:
        if h.experimental_key not in reconstructed or h.reference_key not in reconstructed:
            continue
        got = cox_hr(reconstructed[h.experimental_key], reconstructed[h.reference_key])
        diff = got["hr"] - h.hr
        note = h.text + (" (the pseudo-data HR is unadjusted)" if h.adjusted else "")
        how = held.get((h.experimental_key, h.reference_key))
        if how:
            note += f"; {how}"
        rows.append({"key": h.experimental_key, "reference_key": h.reference_key, "quantity": "hazard ratio",
                     "reported": h.hr, "reconstructed": got["hr"], "difference": diff,
                     "flag": abs(diff) > HR_FLAG, "note": note, "location": h.location, "snippet": h.snippet,
                     "ci_low": got["ci_low"], "ci_high": got["ci_high"]})
    cols = ["key", "reference_key", "quantity", "reported", "reconstructed", "difference", "flag", "note",
            "location", "snippet", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=cols)


def _row(src, quantity, reported, got, diff, flag, anchor) -> dict:
    note = "" if anchor.used else f"not used for the curve: {anchor.why_unused}"
    if anchor.conflicts:
        note = (note + " " if note else "") + "⚠ conflict recorded"
    return {"key": src.key, "quantity": quantity, "reported": float(reported), "reconstructed": float(got),
            "difference": float(diff), "flag": bool(flag), "note": note, "location": anchor.location,
            "snippet": anchor.snippet}
