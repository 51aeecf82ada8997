"""analysis.effects against hand-computed values and independent references
(scipy, statsmodels, the published worked examples of Newcombe 1998)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats as sps
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analysis import effects as stats


# --------------------------------------------------------------------------- log HR and SE

def test_z_for_level_matches_scipy():
    assert stats.z_for_level(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert stats.z_for_level(0.90) == pytest.approx(1.644854, abs=1e-6)
    assert stats.z_for_level(0.99) == pytest.approx(sps.norm.isf(0.005))
    with pytest.raises(ValueError):
        stats.z_for_level(95)


def test_se_from_95_ci_by_hand():
    # Sun 2022: HR 0.465 (95% CI 0.298-0.726). ln 0.726 = -0.320205, ln 0.298 = -1.210661
    # (ln U - ln L) / 3.919928 = 0.890456 / 3.919928 = 0.227161
    assert stats.se_from_ci(0.298, 0.726) == pytest.approx(0.227161, abs=1e-6)
    # the textbook 3.92 divisor agrees to 4 decimals
    assert stats.se_from_ci(0.298, 0.726) == pytest.approx((math.log(0.726) - math.log(0.298)) / 3.92, abs=1e-4)


def test_se_from_90_ci_uses_the_90_percent_quantile():
    # tivantinib (review): HR 0.64, 90% CI 0.43-0.94. ln .94 - ln .43 = 0.782095; 2 x 1.644854 = 3.289707
    se = stats.se_from_ci(0.43, 0.94, level=0.90)
    assert se == pytest.approx(0.782095 / 3.289707, abs=1e-6)
    assert se == pytest.approx(0.237740, abs=1e-6)
    # read as if it were a 95% CI, the SE would be understated by a fifth
    assert stats.se_from_ci(0.43, 0.94) == pytest.approx(0.199518, abs=1e-6)
    # the 95% interval rebuilt from it is wider than the printed 90% one
    eff = stats.log_hr_and_se(0.64, 0.43, 0.94, 0.90)
    lo, hi = eff.interval(0.95)
    assert lo < 0.43 and hi > 0.94
    assert eff.interval(0.90) == pytest.approx((0.64 * math.exp(-1.644854 * se), 0.64 * math.exp(1.644854 * se)))


def test_se_from_p_by_hand():
    # JX-594 (review): HR 0.39, p = 0.02, no CI. z(0.99) = 2.326348; |ln 0.39| = 0.941609 -> 0.404758
    assert stats.se_from_p(0.39, 0.02) == pytest.approx(0.941609 / 2.326348, abs=1e-6)
    eff = stats.log_hr_and_se(0.39, None, None, 0.95, 0.02, "0.02")
    assert eff.source == "p" and eff.se == pytest.approx(0.404758, abs=1e-6)
    # the rebuilt 95% CI has p = 0.02 at its edge: the Wald test reproduces the p value
    z = abs(eff.log_estimate) / eff.se
    assert 2 * sps.norm.sf(z) == pytest.approx(0.02)


def test_log_hr_and_se_prefers_the_ci_and_handles_unusable_input():
    eff = stats.log_hr_and_se(0.465, 0.298, 0.726, 0.95, 0.001, "0.001")
    assert eff.source == "ci" and eff.log_estimate == pytest.approx(math.log(0.465))
    # '<0.001' gives an upper bound on the SE, and says so
    bound = stats.log_hr_and_se(0.29, None, None, 0.95, 0.001, "<0.001")
    assert bound.source == "p" and "upper bound" in bound.note
    # '>0.05' bounds the SE from below only: no interval
    assert stats.log_hr_and_se(1.2, None, None, 0.95, 0.05, ">0.05") is None
    # HR of exactly 1 and a p: no information on the spread
    assert stats.log_hr_and_se(1.0, None, None, 0.95, 0.5, "0.5") is None
    # nothing to go on
    assert stats.log_hr_and_se(0.8) is None
    assert stats.log_hr_and_se(float("nan")) is None
    with pytest.raises(ValueError):
        stats.se_from_ci(0.9, 0.5)
    with pytest.raises(ValueError):
        stats.se_from_p(0.5, 1.5)


# --------------------------------------------------------------------------- proportions

# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison
# of seven methods. Stat Med 1998;17:857-872, Table I, method 3 (Wilson score, no CC).
WILSON_PUBLISHED = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0000, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]


@pytest.mark.parametrize("counts,expected", WILSON_PUBLISHED)
def test_wilson_matches_newcombe_1998_and_statsmodels(counts, expected):
    w = stats.wilson_interval(*counts)
    assert (round(w.low, 4), round(w.high, 4)) == expected
    ref = proportion_confint(counts[0], counts[1], alpha=0.05, method="wilson")
    assert (w.low, w.high) == pytest.approx(ref, abs=1e-12)
    assert w.estimate == counts[0] / counts[1]


def test_wilson_90_percent_matches_statsmodels():
    w = stats.wilson_interval(28, 66, level=0.90)
    assert (w.low, w.high) == pytest.approx(proportion_confint(28, 66, alpha=0.10, method="wilson"))


# Newcombe RG. Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Stat Med 1998;17:873-890, Table II, method 10.
NEWCOMBE_RD_PUBLISHED = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize("counts,expected", NEWCOMBE_RD_PUBLISHED)
def test_risk_difference_matches_newcombe_1998_method_10(counts, expected):
    rd = stats.risk_difference(*counts)
    assert (round(rd.low, 4), round(rd.high, 4)) == expected
    x1, n1, x2, n2 = counts
    assert rd.estimate == pytest.approx(x1 / n1 - x2 / n2)
    ref = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert (rd.low, rd.high) == pytest.approx(ref, abs=1e-9)
    assert "Newcombe" in rd.method


def test_risk_difference_zero_cell_needs_no_correction():
    rd = stats.risk_difference(5, 56, 0, 29)
    assert not rd.continuity_correction
    assert "no continuity correction" in rd.note


def test_risk_ratio_by_hand_and_against_statsmodels():
    # Liu (HepaSphere) ORR: 36/48 vs 18/48. RR = 2; SE = sqrt(1/36 - 1/48 + 1/18 - 1/48) = 0.204124
    rr = stats.risk_ratio(36, 48, 18, 48)
    assert rr.estimate == pytest.approx(2.0)
    assert rr.se == pytest.approx(0.204124, abs=1e-6)
    assert (rr.low, rr.high) == pytest.approx((2 * math.exp(-1.959964 * 0.204124), 2 * math.exp(1.959964 * 0.204124)),
                                              abs=1e-5)
    assert (round(rr.low, 4), round(rr.high, 4)) == (1.3405, 2.9839)
    ref = Table2x2(np.array([[36, 12], [18, 30]]))
    assert rr.estimate == pytest.approx(ref.riskratio)
    assert (rr.low, rr.high) == pytest.approx(ref.riskratio_confint(alpha=0.05))
    assert not rr.continuity_correction and rr.note == ""
    assert "log" in rr.method


def test_risk_ratio_zero_cell_gets_a_stated_half_correction_only_then():
    rr = stats.risk_ratio(0, 10, 3, 12)
    # 0.5 in every cell: (0.5 / 11) / (3.5 / 13) = 0.168831
    assert rr.estimate == pytest.approx((0.5 / 11) / (3.5 / 13))
    assert rr.continuity_correction and "0.5" in rr.note and "continuity" in rr.note
    ref = Table2x2(np.array([[0.5, 10.5], [3.5, 9.5]]))
    assert (rr.low, rr.high) == pytest.approx(ref.riskratio_confint(alpha=0.05))
    # every patient responding is no zero of the ratio: no correction
    full = stats.risk_ratio(10, 10, 5, 10)
    assert full.estimate == pytest.approx(2.0) and not full.continuity_correction
    # no events at all: nothing to estimate
    none = stats.risk_ratio(0, 10, 0, 12)
    assert none.estimate is None and "not estimable" in none.note


def test_risk_ratio_rejects_impossible_counts():
    with pytest.raises(ValueError):
        stats.risk_ratio(28, 27, 5, 10)
    with pytest.raises(ValueError):
        stats.wilson_interval(-1, 10)


# --------------------------------------------------------------------------- pooling

def _paule_mandel_by_hand(y, v):
    """Independent Paule-Mandel: solve sum w_i (y_i - mu_w)^2 = k - 1 for tau² (0 if Q_FE < k-1)."""
    y, v = np.asarray(y), np.asarray(v)
    k = len(y)

    def gen_q(t2):
        w = 1 / (v + t2)
        mu = (w * y).sum() / w.sum()
        return (w * (y - mu) ** 2).sum() - (k - 1)

    return 0.0 if gen_q(0) <= 0 else optimize.brentq(gen_q, 0, 100)


def test_pooling_matches_an_independent_computation():
    y = [math.log(0.465), math.log(0.56), math.log(0.80)]
    se = [0.227, 0.267, 0.15]
    p = stats.pool_random_effects(y, se)
    v = np.square(se)
    tau2 = _paule_mandel_by_hand(y, v)
    w = 1 / (v + tau2)
    mu = (w * y).sum() / w.sum()
    se_mu = math.sqrt(1 / w.sum())
    var_hk = (w * (np.asarray(y) - mu) ** 2).sum() / ((len(y) - 1) * w.sum())
    t1 = sps.t.ppf(0.975, len(y) - 1)
    t2 = sps.t.ppf(0.975, len(y) - 2)
    wf = 1 / v
    q = (wf * (np.asarray(y) - (wf * y).sum() / wf.sum()) ** 2).sum()
    assert p.k == 3
    assert p.tau2 == pytest.approx(tau2, abs=1e-4)
    assert p.mu == pytest.approx(mu, abs=1e-4)
    assert p.se == pytest.approx(se_mu, abs=1e-4)
    se_ci = max(math.sqrt(var_hk), se_mu)   # Hartung-Knapp, ad hoc corrected
    assert (p.ci_low, p.ci_high) == pytest.approx((mu - t1 * se_ci, mu + t1 * se_ci), abs=1e-4)
    assert p.q == pytest.approx(q)
    assert p.i2 == pytest.approx(max(0.0, (q - 2) / q))
    half = t2 * math.sqrt(tau2 + se_mu ** 2)
    assert (p.pi_low, p.pi_high) == pytest.approx((mu - half, mu + half), abs=1e-4)
    r = p.ratio()
    assert r["estimate"] == pytest.approx(math.exp(mu), abs=1e-4)
    assert r["pi_low"] < r["ci_low"] < r["estimate"] < r["ci_high"] < r["pi_high"]


def test_pooling_homogeneous_studies_have_no_heterogeneity_and_k2_has_no_prediction_interval():
    p = stats.pool_random_effects([math.log(0.7), math.log(0.7)], [0.2, 0.3])
    assert p.tau2 == pytest.approx(0.0) and p.i2 == 0.0
    assert p.mu == pytest.approx(math.log(0.7))
    assert p.pi_low is None and p.pi_high is None
    # plain Hartung-Knapp would collapse to a point (residual scale 0): the ad hoc
    # correction keeps the usual random-effects SE, with a t(1) quantile
    assert p.se_hk == pytest.approx(0.0)
    se_mu = math.sqrt(1 / (1 / 0.2 ** 2 + 1 / 0.3 ** 2))
    t1 = sps.t.ppf(0.975, 1)
    assert (p.ci_low, p.ci_high) == pytest.approx((p.mu - t1 * se_mu, p.mu + t1 * se_mu))
    with pytest.raises(ValueError):
        stats.pool_random_effects([0.1], [0.2])
    with pytest.raises(ValueError):
        stats.pool_random_effects([0.1, 0.2], [0.2, 0.0])


# --------------------------------------------------------------------------- when pooling is allowed

def _rows(*specs):
    cols = ["study_key", "study", "experimental", "reference", "endpoint", "population", "se", "design",
            "adjusted"]
    return pd.DataFrame([dict(zip(cols, s)) for s in specs])


def test_regimen_key_ignores_order_placebo_and_case_but_not_schedule():
    assert stats.regimen_key("Sorafenib + placebo") == stats.regimen_key("sorafenib")
    assert stats.regimen_key("FOLFOX-HAIC") == stats.regimen_key("HAIC-FOLFOX")
    assert stats.regimen_key("ATRA + FOLFOX4") == stats.regimen_key("FOLFOX4 plus ATRA")
    assert stats.regimen_key("Brivanib (n = 577)") == stats.regimen_key("brivanib")
    assert stats.regimen_key("FOLFOX4") != stats.regimen_key("FOLFOX")
    assert stats.regimen_key("Sorafenib + erlotinib") != stats.regimen_key("Sorafenib")


def test_different_comparisons_are_never_pooled():
    d = stats.pooling_decision(_rows(
        ("a", "A", "Brivanib", "Sorafenib", "OS", "Overall", 0.1, "randomised", False),
        ("b", "B", "Sunitinib", "Sorafenib", "OS", "Overall", 0.1, "randomised", False),
        ("c", "C", "Linifanib", "Sorafenib", "OS", "Overall", 0.1, "randomised", False)))
    assert not d.allowed and d.groups == []
    assert d.reason.startswith("No pooled estimate") and "\n" not in d.reason


def test_a_repeated_comparison_is_pooled_without_a_prediction_interval_for_two_studies():
    d = stats.pooling_decision(_rows(
        ("a", "A", "Brivanib", "Sorafenib", "OS", "Overall", 0.1, "randomised", False),
        ("b", "B", "Sorafenib + placebo", "brivanib", "OS", "Overall", 0.2, "randomised", False)))
    assert d.allowed and len(d.groups) == 1
    g = d.groups[0]
    assert g.k == 2 and not g.prediction_possible and g.flipped == [1]
    assert "prediction interval" in d.reason
    rows = pd.DataFrame({"log_effect": [math.log(0.8), math.log(1 / 0.8)], "se": [0.1, 0.2]})
    pooled = stats.pooled_for_group(rows, g)
    assert pooled.mu == pytest.approx(math.log(0.8))   # the reversed study was inverted to match


def test_three_studies_allow_a_prediction_interval():
    d = stats.pooling_decision(_rows(*[(k, k, "X", "Y", "PFS", "Overall", 0.1, "randomised", False)
                                       for k in "abc"]))
    assert d.allowed and d.groups[0].k == 3 and d.groups[0].prediction_possible


def test_same_study_twice_same_trial_twice_other_endpoint_or_population_do_not_count():
    base = ("a", "A", "X", "Y", "OS", "Overall", 0.1, "retrospective", False)
    # adjusted and unadjusted estimate of one study: one study
    d = stats.pooling_decision(_rows(base, ("a", "A", "X", "Y", "OS", "Overall", 0.1, "retrospective", True)))
    assert not d.allowed
    # two records of the same trial (primary paper and review): one trial
    assert not stats.pooling_decision(_rows(base, ("a", "A (review)", "X", "Y", "OS", "Overall", 0.2, "randomised",
                                                   False))).allowed
    # TTP is not PFS; the matched cohort is not the overall cohort
    assert not stats.pooling_decision(_rows(("a", "A", "X", "Y", "PFS", "Overall", 0.1, "r", False),
                                            ("b", "B", "X", "Y", "TTP", "Overall", 0.1, "r", False))).allowed
    assert not stats.pooling_decision(_rows(("a", "A", "X", "Y", "OS", "Overall", 0.1, "r", False),
                                            ("b", "B", "X", "Y", "OS", "Matched", 0.1, "r", False))).allowed
    # a meta-analysis is not pooled again with trials
    assert not stats.pooling_decision(_rows(base, ("m", "M", "X", "Y", "OS", "Overall", 0.1, "meta_analysis",
                                                   False))).allowed
    # without an SE the second study cannot be weighted
    d = stats.pooling_decision(_rows(base, ("b", "B", "X", "Y", "OS", "Overall", None, "r", False)))
    assert not d.allowed and "CI or p" in d.reason


def test_adjusted_estimate_is_preferred_when_a_study_gives_both():
    d = stats.pooling_decision(_rows(
        ("a", "A", "X", "Y", "OS", "Overall", 0.1, "r", False),
        ("a", "A", "X", "Y", "OS", "Overall", 0.12, "r", True),
        ("b", "B", "X", "Y", "OS", "Overall", 0.2, "r", False)))
    assert d.allowed and sorted(d.groups[0].rows) == [1, 2]


def test_no_rows_no_pooling():
    assert not stats.pooling_decision(pd.DataFrame()).allowed
