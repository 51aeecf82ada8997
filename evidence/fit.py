"""Does this evidence apply to my patient?

A patient profile holds categories only (age in years, ECOG, Child-Pugh, BCLC, portal vein tumour
thrombus, extrahepatic spread, prior therapy); nothing in it identifies a person. It travels in
the link as `age:72,ecog:1,child_pugh:A6,...`.

`assess` compares a profile with each study's eligibility criteria as the store records them
(evidence/data/*.yaml, section `eligibility`) and says, per study:

- outside: at least one stated criterion excludes the patient (every such criterion is named);
- unclear: nothing stated excludes the patient, but for at least one field of the profile the
  source states no criterion, or states one that leaves the patient's value open;
- within: every field of the profile is admitted by every stated criterion on it.

The baseline table (who actually enrolled) never decides a verdict; it feeds `represented`, the
share of the study's patients who share each characteristic with the patient.
"""
from __future__ import annotations

import pandas as pd

from .schema import AGE_LIMITS, NOT_REPORTED, PROFILE_FIELDS, PROFILE_VALUES

VERDICTS = ("within", "unclear", "outside")

_LABELS = {
    "age": "age", "ecog": "ECOG", "child_pugh": "Child-Pugh", "bclc": "BCLC",
    "pvtt": "PVTT", "extrahepatic": "extrahepatic spread", "prior": "prior therapy",
}
_WORDS = {
    ("pvtt", "none"): "no PVTT", ("pvtt", "present"): "PVTT present",
    ("pvtt", "main_trunk"): "main-trunk PVTT",
    ("extrahepatic", "no"): "no extrahepatic spread", ("extrahepatic", "yes"): "extrahepatic spread",
    ("prior", "none"): "treatment-naive", ("prior", "tace"): "TACE failed or refractory",
    ("prior", "systemic"): "after first-line systemic therapy",
}
# The order a clinician says it in: stage and liver function first.
_SPOKEN_ORDER = ("bclc", "child_pugh", "pvtt", "extrahepatic", "ecog", "age", "prior")
_MAX_ECHO = 40  # a tampered link can carry anything; notices quote at most this much of it


# --- the profile in the link -------------------------------------------------

def _quote(text: str) -> str:
    text = text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "..."
    return f"'{text}'"


def _canonical_value(field: str, raw: str) -> str:
    """Link values are forgiving about case: 'a6' is A6, 'Main_Trunk' is main_trunk."""
    if field in ("child_pugh", "bclc"):
        return raw.upper()
    return raw.lower()


def parse_profile(text: str | None) -> tuple[dict, list[str]]:
    """`age:72,ecog:1,child_pugh:A6` -> ({'age': 72, 'ecog': '1', 'child_pugh': 'A6'}, notices).

    Anything that is not a known field with a known value is left out of the profile and named
    in a notice (plain text, to be shown literally). A field given twice keeps its first value.
    """
    profile: dict = {}
    notices: list[str] = []
    if not text or not text.strip():
        return profile, notices
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" not in part:
            notices.append(f"Patient profile: {_quote(part)} is not of the form field:value; ignored.")
            continue
        field, raw = (x.strip() for x in part.split(":", 1))
        field = field.lower()
        if field not in PROFILE_FIELDS:
            notices.append(f"Patient profile: unknown field {_quote(field)} ignored "
                           f"(known: {', '.join(PROFILE_FIELDS)}).")
            continue
        if field in profile:
            notices.append(f"Patient profile: {field} is given more than once; the first value "
                           f"({format_profile({field: profile[field]}).split(':', 1)[1]}) is kept.")
            continue
        if field == "age":
            lo, hi = AGE_LIMITS
            if not raw.isdigit() or not lo <= int(raw) <= hi:
                notices.append(f"Patient profile: age {_quote(raw)} is not a whole number of years "
                               f"from {lo} to {hi}; ignored.")
                continue
            profile["age"] = int(raw)
            continue
        value = _canonical_value(field, raw)
        if value not in PROFILE_VALUES[field]:
            notices.append(f"Patient profile: unknown {field} value {_quote(raw)} ignored "
                           f"(known: {', '.join(PROFILE_VALUES[field])}).")
            continue
        profile[field] = value
    return profile, notices


