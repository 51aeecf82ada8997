"""A clinician opens the summary of findings on a laptop and on the meeting-room screen."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import ARTIFACTS, choose, error_texts, wait_for_app

pytestmark = pytest.mark.browser

SCREENS = {"laptop": (1280, 800), "meeting_room": (1920, 1080)}


def _shot(page, name: str) -> None:
    """What the first screen shows (not the whole page): what a board sees without scrolling."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.mark.parametrize("screen", list(SCREENS))
def test_summary_of_findings_on_the_first_screen(browser, app_url, screen):
    width, height = SCREENS[screen]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(app_url + "/summary-of-findings")
        wait_for_app(page)
        assert not error_texts(page)
        assert page.locator("h1").first.inner_text().startswith("Summary of findings")
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.wait_for(state="visible", timeout=20000)
        box = grid.bounding_box()
        # the table starts on the first screen, and is not squeezed to nothing
        assert box["y"] < height * 0.6 and box["height"] > 150, box
        # the proportional-hazards note is on the page, by the table
        assert page.get_by_text("Absolute effects assume proportional hazards", exact=False).count() == 1
        # the app's navigation lists the page
        assert page.get_by_role("link", name="Summary of findings").count() >= 1
        _shot(page, f"summary_of_findings_{width}x{height}")
        # selecting the first row (its marker at the left edge) opens its reasons, design and risk of bias
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
        page.get_by_text("At 12 months:", exact=False).first.wait_for(timeout=20000)
        wait_for_app(page)
        assert page.get_by_text("27 more alive per 100 at 12 months", exact=False).count() >= 1
        _shot(page, f"summary_of_findings_row_{width}x{height}")

        page.goto(app_url + "/forest")
        wait_for_app(page)
        page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=20000)
        assert page.locator(".js-plotly-plot text", has_text="⊕◯◯◯").count() >= 1
        _shot(page, f"forest_certainty_{width}x{height}")
    finally:
        context.close()


def test_outcome_choice_goes_into_the_link(page, app_url):
    page.goto(app_url + "/summary-of-findings?studies=sun2022,huang2022")
    wait_for_app(page)
    choose(page, "Outcome", "Overall survival")
    page.wait_for_function("() => location.search.includes('endpoint=OS')", timeout=15000)
    wait_for_app(page)
    assert parse_qs(urlparse(page.url).query) == {"studies": ["sun2022,huang2022"], "endpoint": ["OS"]}
    assert not error_texts(page)


def test_evidence_browser_risk_of_bias_tab(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(app_url + "/evidence?studies=huang2022")
        wait_for_app(page)
        page.get_by_role("tab", name="Risk of bias (curator's judgement)").click()
        grid = page.locator('[data-testid="stDataFrame"]').filter(visible=True).first
        grid.wait_for(state="visible", timeout=20000)
        assert not error_texts(page)
        _shot(page, "evidence_risk_of_bias_1280x800")
        page.get_by_role("tab", name="Design details").click()
        page.locator('[data-testid="stDataFrame"]').filter(visible=True).first.wait_for(state="visible")
        _shot(page, "evidence_design_details_1280x800")
    finally:
        context.close()
