"""Tables for display and download."""
from __future__ import annotations

import re

import pandas as pd

from evidence.naming import QUALIFIER_SIGNS

# A cell a spreadsheet would run as a formula starts with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... unless it is a plain signed number ("+0.02", "-3", "-1.5e-3"): a spreadsheet
# reads that as the number, so it stays as it is.
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


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


# A bound as it is printed: "< 7.2%", never the bare number.


def format_value(row) -> str:
    """'14.9 months (95% CI 12.1-17.7)', '42.4% (28/66)', '44 deaths', '< 7.2%' as a clinician reads it."""
    v, unit = row.get("value"), row.get("unit")
    q = row.get("qualifier")
    sign = QUALIFIER_SIGNS.get(q, "") if isinstance(q, str) else ""
    parts = []
    if v is not None and not pd.isna(v):
        if unit == "percent":
            parts.append(f"{sign}{v:g}%")
        elif unit == "months":
            parts.append(f"{sign}{v:g} months")
        else:
            parts.append(f"{sign}{v:g}")
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
