"""The statistics against numbers computed with R (metafor 3.8-1, survival 3.5-3).

tests/reference/reference.R wrote tests/reference/reference_numbers.json, data
and results together; these tests need no R. Regenerate with
`Rscript tests/reference/reference.R` (see tests/reference/README.md).

Tolerances, and why they are what they are:
- Pooling, 1e-8 on the log scale: both sides solve the Paule-Mandel equation
  to about 1e-12 (the R script tightens metafor's uniroot tolerance, which is
  1e-4 by default). A solver stopping early, as statsmodels' did (tau² 1.6e-5
  off), fails.
- Kaplan-Meier, bands, medians, RMST and its SE, Wilson, Newcombe, risk
  ratio: closed-form arithmetic, so 1e-10 relative (rounding only).
- Cox: both sides maximise the Efron partial likelihood iteratively; R stops at
  a relative log-likelihood change of 1e-9, which leaves its log HR within
  about 1e-8 of the maximum: 1e-7 absolute on the log HR, 1e-6 relative on the
  rest. lifelines' default stopping rule (2e-5 off) fails.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from analysis import effects as stats, survival as survival_stats

REFERENCE = json.loads((Path(__file__).parent / "reference" / "reference_numbers.json").read_text())

EXACT = dict(rel=1e-10, abs=1e-12)
POOL = dict(abs=1e-8)
COX = dict(rel=1e-6)


def _inf(x):
    """R's NA for a limit that is never reached; the project says inf."""
    return math.inf if x is None else x


def _arm(ref: dict) -> pd.DataFrame:
    return pd.DataFrame({"time": ref["time"], "event": ref["event"]})


# --------------------------------------------------------------------------- pooling (metafor)

@pytest.mark.parametrize("ref", REFERENCE["pooling"], ids=lambda r: r["name"])
def test_pooling_matches_metafor_paule_mandel_hartung_knapp(ref):
    p = stats.pool_random_effects(ref["log_hr"], ref["se"])
    assert p.k == ref["k"]
    assert p.tau2 == pytest.approx(ref["tau2"], **POOL)
    assert p.mu == pytest.approx(ref["mu"], **POOL)
    assert p.se == pytest.approx(ref["se_mu"], **POOL)
    assert p.se_hk == pytest.approx(ref["se_knha"], **POOL)
    assert p.q == pytest.approx(ref["Q"], **POOL)
    # the project's CI is metafor's test = "adhoc": Hartung-Knapp, never narrower
    # than the usual random-effects SE
    assert (p.ci_low, p.ci_high) == pytest.approx(tuple(ref["ci_adhoc"]), **POOL)
    # I² from Cochran's Q (what metafor prints for a DerSimonian-Laird fit); for a
    # PM fit metafor derives I² from the PM tau² instead, a different number
    assert p.i2 == pytest.approx(ref["I2_from_Q"], **POOL)


@pytest.mark.parametrize("ref", [r for r in REFERENCE["pooling"] if r["k"] >= 3], ids=lambda r: r["name"])
def test_prediction_interval_is_metafors_riley_form(ref):
    """mu ± t(k-2) sqrt(tau² + SE²), SE the usual random-effects SE: metafor's
    predict(pi.type = "riley") on the test = "z" fit. metafor's default on a
    Hartung-Knapp fit (t(k-1) and the HK SE) is narrower and is not what the
    project shows."""
    p = stats.pool_random_effects(ref["log_hr"], ref["se"])
    assert (p.pi_low, p.pi_high) == pytest.approx(tuple(ref["pi_riley"]), **POOL)
    assert p.pi_high - p.pi_low >= ref["pi_metafor_knha_default"][1] - ref["pi_metafor_knha_default"][0]


def test_plain_hartung_knapp_would_collapse_where_the_studies_agree_exactly():
    ref = next(r for r in REFERENCE["pooling"] if r["name"] == "three_trials_identical")
    assert ref["ci_knha"][0] == ref["ci_knha"][1]       # R's plain HK: a point
    p = stats.pool_random_effects(ref["log_hr"], ref["se"])
    assert p.ci_high - p.ci_low == pytest.approx(ref["ci_adhoc"][1] - ref["ci_adhoc"][0], **POOL) and p.ci_low < p.mu


def test_two_studies_have_no_prediction_interval():
    ref = next(r for r in REFERENCE["pooling"] if r["k"] == 2)
    p = stats.pool_random_effects(ref["log_hr"], ref["se"])
    assert p.pi_low is None and p.pi_high is None and "pi_riley" not in ref


# --------------------------------------------------------------------------- Kaplan-Meier (survival)

_ARMS = [(s["name"], which, s[which]) for s in REFERENCE["survival"] for which in ("experimental", "reference")]
_IDS = [f"{name}-{which}" for name, which, _ in _ARMS]


@pytest.mark.parametrize("name,which,ref", _ARMS, ids=_IDS)
def test_km_survival_and_log_log_band_match_survfit(name, which, ref):
    ipd = _arm(ref)
    curve = survival_stats.summarise(ipd)
    assert (curve.n, curve.events) == (ref["n"], ref["events"])
    at = ref["at"]
    for t, s, low, high in zip(at["times"], at["survival"], at["lower"], at["upper"]):
        # right-continuous: a time with deaths reads the curve after the drop
        assert survival_stats.survival_at(ipd, t) == pytest.approx(s, **EXACT), t
        assert curve.survival_at(t) == pytest.approx(s, **EXACT), t
        row = curve.km[curve.km.time <= t].iloc[-1]
        if low is not None:        # R gives no band once the curve is at 0
            assert (row.lower, row.upper) == pytest.approx((low, high), **EXACT), t


