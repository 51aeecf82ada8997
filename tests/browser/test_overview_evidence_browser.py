"""A clinician opens the dashboard, browses the evidence and shares a filtered view."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import choose, error_texts, screenshot, selected_tags, wait_for_app, wait_for_tags

pytestmark = pytest.mark.browser


def test_overview_lists_the_studies(page, app_url, store):
    page.goto(app_url)
    wait_for_app(page)
    assert not error_texts(page)
    assert page.get_by_text("Cross-study comparisons are not randomised").count() == 1
    # the evidence map leads: the five papers are drawn by name in it
    page.wait_for_selector(".js-plotly-plot .textpoint", timeout=30000)
    drawn = page.locator(".js-plotly-plot").first.locator("text").evaluate_all("els => els.map(e => e.textContent)")
    for name in ("Huang 2022", "Sun 2022", "Liu 2020"):
        assert any(name in t for t in drawn), name
    screenshot(page, "overview")


def test_evidence_link_round_trip(page, browser, app_url):
    page.goto(app_url + "/evidence?studies=sun2022")
    wait_for_app(page)
    assert not error_texts(page)
    # change a control: add the endpoint filter OS
    choose(page, "Endpoint", "OS")
    page.wait_for_function("() => location.search.includes('endpoint=OS')", timeout=15000)
    wait_for_app(page)
    query = parse_qs(urlparse(page.url).query)
    assert query == {"studies": ["sun2022"], "endpoint": ["OS"]}
    screenshot(page, "evidence")
    # the same link in a fresh browser context opens the same view
    other = browser.new_context(viewport={"width": 1600, "height": 1000})
    p2 = other.new_page()
    p2.goto(page.url)
    wait_for_app(p2)
    wait_for_tags(p2, 2)
    assert selected_tags(p2) == selected_tags(page) == ["Sun 2022", "OS"]
    other.close()


def test_tampered_evidence_link_shows_a_notice(page, app_url):
    page.goto(app_url + "/evidence?studies=nope&endpoint=%3Cscript%3E")
    wait_for_app(page)
    assert not error_texts(page)
    assert page.get_by_text("Link partly ignored", exact=False).count() >= 1
    assert page.locator("script:has-text('alert')").count() == 0


@pytest.mark.parametrize("path, title", [("/adverse-events?grade=any", "Adverse events"),
                                         ("/forest?endpoint=PFS", "Forest plot")])
def test_a_deep_link_is_the_first_visit_of_a_fresh_server(page, fresh_app_url, path, title):
    """A link pasted into a meeting invite is often the first request a server sees."""
    page.goto(fresh_app_url + path)
    wait_for_app(page)
    assert page.locator("h1").first.inner_text().startswith(title)
    assert page.get_by_text("Page not found").count() == 0
    assert not error_texts(page)
    # the app's own navigation, not Streamlit's folder listing
    assert page.get_by_text("Evidence browser").count() >= 1
