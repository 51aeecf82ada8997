"""AppTest of the adverse-event page: the link selects the view; a tampered link falls back with a notice.

AppTest has no plotly element, so the figures themselves are tested through their
builders in test_ae.py; here the page's widgets, notices and link are checked.
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.pages import texts
from views.ae_matrix import default_arm_keys, two_arm_comparisons

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/adverse-events.py"


def app():
    return AppTest.from_file(APP, default_timeout=60)


def _notices(at) -> str:
    return " ".join(texts(at))


def _widgets(at):
    grade = next(r for r in at.radio if r.label == "Grade band")
    arms = next(m for m in at.multiselect if m.label == "Arms")
    cats = next(m for m in at.multiselect if m.label == "Organ systems")
    return grade, arms, cats


def test_default_view_every_primary_arm_at_grade_3_4(store):
    at = app().switch_page(PAGE).run()
    assert not at.exception
    grade, arms, cats = _widgets(at)
    assert grade.value == "3-4"
    assert arms.value == default_arm_keys(store)
    assert cats.value == []
    assert "Link partly ignored" not in _notices(at)
    assert "not a randomised comparison" in _notices(at)
    assert "Not yet in the harmonised vocabulary" not in _notices(at)
    assert dict(at.query_params) == {}          # defaults are left out of the link


def test_grade_any_from_the_link():
    at = app()
    at.query_params["grade"] = "any"
    at.switch_page(PAGE).run()
    assert not at.exception
    grade, _, _ = _widgets(at)
    assert grade.value == "any"
    assert "Link partly ignored" not in _notices(at)


def test_arms_from_the_link(store):
    study = next(s for s in two_arm_comparisons(store) if s.startswith("huang"))
    keys = [k for k in default_arm_keys(store) if k.startswith(study + ":")]
    at = app()
    at.query_params["arms"] = ",".join(keys)
    at.query_params["grade"] = "3-4"
    at.query_params["compare"] = study
    at.switch_page(PAGE).run()
    assert not at.exception
    _, arms, _ = _widgets(at)
    assert arms.value == keys
    assert next(s for s in at.selectbox if s.label == "Difference between the two arms of").value == study


def test_tampered_link_falls_back_with_a_notice(store):
    at = app()
    at.query_params["arms"] = "huang2022:folfox_haic,<script>alert(1)</script>,nosuch:arm"
    at.query_params["grade"] = "5"
    at.query_params["categories"] = "skin,'; DROP TABLE"
    at.query_params["sort"] = "X" * 5000
    at.query_params["utm_source"] = "mail"
    at.switch_page(PAGE).run()
    assert not at.exception
    notices = _notices(at)
    assert "Link partly ignored" in notices
    assert "'arms': ignored" in notices and "nosuch:arm" in notices
    assert "'grade': ignored '5'" in notices
    assert "too long" in notices and "utm_source" in notices
    grade, arms, cats = _widgets(at)
    assert grade.value == "3-4"                                     # the default band
    assert arms.value == ["huang2022:folfox_haic"]                  # what could be used is kept
    assert cats.value == ["skin"]


def test_link_of_only_unknown_arms_opens_the_default_view(store):
    at = app()
    at.query_params["arms"] = "nosuch:arm"
    at.switch_page(PAGE).run()
    assert not at.exception
    _, arms, _ = _widgets(at)
    assert arms.value == default_arm_keys(store)
    assert "nosuch:arm" in _notices(at)


def test_changing_the_band_writes_the_link():
    at = app().switch_page(PAGE).run()
    grade, _, _ = _widgets(at)
    grade.set_value("any").run()
    assert not at.exception
    assert at.query_params["grade"] in ("any", ["any"])
    grade, _, _ = _widgets(at)
    grade.set_value("3-4").run()
    assert "grade" not in at.query_params


def test_grade_1_2_is_labelled_as_printed_only():
    at = app()
    at.query_params["grade"] = "1-2"
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "only where the paper prints grade 1-2 itself" in _notices(at)


def test_no_arm_chosen_says_so():
    at = app().switch_page(PAGE).run()
    _, arms, _ = _widgets(at)
    arms.set_value([]).run()
    assert not at.exception
    assert "Choose at least one arm" in _notices(at)


def _walk(node):
    """Every element of the page in the order it is drawn (AppTest keeps the layout tree)."""
    for child in node.children.values() if hasattr(node, "children") else []:
        yield child
        yield from _walk(child)


def _figures(at) -> list[dict]:
    """The plotly figures as sent to the browser (AppTest shows them as unknown elements)."""
    import json
    return [json.loads(e.proto.spec) for e in _walk(at.main)
            if type(e).__name__ == "UnknownElement" and type(e.proto).__name__ == "PlotlyChart"]


def _order(at) -> list[str]:
    out = []
    for e in _walk(at.main):
        kind = type(e).__name__
        if kind == "UnknownElement" and type(e.proto).__name__ == "PlotlyChart":
            out.append("chart")
        elif kind in ("Toggle", "Multiselect", "Radio", "Selectbox", "Expander", "Subheader"):
            out.append(f"{kind}:{e.label if hasattr(e, 'label') else e.value}")
    return out


def test_caveat_names_the_study_not_its_file_number():
    at = app().switch_page(PAGE).run()
    caveat = next(t for t in texts(at, "caption") if "not a randomised comparison" in t)
    assert "Huang 2022 lists only events in ≥10% of patients" in caveat
    assert "001" not in caveat


def test_the_heatmap_comes_first_and_the_controls_sit_in_the_sidebar():
    at = app().switch_page(PAGE).run()
    assert not at.exception
    order = _order(at)
    # nothing but the title, the link and one caveat line above the chart; the difference view below it
    assert not any(o.split(":")[0] in ("Toggle", "Multiselect", "Radio", "Selectbox") for o in order[:order.index("chart")])
    assert order.index("chart") < order.index("Subheader:Difference between the two arms of one study")
    sidebar = [type(e).__name__ for e in _walk(at.sidebar)]
    assert {"Radio", "Multiselect", "Selectbox", "Toggle"} <= set(sidebar)
    at2 = app()
    at2.query_params["compare"] = "sun2022"
    at2.switch_page(PAGE).run()
    assert next(s for s in at2.selectbox if s.label == "Difference between the two arms of").value == "sun2022"
    next(r for r in at2.radio if r.label == "Grade band").set_value("any").run()
    assert at2.query_params["compare"] in ("sun2022", ["sun2022"])       # kept in the link after a change


def test_difference_view_says_its_intervals_are_not_adjusted_for_many_events():
    at = app().switch_page(PAGE).run()
    captions = " ".join(c.value for c in at.caption)
    assert "not adjusted for testing many events" in captions


def test_presentation_link_scales_the_figures_and_folds_the_controls(store):
    at = app()
    at.query_params["present"] = "1"
    at.query_params["grade"] = "any"
    at.switch_page(PAGE).run()
    assert not at.exception
    assert next(t for t in at.toggle if t.label == "Presentation mode").value is True
    heat, diff = _figures(at)
    assert heat["layout"]["font"]["size"] == 18 and diff["layout"]["font"]["size"] == 18
    assert all(t["textfont"]["size"] >= 16 for t in heat["data"] if "textfont" in t)
    # the controls keep the link's values
    grade, arms, _ = _widgets(at)
    assert grade.value == "any" and arms.value == default_arm_keys(store)
    # and the desk view is smaller
    desk = app().switch_page(PAGE).run()
    assert _figures(desk)[0]["layout"]["font"]["size"] == 14
    assert _figures(desk)[0]["layout"]["width"] < heat["layout"]["width"]


def test_key_under_the_colour_bar_is_not_clipped_with_one_organ_system(store):
    """With one organ system chosen (liver: 7 rows) the plot area must still hold the colour bar
    and the key under it (NR swatch, "not reported (not zero)", the conflict mark): 10 lines of
    the key's type below the bar, at 1.3 lines per font size."""
    from views import build_view
    fig = build_view("adverse-events", "categories=liver", store).figures["heatmap"]
    plot_h = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    bar = fig.data[0].colorbar.len if fig.data[0].colorbar.len else 0
    key_font = min(a.font.size for a in fig.layout.annotations if a.font and a.font.size)
    assert plot_h >= bar + 10 * 1.3 * key_font
