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
# The rebuild's cost grows with the number of patients and of risk-table rows.
# The largest HCC trials randomised about 1,000 patients; 5,000 leaves room for
# pooled curves and keeps the rebuild within a couple of seconds (measured in
# tests/test_hostile_uploads.py). 20 years is beyond any follow-up in the field.
MAX_AT_RISK = 5000
MAX_MONTHS = 240
MAX_RISK_ROWS = 200
# A digitised curve may rise by a pixel; a rise larger than this is noted, and one
# larger than _RISE_REFUSED is not a Kaplan-Meier curve at all.
_RISE_NOTED = 0.02
_RISE_REFUSED = 0.10
# How far the number at risk may exceed what the curve allows before the two are
# called contradictory: digitising error (5% of the patients) plus one patient.
_RISK_SLACK = 0.05
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
    late = [i for i, t in enumerate(times) if t > MAX_MONTHS]
    if late:
        raise CurveFileError(f"{what}: time {times[late[0]]:g} (data row {late[0] + 1}) is beyond {MAX_MONTHS} months "
                             f"({MAX_MONTHS // 12} years); times are months from the start of treatment")
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
    rise = _largest_rise(times, surv)
    if rise is not None:
        size, t_low, s_low, t_high, s_high = rise
        said = (f"the curve goes back up from {100 * s_low:.0f}% at {t_low:g} months to {100 * s_high:.0f}% "
                f"at {t_high:g} months")
        if size > _RISE_REFUSED:
            raise CurveFileError(f"{what}: {said}; a Kaplan-Meier curve never rises. Check the points "
                                 "(two curves mixed up, or time and survival swapped).")
        if size > _RISE_NOTED:
            notes.append(f"{said}; a Kaplan-Meier curve never rises, so the rebuild follows the lowest "
                         "value reached so far")
    return DigitisedCurve(tuple(times), tuple(surv), tuple(notes))


def _largest_rise(times, surv):
    """(rise, time and survival at the low point, time and survival at the high point) of
    the largest climb above the lowest value reached so far, in time order."""
    order = sorted(range(len(times)), key=lambda i: (times[i], -surv[i]))
    best, low_i = None, None
    for i in order:
        if low_i is None or surv[i] < surv[low_i]:
            low_i = i
        elif surv[i] - surv[low_i] > 1e-12 and times[i] > times[low_i]:
            rise = surv[i] - surv[low_i]
            if best is None or rise > best[0]:
                best = (rise, times[low_i], surv[low_i], times[i], surv[i])
    return best


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
    if counts[0] > MAX_AT_RISK:
        raise CurveFileError(f"{what}: {counts[0]:,.0f} at risk at time 0; the limit is {MAX_AT_RISK:,} patients "
                             "(the largest HCC trials treated about 1,000)")
    if len(rows) > MAX_RISK_ROWS:
        raise CurveFileError(f"{what}: {len(rows)} rows; a number-at-risk table has at most {MAX_RISK_ROWS}")
    if times[-1] > MAX_MONTHS:
        raise CurveFileError(f"{what}: time {times[-1]:g} is beyond {MAX_MONTHS} months ({MAX_MONTHS // 12} years)")
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


# --------------------------------------------------------------------------- #
# An uploaded pair: do the curve and the table agree, and how well does the
# rebuilt curve give them back?
# --------------------------------------------------------------------------- #

def _curve_at(curve: DigitisedCurve, t: float) -> float:
    """The digitised step curve at a time: the lowest value at or before it (a KM
    never rises), 1 before the first point."""
    vals = [s for x, s in zip(curve.times, curve.survival) if x <= t + 1e-9]
    return min(vals) if vals else 1.0


