"""Numbers that cannot be shown wrong: every estimate and bound finite and
plausible, each failure with its own message, and an inconsistency excused
only by a conflict that holds the disputed number."""
from __future__ import annotations

import pytest

from evidence import load_store
from tests.test_store import mini, write

UNRELATED = {"conflict_id": "elsewhere", "study_id": "mini", "kind": "other", "severity": "minor",
             "description": "about the DOI",
             "values": [{"value": "10.1/a", "location": "a", "snippet": "xxx"},
                        {"value": "10.1/b", "location": "b", "snippet": "yyy"}],
             "resolution": "the views use the header"}


def problems_for(tmp_path, **change):
    store = load_store(write(tmp_path, mini(**change)))
    return store, [p for p in store.problems if p.study_id == "mini" or p.record.startswith("(")]


@pytest.mark.parametrize("change, field, words", [
    ({"hazard_ratios.0.hr": float("nan")}, "hr", "not a number"),
    ({"hazard_ratios.0.hr": float("inf")}, "hr", "infinite"),
    ({"hazard_ratios.0.hr": 1e308}, "hr", "not a plausible hazard ratio"),
    ({"hazard_ratios.0.hr": 0.0001}, "hr", "not a plausible hazard ratio"),
    ({"hazard_ratios.0.hr": 1000}, "hr", "not a plausible hazard ratio"),
    ({"hazard_ratios.0.ci_high": float("inf")}, "ci_high", "infinite"),
    ({"hazard_ratios.0.ci_low": float("nan")}, "ci_low", "not a number"),
    ({"hazard_ratios.0.p": float("nan")}, "p", "not a number"),
    ({"hazard_ratios.0.p": 3}, "p", "impossible"),
    ({"outcomes.0.value": float("nan")}, "value", "not a number"),
    ({"outcomes.0.value": float("inf")}, "value", "infinite"),
    ({"outcomes.0.value": -8.2}, "value", "greater than or equal to 0"),
    ({"outcomes.0.ci_low": float("-inf")}, "ci_low", "infinite"),
    ({"outcomes.1.timepoint_months": float("nan")}, "timepoint_months", "not a number"),
])
def test_impossible_numbers_each_have_their_own_message(tmp_path, change, field, words):
    store, mine = problems_for(tmp_path, **change)
    assert mine, "expected a problem"
    p = mine[0]
    assert p.field == field and words in p.message, str(p)
    assert "greater than 0" not in p.message or "must be greater than 0" in p.message or words.startswith("greater")
    assert store.withheld_studies == ["mini"]


@pytest.mark.parametrize("change, field, words", [
    # 8.2 months median with a CI that lies entirely above it
    ({"outcomes.0.ci_low": 9.0, "outcomes.0.ci_high": 12.0}, "ci_low", "does not contain"),
    ({"outcomes.0.ci_low": 5.0, "outcomes.0.ci_high": 7.0}, "ci_high", "does not contain"),
    ({"outcomes.0.ci_low": 12.0, "outcomes.0.ci_high": 5.0}, "ci_low", "above the upper bound"),
    ({"hazard_ratios.0.ci_low": 0.726, "hazard_ratios.0.ci_high": 0.298}, "ci_low", "above the upper bound"),
    ({"outcomes.0.value": 820.0}, "value", "implausible"),
    ({"outcomes.1.value": 131.5}, "value", "impossible"),
])
def test_inconsistent_estimates_are_named(tmp_path, change, field, words):
    store, mine = problems_for(tmp_path, **change)
    assert any(p.field == field and words in p.message for p in mine), [str(p) for p in mine]


def test_an_unrelated_conflict_excuses_nothing(tmp_path):
    # HR 0.465 with a CI of 0.5-0.726 (lower bound above the estimate); the record
    # lists a conflict, but that conflict is about a DOI, not this CI
    store = load_store(write(tmp_path, mini(**{"hazard_ratios.0.ci_low": 0.5,
                                               "hazard_ratios.0.conflict_ids": ["elsewhere"],
                                               "conflicts": [UNRELATED]})))
    p = next(p for p in store.problems if p.field == "ci_low")
    assert "does not contain" in p.message and "do not hold this number" in p.message
    assert store.withheld_studies == ["mini"]


def test_a_conflict_holding_the_disputed_bound_excuses_it(tmp_path):
    conflict = dict(UNRELATED, conflict_id="ci_printed_wrong", description="the CI printed does not contain the HR",
                    values=[{"value": 0.5, "location": "Results", "snippet": "xxx"},
                            {"value": 0.298, "location": "Abstract", "snippet": "yyy"}])
    store = load_store(write(tmp_path, mini(**{"hazard_ratios.0.ci_low": 0.5,
                                               "hazard_ratios.0.conflict_ids": ["ci_printed_wrong"],
                                               "conflicts": [conflict]})))
    assert [p for p in store.problems if p.field == "ci_low"] == []


def test_a_conflict_of_another_study_excuses_nothing(tmp_path):
    conflict = dict(UNRELATED, conflict_id="other_ci", study_id="other",
                    values=[{"value": 0.5, "location": "Results", "snippet": "xxx"},
                            {"value": 0.298, "location": "Abstract", "snippet": "yyy"}])
    store = load_store(write(tmp_path, mini(**{"hazard_ratios.0.ci_low": 0.5,
                                               "hazard_ratios.0.conflict_ids": ["other_ci"],
                                               "conflicts": [conflict]})))
    assert any(p.field == "ci_low" for p in store.problems)


def test_the_bundled_numbers_are_all_finite_and_plausible(store):
    import math
    for h in store.hazard_ratios.itertuples():
        for v in (h.hr, h.ci_low, h.ci_high):
            assert v is None or math.isnan(v) or 0.001 < v < 1000   # NaN here = not given
        if not math.isnan(h.ci_low):
            assert h.ci_low <= h.ci_high
    for o in store.outcomes.itertuples():
        assert o.value is None or not math.isinf(o.value)
