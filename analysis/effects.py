"""Effect sizes, intervals and pooling for the forest plot. Pure functions: no
files, no streamlit, so every number a clinician sees can be checked by a test.

Conventions
- Ratios (hazard ratio, risk ratio) are handled on the log scale; the log
  estimate and its standard error (SE) are what pooling and marker sizes use.
- Every result says how it was obtained (`method`) and whether a continuity
  correction was applied, because a clinician reading "RR 3.2" must be able to
  tell a computed number from a printed one.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

CONTINUITY = 0.5  # added to every cell of a 2x2 table that has a zero cell, and only then


def z_for_level(level: float) -> float:
    """Two-sided normal quantile for a confidence level: 0.95 -> 1.959964, 0.90 -> 1.644854."""
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be between 0 and 1, got {level}")
    return float(stats.norm.ppf((1 + level) / 2))


# ---------------------------------------------------------------------------
# Hazard ratios: log HR and its SE from what the paper prints
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LogEffect:
    """A ratio on the log scale with its standard error and where the SE came from."""
    log_estimate: float
    se: float
    source: str   # "ci" or "p"
    note: str = ""

    @property
    def estimate(self) -> float:
        return math.exp(self.log_estimate)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The interval on the ratio scale at any level (used to draw a CI the paper did not print)."""
        z = z_for_level(level)
        return math.exp(self.log_estimate - z * self.se), math.exp(self.log_estimate + z * self.se)


def se_from_ci(ci_low: float, ci_high: float, level: float = 0.95) -> float:
    """SE of log ratio from a CI of any level: (ln U - ln L) / (2 z_{(1+level)/2}).

    With level 0.95 the divisor is 3.92, the textbook formula; a 90% CI (as the
    review prints for tivantinib) divides by 2 x 1.645 instead, so a 90% CI is
    not mistaken for a wider 95% one.
    """
    if ci_low is None or ci_high is None or not (0 < ci_low < ci_high):
        raise ValueError(f"need 0 < lower < upper, got {ci_low}, {ci_high}")
    return (math.log(ci_high) - math.log(ci_low)) / (2 * z_for_level(level))


def se_from_p(ratio: float, p: float) -> float:
    """SE of log ratio from the ratio and a two-sided p: |ln ratio| / z(1 - p/2).

    Undefined when the ratio is 1 (no information on the spread) or p is not in (0, 1).
    """
    if ratio is None or ratio <= 0:
        raise ValueError("the ratio must be positive")
    if p is None or not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    if ratio == 1:
        raise ValueError("a ratio of exactly 1 gives no SE from a p value")
    return abs(math.log(ratio)) / float(stats.norm.ppf(1 - p / 2))


def _finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def log_hr_and_se(hr: float, ci_low: float | None = None, ci_high: float | None = None,
                  ci_level: float = 0.95, p: float | None = None,
                  p_text: str | None = None) -> Optional[LogEffect]:
    """log HR and SE from the CI when printed, otherwise from the p value; None when neither works.

    A p printed as an inequality ("<0.001") gives an SE that is an upper bound
    (the true p is smaller, so the true SE is smaller): the note says so.
    """
    if not _finite(hr) or hr <= 0:
        return None
    if _finite(ci_low) and _finite(ci_high) and 0 < ci_low < ci_high:
        level = ci_level if _finite(ci_level) else 0.95
        return LogEffect(math.log(hr), se_from_ci(ci_low, ci_high, level), "ci")
    if _finite(p) and 0 < p < 1 and hr != 1:
        note = "SE derived from the p value"
        text = (p_text or "").strip()
        if text.startswith(("<", "≤")):
            note += f" printed as {text}: the SE is an upper bound"
        elif text.startswith((">", "≥")):
            # p > x gives only a lower bound on the SE: not usable for an interval
            return None
        return LogEffect(math.log(hr), se_from_p(hr, p), "p", note)
    return None


# ---------------------------------------------------------------------------
# Proportions
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    """An effect with its interval, the method used and any correction applied."""
    estimate: Optional[float]
    low: Optional[float]
    high: Optional[float]
    level: float
    method: str
    continuity_correction: bool = False
    note: str = ""
    log_estimate: Optional[float] = None   # ratios only: for pooling and marker size
    se: Optional[float] = None             # SE of log_estimate


def _check_counts(x: int, n: int) -> None:
    if n is None or x is None or n < 1 or x < 0 or x > n:
        raise ValueError(f"need 0 <= count <= denominator and denominator >= 1, got {x}/{n}")


