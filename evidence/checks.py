"""Checks that go beyond the schema: references between records, arithmetic
consistency, and (when the source texts are at hand) that every snippet is
verbatim in its source and holds the number it is quoted for.

A consistency check that fails is acceptable only when the record points to a
recorded conflict of its own study that holds the very number in question: the
paper contradicts itself there and the curator said so. A conflict about
something else excuses nothing.
"""
from __future__ import annotations

import re
from pathlib import Path

from .problems import Problem, describe_record
from .sources import normalise, numbers_in, occurs, source_text


RESPONSE = {"ORR", "DCR", "CR", "PR", "SD", "PD"}
# No survival time, follow-up or landmark in these papers comes near 50 years:
# a larger number is a typo (days for months, a misplaced decimal point).
MAX_MONTHS = 600


def _percent_matches(percent: float, count: int, denominator: int) -> bool:
    """Printed percent equals count/denominator within the rounding it was printed with."""
    exact = 100.0 * count / denominator
    tolerance = 0.5 if float(percent).is_integer() else 0.051
    return abs(exact - percent) <= tolerance + 1e-9


# How each bound may be printed. "<" must not swallow "<=": the look-ahead keeps them apart.
_BOUND_SPELLINGS = {
    "<": r"<(?!=)|＜|\\lt\b|\bless than\b|\bbelow\b",
    "<=": r"<=|≤|⩽|\\leq?\b|\bat most\b|\bup to\b",
    ">": r">(?!=)|＞|\\gt\b|\bmore than\b|\bgreater than\b|\babove\b|\bover\b",
    ">=": r">=|≥|⩾|\\geq?\b|\bat least\b",
}
_ANY_BOUND = re.compile("|".join(f"(?:{v})" for v in _BOUND_SPELLINGS.values()), re.IGNORECASE)
# Counts small enough to be printed as words ("two achieved CR (5%)").
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}


def _numbers_after(pattern: str, text: str) -> list[float]:
    """The number printed right after each match of pattern (a bound sign) in text."""
    out = []
    for m in re.finditer(pattern, text, re.IGNORECASE):
        tail = text[m.end():m.end() + 16].lstrip(" $")
        if tail[:1].isdigit() or (tail[:1] in ".·" and tail[1:2].isdigit()):
            out.append(numbers_in(tail)[0])
    return out


def bound_printed(qualifier: str, value: float, text: str) -> bool:
    """The snippet prints this bound: '<' with 7.2 matches '< 7.2%' or '<7.2', not '7.2%'."""
    return any(abs(x - value) < 1e-9 for x in _numbers_after(_BOUND_SPELLINGS[qualifier], text))


def printed_only_as_bound(value: float, text: str) -> bool:
    """Every occurrence of the value in the text follows a bound sign: '< 0.7%' but no plain 0.7."""
    bounded = sum(abs(x - value) < 1e-9 for x in _numbers_after(_ANY_BOUND.pattern, text))
    total = sum(abs(x - value) < 1e-9 for x in numbers_in(text))
    return bounded > 0 and bounded == total


def count_printed(count: int, text: str) -> bool:
    """The count is printed as a number, or as a word ("two") for small counts."""
    if occurs(float(count), text):
        return True
    words = [w for w, i in _NUMBER_WORDS.items() if i == count]
    return any(re.search(rf"\b{w}\b", text, re.IGNORECASE) for w in words)


