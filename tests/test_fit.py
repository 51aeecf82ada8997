"""Patient fit: eligibility and baseline records, the profile in the link, and `assess`.

The expected verdicts below were derived by reading the eligibility sections of the four papers
(and reconciled with an independent second reading); they are written out, never computed.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from evidence import load_store
from evidence.fit import (assess, describe_profile, format_profile, matching_subgroups,
                          parse_profile, represented, summary, summary_line)
from evidence.schema import NOT_REPORTED, PROFILE_FIELDS, BaselineRow, Criterion
from evidence.store import DATA_DIR

SUN, HUANG, LIU, HEPA = "sun2022", "huang2022", "liu2020", "liu_hepasphere"

P1 = dict(age=60, ecog="0", child_pugh="A5", bclc="C", pvtt="present", extrahepatic="no", prior="tace")
PROFILES = {
    "P1": P1,
    "P2": {**P1, "child_pugh": "B8"},
    "P3": {**P1, "ecog": "2"},
    "P4": {**P1, "age": 80},
    "P5": {**P1, "extrahepatic": "yes"},
    "P6": {**P1, "prior": "systemic"},
    "P7": {**P1, "pvtt": "main_trunk"},
    "P8": {**P1, "prior": "none"},
    "P9": dict(age=70, ecog="1", child_pugh="B7", bclc="B", pvtt="none", extrahepatic="no", prior="none"),
    "P10": dict(bclc="C"),
    "P11": {**P1, "child_pugh": "C", "ecog": "3"},
}

# (verdict, fields whose criterion excludes the patient, fields the source leaves open)
# Sun 2022: no ECOG and no PVTT criterion; BCLC C only; Child-Pugh A or B; extrahepatic with or
#   without; TACE within 4 weeks excluded (earlier TACE admitted), prior systemic not addressed.
# Huang 2022: age >=18, ECOG 0-1, Child-Pugh A, no extrahepatic metastasis, TACE-refractory and no
#   antitumour treatment except TACE; no BCLC criterion; vascular invasion only in the definition
#   of TACE failure (PVTT not stated).
# Liu 2020: age 18-75, ECOG 0-2, Child-Pugh A or B7, intermediate/advanced (B, C), portal vein
#   invasion and extrahepatic metastasis included; only previous sorafenib excluded (prior TACE
#   not stated; a first-line therapy other than sorafenib not addressed).
# Liu Hepa-HAIC: age 18-85, Child-Pugh A-B, ECOG <=2, "advanced HCC" (C; B ambiguous); no PVTT,
#   extrahepatic or prior-therapy criterion ("second-line" only in the title).
EXPECTED = {
    "P1": {SUN: ("unclear", [], ["ecog", "pvtt"]), HUANG: ("unclear", [], ["bclc", "pvtt"]),
           LIU: ("unclear", [], ["prior"]), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P2": {SUN: ("unclear", [], ["ecog", "pvtt"]), HUANG: ("outside", ["child_pugh"], ["bclc", "pvtt"]),
           LIU: ("outside", ["child_pugh"], ["prior"]), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P3": {SUN: ("unclear", [], ["ecog", "pvtt"]), HUANG: ("outside", ["ecog"], ["bclc", "pvtt"]),
           LIU: ("unclear", [], ["prior"]), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P4": {SUN: ("unclear", [], ["ecog", "pvtt"]), HUANG: ("unclear", [], ["bclc", "pvtt"]),
           LIU: ("outside", ["age"], ["prior"]), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P5": {SUN: ("unclear", [], ["ecog", "pvtt"]), HUANG: ("outside", ["extrahepatic"], ["bclc", "pvtt"]),
           LIU: ("unclear", [], ["prior"]), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P6": {SUN: ("unclear", [], ["ecog", "pvtt", "prior"]), HUANG: ("outside", ["prior"], ["bclc", "pvtt"]),
           LIU: ("unclear", [], ["prior"]), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P7": {SUN: ("unclear", [], ["ecog", "pvtt"]), HUANG: ("unclear", [], ["bclc", "pvtt"]),
           LIU: ("unclear", [], ["prior"]), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P8": {SUN: ("unclear", [], ["ecog", "pvtt"]), HUANG: ("outside", ["prior"], ["bclc", "pvtt"]),
           LIU: ("within", [], []), HEPA: ("unclear", [], ["pvtt", "extrahepatic", "prior"])},
    "P9": {SUN: ("outside", ["bclc"], ["ecog", "pvtt"]),
           HUANG: ("outside", ["child_pugh", "prior"], ["bclc", "pvtt"]),
           LIU: ("within", [], []), HEPA: ("unclear", [], ["bclc", "pvtt", "extrahepatic", "prior"])},
    "P10": {SUN: ("within", [], []), HUANG: ("unclear", [], ["bclc"]),
            LIU: ("within", [], []), HEPA: ("within", [], [])},
    "P11": {SUN: ("outside", ["child_pugh"], ["ecog", "pvtt"]),
            HUANG: ("outside", ["ecog", "child_pugh"], ["bclc", "pvtt"]),
            LIU: ("outside", ["ecog", "child_pugh"], ["prior"]),
            HEPA: ("outside", ["ecog", "child_pugh"], ["pvtt", "extrahepatic", "prior"])},
}


@pytest.fixture(scope="module")
def store():
    return load_store()


@pytest.mark.parametrize("name", list(PROFILES))
def test_verdicts_of_the_four_primary_studies(store, name):
    result = assess(store, PROFILES[name]).set_index("study_id")
    for study_id, (verdict, excluding, left_open) in EXPECTED[name].items():
        row = result.loc[study_id]
        assert row.verdict == verdict, (name, study_id)
        fields = {d: sorted({r["field"] for r in row.criteria if r["decision"] in ds})
                  for d, ds in (("x", ("excludes",)), ("o", ("not stated", "leaves open")))}
        assert fields["x"] == sorted(excluding), (name, study_id)
        assert fields["o"] == sorted(left_open), (name, study_id)
        # the reasons are the deciding criteria: the breaking ones, the open ones, or all admitting
        decided = {r["field"] for r in row.reasons}
        assert decided == set(excluding or left_open or PROFILES[name]), (name, study_id)


def test_outside_names_every_broken_criterion_with_its_snippet(store):
    row = assess(store, PROFILES["P11"]).set_index("study_id").loc[HUANG]
    assert [(r["field"], r["decision"]) for r in row.reasons] == [("ecog", "excludes"), ("child_pugh", "excludes")]
    assert row.reasons[0]["snippet"] == "an Eastern Cooperative Oncology Group performance status (ECOG PS) of 0 to 1"
    assert row.reasons[1]["snippet"] == "no extrahepatic metastasis, Child-Pugh class A"
    assert all(r["location"] == "Methods, Patients" for r in row.reasons)


def test_unclear_says_what_the_source_leaves_open(store):
    row = assess(store, PROFILES["P1"]).set_index("study_id").loc[SUN]
    assert [(r["field"], r["criterion"], r["snippet"]) for r in row.reasons] == [
        ("ecog", NOT_REPORTED, None), ("pvtt", NOT_REPORTED, None)]


def test_deciding_criteria_carry_their_conflicts(store):
    result = assess(store, PROFILES["P9"]).set_index("study_id")
    assert result.loc[SUN, "conflicts"] == ["bclc_inclusion_vs_table"]
    # Child-Pugh B is admitted by Sun's criterion although every enrolled patient was A
    sun = assess(store, {"child_pugh": "B7"}).set_index("study_id").loc[SUN]
    assert sun.verdict == "within"
    assert sun.conflicts == ["sun_child_pugh_b_allowed_all_a"]
    liu = assess(store, {"ecog": "2"}).set_index("study_id").loc[LIU]
    assert (liu.verdict, liu.conflicts) == ("within", ["ecog_2_allowed_none_enrolled"])


def test_never_within_when_a_stated_criterion_excludes(store):
    """Every value that any stated criterion excludes gives 'outside' for that study, alone or
    together with values that would otherwise make the study 'within'."""
    checked = 0
    for c in store.eligibility.to_dict("records"):
        if c["field"] == "age":
            values = [v for v in (c["age_min"] - 1 if pd.notna(c["age_min"]) else None,
                                  c["age_max"] + 1 if pd.notna(c["age_max"]) else None) if v is not None]
            values = [int(v) for v in values]
        else:
            values = list(c["excludes"] or [])
        for v in values:
            for profile in ({c["field"]: v}, {"bclc": "C", c["field"]: v}):
                row = assess(store, profile).set_index("study_id").loc[c["study_id"]]
                assert row.verdict == "outside", (c["study_id"], c["field"], v)
                checked += 1
    assert checked > 40


def test_review_trials_by_line_of_therapy(store):
    result = assess(store, {"prior": "systemic"}).set_index("study_id")
    # second-line trials (Table 1 '2nd', after sorafenib) admit; first-line trials exclude
    for sid in ("brisk_ps", "reach", "evolve_1", "regorafenib_phase2", "tivantinib_phase2"):
        assert result.loc[sid, "verdict"] == "within", sid
    for sid in ("brisk_fl", "sun1170", "light", "search", "calgb_80802", "gotext", "apatinib_phase2"):
        assert result.loc[sid, "verdict"] == "outside", sid
    for sid in ("each", "jx594", "liu_meta", "resorce"):
        assert result.loc[sid, "verdict"] == "unclear", sid
    naive = assess(store, {"prior": "none", "child_pugh": "A6"}).set_index("study_id")
    assert naive.loc["apatinib_phase2", "verdict"] == "within"
    assert naive.loc["calgb_80802", "verdict"] == "within"
    assert naive.loc["brisk_ps", "verdict"] == "outside"
    b7 = assess(store, {"child_pugh": "B7"}).set_index("study_id")
    assert b7.loc["nivolumab_phase1_2", "verdict"] == "outside"   # "Child-Pugh score was less than 7"
    assert b7.loc["tivantinib_phase1b", "verdict"] == "within"    # "Child-Pugh A or B"


def test_summary_counts_every_study(store):
    a = assess(store, PROFILES["P10"])
    assert len(a) == len(store.studies) == 35
    counts = a["verdict"].value_counts()
    assert summary(a) == f"{counts.get('within', 0)} within, {counts.get('outside', 0)} outside, {counts.get('unclear', 0)} unclear"
    assert assess(store, {}).empty


def test_summary_line_names_what_excludes():
    rows = pd.DataFrame([
        {"verdict": "within", "reasons": []},
        {"verdict": "outside", "reasons": [{"field": "extrahepatic"}]},
        {"verdict": "outside", "reasons": [{"field": "prior"}, {"field": "extrahepatic"}]},
        {"verdict": "unclear", "reasons": [{"field": "ecog"}]},
    ])
    profile = {"bclc": "C", "child_pugh": "A6", "pvtt": "present"}
    assert summary_line(profile, rows) == (
        "Patient: BCLC C, Child-Pugh A6, PVTT present — 1 study within, "
        "2 outside (extrahepatic spread, prior therapy excluded), 1 unclear")


# --- represented: shares worked out by hand from the baseline tables ------------

def _texts(store, study_id, profile):
    return [r["text"] for r in represented(store, study_id, profile)]


def test_represented_sums_arms_as_printed(store):
    # Huang Table 1: PVTT presence 18 + 17 of 55 + 59 = 35/114 = 30.7%; BCLC C 20 + 18 = 38
    assert _texts(store, HUANG, {"pvtt": "present", "bclc": "C"}) == ["BCLC C: 38/114, 33%", "PVTT: 35/114, 31%"]
    # Child-Pugh score 6: 7 + 6 = 13/114 = 11.4%; age >50: 25 + 34 = 59/114 = 51.8%
    assert _texts(store, HUANG, {"child_pugh": "A6", "age": 72}) == ["age >50: 59/114, 52%", "Child-Pugh A6: 13/114, 11%"]
    # Sun Table 1: BCLC C 40 + 44 = 84/111 = 75.7% (the text says 85, a recorded conflict)
    sun = represented(store, SUN, {"bclc": "C"})
    assert sun[0]["text"] == "BCLC C: 84/111, 76%"
    assert sun[0]["conflict_ids"] == ["bclc_c_count_text_vs_table"]


def test_represented_keeps_matched_and_unmatched_apart(store):
    # Hepa-HAIC extrahepatic metastasis: Table 1 35 + 57 = 92/167 = 55.1%; Table 2 33 + 39 = 72/96 = 75%
    assert _texts(store, HEPA, {"extrahepatic": "yes"}) == [
        "extrahepatic spread: 92/167, 55% (before matching)", "extrahepatic spread: 72/96, 75% (matched cohort)"]
    # vessel not named: shown as vein invasion; Table 1 counts 27 + 61 = 88 (printed percents swapped)
    shares = represented(store, HEPA, {"pvtt": "present"})
    assert shares[0]["text"] == "vein invasion (vessel not stated): 88/167, 53% (before matching)"
    assert "baseline_vein_invasion_percents_swapped" in shares[0]["conflict_ids"]


def test_represented_zero_only_when_the_table_is_complete(store):
    # Liu 2020 Table 1 lists ECOG 0 (46) and 1 (20), 66 in all: ECOG 2 had no patient
    assert _texts(store, LIU, {"ecog": "2"}) == ["ECOG 2: 0/66, 0% (not among the printed categories)"]
    assert _texts(store, LIU, {"child_pugh": "B7"}) == ["Child-Pugh B7: 9/66, 14%"]
    # class only printed: the score cannot be told
    assert _texts(store, SUN, {"child_pugh": "A6"}) == ["Child-Pugh A (score not printed): 111/111, 100%"]
    # nothing printed on extrahepatic spread per arm in Sun: no share rather than a guess
    assert _texts(store, SUN, {"extrahepatic": "yes"}) == []
    # age without bands: the printed summary, no share
    assert _texts(store, LIU, {"age": 60}) == ["age: mean 53.3 ± 13.6 (Sorafenib + TACE-HAIC (FOLFOX))"]


def test_matching_subgroups(store):
    m = matching_subgroups(store, {"extrahepatic": "yes", "pvtt": "present"})
    got = sorted(zip(m.study_id, m.subgroup, m.arm_id.fillna("-"), m.value))
    assert got == [
        (HUANG, "portal vein tumour thrombus present (both arms pooled)", "-", 8.53),
        (SUN, "hepatic tumor and extrahepatic lesions", "atra_folfox4", 14.3),
        (SUN, "hepatic tumor and extrahepatic lesions", "folfox4", 9.6),
    ]
    assert matching_subgroups(store, {"bclc": "C"}).empty   # no BCLC subgroup result is recorded
    old = matching_subgroups(store, {"age": 51})
    assert list(old.subgroup) == ["age >50 years (both arms pooled)"]


# --- the profile in the link ---------------------------------------------------

def test_profile_round_trip():
    for p in list(PROFILES.values()) + [{}, {"prior": "none"}, {"age": 0}, {"age": 120}]:
        text = format_profile(p)
        assert parse_profile(text) == (p, [])
    assert format_profile({"prior": "tace", "age": 72, "bclc": "C"}) == "age:72,bclc:C,prior:tace"
    assert format_profile(PROFILES["P1"]) == \
        "age:60,ecog:0,child_pugh:A5,bclc:C,pvtt:present,extrahepatic:no,prior:tace"


def test_profile_link_is_forgiving_about_case_and_spaces():
    assert parse_profile(" child_pugh:a6 , BCLC:c ,pvtt:Main_Trunk,") == (
        {"child_pugh": "A6", "bclc": "C", "pvtt": "main_trunk"}, [])


@pytest.mark.parametrize("text,profile,notice", [
    ("age:72,weight:80", {"age": 72}, "unknown field 'weight'"),
    ("child_pugh:B10", {}, "unknown child_pugh value 'B10'"),
    ("ecog:5", {}, "unknown ecog value '5'"),
    ("pvtt:yes", {}, "unknown pvtt value 'yes'"),
    ("age:150", {}, "age '150' is not a whole number of years from 0 to 120"),
    ("age:-3", {}, "age '-3' is not a whole number"),
    ("age:7.5", {}, "age '7.5' is not a whole number"),
    ("age:old", {}, "age 'old' is not a whole number"),
    ("bclc:C,bclc:B", {"bclc": "C"}, "bclc is given more than once; the first value (C) is kept"),
    ("bclc", {}, "'bclc' is not of the form field:value"),
    ("bclc:<b>C</b>", {}, "unknown bclc value '<b>C</b>'"),
])
def test_tampered_profile_values_give_notices(text, profile, notice):
    got, notices = parse_profile(text)
    assert got == profile
    assert len(notices) == 1 and notice in notices[0], notices


def test_long_tampered_value_is_not_echoed_whole():
    _, notices = parse_profile("bclc:" + "X" * 5000)
    assert len(notices) == 1 and len(notices[0]) < 200


def test_describe_profile_in_clinical_words():
    assert describe_profile({"bclc": "C", "child_pugh": "A6", "pvtt": "present"}) == \
        "BCLC C, Child-Pugh A6, PVTT present"
    assert describe_profile(PROFILES["P9"]) == (
        "BCLC B, Child-Pugh B7, no PVTT, no extrahepatic spread, ECOG 1, age 70, treatment-naive")
    assert describe_profile({"prior": "systemic", "pvtt": "main_trunk"}) == \
        "main-trunk PVTT, after first-line systemic therapy"
    assert describe_profile({}) == "no patient profile"


# --- the records themselves ------------------------------------------------------

def test_every_study_has_every_field_or_an_explicit_not_reported(store):
    have = store.eligibility.groupby("study_id")["field"].apply(set)
    expected = set(PROFILE_FIELDS) | {"organ_function"}
    for sid in store.studies.study_id:
        assert have.get(sid, set()) == expected, sid


def test_criterion_schema():
    with pytest.raises(ValidationError, match="quotes and decides nothing"):
        Criterion(study_id="s", field="ecog", kind="not_reported", criterion=NOT_REPORTED, snippet="x y z")
    with pytest.raises(ValidationError, match="needs 'location' and a verbatim 'snippet'"):
        Criterion(study_id="s", field="ecog", kind="inclusion", criterion="ECOG 0-1", admits=["0", "1"])
    with pytest.raises(ValidationError, match="unknown child_pugh value"):
        Criterion(study_id="s", field="child_pugh", kind="inclusion", criterion="Child-Pugh A", admits=["A7"],
                  location="Methods", snippet="Child-Pugh A")
    with pytest.raises(ValidationError, match="both admitted and excluded"):
        Criterion(study_id="s", field="bclc", kind="inclusion", criterion="BCLC C", admits=["C"], excludes=["C"],
                  location="Methods", snippet="stage C")
    with pytest.raises(ValidationError, match="cut-off category needs 'cutoff'"):
        BaselineRow(study_id="s", characteristic="afp", category="above", reported_name="AFP", count=3,
                    location="Table 1", snippet="AFP 3")


def test_validator_checks_the_new_snippets(tmp_path, sources_dir):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    f = data / "001_huang2022_haic_vs_sorafenib.yaml"
    text = f.read_text(encoding="utf-8")
    text = text.replace('snippet: "an Eastern Cooperative Oncology Group performance status (ECOG PS) of 0 to 1"',
                        'snippet: "an Eastern Cooperative Oncology Group performance status (ECOG PS) of 0 to 2"')
    text = text.replace("count: 18, denominator: 55, location: Table 1", "count: 19, denominator: 55, location: Table 1")
    f.write_text(text, encoding="utf-8")
    problems = [str(p) for p in load_store(data, sources=sources_dir).problems]
    assert any("eligibility[1] (huang2022 / ecog), field 'snippet': not found verbatim" in p for p in problems), problems
    assert any("baseline[" in p and "pvtt / present" in p and "19 does not occur in the snippet" in p
               for p in problems), problems
    assert len(problems) == 2


def test_store_data_snippets_verbatim(sources_dir):
    problems = load_store(sources=sources_dir).problems
    assert [str(p) for p in problems] == []
