"""Checks that go beyond the schema: references between records, arithmetic
consistency, and (when the source texts are at hand) that every snippet is
verbatim in its source and holds the number it is quoted for.

A consistency check that fails is acceptable only when the record points to a
recorded conflict of its own study that holds the very number in question: the
paper contradicts itself there and the curator said so. A conflict about
something else excuses nothing.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from .sources import normalise, occurs, source_text

if TYPE_CHECKING:  # pragma: no cover
    from .store import Problem

RESPONSE = {"ORR", "DCR", "CR", "PR", "SD", "PD"}
# No survival time, follow-up or landmark in these papers comes near 50 years:
# a larger number is a typo (days for months, a misplaced decimal point).
MAX_MONTHS = 600


def _percent_matches(percent: float, count: int, denominator: int) -> bool:
    """Printed percent equals count/denominator within the rounding it was printed with."""
    exact = 100.0 * count / denominator
    tolerance = 0.5 if float(percent).is_integer() else 0.051
    return abs(exact - percent) <= tolerance + 1e-9


def check_file(name: str, records: dict, sources_dir: Path | None, file_had_errors: bool = False) -> list["Problem"]:
    from .store import Problem, describe_record

    problems: list[Problem] = []
    studies = {st.study_id: st for _, st in records.get("studies", [])}
    arms = {sid: {a.arm_id: a for a in st.arms} for sid, st in studies.items()}
    conflicts = {c.conflict_id: c for _, c in records.get("conflicts", [])}
    conflict_ids = set(conflicts)
    # studies whose own record failed the schema: that problem is already
    # reported once; their other records are not "unknown study" a hundred times
    invalid_studies = set(records.get("invalid_studies", ()))
    source = None
    if sources_dir is not None and records.get("source_file"):
        source = source_text(sources_dir, records["source_file"])
        if source is None:
            problems.append(Problem(name, "(file)", "source_file",
                                    f"source text {records['source_file']} not found in {sources_dir}"))

    def add(section, i, rec, fld, msg):
        record = describe_record(section, i, rec.model_dump())
        problems.append(Problem(name, record, fld, msg, getattr(rec, "study_id", None)))

    def check_snippets(section, i, rec, numbers: dict[str, float | None]):
        if source is None:
            return
        texts = []
        for fld in ("snippet", "context_snippet"):
            text = getattr(rec, fld, None)
            if text:
                if normalise(text) not in source:
                    add(section, i, rec, fld, f"not found verbatim in {records['source_file']}: {text[:80]!r}")
                texts.append(normalise(text))
        if getattr(rec, "derived", False):
            return
        joined = " | ".join(texts)
        for fld, value in numbers.items():
            if value is not None and not occurs(float(value), joined):
                add(section, i, rec, fld, f"{value:g} does not occur in the snippet")

    # --- studies and arms -------------------------------------------------
    for i, st in records.get("studies", []):
        for cid in st.conflict_ids + [c for a in st.arms for c in a.conflict_ids]:
            if cid not in conflict_ids:
                add("studies", i, st, "conflict_ids", f"no conflict {cid!r} recorded in this file")
        if st.primary_comparison:
            for a in st.primary_comparison:
                if a not in arms[st.study_id]:
                    add("studies", i, st, "primary_comparison", f"unknown arm_id {a!r}")
        if source is not None:
            if st.snippet and normalise(st.snippet) not in source:
                add("studies", i, st, "snippet", "not found verbatim in the source")
            for arm in st.arms:
                if arm.snippet and normalise(arm.snippet) not in source:
                    add("studies", i, st, f"arms.{arm.arm_id}.snippet", "not found verbatim in the source")
                if arm.snippet and arm.n and not occurs(arm.n, normalise(arm.snippet)):
                    add("studies", i, st, f"arms.{arm.arm_id}.n", f"{arm.n} does not occur in the arm's snippet")

    def known_arm(section, i, rec, fld, arm_id):
        if rec.study_id in invalid_studies:
            return None
        if rec.study_id not in studies:
            add(section, i, rec, "study_id", f"unknown study_id {rec.study_id!r} (not defined in this file)")
            return None
        if arm_id is None:
            return None
        arm = arms[rec.study_id].get(arm_id)
        if arm is None:
            add(section, i, rec, fld, f"unknown arm_id {arm_id!r} for study {rec.study_id}")
        return arm

    def has_conflict(rec, *fields, also=()):
        """Excused only by a conflict the record lists, about its study, holding
        the value of one of the fields in question (or one of `also`)."""
        values = [getattr(rec, f, None) for f in fields] + list(also)
        values = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        for cid in getattr(rec, "conflict_ids", None) or []:
            c = conflicts.get(cid)
            if c is None or c.study_id != rec.study_id:
                continue
            for cv in c.values:
                if isinstance(cv.value, (int, float)) and any(abs(float(cv.value) - v) < 1e-9 for v in values):
                    return True
        return False

    def unexcused(rec) -> str:
        return (" (the conflicts this record lists do not hold this number)"
                if getattr(rec, "conflict_ids", None) else "")

    def check_conflict_refs(section, i, rec):
        for cid in getattr(rec, "conflict_ids", []):
            if cid not in conflict_ids:
                add(section, i, rec, "conflict_ids", f"no conflict {cid!r} recorded in this file")

    def check_counts(section, i, rec, arm, percent):
        n = None
        if arm is not None:
            n = arm.n
        if rec.count is not None and rec.denominator is not None and rec.count > rec.denominator:
            if not has_conflict(rec, "count", "denominator"):
                add(section, i, rec, "count",
                    f"count {rec.count} exceeds denominator {rec.denominator}{unexcused(rec)}")
        if rec.denominator is not None and n is not None and rec.denominator > n:
            if not has_conflict(rec, "denominator", also=(n,)):
                add(section, i, rec, "denominator",
                    f"denominator {rec.denominator} exceeds the arm's n {n}{unexcused(rec)}")
        if percent is not None and rec.count is not None and rec.denominator:
            fld = "percent" if section == "adverse_events" else "value"
            if not _percent_matches(percent, rec.count, rec.denominator) and not has_conflict(
                    rec, fld, "count", "denominator"):
                add(section, i, rec, fld,
                    f"printed {percent:g}% differs from {rec.count}/{rec.denominator} = "
                    f"{100 * rec.count / rec.denominator:.2f}% (record a conflict if the paper says so)"
                    f"{unexcused(rec)}")

    def check_interval(section, i, rec, estimate, est_field, what):
        """CI low <= high, and low <= estimate <= high; each failure names its own field."""
        lo, hi = rec.ci_low, rec.ci_high
        if lo is not None and hi is not None and lo > hi:
            if not has_conflict(rec, "ci_low", "ci_high"):
                add(section, i, rec, "ci_low", f"CI lower bound {lo:g} is above the upper bound {hi:g}{unexcused(rec)}")
            return
        if estimate is None:
            return
        if lo is not None and lo > estimate and not has_conflict(rec, "ci_low", est_field):
            add(section, i, rec, "ci_low",
                f"CI {lo:g}-{hi if hi is not None else '?'} does not contain {what} {estimate:g}: "
                f"the lower bound is above it{unexcused(rec)}")
        if hi is not None and hi < estimate and not has_conflict(rec, "ci_high", est_field):
            add(section, i, rec, "ci_high",
                f"CI {lo if lo is not None else '?'}-{hi:g} does not contain {what} {estimate:g}: "
                f"the upper bound is below it{unexcused(rec)}")

    # --- outcomes ---------------------------------------------------------
    medians: dict[tuple, float] = {}
    rates: list[tuple] = []
    for i, o in records.get("outcomes", []):
        arm = known_arm("outcomes", i, o, "arm_id", o.arm_id)
        check_conflict_refs("outcomes", i, o)
        pct = o.value if (o.unit == "percent" and o.endpoint in RESPONSE) else None
        check_counts("outcomes", i, o, arm, pct)
        check_interval("outcomes", i, o, o.value, "value", "the estimate")
        if o.unit == "percent":
            for fld in ("value", "ci_low", "ci_high"):
                v = getattr(o, fld)
                if v is not None and not 0 <= v <= 100:
                    add("outcomes", i, o, fld, f"a percentage of {v:g} is impossible (must be 0-100)")
        if o.unit == "months":
            for fld in ("value", "ci_low", "ci_high", "range_low", "range_high"):
                v = getattr(o, fld)
                if v is not None and v > MAX_MONTHS:
                    add("outcomes", i, o, fld, f"{v:g} months is implausible (more than {MAX_MONTHS // 12} years)")
        if o.timepoint_months is not None and o.timepoint_months > MAX_MONTHS:
            add("outcomes", i, o, "timepoint_months",
                f"a landmark at {o.timepoint_months:g} months is implausible (more than {MAX_MONTHS // 12} years)")
        family = o.endpoint.split("_")[0]
        key = (o.study_id, o.arm_id, family, o.population, o.subgroup)
        if o.endpoint.endswith("_median") and o.value is not None:
            medians[key] = o.value
        if o.endpoint.endswith("_rate") and o.value is not None:
            rates.append((key, i, o))
        check_snippets("outcomes", i, o, {
            "value": None if o.printed_value else o.value, "ci_low": o.ci_low, "ci_high": o.ci_high,
            "count": o.count, "range_low": o.range_low, "range_high": o.range_high,
            "timepoint_months": None})
        if o.printed_value and not o.derived:
            add("outcomes", i, o, "printed_value", "a converted value must be marked derived with its formula")
    for key, i, o in rates:
        m = medians.get(key)
        if m is None or has_conflict(o, "value", also=(m,)):
            continue
        t = o.timepoint_months
        if (t < m and o.value < 50) or (t > m and o.value > 50):
            add("outcomes", i, o, "value",
                f"{t:g}-month rate {o.value:g}% is on the wrong side of 50% for a median of {m:g} months")

    # --- hazard ratios ----------------------------------------------------
    for i, h in records.get("hazard_ratios", []):
        known_arm("hazard_ratios", i, h, "experimental_arm_id", h.experimental_arm_id)
        known_arm("hazard_ratios", i, h, "reference_arm_id", h.reference_arm_id)
        if h.experimental_arm_id == h.reference_arm_id:
            add("hazard_ratios", i, h, "reference_arm_id", "compares an arm with itself")
        check_conflict_refs("hazard_ratios", i, h)
        if (h.ci_low is None) != (h.ci_high is None):
            add("hazard_ratios", i, h, "ci_high", "give both CI bounds or neither")
        check_interval("hazard_ratios", i, h, h.hr, "hr", "the hazard ratio")
        check_snippets("hazard_ratios", i, h, {"hr": h.hr, "ci_low": h.ci_low, "ci_high": h.ci_high})

    # --- adverse events ---------------------------------------------------
    for i, a in records.get("adverse_events", []):
        arm = known_arm("adverse_events", i, a, "arm_id", a.arm_id)
        check_conflict_refs("adverse_events", i, a)
        check_counts("adverse_events", i, a, arm, a.percent)
        check_snippets("adverse_events", i, a, {"count": a.count, "percent": a.percent})

    # --- conflicts --------------------------------------------------------
    for i, c in records.get("conflicts", []):
        if c.study_id not in studies and c.study_id not in invalid_studies:
            add("conflicts", i, c, "study_id", f"unknown study_id {c.study_id!r} (not defined in this file)")
        if source is None:
            continue
        for j, v in enumerate(c.values):
            if normalise(v.snippet) not in source:
                add("conflicts", i, c, f"values.{j}.snippet", f"not found verbatim in the source: {v.snippet[:80]!r}")
            elif isinstance(v.value, (int, float)) and not occurs(float(v.value), normalise(v.snippet)):
                add("conflicts", i, c, f"values.{j}.value", f"{v.value:g} does not occur in its snippet")
    return problems
