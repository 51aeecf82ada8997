"""Uploads within bounds: a maximum number at risk and time span, curves and
tables that contradict each other refused or noted, and a fidelity row for
every upload."""
from __future__ import annotations

import math
import time

import pytest

from evidence import curve_files as cf
from evidence.curve_files import CurveFileError, rebuild_upload

CURVE = b"0,1\n3,0.9\n6,0.8\n9,0.7\n12,0.6\n18,0.45\n24,0.35\n"
RISK = b"0,100\n6,78\n12,55\n18,38\n24,25\n"


def test_ten_million_at_risk_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(CurveFileError, match="the limit is 5,000 patients"):
        rebuild_upload(CURVE, b"0,10000000\n12,5000000\n")
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("curve, risk, words", [
    (b"0,1\n6,0.8\n300,0.1\n", RISK, "beyond 240 months"),
    (CURVE, b"0,100\n6,78\n12,55\n1000,0\n", "beyond 240 months"),
    (CURVE, "\n".join(f"{i * 0.1:g},100" for i in range(300)).encode(), "rows"),
])
def test_time_span_and_table_size_are_bounded(curve, risk, words):
    with pytest.raises(CurveFileError, match=words):
        rebuild_upload(curve, risk)


def test_a_curve_that_rises_is_refused():
    with pytest.raises(CurveFileError, match="goes back up from 50% at 6 months to 90% at 12 months"):
        rebuild_upload(b"0,1\n6,0.5\n12,0.9\n", RISK)


def test_a_small_rise_is_noted():
    # 60% at 12 months, 65% at 14 months: 5 points up, more than a digitising pixel
    curve = b"0,1\n6,0.8\n12,0.6\n14,0.65\n18,0.45\n24,0.35\n"
    out = rebuild_upload(curve, RISK)
    assert any("goes back up from 60% at 12 months to 65% at 14 months" in n for n in out.notes)


def test_a_table_with_no_deaths_while_the_curve_falls_is_refused():
    # 100 at risk throughout while the curve falls to 20%: at 24 months at most 20 can be at risk
    with pytest.raises(CurveFileError, match="has 100 at risk at 6 months.*at most about 80"):
        rebuild_upload(b"0,1\n6,0.8\n12,0.5\n24,0.2\n", b"0,100\n6,100\n12,100\n24,100\n")


def test_a_table_far_below_the_curve_gets_a_note_and_fidelity_rows():
    # 3 of 100 at risk at 12 months while the curve says 75% alive: 72 censored early
    out = rebuild_upload(b"0,1\n6,0.8\n12,0.75\n", b"0,100\n12,3\n")
    assert any("3 of 100 at risk" in n and "about 75 are alive" in n for n in out.notes)
    assert "survival at 12 months (%)" in set(out.fidelity.quantity)


def test_fidelity_rows_reported_against_rebuilt():
    out = rebuild_upload(CURVE, RISK, total_events=60)
    fid = out.fidelity.set_index("quantity")
    # reported = the digitised curve at each risk-table time (read off CURVE by hand)
    for t, pct in [(6, 80.0), (12, 60.0), (18, 45.0), (24, 35.0)]:
        row = fid.loc[f"survival at {t} months (%)"]
        assert row.reported == pytest.approx(pct)
        assert abs(row.reconstructed - pct) < 5 and row.flag == (abs(row.difference) > 5)
    ev = fid.loc["events"]
    assert ev.reported == 60 and ev.reconstructed == out.ipd.event.sum()
    assert len(out.ipd) == 100


def test_events_beyond_the_patients_are_refused():
    with pytest.raises(CurveFileError, match="not possible with 100 patients"):
        rebuild_upload(CURVE, RISK, total_events=150)


def _maximal_upload():
    n, rows, span = cf.MAX_AT_RISK, cf.MAX_RISK_ROWS, cf.MAX_MONTHS
    pts = [(span * i / (cf.MAX_ROWS - 1), math.exp(-math.log(2) / 12 * span * i / (cf.MAX_ROWS - 1)))
           for i in range(cf.MAX_ROWS)]
    curve = "\n".join(f"{t:.4f},{s:.6f}" for t, s in pts).encode()
    rt = [span * i / (rows - 1) for i in range(rows)]
    # the curve's deaths plus 0.2% censored a month: never more at risk than the curve allows
    nr = [round(n * math.exp(-(math.log(2) / 12 + 0.002) * t)) for t in rt]
    risk = "\n".join(f"{t:.4f},{k}" for t, k in zip(rt, nr)).encode()
    assert len(curve) <= cf.MAX_BYTES
    return curve, risk


def test_the_rebuild_at_the_maximum_is_quick():
    curve, risk = _maximal_upload()
    rebuild_upload(curve, risk)               # imports and warm-up
    start = time.perf_counter()
    out = rebuild_upload(curve, risk)
    took = time.perf_counter() - start
    print(f"rebuild at the maximum ({cf.MAX_AT_RISK} patients, {cf.MAX_ROWS} points, "
          f"{cf.MAX_RISK_ROWS} table rows, {cf.MAX_MONTHS} months): {took:.2f} s")
    assert len(out.ipd) == cf.MAX_AT_RISK
    assert took < 5, f"{took:.1f} s"
