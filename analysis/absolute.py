"""Absolute effects of a hazard ratio: what it means for 100 patients.

Under proportional hazards the experimental arm's survival at time t follows
from the reference arm's:

    S_exp(t) = S_ref(t) ** HR

so the hazard ratio's confidence interval gives an interval for S_exp(t) (the
lower HR bound gives the higher survival). The reference survival is taken as
known: it is the paper's reported landmark rate, or a value read off the
rebuilt curve that the caller supplies and marks as such. Nothing here holds if
the hazards are not proportional, which is why every projection is checked
against the experimental arm's reported rate where the paper gives one.

All survival values are percentages (0-100). Pure functions, no store.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Optional

Z95 = NormalDist().inv_cdf(0.975)

# Shown beside every absolute effect.
PROPORTIONAL_HAZARDS_NOTE = (
    "Absolute effects assume proportional hazards: the experimental arm's survival is the reference "
    "arm's raised to the power of the hazard ratio, S_exp(t) = S_ref(t)^HR, and its interval comes from "
    "the hazard ratio's 95% CI. Where the paper reports the experimental arm's own rate, the projection "
    "is checked against it.")

# Words for "this many more per 100 are ..." by endpoint.
STATE = {
    "OS": "alive",
    "PFS": "alive without progression",
    "TTP": "free of progression",
    "DFS": "alive without disease",
}


def z_for(level: float) -> float:
    """Two-sided normal quantile of a confidence level: 0.95 -> 1.96, 0.90 -> 1.645."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def se_log_hr(ci_low: float, ci_high: float, ci_level: float = 0.95) -> float:
    """Standard error of log(HR) from a printed CI of any level."""
    return (math.log(ci_high) - math.log(ci_low)) / (2 * z_for(ci_level))


def ci95(hr: float, ci_low: float, ci_high: float, ci_level: float = 0.95) -> tuple[float, float]:
    """The 95% CI of a hazard ratio printed with another level (e.g. 90%).

    The standard error comes from the printed interval's width on the log scale
    and is centred on the printed HR; a 95% CI is returned as printed.
    """
    if abs(ci_level - 0.95) < 1e-9:
        return ci_low, ci_high
    se = se_log_hr(ci_low, ci_high, ci_level)
    centre = math.log(hr)
    return math.exp(centre - Z95 * se), math.exp(centre + Z95 * se)


def survival_under_hr(reference_percent: float, hr: float) -> float:
    """Experimental survival (percent) from the reference survival under proportional hazards."""
    if not 0 <= reference_percent <= 100:
        raise ValueError(f"survival must be a percentage, got {reference_percent}")
    return 100.0 * (reference_percent / 100.0) ** hr


@dataclass(frozen=True)
class LandmarkEffect:
    months: float
    endpoint: str
    reference_percent: float
    reference_source: str            # "reported" or "from the rebuilt curve"
    experimental_percent: float      # projected, S_ref ** HR
    experimental_low: Optional[float]
    experimental_high: Optional[float]
    difference_per_100: float        # experimental minus reference, patients per 100
    difference_low: Optional[float]
    difference_high: Optional[float]
    informative: bool                # False when the reference is 0% or 100%
    reported_experimental: Optional[float] = None
    check: Optional[str] = None

    @property
    def text(self) -> str:
        return describe_difference(self.difference_per_100, self.difference_low, self.difference_high,
                                   self.months, self.endpoint, self.informative)


def landmark_effect(reference_percent: float, hr: float, ci_low: Optional[float], ci_high: Optional[float],
                    months: float, endpoint: str = "OS", ci_level: float = 0.95,
                    reference_source: str = "reported",
                    reported_experimental: Optional[float] = None) -> LandmarkEffect:
    """Projected experimental survival and the difference per 100 patients at one landmark."""
    exp = survival_under_hr(reference_percent, hr)
    lo = hi = None
    if ci_low is not None and ci_high is not None:
        l95, h95 = ci95(hr, ci_low, ci_high, ci_level)
        lo, hi = survival_under_hr(reference_percent, h95), survival_under_hr(reference_percent, l95)
    informative = 0 < reference_percent < 100
    check = None
    if reported_experimental is not None:
        check = compare_with_reported(exp, lo, hi, reported_experimental)
    return LandmarkEffect(
        months=months, endpoint=endpoint, reference_percent=reference_percent,
        reference_source=reference_source, experimental_percent=exp,
        experimental_low=lo, experimental_high=hi,
        difference_per_100=exp - reference_percent,
        difference_low=None if lo is None else lo - reference_percent,
        difference_high=None if hi is None else hi - reference_percent,
        informative=informative, reported_experimental=reported_experimental, check=check)


def compare_with_reported(projected: float, low: Optional[float], high: Optional[float],
                          reported: float) -> str:
    """Say whether the arm's reported rate lies in the projected interval (a plausibility check, not a test)."""
    if low is None or high is None:
        return f"reported {reported:.1f}%, projected {projected:.1f}% (no interval: the HR has no CI)"
    inside = low <= reported <= high
    verdict = "within" if inside else "outside"
    return (f"reported {reported:.1f}% is {verdict} the projected {projected:.1f}% "
            f"({low:.1f}% to {high:.1f}%)")


def _count(x: float) -> str:
    n = round(abs(x))
    if n == 0:
        return "0"
    return f"{n} {'more' if x > 0 else 'fewer'}"


def describe_difference(diff: float, low: Optional[float], high: Optional[float], months: float,
                        endpoint: str = "OS", informative: bool = True) -> str:
    """'27 more alive per 100 at 12 months (95% CI 12 more to 39 more)'."""
    state = STATE.get(endpoint, "event-free")
    if not informative:
        return (f"not informative at {months:g} months: the reference survival is 0% or 100%, "
                f"so a hazard ratio cannot change it")
    head = _count(diff)
    if head == "0":
        head = f"0 more or fewer {state}"
    else:
        head = f"{head} {state}"
    text = f"{head} per 100 at {months:g} months"
    if low is not None and high is not None:
        text += f" (95% CI {_count(low)} to {_count(high)})"
    return text


def median_difference(experimental_months: Optional[float], reference_months: Optional[float]) -> Optional[float]:
    """Reported median of the experimental arm minus the reference arm's, in months."""
    if experimental_months is None or reference_months is None:
        return None
    return experimental_months - reference_months