@pytest.mark.parametrize("name,which,ref", _ARMS, ids=_IDS)
def test_median_and_its_ci_match_print_survfit(name, which, ref):
    curve = survival_stats.summarise(_arm(ref))
    assert curve.median == pytest.approx(_inf(ref["median"]), **EXACT)
    assert curve.median_low == pytest.approx(_inf(ref["median_lower"]), **EXACT)
    assert curve.median_high == pytest.approx(_inf(ref["median_upper"]), **EXACT)


def test_a_curve_at_exactly_half_takes_the_midpoint_to_the_next_drop():
    """Arm B of the hand-made data: 5 of 10 dead by month 6, next death at month 8.
    R prints 7; lifelines' own median says 6."""
    ref = next(s for s in REFERENCE["survival"] if s["name"] == "hand_made")["reference"]
    assert ref["median"] == 7
    assert survival_stats.summarise(_arm(ref)).median == 7.0


def test_a_curve_ending_at_exactly_half_has_reached_its_median():
    """4 of 8 dead, the rest censored: 1 - 1/8 - ... lands on 0.5000000000000001 in
    floating point, which lifelines reads as 'not reached'. R prints 4."""
    ref = next(s for s in REFERENCE["survival"] if s["name"] == "hand_made_flat_tail")["experimental"]
    assert ref["median"] == 4
    assert survival_stats.summarise(_arm(ref)).median == 4.0


_RMST = [(f"{name}-{which}-tau{r['tau']:g}", ref, r) for name, which, ref in _ARMS for r in ref["rmst"]]


@pytest.mark.parametrize("ref,expected", [(a, r) for _, a, r in _RMST], ids=[i for i, _, _ in _RMST])
def test_rmst_and_its_standard_error_match_survival(ref, expected):
    """print(survfit, rmean = tau): the restricted mean and se(rmean)."""
    area, se = survival_stats.rmst(_arm(ref), expected["tau"])
    assert area == pytest.approx(expected["rmean"], **EXACT)
    assert se == pytest.approx(expected["se"], **EXACT)


def test_rmst_standard_error_by_hand():
    """Four patients: deaths at 1, 2 and 4, one censored at 3; tau = 3.
    S = 1 on [0,1), 3/4 on [1,2), 1/2 on [2,3]: RMST = 1 + 0.75 + 0.5 = 2.25.
    Var = sum over deaths before tau of A_j² d_j / (n_j (n_j - d_j)), A_j the
    area under S from t_j to tau:
      t = 1: n 4, d 1, A = 0.75 + 0.5 = 1.25 -> 1.5625 / 12 = 0.130208...
      t = 2: n 3, d 1, A = 0.5              -> 0.25 / 6    = 0.041666...
    SE = sqrt(0.171875) = 0.4145781 (R: 0.4145780988)."""
    ipd = pd.DataFrame({"time": [1.0, 2.0, 3.0, 4.0], "event": [1, 1, 0, 1]})
    area, se = survival_stats.rmst(ipd, 3.0)
    assert area == pytest.approx(2.25, **EXACT)
    assert se == pytest.approx(math.sqrt(1.25 ** 2 / 12 + 0.5 ** 2 / 6), **EXACT)
    assert se == pytest.approx(0.4145780988, abs=1e-10)


@pytest.mark.parametrize("ref", REFERENCE["survival"], ids=lambda s: s["name"])
def test_cox_hazard_ratio_matches_coxph_efron(ref):
    got = survival_stats.cox_hr(_arm(ref["experimental"]), _arm(ref["reference"]))
    cox = ref["cox"]
    assert math.log(got["hr"]) == pytest.approx(cox["log_hr"], abs=1e-7)
    assert (got["hr"], got["ci_low"], got["ci_high"]) == pytest.approx(
        (cox["hr"], cox["ci_low"], cox["ci_high"]), **COX)
    assert got["p"] == pytest.approx(cox["p_wald"], **COX)


# --------------------------------------------------------------------------- proportions

@pytest.mark.parametrize("ref", REFERENCE["proportions"]["wilson"], ids=lambda r: f"{r['x']}of{r['n']}")
def test_wilson_matches_prop_test_without_correction(ref):
    w = stats.wilson_interval(ref["x"], ref["n"])
    assert (w.estimate, w.low, w.high) == pytest.approx((ref["p"], ref["lower"], ref["upper"]), **EXACT)


@pytest.mark.parametrize("ref", REFERENCE["proportions"]["newcombe"],
                         ids=lambda r: f"{r['x1']}of{r['n1']}-{r['x2']}of{r['n2']}")
def test_newcombe_risk_difference_matches_r(ref):
    d = stats.risk_difference(ref["x1"], ref["n1"], ref["x2"], ref["n2"])
    assert (d.estimate, d.low, d.high) == pytest.approx((ref["difference"], ref["lower"], ref["upper"]), **EXACT)


@pytest.mark.parametrize("ref", REFERENCE["proportions"]["risk_ratio"],
                         ids=lambda r: f"{r['x1']}of{r['n1']}-{r['x2']}of{r['n2']}")
def test_risk_ratio_matches_metafor_escalc(ref):
    """escalc(measure = "RR") adds 1/2 to every cell of a table with a zero cell."""
    rr = stats.risk_ratio(ref["x1"], ref["n1"], ref["x2"], ref["n2"])
    assert rr.continuity_correction == ref["corrected"]
    assert (rr.log_estimate, rr.se) == pytest.approx((ref["log_rr"], ref["se"]), **EXACT)
    assert (rr.estimate, rr.low, rr.high) == pytest.approx((ref["rr"], ref["lower"], ref["upper"]), **EXACT)
