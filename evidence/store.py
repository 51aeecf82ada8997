"""Load the evidence files into tidy tables, checking every record on the way.

A malformed record never takes the whole store down: its problem is reported
with file, record and field, and only the study it belongs to is withheld from
the tables, so the views keep serving every other study.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from . import schema
from .checks import check_file
from .problems import EvidenceError, Problem, describe_record, short as _short

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


def _field_of(loc: tuple) -> str:
    return ".".join(str(x) for x in loc) or "(record)"


def _validate_record(model, raw, file, record, study_id):
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            Problem(file, record, _field_of(err["loc"]), err["msg"].removeprefix("Value error, "), study_id)
            for err in exc.errors()
        ]


# Bounds on an evidence file, checked before the parser builds anything. The
# largest curated file is ~160 kB and nests 6 levels deep with no aliases, so
# these leave ample room while stopping a crafted file: libyaml's composer
# recurses once per nesting level and crashes the process (no exception) a few
# tens of thousands of levels down, and aliases let a few hundred bytes expand
# into billions of nodes when the records are validated.
MAX_FILE_BYTES = 2_000_000
MAX_DEPTH = 20
MAX_NODES = 200_000          # scalars and collections, counting every alias expansion
_STUDY_ID_LINE = re.compile(r"""^[\s\-]*["']?study_id["']?\s*:\s*["']?([a-z0-9_]+)["']?\s*(?:#.*)?$""",
                            re.MULTILINE)


class FileRefused(Exception):
    """An evidence file that is not read at all; the message says why."""


def _bounded_events(text: str) -> None:
    """Walk libyaml's event stream (an iterative state machine, safe at any depth)
    and refuse the file as soon as it nests too deep or expands too far."""
    opening = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    closing = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    scalar, alias = yaml.ScalarEvent, yaml.AliasEvent
    sizes: list[int] = [0]                    # nodes inside each open collection (and the document)
    open_anchors: list[str | None] = []
    anchors: dict[str, int | None] = {}       # anchor -> expanded size (None while still open)
    total = 0
    for ev in yaml.parse(text, Loader=_YAML_LOADER):
        kind = type(ev)
        if kind is scalar:
            total += 1
            sizes[-1] += 1
            if ev.anchor:
                anchors[ev.anchor] = 1
        elif kind in opening:
            if len(open_anchors) >= MAX_DEPTH:
                line = ev.start_mark.line + 1 if ev.start_mark else "?"
                raise FileRefused(f"nested more than {MAX_DEPTH} levels deep (line {line}); "
                                  "an evidence file needs about 6")
            total += 1
            sizes.append(1)
            open_anchors.append(ev.anchor)
            if ev.anchor:
                anchors[ev.anchor] = None
        elif kind in closing:
            size = sizes.pop()
            anchor = open_anchors.pop()
            if anchor:
                anchors[anchor] = size
            sizes[-1] += size
        elif kind is alias:
            size = anchors.get(ev.anchor)
            if size is None:
                raise FileRefused(f"alias *{ev.anchor} refers to an anchor that is missing or contains itself")
            total += size
            sizes[-1] += size
        else:
            continue                          # stream and document start/end
        if total > MAX_NODES:
            raise FileRefused(f"expands to more than {MAX_NODES:,} values (aliases repeating aliases); "
                              "an evidence file needs no aliases")


def read_yaml_bounded(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """The YAML document of a file, or FileRefused saying why it cannot be read.

    Never raises anything else and never hands libyaml's composer a document
    deeper than MAX_DEPTH or larger than MAX_NODES.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileRefused(f"cannot be read: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise FileRefused(f"the file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:g} MB")
    try:
        text = path.read_bytes()[:max_bytes + 1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"not UTF-8 text (byte {exc.start + 1} cannot be read)") from None
    except OSError as exc:
        raise FileRefused(f"cannot be read: {exc.strerror or exc}") from None
    try:
        _bounded_events(text)
        return yaml.load(text, Loader=_YAML_LOADER)
    except FileRefused:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FileRefused(f"not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # e.g. a date such as 2022-13-45, an integer of 5,000 digits
        raise FileRefused(f"a value cannot be read: {_short(str(exc), 120)}") from None


def scan_study_ids(path: Path) -> list[str]:
    """Study ids named in a file that cannot be parsed, found line by line in its
    raw text (undecodable bytes replaced), so that the banner can say which
    studies the broken file takes away."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES)
    except OSError:
        return []
    text = raw.decode("utf-8", errors="replace")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]      # a cut-off last line may hold half an id
    return sorted(set(_STUDY_ID_LINE.findall(text)))