def format_profile(profile: dict) -> str:
    """The link form, fields in their canonical order: parse_profile(format_profile(p)) == (p, [])."""
    return ",".join(f"{f}:{profile[f]}" for f in PROFILE_FIELDS if profile.get(f) is not None)


def describe_profile(profile: dict) -> str:
    """In a clinician's words: 'BCLC C, Child-Pugh A6, PVTT present, ECOG 1, age 72'."""
    words = []
    for f in _SPOKEN_ORDER:
        v = profile.get(f)
        if v is None:
            continue
        if f == "age":
            words.append(f"age {v}")
        elif (f, v) in _WORDS:
            words.append(_WORDS[(f, v)])
        else:
            words.append(f"{_LABELS[f]} {v}")
    return ", ".join(words) if words else "no patient profile"


# --- the assessment ----------------------------------------------------------

def _tables(store) -> dict:
    """Eligibility, baseline and arms as plain records grouped by study, built once per store
    (the store is read-only after loading, so this never goes stale)."""
    cached = store.__dict__.get("_fit_tables")
    if cached is not None:
        return cached
    def by_study(df):
        out: dict[str, list[dict]] = {}
        if len(df):
            for r in df.to_dict("records"):
                out.setdefault(r["study_id"], []).append(r)
        return out
    cached = {"eligibility": by_study(store.eligibility), "baseline": by_study(store.baseline),
              "arms": by_study(store.arms)}
    store.__dict__["_fit_tables"] = cached
    return cached


def _age_decision(c, age: int) -> str:
    lo, hi = c.get("age_min"), c.get("age_max")
    if _missing(lo) and _missing(hi):
        return "open"
    if not _missing(lo) and (age < lo or (age == lo and not c.get("age_min_inclusive", True))):
        return "excludes"
    if not _missing(hi) and (age > hi or (age == hi and not c.get("age_max_inclusive", True))):
        return "excludes"
    return "admits"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and pd.isna(v))


def _decide(c: dict, field: str, value) -> str:
    """What one stated criterion says of the patient's value: admits, excludes or open."""
    if field == "age":
        return _age_decision(c, int(value))
    if value in (c.get("excludes") or []):
        return "excludes"
    if value in (c.get("admits") or []):
        return "admits"
    return "open"


def _reason(c: dict | None, field: str, decision: str) -> dict:
    if c is None:
        return {"field": field, "criterion": NOT_REPORTED, "decision": "not stated",
                "kind": "not_reported", "snippet": None, "location": None, "note": None,
                "conflict_ids": []}
    return {"field": field, "criterion": c["criterion"], "decision": decision, "kind": c["kind"],
            "snippet": c.get("snippet"), "location": c.get("location"), "note": c.get("note"),
            "conflict_ids": list(c.get("conflict_ids") or [])}


def _field_reasons(criteria: list[dict], field: str, value) -> tuple[str, list[dict]]:
    """The decision on one field and the criteria that made it.

    Every stated criterion on the field must admit the value (a patient meets all criteria or is
    not eligible); one that excludes it is enough to exclude.
    """
    stated = [c for c in criteria if c["kind"] != "not_reported"]
    if not stated:
        notes = [c.get("note") for c in criteria if c.get("note")]
        r = _reason(None, field, "not stated")
        r["note"] = notes[0] if notes else None
        return "open", [r]
    decided = [(c, _decide(c, field, value)) for c in stated]
    excluding = [_reason(c, field, "excludes") for c, d in decided if d == "excludes"]
    if excluding:
        return "excludes", excluding
    open_ = [_reason(c, field, "leaves open") for c, d in decided if d == "open"]
    if open_:
        return "open", open_
    return "admits", [_reason(c, field, "admits") for c, _ in decided]


