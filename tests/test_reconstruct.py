"""Reconstruction of pseudo patient data: Guyot, from_summary, the store's arms, the CSV parser."""
from __future__ import annotations

import math
import zipfile
from io import BytesIO

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_gbsg2

from evidence.curve_files import MAX_BYTES, MAX_ROWS, CurveFileError, parse_curve_csv, parse_risk_csv
from analysis.reconstruct import from_summary, guyot
from views.survival_inputs import curve_sources, rebuild

DAYS_PER_MONTH = 365.25 / 12
HUANG_FOLFOX = [(6, 0.927), (12, 0.618), (17.1, 0.5), (18, 0.418)]


# --------------------------------------------------------------------------- helpers

def _km(t, e) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit(np.asarray(t, float), np.asarray(e, int))


def _corners(t, e):
    """Exact KM outline: top and bottom corner of every drop, and the end of the tail."""
    sf = _km(t, e).survival_function_.iloc[:, 0]
    ct, cs, prev = [], [], 1.0
    for tt, ss in sf.items():
        if tt > 0 and ss < prev:
            ct += [tt, tt]
            cs += [prev, ss]
            prev = ss
    return np.array(ct + [float(np.max(t))]), np.array(cs + [prev])


def _cox_hr(df) -> float:
    return float(CoxPHFitter().fit(df[["time", "event", "arm"]], "time", "event").hazard_ratios_["arm"])


@pytest.fixture(scope="module")
def gbsg2():
    g = load_gbsg2()
    return pd.DataFrame({"time": g["time"] / DAYS_PER_MONTH, "event": g["cens"].astype(int),
                         "arm": (g["horTh"] == "yes").astype(int)})


@pytest.fixture(scope="module")
def gbsg2_rebuilt(gbsg2):
    """Each arm rebuilt from its exact KM corners and its true yearly risk table (+ events)."""
    out = {}
    for arm in (0, 1):
        d = gbsg2[gbsg2.arm == arm]
        ct, cs = _corners(d.time, d.event)
        rt = np.arange(0, d.time.max(), 12.0)
        rn = [int((d.time >= x).sum()) for x in rt]
        out[arm] = guyot(ct, cs, rt, rn, total_events=int(d.event.sum()))
    return out


def _check_anchors(ipd, anchors, n_at_risk_tolerance=True):
    """Every anchor reproduced: median within 2%, landmark survival within 0.01.

    Where few patients remain, a KM can only take values one step (S/at-risk)
    apart; there the tolerance is half a step, the best any pseudo-data can do.
    """
    kmf = _km(ipd.time, ipd.event)
    for t, s in anchors:
        if s == 0.5:
            assert kmf.median_survival_time_ == pytest.approx(t, rel=0.02), f"median {t}"
        else:
            got = float(kmf.survival_function_at_times(t).iloc[0])
            at_risk = max(int((ipd.time >= t).sum()), 1)
            tol = max(0.01, 0.5 * got / at_risk + 1e-9) if n_at_risk_tolerance else 0.01
            assert abs(got - s) <= tol, f"survival at {t}: {got:.4f} vs {s}"


# --------------------------------------------------------------------------- Guyot

def test_guyot_gbsg2_hazard_ratio_within_001(gbsg2, gbsg2_rebuilt):
    rec = pd.concat([gbsg2_rebuilt[1].assign(arm=1), gbsg2_rebuilt[0].assign(arm=0)])
    assert _cox_hr(rec) == pytest.approx(_cox_hr(gbsg2), abs=0.01)


@pytest.mark.parametrize("arm", [0, 1])
def test_guyot_gbsg2_km_matches_everywhere(gbsg2, gbsg2_rebuilt, arm):
    d = gbsg2[gbsg2.arm == arm]
    rec = gbsg2_rebuilt[arm]
    assert len(rec) == len(d)
    assert set(rec.columns) == {"time", "event"} and set(rec.event.unique()) <= {0, 1}
    grid = np.linspace(0, d.time.max(), 3000)
    true = _km(d.time, d.event).survival_function_at_times(grid).values
    got = _km(rec.time, rec.event).survival_function_at_times(grid).values
    assert np.abs(true - got).max() < 0.01