def _study_key(raw: Any) -> str | None:
    """A record's study_id if it is usable as one (a short plain string), else None."""
    sid = raw.get("study_id") if isinstance(raw, dict) else None
    if isinstance(sid, str) and sid and len(sid) <= 100:
        return sid
    return None


def _source_file_problem(source_file: Any) -> str | None:
    if not isinstance(source_file, str) or not source_file.strip():
        return "missing: the seed text this file was curated from"
    name = source_file.strip()
    # a bare file name inside the sources folder: no folders, no '..', no drive or absolute path
    if ("/" in name or "\\" in name or name in (".", "..") or ":" in name or "\x00" in name
            or len(name) > 200):
        return (f"{_short(name)!r} is not a file name inside the sources folder "
                "(give the bare name, e.g. 000_3209404299ee78f6.txt)")
    return None


def parse_file(path: Path) -> tuple[dict[str, list], list[Problem]]:
    """Parse one evidence file record by record.

    Returns the valid records per section and the problems found. A record's
    problem carries its study_id so that the caller can withhold that study.
    Never raises for bad content. records['invalid_studies'] holds the ids of
    studies whose own record failed (their other records are not re-reported as
    'unknown study'); records['unplaced'] is True when a record's study could not
    be told, so every study of the file is withheld.
    """
    name = path.name
    try:
        raw = read_yaml_bounded(path)
    except FileRefused as exc:
        return {}, [Problem(name, "(file)", "", str(exc))]
    if not isinstance(raw, dict):
        return {}, [Problem(name, "(file)", "", "expected a mapping with 'source_file' and 'studies'")]

    problems: list[Problem] = []
    known = {"source_file", "studies", *SECTIONS}
    for key in raw:
        if key not in known:
            problems.append(Problem(name, "(file)", _short(str(key)), "unknown section"))
    source_file = raw.get("source_file")
    why = _source_file_problem(source_file)
    if why:
        problems.append(Problem(name, "(file)", "source_file", why))
        source_file = None
    else:
        source_file = source_file.strip()

    records: dict[str, Any] = {"studies": [], "invalid_studies": set(), "unplaced": False}
    raw_studies = raw.get("studies")
    if not isinstance(raw_studies, list) or not raw_studies:
        problems.append(Problem(name, "(file)", "studies", "missing or empty: at least one study is needed"))
        raw_studies = []
    for i, item in enumerate(raw_studies):
        sid = _study_key(item)
        rec, errs = _validate_record(schema.Study, item, name, describe_record("studies", i, item), sid)
        problems += errs
        if rec:
            records["studies"].append((i, rec))
        elif sid:
            records["invalid_studies"].add(sid)
        else:
            records["unplaced"] = True
    for section, model in SECTIONS.items():
        records[section] = []
        items = raw.get(section)
        if items is None:
            items = []
        if not isinstance(items, list):
            problems.append(Problem(name, "(file)", section, "must be a list of records"))
            records["unplaced"] = True     # its records are lost; which studies they belong to is unknown
            continue
        for i, item in enumerate(items):
            sid = _study_key(item)
            rec, errs = _validate_record(model, item, name, describe_record(section, i, item), sid)
            problems += errs
            if rec:
                records[section].append((i, rec))
            elif sid is None:
                records["unplaced"] = True
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
    # files not read at all: every study named in them is in withheld_studies
    withheld_files: list[str] = field(default_factory=list)

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