def check_file(name: str, records: dict, sources_dir: Path | None, file_had_errors: bool = False) -> list[Problem]:
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
            if value is None:
                continue
            found = count_printed(int(value), joined) if fld == "count" else occurs(float(value), joined)
            if not found:
                add(section, i, rec, fld, f"{value:g} does not occur in the snippet")
        qualifier = getattr(rec, "qualifier", None)
        value = getattr(rec, "value", None)
        if qualifier and value is not None and not bound_printed(qualifier, float(value), joined):
            add(section, i, rec, "qualifier", f"the bound '{qualifier} {value:g}' is not printed in the snippet")
        elif not qualifier and value is not None and section == "outcomes" and not getattr(rec, "printed_value", None) \
                and printed_only_as_bound(float(value), joined):
            add(section, i, rec, "qualifier",
                f"{value:g} is printed only as a bound in the snippet: give its 'qualifier'")

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
        # a bound ("< 7.2%") is no percent to compare with a count
        pct = o.value if (o.unit == "percent" and o.endpoint in RESPONSE and not o.qualifier) else None
        check_counts("outcomes", i, o, arm, pct)
        if not o.qualifier:   # a bound ('< 7.2%') is not an estimate inside its CI
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
        if o.endpoint.endswith("_median") and o.value is not None and not o.qualifier:
            medians[key] = o.value
        if o.endpoint.endswith("_rate") and o.value is not None and not o.qualifier:
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

    # --- eligibility criteria ---------------------------------------------
    # A stated criterion quotes its snippet; a 'not reported' record quotes nothing (the schema
    # enforces both). Age limits must be printed in the snippet.
    for i, c in records.get("eligibility", []):
        known_arm("eligibility", i, c, "arm_id", None)
        check_conflict_refs("eligibility", i, c)
        check_snippets("eligibility", i, c, {"age_min": c.age_min, "age_max": c.age_max})

    # --- baseline composition ---------------------------------------------
    for i, b in records.get("baseline", []):
        arm = known_arm("baseline", i, b, "arm_id", b.arm_id)
        check_conflict_refs("baseline", i, b)
        if arm is not None and b.denominator is not None and not has_conflict(b, "denominator"):
            # the denominator of an arm row is the arm's size in the cohort it describes
            expected = arm.n_matched if b.population == "matched" else arm.n
            if expected is not None and b.denominator != expected:
                add("baseline", i, b, "denominator",
                    f"denominator {b.denominator} is not the arm's n ({expected}) in the {b.population} cohort")
        if b.count is not None and b.denominator is not None and b.count > b.denominator and not has_conflict(b, "count", "denominator"):
            add("baseline", i, b, "count", f"count {b.count} exceeds denominator {b.denominator}")
        if b.percent is not None and b.count is not None and b.denominator:
            if not _percent_matches(b.percent, b.count, b.denominator) and not has_conflict(b, "percent", "count", "denominator"):
                add("baseline", i, b, "percent",
                    f"printed {b.percent:g}% differs from {b.count}/{b.denominator} = "
                    f"{100 * b.count / b.denominator:.2f}% (record a conflict if the paper says so)")
        check_snippets("baseline", i, b, {
            "count": b.count, "denominator": b.denominator, "percent": b.percent, "value": b.value,
            "spread": b.spread, "range_low": b.range_low, "range_high": b.range_high, "cutoff": b.cutoff})

    # --- conflicts --------------------------------------------------------
    for i, c in records.get("conflicts", []):
        if c.study_id not in studies and c.study_id not in invalid_studies:
            add("conflicts", i, c, "study_id", f"unknown study_id {c.study_id!r} (not defined in this file)")
        if source is None:
            continue
        for j, v in enumerate(c.values):
            # a value quoted from another paper (the same trial described elsewhere) is checked there
            text = source if not v.source_file else source_text(sources_dir, v.source_file)
            if text is None:
                add("conflicts", i, c, f"values.{j}.source_file", f"source text {v.source_file} not found")
            elif normalise(v.snippet) not in text:
                add("conflicts", i, c, f"values.{j}.snippet",
                    f"not found verbatim in {v.source_file or 'the source'}: {v.snippet[:80]!r}")
            elif isinstance(v.value, (int, float)) and not occurs(float(v.value), normalise(v.snippet)):
                add("conflicts", i, c, f"values.{j}.value", f"{v.value:g} does not occur in its snippet")

    # --- design details and risk of bias ---------------------------------
    # Their snippets are quotations of reasons, not of numbers: only checked verbatim.
    def verbatim(section, i, rec, fld, text):
        if source is not None and text and normalise(text) not in source:
            add(section, i, rec, fld, f"not found verbatim in {records['source_file']}: {text[:80]!r}")

    for i, d in records.get("design_details", []):
        if d.study_id not in studies and d.study_id not in invalid_studies:
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
