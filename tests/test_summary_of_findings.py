"""The summary-of-findings view, the certainty in the forest plot and the design and risk-of-bias
tables, built without Streamlit from the real store; arithmetic checked by hand."""
from __future__ import annotations

import re

import pytest

from components import forest as forest_fig
from evidence.naming import POPULATION_LABELS
from views import build_view
from views.core import VIEWS

# GRADE's four levels as the handbook draws them: filled circles = level
HAND_SYMBOLS = {"High": "⊕⊕⊕⊕", "Moderate": "⊕⊕⊕◯", "Low": "⊕⊕◯◯", "Very low": "⊕◯◯◯"}


def _key(r):
    sub = r["subgroup"] if isinstance(r["subgroup"], str) else ""
    return (r["study_id"], r["experimental_arm_id"], r["reference_arm_id"], r["endpoint"], r["population"], sub)


@pytest.fixture(scope="module")
def sof(store):
    return build_view("summary-of-findings", "", store, cache=None)


def test_default_view_covers_every_hazard_ratio_comparison_once(store, sof):
    # the reference: every comparison, endpoint and population of the store's hazard ratios
    # (adjusted and unadjusted estimates of one comparison are one summary-of-findings row)
    expected = {_key(r) for r in store.hazard_ratios.to_dict("records")}
    shown = [_key(r) for r in sof.tables["rows"].to_dict("records")]
    assert len(shown) == len(set(shown))
    assert set(shown) == expected
    assert len(sof.tables["summary"]) == len(expected)
    # every row carries the columns a board reads
    t = sof.tables["summary"]
    for col in ("Patients (studies)", "Relative effect", "Baseline at 12 months", "Absolute effect at 12 months",
                "Absolute effect at 24 months", "Check at 12 months", "Median (difference)", "Certainty",
                "Reasons", "What it means", "Design details", "Risk of bias"):
        assert col in t and t[col].notna().all(), col


def test_primary_papers_come_first(sof):
    kinds = list(sof.tables["rows"]["source_kind"])
    first_review = kinds.index("review")
    assert "review" not in kinds[:first_review] and set(kinds[first_review:]) == {"review"}


def test_certainty_symbols_and_words_agree(sof):
    for text in sof.tables["summary"]["Certainty"]:
        symbol, word = text.split(" ", 1)
        assert HAND_SYMBOLS[word] == symbol


def test_no_non_randomised_row_above_low(store, sof):
    designs = dict(zip(store.studies.study_id, store.studies.design))
    rows = sof.tables["rows"]
    summary = sof.tables["summary"]
    assert (rows["design"] != "randomised").sum() >= 6      # Sun, Huang, Liu Hepa-HAIC: OS and progression
    for sid, certainty in zip(rows["study_id"], summary["Certainty"]):
        if designs[sid] != "randomised":
            assert certainty.split(" ", 1)[1] in ("Low", "Very low"), (sid, certainty)


def _row(sof, study_id, endpoint, population="overall"):
    rows = sof.tables["rows"]
    i = rows.index[(rows.study_id == study_id) & (rows.endpoint == endpoint) & (rows.population == population)
                   & rows.subgroup.isna()]
    assert len(i) == 1
    return sof.tables["summary"].loc[i[0]]


def test_absolute_effect_of_sun_2022_by_hand(sof):
    # FOLFOX4 alone: 1-year survival 31.5% (Results, Survival); HR 0.465 (95% CI 0.298-0.726)
    # S_exp = 0.315 ** 0.465 = exp(0.465 * ln 0.315) = exp(0.465 * -1.15518) = exp(-0.53716) = 0.5844
    # 58.4 - 31.5 = 26.9 -> 27 more; CI: 0.315 ** 0.726 = 0.4323 -> 11.7 -> 12 more;
    #                                  0.315 ** 0.298 = 0.7088 -> 39.4 -> 39 more
    r = _row(sof, "sun2022", "OS")
    assert r["Baseline at 12 months"] == "31.5% (reported)"
    assert r["Absolute effect at 12 months"] == "27 more alive per 100 at 12 months (95% CI 12 more to 39 more)"
    # the ATRA arm's own 1-year rate, 56.1%, lies inside 43.2% to 70.9%
    assert "56.1%" in r["Check at 12 months"] and "within" in r["Check at 12 months"]
    assert r["Median (difference)"] == "14.9 vs 8.2 months (+6.7 months)"
    assert "31.5%" in r["Baseline source (12 months)"]