def test_guyot_keeps_the_flat_tail():
    # 10 patients, 3 deaths early, then nobody dies: the survivors stay at risk to the last digitised time
    t = [0, 2, 2, 4, 4, 6, 6, 30]
    s = [1, 1, 0.9, 0.9, 0.8, 0.8, 0.7, 0.7]
    ipd = guyot(t, s, [0], [10], total_events=3)
    assert ipd.event.sum() == 3
    assert (ipd[ipd.event == 0].time == 30).sum() == 7


def test_guyot_single_row_risk_table(gbsg2):
    d = gbsg2[gbsg2.arm == 0]
    ct, cs = _corners(d.time, d.event)
    with_events = guyot(ct, cs, [0], [len(d)], total_events=int(d.event.sum()))
    assert len(with_events) == len(d) and with_events.event.sum() == d.event.sum()
    without = guyot(ct, cs, [0], [len(d)])
    assert len(without) == len(d)
    assert without.time.max() == pytest.approx(d.time.max())


def test_guyot_no_leftover_censorings_between_passes():
    # a risk table that forces the adjustment loop through several passes; the
    # output must still hold exactly one row per patient and meet the table
    t = np.linspace(0.5, 24, 48)
    s = np.exp(-0.05 * t)
    ipd = guyot(t, s, [0, 6, 12, 18], [100, 60, 30, 12])
    assert len(ipd) == 100
    for x, n in [(6, 60), (12, 30), (18, 12)]:
        assert int((ipd.time >= x).sum()) == pytest.approx(n, abs=1)


def test_guyot_cleans_noisy_input():
    t = [3, 1, 2, 2, 5, 4]                 # unsorted, duplicate time
    s = [0.7, 0.95, 0.9, 0.85, 0.6, 0.72]  # goes up at 4 (noise)
    ipd = guyot(t, s, [0], [20])
    assert len(ipd) == 20
    km = _km(ipd.time, ipd.event).survival_function_.iloc[:, 0]
    assert (np.diff(km.values) <= 1e-12).all()


@pytest.mark.parametrize("args, message", [
    (([1, 2], [0.9], [0], [10]), "2 times but 1 survival"),
    (([1, float("nan")], [0.9, 0.8], [0], [10]), "missing or infinite"),
    (([1, 2], [0.9, 0.8], [0, 6], [10]), "2 times but 1 numbers at risk"),
    (([1, 2], [90, 80], [0], [10]), "percent scale"),
    (([-5, 2], [0.9, 0.8], [0], [10]), "negative time"),
    (([1, 2], [0.9, 0.8], [3, 6], [10, 8]), "must start at time 0"),
    (([1, 2], [0.9, 0.8], [0, 6], [10, 12]), "cannot increase"),
    (([1, 2], [0.9, 0.8], [0, 6, 6], [10, 8, 7]), "must increase"),
    (([1, 2], [0.9, 0.8], [0], [10.5]), "whole numbers"),
    (([], [], [0], [10]), "no points"),
    (([1, 2], [0.9, 0.8], [], []), "risk table is empty"),
])
def test_guyot_malformed_input_says_what_is_wrong(args, message):
    with pytest.raises(ValueError, match=message):
        guyot(*args)


def test_guyot_total_events_out_of_range():
    with pytest.raises(ValueError, match="between 0 and the number at risk"):
        guyot([1, 2], [0.9, 0.8], [0], [10], total_events=11)


# --------------------------------------------------------------------------- from_summary

def test_from_summary_reproduces_anchors_and_events():
    ipd = from_summary(55, HUANG_FOLFOX, events=44, max_followup=40, min_followup=1)
    assert len(ipd) == 55 and list(ipd.columns) == ["time", "event"]
    assert ipd.event.sum() == 44
    _check_anchors(ipd, HUANG_FOLFOX, n_at_risk_tolerance=False)


@pytest.mark.parametrize("kwargs", [
    dict(),                                       # nothing but the anchors: stops at the last one
    dict(max_followup=36.0),                      # administrative censoring only
    dict(events=44),                              # events, no follow-up
    dict(events=55),                              # everybody died
    dict(events=20, max_followup=30, min_followup=2),
])
def test_from_summary_variants(kwargs):
    ipd = from_summary(55, HUANG_FOLFOX, **kwargs)
    assert len(ipd) == 55
    if "events" in kwargs:
        assert ipd.event.sum() == kwargs["events"]
    _check_anchors(ipd, HUANG_FOLFOX)
    if "max_followup" in kwargs:
        assert ipd.time.max() <= kwargs["max_followup"] + 1e-9


