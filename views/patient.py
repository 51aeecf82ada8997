"""The patient profile in every view: verdicts per study, the reasons behind them, and the
subgroup results that match the patient. Pure: no streamlit.

The profile (evidence.fit) holds categories only and travels in the link as `patient=...`;
every view's state has it as a dict (empty: no profile).
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from evidence.fit import VERDICTS, assess, format_profile, matching_subgroups, summary_line
from evidence.naming import study_name
from evidence.schema import PROFILE_FIELDS, PROFILE_VALUES

# the panel's words for each field and value (the link keeps the short codes)
FIELD_LABELS = {"age": "Age (years)", "ecog": "ECOG performance status", "child_pugh": "Child-Pugh",
                "bclc": "BCLC stage", "pvtt": "Portal vein tumour thrombus", "extrahepatic": "Extrahepatic spread",
                "prior": "Prior therapy"}
VALUE_LABELS = {
    "ecog": {v: v for v in PROFILE_VALUES["ecog"]},
    "child_pugh": {v: v for v in PROFILE_VALUES["child_pugh"]},
    "bclc": {v: v for v in PROFILE_VALUES["bclc"]},
    "pvtt": {"none": "none", "present": "present (branch)", "main_trunk": "main trunk"},
    "extrahepatic": {"no": "no", "yes": "yes"},
    "prior": {"none": "treatment-naive", "tace": "TACE failed or refractory",
              "systemic": "after first-line systemic therapy"},
}
SELECT_FIELDS = tuple(f for f in PROFILE_FIELDS if f != "age")
# true as written: no code of ours logs a query string (deploy/nginx.conf logs paths only), and the view
# cache holds built views in memory only
PRIVACY = ("Categories only: nothing here identifies a person. The profile travels in this page's link; the "
           "server holds it in memory only to build the view and never stores it on disk or logs it.")
MARKS = {"within": "✓ within", "outside": "✗ outside", "unclear": "? unclear"}
VERDICT_ORDER = {"within": 0, "outside": 1, "unclear": 2}
SUBGROUP_NOTE = ("Subgroup results are hypothesis-generating: few patients, and no test of interaction "
                 "unless the paper prints one. Huang 2022's subgroup medians pool both arms: they describe "
                 "patients like this one, not the difference between the regimens.")
FIELD_WORDS = {"age": "age", "ecog": "ECOG", "child_pugh": "Child-Pugh", "bclc": "BCLC", "pvtt": "PVTT",
               "extrahepatic": "extrahepatic spread", "prior": "prior therapy"}

BRIEF_HEADING = "Patient fit"

_ASSESSED: dict = {}


def profile_of(state: dict) -> dict:
    return dict(state.get("patient") or {})


def assessment(store, profile: dict) -> pd.DataFrame:
    """assess(store, profile), once per store and profile (shared by every page of a session)."""
    key = (store.fingerprint, format_profile(profile))
    if key not in _ASSESSED:
        if len(_ASSESSED) > 256:   # bounded: profiles are few, but a link can carry any
            _ASSESSED.clear()
        _ASSESSED[key] = assess(store, profile)
    return _ASSESSED[key]


def verdicts(store, profile: dict) -> dict[str, str]:
    """study_id -> within / outside / unclear ({} without a profile)."""
    if not profile:
        return {}
    a = assessment(store, profile)
    return dict(zip(a["study_id"], a["verdict"]))


def reason_text(reason: dict) -> str:
    """'Child-Pugh: Child-Pugh A or B7 — excludes' (or '... not stated in the source')."""
    field = FIELD_WORDS.get(reason["field"], reason["field"])
    if reason["kind"] == "not_reported":
        return f"{field}: no criterion in the source" + (f" ({reason['note']})" if reason.get("note") else "")
    return f"{field}: {reason['criterion']} — {reason['decision']}"


def reason_lines(reasons: list[dict]) -> list[str]:
    """One line per stated criterion that decided, then one line naming every field the source
    has no criterion on ('no criterion in the source on: age, ECOG')."""
    stated = [reason_text(r) for r in reasons if r["kind"] != "not_reported"]
    silent = [FIELD_WORDS.get(r["field"], r["field"]) for r in reasons if r["kind"] == "not_reported"]
    return stated + ([f"no criterion in the source on: {', '.join(silent)}"] if silent else [])


def reasons_of(store, profile: dict) -> dict[str, list[str]]:
    """study_id -> the deciding criteria, in words (reason_lines)."""
    if not profile:
        return {}
    a = assessment(store, profile)
    return {sid: reason_lines(rs) for sid, rs in zip(a["study_id"], a["reasons"])}


def _sources(reasons: list[dict]) -> str:
    parts = []
    for r in reasons:
        if r.get("snippet"):
            parts.append(f"{r.get('location') or ''}: “{r['snippet']}”")
    return " | ".join(dict.fromkeys(parts))


def _conflict_text(store, ids: list[str]) -> str:
    if not ids:
        return ""
    c = store.conflicts
    found = c[c["conflict_id"].isin(ids)] if len(c) else c
    return " | ".join(f"⚠ {d}" for d in found["description"]) or "⚠ " + ", ".join(ids)


def fit_table(store, profile: dict) -> pd.DataFrame:
    """Every study by verdict (within, outside, unclear), with the criteria that decided it, their
    source sentences, the recorded conflicts behind them, and how many patients like this one
    each study enrolled."""
    a = assessment(store, profile)
    rows = []
    for r in a.to_dict("records"):
        rows.append({
            "Verdict": MARKS[r["verdict"]],
            "Study": study_name(store, r["study_id"]),
            "Why": "; ".join(reason_lines(r["reasons"])),
            "Patients like this in the study": r["represented_text"] or "not printed",
            "Conflict": _conflict_text(store, r["conflicts"]),
            "Source sentences": _sources(r["reasons"]),
            "Notes": " | ".join(dict.fromkeys(f"{FIELD_WORDS.get(x['field'], x['field'])}: {x['note']}"
                                              for x in r["reasons"] if x.get("note"))),
            "study_id": r["study_id"],
            # by verdict; within one verdict the primary papers first
            "_order": (VERDICT_ORDER[r["verdict"]], r.get("source_kind") != "primary"),
        })
    df = pd.DataFrame(rows, columns=["Verdict", "Study", "Why", "Patients like this in the study", "Conflict",
                                     "Source sentences", "Notes", "study_id", "_order"])
    return df.sort_values("_order", kind="stable").drop(columns=["_order"]).reset_index(drop=True)


def subgroup_table(store, profile: dict) -> pd.DataFrame:
    """The recorded subgroup results of patients who share a characteristic with the profile."""
    m = matching_subgroups(store, profile)
    rows = []
    for r in m.to_dict("records"):
        if r["record"] == "hazard_ratio":
            e, ref = (r["arm_id"] or " vs ").split(" vs ")
            arm = f"HR {store.arm_label(r['study_id'], e)} vs {store.arm_label(r['study_id'], ref)}"
        elif r["arm_id"]:
            arm = store.arm_label(r["study_id"], r["arm_id"])
        else:
            arm = "both arms pooled"
        value = "" if pd.isna(r["value"]) else f"{r['value']:g}"
        if pd.notna(r["ci_low"]) and pd.notna(r["ci_high"]):
            value += f" ({r['ci_low']:g}-{r['ci_high']:g})"
        rows.append({"Study": study_name(store, r["study_id"]), "Subgroup": r["subgroup"],
                     "Endpoint": r["endpoint"].replace("_", " "), "Arm": arm, "Value (95% CI)": value,
                     "p": r["p_text"] if isinstance(r["p_text"], str) else "",
                     "Note": r["note"] if isinstance(r["note"], str) else "",
                     "Location": r["location"] or "", "Snippet": r["snippet"] or "", "study_id": r["study_id"]})
    return pd.DataFrame(rows, columns=["Study", "Subgroup", "Endpoint", "Arm", "Value (95% CI)", "p", "Note",
                                       "Location", "Snippet", "study_id"])


def brief_section(store, profile: dict, studies: set | None = None) -> pd.DataFrame:
    """The brief's 'Patient fit': the profile's verdict on each study of the view, and why."""
    table = fit_table(store, profile)
    if studies:
        table = table[table["study_id"].isin(studies)]
    return table[["Study", "Verdict", "Why", "Patients like this in the study", "Conflict"]].reset_index(drop=True)


def arm_marks(store, profile: dict, arm_keys, study_of) -> list[str]:
    """The arms (keys) of studies outside the profile, in the order given."""
    v = verdicts(store, profile)
    return [k for k in arm_keys if v.get(study_of(k)) == "outside"]


def with_patient(model, store):
    """Every view with a profile: the one-line summary for its top, and the fit in its brief."""
    profile = profile_of(model.state)
    if not profile:
        return model
    a = assessment(store, profile)
    texts = {**model.texts, "patient_summary": summary_line(profile, a),
             "patient_verdicts": dict(zip(a["study_id"], a["verdict"]))}
    brief = model.brief
    if brief is not None and not any(h.startswith(BRIEF_HEADING) for h, _ in brief.sections):
        # the studies of the brief are those it cites
        cites = set(store.studies.study_id[store.studies.citation.isin(brief.citations)]) if brief.citations else None
        heading = f"{BRIEF_HEADING}. {texts['patient_summary']}"
        brief = replace(brief, sections=brief.sections + ((heading, brief_section(store, profile, cites)),))
    return replace(model, texts=texts, brief=brief)


__all__ = ["VERDICTS", "assessment", "verdicts", "reasons_of", "fit_table", "subgroup_table", "with_patient"]
