"""The loader and the snippet check on the tests' own fixture store
(tests/fixtures/evidence), whose numbers are written out here by hand."""
from __future__ import annotations

import shutil

import pytest

from evidence import load_store
from evidence.sources import normalise
from tests.conftest import FIXTURE_EVIDENCE


def test_the_loader_builds_one_table_per_record_type(fixture_store):
    s = fixture_store
    assert s.problems == [] and s.withheld_studies == []
    studies = s.studies.set_index("study_id")
    assert studies.design.to_dict() == {"fixture_alpha": "randomised", "fixture_beta": "prospective_single_arm"}
    assert studies.source_file.to_dict() == {"fixture_alpha": "fixture_alpha.txt", "fixture_beta": "fixture_beta.txt"}
    assert studies.n_arms.to_dict() == {"fixture_alpha": 2, "fixture_beta": 1}
    assert sorted(zip(s.arms.study_id, s.arms.arm_id, s.arms.n)) == [
        ("fixture_alpha", "haic", 60), ("fixture_alpha", "sorafenib", 58), ("fixture_beta", "lenvatinib_haic", 32)]

    os_medians = s.outcomes[s.outcomes.endpoint == "OS_median"].set_index("arm_id")
    assert os_medians.value.to_dict() == {"haic": 14.2, "sorafenib": 8.9, "lenvatinib_haic": 16.0}
    assert (os_medians.loc["haic", "ci_low"], os_medians.loc["haic", "ci_high"]) == (11.0, 17.5)
    rates = s.outcomes[s.outcomes.endpoint == "OS_rate"]
    assert sorted(zip(rates.arm_id, rates.timepoint_months, rates.value)) == [
        ("haic", 12.0, 58.3), ("sorafenib", 12.0, 37.9)]
    orr = s.outcomes[s.outcomes.endpoint == "ORR"].iloc[0]
    assert (orr["count"], orr.denominator, orr.value, orr.criteria) == (13, 32, 40.6, "mRECIST")

    hr = s.hazard_ratios.iloc[0]
    assert len(s.hazard_ratios) == 1
    assert (hr.experimental_arm_id, hr.reference_arm_id, hr.endpoint) == ("haic", "sorafenib", "OS")
    assert (hr.hr, hr.ci_low, hr.ci_high, hr.ci_level) == (0.52, 0.36, 0.75, 0.95)
    assert (hr.p, hr.p_text, bool(hr.adjusted)) == (0.001, "<0.001", False)   # the printed text is kept
    assert hr.record_id == "fixture_alpha:hazard_ratios[0]"

    ae = s.adverse_events
    assert len(ae) == 6
    # the vocabulary maps the paper's term to the harmonised term and its organ system
    hfsr = ae[ae.term_reported == "Hand-foot skin reaction"].set_index("arm_id")
    assert hfsr.loc["sorafenib", ["term", "category", "count", "denominator", "percent"]].tolist() == [
        "Hand-foot skin reaction", "Skin", 25, 58, 43.1]
    severe = ae[(ae.term_reported == "Neutropenia") & (ae.grade == "3-4")].set_index("arm_id")
    assert severe["count"].to_dict() == {"haic": 6, "sorafenib": 0}


def test_every_snippet_is_in_its_source():
    # strict: any problem raises
    store = load_store(FIXTURE_EVIDENCE / "data", sources=FIXTURE_EVIDENCE / "sources", strict=True,
                       ae_terms=FIXTURE_EVIDENCE / "ae_terms.yaml")
    assert store.problems == []


def _copy(tmp_path):
    data, sources = tmp_path / "data", tmp_path / "sources"
    shutil.copytree(FIXTURE_EVIDENCE / "data", data)
    shutil.copytree(FIXTURE_EVIDENCE / "sources", sources)
    return data, sources


def test_a_snippet_missing_from_the_source_is_reported_and_its_study_withheld(tmp_path):
    data, sources = _copy(tmp_path)
    text = sources / "fixture_alpha.txt"
    text.write_text(text.read_text().replace("(HR 0.52, 95% CI 0.36-0.75; P<0.001)", "(HR 0.52)"))
    store = load_store(data, sources=sources, ae_terms=FIXTURE_EVIDENCE / "ae_terms.yaml")
    assert [(p.file, p.record.split(" ")[0], p.field) for p in store.problems] == [
        ("fixture_alpha.yaml", "hazard_ratios[0]", "snippet")]
    assert "not found verbatim in fixture_alpha.txt" in store.problems[0].message
    assert store.withheld_studies == ["fixture_alpha"]
    assert list(store.studies.study_id) == ["fixture_beta"]       # the other study is still served


def test_a_value_that_its_snippet_does_not_hold_is_reported(tmp_path):
    data, sources = _copy(tmp_path)
    f = data / "fixture_alpha.yaml"
    f.write_text(f.read_text().replace("  hr: 0.52\n", "  hr: 0.53\n"))
    store = load_store(data, sources=sources, ae_terms=FIXTURE_EVIDENCE / "ae_terms.yaml")
    assert [(p.field, p.message) for p in store.problems] == [("hr", "0.53 does not occur in the snippet")]


def test_one_value_and_its_provenance(fixture_store):
    """The HAIC arm's median overall survival: 14.2 months, from the Results, with
    the abstract's 14.6 recorded as a conflict rather than dropped."""
    source = normalise((FIXTURE_EVIDENCE / "sources" / "fixture_alpha.txt").read_text())
    o = fixture_store.outcomes
    row = o[(o.arm_id == "haic") & (o.endpoint == "OS_median")].iloc[0]
    assert (row.value, row.unit, row.location) == (14.2, "months", "Results")
    assert row.snippet == "The median overall survival was 14.2 months (95% CI 11.0-17.5) in the HAIC group"
    assert row.snippet in source
    assert list(row.conflict_ids) == ["os_median_abstract_vs_results"]
    c = fixture_store.conflicts.set_index("conflict_id").loc["os_median_abstract_vs_results"]
    assert (c.kind, list(c["values"]), list(c.locations)) == ("abstract_vs_results", [14.6, 14.2], ["Abstract", "Results"])
    assert all(snippet in source for snippet in c.snippets)
    assert "14.2" in c.resolution


@pytest.mark.parametrize("section", ["outcomes", "hazard_ratios", "adverse_events"])
def test_every_fixture_value_carries_a_location_and_a_snippet(fixture_store, section):
    table = getattr(fixture_store, section)
    assert len(table) and table.location.str.len().gt(1).all() and table.snippet.str.len().gt(2).all()