def assess(store, profile: dict) -> pd.DataFrame:
    """One row per study: study_id, study, verdict, reasons, conflicts, represented,
    represented_text, criteria.

    reasons: the criteria that decided the verdict, each {field, criterion, decision, kind,
    snippet, location, note, conflict_ids} (outside: every criterion the profile breaks; unclear:
    each field the source leaves open; within: every admitting criterion). criteria: the same for
    every field of the profile, whatever the verdict. conflicts: the conflict ids of the deciding
    criteria. represented: see `represented`. An empty profile gives no rows.
    """
    columns = ["study_id", "study", "source_kind", "verdict", "reasons", "conflicts",
               "represented", "represented_text", "criteria"]
    fields = [f for f in PROFILE_FIELDS if profile.get(f) is not None]
    if not fields:
        return pd.DataFrame(columns=columns)
    eligibility = _tables(store)["eligibility"]
    rows = []
    for st in store.studies.itertuples():
        criteria: dict[str, list[dict]] = {}
        for c in eligibility.get(st.study_id, []):
            criteria.setdefault(c["field"], []).append(c)
        decisions = {f: _field_reasons(criteria.get(f, []), f, profile[f]) for f in fields}
        if any(d == "excludes" for d, _ in decisions.values()):
            verdict, deciding = "outside", [r for d, rs in decisions.values() if d == "excludes" for r in rs]
        elif any(d == "open" for d, _ in decisions.values()):
            verdict, deciding = "unclear", [r for d, rs in decisions.values() if d == "open" for r in rs]
        else:
            verdict, deciding = "within", [r for _, rs in decisions.values() for r in rs]
        conflicts = list(dict.fromkeys(cid for r in deciding for cid in r["conflict_ids"]))
        shares = represented(store, st.study_id, profile)
        rows.append({
            "study_id": st.study_id, "study": store.study_label(st.study_id) if hasattr(store, "study_label") else st.study_id,
            "source_kind": getattr(st, "source_kind", None), "verdict": verdict, "reasons": deciding,
            "conflicts": conflicts, "represented": shares,
            "represented_text": "; ".join(s["text"] for s in shares),
            "criteria": [r for _, rs in decisions.values() for r in rs],
        })
    return pd.DataFrame(rows, columns=columns)


def summary(assessment: pd.DataFrame) -> str:
    """'2 within, 1 outside, 32 unclear'."""
    counts = assessment["verdict"].value_counts() if len(assessment) else {}
    return ", ".join(f"{int(counts.get(v, 0))} {v}" for v in ("within", "outside", "unclear"))


def summary_line(profile: dict, assessment: pd.DataFrame) -> str:
    """The one line at the top of every page: 'Patient: BCLC C, Child-Pugh A6, PVTT present —
    2 studies within, 1 outside (extrahepatic spread excluded), 32 unclear'."""
    counts = assessment["verdict"].value_counts() if len(assessment) else {}
    n = {v: int(counts.get(v, 0)) for v in VERDICTS}
    outside = f"{n['outside']} outside"
    if n["outside"]:
        fields = assessment.loc[assessment["verdict"] == "outside", "reasons"]
        tally: dict[str, int] = {}
        for reasons in fields:
            for f in dict.fromkeys(r["field"] for r in reasons):
                tally[f] = tally.get(f, 0) + 1
        ordered = sorted(tally, key=lambda f: (-tally[f], PROFILE_FIELDS.index(f)))
        outside += f" ({', '.join(_LABELS[f] for f in ordered)} excluded)"
    studies = "study" if n["within"] == 1 else "studies"
    return (f"Patient: {describe_profile(profile)} — {n['within']} {studies} within, {outside}, "
            f"{n['unclear']} unclear")


# --- who enrolled: the share of patients like this one ------------------------

_POPULATION_WORDS = {"overall": "", "matched": " (matched cohort)", "unmatched": " (before matching)"}


