"""Checks that go beyond the schema: references between records, arithmetic
consistency, and (when the source texts are at hand) that every snippet is
verbatim in its source and holds the number it is quoted for.

A consistency check that fails is acceptable only when the record points to a
recorded conflict: the paper contradicts itself and the curator said so.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from .sources import normalise, occurs, source_text

if TYPE_CHECKING:  # pragma: no cover
    from .store import Problem

RESPONSE = {"ORR", "DCR", "CR", "PR", "SD", "PD"}


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
    conflict_ids = {c.conflict_id for _, c in records.get("conflicts", [])}
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
        if rec.study_id not in studies:
            add(section, i, rec, "study_id", f"unknown study_id {rec.study_id!r} (not defined in this file)")
            return None
        if arm_id is None:
            return None
        arm = arms[rec.study_id].get(arm_id)
        if arm is None:
            add(section, i, rec, fld, f"unknown arm_id {arm_id!r} for study {rec.study_id}")
        return arm

    def has_conflict(rec):
        return bool(getattr(rec, "conflict_ids", None))

    def check_conflict_refs(section, i, rec):
        for cid in getattr(rec, "conflict_ids", []):
            if cid not in conflict_ids:
                add(section, i, rec, "conflict_ids", f"no conflict {cid!r} recorded in this file")

    def check_counts(section, i, rec, arm, percent):
        n = None
        if arm is not None:
            n = arm.n
        if rec.count is not None and rec.denominator is not None and rec.count > rec.denominator:
            if not has_conflict(rec):
                add(section, i, rec, "count", f"count {rec.count} exceeds denominator {rec.denominator}")
        if rec.denominator is not None and n is not None and rec.denominator > n:
            if not has_conflict(rec):
                add(section, i, rec, "denominator", f"denominator {rec.denominator} exceeds the arm's n {n}")
        if percent is not None and rec.count is not None and rec.denominator:
            if not _percent_matches(percent, rec.count, rec.denominator) and not has_conflict(rec):
                add(section, i, rec, "percent" if section == "adverse_events" else "value",
                    f"printed {percent:g}% differs from {rec.count}/{rec.denominator} = "
                    f"{100 * rec.count / rec.denominator:.2f}% (record a conflict if the paper says so)")

    # --- outcomes ---------------------------------------------------------
    medians: dict[tuple, float] = {}
    rates: list[tuple] = []
    for i, o in records.get("outcomes", []):
        arm = known_arm("outcomes", i, o, "arm_id", o.arm_id)
        check_conflict_refs("outcomes", i, o)
        pct = o.value if (o.unit == "percent" and o.endpoint in RESPONSE) else None
        check_counts("outcomes", i, o, arm, pct)
        if o.value is not None and o.ci_low is not None and o.ci_high is not None:
            if not (o.ci_low <= o.value <= o.ci_high) and not has_conflict(o):
                add("outcomes", i, o, "ci_low", f"CI {o.ci_low:g}-{o.ci_high:g} does not contain {o.value:g}")
        if o.unit == "percent" and o.value is not None and not 0 <= o.value <= 100:
            add("outcomes", i, o, "value", f"a percentage of {o.value:g} is impossible")
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
        if m is None or has_conflict(o):
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
        elif h.ci_low is not None and not (h.ci_low <= h.hr <= h.ci_high) and not has_conflict(h):
            add("hazard_ratios", i, h, "ci_low", f"CI {h.ci_low:g}-{h.ci_high:g} does not contain HR {h.hr:g}")
        check_snippets("hazard_ratios", i, h, {"hr": h.hr, "ci_low": h.ci_low, "ci_high": h.ci_high})

    # --- adverse events ---------------------------------------------------
    for i, a in records.get("adverse_events", []):
        arm = known_arm("adverse_events", i, a, "arm_id", a.arm_id)
        check_conflict_refs("adverse_events", i, a)
        check_counts("adverse_events", i, a, arm, a.percent)
        check_snippets("adverse_events", i, a, {"count": a.count, "percent": a.percent})

    # --- conflicts --------------------------------------------------------
    for i, c in records.get("conflicts", []):
        if c.study_id not in studies:
            add("conflicts", i, c, "study_id", f"unknown study_id {c.study_id!r} (not defined in this file)")
        if source is None:
            continue
        for j, v in enumerate(c.values):
            if normalise(v.snippet) not in source:
                add("conflicts", i, c, f"values.{j}.snippet", f"not found verbatim in the source: {v.snippet[:80]!r}")
            elif isinstance(v.value, (int, float)) and not occurs(float(v.value), normalise(v.snippet)):
                add("conflicts", i, c, f"values.{j}.value", f"{v.value:g} does not occur in its snippet")

    # --- design details and risk of bias ---------------------------------
    # Their snippets are quotations of reasons, not of numbers: only checked verbatim.
    def verbatim(section, i, rec, fld, text):
        if source is not None and text and normalise(text) not in source:
            add(section, i, rec, fld, f"not found verbatim in {records['source_file']}: {text[:80]!r}")

    for i, d in records.get("design_details", []):
        if d.study_id not in studies:
            add("design_details", i, d, "study_id", f"unknown study_id {d.study_id!r} (not defined in this file)")
        verbatim("design_details", i, d, "snippet", d.snippet)
        verbatim("design_details", i, d, "context_snippet", d.context_snippet)

    hr_keys = {(h.study_id, h.experimental_arm_id, h.reference_arm_id, h.endpoint, h.population, h.subgroup)
               for _, h in records.get("hazard_ratios", [])}
    for i, r in records.get("risk_of_bias", []):
        known_arm("risk_of_bias", i, r, "experimental_arm_id", r.experimental_arm_id)
        known_arm("risk_of_bias", i, r, "reference_arm_id", r.reference_arm_id)
        for e in r.endpoints:
            if (r.study_id, r.experimental_arm_id, r.reference_arm_id, e, r.population, r.subgroup) not in hr_keys:
                add("risk_of_bias", i, r, "endpoints",
                    f"no hazard ratio {r.experimental_arm_id} vs {r.reference_arm_id} for {e} "
                    f"({r.population}{', ' + r.subgroup if r.subgroup else ''}) in this file")
        for dom in r.domains:
            verbatim("risk_of_bias", i, r, f"domains.{dom.domain}.snippet", dom.snippet)
            verbatim("risk_of_bias", i, r, f"domains.{dom.domain}.context_snippet", dom.context_snippet)
    return problems
