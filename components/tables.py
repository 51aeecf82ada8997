"""Tables for display and download."""
from __future__ import annotations

import pandas as pd

from evidence.naming import QUALIFIER_SIGNS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Escape text cells a spreadsheet would run as a formula (=, +, -, @)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
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