def wilson_interval(x: int, n: int, level: float = 0.95) -> Estimate:
    """Wilson score interval for one proportion (Newcombe 1998, method 3; no continuity correction)."""
    _check_counts(x, n)
    z = z_for_level(level)
    p = x / n
    centre = (2 * n * p + z * z) / (2 * (n + z * z))
    half = z * math.sqrt(z * z + 4 * n * p * (1 - p)) / (2 * (n + z * z))
    low, high = centre - half, centre + half
    # exact bounds at the edges: floating point can leave -1e-17 or 1.0000000002
    if x == 0:
        low = 0.0
    if x == n:
        high = 1.0
    return Estimate(p, max(0.0, low), min(1.0, high), level, "Wilson score interval")


def risk_difference(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Estimate:
    """p1 - p2 with Newcombe's hybrid score interval (method 10 of Newcombe 1998).

    Built from the two Wilson intervals, it stays inside [-1, 1] and behaves at
    zero cells, so no continuity correction is needed or applied.
    """
    a = wilson_interval(x1, n1, level)
    b = wilson_interval(x2, n2, level)
    d = a.estimate - b.estimate
    delta = math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    eps = math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    zero = x1 in (0, n1) or x2 in (0, n2)
    return Estimate(d, d - delta, d + eps, level, "Newcombe hybrid score interval (method 10)",
                    note="zero cell: Newcombe's interval needs no continuity correction" if zero else "")


def risk_ratio(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Estimate:
    """(x1/n1) / (x2/n2) with a CI on the log scale: SE = sqrt(1/a - 1/n1 + 1/c - 1/n2).

    When an arm has no events the log is undefined: 0.5 is added to each of the
    four cells (events and non-events of both arms) and the result says so.
    Without events in either arm the ratio carries no information and is not
    estimated.
    """
    _check_counts(x1, n1)
    _check_counts(x2, n2)
    method = "risk ratio, log-scale (Katz) interval"
    if x1 == 0 and x2 == 0:
        return Estimate(None, None, None, level, method,
                        note="no events in either arm: the risk ratio is not estimable")
    corrected = x1 == 0 or x2 == 0
    if corrected:
        a, m1, c, m2 = x1 + CONTINUITY, n1 + 2 * CONTINUITY, x2 + CONTINUITY, n2 + 2 * CONTINUITY
    else:
        a, m1, c, m2 = x1, n1, x2, n2
    log_rr = math.log((a / m1) / (c / m2))
    se = math.sqrt(1 / a - 1 / m1 + 1 / c - 1 / m2)
    z = z_for_level(level)
    note = (f"zero cell: {CONTINUITY} added to every cell (continuity correction)" if corrected else "")
    return Estimate(math.exp(log_rr), math.exp(log_rr - z * se), math.exp(log_rr + z * se), level,
                    method, continuity_correction=corrected, note=note, log_estimate=log_rr, se=se)


# ---------------------------------------------------------------------------
# Random-effects pooling
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled estimate on the log scale (exp() for the ratio)."""
    k: int
    mu: float
    ci_low: float
    ci_high: float
    se: float            # SE of mu from the random-effects weights (scale 1)
    se_hk: float         # Hartung-Knapp SE; the CI uses max(se_hk, se)
    tau2: float
    i2: float            # 0..1
    q: float
    level: float
    pi_low: Optional[float]    # prediction interval, None when k < 3
    pi_high: Optional[float]
    method: str

    def ratio(self) -> dict:
        """The pooled ratio, its CI and prediction interval on the ratio scale."""
        ex = lambda v: None if v is None else math.exp(v)
        return {"estimate": ex(self.mu), "ci_low": ex(self.ci_low), "ci_high": ex(self.ci_high),
                "pi_low": ex(self.pi_low), "pi_high": ex(self.pi_high)}


def paule_mandel_tau2(log_effects: Sequence[float], ses: Sequence[float]) -> float:
    """Paule-Mandel between-study variance: the tau² at which the generalised Q,
    sum w_i (y_i - mu_w)² with w_i = 1 / (SE_i² + tau²), equals k - 1; 0 when
    Cochran's Q is already at or below k - 1.

    The generalised Q falls as tau² grows and is below k - 1 at tau² = the
    sample variance of the estimates, so the root is bracketed and Brent's
    method finds it to machine precision. (statsmodels' iteration stops 1e-5
    short of the root by default, and with a tighter tolerance sets tau² to 0
    when rounding makes the equation a hair negative at the root.)
    """
    y = np.asarray(log_effects, dtype=float)
    v = np.asarray(ses, dtype=float) ** 2
    k = len(y)

    def excess(tau2: float) -> float:
        w = 1 / (v + tau2)
        mu = (w @ y) / w.sum()
        return float(w @ (y - mu) ** 2) - (k - 1)

    if excess(0.0) <= 0:
        return 0.0
    upper = float(np.var(y, ddof=1))
    return float(optimize.brentq(excess, 0.0, upper, xtol=1e-15, rtol=1e-14, maxiter=200))


def pool_random_effects(log_effects: Sequence[float], ses: Sequence[float], level: float = 0.95) -> Pooled:
    """Random-effects pooling: Paule-Mandel tau², Hartung-Knapp CI.

    Paule-Mandel rather than DerSimonian-Laird: it is the estimator recommended
    for few studies and agrees with R's metafor (rma(method = "PM")). The CI of
    mu uses the Hartung-Knapp variance with a t(k-1) quantile (ad hoc
    corrected: never narrower than the usual random-effects SE; metafor's
    test = "adhoc"), which keeps its coverage with the two or three studies a
    tumor board will ever pool. The prediction interval, where the effect of a
    new study would be expected to fall, is mu ± t(k-2) · sqrt(tau² + SE(mu)²)
    (Higgins, Thompson & Spiegelhalter 2009), with SE(mu) the usual
    random-effects SE (metafor: predict(..., pi.type = "riley") on a test = "z"
    fit); it needs k >= 3. I² is Higgins & Thompson's (Q - (k-1)) / Q from
    Cochran's Q, whichever tau² estimator is used.
    The numbers are checked against metafor in tests/test_reference_r.py.
    """
    eff = np.asarray(log_effects, dtype=float)
    se = np.asarray(ses, dtype=float)
    k = len(eff)
    if k < 2:
        raise ValueError("pooling needs at least two estimates")
    if len(se) != k or not np.all(np.isfinite(se)) or np.any(se <= 0):
        raise ValueError("every estimate needs a positive, finite SE")
    v = se ** 2
    tau2 = paule_mandel_tau2(eff, se)
    w = 1 / (v + tau2)
    mu = float((w @ eff) / w.sum())
    se_mu = float(math.sqrt(1 / w.sum()))
    se_hk = float(math.sqrt((w @ (eff - mu) ** 2) / ((k - 1) * w.sum())))
    # Hartung-Knapp with the ad hoc correction: never narrower than the usual
    # random-effects interval (plain HK collapses to a point when the studies
    # happen to agree exactly; Roever, Knapp & Friede 2015).
    half_ci = float(stats.t.ppf((1 + level) / 2, k - 1)) * max(se_hk, se_mu)
    hk_low, hk_high = mu - half_ci, mu + half_ci
    w_fixed = 1 / v
    mu_fixed = (w_fixed @ eff) / w_fixed.sum()
    q = float(w_fixed @ (eff - mu_fixed) ** 2)     # Cochran's Q
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    pi_low = pi_high = None
    if k >= 3:
        t = float(stats.t.ppf((1 + level) / 2, k - 2))
        half = t * math.sqrt(tau2 + se_mu ** 2)
        pi_low, pi_high = mu - half, mu + half
    return Pooled(k, mu, float(hk_low), float(hk_high), se_mu, se_hk, tau2, i2, q, level,
                  pi_low, pi_high, "random effects (Paule-Mandel tau², Hartung-Knapp CI)")


# ---------------------------------------------------------------------------
# When pooling is allowed
# ---------------------------------------------------------------------------

_SPLIT = re.compile(r"\s*(?:\+|&|/|\bplus\b|\bwith\b|\band\b|\bcombined with\b)\s*", re.I)
_PAREN = re.compile(r"\([^)]*\)")
_NOT_A_DRUG = {"placebo", "bsc", "best supportive care", ""}


def regimen_key(label: str) -> str:
    """Identity of a regimen for pooling: drug names, order-free, placebo dropped.

    'Sorafenib + placebo' == 'sorafenib'; 'FOLFOX-HAIC' == 'HAIC-FOLFOX';
    'FOLFOX4' != 'FOLFOX' (a different schedule). Doses are not compared: the
    pooling reason says so.
    """
    text = _PAREN.sub(" ", str(label)).lower()
    parts = []
    for chunk in _SPLIT.split(text):
        for piece in re.split(r"(?<=[a-z])-(?=[a-z])", chunk.strip()):
            piece = re.sub(r"\s+", " ", piece).strip(" .,;")
            if piece:
                parts.append(piece)
    drugs = sorted({p for p in parts if p not in _NOT_A_DRUG})
    return "+".join(drugs) if drugs else "+".join(sorted(set(parts))) or text.strip()


@dataclass
class PoolGroup:
    endpoint: str
    population: str
    experimental: str          # label, as the first study names it
    reference: str
    rows: list                 # index labels of the rows pooled (one per study)
    flipped: list              # index labels whose direction was inverted to match
    studies: list
    k: int
    prediction_possible: bool


@dataclass
class PoolingDecision:
    allowed: bool
    reason: str                # one line, shown under the plot
    groups: list = field(default_factory=list)   # PoolGroup, only those that may be pooled


def pooling_decision(rows: pd.DataFrame) -> PoolingDecision:
    """Decide which rows may be pooled, and say in one line why not otherwise.

    rows: one row per estimate with columns study_key (a trial reported twice
    counts once), study, experimental, reference (arm labels), endpoint,
    population, se (None when no SE could be derived); optional design
    (meta-analyses are never pooled again with trials) and adjusted (the
    adjusted estimate is preferred when a study gives both).

    Pooling is allowed only when the same experimental and reference regimens
    repeat in >= 2 distinct studies for the same endpoint and population; a
    study reporting the reverse direction is inverted to match. The prediction
    interval needs >= 3 studies.
    """
    if rows is None or rows.empty:
        return PoolingDecision(False, "No pooled estimate: no rows are shown.")
    df = rows.copy()
    if "design" in df:
        df = df[df["design"] != "meta_analysis"]
    if "adjusted" not in df:
        df["adjusted"] = False
    groups: dict[tuple, list] = {}
    for idx, r in df.iterrows():
        e, c = regimen_key(r["experimental"]), regimen_key(r["reference"])
        if e == c:
            continue
        pair = tuple(sorted((e, c)))
        groups.setdefault((r["endpoint"], r["population"], pair), []).append((idx, (e, c) != pair))

    allowed_groups, near = [], []
    for (endpoint, population, pair), members in groups.items():
        by_study: dict[str, tuple] = {}
        for idx, flipped in members:
            r = df.loc[idx]
            if not _finite(r.get("se")):
                continue
            current = by_study.get(r["study_key"])
            # one estimate per study: the adjusted one when the study gives both
            if current is None or (bool(r["adjusted"]) and not bool(df.loc[current[0]]["adjusted"])):
                by_study[r["study_key"]] = (idx, flipped)
        if len(by_study) >= 2:
            chosen = list(by_study.values())
            # orient the group as its first (as listed) row reads
            first_idx, first_flipped = chosen[0]
            first = df.loc[first_idx]
            rows_ = [i for i, _ in chosen]
            flipped = [i for i, f in chosen if f != first_flipped]
            allowed_groups.append(PoolGroup(
                endpoint, population, first["experimental"], first["reference"], rows_, flipped,
                [df.loc[i]["study"] for i in rows_], len(rows_), len(rows_) >= 3))
        else:
            studies_all = {df.loc[i]["study_key"] for i, _ in members}
            if len(studies_all) >= 2:
                near.append("the repeated comparison lacks a CI or p value in all but one study")

    if allowed_groups:
        parts = []
        for g in allowed_groups:
            pi = "" if g.prediction_possible else "; no prediction interval (needs 3 or more studies)"
            parts.append(f"{g.experimental} vs {g.reference}, {g.endpoint} ({g.k} studies{pi})")
        return PoolingDecision(True, "Pooled: " + "; ".join(parts) +
                               ". Arms matched by regimen name; doses and schedules may differ.",
                               allowed_groups)
    if near:
        return PoolingDecision(False, "No pooled estimate: " + near[0] + ".")
    n_comparisons = len(groups)
    if n_comparisons == 0:
        return PoolingDecision(False, "No pooled estimate: no two-arm comparison is shown.")
    return PoolingDecision(
        False,
        "No pooled estimate: no comparison (same experimental and reference regimens, endpoint and "
        "population) is reported by two or more studies; different comparisons are not pooled.")


def pooled_for_group(rows: pd.DataFrame, group: PoolGroup, log_col: str = "log_effect",
                     se_col: str = "se", level: float = 0.95) -> Pooled:
    """Pool the rows of one allowed group, inverting the flipped ones (log HR -> -log HR)."""
    logs = [(-1 if i in group.flipped else 1) * float(rows.loc[i, log_col]) for i in group.rows]
    ses = [float(rows.loc[i, se_col]) for i in group.rows]
    return pool_random_effects(logs, ses, level=level)
