"""A clinician opens the overview and the forest plot with a patient profile in the link."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import ARTIFACTS, error_texts, wait_for_app

pytestmark = pytest.mark.browser

# BCLC C, Child-Pugh B8: Huang 2022 (Child-Pugh A only) and Liu 2020 (A or B7) exclude the patient
PROFILE = "age:66,ecog:1,child_pugh:B8,bclc:C,pvtt:present,extrahepatic:no,prior:tace"
SIZES = [(1280, 800), (1920, 1080)]


def _shots(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}_screen.png"))            # the first screen
    page.screenshot(path=str(ARTIFACTS / f"{name}_full.png"), full_page=True)


@pytest.mark.parametrize("width, height", SIZES)
def test_overview_with_a_profile(browser, app_url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{app_url}/?patient={PROFILE}")
    wait_for_app(page)
    assert not error_texts(page)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    assert main.get_by_text("Patient: BCLC C, Child-Pugh B8", exact=False).count() == 1
    assert main.get_by_text("Does this evidence apply to this patient?", exact=False).count() == 1
    # the verdict table and the subgroups, then the table of every study (details folded below it)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length >= 3",
                           timeout=60000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text("never stores it on disk or logs it", exact=False).count() == 1
    assert parse_qs(urlparse(page.url).query)["patient"] == [PROFILE]
    _shots(page, f"patient_overview_{width}x{height}")
    context.close()


@pytest.mark.parametrize("width, height", SIZES)
def test_forest_with_a_profile(browser, app_url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{app_url}/forest?patient={PROFILE}")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .annotation-text", timeout=30000)
    assert not error_texts(page)
    plot = page.locator(".js-plotly-plot")
    assert plot.locator(".annotation-text", has_text="Patient").count() >= 1
    assert plot.locator(".annotation-text", has_text="outside").count() >= 2     # Huang 2022's rows
    assert plot.locator(".annotation-text", has_text="unclear").count() >= 1     # Sun 2022
    _shots(page, f"patient_forest_{width}x{height}")
    # hide the studies outside the profile: the link says so and Huang 2022's rows go
    page.locator('[data-testid="stSidebar"]').get_by_text("Hide studies outside the patient profile").click()
    page.wait_for_function("() => location.search.includes('hide_outside=1')", timeout=15000)
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .annotation-text", timeout=30000)
    assert page.locator(".js-plotly-plot .annotation-text", has_text="Huang 2022").count() == 0
    assert page.get_by_text("Hidden, outside the patient profile", exact=False).count() == 1
    context.close()
