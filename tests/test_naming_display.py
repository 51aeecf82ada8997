"""Regimen family labels, the text selection widgets filter on, numbers and snippets as printed.
Expected values are written out by hand from the papers."""
from __future__ import annotations

from evidence.display import display_snippet, percent_text, round_half_up
from evidence.naming import arm_option_text, paper_short_label, regimen_label
from views.summary import selection_summary
from views.links import Choice, Flag, Many


def test_one_family_label_for_folfox_haic_either_way_round():
    # Huang 2022 prints "FOLFOX-HAIC", Liu (HepaSphere) prints "HAIC-FOLFOX": the same regimen
    assert regimen_label("FOLFOX-HAIC") == regimen_label("HAIC-FOLFOX") == "FOLFOX-HAIC"
    assert regimen_label("haic-folfox") == "FOLFOX-HAIC"
    assert regimen_label("Sorafenib") == "Sorafenib"          # unknown labels as printed


def _contains(typed: str, option: str) -> bool:
    """Streamlit's multiselect with filter_mode="contains": case-insensitive substring."""
    return typed.lower() in option.lower()


def test_typing_either_label_finds_the_arm_and_not_hepa_haic():
    paper_haic, paper_hepa = "HAIC-FOLFOX", "Hepa-HAIC (HepaSphere DEB-TACE + HAIC-FOLFOX)"
    haic = arm_option_text(f"{regimen_label(paper_haic)} · Liu (Hepa-HAIC)", paper_haic)
    hepa = arm_option_text(f"{regimen_label(paper_hepa)} · Liu (Hepa-HAIC)", paper_hepa)
    huang = arm_option_text("FOLFOX-HAIC · Huang 2022", "FOLFOX-HAIC")
    assert haic == "FOLFOX-HAIC · Liu (Hepa-HAIC) · paper: HAIC-FOLFOX"
    assert huang == "FOLFOX-HAIC · Huang 2022"                # nothing to add when both agree
    assert paper_short_label(paper_hepa) == "Hepa-HAIC"
    assert _contains("HAIC-FOLFOX", haic) and _contains("FOLFOX-HAIC", haic)
    assert not _contains("HAIC-FOLFOX", hepa)
    assert _contains("Hepa-HAIC", hepa)


def test_percent_as_printed_or_rounded_half_up():
    # Liu (HepaSphere): ALT/AST increase in 3 of 48 matched HAIC patients, printed 6.3%;
    # 3/48 = 0.0625 exactly, so 6.25% rounds half up to 6.3 (Python's format gives 6.2)
    assert f"{100 * 3 / 48:.1f}" == "6.2"
    assert percent_text(3, 48) == "6.3%"
    assert percent_text(3, 48, printed=6.3) == "6.3%"
    assert percent_text(None, 48, printed=17.0) == "17%"
    assert percent_text(1, 8) == "12.5%" and percent_text(1, 0) == ""
    assert round_half_up(2.675, 2) == 2.68     # the float 2.675 is stored just below; rounds as printed


def test_snippet_from_a_word_boundary_with_hyphenation_joined():
    source = ("showed that independent risk factors for survival were treat-\n"
              "ment allocation (FOLFOX-HAIC vs sorafenib, HR= 0.29;\n95% CI, 0.19-0.44; P< .001)")
    stored = "ment allocation (FOLFOX-HAIC vs sorafenib, HR= 0.29; 95% CI, 0.19-0.44; P< .001)"
    assert display_snippet(stored, source).startswith("treatment allocation (FOLFOX-HAIC")
    assert display_snippet("the treat-\nment was", None) == "the treatment was"
    # a hyphen that belongs to the word stays: FOLFOX-\nHAIC keeps its hyphen (capital after the break)
    assert display_snippet("FOLFOX-\nHAIC group", None) == "FOLFOX-HAIC group"
    assert display_snippet("sorafenib, HR= 0.29", source) == "sorafenib, HR= 0.29"


def test_selection_summary_names_every_choice():
    spec = {"endpoint": Choice(["OS", "PFS"], "OS"), "arms": Many(["a", "b", "c"], ["a", "b"]),
            "bands": Flag(False), "present": Flag(False)}
    options = {"endpoint": {"OS": "Overall survival"}, "arms": {"a": "FOLFOX-HAIC · Huang 2022", "b": "Sorafenib"}}
    state = {"endpoint": "OS", "arms": ["a", "b"], "bands": True, "present": True}
    assert selection_summary(state, spec, options) == (
        "View: Overall survival | Arms: FOLFOX-HAIC · Huang 2022, Sorafenib | 95% bands")
