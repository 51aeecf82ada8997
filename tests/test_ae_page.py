"""AppTest of the adverse-event page: the link selects the view; a tampered link falls back with a notice.

AppTest has no plotly element, so the figures themselves are tested through their
builders in test_ae.py; here the page's widgets, notices and link are checked.
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from evidence.ae_matrix import default_arm_keys, two_arm_comparisons

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/adverse-events.py"


def app():
    return AppTest.from_file(APP, default_timeout=60)


def _notices(at) -> str:
    return " ".join(i.value for i in at.info)


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
    assert any("not a randomised comparison" in w.value for w in at.warning)
    assert not any("Not yet in the harmonised vocabulary" in w.value for w in at.warning)
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
    assert next(s for s in at.selectbox if s.label == "Study").value == study


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