def _load_ae_terms(path: Path) -> tuple[dict[str, dict], list[Problem]]:
    if not path.is_file():
        return {}, []
    try:
        raw = read_yaml_bounded(path)
    except FileRefused as exc:
        return {}, [Problem(path.name, "(file)", "", f"{exc}; adverse-event terms are not harmonised")]
    terms = raw.get("terms") if isinstance(raw, dict) else None
    if not isinstance(terms, dict):
        return {}, [Problem(path.name, "(file)", "terms", "expected a mapping of reported term to "
                            "{term, category}; adverse-event terms are not harmonised")]
    out, problems = {}, []
    for k, v in terms.items():
        if isinstance(v, dict) and all(isinstance(v.get(f), (str, type(None))) for f in ("term", "category")):
            out[str(k).strip().lower()] = v
        else:
            problems.append(Problem(path.name, f"terms ({_short(str(k), 40)})", "(record)",
                                    "expected {term: ..., category: ...}; this term is not harmonised"))
    return out, problems


def load_store(path: str | Path | None = None, sources: str | Path | None = None,
               strict: bool = False, ae_terms: str | Path | None = None) -> Store:
    """Load every *.yaml evidence file of a directory (the bundled ones by default).

    sources: the directory of seed texts; when given, every snippet is checked
    against its source. strict=True raises EvidenceError on any problem;
    otherwise the problems are kept in store.problems and only the studies they
    concern are withheld. Bad data never raises here (strict aside): every
    failure is a Problem naming file, record and field.
    """
    data_dir = Path(path) if path is not None else DATA_DIR
    try:
        files = sorted(p for p in data_dir.glob("*.yaml") if p.is_file())
    except OSError:
        files = []
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

    # Which studies are withheld, decided once before any row is built.
    broken_files = {p.file for p in problems if p.record == "(file)" and p.field in ("", "studies", "source_file")}
    withheld: set[str] = set()
    file_studies: dict[str, list[str]] = {}
    for f, records, _ in parsed:
        ids = [st.study_id for _, st in records.get("studies", [])] + sorted(records.get("invalid_studies", ()))
        if records.get("unplaced") and f.name not in broken_files:
            # a study record without a usable id: the ids its records name tell which it was
            ids = sorted(set(ids) | set(scan_study_ids(f)))
        if f.name in broken_files and not records.get("studies"):
            # nothing could be read: find the ids in the raw text so the banner can name them
            # (said in the file's own problem: one root cause, one problem)
            ids = scan_study_ids(f)
            k = next(j for j, p in enumerate(problems) if p.file == f.name and p.record == "(file)")
            problems[k] = replace(problems[k], message=problems[k].message + (
                "; the whole file is withheld, with the studies named in it (found by a text scan): "
                + (", ".join(ids) if ids else "none could be found")))
        file_studies[f.name] = ids
        if f.name in broken_files or records.get("unplaced"):
            withheld.update(ids)
    by_file: dict[str, list[Problem]] = {}
    for p in problems:
        by_file.setdefault(p.file, []).append(p)
    for f, records, _ in parsed:
        here = set(file_studies[f.name])
        for p in by_file.get(f.name, []):
            if p.study_id in here:
                withheld.add(p.study_id)
            elif p.study_id is not None:
                # a record naming a study this file does not define: the study that
                # lost the record cannot be told, so the file's studies are withheld
                withheld.update(here)
    withheld_files = sorted(broken_files & {f.name for f, _, _ in parsed})
    if strict and problems:
        raise EvidenceError(problems)

    terms, term_problems = _load_ae_terms(Path(ae_terms) if ae_terms else AE_TERMS_FILE)
    problems += term_problems
    rows: dict[str, list[dict]] = {k: [] for k in ("studies", "arms", "outcomes", "hazard_ratios",
                                                   "adverse_events", "conflicts", "eligibility",
                                                   "baseline", "design_details", "risk_of_bias")}
    for f, records, _ in parsed:
        if f.name in broken_files:
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
        defined = {st.study_id for _, st in records["studies"]}
        for section in SECTIONS:
            for i, rec in records[section]:
                if rec.study_id in withheld or rec.study_id not in defined:
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
        withheld_studies=sorted(withheld),
        withheld_files=withheld_files,
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