def test_huang_2022_overall_survival_by_hand(sof):
    # sorafenib: 12-month OS 25.4%; HR 0.29 (0.19-0.44)
    # 0.254 ** 0.29 = exp(0.29 * -1.37042) = exp(-0.39742) = 0.6721 -> 67.2 - 25.4 = 41.8 -> 42 more
    # 0.254 ** 0.44 = exp(-0.60298) = 0.5472 -> 29.3 -> 29 more; 0.254 ** 0.19 = exp(-0.26038) = 0.7708 -> 51.7 -> 52
    r = _row(sof, "huang2022", "OS")
    assert r["Absolute effect at 12 months"] == "42 more alive per 100 at 12 months (95% CI 29 more to 52 more)"
    assert "patient's choice" in r["Design details"] and "subgroup or post hoc" in r["Design details"]
    assert r["Certainty"].endswith("Very low")
    assert "Risk of bias: serious" in r["Reasons"]


def test_rebuilt_baseline_where_the_paper_prints_none(sof):
    # Liu Hepa-HAIC prints no landmark rate: the matched HAIC-FOLFOX arm's rebuilt curve gives it
    r = _row(sof, "liu_hepasphere", "OS", "matched")
    m = re.fullmatch(r"([\d.]+)% \(from the rebuilt curve\)", r["Baseline at 12 months"])
    assert m, r["Baseline at 12 months"]
    base = float(m.group(1))
    # its median is 9.5 months, so at 12 months fewer than half are alive
    assert 0 < base < 50
    # by hand with HR 0.56: 100 * (base/100) ** 0.56 - base
    diff = 100 * (base / 100) ** 0.56 - base
    assert r["Absolute effect at 12 months"].startswith(f"{round(diff)} more alive per 100 at 12 months")
    assert r["Check at 12 months"] == "the paper reports no rate for the experimental arm"


def test_a_curve_that_stops_at_its_median_gives_no_baseline(sof):
    # Huang's PFS is reported only as medians (7.6 and 3.9 months): nothing is known at 12 months
    r = _row(sof, "huang2022", "PFS")
    assert r["Baseline at 12 months"].startswith("not available")
    assert r["Absolute effect at 12 months"] == "no baseline survival available"


def test_a_subgroup_never_gets_a_whole_arm_baseline(sof):
    rows = sof.tables["rows"]
    for i in rows.index[rows.subgroup.notna()]:
        assert sof.tables["summary"].loc[i, "Baseline at 12 months"].startswith("not available")


def test_the_link_filters_and_a_tampered_link_falls_back(store):
    m = build_view("summary-of-findings", "studies=huang2022&endpoint=OS", store, cache=None)
    assert list(m.tables["summary"]["Study"]) == ["Huang 2022"]
    assert m.params == {"studies": "huang2022", "endpoint": "OS"}
    bad = build_view("summary-of-findings", "studies=<script>&endpoint=XYZ", store, cache=None)
    assert len(bad.tables["summary"]) == len(build_view("summary-of-findings", "", store).tables["summary"])
    assert any("ignored" in n for n in bad.notices)


def test_design_and_risk_of_bias_tables_are_labelled_as_judgement(sof):
    rob = sof.tables["risk_of_bias"]
    assert len(rob) and rob["Judged by"].str.contains("judgement, not the paper's").all()
    huang = rob[(rob.Study == "Huang 2022") & (rob.Domain == "confounding")]
    assert set(huang["Judgement"]) == {"serious"}
    design = sof.tables["design"]
    allocation = design[(design.Study == "Huang 2022") & (design.Item == "allocation")]
    assert "treatment option of either HAIC or sorafenib was made by the patient" in " ".join(allocation.Snippet)