def _km_end(ipd) -> float:
    return float(_km(ipd.time, ipd.event).survival_function_.iloc[-1, 0])


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(max_followup=36.0),
    dict(max_followup=60.0, min_followup=1.0),
    dict(events=44),
    dict(events=44, max_followup=40, min_followup=1),
    dict(events=54, max_followup=40),               # one survivor: still not 0%
    dict(events=20, max_followup=30, min_followup=2),
])
def test_from_summary_ends_flat_when_not_everybody_had_the_event(kwargs):
    # 44 deaths of 55: the longest-followed pseudo-patient is censored, the curve
    # ends flat at the last reconstructed survival and never reads "nobody alive"
    ipd = from_summary(55, HUANG_FOLFOX, **kwargs)
    assert _km_end(ipd) > 0
    assert (ipd[ipd.time == ipd.time.max()].event == 0).any(), "the longest-followed patient is censored"
    if "events" in kwargs:
        assert ipd.event.sum() == kwargs["events"]


@pytest.mark.parametrize("kwargs", [dict(events=55), dict(events=55, max_followup=40, min_followup=1)])
def test_from_summary_reaches_zero_only_when_everybody_had_the_event(kwargs):
    ipd = from_summary(55, HUANG_FOLFOX, **kwargs)
    assert ipd.event.sum() == 55 and _km_end(ipd) == 0


def test_from_summary_reported_zero_rate_is_kept():
    # the paper prints 0% at 24 months: reaching 0 is what it says
    anchors = [(1.8, 0.5), (6, 0.185), (12, 0.093), (24, 0.0)]
    ipd = from_summary(54, anchors, max_followup=55, min_followup=5)
    assert _km_end(ipd) == 0
    _check_anchors(ipd, anchors)


def test_from_summary_without_followup_stops_at_last_anchor():
    ipd = from_summary(100, [(9.5, 0.5)])
    assert ipd.time.max() == pytest.approx(9.5)
    assert _km(ipd.time, ipd.event).median_survival_time_ == pytest.approx(9.5)


def test_from_summary_is_deterministic():
    a = from_summary(55, HUANG_FOLFOX, events=44, max_followup=40)
    b = from_summary(55, HUANG_FOLFOX, events=44, max_followup=40)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("n", [14, 16, 46, 54, 132])
def test_from_summary_even_and_odd_n_median_exact(n):
    # an even n lands exactly on 50%: the median must still be the reported one
    ipd = from_summary(n, [(6.7, 0.5)])
    assert _km(ipd.time, ipd.event).median_survival_time_ == pytest.approx(6.7, rel=0.02)


def test_from_summary_contradictory_anchors_named():
    with pytest.raises(ValueError) as exc:
        from_summary(50, [(6, 0.5), (12, 0.6)])
    msg = str(exc.value)
    assert "60%" in msg and "12 months" in msg and "50%" in msg and "6 months" in msg
    with pytest.raises(ValueError, match=r"two different survivals at the same time.*|60%.*50%.*12 months"):
        from_summary(50, [(12, 0.6), (12, 0.5)])


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=0, anchors=[(6, 0.5)]), "n"),
    (dict(n=10.5, anchors=[(6, 0.5)]), "whole number"),
    (dict(n=10, anchors=[]), "at least one anchor"),
    (dict(n=10, anchors=[(6, 50)]), "between 0 and 1"),
    (dict(n=10, anchors=[(-1, 0.5)]), "negative time"),
    (dict(n=10, anchors=[(6, 0.5)], events=11), "events"),
    (dict(n=10, anchors=[(6, 0.5)], max_followup=5, min_followup=8), "above min_followup"),
])
def test_from_summary_malformed_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        from_summary(**kwargs)


# --------------------------------------------------------------------------- every arm of the store

