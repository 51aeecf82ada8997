"""Bad evidence files and bad uploads: a clear message, nothing lost, never a stack trace."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st
from streamlit.testing.v1 import AppTest

from evidence import load_store
from tests.pages import texts
from evidence.curve_files import CurveFileError, parse_curve_csv, parse_risk_csv
from evidence.reconstruct import guyot
from evidence.store import DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["pages/overview.py", "pages/evidence.py", "pages/forest.py", "pages/survival.py",
         "pages/adverse-events.py", "pages/summary-of-findings.py"]


def corrupted_copy(tmp_path: Path, how: str) -> Path:
    d = tmp_path / "data"
    shutil.copytree(DATA_DIR, d)
    f = d / "001_huang2022_haic_vs_sorafenib.yaml"
    text = f.read_text(encoding="utf-8")
    if how == "broken_yaml":
        f.write_text(text.replace("studies:", "studies: [", 1), encoding="utf-8")
        return d
    data = yaml.safe_load(text)
    if how == "wrong_type":
        data["outcomes"][0]["value"] = "seventeen"
    elif how == "count_above_denominator":
        row = next(a for a in data["adverse_events"] if a.get("count") and a.get("denominator"))
        row["count"] = row["denominator"] + 5
        row.pop("conflict_ids", None)
    elif how == "unknown_arm":
        data["hazard_ratios"][0]["reference_arm_id"] = "lenvatinib"
    elif how == "duplicate_id":
        shutil.copy(d / "000_sun2022_atra_folfox4.yaml", d / "009_copy_of_sun.yaml")
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d


@pytest.mark.parametrize("how, field", [
    ("wrong_type", "value"), ("count_above_denominator", "count"), ("unknown_arm", "reference_arm_id"),
])
def test_a_bad_record_withholds_only_its_study(tmp_path, how, field):
    store = load_store(corrupted_copy(tmp_path, how))
    assert store.withheld_studies == ["huang2022"]
    p = store.problems[0]
    assert p.file == "001_huang2022_haic_vs_sorafenib.yaml" and p.field == field
    assert "huang2022" not in set(store.studies.study_id)
    assert {"sun2022", "liu2020", "liu_hepasphere", "each"} <= set(store.studies.study_id)


def test_broken_yaml_withholds_the_file_and_keeps_the_rest(tmp_path):
    store = load_store(corrupted_copy(tmp_path, "broken_yaml"))
    assert any(p.file.startswith("001_") and "not valid YAML at line" in p.message for p in store.problems)
    assert "huang2022" not in set(store.studies.study_id) and "sun2022" in set(store.studies.study_id)


def test_duplicate_study_ids_are_named(tmp_path):
    store = load_store(corrupted_copy(tmp_path, "duplicate_id"))
    assert any("duplicate study_id" in p.message and "sun2022" in p.record for p in store.problems)


def test_snippet_missing_from_the_source(tmp_path, sources_dir):
    d = tmp_path / "data"
    shutil.copytree(DATA_DIR, d)
    f = d / "003_liu2020_sorafenib_tace_haic.yaml"
    data = yaml.safe_load(f.read_text(encoding="utf-8"))
    data["outcomes"][0]["snippet"] = "This sentence is in no paper at all, 17.1 months."
    f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    store = load_store(d, sources=sources_dir)
    assert store.problems[0].field == "snippet" and "not found verbatim" in store.problems[0].message
    assert store.withheld_studies == ["liu2020"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_survives_a_bad_file_with_a_banner(tmp_path, monkeypatch, page):
    monkeypatch.setenv("HCC_EVIDENCE_DIR", str(corrupted_copy(tmp_path, "count_above_denominator")))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(page).run()
    assert not at.exception
    banner = " ".join(texts(at, "error"))
    assert "001_huang2022_haic_vs_sorafenib.yaml" in banner and "field 'count'" in banner
    assert "huang2022" in banner   # named as withheld


# --- uploads --------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_curve_or_a_clear_error(data):
    try:
        curve = parse_curve_csv(data)
    except CurveFileError as exc:
        assert str(exc)
        return
    assert all(t >= 0 for t in curve.times)
    assert all(0 <= s <= 1 for s in curve.survival)


csv_cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-5, 500).map(str),
                     st.text(max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(csv_cell, csv_cell), min_size=1, max_size=30), st.sampled_from([",", ";", "\t"]))
def test_any_table_gives_a_risk_table_or_a_clear_error(rows, sep):
    data = "\n".join(f"{a}{sep}{b}" for a, b in rows).encode("utf-8")
    try:
        table = parse_risk_csv(data)
    except CurveFileError as exc:
        assert str(exc)
        return
    assert table.times[0] == 0 and list(table.times) == sorted(set(table.times))
    assert all(n >= 0 for n in table.at_risk)
    assert list(table.at_risk) == sorted(table.at_risk, reverse=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 60), st.floats(0, 1)), min_size=2, max_size=25),
       st.integers(1, 300))
def test_any_valid_upload_reconstructs_or_says_why(points, n):
    curve = "\n".join(f"{t},{s}" for t, s in points).encode()
    try:
        c = parse_curve_csv(curve)
        ipd = guyot(c.times, c.survival, [0.0], [n])
    except ValueError as exc:   # CurveFileError is a ValueError
        assert str(exc)
        return
    assert len(ipd) == n and set(ipd.event) <= {0, 1} and (ipd.time >= 0).all()
