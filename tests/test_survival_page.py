"""The survival page (AppTest) and its figure and table builders (plotly Figures directly:
AppTest has no plotly element)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from components import survival as sv
from evidence import survival_stats as ss
from evidence.survival_inputs import (DEFAULT_KEYS, curve_sources, rebuild, reported_hazard_ratios,
                                      short_arm_label)

ROOT = Path(__file__).resolve().parent.parent
CAVEAT = "not randomised against each other"


def page(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/survival.py").run()
    assert not at.exception, at.exception
    return at


def _keys_in(store, family="OS"):
    return {s.key for s in curve_sources(store, family) if s.reconstructable}


def test_default_view_overlays_the_tumor_board_arms(store):
    at = page()
    available = [k for k in DEFAULT_KEYS if k in _keys_in(store)]
    assert at.multiselect[0].value == available or not available
    assert at.radio[0].value == "OS"
    studies = {k.split(":")[0] for k in available}
    if len(studies) > 1:
        assert any(CAVEAT in w.value for w in at.warning), "cross-study caveat must be visible"
    medians = at.dataframe[0].value
    assert len(medians) == len(available)
    assert medians["Rebuilt from"].str.len().gt(5).all()
    if "huang2022:folfox_haic" in available:
        row = medians[medians.Arm.str.startswith("FOLFOX-HAIC")].iloc[0]
        assert row["Rebuilt from"] == "median + 3 landmark rates + 44 deaths"
        assert row["Reconstructed median, months (95% CI)"].startswith("17.1")


def test_link_selects_arms_and_endpoint(store):
    keys = sorted(k for k in _keys_in(store, "OS") if k.startswith("huang2022:"))
    if len(keys) < 2:
        pytest.skip("huang2022 not in the store")
    at = page(arms=",".join(keys), endpoint="OS")
    assert sorted(at.multiselect[0].value) == keys
    assert not any(CAVEAT in w.value for w in at.warning), "one study: no cross-study caveat"
    fidelity = at.dataframe[1].value
    hr = fidelity[fidelity.Number == "hazard ratio"]
    assert len(hr) == 1 and hr.Reported.iloc[0] == "0.35"
    assert set(fidelity.Number) >= {"median (months)", "events"}


def test_pfs_family_keeps_ttp_as_ttp(store):
    ttp = [s.key for s in curve_sources(store, "PFS") if s.endpoint == "TTP" and s.reconstructable]
    if not ttp:
        pytest.skip("no TTP curves in the store")
    at = page(arms=ttp[0], endpoint="PFS")
    assert at.radio[0].value == "PFS"
    medians = at.dataframe[0].value
    assert list(medians.Endpoint) == ["TTP"]


def test_unknown_link_values_fall_back_with_a_notice(store):
    keys = sorted(_keys_in(store))
    at = page(arms=f"nope:arm,{keys[0]},<script>", endpoint="XYZ", colour="red")
    notices = " ".join(i.value for i in at.info)
    assert "ignored" in notices and "nope:arm" in notices and "XYZ" in notices and "colour" in notices
    assert at.multiselect[0].value == [keys[0]]
    assert at.radio[0].value == "OS"


def test_changing_the_endpoint_updates_the_link(store):
    at = page()
    at.radio[0].set_value("PFS").run()
    assert not at.exception
    assert at.query_params.get("endpoint") in ("PFS", ["PFS"])


def test_arm_without_the_endpoint_is_named(store):
    os_only = sorted(_keys_in(store, "OS") - {s.key for s in curve_sources(store, "PFS")})
    if not os_only:
        pytest.skip("every OS arm also has PFS/TTP")
    at = page(arms=os_only[0], endpoint="PFS")
    assert any("No PFS or TTP numbers" in i.value for i in at.info)


# --------------------------------------------------------------------------- builders

@pytest.fixture(scope="module")
def huang(store):
    srcs = {s.key: s for s in curve_sources(store, "OS")}
    keys = ["huang2022:folfox_haic", "huang2022:sorafenib"]
    if not all(k in srcs and srcs[k].reconstructable for k in keys):
        pytest.skip("huang2022 not in the store")
    shown = [srcs[k] for k in keys]
    rebuilt = {s.key: rebuild(s) for s in shown}
    stats = {k: ss.summarise(d) for k, d in rebuilt.items()}
    return shown, rebuilt, stats


def _figure(shown, rebuilt, stats, bands=False):
    x_max = max(st.last_time for st in stats.values())
    times = ss.at_risk_times(x_max)
    views = [sv.CurveView(key=s.key, name=short_arm_label(s), basis=s.label, stats=stats[s.key],
                          at_risk=ss.number_at_risk(rebuilt[s.key], times), anchors=s.anchors,
                          short_name=short_arm_label(s)) for s in shown]
    return sv.survival_figure(views, times, title="Overall survival", show_bands=bands, x_max=x_max), times


def test_figure_has_curves_anchors_medians_and_risk_table(huang):
    shown, rebuilt, stats = huang
    fig, times = _figure(*huang)
    assert isinstance(fig, go.Figure)
    lines = [t for t in fig.data if t.mode == "lines" and t.showlegend is not False]
    assert len(lines) == 2
    assert all("rebuilt from median + 3 landmark rates" in t.name for t in lines)
    # survival in percent
    assert max(max(t.y) for t in lines) == pytest.approx(100)
    markers = [t for t in fig.data if t.mode == "markers"]
    assert len(markers) == sum(len(s.anchors) for s in shown)
    hovers = " ".join(t.hovertemplate for t in markers)
    assert "17.1 months" in hovers and "Results" in hovers and "92.7%" in hovers
    medians = [t for t in fig.data if t.mode == "lines" and t.line.dash == "dot"]
    assert len(medians) == 2 and {t.y[0] for t in medians} == {50}
    table = [t for t in fig.data if t.mode == "text"]
    assert len(table) == 2 and all(t.yaxis == "y2" for t in table)
    assert list(table[0].text[:1]) == ["55"] and list(table[1].text[:1]) == ["59"]
    assert list(table[0].x) == times[:len(table[0].x)]


def test_figure_fonts_are_legible(huang):
    fig, _ = _figure(*huang)
    sizes = [fig.layout.font.size, fig.layout.legend.font.size, fig.layout.title.font.size,
             fig.layout.hoverlabel.font.size]
    sizes += [a.font.size for a in fig.layout.annotations]
    sizes += [ax.tickfont.size for ax in (fig.layout.xaxis, fig.layout.xaxis2, fig.layout.yaxis, fig.layout.yaxis2)]
    sizes += [t.textfont.size for t in fig.data if t.mode == "text"]
    assert all(s is not None and s >= 12 for s in sizes), sizes


def test_bands_are_optional(huang):
    without, _ = _figure(*huang)
    with_bands, _ = _figure(*huang, bands=True)
    assert sum(t.fill == "toself" for t in with_bands.data) == 2
    assert not any(t.fill == "toself" for t in without.data)


def test_figure_escapes_user_text(huang):
    shown, rebuilt, stats = huang
    st0 = stats[shown[0].key]
    view = sv.CurveView(key="upload", name="<img src=x onerror=alert(1)>", basis="uploaded", stats=st0,
                        at_risk=[1], short_name="<b>x</b>")
    fig = sv.survival_figure([view], [0.0], title="t")
    assert "<img" not in fig.data[0].name and "&lt;img" in fig.data[0].name


def test_fidelity_and_median_tables(store, huang):
    shown, rebuilt, stats = huang
    fid = ss.fidelity(shown, stats, rebuilt, reported_hazard_ratios(store, shown))
    hr = fid[fid.quantity == "hazard ratio"].iloc[0]
    assert hr.reported == 0.35 and hr.flag == (abs(hr.reconstructed - 0.35) > 0.1)
    assert (fid[fid.quantity == "events"].difference == 0).all()
    table = sv.fidelity_table(fid, {s.key: short_arm_label(s) for s in shown})
    assert {"Reported", "Reconstructed", "Check", "Source sentence"} <= set(table.columns)
    tau = ss.rmst_horizon(list(rebuilt.values()))
    rows = [{"name": s.arm_label, "study": s.study_label, "endpoint": s.endpoint, "n": s.n, "basis": s.label,
             "stats": stats[s.key], "reported_median": 17.1, "rmst": ss.rmst(rebuilt[s.key], tau)[0],
             "rmst_se": ss.rmst(rebuilt[s.key], tau)[1]} for s in shown]
    med = sv.median_rmst_table(rows, tau)
    assert f"RMST to {tau:g} months (± SE), months" in med.columns
    assert med["Reconstructed median, months (95% CI)"].iloc[0].startswith("17.1")


def test_fidelity_flags_a_hazard_ratio_gap():
    fid = pd.DataFrame([{"key": "a:x", "reference_key": "a:y", "quantity": "hazard ratio", "reported": 0.35,
                         "reconstructed": 0.5, "difference": 0.15, "flag": True, "note": "HR 0.35",
                         "location": "Results", "snippet": "HR 0.35", "ci_low": 0.3, "ci_high": 0.8}])
    table = sv.fidelity_table(fid, {"a:x": "X", "a:y": "Y"})
    assert table.Check.iloc[0].startswith("⚠") and table.Arm.iloc[0] == "X vs Y"
