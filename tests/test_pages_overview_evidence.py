"""AppTest of the landing page and the evidence browser."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from views.evidence import outcome_rows, conflict_rows
from views.overview import studies_at_a_glance
from components.tables import csv_safe


ROOT = Path(__file__).resolve().parent.parent


def app():
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_landing_page_shows_every_study_and_the_caveat(store):
    at = app().run()
    assert not at.exception
    # one concise caveat line by the chart, the rest on demand
    assert any("not randomised" in c.value for c in at.caption)
    glance = at.dataframe[0].value
    assert len(glance) == len(store.studies)
    # the narrow table: no column of long text, links to each study's views
    assert list(glance.columns) == ["Study", "Design", "Line of therapy", "Patients", "Headline effect",
                                    "Forest", "Survival"]
    huang = glance.set_index("Study").loc["Huang 2022"]
    assert huang.Forest == "/forest?studies=huang2022&comparisons=all"
    assert huang.Survival == "/survival?arms=huang2022:folfox_haic,huang2022:sorafenib"
    # the detailed tables (arms, medians with CIs) are still there, folded
    assert sum(len(df.value) for df in at.dataframe[1:]) == len(store.studies)


def test_overview_leads_with_an_evidence_map(store):
    from views import build_view
    from views.overview import line_group
    model = build_view("overview", "", store)
    fig = model.figures["map"]
    # Huang 2022 (Technol Cancer Res Treat): 114 patients refractory to TACE, adjusted OS HR 0.29
    labels = [t for tr in fig.data for t in (tr.text or ())]
    assert "<b>Huang 2022</b>" in labels
    assert "n=114 · OS HR 0.29 adj." in labels
    assert list(fig.layout.xaxis.ticktext) == ["First line", "After TACE failure", "Second line or later",
                                               "Not stated"]
    # the line of therapy in the paper's words, grouped
    assert line_group("second line (title); 158/167 (94.6%) had previous treatment") == "Second line or later"
    assert line_group("first-line") == "First line"
    assert line_group(None) == "Not stated"


def test_studies_at_a_glance_has_headline_numbers(store):
    glance = studies_at_a_glance(store).set_index("study_id")
    assert "14.9" in glance.loc["sun2022", "Median, months (CI)"]
    assert "0.465" in glance.loc["sun2022", "Hazard ratio"]


def test_evidence_browser_filters_by_link_and_shows_snippets(store):
    at = app()
    at.query_params["studies"] = "sun2022"
    at.query_params["endpoint"] = "OS"
    at.switch_page("pages/evidence.py").run()
    assert not at.exception
    outcomes = at.dataframe[0].value
    assert set(outcomes.Study) == {"Sun 2022"}
    assert outcomes.Endpoint.str.contains("OS|Deaths").all()
    assert outcomes.Snippet.str.len().gt(10).all()
    # the conflicting median carries its mark where it is shown
    row = outcomes[outcomes.Value.str.startswith("14.9")]
    assert row.Conflict.str.contains("⚠").all()


def test_evidence_browser_tampered_link_falls_back_with_notice():
    at = app()
    at.query_params["studies"] = "sun2022,<script>alert(1)</script>"
    at.query_params["endpoint"] = "X" * 5000
    at.switch_page("pages/evidence.py").run()
    assert not at.exception
    notices = " ".join(i.value for i in at.info)
    assert "ignored" in notices and "too long" in notices
    assert at.multiselect[0].value == ["sun2022"]


def test_evidence_browser_changing_a_filter_updates_the_link():
    at = app().switch_page("pages/evidence.py").run()
    at.multiselect[2].set_value(["PFS", "TTP"]).run()
    assert at.query_params["endpoint"] == ["PFS,TTP"] or at.query_params["endpoint"] == "PFS,TTP"


def test_outcome_and_conflict_rows(store):
    rows = outcome_rows(store, studies=["sun2022"])
    assert {"Snippet", "Location", "Conflict"} <= set(rows.columns)
    conflicts = conflict_rows(store)
    assert len(conflicts) == len(store.conflicts)


def test_csv_escapes_formula_cells():
    import pandas as pd
    df = pd.DataFrame({"a": ["=1+1", "+x", "-y", "@z", "ok"], "b": [1, 2, 3, 4, 5]})
    out = csv_safe(df)
    assert list(out.a) == ["'=1+1", "'+x", "'-y", "'@z", "ok"]