def _wanted(field: str, value) -> list[tuple[str, set, str]]:
    """Baseline (characteristic, categories, label) that describe patients with this value,
    finest first; the first one the paper prints is used."""
    if field == "bclc":
        return [("bclc", {value}, f"BCLC {value}")]
    if field == "child_pugh":
        cls = value[0]
        return [("child_pugh", {value}, f"Child-Pugh {value}"),
                ("child_pugh", {cls}, f"Child-Pugh {cls} (score not printed)")]
    if field == "ecog":
        out = [("ecog", {value}, f"ECOG {value}")]
        if value in ("0", "1"):
            out.append(("ecog", {"0-1"}, "ECOG 0-1 (split not printed)"))
        return out
    if field == "pvtt":
        if value == "none":
            return [("pvtt", {"absent"}, "no PVTT"),
                    ("vascular_invasion", {"absent"}, "no vein invasion (vessel not stated)")]
        out = [("pvtt", {"main_trunk"}, "main-trunk PVTT")] if value == "main_trunk" else []
        return out + [("pvtt", {"present", "main_trunk"}, "PVTT" + (" (any extent)" if out else "")),
                      ("vascular_invasion", {"present"}, "vein invasion (vessel not stated)")]
    if field == "extrahepatic":
        return [("extrahepatic", {value}, "extrahepatic spread" if value == "yes" else "no extrahepatic spread")]
    if field == "prior":
        if value == "none":
            return [("prior_treatment", {"no"}, "no previous treatment")]
        return [("prior_treatment", {"yes"}, "previous treatment (any)")]
    return []


def _age_bin_matches(row: dict, age: int) -> bool:
    cut, cat = row["cutoff"], row["category"]
    return {"above": age > cut, "at_or_above": age >= cut,
            "below": age < cut, "at_or_below": age <= cut}.get(cat, False)


def _share(rows: list[dict], label: str, population: str, n_by_arm: dict) -> dict | None:
    """Sum one characteristic over the arms of one cohort: 'PVTT: 35/114, 31%'."""
    whole = [r for r in rows if _missing(r.get("arm_id"))]
    use = whole or rows
    counts = [r.get("count") for r in use]
    dens = [r.get("denominator") for r in use]
    if not whole and len({r["arm_id"] for r in use}) < len(n_by_arm):
        return None  # printed for some arms only: no share of the study
    where = _POPULATION_WORDS.get(population, f" ({population})")
    snippets = list(dict.fromkeys(r["snippet"] for r in use if r.get("snippet")))
    base = {"population": population, "label": label, "snippets": snippets,
            "locations": list(dict.fromkeys(r["location"] for r in use if r.get("location"))),
            "conflict_ids": list(dict.fromkeys(c for r in use for c in (r.get("conflict_ids") or [])))}
    if all(not _missing(c) for c in counts) and all(not _missing(d) for d in dens):
        n, d = int(sum(counts)), int(sum(dens))
        pct = 100.0 * n / d
        return {**base, "count": n, "denominator": d, "percent": round(pct, 1),
                "text": f"{label}: {n}/{d}, {pct:.0f}%{where}"}
    if len(use) == 1 and not _missing(use[0].get("percent")):
        p = float(use[0]["percent"])
        return {**base, "count": None, "denominator": None, "percent": p,
                "text": f"{label}: {p:g}%{where}"}
    if len(use) == 1 and not _missing(use[0].get("count")):
        return {**base, "count": int(use[0]["count"]), "denominator": None, "percent": None,
                "text": f"{label}: {int(use[0]['count'])} patients{where}"}
    return None


