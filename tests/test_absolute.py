"""Absolute effects of a hazard ratio, against arithmetic done by hand (written out below)."""
from __future__ import annotations

import pytest

from analysis.absolute import (ci95, describe_difference, landmark_effect, median_difference,
                               survival_under_hr)


def test_sun2022_overall_survival_at_one_year_by_hand():
    # FOLFOX4 1-year survival 31.5% (reported); ATRA + FOLFOX4 HR 0.465 (0.298-0.726).
    # ln(0.315) = -1.155183
    # 0.465 * -1.155183 = -0.537160 -> exp = 0.584406 -> 58.44%
    # 0.298 * -1.155183 = -0.344244 -> exp = 0.708756 -> 70.88%  (lower HR, higher survival)
    # 0.726 * -1.155183 = -0.838663 -> exp = 0.432288 -> 43.23%
    eff = landmark_effect(31.5, 0.465, 0.298, 0.726, months=12, reported_experimental=56.1)
    assert eff.experimental_percent == pytest.approx(58.44, abs=0.01)
    assert eff.experimental_high == pytest.approx(70.88, abs=0.01)
    assert eff.experimental_low == pytest.approx(43.23, abs=0.01)
    assert eff.difference_per_100 == pytest.approx(58.44 - 31.5, abs=0.01)      # 26.94
    assert eff.difference_low == pytest.approx(43.23 - 31.5, abs=0.01)          # 11.73
    assert eff.difference_high == pytest.approx(70.88 - 31.5, abs=0.01)         # 39.38
    assert eff.text == "27 more alive per 100 at 12 months (95% CI 12 more to 39 more)"
    # The paper's own ATRA + FOLFOX4 1-year rate, 56.1%, lies in 43.2-70.9%.
    assert eff.check.startswith("reported 56.1% is within")


def test_sun2022_two_years_by_hand():
    # FOLFOX4 2-year survival 7.4%: ln(0.074) = -2.603690
    # 0.465 -> exp(-1.210716) = 29.80%; 0.298 -> exp(-0.775900) = 46.03%; 0.726 -> exp(-1.890279) = 15.10%
    eff = landmark_effect(7.4, 0.465, 0.298, 0.726, months=24, reported_experimental=14.0)
    assert eff.experimental_percent == pytest.approx(29.80, abs=0.01)
    assert eff.experimental_low == pytest.approx(15.10, abs=0.01)
    assert eff.experimental_high == pytest.approx(46.03, abs=0.01)
    # The reported 14.0% falls below the projected interval: the check must say so.
    assert "outside" in eff.check


def test_huang2022_adjusted_hazard_ratio_by_hand():
    # Sorafenib 12-month OS 25.4%: ln(0.254) = -1.370421
    # 0.29 -> exp(-0.397422) = 67.21%; 0.19 -> exp(-0.260380) = 77.08%; 0.44 -> exp(-0.602985) = 54.72%
    eff = landmark_effect(25.4, 0.29, 0.19, 0.44, months=12)
    assert eff.experimental_percent == pytest.approx(67.21, abs=0.01)
    assert (eff.experimental_low, eff.experimental_high) == (pytest.approx(54.72, abs=0.01),
                                                              pytest.approx(77.08, abs=0.01))
    assert eff.text == "42 more alive per 100 at 12 months (95% CI 29 more to 52 more)"


def test_harm_reads_fewer_and_progression_words():
    # 50% reference, HR 2: 0.5 ** 2 = 25% -> 25 fewer; no CI given.
    eff = landmark_effect(50, 2.0, None, None, months=12, endpoint="PFS")
    assert eff.experimental_percent == pytest.approx(25.0)
    assert eff.text == "25 fewer alive without progression per 100 at 12 months"


def test_reference_at_zero_is_not_informative():
    # Sun's FOLFOX4 2-year 'disease-free survival' is 0.0%: 0 ** HR = 0 whatever the HR.
    eff = landmark_effect(0.0, 0.474, 0.314, 0.717, months=24, endpoint="TTP")
    assert not eff.informative
    assert eff.text.startswith("not informative")


def test_survival_must_be_a_percentage():
    with pytest.raises(ValueError):
        survival_under_hr(1.2e2 + 1, 0.5)


def test_ninety_percent_ci_converted_to_95():
    # Tivantinib TTP HR 0.64, 90% CI 0.43-0.94.
    # SE = (ln 0.94 - ln 0.43) / (2 * 1.644854) = (-0.061875 + 0.843970) / 3.289707 = 0.237740
    # 95% CI = exp(ln 0.64 -/+ 1.959964 * 0.237740) = exp(-0.446287 -/+ 0.465962) = 0.4016 to 1.0199
    lo, hi = ci95(0.64, 0.43, 0.94, 0.90)
    assert lo == pytest.approx(0.4016, abs=1e-4)
    assert hi == pytest.approx(1.0199, abs=1e-4)
    assert ci95(0.5, 0.3, 0.8, 0.95) == (0.3, 0.8)      # a 95% CI is kept as printed


def test_median_difference_and_text():
    assert median_difference(14.9, 8.2) == pytest.approx(6.7)
    assert median_difference(None, 8.2) is None
    assert describe_difference(0.2, -3.0, 4.0, 12) == "0 more or fewer alive per 100 at 12 months (95% CI 3 fewer to 4 more)"