@pytest.mark.parametrize("family", ["OS", "PFS"])
def test_every_store_arm_reproduces_its_anchors(store, family):
    sources = [s for s in curve_sources(store, family) if s.reconstructable]
    assert sources, "the store has arms with survival anchors"
    for src in sources:
        ipd = rebuild(src)
        assert len(ipd) == src.n, src.key
        if src.events is not None:
            assert ipd.event.sum() == src.events, src.key
        used = src.used_anchors
        _check_anchors(ipd, used)
        for a in src.anchors:
            if not a.used:
                # a contradiction is reported, not smoothed away
                assert a.why_unused and any("left out" in n for n in src.notes), src.key


@pytest.mark.parametrize("family", ["OS", "PFS"])
def test_every_store_arm_reaches_zero_only_when_everybody_had_the_event(store, family):
    """A curve at 0% reads "nobody alive (or progression-free)": only where the paper says so.

    Fewer events than patients, or events not reported: the KM of the pseudo-data
    ends above 0 (the longest-followed pseudo-patient is censored). As many
    events as patients, or a reported 0% rate: it may reach 0.
    """
    checked = 0
    for src in (s for s in curve_sources(store, family) if s.reconstructable):
        ipd = rebuild(src)
        end = _km_end(ipd)
        everybody = src.events is not None and src.events == src.n
        reported_zero = any(s <= 0 for _, s in src.used_anchors) or (
            src.method == "digitised" and min(s for _, s in src.curve) <= 0)
        if everybody or reported_zero:
            continue
        checked += 1
        ev = "unknown" if src.events is None else f"{src.events} of {src.n}"
        assert end > 0, f"{src.key}: events {ev}, yet the curve reaches 0 at {ipd.time.max():.1f} months"
        longest = ipd[ipd.time == ipd.time.max()]
        assert (longest.event == 0).any(), f"{src.key}: the longest-followed pseudo-patient must be censored"
    assert checked, "the store has arms with fewer events than patients"
    if family == "OS":
        srcs = {s.key: s for s in curve_sources(store, family)}
        if "huang2022:sorafenib" in srcs and srcs["huang2022:sorafenib"].events == srcs["huang2022:sorafenib"].n:
            assert _km_end(rebuild(srcs["huang2022:sorafenib"])) == 0, "59 deaths of 59: the curve does reach 0"


def test_store_labels_say_what_curves_are_rebuilt_from(store):
    os_sources = {s.key: s for s in curve_sources(store, "OS")}
    if "huang2022:folfox_haic" in os_sources:
        assert os_sources["huang2022:folfox_haic"].label == "median + 3 landmark rates + 44 deaths"
    pfs = {s.key: s for s in curve_sources(store, "PFS")}
    for s in pfs.values():
        assert s.endpoint in ("PFS", "TTP")
        rows = store.outcomes[(store.outcomes.study_id == s.study_id) & (store.outcomes.arm_id == s.arm_id)]
        if s.endpoint == "TTP":
            assert not rows.endpoint.str.startswith("PFS").any(), "TTP is only used where there is no PFS"


def test_contradictory_store_anchor_is_surfaced(store):
    src = {s.key: s for s in curve_sources(store, "OS")}.get("sun2022:folfox4")
    if src is None:
        pytest.fail("sun2022 not in the store")
    six = [a for a in src.anchors if a.kind == "rate" and a.time == 6]
    if not six or six[0].survival != 0.5:
        pytest.fail("the 6-month rate of FOLFOX4 is no longer 50%")
    assert not six[0].used and "median" in six[0].why_unused
    assert src.conflicts, "the recorded conflict is carried with the curve"


def test_digitised_files_take_precedence(store, tmp_path):
    sid, aid = store.arms.iloc[0].study_id, store.arms.iloc[0].arm_id
    (tmp_path / f"{sid}__{aid}__OS.curve.csv").write_text("X,Y\n0,1\n3,0.9\n6,0.7\n12,0.5\n18,0.4\n")
    (tmp_path / f"{sid}__{aid}__OS.risk.csv").write_text("time,n_at_risk\n0,40\n6,30\n12,18\n")
    src = {s.key: s for s in curve_sources(store, "OS", digitised_dir=tmp_path)}[f"{sid}:{aid}"]
    assert src.method == "digitised" and src.label.startswith("digitised curve + risk table")
    assert len(rebuild(src)) == 40


