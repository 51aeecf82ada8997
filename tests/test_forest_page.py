"""AppTest of the forest plot page: the link selects the view, a tampered link
falls back with a notice, the rows shown match the store. (AppTest has no
plotly element: the rows are checked through the table under the plot.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from views import forest_rows
from tests.pages import texts

ROOT = Path(__file__).resolve().parent.parent


def open_forest(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.switch_page("pages/forest.py").run()


def _default_rows(store, endpoint):
    """The hazard ratios a link without parameters shows, computed from the store."""
    s = store.studies.set_index("study_id")
    hr = store.hazard_ratios
    keep = []
    for r in hr[hr.endpoint == endpoint].itertuples():
        st = s.loc[r.study_id]
        if st.source_kind == "review" and st.design != "randomised":
            continue
        if r.population not in ("overall", "matched"):
            continue
        pc = st.primary_comparison
        if isinstance(pc, list) and len(pc) == 2 and sorted(pc) != sorted([r.experimental_arm_id,
                                                                           r.reference_arm_id]):
            continue
        keep.append(r)
    return keep


def _value(widget):
    return widget.value


def test_endpoint_parameter_selects_the_endpoint_when_the_page_opens(store):
    at = open_forest(endpoint="PFS")
    assert not at.exception
    assert at.selectbox(key="forest.endpoint").value == "PFS"
    assert all("ignored" not in t for t in texts(at, "info"))
    expected = _default_rows(store, "PFS")
    if not expected:
        assert any("No hazard ratios" in t for t in texts(at, "info"))
        return
    table = at.dataframe[0].value
    assert set(table.Endpoint) == {"PFS"}
    assert len(table) == len(expected)
    assert sorted(table.HR) == sorted(r.hr for r in expected)
    # the cross-study caveat is one line by the chart, as on the other pages
    assert any("not randomised" in t for t in texts(at, "caption"))


def test_no_parameters_open_overall_survival_with_the_default_studies(store):
    at = open_forest()
    assert not at.exception
    assert at.selectbox(key="forest.endpoint").value == "OS"
    assert at.multiselect(key="forest.studies").value == forest_rows.default_studies(store)
    assert at.multiselect(key="forest.population").value == ["overall", "matched"]
    expected = _default_rows(store, "OS")
    table = at.dataframe[0].value
    assert len(table) == len(expected)
    assert dict(at.query_params) == {}     # defaults are left out of the link


def test_tampered_endpoint_falls_back_with_a_visible_notice():
    at = open_forest(endpoint="<script>alert(1)</script>", studies="sun2022,nonexistent_trial")
    assert not at.exception
    notices = " ".join(texts(at, "info"))
    assert "endpoint" in notices and "ignored" in notices and "nonexistent_trial" in notices
    assert at.selectbox(key="forest.endpoint").value == "OS"
    assert at.multiselect(key="forest.studies").value == ["sun2022"]


def test_too_long_parameter_is_ignored():
    at = open_forest(endpoint="X" * 5000)
    assert not at.exception
    assert any("too long" in t for t in texts(at, "info"))
    assert at.selectbox(key="forest.endpoint").value == "OS"


def test_response_endpoint_from_the_link_shows_counts_with_criteria(store):
    at = open_forest(endpoint="orr", measure="RD")
    assert not at.exception
    assert at.selectbox(key="forest.endpoint").value == "ORR"
    rows = forest_rows.response_rows(store, "ORR", "RD", studies=forest_rows.default_studies(store),
                                populations=["overall", "matched"], comparisons="headline")
    if rows.empty:
        pytest.skip("no two-arm ORR counts in the store yet")
    table = at.dataframe[0].value
    assert len(table) == len(rows)
    assert set(table.Criteria) <= {"RECIST 1.1", "mRECIST", "RECIST", "EASL", "WHO", "not stated"}
    assert table.Method.str.contains("Newcombe").all()
    assert "Responders experimental" in table.columns


def test_changing_a_control_writes_the_link():
    at = open_forest()
    at.selectbox(key="forest.endpoint").set_value("TTP").run()
    at.radio(key="forest.sort").set_value("effect").run()
    assert not at.exception
    qp = dict(at.query_params)
    get = lambda k: qp[k][0] if isinstance(qp[k], list) else qp[k]
    assert get("endpoint") == "TTP" and get("sort") == "effect"


def test_csv_download_is_offered(store):
    at = open_forest()
    if at.dataframe:
        buttons = at.get("download_button")
        assert buttons and any("CSV" in b.proto.label for b in buttons)


def test_a_selected_study_without_the_endpoint_is_named_under_the_plot(store):
    if "sun2022" not in set(store.studies.study_id):
        pytest.skip("Sun 2022 not in the store")
    at = open_forest(endpoint="PFS", studies="sun2022,huang2022")
    assert not at.exception
    captions = texts(at, "caption")
    assert "No PFS hazard ratio reported by: Sun 2022 (reports TTP)." in captions
    # also when no study of the selection has a row at all
    at = open_forest(endpoint="PFS", studies="sun2022")
    assert any("No hazard ratios" in t for t in texts(at, "info"))
    assert "No PFS hazard ratio reported by: Sun 2022 (reports TTP)." in texts(at, "caption")


def test_the_figure_scrolls_rather_than_squeezes_and_buttons_keep_their_labels():
    at = open_forest(endpoint="survival", comparisons="all")
    assert not at.exception
    css = " ".join(m.value for m in at.markdown if "<style>" in m.value)
    assert ".st-key-forest-plot-scroll { overflow-x: auto;" in css and "min-width:" in css
    assert ".st-key-forest-exports" in css
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Rows shown (CSV)" in labels


def _figure(at) -> dict:
    """The plotly figure the page sent (AppTest keeps it as an unknown element with its spec)."""
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_presentation_mode_from_the_link_enlarges_the_figure():
    normal = _figure(open_forest())
    at = open_forest(present="1")
    assert not at.exception
    assert at.toggle(key="forest.present").value is True
    large = _figure(at)
    assert large["layout"]["font"]["size"] > normal["layout"]["font"]["size"]
    small_sizes = sorted(a["font"]["size"] for a in normal["layout"]["annotations"])
    large_sizes = sorted(a["font"]["size"] for a in large["layout"]["annotations"])
    assert min(large_sizes) > max(small_sizes) - 1       # the side table too, not only the title
    assert large["layout"]["meta"]["min_width"] > normal["layout"]["meta"]["min_width"]
