"""Load the evidence files into tidy tables, checking every record on the way.

A malformed record never takes the whole store down: its problem is reported
with file, record and field, and only the study it belongs to is withheld from
the tables, so the views keep serving every other study.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from . import schema
from .checks import check_file
from .sources import default_sources_dir

DATA_DIR = Path(__file__).resolve().parent / "data"
# libyaml's loader parses the same safe subset about four times faster than the
# pure-Python one; YAML parsing is nearly all of the store's load time.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
AE_TERMS_FILE = Path(__file__).resolve().parent / "ae_terms.yaml"

SECTIONS: dict[str, type[BaseModel]] = {
    "outcomes": schema.Outcome,
    "hazard_ratios": schema.HazardRatio,
    "adverse_events": schema.AdverseEvent,
    "conflicts": schema.Conflict,
    "eligibility": schema.Criterion,
    "baseline": schema.BaselineRow,
    "design_details": schema.DesignDetail,
    "risk_of_bias": schema.RiskOfBias,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an evidence file, said so a curator can find it."""
    file: str
    record: str
    field: str
    message: str
    study_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.record}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class EvidenceError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def describe_record(section: str, index: int, raw: Any) -> str:
    """'outcomes[3] (sun2022 / atra_folfox4 / OS_median)': enough to find it in the file."""
    label = f"{section}[{index}]"
    if isinstance(raw, dict):
        keys = {
            "conflicts": ("conflict_id",),
            "eligibility": ("study_id", "field"),
            "baseline": ("study_id", "arm_id", "population", "characteristic", "category"),
        }.get(section, ("study_id", "arm_id", "experimental_arm_id", "endpoint", "term_reported", "grade", "item"))
        parts = [str(raw[k]) for k in keys if raw.get(k) is not None]
        if section == "studies" and raw.get("study_id"):
            parts = [str(raw["study_id"])]
        if parts:
            label += " (" + " / ".join(parts) + ")"
    return label


def _field_of(loc: tuple) -> str:
    return ".".join(str(x) for x in loc) or "(record)"


def _validate_record(model, raw, file, record, study_id):
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            Problem(file, record, _field_of(err["loc"]), err["msg"], study_id)
            for err in exc.errors()
        ]


