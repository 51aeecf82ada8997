"""Where the answer starts on the first screen: the top of each page's chart as a share of the
viewport height, for every page, mode (normal, presentation) and viewport (laptop 1280x800,
meeting-room screen 1920x1080), plus whether the chart fits whole.

    .venv/bin/python -m benchmarks.first_screen http://127.0.0.1:8501 [--shots DIR]

The chart is the page's first plotly figure; the evidence browser's answer is its table.
A share of 0.45 means the chart starts 45% down the first screen; "none" means no chart.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.export import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGES = ("overview", "evidence", "forest", "survival", "adverse-events")
MODES = {"normal": "", "presentation": "present=1"}
VIEWPORTS = ((1280, 800), (1920, 1080))
# the answer of each page: its first chart, the evidence browser's first table
ANSWER = {"evidence": '[data-testid="stDataFrame"]'}
CHART = '[data-testid="stPlotlyChart"]'


def wait_for_app(page, timeout=60000) -> None:
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout)
    page.wait_for_function(
        """() => { const busy = !!document.querySelector('[data-testid="stStatusWidget"]');
                   const ok = !busy && window.__idle === true; window.__idle = !busy; return ok; }""",
        timeout=timeout, polling=250)


def measure(page, base_url: str, path: str, query: str, width: int, height: int) -> dict:
    """The answer's box on the first screen, as shares of the viewport height."""
    page.set_viewport_size({"width": width, "height": height})
    url_path = "" if path == "overview" else path     # the overview is the app's root
    page.goto(f"{base_url}/{url_path}" + (f"?{query}" if query else ""))
    wait_for_app(page)
    selector = ANSWER.get(path, CHART)
    try:
        page.wait_for_selector(selector, timeout=30000)
        page.wait_for_timeout(600)      # the figure is laid out a moment after it is attached
    except Exception:
        return {"top": None, "bottom": None}
    box = page.locator(selector).first.bounding_box()
    if box is None:
        return {"top": None, "bottom": None}
    return {"top": box["y"] / height, "bottom": (box["y"] + box["height"]) / height}


def run(base_url: str, shots: Path | None = None, pages=PAGES) -> list[dict]:
    from playwright.sync_api import sync_playwright
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for (w, h) in VIEWPORTS:
            ctx = browser.new_context(viewport={"width": w, "height": h})
            page = ctx.new_page()
            for path in pages:
                for mode, query in MODES.items():
                    m = measure(page, base_url, path, query, w, h)
                    rows.append({"page": path, "mode": mode, "viewport": f"{w}x{h}", **m})
                    if shots is not None:
                        shots.mkdir(parents=True, exist_ok=True)
                        page.screenshot(path=str(shots / f"{path}_{mode}_{w}x{h}.png"))
            ctx.close()
        browser.close()
    return rows


def fmt(x) -> str:
    return "none" if x is None else f"{x:.0%}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base_url")
    ap.add_argument("--shots", type=Path, default=None, help="save the first screen of each view here")
    ap.add_argument("--pages", default=",".join(PAGES))
    args = ap.parse_args()
    rows = run(args.base_url.rstrip("/"), args.shots, tuple(args.pages.split(",")))
    print("| page | mode | viewport | chart top | chart bottom |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['page']} | {r['mode']} | {r['viewport']} | {fmt(r['top'])} | {fmt(r['bottom'])} |")


if __name__ == "__main__":
    main()
