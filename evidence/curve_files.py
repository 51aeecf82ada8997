"""Read a digitised Kaplan-Meier curve and its number-at-risk table from CSV.

The same parser serves the curators' files under evidence/digitised/ and the
files a user uploads on the survival page, so both get the same checks and
the same messages. Pure: it takes bytes and returns numbers, it stores nothing.

Formats accepted:
- curve: WebPlotDigitizer's CSV export, two columns x,y (time, survival), no
  header or a header such as "X,Y" or "time,survival". Survival may be a
  probability (0-1) or a percent (0-100): the scale is detected and said.
- risk table: two columns time,n_at_risk (header optional), starting at time 0.
Commas, semicolons or tabs separate the columns; with semicolons a decimal
comma is accepted (European spreadsheet exports).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 200_000      # a digitised curve is a few kB; anything this large is not one
MAX_ROWS = 5000
# Digitising a point on the top line of the plot can land a hair above 100%
# (or below 0): that much is clipped, beyond it the file is refused.
_OVERSHOOT = 0.02

_ZIP_MAGIC = b"PK\x03\x04"                       # xlsx, ods, docx are zip files
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
_HEADER_WORD = re.compile(r"^[A-Za-z_ %()\-.]*$")

DIGITISED_DIR = Path(__file__).resolve().parent / "digitised"
ENDPOINTS = ("OS", "PFS", "TTP")


class CurveFileError(ValueError):
    """A file that cannot be used, with a message a curator or a clinician can act on."""


@dataclass(frozen=True)
class DigitisedCurve:
    times: tuple[float, ...]
    survival: tuple[float, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RiskTable:
    times: tuple[float, ...]
    at_risk: tuple[int, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def _text(data: bytes, what: str) -> str:
    if not isinstance(data, (bytes, bytearray)):
        raise CurveFileError(f"{what}: expected the file's bytes")
    if len(data) == 0:
        raise CurveFileError(f"{what}: the file is empty")
    if len(data) > MAX_BYTES:
        raise CurveFileError(f"{what}: the file is {len(data) / 1000:.0f} kB; the limit is {MAX_BYTES // 1000} kB "
                             "(a digitised curve is a few kB)")
    head = bytes(data[:8])
    if head.startswith(_ZIP_MAGIC):
        raise CurveFileError(f"{what}: this is a spreadsheet (xlsx/ods, a zip file), not a CSV. "
                             "Save it as 'CSV (comma delimited)' and upload that.")
    if head.startswith(_OLE_MAGIC):
        raise CurveFileError(f"{what}: this is an old Excel workbook (.xls), not a CSV. Save it as CSV.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:1000]:
        raise CurveFileError(f"{what}: the file is UTF-16 or binary, not plain text. Save it as 'CSV UTF-8'.")
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CurveFileError(f"{what}: not UTF-8 text (byte {exc.start + 1} cannot be read). "
                             "A digitised curve holds only numbers; save it as 'CSV UTF-8'.") from None


def _split(line: str) -> list[str]:
    if "\t" in line:
        cells = line.split("\t")
    elif ";" in line:
        # semicolon-separated: a comma inside a cell is a decimal comma
        cells = [c.replace(",", ".") for c in line.split(";")]
    else:
        cells = line.split(",")
    cells = [c.strip().strip('"').strip("'").strip() for c in cells]
    while cells and cells[-1] == "":
        cells.pop()           # a trailing separator (spreadsheets add one)
    return cells


def _number(cell: str, row: int, col: str, what: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        shown = cell if len(cell) <= 30 else cell[:30] + "..."
        raise CurveFileError(f"{what}: row {row}, {col}: '{shown}' is not a number") from None
    if not math.isfinite(value):
        raise CurveFileError(f"{what}: row {row}, {col}: '{cell}' is not a finite number (NaN or infinity)")
    return value


def _rows(data: bytes, what: str, columns: tuple[str, str]) -> tuple[list[tuple[float, float]], bool]:
    text = _text(data, what)
    # keep the file's own line numbers so that messages point at the right row
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
    if not lines:
        raise CurveFileError(f"{what}: the file has no rows")
    header = False
    first = _split(lines[0][1])
    if first and all(_HEADER_WORD.match(c) and not _is_number(c) for c in first):
        header = True
        lines = lines[1:]
    if len(lines) > MAX_ROWS:
        raise CurveFileError(f"{what}: {len(lines)} rows; the limit is {MAX_ROWS}")
    if not lines:
        raise CurveFileError(f"{what}: the file has a header but no numbers")
    rows = []
    for i, line in lines:
        cells = _split(line)
        if len(cells) != 2:
            raise CurveFileError(f"{what}: row {i} has {len(cells)} columns; expected 2 ({columns[0]}, {columns[1]})")
        rows.append((_number(cells[0], i, columns[0], what), _number(cells[1], i, columns[1], what)))
    return rows, header


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def parse_curve_csv(data: bytes, what: str = "curve file") -> DigitisedCurve:
    """Digitised (time, survival) points; survival returned as a probability."""
    rows, _ = _rows(data, what, ("time", "survival"))
    notes: list[str] = []
    times = [t for t, _ in rows]
    surv = [s for _, s in rows]
    neg = [i for i, t in enumerate(times) if t < 0]
    if neg:
        raise CurveFileError(f"{what}: negative time {times[neg[0]]:g} (data row {neg[0] + 1}); times are months "
                             "from the start of treatment. Set points left of the axis origin to 0.")
    top = max(surv)
    if top > 1 + _OVERSHOOT:
        # a percent-scale KM starts near 100; a top value of, say, 1.7 is neither scale
        if 50 <= top <= 100 + 100 * _OVERSHOOT and min(surv) >= -100 * _OVERSHOOT:
            surv = [s / 100 for s in surv]
            notes.append("survival read on a 0-100 (percent) scale and divided by 100")
        else:
            raise CurveFileError(f"{what}: survival {top:g} is outside 0-1 (and not a 0-100 percent scale)")
    low = min(surv)
    if low < -_OVERSHOOT:
        raise CurveFileError(f"{what}: survival {low:g} is below 0")
    if max(surv) > 1 or min(surv) < 0:
        notes.append("survival values a hair outside 0-1 (digitising) clipped to 0-1")
        surv = [min(max(s, 0.0), 1.0) for s in surv]
    return DigitisedCurve(tuple(times), tuple(surv), tuple(notes))


def parse_risk_csv(data: bytes, what: str = "risk table") -> RiskTable:
    """Number-at-risk table: (time, n at risk), starting at time 0, never increasing."""
    rows, _ = _rows(data, what, ("time", "n_at_risk"))
    times = [t for t, _ in rows]
    counts = [n for _, n in rows]
    for i, (t, n) in enumerate(rows, start=1):
        if t < 0:
            raise CurveFileError(f"{what}: negative time {t:g} (data row {i})")
        if n < 0:
            raise CurveFileError(f"{what}: negative number at risk {n:g} (data row {i})")
        if n != int(n):
            raise CurveFileError(f"{what}: {n:g} at risk at {t:g} months (data row {i}) is not a whole number")
    for i in range(1, len(rows)):
        if times[i] <= times[i - 1]:
            raise CurveFileError(f"{what}: times must increase; {times[i]:g} follows {times[i - 1]:g} "
                                 f"(data row {i + 1})")
        if counts[i] > counts[i - 1]:
            raise CurveFileError(f"{what}: the number at risk goes up from {counts[i - 1]:g} to {counts[i]:g} "
                                 f"at {times[i]:g} months (data row {i + 1})")
    if times[0] != 0:
        raise CurveFileError(f"{what}: the first row must be time 0 with the number treated; it is {times[0]:g}")
    if counts[0] < 1:
        raise CurveFileError(f"{what}: nobody at risk at time 0")
    return RiskTable(tuple(times), tuple(int(n) for n in counts), ())


def digitised_paths(study_id: str, arm_id: str, endpoint: str, directory: Path | None = None) -> tuple[Path, Path]:
    d = Path(directory) if directory is not None else DIGITISED_DIR
    stem = f"{study_id}__{arm_id}__{endpoint}"
    return d / f"{stem}.curve.csv", d / f"{stem}.risk.csv"


def load_digitised(study_id: str, arm_id: str, endpoint: str,
                   directory: Path | None = None) -> tuple[DigitisedCurve, RiskTable] | None:
    """A curator's digitised curve and risk table for one arm and endpoint, or None.

    Both files must exist; a curve without its risk table is an error (Guyot
    needs the table), and so is any malformed file: CurveFileError names it.
    """
    curve_path, risk_path = digitised_paths(study_id, arm_id, endpoint, directory)
    if not curve_path.is_file() and not risk_path.is_file():
        return None
    if not curve_path.is_file() or not risk_path.is_file():
        missing = curve_path if not curve_path.is_file() else risk_path
        raise CurveFileError(f"{missing.name} is missing: a digitised curve needs both .curve.csv and .risk.csv")
    curve = parse_curve_csv(curve_path.read_bytes(), what=curve_path.name)
    risk = parse_risk_csv(risk_path.read_bytes(), what=risk_path.name)
    return curve, risk
