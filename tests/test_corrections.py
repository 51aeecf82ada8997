"""Evidence corrections (issue 16): each corrected item is checked against the real store, so it
cannot come back. Expected numbers are read from the paper's printed text (quoted in each test),
never computed by the code under test.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from views.evidence import outcome_rows
from views.overview import arms_with_n, studies_at_a_glance
from components.tables import format_value
from evidence import load_store
from views.ae_matrix import BANDS, arm_key, build_matrix, select_band
from evidence.schema import Conflict, Grade, Severity
from evidence.sources import normalise, source_text
from views.survival_inputs import curve_sources
from typing import get_args

REVIEW = "002_52ef52dfa59001e2.txt"
LIU2020 = "003_b7f554963d42984d.txt"
SUN2022 = "000_3209404299ee78f6.txt"


def _outcome(store, **where) -> pd.DataFrame:
    o = store.outcomes
    for k, v in where.items():
        o = o[o[k] == v]
    return o


# ---------------------------------------------------------------------------
# Item 1: "Moderate and severe" (002, Liu meta-analysis) is not grade 3-4
# ---------------------------------------------------------------------------

MODERATE_SEVERE = "Moderate and severe adverse reactions were neutropenia (16.6%)"


def test_liu_meta_moderate_and_severe_rows_are_not_grade_3_4(store):
    ae = store.adverse_events
    rows = ae[ae.snippet.str.contains(MODERATE_SEVERE, regex=False)]
    # the sentence lists six terms: neutropenia, thrombocytopenia, anemia, neurotoxicity, nausea/vomiting, diarrhea
    assert len(rows) == 6
    assert set(rows.grade) == {"moderate-severe"}
    picked = select_band(ae, "3-4")
    assert not picked.snippet.str.contains(MODERATE_SEVERE, regex=False).any()
    m = build_matrix(store, [arm_key("liu_meta", "oxa_based")], "3-4")
    assert (m.cells.status == "NR").all() or not m.cells.snippet.str.contains(MODERATE_SEVERE, regex=False).any()


def test_moderate_severe_band_shows_the_rows_as_printed(store):
    assert "moderate-severe" in get_args(Grade) and "moderate-severe" in BANDS
    m = build_matrix(store, [arm_key("liu_meta", "oxa_based")], "moderate-severe")
    shown = m.cells[m.cells.status == "reported"]
    # printed: neutropenia 16.6%, thrombocytopenia 8.7%, anemia 5.4%
    by_term = dict(zip(shown.term_reported, shown.percent))
    assert by_term["neutropenia"] == 16.6 and by_term["thrombocytopenia"] == 8.7 and by_term["anemia"] == 5.4


# ---------------------------------------------------------------------------
# Item 2: 003 liver function damage shows the printed 69.7%, not 42/66 = 63.6%
# ---------------------------------------------------------------------------

def test_liver_function_damage_shows_printed_percent(store, sources_dir):
    printed = "The most common adverse reaction in this study was liver function damage (69.7%, 42/66)"
    assert printed in source_text(sources_dir, LIU2020)
    key = arm_key("liu2020", "sorafenib_tace_haic")
    m = build_matrix(store, [key], "any")
    cells = m.cells[(m.cells.term_reported == "liver function damage") & (m.cells.status == "reported")]
    assert len(cells) == 1
    c = cells.iloc[0]
    assert c.percent == 69.7 and c.percent_source == "printed percent"
    assert c["count"] == 42 and c.denominator == 66
    # 42/66 = 63.64% by hand: the contradiction stays visible as a mismatch with its conflict
    assert c.mismatch and abs(c.computed_percent - 63.64) < 0.01
    assert "liver_damage_any_count" in c.conflict_ids


def test_every_printed_percent_is_what_its_cell_shows(store):
    keys = [arm_key(a.study_id, a.arm_id) for a in store.arms.itertuples()]
    for band in ("3-4", "any", "1-2", "moderate-severe"):
        m = build_matrix(store, keys, band)
        rep = m.cells[(m.cells.status == "reported") & ~m.cells.derived.astype(bool)]
        printed = rep[rep.printed_percent.notna()]
        assert (printed.percent == printed.printed_percent).all()


# ---------------------------------------------------------------------------
# Item 3: "Of 10 patients treated with TACE/RFA, 4 (40%) achieved PR" of 20 enrolled is a subgroup
# ---------------------------------------------------------------------------

def test_tremelimumab_pr_4_of_10_is_a_subgroup(store, sources_dir):
    text = source_text(sources_dir, REVIEW)
    assert "A total of 20 patients were enrolled in this study" in text
    pr = _outcome(store, study_id="tremelimumab_tace_rfa", endpoint="PR")
    assert len(pr) == 1
    r = pr.iloc[0]
    assert r["count"] == 4 and r.denominator == 10
    assert r.population == "subgroup" and "TACE/RFA" in r.subgroup


# ---------------------------------------------------------------------------
# Item 4: overview "Arms (n)" of a matched study gives the matched n (48 vs 48), not 74/93
# ---------------------------------------------------------------------------

def test_overview_arms_n_is_the_matched_cohort_beside_matched_medians(store, sources_dir):
    # Table 2 (after PSM): "Hepa-HAIC (n=48) HAIC (n=48)"; Table 1 (before): n=74 and n=93
    assert "Characteristic Hepa-HAIC (n=48) HAIC (n=48) p" in source_text(sources_dir, "004_20583bf4b0d69089.txt")
    glance = studies_at_a_glance(store).set_index("study_id")
    arms = glance.loc["liu_hepasphere", "Arms (n)"]
    assert arms.count("n=48 matched") == 2
    assert "(n=74)" not in arms and "(n=93)" not in arms
    assert "74 before matching" in arms and "93 before matching" in arms
    # a study without a matched cohort keeps its arm sizes (Huang 2022: 55 and 59)
    assert "(n=55)" in glance.loc["huang2022", "Arms (n)"] and "(n=59)" in glance.loc["huang2022", "Arms (n)"]
    assert "matched" not in arms_with_n(store, "liu_hepasphere", matched=False)


# ---------------------------------------------------------------------------
# Items 5 and 7: recorded contradictions, retired non-contradictions
# ---------------------------------------------------------------------------

NEW_CONFLICTS = {
    "each_citation_name_and_size": ("sun2022", ["Head and Neck Cancer (EACH)", "The study recruited 371 patients"]),
    "sun_child_pugh_b_allowed_all_a": ("sun2022", ["Child-Pugh Grade A or B", "All patients had a Child–Pugh A"]),
    "albumin_unit": ("liu2020", ["albumin level > 3.0 mg/dL"]),
    "ref36_comparator": ("liu2020", ["HAIC-only group", "(sorafenib-HAIC group vs sorafenib group)"]),
    "petrelli_subgroups_repeat_regions": ("petrelli_meta", ["3.3/6.47 mo in capecitabine-based studies",
                                                            "2.43, 6.47 mo and 13.2%"]),
}
RETIRED = ["orr_naming", "cr_one_vs_nine", "ctcae_version", "tivantinib_ttp_p_vs_90ci",
           "foretinib_rr_percent_vs_n", "secox_sd_percent_vs_n", "tremelimumab_hcv_rr_percent_vs_n",
           "jx594_rr_percent_vs_n"]


def test_unrecorded_contradictions_are_now_conflicts_with_both_snippets(store, sources_dir):
    c = store.conflicts.set_index("conflict_id")
    files = dict(zip(store.studies.study_id, store.studies.source_file))
    for cid, (study, quotes) in NEW_CONFLICTS.items():
        assert cid in c.index, cid
        row = c.loc[cid]
        assert row.study_id == study and len(row.snippets) >= 2 and row.severity in ("major", "minor")
        joined = " | ".join(row.snippets)
        for q in quotes:
            assert q in joined, (cid, q)
        for snip, other in zip(row.snippets, row.source_files):
            assert normalise(snip) in source_text(sources_dir, other or files[study]), (cid, snip)
    # EACH's 371 is the review's number, checked in the review's own text
    each = c.loc["each_citation_name_and_size"]
    assert REVIEW in each.source_files


def test_new_conflicts_are_pointed_to_by_the_records_they_concern(store):
    sun = store.studies.set_index("study_id").loc["sun2022"]
    assert {"each_citation_name_and_size", "sun_child_pugh_b_allowed_all_a"} <= set(sun.conflict_ids)
    liu = store.studies.set_index("study_id").loc["liu2020"]
    assert {"albumin_unit", "ref36_comparator"} <= set(liu.conflict_ids)
    assert "albumin > 3.0 mg/dL" in liu.population
    mos = _outcome(store, study_id="petrelli_meta", endpoint="OS_median")
    flagged = mos[mos.conflict_ids.map(lambda ids: "petrelli_subgroups_repeat_regions" in ids)]
    # capecitabine 6.47 = Asian 6.47; "OXA-based" 11 = Western 11
    assert sorted(flagged.value) == [6.47, 6.47, 11, 11]


def test_retired_conflicts_are_gone_and_their_reasons_kept(store):
    assert not set(RETIRED) & set(store.conflicts.conflict_id)
    for table in (store.studies, store.outcomes, store.hazard_ratios, store.adverse_events):
        for ids in table.conflict_ids:
            assert not set(RETIRED) & set(ids if isinstance(ids, list) else [])
    orr = _outcome(store, study_id="liu2020", endpoint="ORR").iloc[0]
    assert "synonyms" in orr.note
    cr = _outcome(store, study_id="liu2020", endpoint="CR").iloc[0]
    assert "Figure 3" in cr.note
    for study in ("foretinib_phase1_2", "secox", "tremelimumab_hcv", "jx594"):
        notes = store.outcomes[store.outcomes.study_id == study].note.dropna()
        assert notes.str.contains("does not state the response denominator").any(), study
    tiv = store.hazard_ratios[store.hazard_ratios.study_id == "tivantinib_phase2"]
    assert tiv.note.str.contains("sidedness").any()


# ---------------------------------------------------------------------------
# Severity on every conflict
# ---------------------------------------------------------------------------

def test_every_conflict_has_a_severity_and_records_carry_the_worst(store):
    assert set(store.conflicts.severity) <= set(get_args(Severity))
    assert store.conflicts.severity.notna().all()
    sev = {(r.evidence_file, r.conflict_id): r.severity for r in store.conflicts.itertuples()}
    for table in (store.studies, store.outcomes, store.hazard_ratios, store.adverse_events):
        for r in table.itertuples():
            found = [sev[(r.evidence_file, cid)] for cid in r.conflict_ids]
            expected = None if not found else ("major" if "major" in found else "minor")
            got = r.conflict_severity if isinstance(r.conflict_severity, str) else None
            assert got == expected, (r, found)
    # by hand: 69.7% vs 42/66 changes a number; 12.2% vs 8/66 = 12.1% is rounding
    ae = store.adverse_events
    liver = ae[(ae.study_id == "liu2020") & (ae.term_reported == "liver function damage")].set_index("grade")
    assert liver.loc["any", "conflict_severity"] == "major"
    assert liver.loc["3-4", "conflict_severity"] == "minor"


def test_a_conflict_without_severity_is_refused():
    raw = {"conflict_id": "c", "study_id": "s", "kind": "other", "description": "d", "resolution": "views use x",
           "values": [{"value": 1, "location": "a", "snippet": "abc"}, {"value": 2, "location": "b", "snippet": "abd"}]}
    with pytest.raises(Exception):
        Conflict.model_validate(raw)
    assert Conflict.model_validate({**raw, "severity": "minor"}).severity == "minor"


def test_heatmap_cells_carry_conflict_severity(store):
    key = arm_key("liu_hepasphere", "hepa_haic")
    m = build_matrix(store, [key], "3-4")
    rep = m.cells[m.cells.status == "reported"]
    with_conflict = rep[rep.conflict_ids.map(len) > 0]
    assert len(with_conflict) and set(with_conflict.conflict_severity) <= {"major", "minor"}
    assert (rep[rep.conflict_ids.map(len) == 0].conflict_severity == "").all()


# ---------------------------------------------------------------------------
# Bounds: stored as printed, shown as printed, never a point, never an effect
# ---------------------------------------------------------------------------

def test_bounded_response_rates_are_stored_as_printed(store, sources_dir):
    text = source_text(sources_dir, REVIEW)
    assert "< 7.2% vs < 6.9%, P = NR" in text and "7.1% vs < 0.7%," in text
    orr = _outcome(store, endpoint="ORR")
    got = {(r.study_id, r.arm_id): (r.qualifier, r.value) for r in orr.itertuples() if isinstance(r.qualifier, str)}
    assert got == {("sun1170", "sunitinib"): ("<", 7.2), ("sun1170", "sorafenib"): ("<", 6.9),
                   ("reach", "placebo"): ("<", 0.7)}
    shown = [format_value(r) for r in orr[orr.qualifier.notna()].to_dict("records")]
    assert sorted(shown) == ["< 0.7%", "< 6.9%", "< 7.2%"]
    table = outcome_rows(store, studies=["sun1170"])
    assert {"< 7.2%", "< 6.9%"} <= set(table.Value)


def test_nivolumab_cr_count_printed_in_words_is_stored(store):
    # "Of 42 evaluable patients, two achieved CR (5%)"
    cr = _outcome(store, study_id="nivolumab_phase1_2", endpoint="CR").iloc[0]
    assert cr["count"] == 2 and cr.denominator == 42 and cr.value == 5


def _with_outcomes(store, outcomes):
    return replace(store, outcomes=outcomes.reset_index(drop=True))


def test_a_bounded_median_is_never_a_curve_anchor(store):
    o = store.outcomes.copy()
    med = (o.study_id == "sun2022") & (o.arm_id == "folfox4") & (o.endpoint == "OS_median") & (o.population == "overall")
    assert med.sum() == 1
    before = [s for s in curve_sources(store, "OS", None) if (s.study_id, s.arm_id) == ("sun2022", "folfox4")]
    assert any(a.kind == "median" for a in before[0].anchors)
    o.loc[med, "qualifier"] = ">"
    after = [s for s in curve_sources(_with_outcomes(store, o), "OS", None)
             if (s.study_id, s.arm_id) == ("sun2022", "folfox4")]
    assert not after or not any(a.kind == "median" for a in after[0].anchors)


def test_a_bounded_response_rate_never_gives_an_effect(store):
    from views.forest_rows import response_rows
    o = store.outcomes.copy()
    orr = (o.study_id == "liu_hepasphere") & (o.endpoint == "ORR")
    assert orr.sum() >= 2 and o[orr]["count"].notna().all()
    assert (response_rows(store, "ORR").study_id == "liu_hepasphere").any()
    o.loc[orr & (o.arm_id == "hepa_haic"), "qualifier"] = "<"
    rows = response_rows(_with_outcomes(store, o), "ORR")
    assert not (rows.study_id == "liu_hepasphere").any()


def test_a_bounded_median_is_shown_as_printed_in_the_overview(store):
    o = store.outcomes.copy()
    med = (o.study_id == "sun2022") & (o.arm_id == "atra_folfox4") & (o.endpoint == "OS_median")
    o.loc[med, "qualifier"] = ">"
    glance = studies_at_a_glance(_with_outcomes(store, o)).set_index("study_id")
    assert "> 14.9" in glance.loc["sun2022", "Median, months (CI)"]


# ---------------------------------------------------------------------------
# Bounds and word counts in the validator
# ---------------------------------------------------------------------------

MINI = {
    "source_file": SUN2022,
    "studies": [{"study_id": "mini", "citation": "c", "design": "retrospective",
                 "arms": [{"arm_id": "a", "label": "A", "regimen": "r", "route": "mixed", "n": 57}]}],
}


def _problems(tmp_path, sources_dir, outcome):
    doc = copy.deepcopy(MINI)
    doc["outcomes"] = [outcome]
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    (d / "000_mini.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_store(d, sources=sources_dir).problems


BASE = {"study_id": "mini", "arm_id": "a", "endpoint": "ORR", "unit": "percent", "criteria": "not stated",
        "reported_name": "x", "location": "Table 1"}


def test_a_qualifier_must_be_printed_in_the_snippet(tmp_path, sources_dir):
    # 000 prints "All patients had a Child–Pugh A ... (all P values >0.05)"
    snippet = "Most of the characteristics in the two therapeutic groups were similar before chemotherapy (all P values >0.05)."
    ok = _problems(tmp_path, sources_dir, {**BASE, "value": 0.05, "qualifier": ">", "snippet": snippet})
    assert ok == []
    wrong = _problems(tmp_path, sources_dir, {**BASE, "value": 0.05, "qualifier": "<", "snippet": snippet})
    assert [p.field for p in wrong] == ["qualifier"]
    missing = _problems(tmp_path, sources_dir, {**BASE, "value": 0.05, "snippet": snippet})
    assert [p.field for p in missing] == ["qualifier"] and "only as a bound" in missing[0].message


def test_a_count_printed_as_a_word_is_found(tmp_path, sources_dir):
    snippet = "including four patients with complete remission"
    assert _problems(tmp_path, sources_dir, {**BASE, "endpoint": "CR", "count": 4, "snippet": snippet}) == []
    bad = _problems(tmp_path, sources_dir, {**BASE, "endpoint": "CR", "count": 5, "snippet": snippet})
    assert [p.field for p in bad] == ["count"]
