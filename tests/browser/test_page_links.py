"""For each chart page, the flow a clinician uses before a tumor board: open the page,
change a control, copy the link, open it elsewhere, get the same view; a stale link
opens with a notice; the figure downloads as a real SVG."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import error_texts, screenshot, wait_for_app

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot .main-svg"


def chart_texts(page) -> list[str]:
    """Every text drawn in the first chart: legend entries, row labels, side-table cells."""
    page.wait_for_selector(CHART, timeout=30000)
    return page.locator(".js-plotly-plot").first.locator("text").evaluate_all(
        "els => els.map(e => e.textContent)")


def pick_radio(page, label: str) -> None:
    page.locator('[data-testid="stRadio"] label').filter(has_text=label).first.click()


def pick_select(page, widget_label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text=widget_label))
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).click()


PAGES = [
    # path, how to change a control, the parameter it must write, a tampered query
    ("forest", lambda p: pick_select(p, "Endpoint", "Progression-free survival (PFS)"), ("endpoint", "PFS"),
     "endpoint=HR%3Cscript%3E&studies=nope"),
    ("survival", lambda p: pick_radio(p, "PFS or TTP"), ("endpoint", "PFS"),
     "arms=nobody:nothing,huang2022:sorafenib&endpoint=QOL"),
    ("adverse-events", lambda p: pick_radio(p, "Any grade"), ("grade", "any"),
     "grade=7&arms=" + "x" * 3000),
]


@pytest.mark.parametrize("path, change, param, tampered", PAGES, ids=[p[0] for p in PAGES])
def test_link_round_trip(browser, page, app_url, path, change, param, tampered):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    assert not error_texts(page)
    before = chart_texts(page)
    assert before, "no chart drawn"
    change(page)
    key, value = param
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('{key}') === '{value}'", timeout=20000)
    wait_for_app(page)
    after = chart_texts(page)
    for _ in range(40):          # the chart is redrawn a moment after the script ends
        if after != before:
            break
        page.wait_for_timeout(500)
        after = chart_texts(page)
    assert after != before, "changing the control did not change the chart"
    screenshot(page, f"{path}-changed")

    shared = page.url
    assert parse_qs(urlparse(shared).query)[key] == [value]
    other = browser.new_context(viewport={"width": 1600, "height": 1000})
    p2 = other.new_page()
    p2.goto(shared)
    wait_for_app(p2)
    assert not error_texts(p2)
    reopened = chart_texts(p2)
    for _ in range(20):
        if sorted(reopened) == sorted(after):
            break
        p2.wait_for_timeout(500)
        reopened = chart_texts(p2)
    assert sorted(reopened) == sorted(after), "the shared link opened a different view"
    other.close()


@pytest.mark.parametrize("path, change, param, tampered", PAGES, ids=[p[0] for p in PAGES])
def test_tampered_link_opens_with_a_notice(page, app_url, path, change, param, tampered):
    page.goto(f"{app_url}/{path}?{tampered}")
    wait_for_app(page)
    assert not error_texts(page)
    assert page.get_by_text("Link partly ignored", exact=False).count() >= 1
    page.wait_for_selector(CHART, timeout=30000)
    screenshot(page, f"{path}-tampered-link")


@pytest.mark.parametrize("path", ["forest", "survival", "adverse-events"])
def test_figure_downloads_as_svg(page, app_url, path, tmp_path):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    page.wait_for_selector(CHART, timeout=30000)
    screenshot(page, path)
    with page.expect_download(timeout=60000) as download:
        page.get_by_role("button", name="Figure (SVG)").first.click()
    target = tmp_path / "figure.svg"
    download.value.save_as(target)
    head = target.read_bytes()[:400].lstrip()
    assert head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head)
