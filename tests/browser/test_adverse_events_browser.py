"""The adverse-event page in a real browser: the link opens the view, the figures draw, labels do not collide."""
from __future__ import annotations

import pytest

from .conftest import error_texts, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def _boxes(page, plot_index: int, selector: str) -> list[dict]:
    return page.locator(".js-plotly-plot").nth(plot_index).locator(selector).evaluate_all(
        "els => els.map(e => { const b = e.getBoundingClientRect();"
        " return {x: b.x, y: b.y, w: b.width, h: b.height, t: e.textContent}; })")


EIGHT_ARMS = ("sun2022:atra_folfox4,sun2022:folfox4,huang2022:folfox_haic,huang2022:sorafenib,"
              "liu2020:sorafenib_tace_haic,liu_hepasphere:hepa_haic,liu_hepasphere:haic_folfox,patrikidou_gemox:gemox")


@pytest.mark.parametrize("width, arms", [(1600, ""), (1280, ""), (1280, EIGHT_ARMS)])
def test_adverse_event_link_draws_heatmap_and_difference(browser, app_url, width, arms):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.goto(app_url + "/adverse-events?grade=any&compare=huang2022" + (f"&arms={arms}" if arms else ""))
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .xtick", timeout=30000)
    assert not error_texts(page)
    assert page.get_by_text("Link partly ignored", exact=False).count() == 0
    heat = page.locator(".js-plotly-plot").nth(0).inner_text()
    assert "NR" in heat and "52/55" in heat          # 001 Table 4, Total any grade
    diff = page.locator(".js-plotly-plot").nth(1).inner_text()
    assert "1/55 vs 27/59" in diff                   # hand-foot skin reaction, any grade
    # column labels (study / arm / N) of neighbouring arms never overlap
    ticks = sorted(_boxes(page, 0, ".xtick text"), key=lambda b: b["x"])
    assert len(ticks) >= 7
    for left, right in zip(ticks, ticks[1:]):
        assert left["x"] + left["w"] <= right["x"] + 1, (left["t"], right["t"])
    # every cell text is at least 12 px
    sizes = page.locator(".js-plotly-plot").nth(0).locator("text").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize)).filter(s => s > 0)")
    assert min(sizes) >= 12
    # as on every page: the controls (presentation toggle included) sit in the sidebar, the link
    # button beside the title, and the heatmap starts in the upper part of the first screen
    plot_top = page.locator(".js-plotly-plot").nth(0).bounding_box()["y"]
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.locator('[data-testid="stCheckbox"]').filter(has_text="Presentation mode").count() == 1
    assert page.get_by_text("Link to this view").first.bounding_box()["y"] < plot_top
    assert plot_top < 0.45 * 1000
    screenshot(page, f"adverse_events_{width}_{len(ticks)}_arms")
    context.close()


def _no_overlap(ticks):
    ticks = sorted(ticks, key=lambda b: b["x"])
    for left, right in zip(ticks, ticks[1:]):
        assert left["x"] + left["w"] <= right["x"] + 1, (left["t"], right["t"])


@pytest.mark.parametrize("width, height", [(1280, 800), (1600, 1000)])
def test_presentation_mode_makes_the_heatmap_the_biggest_thing(browser, app_url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(app_url + "/adverse-events?present=1")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .xtick", timeout=30000)
    assert not error_texts(page)
    heat = page.locator(".js-plotly-plot").nth(0)
    box = heat.bounding_box()
    content = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    assert box["width"] >= 0.9 * (content["width"] - 200)          # the content width, less its padding
    # the heatmap starts in the upper 45% of the first screen, under a one-line summary of the selection
    assert box["y"] < 0.45 * height
    assert page.get_by_text("View: ", exact=False).count() >= 1
    sizes = heat.locator("text").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize)).filter(s => s > 0)")
    assert min(sizes) >= 16
    _no_overlap(_boxes(page, 0, ".xtick text"))
    screenshot(page, f"adverse_events_present_{width}")
    context.close()


def test_tampered_adverse_event_link_shows_a_notice(page, app_url):
    page.goto(app_url + "/adverse-events?arms=nosuch:arm,%3Cscript%3E&grade=9")
    wait_for_app(page)
    assert not error_texts(page)
    assert page.get_by_text("Link partly ignored", exact=False).count() >= 1
    assert page.locator("script:has-text('alert')").count() == 0
    page.wait_for_selector(".js-plotly-plot", timeout=30000)   # the default view still draws
