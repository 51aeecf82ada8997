"""Hostile evidence files: no file can crash or exhaust the loader, every
malformed record is one named problem, and the banner data says truthfully
which studies are withheld."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from evidence import load_store
from evidence.sources import source_text
from evidence.store import DATA_DIR, MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parent.parent
HUANG = "001_huang2022_haic_vs_sorafenib.yaml"
OTHERS = {"sun2022", "liu2020", "liu_hepasphere", "each"}


def copy_with(tmp_path: Path, change=None, text=None) -> Path:
    """The bundled files, with huang2022's file changed: `change(data)` edits the
    parsed file, or `text(raw)` edits its raw text."""
    d = tmp_path / "data"
    shutil.copytree(DATA_DIR, d)
    f = d / HUANG
    if change is not None:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        change(data)
        f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if text is not None:
        f.write_bytes(text(f.read_bytes()))
    return d


def placeholder(value: str):
    def change(data):
        data["outcomes"][0]["value"] = "@@HERE@@"
    return change, value


def with_raw_value(tmp_path, raw_value: str) -> Path:
    change, _ = placeholder(raw_value)
    return copy_with(tmp_path, change, text=lambda b: b.replace(b"'@@HERE@@'", raw_value.encode()))


def load_in_child(data_dir: Path, timeout=60) -> subprocess.CompletedProcess:
    """Load in a separate process: a crash of the parser must not take the test run down."""
    code = ("import sys; from evidence import load_store; s = load_store(sys.argv[1]); "
            "print('WITHHELD', ','.join(s.withheld_studies)); "
            "[print('PROBLEM', p) for p in s.problems]; print('STUDIES', len(s.studies))")
    return subprocess.run([sys.executable, "-c", code, str(data_dir)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


# --- files that crashed or exhausted the server --------------------------------

def test_deep_nesting_is_a_named_problem_not_a_crash(tmp_path):
    d = with_raw_value(tmp_path, "[" * 30000 + "]" * 30000)
    out = load_in_child(d)
    assert out.returncode == 0, f"the loader died (signal {-out.returncode}): {out.stderr[-500:]}"
    assert f"PROBLEM {HUANG}" in out.stdout and "nested more than" in out.stdout
    assert "WITHHELD huang2022\n" in out.stdout
    assert "STUDIES 0" not in out.stdout


def test_validate_command_survives_deep_nesting(tmp_path):
    d = with_raw_value(tmp_path, "{a: " * 30000 + "1" + "}" * 30000)
    out = subprocess.run([sys.executable, "-m", "evidence", "validate", "--data", str(d)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, f"exit {out.returncode}: {out.stderr[-300:]}"
    assert "nested more than" in out.stderr and "withheld studies: huang2022" in out.stderr


def test_alias_bomb_is_refused_quickly(tmp_path):
    levels = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 9):
        levels.append(f"&a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    bomb = "[" + ", ".join(levels) + "]"       # 9**9 = 387 million strings once expanded
    d = with_raw_value(tmp_path, bomb)
    start = time.perf_counter()
    store = load_store(d)
    took = time.perf_counter() - start
    assert took < 5, f"{took:.1f} s"
    p = next(p for p in store.problems if p.file == HUANG)
    assert "aliases" in p.message
    assert store.withheld_studies == ["huang2022"]
    assert OTHERS <= set(store.studies.study_id)


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    d = copy_with(tmp_path, text=lambda b: b + b"\n# " + b"x" * (MAX_FILE_BYTES + 10) + b"\n")
    store = load_store(d)
    p = next(p for p in store.problems if p.file == HUANG)
    assert "the limit is" in p.message
    assert store.withheld_studies == ["huang2022"]


# --- one malformed record: one problem, only its study withheld ----------------

@pytest.mark.parametrize("section, field, value", [
    ("outcomes", "study_id", ["huang2022", "sun2022"]),
    ("outcomes", "study_id", {"a": 1}),
    ("outcomes", "arm_id", ["x"]),
    ("hazard_ratios", "study_id", 3.5),
    ("adverse_events", "term_reported", {"nested": [1, 2]}),
    ("conflicts", "study_id", [1]),
    ("conflicts", "values", "not a list"),
])
def test_a_record_of_the_wrong_type_in_any_field_is_named(tmp_path, section, field, value):
    def change(data):
        data[section][0][field] = value
    store = load_store(copy_with(tmp_path, change))
    mine = [p for p in store.problems if p.file == HUANG]
    assert mine, "expected a problem"
    assert mine[0].record.startswith(f"{section}[0]") and mine[0].field.split(".")[0] == field
    assert store.withheld_studies == ["huang2022"]
    assert "huang2022" not in set(store.studies.study_id)
    assert OTHERS <= set(store.studies.study_id)


def test_a_negative_n_is_one_problem_not_one_per_record(tmp_path):
    def change(data):
        data["studies"][0]["arms"][0]["n"] = -5
    store = load_store(copy_with(tmp_path, change))
    assert len(store.problems) == 1, "\n".join(map(str, store.problems[:5]))
    p = store.problems[0]
    assert (p.file, p.field) == (HUANG, "arms.0.n") and p.record.startswith("studies[0] (huang2022)")
    assert store.withheld_studies == ["huang2022"]


@pytest.mark.parametrize("how", ["truncated", "encoding", "not_a_mapping", "tab_indent"])
def test_an_unreadable_file_lists_its_study_as_withheld(tmp_path, how):
    edits = {
        # cut off in the middle of a flow list, as an interrupted copy leaves it
        "truncated": lambda b: b[: b.index(b"\n", len(b) // 2) + 1] + b"study_id: [huang2022, hu",
        "encoding": lambda b: b.replace(b"median", b"m\xe9dian", 1),
        "not_a_mapping": lambda b: b"- study_id: huang2022\n- a list\n",
        "tab_indent": lambda b: b.replace(b"\n  ", b"\n\t", 3),
    }
    store = load_store(copy_with(tmp_path, text=edits[how]))
    mine = [p for p in store.problems if p.file == HUANG]
    assert len(mine) == 1, mine
    assert "huang2022" in mine[0].message and "text scan" in mine[0].message
    assert store.withheld_studies == ["huang2022"]
    assert store.withheld_files == [HUANG]
    assert OTHERS <= set(store.studies.study_id)


def test_a_review_file_that_cannot_be_read_names_all_its_trials(tmp_path):
    d = tmp_path / "data"
    shutil.copytree(DATA_DIR, d)
    f = d / "002_gong2016_review.yaml"
    f.write_bytes(f.read_bytes()[:-20] + b"\xff\xfe")
    store = load_store(d)
    withheld = set(store.withheld_studies)
    assert {"each", "resorce", "brisk_fl", "jx594"} <= withheld
    assert not withheld & set(store.studies.study_id)
    assert {"sun2022", "huang2022"} <= set(store.studies.study_id)


def test_a_record_naming_an_undefined_study_withholds_the_file_not_a_phantom(tmp_path):
    def change(data):
        data["outcomes"][0]["study_id"] = "huang2O22"
    store = load_store(copy_with(tmp_path, change))
    assert store.withheld_studies == ["huang2022"]
    assert any(p.field == "study_id" and "unknown study_id" in p.message for p in store.problems)


@pytest.mark.parametrize("text", [b"- a list\n", b"terms: [1, 2]\n", b"terms:\n  nausea: [x]\n", b"\xff\xfe"])
def test_a_bad_ae_terms_file_is_a_problem_not_a_crash(tmp_path, text):
    path = tmp_path / "ae_terms.yaml"
    path.write_bytes(text)
    store = load_store(ae_terms=path)
    assert any(p.file == "ae_terms.yaml" and "not harmonised" in p.message for p in store.problems)
    assert len(store.adverse_events) > 0


# --- source_file must be a file of the sources folder ------------------------

@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..\\..\\secret.txt", "sub/000.txt", ".."])
def test_source_file_outside_the_sources_folder_is_refused(tmp_path, sources_dir, name):
    def change(data):
        data["source_file"] = name
    store = load_store(copy_with(tmp_path, change), sources=sources_dir)
    p = next(p for p in store.problems if p.file == HUANG)
    assert p.field == "source_file" and "not a file name inside the sources folder" in p.message
    assert store.withheld_studies == ["huang2022"]
    # and the reader itself never leaves the folder
    assert source_text(sources_dir, name) is None


# --- fuzz: random YAML trees and random types in every field -----------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
trees = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(st.text(max_size=6), kids, max_size=4)),
                     max_leaves=12)

BASE = yaml.safe_load((DATA_DIR / HUANG).read_text(encoding="utf-8"))
FIELDS = [(sec, k) for sec in ("studies", "outcomes", "hazard_ratios", "adverse_events", "conflicts")
          for k in BASE[sec][0]] + [("arms", k) for k in BASE["studies"][0]["arms"][0]] + [
          ("(top)", "source_file"), ("(top)", "studies"), ("(top)", "outcomes")]


def check_truthful(store, d: Path):
    served = set(store.studies.study_id)
    assert not served & set(store.withheld_studies)
    for table in (store.arms, store.outcomes, store.hazard_ratios, store.adverse_events, store.conflicts):
        assert not set(table.study_id) & set(store.withheld_studies)
    for p in store.problems:
        assert isinstance(p.file, str) and isinstance(p.record, str) and isinstance(p.field, str) and p.message
    if any(p.file == HUANG for p in store.problems):
        assert "huang2022" in store.withheld_studies, store.problems


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FIELDS), trees)
def test_fuzz_any_value_in_any_field(tmp_path_factory, where, value):
    import copy
    data = copy.deepcopy(BASE)
    sec, key = where
    if sec == "(top)":
        data[key] = value
    elif sec == "arms":
        data["studies"][0]["arms"][0][key] = value
    else:
        data[sec][0][key] = value
    d = tmp_path_factory.mktemp("fuzz")
    (d / HUANG).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shutil.copy(DATA_DIR / "000_sun2022_atra_folfox4.yaml", d)
    store = load_store(d)          # never raises
    check_truthful(store, d)
    assert "sun2022" in set(store.studies.study_id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trees)
def test_fuzz_any_yaml_document(tmp_path_factory, tree):
    d = tmp_path_factory.mktemp("fuzzdoc")
    (d / "009_random.yaml").write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    shutil.copy(DATA_DIR / "000_sun2022_atra_folfox4.yaml", d)
    store = load_store(d)
    assert "sun2022" in set(store.studies.study_id)
    assert any(p.file == "009_random.yaml" for p in store.problems)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_fuzz_any_bytes(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fuzzbytes")
    (d / "009_random.yaml").write_bytes(data)
    shutil.copy(DATA_DIR / "000_sun2022_atra_folfox4.yaml", d)
    store = load_store(d)
    assert "sun2022" in set(store.studies.study_id)