def test_broken_digitised_file_falls_back_with_a_note(store, tmp_path):
    sid, aid = "huang2022", "folfox_haic"
    if not ((store.arms.study_id == sid) & (store.arms.arm_id == aid)).any():
        pytest.fail("huang2022 not in the store")
    (tmp_path / f"{sid}__{aid}__OS.curve.csv").write_bytes(b"PK\x03\x04junk")
    (tmp_path / f"{sid}__{aid}__OS.risk.csv").write_text("0,55\n")
    src = {s.key: s for s in curve_sources(store, "OS", digitised_dir=tmp_path)}[f"{sid}:{aid}"]
    assert src.method == "summary"
    assert any("spreadsheet" in n for n in src.notes)


# --------------------------------------------------------------------------- the CSV parser

def _xlsx_bytes() -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    return buf.getvalue()


def test_parser_reads_webplotdigitizer_export():
    c = parse_curve_csv(b"0.0,1.0\n2.5,0.93\n5.1,0.81\n")
    assert c.times == (0.0, 2.5, 5.1) and c.survival == (1.0, 0.93, 0.81) and not c.notes
    c = parse_curve_csv(b"X,Y\r\n0,1\r\n2.5,0.93\r\n")
    assert c.times == (0.0, 2.5)
    r = parse_risk_csv(b"time,n_at_risk\n0,55\n6,49\n12,30\n")
    assert r.at_risk == (55, 49, 30)


def test_parser_detects_percent_scale_and_says_so():
    c = parse_curve_csv(b"0,100\n6,92.7\n12,61.8\n")
    assert c.survival == pytest.approx((1.0, 0.927, 0.618))
    assert any("percent" in n for n in c.notes)


def test_parser_accepts_semicolons_with_decimal_commas():
    c = parse_curve_csv("0;1\n2,5;0,93\n".encode())
    assert c.times == (0.0, 2.5) and c.survival == (1.0, 0.93)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"0,1\n" * (MAX_BYTES // 4 + 10), "limit"),
    (b"0,1\n" + b"1,0.5\n" * (MAX_ROWS + 1), "limit is"),
    (b"0,1\n2,abc\n", "row 2, survival: 'abc' is not a number"),
    (b"0,1\n2,nan\n", "NaN or infinity"),
    (b"0,1\ninf,0.5\n", "NaN or infinity"),
    (b"0,1\n-3,0.9\n", "negative time"),
    (b"0,1\n2,1.7\n", "outside 0-1"),
    (b"0,100\n2,150\n", "outside 0-1"),
    (b"0,1\n2,-0.4\n", "below 0"),
    (b"0,1,3\n", "3 columns"),
    (_xlsx_bytes(), "spreadsheet"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel"),
    ("0,1\n2,0.9\n".encode("utf-16"), "UTF-16"),
    (b"0,1\n2,0.9\xe9\n", "not UTF-8"),
    (b"X,Y\n", "header but no numbers"),
])
def test_parser_rejects_bad_curve_files(data, message):
    with pytest.raises(CurveFileError, match=message):
        parse_curve_csv(data)


@pytest.mark.parametrize("data, message", [
    (b"3,50\n6,40\n", "first row must be time 0"),
    (b"0,50\n6,55\n", "goes up"),
    (b"0,50\n6,40.5\n", "not a whole number"),
    (b"0,50\n6,40\n6,30\n", "must increase"),
    (b"0,-1\n", "negative number at risk"),
    (b"0,50\n-6,40\n", "negative time"),
    (_xlsx_bytes(), "spreadsheet"),
])
def test_parser_rejects_bad_risk_tables(data, message):
    with pytest.raises(CurveFileError, match=message):
        parse_risk_csv(data)


def test_parsed_upload_feeds_guyot():
    c = parse_curve_csv(b"X,Y\n0,100\n3,90\n6,72\n9,60\n12,48\n18,35\n24,30\n")
    r = parse_risk_csv(b"0,60\n6,43\n12,28\n18,18\n")
    ipd = guyot(c.times, c.survival, r.times, r.at_risk)
    assert len(ipd) == 60 and 0 < ipd.event.sum() < 60
    assert math.isclose(ipd.time.max(), 24)
    assert [int((ipd.time >= x).sum()) for x in (6, 12, 18)] == [43, 28, 18]
