"""What is wrong with an evidence file, said so that a curator can find it: the file,
the record and the field. Shared by the loader (store.py) and the checks (checks.py),
which therefore do not import each other."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


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
        # values shown as text, shortened: a malformed record may hold anything
        parts = [short(str(raw[k]), 40) for k in keys if raw.get(k) is not None]
        if section == "studies" and raw.get("study_id"):
            parts = [short(str(raw["study_id"]), 40)]
        if parts:
            label += " (" + " / ".join(parts) + ")"
    return label


