"""Real-browser tests: the app on a free 127.0.0.1 port, driven by Playwright
through Debian's Chromium (never a downloaded browser)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
from components.export import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (one definition for app, tests, benchmarks)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    yield from _serve()


@pytest.fixture
def fresh_app_url():
    """A server of its own, for what only happens to the first visitor of a fresh process."""
    yield from _serve()


def _serve():
    port = _free_port()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the app did not start within 60 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)   # stop it by its pid (and its children)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: run_tests.sh installs Debian's chromium")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page, timeout=45000):
    """Wait until the script has finished: Streamlit shows a running indicator until then."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout)
    # the status widget shows while the script runs; require it absent twice in a row
    page.wait_for_function(
        """() => { const busy = !!document.querySelector('[data-testid="stStatusWidget"]');
                   const ok = !busy && window.__idle === true; window.__idle = !busy; return ok; }""",
        timeout=timeout, polling=250)


def error_texts(page) -> list[str]:
    return [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]


def selected_tags(page, label: str | None = None) -> list[str]:
    """The chips shown in multiselects (optionally only the one with this label)."""
    boxes = page.locator('[data-testid="stMultiSelect"]')
    if label:
        boxes = boxes.filter(has=page.locator('[data-testid="stWidgetLabel"]', has_text=label))
    return boxes.locator(".react-aria-ComboBox [data-tag]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))")


def choose(page, label: str, option: str) -> None:
    """Pick an option of a multiselect or selectbox by its label."""
    box = page.locator('[data-testid="stMultiSelect"], [data-testid="stSelectbox"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text=label))
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def wait_for_tags(page, n: int, timeout=20000) -> None:
    """Chips of multiselects are drawn a moment after the script ends: wait for n of them."""
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"stMultiSelect\"] .react-aria-ComboBox [data-tag]').length >= n",
        arg=n, timeout=timeout)
