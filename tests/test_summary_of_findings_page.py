"""AppTest of the summary-of-findings page: the link selects the view, the table and its notes
are shown, store text stays literal, and the evidence browser shows design and risk of bias."""
from __future__ import annotations

from tests.pages import open_page, texts


def test_page_shows_every_comparison_with_its_certainty(store):
    at = open_page("summary-of-findings.py")
    table = at.dataframe[0].value
    n_comparisons = len({(r.study_id, r.experimental_arm_id, r.reference_arm_id, r.endpoint, r.population,
                          r.subgroup if isinstance(r.subgroup, str) else "")
                         for r in store.hazard_ratios.itertuples()})
    assert len(table) == n_comparisons
    assert table["Certainty"].str.match(r"^[⊕◯]{4} ").all()
    shown = " ".join(texts(at))
    assert "Summary of findings" in shown
    assert "S_exp(t) = S_ref(t)^HR" in shown           # the proportional-hazards note by the table
    assert "⊕⊕⊕⊕ high" in shown                         # the legend of the symbols
    assert "Rated down 1 level if the 95% CI includes 1" in shown   # the imprecision rule on hover
    # the design and risk-of-bias tables under the summary
    rob = at.dataframe[2].value
    assert rob["Judged by"].str.contains("judgement").all()
    assert len(at.dataframe[1].value)


def test_link_selects_studies_and_outcome():
    at = open_page("summary-of-findings.py", studies="sun2022,huang2022", endpoint="OS")
    assert at.multiselect(key="summary-of-findings.studies").value == ["sun2022", "huang2022"]
    table = at.dataframe[0].value
    assert list(table["Study"]) == ["Sun 2022", "Huang 2022"]
    assert list(table["Absolute effect at 12 months"]) == [
        "27 more alive per 100 at 12 months (95% CI 12 more to 39 more)",
        "42 more alive per 100 at 12 months (95% CI 29 more to 52 more)"]
    assert not [t for t in texts(at, "info") if "ignored" in t]


def test_tampered_link_falls_back_with_a_notice():
    at = open_page("summary-of-findings.py", studies="**bold**", endpoint="<b>x</b>")
    notices = [t for t in texts(at, "info") if "Link partly ignored" in t]
    assert notices and "**bold**" in " ".join(notices) and "<b>x</b>" in " ".join(notices)
    # shown literally: the raw markdown carries the escapes
    raw = " ".join(el.value for el in at.info if "Link partly ignored" in el.value)
    assert "\\*\\*bold\\*\\*" in raw and "\\<b\\>" in raw
    assert len(at.dataframe[0].value) > 0


def test_evidence_browser_tabs_for_design_and_risk_of_bias():
    at = open_page("evidence.py", studies="huang2022")
    labels = [t.label for t in at.tabs]
    assert "Design details" in labels and "Risk of bias (curator's judgement)" in labels
    # the tabs' tables in order: outcomes, hazard ratios, adverse events, conflicts, studies, design, risk of bias
    rob = [d.value for d in at.dataframe if "Judged by" in d.value][0]
    assert set(rob["Study"]) == {"Huang 2022"}
    assert "serious" in set(rob["Judgement"])
