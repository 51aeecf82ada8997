"""Check deploy/nginx.conf as rendered by deploy/run_local.sh, in a real browser.

    .venv/bin/python deploy/check_proxy.py                 # starts run_local.sh 2 <free port>, checks, stops
    .venv/bin/python deploy/check_proxy.py --port 8500     # a run_local.sh already running on 8500

Checks, each printed as PASS/FAIL (exit code 1 on any FAIL):
* the security headers on the page (X-Frame-Options, CSP with frame-ancestors,
  X-Content-Type-Options, Referrer-Policy) and the affinity cookie;
* /_stcore/metrics (and variants) refused through nginx, still answered on 127.0.0.1
  by each process for the host's own monitoring;
* every page opened in headless Chromium (Debian's, flags from components.export):
  the chart or table is drawn, no exception element, no CSP violation, no console
  error or failed request that the same page straight from Streamlit does not give;
* the browser's requests carry the cookie, and each cookie reached one process only
  (nginx's access log, which names the upstream of every request, the websocket included);
* an upload (survival page) reaches the process that holds the session;
* another origin cannot frame the app (frame-ancestors).
A screenshot of each page goes to benchmarks/results/proxy-<page>.png.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import CHROMIUM, CHROMIUM_ARGS, RESULTS, free_port  # noqa: E402

PAGES = ["", "evidence", "forest", "survival", "adverse-events"]
CHART = ".js-plotly-plot .main-svg"
TABLE = '[data-testid="stDataFrame"] canvas'
COOKIE = "hcc_route"
results: list[tuple[bool, str]] = []


def check(ok: bool, what: str) -> None:
    results.append((ok, what))
    print(("PASS " if ok else "FAIL ") + what, flush=True)


def fetch(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
            return r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}
    except OSError:
        return 0, {}


def check_headers(base: str, backends: list[int]) -> None:
    status, h = fetch(base + "/survival")
    check(status == 200, f"GET /survival through nginx: HTTP {status}")
    check(h.get("x-frame-options", "").upper() == "SAMEORIGIN", f"X-Frame-Options: {h.get('x-frame-options')}")
    csp = h.get("content-security-policy", "")
    check("frame-ancestors 'self'" in csp and "default-src 'self'" in csp, "Content-Security-Policy with "
          "default-src 'self' and frame-ancestors 'self'")
    check(h.get("x-content-type-options") == "nosniff", f"X-Content-Type-Options: {h.get('x-content-type-options')}")
    check(bool(h.get("referrer-policy")), f"Referrer-Policy: {h.get('referrer-policy')}")
    check(h.get("set-cookie", "").startswith(COOKIE + "="), f"affinity cookie: {h.get('set-cookie', '')[:80]}")
    for path in ["/_stcore/metrics", "/_stcore/metrics/", "/_stcore/%6detrics", "//_stcore/metrics",
                 "/_stcore/metrics?format=proto"]:
        status, _ = fetch(base + path)
        check(status != 200, f"{path} through nginx: HTTP {status} (must not be 200)")
    for p in backends:
        status, _ = fetch(f"http://127.0.0.1:{p}/_stcore/metrics")
        check(status == 200, f"/_stcore/metrics on 127.0.0.1:{p} for local monitoring: HTTP {status}")


async def http_errors(browser, base: str, page_path: str) -> set[str]:
    """HTTP errors of a page loaded straight from one Streamlit process (no nginx)."""
    ctx = await browser.new_context()
    page = await ctx.new_page()
    failed: set[str] = set()
    page.on("response", lambda r: failed.add(f"{r.status} {r.url.replace(base, '')}") if r.status >= 400 else None)
    await page.goto(f"{base}/{page_path}", wait_until="commit")
    try:
        await page.wait_for_selector(f"{CHART}, {TABLE}", state="visible", timeout=60_000)
        await page.wait_for_timeout(1500)
    finally:
        await ctx.close()
    return failed


async def check_upload(page, base: str) -> None:
    """An upload goes to /_stcore/upload_file/<session>/..., which only the process holding
    the session knows: through nginx it must reach that process (HTTP 2xx, cookie sent)."""
    uploads: list[str] = []

    async def on_response(r):
        if "/_stcore/upload_file/" in r.url and r.request.method != "OPTIONS":
            cookie = (await r.request.all_headers()).get("cookie", "")
            uploads.append(f"{r.request.method} {r.status} cookie={'yes' if COOKIE + '=' in cookie else 'no'}")
    page.on("response", on_response)
    await page.get_by_text("Add a digitised curve of your own").click()
    await page.locator("input[type=file]").first.set_input_files(
        files=[{"name": "curve.csv", "mimeType": "text/csv", "buffer": b"time,survival\n0,1.0\n6,0.8\n12,0.6\n"}])
    await page.wait_for_timeout(3000)
    ok = bool(uploads) and all(u.split()[1].startswith("2") and u.endswith("cookie=yes") for u in uploads)
    check(ok, f"upload through nginx reached the session's process: {uploads}")


async def check_browser(base: str, shots: Path, backend: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for page_path in PAGES:
                name = page_path or "overview"
                ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
                page = await ctx.new_page()
                # CSP violations are events in the page; record them before any page script runs
                await page.add_init_script("""window.__csp = [];
                    document.addEventListener('securitypolicyviolation',
                        e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));""")
                console: list[str] = []
                page.on("console", lambda m: console.append(m.text[:200]) if m.type == "error" else None)
                no_cookie: list[str] = []
                failed: list[str] = []
                page.on("response", lambda r: failed.append(f"{r.status} {r.url.replace(base, '')}")
                        if r.status >= 400 else None)

                async def on_request(req):
                    if req.url.startswith(base) and req.resource_type != "document":
                        cookie = (await req.all_headers()).get("cookie", "")
                        if COOKIE + "=" not in cookie:
                            no_cookie.append(req.url.replace(base, ""))
                page.on("request", on_request)
                await page.goto(f"{base}/{page_path}", wait_until="commit")
                try:
                    await page.wait_for_selector(f"{CHART}, {TABLE}, [data-testid='stException']",
                                                 state="visible", timeout=60_000)
                    await page.wait_for_timeout(1500)     # the rest of the page, lazy chunks
                    drawn = await page.locator(f"{CHART}, {TABLE}").count() > 0
                except Exception as exc:
                    drawn = False
                    console.append(f"nothing drawn: {str(exc).splitlines()[0]}")
                exceptions = await page.locator("[data-testid='stException']").count()
                csp = await page.evaluate("window.__csp")
                await page.screenshot(path=str(shots / f"proxy-{name}.png"))
                check(drawn and not exceptions, f"/{page_path}: chart or table drawn, {exceptions} exception(s)")
                check(not csp, f"/{page_path}: CSP violations {csp[:3]}")
                # Streamlit's client probes /<page>/_stcore/health and host-config for a base
                # path before it tries /_stcore/...: those 404s also come without nginx
                direct = await http_errors(browser, f"http://127.0.0.1:{backend}", page_path)
                unexplained = [f for f in failed if f not in direct]
                other = [m for m in console if not m.startswith("Failed to load resource")]
                check(not unexplained and not other,
                      f"/{page_path}: no console error or failed request that Streamlit alone does not "
                      f"give (HTTP errors {failed[:4]}, without nginx {sorted(direct)[:4]}; other console {other[:3]})")
                check(not no_cookie, f"/{page_path}: every request after the page carried the cookie "
                                     f"(missing on {no_cookie[:3]})")
                if page_path == "survival":
                    await check_upload(page, base)
                await ctx.close()

            # framing from another origin: frame-ancestors 'self' must refuse it
            ctx = await browser.new_context()
            page = await ctx.new_page()
            await page.set_content(f'<iframe src="{base}/survival" width="800" height="600"></iframe>')
            await page.wait_for_timeout(4000)
            inner = page.frames[1] if len(page.frames) > 1 else None
            title = await inner.title() if inner else ""
            framed = inner is not None and not inner.url.startswith("chrome-error") and bool(title)
            check(not framed, f"framed by another origin: refused (frame url {inner.url if inner else None})")
            await ctx.close()
        finally:
            await browser.close()


def check_affinity(log: Path, since: float) -> None:
    per_key: dict[str, set[str]] = {}
    streams = without = 0
    for line in log.read_text().splitlines():
        parts = line.split()
        if not parts or float(parts[0]) < since:
            continue
        f = dict(p.split("=", 1) for p in parts if p.startswith(("cookie=", "key=", "upstream=")))
        if f.get("upstream", "-") == "-":
            continue
        per_key.setdefault(f.get("key", "-"), set()).add(f["upstream"])
        if "/_stcore/stream" in line:
            streams += 1
            without += f.get("cookie", "-") in ("", "-")
    check(streams >= len(PAGES) and without == 0,
          f"websockets through nginx: {streams}, without the cookie: {without}")
    split = [k for k, v in per_key.items() if len(v) > 1]
    check(not split, f"each cookie reached one process ({len(per_key)} keys, {len(split)} on more than one)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=None, help="a run_local.sh already running on this port")
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    proc = None
    if args.port:
        port = args.port
        run_dir = Path(os.environ.get("HCC_RUN_DIR", f"{os.environ.get('TMPDIR', '/tmp')}/hcc-dashboard-{port}"))
    else:
        port = free_port()
        run_dir = Path(tempfile.mkdtemp(prefix="hcc-check-"))
        proc = subprocess.Popen([str(ROOT / "deploy" / "run_local.sh"), str(args.processes), str(port)],
                                env=dict(os.environ, HCC_RUN_DIR=str(run_dir)), start_new_session=True)
    try:
        deadline = time.time() + 300
        while not (run_dir / "ready").exists():
            if (proc and proc.poll() is not None) or time.time() > deadline:
                print("run_local.sh did not get ready", file=sys.stderr)
                return 1
            time.sleep(0.5)
        backends = [int(p) for p in (run_dir / "ready").read_text().strip().split(",")]
        base = f"http://127.0.0.1:{port}"
        since = time.time()
        check_headers(base, backends)
        asyncio.run(check_browser(base, RESULTS, backends[0]))
        time.sleep(1)
        check_affinity(run_dir / "logs" / "nginx-access.log", since)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    failed = sum(1 for ok, _ in results if not ok)
    print(f"\n{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
