"""The conflicts a record points to, as every view shows them.

Conflict ids are unique within an evidence file, not across files (003 and 004 both
have a 'pfs_definition_progression_only'), so a record's conflicts are looked up in
its own file. A major conflict changes a number a clinician would use and is marked
prominently; a minor one (wording, a detail) is marked quietly.
"""
from __future__ import annotations

import pandas as pd

MARKS = {"major": "⚠", "minor": "*"}


def records(ids, evidence_file, conflicts: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(ids, (list, tuple)) or not ids or not len(conflicts):
        return conflicts.iloc[0:0]
    hit = conflicts[conflicts.conflict_id.isin(list(ids))]
    if isinstance(evidence_file, str) and "evidence_file" in hit:
        hit = hit[hit.evidence_file == evidence_file]
    return hit.drop_duplicates("conflict_id")


def descriptions(ids, conflicts: pd.DataFrame, evidence_file=None) -> list[str]:
    hit = records(ids, evidence_file, conflicts)
    by_id = dict(zip(hit.conflict_id, hit.description)) if len(hit) else {}
    return [str(by_id.get(cid, cid)) for cid in (ids or [])]


def severity(ids, conflicts: pd.DataFrame, evidence_file=None) -> str:
    """'major' if any of the record's conflicts is major, 'minor' if it has only minor ones, else ''."""
    if not isinstance(ids, (list, tuple)) or not ids:
        return ""
    hit = records(ids, evidence_file, conflicts)
    if "severity" in hit and (hit.severity == "major").any():
        return "major"
    return "minor"


def text(ids, conflicts: pd.DataFrame, evidence_file=None, joiner: str = " | ") -> str:
    """'⚠ major: <description>' / '* minor: <description>', one per conflict; '' without any."""
    hit = records(ids, evidence_file, conflicts)
    if not isinstance(ids, (list, tuple)) or not ids:
        return ""
    by_id = {r.conflict_id: r for r in hit.itertuples()}
    out = []
    for cid in ids:
        r = by_id.get(cid)
        sev = getattr(r, "severity", "major") if r is not None else "major"
        sev = sev if sev in MARKS else "major"
        out.append(f"{MARKS[sev]} {sev}: {r.description if r is not None else cid}")
    return joiner.join(out)