def test_brief_carries_the_summary_of_findings(store, sof):
    (heading, table), = sof.brief.sections
    assert heading == "Summary of findings" and len(table) == len(sof.tables["summary"])
    forest = build_view("forest", "", store, cache=None)
    # the forest's one-page brief: a GRADE column in its key numbers, and the absolute effects of the
    # comparisons that have a baseline (Sun 2022, Huang 2022, Liu Hepa-HAIC overall survival)
    assert set(forest.brief.key_numbers["GRADE"]) == {"⊕◯◯◯"}
    (heading, rows), = forest.brief.sections
    assert heading.startswith("Absolute effect at 12 months")
    assert list(rows["Study"]) == ["Sun 2022", "Huang 2022", "Liu (Hepa-HAIC)"]
    assert rows["At 12 months"].str.contains("27 more alive per 100").iloc[0]
    assert build_view("forest", "endpoint=ORR", store, cache=None).brief.sections == ()


def test_forest_side_table_has_the_certainty_of_every_hazard_ratio(store):
    m = build_view("forest", "endpoint=survival&comparisons=all&adjusted=both&studies="
                   + ",".join(store.studies.study_id) + "&population=" + ",".join(POPULATION_LABELS),
                   store, cache=None)
    table = m.tables["rows"]
    assert len(table) == len(store.hazard_ratios)
    for text in table["Certainty"]:
        symbol, word = text.split(" ", 1)
        assert HAND_SYMBOLS[word] == symbol
    assert table["Certainty reasons"].str.len().gt(0).all()
    # drawn in the figure: one certainty line per row, with its reasons on hover
    fig = m.figures["forest"]
    lines = [a for a in fig.layout.annotations if a.text and "⊕" in a.text]
    assert len(lines) == len(table)
    assert all(a.hovertext and "Certainty:" in a.hovertext and "• " in a.hovertext for a in lines)
    # the response view has no certainty (GRADE here rates hazard ratios only)
    orr = build_view("forest", "endpoint=ORR", store, cache=None)
    assert "Certainty" not in orr.tables["rows"]
    assert not [a for a in orr.figures["forest"].layout.annotations if a.text and "⊕" in a.text]


def test_certainty_line_keeps_the_laptop_width(store):
    m = build_view("forest", "endpoint=survival&comparisons=all&studies=" + ",".join(store.studies.study_id)
                   + "&population=" + ",".join(POPULATION_LABELS), store, cache=None)
    assert forest_fig.table_layout(m.figures["forest"])["min_width"] <= 820


def test_evidence_browser_has_design_and_risk_of_bias_tabs(store):
    m = build_view("evidence", "studies=huang2022", store, cache=None)
    assert m.texts["tab_titles"]["design_details"] == "Design details"
    assert "curator's judgement" in m.texts["tab_titles"]["risk_of_bias"]
    design, rob = m.tables["design_details"], m.tables["risk_of_bias"]
    assert set(design.study_id) == {"huang2022"} and "per protocol" in set(design.Value)
    assert set(rob.study_id) == {"huang2022"} and set(rob.Tool) == {"ROBINS-I"}
    assert rob["Judged by"].str.contains("judgement").all()


def test_views_are_cached_and_not_mutated(store):
    VIEWS.clear()
    a = build_view("summary-of-findings", "", store)
    before = a.tables["summary"].copy()
    b = build_view("summary-of-findings", "", store)
    assert a is b
    assert b.tables["summary"].equals(before)


def test_a_store_without_hazard_ratios_says_so(fixture_store):
    from dataclasses import replace
    empty = replace(fixture_store, hazard_ratios=fixture_store.hazard_ratios.iloc[0:0])
    m = build_view("summary-of-findings", "", empty, cache=None)
    assert "No hazard-ratio comparison" in m.texts["empty"] and "summary" not in m.tables
    assert m.brief is None


def test_studies_without_a_hazard_ratio_are_named(store, sof):
    # Liu 2020 is the prospective single-arm phase II study: one arm, nothing to compare
    assert (store.arms.study_id == "liu2020").sum() == 1
    assert "Liu 2020 (single arm)" in sof.texts["without_hr"]
    assert "liu2020" not in set(sof.tables["rows"]["study_id"])