def check_pair(curve: DigitisedCurve, risk: RiskTable) -> list[str]:
    """Notes on a curve and its risk table read together; CurveFileError when they
    contradict each other.

    Patients leave the risk set by dying (or progressing) or by being censored,
    so between two table times the number at risk can at most follow the curve:
    n(t2) <= n(t1) x S(t2) / S(t1). A table that stays high while the curve
    falls cannot belong to it. The other way round (far fewer at risk than the
    curve allows) is possible with heavy censoring, so it is a note, not a refusal.
    """
    notes: list[str] = []
    for i in range(1, len(risk.times)):
        t1, t2 = risk.times[i - 1], risk.times[i]
        n1, n2 = risk.at_risk[i - 1], risk.at_risk[i]
        s1, s2 = _curve_at(curve, t1), _curve_at(curve, t2)
        if s1 <= 0:
            if n2 > 0:
                raise CurveFileError(f"the risk table has {n2} at risk at {t2:g} months, but the curve is at 0% "
                                     f"from {t1:g} months: nobody is left. Check that the table belongs to this curve.")
            continue
        most = n1 * s2 / s1
        if n2 > most + _RISK_SLACK * n1 + 1:
            raise CurveFileError(
                f"the risk table has {n2} at risk at {t2:g} months, but the curve falls from {100 * s1:.0f}% to "
                f"{100 * s2:.0f}% after {t1:g} months: of {n1} at risk then, at most about {most:.0f} can still be "
                "at risk. Check that the table belongs to this curve.")
    n0 = risk.at_risk[0]
    for t, n in zip(risk.times[1:], risk.at_risk[1:]):
        alive = n0 * _curve_at(curve, t)
        if alive >= 10 and n < 0.5 * alive:
            notes.append(f"at {t:g} months the table has {n} of {n0} at risk while the curve says about "
                         f"{alive:.0f} are alive and event-free: {alive - n:.0f} would have left follow-up "
                         "early. Check that the table belongs to this curve; the fidelity rows show the result.")
            break
    if curve.times and max(curve.times) < risk.times[-1] and risk.at_risk[-1] > 0:
        notes.append(f"the curve ends at {max(curve.times):g} months but the table runs to {risk.times[-1]:g}: "
                     "the curve is taken as flat after its last point")
    return notes


@dataclass(frozen=True)
class UploadRebuild:
    """An uploaded curve rebuilt: the pseudo patient data, the notes the page must
    show next to the curve, and the fidelity rows (reported vs rebuilt)."""
    ipd: object              # pandas DataFrame (time, event)
    notes: tuple[str, ...]
    fidelity: object         # pandas DataFrame, the columns of analysis.survival.fidelity


def upload_fidelity(curve: DigitisedCurve, risk: RiskTable, ipd, total_events: int | None = None,
                    key: str = "upload"):
    """Reported vs rebuilt for an upload: survival at each risk-table time after 0
    (the digitised curve against the KM of the rebuilt data, in percent), and the
    total events when the paper gave them. Same columns as analysis.survival.fidelity,
    so the survival page's fidelity table shows it as is."""
    import pandas as pd
    from analysis.survival import RATE_FLAG, summarise

    stats = summarise(ipd)
    rows = []
    for t in risk.times[1:]:
        if t > stats.last_time + 1e-9:
            continue
        reported, got = 100 * _curve_at(curve, t), 100 * stats.survival_at(t)
        rows.append({"key": key, "quantity": f"survival at {t:g} months (%)", "reported": reported,
                     "reconstructed": got, "difference": got - reported,
                     "flag": abs(got - reported) > 100 * RATE_FLAG, "note": "uploaded curve",
                     "location": "uploaded curve", "snippet": ""})
    if total_events is not None:
        rows.append({"key": key, "quantity": "events", "reported": float(total_events),
                     "reconstructed": float(stats.events), "difference": float(stats.events - total_events),
                     "flag": stats.events != total_events, "note": "events entered with the upload",
                     "location": "upload", "snippet": ""})
    cols = ["key", "reference_key", "quantity", "reported", "reconstructed", "difference", "flag", "note",
            "location", "snippet", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=cols)


def rebuild_upload(curve_bytes: bytes, risk_bytes: bytes, total_events: int | None = None) -> UploadRebuild:
    """Everything the survival page needs for an upload, or CurveFileError with a
    message for the user. Bounded: at most MAX_AT_RISK patients, MAX_MONTHS months,
    MAX_RISK_ROWS table rows and MAX_ROWS curve points."""
    from .reconstruct import guyot

    curve = parse_curve_csv(curve_bytes, "curve file")
    risk = parse_risk_csv(risk_bytes, "risk table")
    if total_events is not None and not 0 <= int(total_events) <= risk.at_risk[0]:
        raise CurveFileError(f"{int(total_events)} events is not possible with {risk.at_risk[0]} patients at time 0")
    notes = list(curve.notes) + list(risk.notes) + check_pair(curve, risk)
    try:
        ipd = guyot(curve.times, curve.survival, risk.times, risk.at_risk, total_events=total_events)
    except ValueError as exc:
        raise CurveFileError(f"the curve cannot be rebuilt: {exc}") from None
    return UploadRebuild(ipd, tuple(notes), upload_fidelity(curve, risk, ipd, total_events))
