"""The patient profile in every view, without Streamlit: the link, the verdict marks, the filter.

Expected verdicts come from reading the papers' eligibility sections (the same hand-derived
matrix as tests/test_fit.py), written out here:
- Child-Pugh B8 (P2): Huang 2022 outside (Child-Pugh A only), Liu 2020 outside (A or B7),
  Sun 2022 unclear (no ECOG or PVTT criterion), Liu (Hepa-HAIC) unclear (no PVTT criterion).
- Age 80 (P4): Liu 2020 outside (18-75); Huang 2022 unclear (no BCLC criterion).
"""
from __future__ import annotations

import pytest

from views import build_view
from views.cache import ViewCache

P1 = "age:60,ecog:0,child_pugh:A5,bclc:C,pvtt:present,extrahepatic:no,prior:tace"
P2 = P1.replace("A5", "B8")
P4 = P1.replace("age:60", "age:80")


@pytest.fixture(scope="module")
def store(sources_dir):
    from evidence import load_store
    return load_store(sources=sources_dir)


def _view(page, query, store):
    return build_view(page, query, store, cache=None)


# --- the link ----------------------------------------------------------------

def test_profile_round_trips_through_the_link_in_canonical_form(store):
    m = _view("forest", "patient=Child_Pugh:a6, AGE:72 ,pvtt:Main_Trunk", store)
    assert m.state["patient"] == {"age": 72, "child_pugh": "A6", "pvtt": "main_trunk"}
    assert m.params["patient"] == "age:72,child_pugh:A6,pvtt:main_trunk"
    again = _view("forest", {"patient": m.params["patient"]}, store)
    assert again.state["patient"] == m.state["patient"] and not again.notices


@pytest.mark.parametrize("page", ["overview", "evidence", "forest", "survival", "adverse-events"])
def test_every_page_takes_the_profile(store, page):
    m = _view(page, f"patient={P2}", store)
    assert m.state["patient"]["child_pugh"] == "B8"
    assert m.texts["patient_summary"].startswith("Patient: BCLC C, Child-Pugh B8")
    none = _view(page, "", store)
    assert none.state["patient"] == {} and "patient" not in none.params and "patient_summary" not in none.texts


def test_tampered_profile_is_dropped_with_notices_and_left_out_of_the_link(store):
    m = _view("overview", "patient=age:abc,foo:bar,ecog:9,<script>alert(1)</script>,bclc:C", store)
    assert m.state["patient"] == {"bclc": "C"}
    assert m.params == {"patient": "bclc:C"}
    text = " ".join(m.notices)
    assert "age 'abc'" in text and "unknown field 'foo'" in text and "ecog value '9'" in text
    assert "not of the form field:value" in text
    junk = _view("overview", "patient=" + "x" * 5000, store)
    assert junk.state["patient"] == {} and "too long" in " ".join(junk.notices)


def test_profile_is_part_of_the_cache_key(store):
    cache = ViewCache()
    a = build_view("forest", f"patient={P1}", store, cache=cache)
    b = build_view("forest", "patient=" + ",".join(reversed(P1.split(","))), store, cache=cache)
    c = build_view("forest", f"patient={P2}", store, cache=cache)
    assert cache.builds == 2 and a.figures["forest"] is b.figures["forest"]
    assert c.texts["patient_verdicts"]["huang2022"] == "outside" != a.texts["patient_verdicts"]["huang2022"]


# --- what each view shows ----------------------------------------------------

def test_forest_marks_each_row_with_the_verdict(store):
    m = _view("forest", f"patient={P2}", store)
    marks = dict(zip(m.tables["rows"]["Study"], m.tables["rows"]["Patient"]))
    assert marks["Huang 2022"] == "✗ outside" and marks["Sun 2022"] == "? unclear"
    assert marks["Liu (Hepa-HAIC)"] == "? unclear"
    why = m.tables["rows"].loc[m.tables["rows"]["Study"] == "Huang 2022", "Patient: why"]
    assert all("Child-Pugh" in w and "excludes" in w for w in why)
    # the side table of the figure has the column, its marks and the reasons on hover
    anns = m.figures["forest"].layout.annotations
    assert any(a.text == "<b>Patient</b>" or "Patient" in (a.text or "") for a in anns)
    outside = [a for a in anns if "✗" in (a.text or "")]
    assert outside and all((a.hovertext or "").startswith("<b>Patient: outside") for a in outside)
    assert any("Child-Pugh" in a.hovertext and "excludes" in a.hovertext for a in outside)
    # the marker shape still says the design
    assert {t.marker.symbol for t in m.figures["forest"].data if t.mode == "markers" and t.marker.symbol}


