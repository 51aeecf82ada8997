"""The evidence store: schema errors, snippet verification, consistency, API."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evidence import EvidenceError, load_store
from evidence.schema import Endpoint, Grade, HazardEndpoint
from evidence.sources import normalise, numbers_in, source_text
from evidence.store import DATA_DIR
from typing import get_args

ROOT = Path(__file__).resolve().parent.parent

# A small, valid file in the store's format, quoting 000 verbatim; each test
# corrupts one thing and checks the message names file, record and field.
MINI = {
    "source_file": "000_3209404299ee78f6.txt",
    "studies": [{
        "study_id": "mini", "citation": "Sun J et al. Chin Med J 2022", "design": "retrospective",
        "arms": [
            {"arm_id": "atra_folfox4", "label": "ATRA + FOLFOX4", "regimen": "r", "route": "mixed", "n": 57},
            {"arm_id": "folfox4", "label": "FOLFOX4", "regimen": "r", "route": "intravenous", "n": 54},
        ],
    }, {
        "study_id": "other", "citation": "another study", "design": "randomised",
        "arms": [{"arm_id": "a", "label": "A", "regimen": "r", "route": "oral", "n": 10}],
    }],
    "outcomes": [{
        "study_id": "mini", "arm_id": "folfox4", "endpoint": "OS_median", "value": 8.2, "unit": "months",
        "reported_name": "median overall survival", "location": "Results",
        "snippet": "The median overall survival was 8.2 and 14.9 months in the FOLFOX4 and ATRA + FOLFOX4 groups",
    }, {
        "study_id": "mini", "arm_id": "folfox4", "endpoint": "OS_rate", "timepoint_months": 12, "value": 31.5,
        "unit": "percent", "reported_name": "1-year survival rate", "location": "Results",
        "snippet": "The corresponding 6-month, 1-year, and 2-year survival rates were 50.0%, 31.5%, and 7.4% in the FOLFOX4 group",
    }],
    "hazard_ratios": [{
        "study_id": "mini", "experimental_arm_id": "atra_folfox4", "reference_arm_id": "folfox4",
        "endpoint": "OS", "hr": 0.465, "ci_low": 0.298, "ci_high": 0.726, "p": "0.001", "adjusted": True,
        "adjusted_for": ["age", "sex", "stage"], "reported_name": "overall survival", "location": "Results",
        "snippet": "the HR for overall survival was 0.465 (95% confidence interval [CI]: 0.298–0.726; P = 0.001)",
    }],
    "adverse_events": [],
    "conflicts": [],
}


def write(tmp_path: Path, data, name="000_mini.yaml") -> Path:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    (d / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d


def mini(**changes):
    import copy
    data = copy.deepcopy(MINI)
    for path, value in changes.items():
        target = data
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        last = keys[-1]
        if value is DELETE:
            del target[int(last) if last.isdigit() else last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    return data


DELETE = object()


def only_problem(store):
    assert len(store.problems) >= 1, "expected a problem"
    return store.problems[0]


def test_the_mini_file_is_valid(tmp_path, sources_dir):
    store = load_store(write(tmp_path, MINI), sources=sources_dir)
    assert store.problems == []
    assert len(store.outcomes) == 2 and len(store.hazard_ratios) == 1


@pytest.mark.parametrize("change, record, field, words", [
    ({"outcomes.0.value": "eight"}, "outcomes[0] (mini / folfox4 / OS_median)", "value", "valid number"),
    ({"outcomes.0.endpoint": "OS_mean"}, "outcomes[0]", "endpoint", "OS_median"),
    ({"outcomes.0.location": DELETE}, "outcomes[0]", "location", "required"),
    ({"outcomes.0.colour": "red"}, "outcomes[0]", "colour", "not permitted"),
    ({"outcomes.1.timepoint_months": DELETE}, "outcomes[1]", "(record)", "timepoint_months"),
    ({"hazard_ratios.0.hr": -1}, "hazard_ratios[0]", "hr", "greater than 0"),
    ({"hazard_ratios.0.adjusted_for": []}, "hazard_ratios[0]", "(record)", "adjusted_for"),
    ({"outcomes.0.derived": True}, "outcomes[0]", "(record)", "formula"),
    ({"studies.0.design": "anecdote"}, "studies[0] (mini)", "design", "randomised"),
    ({"studies.0.arms.1.n": 0}, "studies[0] (mini)", "arms.1.n", "greater than or equal to 1"),
])
def test_schema_errors_name_file_record_and_field(tmp_path, change, record, field, words):
    store = load_store(write(tmp_path, mini(**change)))
    p = only_problem(store)
    assert p.file == "000_mini.yaml"
    assert p.record.startswith(record)
    assert p.field == field
    assert words in p.message
    assert "000_mini.yaml" in str(p) and record in str(p)


@pytest.mark.parametrize("change, field, words", [
    ({"hazard_ratios.0.reference_arm_id": "sorafenib"}, "reference_arm_id", "unknown arm_id 'sorafenib'"),
    ({"outcomes.0.study_id": "nobody"}, "study_id", "unknown study_id"),
    ({"hazard_ratios.0.ci_low": 0.5}, "ci_low", "does not contain"),
    ({"outcomes.1.value": 62.0, "outcomes.1.snippet": "the 6-month, 1-year, and 2-year survival rates were 50.0%"},
     "value", "wrong side of 50%"),
    ({"outcomes.0.conflict_ids": ["nope"]}, "conflict_ids", "no conflict 'nope'"),
])
def test_reference_and_consistency_errors(tmp_path, change, field, words):
    store = load_store(write(tmp_path, mini(**change)))
    p = next(p for p in store.problems if p.field == field)
    assert words in p.message, str(p)


def test_count_above_denominator_and_percent_mismatch(tmp_path):
    ae = {"study_id": "mini", "arm_id": "folfox4", "term_reported": "Nausea", "grade": "any",
          "count": 60, "denominator": 54, "percent": 21.8, "location": "Table 3", "snippet": "Nausea 12 (21.8)"}
    store = load_store(write(tmp_path, mini(adverse_events=[ae])))
    messages = {p.field: p.message for p in store.problems}
    assert "exceeds denominator 54" in messages["count"]
    ae2 = dict(ae, count=12, denominator=54)      # 12/54 = 22.2%, printed 21.8%
    store = load_store(write(tmp_path, mini(adverse_events=[ae2])))
    assert any(p.field == "percent" and "differs from 12/54" in p.message for p in store.problems)


def test_a_recorded_conflict_excuses_an_inconsistency(tmp_path):
    # the conflict holds the disputed number (21.8% printed vs 12/54 = 22.2%); one about
    # other numbers excuses nothing (tests/test_hostile_numbers.py)
    conflict = {"conflict_id": "c1", "study_id": "mini", "kind": "wrong_denominator", "severity": "minor",
                "description": "d",
                "values": [{"value": 21.8, "location": "a", "snippet": "xxx"}, {"value": "12/54 = 22.2%", "location": "b", "snippet": "yyy"}],
                "resolution": "the views use the table"}
    ae = {"study_id": "mini", "arm_id": "folfox4", "term_reported": "Nausea", "grade": "any", "count": 12,
          "denominator": 54, "percent": 21.8, "location": "Table 3", "snippet": "Nausea 12 (21.8)", "conflict_ids": ["c1"]}
    store = load_store(write(tmp_path, mini(adverse_events=[ae], conflicts=[conflict])))
    assert store.problems == []


def test_snippet_not_in_source_and_value_not_in_snippet(tmp_path, sources_dir):
    data = mini(**{"outcomes.0.snippet": "The median overall survival was 9.9 months in FOLFOX4"})
    store = load_store(write(tmp_path, data), sources=sources_dir)
    assert any(p.field == "snippet" and "not found verbatim" in p.message for p in store.problems)
    data = mini(**{"outcomes.0.value": 8.3})
    store = load_store(write(tmp_path, data), sources=sources_dir)
    assert any(p.field == "value" and "8.3 does not occur" in p.message for p in store.problems)


def test_broken_yaml_names_the_line(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "bad.yaml").write_text("source_file: x\nstudies: [\n  - {study_id: a\n", encoding="utf-8")
    store = load_store(d)
    p = only_problem(store)
    assert p.file == "bad.yaml" and "not valid YAML at line" in p.message


def test_a_bad_record_withholds_only_its_study(tmp_path):
    store = load_store(write(tmp_path, mini(**{"outcomes.0.value": "eight"})))
    assert store.withheld_studies == ["mini"]
    assert list(store.studies.study_id) == ["other"]
    with pytest.raises(EvidenceError) as err:
        load_store(write(tmp_path, mini(**{"outcomes.0.value": "eight"})), strict=True)
    assert "outcomes[0]" in str(err.value)


def test_duplicate_study_ids_across_files(tmp_path):
    d = write(tmp_path, MINI)
    write(tmp_path, MINI, name="001_copy.yaml")
    store = load_store(d)
    assert any("duplicate study_id" in p.message for p in store.problems)


# --- the bundled store ------------------------------------------------------

def test_bundled_store_loads_without_problems(store):
    assert store.problems == [], "\n".join(map(str, store.problems))
    assert len(store.studies) >= 5


def test_every_snippet_is_verbatim_in_its_source(sources_dir):
    store = load_store(sources=sources_dir)
    assert store.problems == [], "\n".join(map(str, store.problems))
    # And independently of the loader's own check: read each text and look.
    files = dict(zip(store.studies.study_id, store.studies.source_file))
    checked = 0
    for table in (store.outcomes, store.hazard_ratios, store.adverse_events):
        for r in table.itertuples():
            text = source_text(sources_dir, files[r.study_id])
            assert normalise(r.snippet) in text, f"{r.record_id}: {r.snippet!r}"
            checked += 1
    for r in store.conflicts.itertuples():
        for snip, other in zip(r.snippets, r.source_files):
            # a value quoted from another paper names that paper's text
            assert normalise(snip) in source_text(sources_dir, other or files[r.study_id]), f"{r.conflict_id}: {snip!r}"
    assert checked > 100


def test_every_printed_value_occurs_in_its_snippet(store):
    for r in store.outcomes.itertuples():
        if not r.derived and pd.notna(r.value) and not isinstance(getattr(r, "printed_value", None), str):
            assert any(abs(r.value - x) < 1e-9 for x in numbers_in(r.snippet + " " + str(r.context_snippet or ""))), r.record_id
    for r in store.hazard_ratios.itertuples():
        if not r.derived:
            assert any(abs(r.hr - x) < 1e-9 for x in numbers_in(r.snippet)), r.record_id


def test_api_columns_and_vocabularies(store):
    expected = {
        "studies": ["study_id", "source_file", "citation", "doi", "design"],
        "arms": ["study_id", "arm_id", "label", "regimen", "n"],
        "outcomes": ["study_id", "arm_id", "endpoint", "value", "unit", "ci_low", "ci_high", "count",
                     "denominator", "timepoint_months", "criteria", "population", "reported_name",
                     "location", "snippet"],
        "hazard_ratios": ["study_id", "experimental_arm_id", "reference_arm_id", "endpoint", "hr", "ci_low",
                          "ci_high", "ci_level", "p", "adjusted", "adjusted_for", "population", "location",
                          "snippet"],
        "adverse_events": ["study_id", "arm_id", "term_reported", "term", "category", "grade", "count",
                           "denominator", "percent", "location", "snippet"],
        "conflicts": ["study_id", "description", "values", "snippets", "resolution"],
    }
    for table, cols in expected.items():
        missing = set(cols) - set(getattr(store, table).columns)
        assert not missing, f"{table} lacks {missing}"
    assert set(store.outcomes.endpoint) <= set(get_args(Endpoint))
    assert set(store.outcomes.unit) <= {"months", "percent", "count"}
    assert set(store.hazard_ratios.endpoint) <= set(get_args(HazardEndpoint))
    assert set(store.adverse_events.grade) <= set(get_args(Grade))
    seeds = {"000_3209404299ee78f6.txt", "001_15b1dff9d4866ef9.txt", "002_52ef52dfa59001e2.txt",
             "003_b7f554963d42984d.txt", "004_20583bf4b0d69089.txt"}
    assert set(store.studies.source_file) == seeds
    # every arm a record points to exists
    arms = set(zip(store.arms.study_id, store.arms.arm_id))
    for r in store.outcomes[store.outcomes.arm_id.notna()].itertuples():
        assert (r.study_id, r.arm_id) in arms
    for r in store.hazard_ratios.itertuples():
        assert (r.study_id, r.experimental_arm_id) in arms and (r.study_id, r.reference_arm_id) in arms


def test_conflicts_are_recorded_with_both_values(store):
    assert len(store.conflicts) >= 20
    for r in store.conflicts.itertuples():
        assert len(r.values) >= 2 and len(r.snippets) == len(r.values) and r.resolution
    # the two the product brief names
    assert any(14.8 in c and 14.9 in c for c in store.conflicts["values"])
    assert any(42.4 in c for c in store.conflicts["values"])


def test_the_90_percent_ci_is_kept(store):
    assert (store.hazard_ratios.ci_level == 0.90).any()


def test_derived_values_say_how(store):
    for table in (store.outcomes, store.adverse_events):
        d = table[table.derived]
        assert d.formula.map(lambda f: isinstance(f, str) and len(f) > 2).all()


# --- command line -----------------------------------------------------------

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "evidence", *args], cwd=ROOT, capture_output=True, text=True)


def test_cli_validate_passes_on_the_bundled_store(sources_dir):
    r = run_cli("validate", "--sources", str(sources_dir))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OK")


def test_cli_validate_fails_precisely_on_a_corrupted_copy(tmp_path, sources_dir):
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    f = next(copy.glob("000_*.yaml"))
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    i = next(i for i, o in enumerate(data["outcomes"]) if o["endpoint"] == "OS_median" and o.get("value") == 8.2)
    data["outcomes"][i]["value"] = 8.7   # a typo a curator could make
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    r = run_cli("validate", "--data", str(copy), "--sources", str(sources_dir))
    assert r.returncode == 1
    assert f"{f.name}: outcomes[{i}] (sun2022 / folfox4 / OS_median), field 'value': 8.7 does not occur in the snippet" in r.stderr


def test_cli_export(tmp_path):
    for fmt in ("csv", "json"):
        r = run_cli("export", "--format", fmt, "--out", str(tmp_path / fmt))
        assert r.returncode == 0, r.stderr
        for t in ("studies", "arms", "outcomes", "hazard_ratios", "adverse_events", "conflicts"):
            assert (tmp_path / fmt / f"{t}.{fmt}").stat().st_size > 10
    assert len(pd.read_csv(tmp_path / "csv" / "outcomes.csv")) == len(load_store().outcomes)
