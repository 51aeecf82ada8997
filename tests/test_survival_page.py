"""The survival page (AppTest) and its figure and table builders (plotly Figures directly:
AppTest has no plotly element)."""
from __future__ import annotations


import pandas as pd
import plotly.graph_objects as go
import pytest

from components import survival as sv
from analysis import survival as ss
from views.model import font_size
from views.survival_inputs import ReportedHR, curve_sources, rebuild, reported_hazard_ratios

from tests.pages import open_page, texts

CAVEAT = "not randomised against each other"


def page(**params):
    return open_page("survival.py", **params)


def _keys_in(store, family="OS"):
    return {s.key for s in curve_sources(store, family) if s.reconstructable}


def test_default_view_is_one_within_study_comparison(store):
    at = page()
    # Huang 2022: FOLFOX-HAIC vs sorafenib, one study, so no cross-study caveat
    assert at.multiselect(key="survival.arms").value == ["huang2022:folfox_haic", "huang2022:sorafenib"]
    assert at.radio(key="survival.endpoint").value == "OS"
    assert not any(CAVEAT in t for t in texts(at)), "one study: no cross-study caveat"
    medians = at.dataframe[0].value
    assert len(medians) == 2
    cols = list(medians.columns)
    # the paper's numbers lead, the rebuilt ones follow
    assert cols[1:5] == ["Reported median, months (paper's CI)", "Reported landmark rates",
                         "Rebuilt median, months (95% CI)", "Rebuilt landmark rates"]
    row = medians[medians.Arm.str.startswith("FOLFOX-HAIC")].iloc[0]
    # Huang 2022 Results: "median OS ... 17.1 months (95% CI: 13.4-20.8)"; rates 92.7%, 61.8%, 41.8%
    assert row["Reported median, months (paper's CI)"] == "17.1 (13.4-20.8)"
    assert row["Reported landmark rates"] == "92.7% at 6 mo; 61.8% at 12 mo; 41.8% at 18 mo"
    assert row["Rebuilt from"] == "median + 3 landmark rates + 44 deaths"
    assert row["Rebuilt median, months (95% CI)"].startswith("17.1")


def test_reported_median_carries_the_papers_ci_and_rmst_horizon_is_per_study(store):
    """Liu 2020 prints the median OS as 21.8 months (95% CI 12.9-30.6); alone in its study,
    its RMST runs to its own follow-up, not to the shorter Huang arms shown beside it."""
    keys = ["huang2022:folfox_haic", "huang2022:sorafenib", "liu2020:sorafenib_tace_haic"]
    at = page(arms=",".join(keys), endpoint="OS")
    medians = at.dataframe[0].value.set_index("Study")
    liu = medians.loc["Liu 2020"]
    assert liu["Reported median, months (paper's CI)"] == "21.8 (12.9-30.6)"
    huang = medians.loc["Huang 2022"]
    assert huang["RMST horizon, months"].nunique() == 1
    assert float(liu["RMST horizon, months"]) > float(huang["RMST horizon, months"].iloc[0])
    assert "shorter follow-up of the Huang 2022 arms" in huang["Why this horizon"].iloc[0]
    assert "no other Liu 2020 arm" in liu["Why this horizon"]
    # the warnings (conflicts of Liu 2020) arrive in one box
    assert len(texts(at, "warning")) == 1


def test_link_selects_arms_and_endpoint(store):
    keys = sorted(k for k in _keys_in(store, "OS") if k.startswith("huang2022:"))
    if len(keys) < 2:
        pytest.skip("huang2022 not in the store")
    at = page(arms=",".join(keys), endpoint="OS")
    assert sorted(at.multiselect(key="survival.arms").value) == keys
    assert not any(CAVEAT in t for t in texts(at)), "one study: no cross-study caveat"
    fidelity = at.dataframe[1].value
    hr = fidelity[fidelity.Number == "hazard ratio"]
    assert len(hr) == 1 and hr.Reported.iloc[0] == "0.35"
    assert set(fidelity.Number) >= {"median (months)", "events"}


def test_pfs_family_keeps_ttp_as_ttp(store):
    ttp = [s.key for s in curve_sources(store, "PFS") if s.endpoint == "TTP" and s.reconstructable]
    if not ttp:
        pytest.skip("no TTP curves in the store")
    at = page(arms=ttp[0], endpoint="PFS")
    assert at.radio(key="survival.endpoint").value == "PFS"
    medians = at.dataframe[0].value
    assert list(medians.Endpoint) == ["TTP"]


def test_unknown_link_values_fall_back_with_a_notice(store):
    keys = sorted(_keys_in(store))
    at = page(arms=f"nope:arm,{keys[0]},<script>", endpoint="XYZ", colour="red")
    notices = " ".join(texts(at, "info"))
    assert "ignored" in notices and "nope:arm" in notices and "XYZ" in notices and "colour" in notices
    assert at.multiselect(key="survival.arms").value == [keys[0]]
    assert at.radio(key="survival.endpoint").value == "OS"