def _absent_from_full_table(rows: list[dict], characteristic: str, label: str, population: str,
                            n_by_arm: dict) -> dict | None:
    """A category missing from a table whose categories add up to the whole cohort had no
    patients: Liu 2020 lists ECOG 0 (46) and 1 (20) of 66, so ECOG 2 is 0/66."""
    mine = [r for r in rows if r["characteristic"] == characteristic]
    if not mine:
        return None
    totals: dict = {}
    for r in mine:
        if _missing(r.get("count")) or _missing(r.get("denominator")):
            return None
        key = r.get("arm_id")
        totals.setdefault(key, [0, int(r["denominator"])])
        totals[key][0] += int(r["count"])
    if any(c != d for c, d in totals.values()):
        return None
    d = sum(den for _, den in totals.values())
    where = _POPULATION_WORDS.get(population, f" ({population})")
    return {"population": population, "label": label, "count": 0, "denominator": d, "percent": 0.0,
            "snippets": list(dict.fromkeys(r["snippet"] for r in mine if r.get("snippet"))),
            "locations": list(dict.fromkeys(r["location"] for r in mine if r.get("location"))),
            "conflict_ids": [],
            "text": f"{label}: 0/{d}, 0% (not among the printed categories){where}"}


def represented(store, study_id: str, profile: dict) -> list[dict]:
    """For each profile field the paper prints, the share of the study's patients with the
    patient's characteristic, per cohort (matched and before matching apart).

    Each item: {field, population, label, count, denominator, percent, text, snippets,
    locations, conflict_ids}; text reads 'PVTT: 35/114, 31%'. Age without printed age bands gives
    the printed summary ('age: mean 50.2 ± 10.3 (FOLFOX4)') with no share.
    """
    tables = _tables(store)
    base = tables["baseline"].get(study_id, [])
    arms = tables["arms"].get(study_id, [])
    by_population: dict[str, list[dict]] = {}
    for r in base:
        by_population.setdefault(r["population"], []).append(r)
    out: list[dict] = []
    for population, rows in by_population.items():
        n_col = "n_matched" if population == "matched" else "n"
        n_by_arm = {a["arm_id"]: a.get(n_col) for a in arms}
        for field in PROFILE_FIELDS:
            value = profile.get(field)
            if value is None:
                continue
            item = None
            if field == "age":
                bins = [r for r in rows if r["characteristic"] == "age" and r["category"] != "all"
                        and _age_bin_matches(r, int(value))]
                if bins:
                    r0 = bins[0]
                    sign = {"above": ">", "at_or_above": "≥", "below": "<", "at_or_below": "≤"}[r0["category"]]
                    item = _share(bins, f"age {sign}{r0['cutoff']:g}", population, n_by_arm)
                else:
                    labels = {a["arm_id"]: a["label"] for a in arms}
                    item = _age_summary(labels, [r for r in rows if r["characteristic"] == "age"], population)
            else:
                for characteristic, cats, label in _wanted(field, value):
                    hit = [r for r in rows if r["characteristic"] == characteristic and r["category"] in cats]
                    if hit:
                        item = _share(hit, label, population, n_by_arm)
                        break
                if item is None and field in ("ecog", "child_pugh"):
                    label = _wanted(field, value)[0][2]
                    item = _absent_from_full_table(rows, field, label, population, n_by_arm)
            if item is not None:
                out.append({"field": field, **item})
    return out


def _age_summary(labels: dict, rows: list[dict], population: str) -> dict | None:
    rows = [r for r in rows if r["category"] == "all" and not _missing(r.get("value"))]
    if not rows:
        return None
    parts = []
    for r in rows:
        txt = f"{r['statistic']} {r['value']:g}"
        if not _missing(r.get("spread")):
            txt += f" ± {r['spread']:g}"
        if not _missing(r.get("range_low")) and not _missing(r.get("range_high")):
            txt += f" (range {r['range_low']:g}-{r['range_high']:g})"
        if not _missing(r.get("arm_id")):
            txt += f" ({labels.get(r['arm_id'], r['arm_id'])})"
        parts.append(txt)
    where = _POPULATION_WORDS.get(population, f" ({population})")
    return {"population": population, "label": "age", "count": None, "denominator": None, "percent": None,
            "snippets": list(dict.fromkeys(r["snippet"] for r in rows if r.get("snippet"))),
            "locations": list(dict.fromkeys(r["location"] for r in rows if r.get("location"))),
            "conflict_ids": list(dict.fromkeys(c for r in rows for c in (r.get("conflict_ids") or []))),
            "text": "age: " + ", ".join(parts) + where}