def test_no_profile_no_patient_column(store):
    m = _view("forest", "", store)
    assert "Patient" not in m.tables["rows"]
    assert not any("Patient" in (a.text or "") for a in m.figures["forest"].layout.annotations)


def test_hide_outside_leaves_out_the_studies_outside(store):
    shown = _view("forest", f"patient={P2}", store)
    hidden = _view("forest", f"patient={P2}&hide_outside=1", store)
    assert "Huang 2022" in set(shown.tables["rows"]["Study"])
    assert "Huang 2022" not in set(hidden.tables["rows"]["Study"])
    assert "Sun 2022" in set(hidden.tables["rows"]["Study"])
    assert "Huang 2022" in hidden.texts["patient_hidden"]
    assert hidden.params["hide_outside"] == "1"
    assert "Huang 2022" not in hidden.texts["missing_note"]   # named as hidden for the patient, not as 'no row'


def test_overview_lists_studies_by_verdict_with_reasons(store):
    m = _view("overview", f"patient={P4}", store)
    fit = m.tables["patient_fit"]
    order = {"✓ within": 0, "✗ outside": 1, "? unclear": 2}
    assert list(fit["Verdict"].map(order)) == sorted(fit["Verdict"].map(order))
    liu = fit[fit["Study"] == "Liu 2020"].iloc[0]
    assert liu["Verdict"] == "✗ outside" and "age" in liu["Why"] and "excludes" in liu["Why"]
    assert "18" in liu["Source sentences"] and "75" in liu["Source sentences"]
    huang = fit[fit["Study"] == "Huang 2022"].iloc[0]
    assert huang["Verdict"] == "? unclear" and "BCLC" in huang["Why"]
    # Huang 2022 prints PVTT in its baseline table (Table 1): a share is shown for PVTT
    assert "PVTT" in huang["Patients like this in the study"]


def test_matching_subgroups_beside_the_overall_result(store):
    m = _view("overview", "patient=pvtt:present,extrahepatic:yes", store)
    sub = m.tables["patient_subgroups"]
    # Sun 2022 OS medians with extrahepatic lesions: 14.3 vs 9.6 months (Results); Huang 2022 PVTT present 8.53
    sun = sub[sub["Study"] == "Sun 2022"]
    assert set(sun["Value (95% CI)"]) == {"14.3", "9.6"}
    huang = sub[sub["Study"] == "Huang 2022"]
    assert "8.53" in set(huang["Value (95% CI)"]) and set(huang["Arm"]) == {"both arms pooled"}
    assert "pool both arms" in m.texts["patient_subgroup_note"]
    forest = _view("forest", "patient=pvtt:present,extrahepatic:yes", store)
    assert set(forest.tables["patient_subgroups"]["Study"]) >= {"Sun 2022", "Huang 2022"}


def test_survival_and_adverse_events_mark_arms_outside(store):
    s = _view("survival", f"patient={P2}&arms=huang2022:folfox_haic,huang2022:sorafenib,liu2020:sorafenib_tace_haic,sun2022:atra_folfox4,sun2022:folfox4", store)
    outside = s.texts["patient_outside_arms"]
    assert {k.split(":")[0] for k in outside} == {"huang2022", "liu2020"}
    names = [t.name for t in s.figures["curves"].data if t.name]
    assert any("Huang 2022 ✗ outside" in n for n in names)
    assert not any("Sun 2022 ✗" in n for n in names)
    assert s.texts["options"]["arms"][outside[0]].endswith("✗ outside patient profile")
    ae = _view("adverse-events", f"patient={P2}", store)
    assert {k.split(":")[0] for k in ae.texts["patient_outside_arms"]} == {"huang2022", "liu2020"}
    labels = ae.figures["heatmap"].layout.xaxis.ticktext
    assert sum("✗ outside" in t for t in labels) == len(ae.texts["patient_outside_arms"])
    assert not any("✗" in t for t in labels if "Sun 2022" in t)


def test_brief_carries_the_profile_and_the_verdicts(store):
    m = _view("forest", f"patient={P2}", store)
    (heading, table), = [s for s in m.brief.sections if s[0].startswith("Patient fit")]
    assert "Child-Pugh B8" in heading
    verdicts = dict(zip(table["Study"], table["Verdict"]))
    assert verdicts["Huang 2022"] == "✗ outside" and verdicts["Sun 2022"] == "? unclear"
    assert not any(h.startswith("Patient fit") for h, _ in _view("forest", "", store).brief.sections)