def test_changing_the_endpoint_updates_the_link(store):
    at = page()
    at.radio(key="survival.endpoint").set_value("PFS").run()
    assert not at.exception
    assert at.query_params.get("endpoint") in ("PFS", ["PFS"])


def test_arm_without_the_endpoint_is_named(store):
    os_only = sorted(_keys_in(store, "OS") - {s.key for s in curve_sources(store, "PFS")})
    if not os_only:
        pytest.skip("every OS arm also has PFS/TTP")
    at = page(arms=os_only[0], endpoint="PFS")
    assert any("No PFS or TTP numbers" in t for t in texts(at))


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


def _figure(shown, rebuilt, stats, bands=False, **kwargs):
    x_max = max(st.last_time for st in stats.values())
    times = ss.at_risk_times(x_max)
    views = [sv.CurveView(key=s.key, name=s.display_name, basis=s.label, stats=stats[s.key],
                          at_risk=ss.number_at_risk(rebuilt[s.key], times), anchors=s.anchors,
                          short_name=s.display_name) for s in shown]
    return sv.survival_figure(views, times, title="Overall survival", show_bands=bands, x_max=x_max,
                              **kwargs), times


def _data(fig):
    """The figure's traces without the legend-only key of the markers."""
    return [t for t in fig.data if t.legend != "legend2"]


def test_figure_has_curves_anchors_medians_and_risk_table(huang):
    shown, rebuilt, stats = huang
    fig, times = _figure(*huang)
    assert isinstance(fig, go.Figure)
    lines = [t for t in _data(fig) if t.mode == "lines" and t.showlegend is not False]
    assert len(lines) == 2
    assert all("rebuilt from median + 3 landmark rates" in t.name for t in lines)
    # survival in percent
    assert max(max(t.y) for t in lines) == pytest.approx(100)
    markers = [t for t in _data(fig) if t.mode == "markers"]
    assert len(markers) == sum(len(s.anchors) for s in shown)
    hovers = " ".join(t.hovertemplate for t in markers)
    assert "17.1 months" in hovers and "Results" in hovers and "92.7%" in hovers
    medians = [t for t in _data(fig) if t.mode == "lines" and t.line.dash == "dot"]
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


def test_fidelity_table_gives_back_the_deaths_the_paper_printed(store, huang):
    """Huang 2022, Results: "103 patients had died (44 patients in the FOLFOX-HAIC
    group and 59 patients in the sorafenib group)"; HR 0.35."""
    shown, rebuilt, stats = huang
    fid = ss.fidelity(shown, stats, rebuilt, reported_hazard_ratios(store, shown))
    events = fid[fid.quantity == "events"].set_index("key")
    assert events.reported.to_dict() == {"huang2022:folfox_haic": 44, "huang2022:sorafenib": 59}
    assert events.reconstructed.to_dict() == {"huang2022:folfox_haic": 44, "huang2022:sorafenib": 59}
    assert fid[fid.quantity == "hazard ratio"].reported.tolist() == [0.35]
    table = sv.fidelity_table(fid, {s.key: s.display_name for s in shown})
    assert {"Reported", "Reconstructed", "Check", "Source sentence"} <= set(table.columns)


# survival::aml (R), weeks: maintained vs nonmaintained chemotherapy, standing in
# for two rebuilt arms. R 4.2 / survival 3.5-3 (tests/reference/reference.R):
# coxph(ties = "efron") HR 0.400 (0.147-1.092); survfit(conf.type = "log-log")
# median 31 (13-NA) and 23 (5-33); print(survfit, rmean = 40) 28.90 (se 3.47)
# and 21.93 (se 3.84).
AML_MAINTAINED = pd.DataFrame({"time": [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161],
                               "event": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]})