# --- subgroup results that match the profile --------------------------------

# Which profile value each recorded subgroup describes. Subgroups are free text in the store, so
# the correspondence is written out here, one line per subgroup; a subgroup missing from this
# table is simply never offered. For age, (low, high) bounds in years, inclusive.
SUBGROUP_PROFILE: dict[tuple[str, str], tuple[str, object]] = {
    ("sun2022", "hepatic tumor alone (no extrahepatic lesions)"): ("extrahepatic", {"no"}),
    ("sun2022", "hepatic tumor and extrahepatic lesions"): ("extrahepatic", {"yes"}),
    ("huang2022", "age ≤50 years (both arms pooled)"): ("age", (0, 50)),
    ("huang2022", "age >50 years (both arms pooled)"): ("age", (51, 200)),
    ("huang2022", "ECOG PS 0 (both arms pooled)"): ("ecog", {"0"}),
    ("huang2022", "ECOG PS 1 (both arms pooled)"): ("ecog", {"1"}),
    ("huang2022", "portal vein tumour thrombus absent (both arms pooled)"): ("pvtt", {"none"}),
    ("huang2022", "portal vein tumour thrombus present (both arms pooled)"): ("pvtt", {"present", "main_trunk"}),
    ("huang2022", "Child-Pugh score 5 (both arms pooled)"): ("child_pugh", {"A5"}),
    ("huang2022", "Child-Pugh score 6 (both arms pooled)"): ("child_pugh", {"A6"}),
}


def _matches(field: str, values, profile: dict) -> bool:
    v = profile.get(field)
    if v is None:
        return False
    if field == "age":
        lo, hi = values
        return lo <= int(v) <= hi
    return v in values


def matching_subgroups(store, profile: dict) -> pd.DataFrame:
    """Subgroup outcomes and hazard ratios recorded for patients who share a characteristic with
    the profile (e.g. Sun 2022's OS medians for patients with extrahepatic lesions).

    Columns: study_id, field, subgroup, record (outcome or hazard_ratio), arm_id (for a hazard
    ratio: 'experimental vs reference'), endpoint, value, ci_low, ci_high, p_text, reported_name,
    location, snippet, conflict_ids, note.
    """
    columns = ["study_id", "field", "subgroup", "record", "arm_id", "endpoint", "value", "ci_low",
               "ci_high", "p_text", "reported_name", "location", "snippet", "conflict_ids", "note"]
    rows = []
    for record, table in (("outcome", store.outcomes), ("hazard_ratio", store.hazard_ratios)):
        if not len(table) or "population" not in table:
            continue
        for r in table[table["population"] == "subgroup"].to_dict("records"):
            key = (r["study_id"], r.get("subgroup"))
            if key not in SUBGROUP_PROFILE:
                continue
            field, values = SUBGROUP_PROFILE[key]
            if not _matches(field, values, profile):
                continue
            if record == "outcome":
                arm, value = r.get("arm_id"), r.get("value")
            else:
                arm, value = f"{r['experimental_arm_id']} vs {r['reference_arm_id']}", r.get("hr")
            rows.append({"study_id": r["study_id"], "field": field, "subgroup": r["subgroup"],
                         "record": record, "arm_id": None if _missing(arm) else arm,
                         "endpoint": r["endpoint"], "value": value, "ci_low": r.get("ci_low"),
                         "ci_high": r.get("ci_high"), "p_text": r.get("p_text"),
                         "reported_name": r.get("reported_name"), "location": r.get("location"),
                         "snippet": r.get("snippet"), "conflict_ids": list(r.get("conflict_ids") or []),
                         "note": r.get("note")})
    return pd.DataFrame(rows, columns=columns)
