"""Tables for display and download."""
from __future__ import annotations

import re

import pandas as pd

DESIGN_LABELS = {
    "randomised": "Randomised",
    "prospective_single_arm": "Prospective single-arm",
    "prospective": "Prospective non-randomised",
    "retrospective": "Retrospective",
    "propensity_matched": "Retrospective, propensity-matched",
    "meta_analysis": "Meta-analysis",
}

ENDPOINT_LABELS = {
    "OS_median": "Median OS", "PFS_median": "Median PFS", "TTP_median": "Median TTP",
    "DFS_median": "Median DFS", "OS_rate": "OS rate", "PFS_rate": "PFS rate", "TTP_rate": "TTP rate",
    "DFS_rate": "DFS rate", "ORR": "ORR", "DCR": "DCR", "CR": "CR", "PR": "PR", "SD": "SD", "PD": "PD",
    "OS_events": "Deaths", "PFS_events": "PFS events", "TTP_events": "Progressions",
    "DFS_events": "DFS events", "followup_median": "Median follow-up",
}

# A cell a spreadsheet would run as a formula starts with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... unless it is a plain signed number ("+0.02", "-3", "-1.5e-3"): a spreadsheet
# reads that as the number, so it stays as it is.
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def design_label(design: str, source_kind: str = "primary") -> str:
    label = DESIGN_LABELS.get(design, design)
    return f"{label} (reported in a review)" if source_kind == "review" else label


def _escape(v):
    """A text that would run as a formula, with a quote in front; anything else as it is."""
    if not isinstance(v, str):
        return v
    text = v.lstrip(" ")
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text.strip()):
        return "'" + v
    return v


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Escape every header and text cell a spreadsheet would run as a formula
    (=, +, -, @, tab, return first). Signed numbers stay numbers. Headers carry
    study and arm labels from the evidence files, so they are escaped too."""
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map(_escape)
    out.columns = [_escape(c) if isinstance(c, str) else c for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    return csv_safe(df).to_csv(index=False).encode("utf-8")


def format_value(row) -> str:
    """'14.9 months (95% CI 12.1-17.7)', '42.4% (28/66)', '44 deaths' as a clinician reads it."""
    v, unit = row.get("value"), row.get("unit")
    parts = []
    if v is not None and not pd.isna(v):
        if unit == "percent":
            parts.append(f"{v:g}%")
        elif unit == "months":
            parts.append(f"{v:g} months")
        else:
            parts.append(f"{v:g}")
    count, den = row.get("count"), row.get("denominator")
    if count is not None and not pd.isna(count):
        parts.append(f"({int(count)}/{int(den)})" if den is not None and not pd.isna(den) else f"(n={int(count)})")
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is not None and not pd.isna(lo) and hi is not None and not pd.isna(hi):
        level = row.get("ci_level")
        level = 95 if level is None or pd.isna(level) else round(100 * level)
        parts.append(f"({level}% CI {lo:g}-{hi:g})")
    rlo, rhi = row.get("range_low"), row.get("range_high")
    if rlo is not None and not pd.isna(rlo):
        parts.append(f"(range {rlo:g}-{rhi:g})")
    return " ".join(parts)