AML_NONMAINTAINED = pd.DataFrame({"time": [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
                                  "event": [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]})


@pytest.mark.parametrize("reported,check", [(0.35, "✓ within 0.1"), (0.29, "⚠ differs by more than 0.1")])
def test_fidelity_checks_a_reported_hazard_ratio_against_coxph(reported, check):
    """0.400 - 0.35 = 0.050 is within the 0.1 of the methods brief; 0.400 - 0.29 = 0.110 is not."""
    hr = ReportedHR(study_id="aml", experimental_key="aml:m", reference_key="aml:n", endpoint="OS", hr=reported,
                    ci_low=None, ci_high=None, adjusted=False, adjusted_for="", population="overall",
                    text=f"HR {reported}", location="Results", snippet=f"HR {reported}")
    fid = ss.fidelity([], {}, {"aml:m": AML_MAINTAINED, "aml:n": AML_NONMAINTAINED}, [hr])
    table = sv.fidelity_table(fid, {"aml:m": "Maintained", "aml:n": "Nonmaintained"})
    row = table.iloc[0]
    assert (row.Arm, row.Number, row.Reported) == ("Maintained vs Nonmaintained", "hazard ratio", f"{reported:.2f}")
    assert row.Reconstructed == "0.40 (0.15-1.09)"
    assert row.Check == check


def test_median_and_rmst_table_prints_the_r_numbers():
    rows = [{"name": name, "study": "aml", "endpoint": "OS", "n": len(d), "basis": "patient data",
             "stats": ss.summarise(d), "reported_median": None,
             "rmst": ss.rmst(d, 40)[0], "rmst_se": ss.rmst(d, 40)[1], "tau": 40.0, "tau_reason": "r"}
            for name, d in (("Maintained", AML_MAINTAINED), ("Nonmaintained", AML_NONMAINTAINED))]
    table = sv.median_rmst_table(rows).set_index("Arm")
    assert table["RMST (± SE), months"].to_dict() == {"Maintained": "28.9 ± 3.5", "Nonmaintained": "21.9 ± 3.8"}
    assert table["RMST horizon, months"].to_dict() == {"Maintained": "40", "Nonmaintained": "40"}
    # the upper limit R leaves NA (the upper band never falls to 50%) is "not reached"
    assert table["Rebuilt median, months (95% CI)"].to_dict() == {"Maintained": "31.0 (13.0-not reached)",
                                                                   "Nonmaintained": "23.0 (5.0-33.0)"}


def test_fidelity_flags_a_hazard_ratio_gap():
    fid = pd.DataFrame([{"key": "a:x", "reference_key": "a:y", "quantity": "hazard ratio", "reported": 0.35,
                         "reconstructed": 0.5, "difference": 0.15, "flag": True, "note": "HR 0.35",
                         "location": "Results", "snippet": "HR 0.35", "ci_low": 0.3, "ci_high": 0.8}])
    table = sv.fidelity_table(fid, {"a:x": "X", "a:y": "Y"})
    assert table.Check.iloc[0].startswith("⚠") and table.Arm.iloc[0] == "X vs Y"


def test_marker_key_explains_dots_diamonds_crosses(huang):
    fig, _ = _figure(*huang)
    key = {t.name for t in fig.data if t.legend == "legend2"}
    assert {"Reported median", "Reported landmark rate", "Reconstructed median"} <= key
    assert all(t.showlegend for t in fig.data if t.legend == "legend2")
    assert fig.layout.legend2.font.size >= 12
    # a contradicted rate gets its own key entry, only when one is shown
    shown, rebuilt, stats = huang
    assert sv.MARKER_KEY_NAMES["unused"] not in key
    from dataclasses import replace
    bad = replace(shown[0], anchors=tuple(replace(a, used=False, why_unused="test") if a.kind == "rate" else a
                                          for a in shown[0].anchors))
    fig2, _ = _figure([bad, shown[1]], rebuilt, stats)
    assert sv.MARKER_KEY_NAMES["unused"] in {t.name for t in fig2.data if t.legend == "legend2"}


def test_one_name_per_arm_in_legend_and_risk_table(huang):
    shown, rebuilt, stats = huang
    fig, _ = _figure(*huang)
    legend_names = [t.name for t in _data(fig) if t.mode == "lines" and t.showlegend is not False]
    for s, legend in zip(shown, legend_names):
        assert legend.startswith(f"<b>{s.display_name}</b>")
    labels = " ".join(fig.layout.yaxis2.ticktext)
    assert "…" not in labels and all(s.study_label in labels for s in shown)


def test_long_risk_table_labels_wrap_instead_of_being_cut(huang):
    shown, rebuilt, stats = huang
    st0 = stats[shown[0].key]
    long = "Hepa-HAIC (HepaSphere DEB-TACE + HAIC-FOLFOX) · Liu (Hepa-HAIC)"
    view = sv.CurveView(key="x", name=long, basis="median", stats=st0, at_risk=[48], short_name=long)
    fig = sv.survival_figure([view], [0.0], title="t")
    label = fig.layout.yaxis2.ticktext[0]
    assert "<br>" in label and "…" not in label
    for word in ("Hepa-HAIC", "HepaSphere", "DEB-TACE", "HAIC-FOLFOX)", "Liu"):
        assert word in label
    # the margin is wide enough for the longest line at about 0.56 em per character
    longest = max(len(x) for x in label.split(">", 1)[1].rsplit("<", 1)[0].split("<br>"))
    assert fig.layout.margin.l >= 0.56 * fig.layout.yaxis2.tickfont.size * longest


def test_caveat_is_the_subtitle_not_on_the_lower_edge(huang):
    fig, _ = _figure(*huang, caveat=sv.CROSS_STUDY_CAVEAT)
    assert fig.layout.title.subtitle.text == sv.CROSS_STUDY_CAVEAT
    assert not any(a.text == sv.CROSS_STUDY_CAVEAT for a in fig.layout.annotations)


def test_presentation_mode_scales_the_figure_type(huang):
    normal, _ = _figure(*huang, font_size=font_size({"present": False}))
    big, _ = _figure(*huang, font_size=font_size({"present": True}))
    assert font_size({"present": True}) == 18
    assert big.layout.font.size > normal.layout.font.size and big.layout.font.size >= 18
    for ax in ("xaxis", "xaxis2", "yaxis", "yaxis2"):
        assert big.layout[ax].tickfont.size >= 18
    assert big.layout.legend.font.size >= 18 and big.layout.title.font.size > normal.layout.title.font.size
    assert min(t.textfont.size for t in big.data if t.mode == "text") >= 18
    assert big.layout.height > normal.layout.height


def test_median_table_puts_the_papers_numbers_first(huang):
    shown, rebuilt, stats = huang
    rows = [{"name": s.display_name, "study": s.study_label, "endpoint": s.endpoint, "n": s.n, "basis": s.label,
             "stats": stats[s.key], "anchors": s.anchors, "rmst": 10.0, "rmst_se": 1.0, "tau": 24.0,
             "tau_reason": "why"} for s in shown]
    cols = list(sv.median_rmst_table(rows).columns)
    assert cols[:4] == ["Arm", "Reported median, months (paper's CI)", "Reported landmark rates",
                        "Rebuilt median, months (95% CI)"]
    assert cols.index("Rebuilt from") == len(cols) - 1


def test_hr_gap_warning_names_the_comparison():
    fid = pd.DataFrame([
        {"key": "a:x", "reference_key": "a:y", "quantity": "hazard ratio", "reported": 0.56, "reconstructed": 0.43,
         "difference": -0.13, "flag": True},
        {"key": "b:x", "reference_key": "b:y", "quantity": "hazard ratio", "reported": 0.35, "reconstructed": 0.37,
         "difference": 0.02, "flag": False},
        {"key": "a:x", "reference_key": None, "quantity": "median (months)", "reported": 9, "reconstructed": 12,
         "difference": 3, "flag": True}])
    texts = sv.hr_gap_warnings(fid, {"a:x": "Hepa-HAIC · Liu", "a:y": "HAIC-FOLFOX · Liu", "b:x": "B"})
    assert len(texts) == 1
    assert "Hepa-HAIC · Liu vs HAIC-FOLFOX · Liu" in texts[0] and "0.56" in texts[0] and "0.43" in texts[0]
    assert "further apart" in texts[0]
    assert sv.hr_gap_warnings(pd.DataFrame(), {}) == []


def test_a_pair_held_to_its_reported_hazard_ratio_needs_no_gap_warning(store):
    """Liu (HepaSphere) prints medians of 22.4 and 9.5 months, an HR of 0.56 and 59 deaths for both
    arms together. Rebuilt arm by arm from a median and a death count the curves were close to
    exponential, whose HR is the ratio of the medians, 9.5 / 22.4 = 0.42: the page warned of a gap.
    Rebuilt as a pair held to the reported HR, the fidelity table gives 0.56 back (within 0.05)
    and says how the 59 deaths were split, and no gap warning is shown."""
    keys = ["liu_hepasphere:hepa_haic", "liu_hepasphere:haic_folfox"]
    at = page(arms=",".join(keys), endpoint="OS")
    assert not [t for t in texts(at, "warning") if "Hazard ratio not reproduced" in t]
    fid = next(d.value for d in at.dataframe if "Number" in d.value.columns)
    hr = fid[fid.Number == "hazard ratio"].iloc[0]
    assert hr.Reported == "0.56" and abs(float(hr.Reconstructed.split(" ")[0]) - 0.56) <= 0.05
    pooled = fid[fid.Number == "events (all arms together)"].iloc[0]
    assert pooled.Reported == "59" and pooled.Reconstructed == "59" and "split" in pooled.Note


def test_presentation_link_renders(store):
    at = page(present="1")
    assert at.toggle(key="survival.present").value is True


def test_presentation_mode_names_the_selection_and_can_be_left(store):
    """The sidebar is hidden on the meeting-room screen: the selection is named in one line
    under the title, and a button brings the sidebar back."""
    at = page(present="1")
    assert "View: Overall survival | Arms: FOLFOX-HAIC · Huang 2022, Sorafenib · Huang 2022" in texts(at, "caption")
    at.button(key="survival.leave_present").click().run()
    assert at.toggle(key="survival.present").value is False
    assert not any(t.startswith("View: ") for t in texts(at, "caption"))