def parse_file(path: Path) -> tuple[dict[str, list], list[Problem]]:
    """Parse one evidence file record by record.

    Returns the valid records per section and the problems found. A record's
    problem carries its study_id so that the caller can withhold that study.
    """
    name = path.name
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except UnicodeDecodeError as exc:
        return {}, [Problem(name, "(file)", "", f"not UTF-8 text: {exc}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return {}, [Problem(name, "(file)", "", f"not valid YAML{at}: {getattr(exc, 'problem', exc)}")]
    if not isinstance(raw, dict):
        return {}, [Problem(name, "(file)", "", "expected a mapping with 'source_file' and 'studies'")]

    problems: list[Problem] = []
    known = {"source_file", "studies", *SECTIONS}
    for key in raw:
        if key not in known:
            problems.append(Problem(name, "(file)", str(key), "unknown section"))
    source_file = raw.get("source_file")
    if not isinstance(source_file, str) or not source_file.strip():
        problems.append(Problem(name, "(file)", "source_file", "missing: the seed text this file was curated from"))
        source_file = None

    records: dict[str, list] = {"studies": []}
    raw_studies = raw.get("studies")
    if not isinstance(raw_studies, list) or not raw_studies:
        problems.append(Problem(name, "(file)", "studies", "missing or empty: at least one study is needed"))
        raw_studies = []
    for i, item in enumerate(raw_studies):
        sid = item.get("study_id") if isinstance(item, dict) else None
        rec, errs = _validate_record(schema.Study, item, name, describe_record("studies", i, item), sid)
        problems += errs
        if rec:
            records["studies"].append((i, rec))
    for section, model in SECTIONS.items():
        records[section] = []
        items = raw.get(section) or []
        if not isinstance(items, list):
            problems.append(Problem(name, "(file)", section, "must be a list of records"))
            continue
        for i, item in enumerate(items):
            sid = item.get("study_id") if isinstance(item, dict) else None
            rec, errs = _validate_record(model, item, name, describe_record(section, i, item), sid)
            problems += errs
            if rec:
                records[section].append((i, rec))
    records["source_file"] = source_file
    return records, problems


@dataclass
class Store:
    studies: pd.DataFrame
    arms: pd.DataFrame
    outcomes: pd.DataFrame
    hazard_ratios: pd.DataFrame
    adverse_events: pd.DataFrame
    conflicts: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    withheld_studies: list[str] = field(default_factory=list)
    # Eligibility criteria and baseline composition (evidence/fit.py reads them).
    eligibility: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline: pd.DataFrame = field(default_factory=pd.DataFrame)
    fingerprint: str = ""          # changes with any evidence file or source text: the views' cache key
    # One row per design fact (design_details) and one per comparison, endpoint
    # and risk-of-bias domain, with an 'overall' row per comparison and endpoint.
    design_details: pd.DataFrame = field(default_factory=pd.DataFrame)
    risk_of_bias: pd.DataFrame = field(default_factory=pd.DataFrame)

    def study(self, study_id: str) -> dict:
        return self.studies.set_index("study_id").loc[study_id].to_dict()

    # Labels are looked up thousands of times per page run: build the maps once.
    # The store is read-only after loading, so the maps never go stale.
    def _labels(self) -> tuple[dict, dict]:
        cached = self.__dict__.get("_label_maps")
        if cached is None:
            arms = {(a.study_id, a.arm_id): a.label for a in self.arms.itertuples()}
            studies = {r.study_id: _study_label(r) for r in self.studies.itertuples()}
            cached = self.__dict__["_label_maps"] = (studies, arms)
        return cached

    def arm_label(self, study_id: str, arm_id: str) -> str:
        return self._labels()[1].get((study_id, arm_id), arm_id)

    def study_label(self, study_id: str) -> str:
        """The name a clinician knows a study by: short name, trial name, or first author and year."""
        return self._labels()[0].get(study_id, study_id)


def _study_label(st) -> str:
    for attr in ("short_name", "trial_name"):
        v = getattr(st, attr, None)
        if isinstance(v, str) and v:
            return v
    author = getattr(st, "first_author", None)
    if isinstance(author, str) and author:
        year = getattr(st, "year", None)
        return f"{author} {int(year)}" if year is not None and not pd.isna(year) else author
    return st.study_id


def _p_value(p) -> tuple[float | None, str | None]:
    """'<0.001' -> (0.001, '<0.001'); 0.02 -> (0.02, '0.02'). The text is kept as printed."""
    if p is None:
        return None, None
    text = str(p).strip()
    digits = text.lstrip("<>=≤≥ ").strip()
    try:
        return float(digits), text
    except ValueError:
        return None, text


def _load_ae_terms(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    return {str(k).strip().lower(): v for k, v in (raw.get("terms") or {}).items()}


def load_store(path: str | Path | None = None, sources: str | Path | None = None,
               strict: bool = False, ae_terms: str | Path | None = None) -> Store:
    """Load every *.yaml evidence file of a directory (the bundled ones by default).

    sources: the directory of seed texts; when given, every snippet is checked
    against its source. strict=True raises EvidenceError on any problem;
    otherwise the problems are kept in store.problems and only the studies they
    concern are withheld.
    """
    data_dir = Path(path) if path is not None else DATA_DIR
    files = sorted(p for p in data_dir.glob("*.yaml") if p.is_file())
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(str(data_dir), "(directory)", "", "no evidence files (*.yaml) found"))
    parsed = []
    seen_studies: dict[str, str] = {}
    for f in files:
        records, errs = parse_file(f)
        problems += errs
        for _, st in records.get("studies", []):
            if st.study_id in seen_studies:
                problems.append(Problem(f.name, f"studies ({st.study_id})", "study_id",
                                        f"duplicate study_id: already defined in {seen_studies[st.study_id]}",
                                        st.study_id))
            else:
                seen_studies[st.study_id] = f.name
        parsed.append((f, records, errs))

    sources_dir = Path(sources) if sources is not None else None
    for f, records, errs in parsed:
        problems += check_file(f.name, records, sources_dir, file_had_errors=bool(errs))

    broken_files = {p.file for p in problems if p.record == "(file)" and p.field in ("", "studies", "source_file")}
    withheld = sorted({p.study_id for p in problems if p.study_id})
    if strict and problems:
        raise EvidenceError(problems)

    terms = _load_ae_terms(Path(ae_terms) if ae_terms else AE_TERMS_FILE)
    rows: dict[str, list[dict]] = {k: [] for k in ("studies", "arms", "outcomes", "hazard_ratios",
                                                   "adverse_events", "conflicts", "eligibility",
                                                   "baseline", "design_details", "risk_of_bias")}
    for f, records, _ in parsed:
        if f.name in broken_files:
            withheld += [st.study_id for _, st in records.get("studies", [])]
            continue
        for _, st in records["studies"]:
            if st.study_id in withheld:
                continue
            d = st.model_dump(exclude={"arms"})
            d["source_file"] = records["source_file"]
            d["evidence_file"] = f.name
            d["n_arms"] = len(st.arms)
            rows["studies"].append(d)
            rows["design_details"].append(_source_kind_detail(st, f.name))
            for arm in st.arms:
                a = arm.model_dump()
                a["study_id"] = st.study_id
                rows["arms"].append(a)
        for section in SECTIONS:
            for i, rec in records[section]:
                if rec.study_id in withheld:
                    continue
                d = rec.model_dump()
                d["record_id"] = f"{f.stem}:{section}[{i}]"
                d["evidence_file"] = f.name
                if "p" in d:
                    d["p"], d["p_text"] = _p_value(d["p"])
                if section == "adverse_events":
                    mapped = terms.get(rec.term_reported.strip().lower(), {})
                    d["term"] = mapped.get("term")
                    d["category"] = mapped.get("category")
                if section == "hazard_ratios":
                    d["adjusted_for"] = ", ".join(d["adjusted_for"])
                if section == "risk_of_bias":
                    rows[section] += _risk_of_bias_rows(d)
                    continue
                if section == "design_details":
                    d["covariates"] = ", ".join(d["covariates"])
                    d["value_text"] = _design_text(d["value"])
                rows[section].append(d)
    withheld = sorted(set(withheld))
    _mark_conflict_severity(rows)
    return Store(
        studies=_frame(rows["studies"], ["study_id", "source_file", "citation", "doi", "design"]),
        arms=_frame(rows["arms"], ["study_id", "arm_id", "label", "regimen", "route", "n"]),
        outcomes=_frame(rows["outcomes"], [
            "study_id", "arm_id", "endpoint", "qualifier", "value", "unit", "ci_low", "ci_high", "count",
            "denominator", "timepoint_months", "criteria", "population", "subgroup",
            "reported_name", "location", "snippet", "derived", "formula", "conflict_ids",
            "conflict_severity"]),
        hazard_ratios=_frame(rows["hazard_ratios"], [
            "study_id", "experimental_arm_id", "reference_arm_id", "endpoint", "hr", "ci_low",
            "ci_high", "ci_level", "p", "p_text", "adjusted", "adjusted_for", "model", "population",
            "subgroup", "reported_name", "location", "snippet", "derived", "formula", "conflict_ids",
            "conflict_severity"]),
        adverse_events=_frame(rows["adverse_events"], [
            "study_id", "arm_id", "term_reported", "term", "category", "grade", "count",
            "denominator", "percent", "location", "snippet", "derived", "formula", "conflict_ids",
            "conflict_severity"]),
        conflicts=_frame(rows["conflicts"], [
            "conflict_id", "study_id", "kind", "severity", "description", "values", "resolution"],
            conflicts=True),
        problems=problems,
        withheld_studies=withheld,
        eligibility=_frame(rows["eligibility"], [
            "study_id", "field", "kind", "criterion", "admits", "excludes", "age_min",
            "age_min_inclusive", "age_max", "age_max_inclusive", "location", "snippet",
            "context_snippet", "conflict_ids", "note"]),
        baseline=_frame(rows["baseline"], [
            "study_id", "arm_id", "population", "characteristic", "category", "reported_name",
            "cutoff", "cutoff_unit", "count", "denominator", "percent", "statistic", "value",
            "spread", "range_low", "range_high", "location", "snippet", "context_snippet",
            "derived", "formula", "conflict_ids", "note"]),
        design_details=_frame(rows["design_details"], [
            "study_id", "item", "value", "value_text", "detail", "covariates", "location", "snippet",
            "context_snippet", "note"]),
        risk_of_bias=_frame(rows["risk_of_bias"], [
            "study_id", "experimental_arm_id", "reference_arm_id", "endpoint", "population", "subgroup",
            "tool", "domain", "judgement", "reason", "location", "snippet", "context_snippet",
            "judged_by"]),
        fingerprint=fingerprint(data_dir, sources_dir, Path(ae_terms) if ae_terms else AE_TERMS_FILE),
    )


_DESIGN_WORDS = {
    schema.DESIGN_NOT_REPORTED: "not reported in the source",
    "patient_choice": "patient's choice",
    "physician_choice": "physician's choice",
    "non_randomised_not_described": "non-randomised, assignment not described",
    "outcome_assessor_blinded": "outcome assessors blinded",
    "retrospective_analysis_of_prospective_data": "retrospective analysis of prospectively collected data",
    "subgroup_or_post_hoc_of_trials": "subgroup or post hoc analysis of other trials",
    "losses_excluded": "patients lost to follow-up excluded",
    "losses_reported": "losses to follow-up reported",
}


def _design_text(value: str) -> str:
    """'patient_choice' -> "patient's choice"; 'not_reported' -> 'not reported in the source'."""
    return _DESIGN_WORDS.get(value, value.replace("_", " "))


def _source_kind_detail(st, evidence_file: str) -> dict:
    """The source kind is a design fact too; it is known from the study record."""
    review = st.source_kind == "review"
    return {
        "study_id": st.study_id, "item": "source_kind",
        "value": "review_report" if review else "primary_paper",
        "value_text": "reported through a review" if review else "primary paper",
        "detail": st.citation, "covariates": "", "location": "study record", "snippet": None,
        "context_snippet": None, "note": None, "evidence_file": evidence_file,
    }


def _risk_of_bias_rows(d: dict) -> list[dict]:
    """One row per endpoint and domain, plus an 'overall' row: easy to join to hazard ratios."""
    out = []
    for endpoint in d["endpoints"]:
        key = {k: d[k] for k in ("study_id", "experimental_arm_id", "reference_arm_id", "population",
                                 "subgroup", "tool", "judged_by", "record_id", "evidence_file")}
        key["endpoint"] = endpoint
        for dom in d["domains"]:
            out.append({**key, **dom})
        out.append({**key, "domain": "overall", "judgement": d["overall"], "reason": d["overall_reason"],
                    "location": None, "snippet": None, "context_snippet": None})
    return out


def fingerprint(data_dir: Path, sources_dir: Path | None = None, ae_terms: Path = AE_TERMS_FILE) -> str:
    """Names, sizes and modification times of the evidence files, the term map and the source
    texts: a curator's edit changes it, so every cached view built from the old files is left behind."""
    files = sorted(Path(data_dir).glob("*.yaml")) + [Path(ae_terms)]
    if sources_dir is not None and Path(sources_dir).is_dir():
        files += sorted(p for p in Path(sources_dir).iterdir() if p.is_file())
    digest = hashlib.sha256()
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        digest.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _mark_conflict_severity(rows: dict[str, list[dict]]) -> None:
    """conflict_severity on every record: 'major' if any conflict it points to is major, 'minor' if
    it points only to minor ones, None without conflicts. Views mark major ones prominently.

    Conflict ids are unique within an evidence file, so they are looked up per file.
    """
    severity = {(c["evidence_file"], c["conflict_id"]): c["severity"] for c in rows["conflicts"]}
    for section in ("studies", "outcomes", "hazard_ratios", "adverse_events"):
        for r in rows[section]:
            found = [severity.get((r.get("evidence_file"), cid)) for cid in r.get("conflict_ids") or []]
            r["conflict_severity"] = ("major" if "major" in found else "minor") if found else None


def _frame(rows: list[dict], first: list[str], conflicts: bool = False) -> pd.DataFrame:
    if conflicts:
        for r in rows:
            r["snippets"] = [v["snippet"] for v in r["values"]]
            r["locations"] = [v["location"] for v in r["values"]]
            # None: the snippet is from the file's own source text; else the other paper's seed text
            r["source_files"] = [v.get("source_file") for v in r["values"]]
            r["values"] = [v["value"] for v in r["values"]]
        first = first + ["snippets", "locations", "source_files"]
    df = pd.DataFrame(rows)
    for c in first:
        if c not in df.columns:
            df[c] = pd.Series(dtype=object)
    rest = [c for c in df.columns if c not in first]
    return df[first + rest].reset_index(drop=True)
