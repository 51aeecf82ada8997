"""The patient panel in Streamlit (AppTest): the profile's round trip through the link, tampered
values, the profile carried between pages, and dropping arms outside it."""
from __future__ import annotations

from tests.pages import open_page, texts

PROFILE = "age:72,ecog:1,child_pugh:A6,bclc:C,pvtt:present,extrahepatic:no,prior:tace"


def _link(at) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def test_profile_from_the_link_fills_the_panel_and_is_written_back():
    at = open_page("overview.py", patient="Child_Pugh:a6,AGE:72")
    assert at.number_input(key="overview.patient.age").value == 72
    assert at.selectbox(key="overview.patient.child_pugh").value == "A6"
    assert at.selectbox(key="overview.patient.bclc").value == ""        # not given
    assert _link(at)["patient"] in ("age:72,child_pugh:A6", ["age:72,child_pugh:A6"])
    shown = " ".join(texts(at))
    assert "Patient: Child-Pugh A6, age 72" in shown
    assert "never stores it on disk or logs it" in shown


def test_tampered_profile_values_are_named_and_dropped():
    at = open_page("overview.py", patient="age:-3,ecog:7,blood:AB,bclc:c,**x**:[a](http://e.x)")
    shown = " ".join(texts(at, "info"))
    assert "age '-3'" in shown and "ecog value '7'" in shown and "unknown field 'blood'" in shown
    # markdown in a tampered field name is shown as typed, never rendered (escaped in the element)
    assert "unknown field '**x**'" in shown
    assert any(r"\*\*x\*\*" in i.value for i in at.info)
    assert at.selectbox(key="overview.patient.bclc").value == "C"
    assert at.number_input(key="overview.patient.age").value is None
    link = _link(at)["patient"]
    assert link in ("bclc:C", ["bclc:C"])


def test_panel_change_updates_the_link_and_follows_to_other_pages():
    at = open_page("overview.py")
    assert "patient" not in _link(at)
    at.selectbox(key="overview.patient.child_pugh").set_value("B8").run()
    at.number_input(key="overview.patient.age").set_value(80).run()
    assert _link(at)["patient"] in ("age:80,child_pugh:B8", ["age:80,child_pugh:B8"])
    at.query_params.clear()             # the sidebar's page links drop the query string
    at.switch_page("pages/forest.py").run()
    assert not at.exception
    assert at.selectbox(key="forest.patient.child_pugh").value == "B8"
    assert "age:80,child_pugh:B8" in str(_link(at)["patient"])
    assert any(t.startswith("**Patient: Child-Pugh B8, age 80") or t.startswith("Patient: Child-Pugh B8")
               for t in texts(at, "markdown"))
    # the forest offers to hide the studies outside; turned on, it goes into the link
    at.toggle(key="forest.hide_outside").set_value(True).run()
    assert _link(at)["hide_outside"] in ("1", ["1"])
    assert any("Hidden, outside the patient profile: Huang 2022" in t for t in texts(at, "caption"))
    # cleared, it leaves the link
    at.button(key="forest.patient_clear").click().run()
    assert "patient" not in _link(at)


def test_survival_offers_to_drop_the_arms_outside():
    # Child-Pugh B8: Huang 2022 (Child-Pugh A) and Liu 2020 (A or B7) exclude the patient
    at = open_page("survival.py", patient="child_pugh:B8", arms="huang2022:folfox_haic,huang2022:sorafenib,liu2020:sorafenib_tace_haic,sun2022:atra_folfox4,sun2022:folfox4")
    before = list(at.multiselect(key="survival.arms").value)
    assert any(k.startswith("huang2022:") for k in before)
    at.button(key="survival.patient_drop").click().run()
    after = list(at.multiselect(key="survival.arms").value)
    assert after and not any(k.split(":")[0] in ("huang2022", "liu2020") for k in after)
    assert set(after) <= set(before)
