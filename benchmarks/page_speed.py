"""Time until each page's chart is visible in headless Chromium, against a static floor.

For every page (a path with its query string) this starts a fresh app server and
measures, in Debian's /usr/bin/chromium driven by Playwright:
  * cold: the first load after the server started (imports, store load, first run);
  * warm: the median of several later loads, each in a new browser context (a new
    visitor opening a shared link) and, with --modes returning, reloads in one
    context (static assets cached);
and, in the same run and interleaved with the warm loads, the same figure(s) in a
static HTML file (fig.to_html(include_plotlyjs=True)) served by a tiny local
http.server: the floor no server can beat. The figure is built with the page's
figure builder from components/ (found at run time); when no builder call fits,
the page's own figure, as the server sent it (its plotly_chart spec), is used,
and the report says which.

"Chart visible" = the first `.js-plotly-plot .main-svg` is in the page and two
animation frames have passed (it has been painted); pages without a chart use the
first `[data-testid="stDataFrame"] canvas`, and have no static floor. Times are
performance.now() in the page (from navigation start), recorded by a
MutationObserver, so Playwright's polling does not add to them.

    .venv/bin/python benchmarks/page_speed.py
    .venv/bin/python benchmarks/page_speed.py --pages forest?endpoint=OS --warm-runs 5 --modes new,returning

Target: warm time-to-chart within 1.5x of the static floor.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (CHROMIUM, CHROMIUM_ARGS, AppServer, fmt, free_port, machine, md_table, median,  # noqa: E402
                     spread, write_results)
from st_protocol import Target, one_page_load  # noqa: E402

DEFAULT_PAGES = ["", "evidence?studies=sun2022", "forest?endpoint=OS", "adverse-events?grade=3-4",
                 "survival?endpoint=OS"]
CHART = ".js-plotly-plot .main-svg"
GRID = '[data-testid="stDataFrame"] canvas'
TITLE = '[data-testid="stMainBlockContainer"] h1'     # the page's title: the script has started drawing
TARGET_RATIO = 1.5

# In every document: the moment each marker first appears, and two frames later (painted).
MARK_SCRIPT = """
(() => {
  const marks = {};
  Object.defineProperty(window, '__bench', {value: marks});
  const sels = {chart: %s, grid: %s, title: %s, exception: '[data-testid="stException"]'};
  const check = () => {
    for (const [k, s] of Object.entries(sels)) {
      if (!(k in marks) && document.querySelector(s)) {
        marks[k] = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => { marks[k + '_painted'] = performance.now(); }));
      }
    }
  };
  new MutationObserver(check).observe(document, {childList: true, subtree: true});
})();
""" % (json.dumps(CHART), json.dumps(GRID), json.dumps(TITLE))


# ---------------------------------------------------------------- the static floor

def _query(target: Target) -> dict:
    return {k: v[0] for k, v in parse_qs(target.query).items()}


def _view_figures(page: str):
    """The figures of the page's view, built by the same views.build_view the page renders."""
    def build(store, q):
        from views import build_view
        return list(build_view(page, q, store, cache=None).figures.values())
    return build


BUILDERS = {page: (f"views.build_view({page!r}, ...)", _view_figures(page))
            for page in ("forest", "adverse-events", "survival")}


def _shape(fig_dict: dict) -> list[str]:
    return [t.get("type", "scatter") for t in fig_dict.get("data", [])]


def static_floor(target: Target, specs: list[str], store, out_dir: Path) -> dict:
    """Write <page>.html with the page's figure(s); say how they were built."""
    import plotly.io as pio
    page_shapes = [_shape(json.loads(s)) for s in specs]
    info = {"source": None, "note": "", "figures": len(specs)}
    figs = None
    if target.page in BUILDERS:
        name, build = BUILDERS[target.page]
        try:
            figs = build(store, _query(target))
            built_shapes = [_shape(f.to_plotly_json()) for f in figs]
            if built_shapes != page_shapes:
                info["note"] = (f"builder call gives traces {[len(s) for s in built_shapes]} but the page sent "
                                f"{[len(s) for s in page_shapes]}: the page's view differs; its own figure is used")
                figs = None
            else:
                info["source"] = f"builder {name}"
        except Exception as exc:  # a colleague changed a signature: fall back, and say so
            info["note"] = f"builder {name} not usable ({type(exc).__name__}: {str(exc)[:120]}); page's figure used"
            figs = None
    if figs is None and specs:
        figs = [pio.from_json(s, skip_invalid=True) for s in specs]
        info["source"] = info["source"] or "the page's plotly_chart spec (as the server sent it)"
    if not figs:
        info["source"] = None
        info["note"] = info["note"] or "no chart on this page: no static floor"
        return info
    parts = [f.to_html(include_plotlyjs=(i == 0), full_html=False) for i, f in enumerate(figs)]
    html = ("<!doctype html><html><head><meta charset='utf-8'><title>static floor</title></head><body>"
            + "".join(parts) + "</body></html>")
    name = (target.page or "default") + ".html"
    (out_dir / name).write_text(html, encoding="utf-8")
    (out_dir / (target.page or "default")).with_suffix(".json").write_text(
        json.dumps([f.to_json() for f in figs]), encoding="utf-8")      # for the Streamlit floor app
    info["file"] = name
    info["name"] = target.page or "default"
    info["kb"] = round(len(html.encode()) / 1024)
    return info


class StaticServer:
    """http.server on 127.0.0.1 in a thread, serving the static floor files."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# ---------------------------------------------------------------- one page load in the browser

def load(browser, url: str, kind: str, timeout_s: float, context=None) -> dict:
    """Open url; return the in-page time the chart/grid was painted (ms from navigation start)."""
    own = context is None
    ctx = context or browser.new_context(viewport={"width": 1600, "height": 1000})
    if own:
        ctx.add_init_script(MARK_SCRIPT)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)[:200]))
    out = {"url": url}
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(f"() => window.__bench && (window.__bench['{kind}_painted'] !== undefined"
                               " || window.__bench.exception !== undefined)",   # an exception: fail fast
                               timeout=timeout_s * 1000, polling=50)
        out["wall_s"] = time.perf_counter() - t0
        marks = page.evaluate("() => ({...window.__bench})")
        out["present_ms"] = marks.get(kind)
        out["title_ms"] = marks.get("title")
        out["painted_ms"] = marks.get(f"{kind}_painted")
        nav = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                            " return n ? {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd} : {}; }")
        out["dcl_ms"] = nav.get("dcl")
        out["exceptions"] = page.locator('[data-testid="stException"]').count()
        if out["painted_ms"] is None:
            out["error"] = "exception element shown: " + page.locator('[data-testid="stException"]').first \
                .inner_text()[:200].replace("\n", " ")
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    out["page_errors"] = errors
    page.close()
    if own:
        ctx.close()
    return out


def js_profile(browser, url: str, kind: str, timeout_s: float, tmp: Path) -> dict:
    """One more warm load with a Chromium trace: main-thread busy time and sampled JS self time
    by script file (which bundle chunk the browser spends its time in)."""
    import collections
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    ctx.add_init_script(MARK_SCRIPT)
    page = ctx.new_page()
    trace = tmp / "trace.json"
    browser.start_tracing(page=page, path=str(trace), categories=[
        "devtools.timeline", "disabled-by-default-devtools.timeline", "disabled-by-default-v8.cpu_profiler"])
    try:
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(f"() => window.__bench && window.__bench['{kind}_painted'] !== undefined",
                               timeout=timeout_s * 1000, polling=50)
        painted = page.evaluate(f"() => window.__bench['{kind}_painted']")
    finally:
        browser.stop_tracing()
        ctx.close()
    ev = json.loads(trace.read_text())
    ev = ev["traceEvents"] if isinstance(ev, dict) else ev
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
    # only the renderer that loaded our URL (the trace also holds Chromium's own WebUI renderers)
    origin = url.split("/", 3)[:3]
    origin = "/".join(origin)
    ours = {e["pid"] for e in ev if str(((e.get("args") or {}).get("data") or {}).get("url", "")).startswith(origin)}
    main = {k for k, v in names.items() if v == "CrRendererMain" and k[0] in ours}
    top = [e for e in ev if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X"
           and e.get("name") in ("RunTask", "ThreadControllerImpl::RunTask") and e.get("dur")]
    nodes, samples, deltas = {}, [], []
    for e in ev:
        if e.get("name") in ("Profile", "ProfileChunk") and e.get("pid") in ours:
            d = e.get("args", {}).get("data", {})
            cp = d.get("cpuProfile", {}) or {}
            for n in cp.get("nodes", []) or []:
                nodes[(e.get("id"), n["id"])] = n
            samples += [(e.get("id"), x) for x in cp.get("samples", []) or []]
            deltas += d.get("timeDeltas", []) or []
    by_script = collections.Counter()
    for (pid, x), dt in zip(samples, deltas):
        n = nodes.get((pid, x))
        if n:
            cf = n["callFrame"]
            by_script[(cf.get("url") or "").rsplit("/", 1)[-1] or cf.get("functionName") or "?"] += dt / 1000
    by_script.pop("(idle)", None)
    return {"painted_s": painted / 1000, "main_thread_busy_s": sum(e["dur"] for e in top) / 1e6,
            "js_self_ms_by_script": dict(by_script.most_common(8))}


def _in_thread(fn):
    """Playwright's sync API owns this thread's event loop: run asyncio code beside it."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(fn).result()


def returning_context(browser):
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
    ctx.add_init_script(MARK_SCRIPT)
    return ctx


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", default=",".join(DEFAULT_PAGES),
                    help="paths with query strings, comma-separated; '' = the default page")
    ap.add_argument("--warm-runs", type=int, default=3, help="warm loads per page and mode (median reported)")
    ap.add_argument("--modes", default="new", help="new (fresh context per load) and/or returning (one context, "
                                                   "cached assets), comma-separated (default new)")
    ap.add_argument("--timeout", type=float, default=90, help="per-load timeout, seconds")
    ap.add_argument("--max-minutes", type=float, default=4.5,
                    help="time box: when the pages so far say the rest would not fit, later pages get 2 warm "
                         "runs instead of --warm-runs (default 4.5)")
    ap.add_argument("--no-cold", action="store_true", help="one server for all pages; no cold loads")
    ap.add_argument("--js-profile", action="store_true",
                    help="one extra traced warm load per page: main-thread time by script (chart pages)")
    ap.add_argument("--no-streamlit-floor", action="store_true",
                    help="skip the Streamlit floor (benchmarks/_floor_app.py: only st.plotly_chart of the same figure)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so that `finally` stops the servers

    from playwright.sync_api import sync_playwright
    from evidence import load_store
    from evidence.sources import default_sources_dir

    targets = [Target.parse(p) for p in args.pages.split(",")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    info = machine()
    t_script = time.perf_counter()
    sources = default_sources_dir()
    store = load_store(sources=sources)
    tmp = Path(tempfile.mkdtemp(prefix="hcc_page_speed_"))
    results = []
    reduced: list[str] = []
    page_s = 0.0
    with sync_playwright() as p, StaticServer(tmp) as static:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        shared = None if not args.no_cold else AppServer(log=tmp / "server.log").start()
        stfloor = None if args.no_streamlit_floor else AppServer(
            log=tmp / "floor-server.log", script="benchmarks/_floor_app.py", env={"HCC_FLOOR_DIR": str(tmp)}).start()
        try:
            # warm the browser process itself (not the pages): one throwaway load
            warm_ctx = browser.new_context()
            warm_ctx.new_page().goto("about:blank")
            warm_ctx.close()
            deadline = t_script + args.max_minutes * 60
            for i_page, target in enumerate(targets):
                t_page = time.perf_counter()
                warm_runs = args.warm_runs
                if i_page and time.perf_counter() + page_s * (len(targets) - i_page) > deadline:
                    warm_runs = min(args.warm_runs, 2)     # a busy machine: keep within the time box
                    reduced.append(target.label)
                server = shared or AppServer(log=tmp / f"server-{target.page or 'default'}.log").start()
                row = {"target": target.label, "startup_s": server.startup_s}
                try:
                    url = server.url + target.path()
                    kind_guess = "chart" if target.page in BUILDERS else "grid"
                    if not args.no_cold:
                        row["cold"] = load(browser, url, kind_guess, args.timeout)
                    probe = _in_thread(lambda: asyncio.run(one_page_load(server.port, target, args.timeout,
                                                                         keep_specs=True)))
                    row["protocol_ok"], row["protocol_error"] = probe.ok, probe.error
                    row["elements"] = probe.element_types
                    kind = "chart" if probe.plotly_specs else "grid"
                    row["kind"] = kind
                    if kind != kind_guess and "cold" in row:
                        row["cold"]["note"] = f"cold load waited for {kind_guess}, the page shows {kind}"
                    row["floor"] = static_floor(target, probe.plotly_specs, store, tmp)
                    floor_url = (f"http://127.0.0.1:{static.port}/{row['floor']['file']}"
                                 if row["floor"].get("file") else None)
                    st_url = (f"{stfloor.url}/?page={row['floor']['name']}"
                              if stfloor is not None and floor_url else None)
                    if st_url:
                        load(browser, st_url, "chart", args.timeout)    # the floor app's first run: not measured
                    for mode in modes:
                        app_runs, floor_runs, st_runs = [], [], []
                        ctx = returning_context(browser) if mode == "returning" else None
                        fctx = returning_context(browser) if mode == "returning" else None
                        if ctx is not None:            # prime the cache once, not measured
                            load(browser, url, kind, args.timeout, ctx)
                            if floor_url:
                                load(browser, floor_url, "chart", args.timeout, fctx)
                            if st_url:
                                load(browser, st_url, "chart", args.timeout, ctx)
                        for _ in range(warm_runs):   # interleaved: same background load for all
                            if floor_url:
                                floor_runs.append(load(browser, floor_url, "chart", args.timeout, fctx))
                            if st_url:
                                st_runs.append(load(browser, st_url, "chart", args.timeout, ctx))
                            app_runs.append(load(browser, url, kind, args.timeout, ctx))
                        for c in (ctx, fctx):
                            if c is not None:
                                c.close()
                        row[f"warm_{mode}"] = app_runs
                        row[f"floor_{mode}"] = floor_runs
                        row[f"stfloor_{mode}"] = st_runs
                    if args.js_profile:
                        try:
                            row["js_profile"] = js_profile(browser, url, kind, args.timeout, tmp)
                            if st_url:
                                row["js_profile_streamlit_floor"] = js_profile(browser, st_url, "chart",
                                                                               args.timeout, tmp)
                        except Exception as exc:
                            row["js_profile"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
                finally:
                    if shared is None:
                        server.stop()
                results.append(row)
                _print_row(row, modes)
                page_s = time.perf_counter() - t_page
        finally:
            for srv in (shared, stfloor):
                if srv is not None:
                    srv.stop()
            browser.close()
    wall = time.perf_counter() - t_script
    md, summary = report(results, modes, args, info, wall)
    if reduced:
        md += f"\n\nTime box: {', '.join(reduced)} got 2 warm runs instead of {args.warm_runs}."
    print()
    print(md)
    p_md, p_json = write_results("page_speed", md, {"machine": info, "args": vars(args), "summary": summary,
                                                    "pages": results, "script_wall_s": wall})
    print(f"\nwritten: {p_md} and {p_json}")
    return 0


def _painted(runs: list[dict]) -> list[float]:
    return [r["painted_ms"] / 1000 for r in runs if r.get("painted_ms") is not None and not r.get("error")]


def _print_row(row, modes):
    parts = [f"{row['target']}: kind {row.get('kind')}"]
    if "cold" in row:
        c = row["cold"]
        parts.append(f"cold {fmt(c['painted_ms'] / 1000 if c.get('painted_ms') else None)} s"
                     + (f" ({c['error']})" if c.get("error") else ""))
    for m in modes:
        parts.append(f"warm/{m} {fmt(median(_painted(row.get(f'warm_{m}', []))))} s vs floor "
                     f"{fmt(median(_painted(row.get(f'floor_{m}', []))))} s")
    print("  " + "; ".join(parts), flush=True)


def report(results, modes, args, info, wall):
    rows, summary = [], []
    for r in results:
        cold = r.get("cold", {})
        cold_s = cold.get("painted_ms") / 1000 if cold.get("painted_ms") else None
        for m in modes:
            app = _painted(r.get(f"warm_{m}", []))
            floor = _painted(r.get(f"floor_{m}", []))
            stf = _painted(r.get(f"stfloor_{m}", []))
            errs = [x for x in r.get(f"warm_{m}", []) if x.get("error") or x.get("exceptions") or x.get("page_errors")]
            ratio = (median(app) / median(floor)) if app and floor else None
            verdict = "n/a (no chart)" if ratio is None else ("MET" if ratio <= TARGET_RATIO else "MISSED")
            rows.append([r["target"], m, "chart" if r.get("kind") == "chart" else "table (grid canvas)",
                         fmt(cold_s) if m == modes[0] else "", spread(app), spread(floor), fmt(ratio),
                         verdict, spread(stf), fmt(median(app) / median(stf) if app and stf else None),
                         fmt(median(stf) / median(floor) if stf and floor else None),
                         len(errs) + (1 if cold.get("error") else 0) + (0 if r.get("protocol_ok", True) else 1)])
            summary.append({"target": r["target"], "mode": m, "cold_s": cold_s, "warm_median_s": median(app),
                            "floor_median_s": median(floor), "ratio": ratio, "verdict": verdict,
                            "streamlit_floor_median_s": median(stf),
                            "floor_source": r.get("floor", {}).get("source"),
                            "floor_note": r.get("floor", {}).get("note")})
    table = md_table(["page", "mode", "waits for", "cold (s)", "warm (s)", "static floor (s)", "ratio",
                      f"<= {TARGET_RATIO}x", "Streamlit floor (s)", "app / Streamlit floor",
                      "Streamlit floor / static", "errors"], rows)
    floors = md_table(["page", "static figure from", "floor file KB", "note"],
                      [[r["target"], r.get("floor", {}).get("source") or "-", r.get("floor", {}).get("kb", "-"),
                        r.get("floor", {}).get("note", "")] for r in results])
    detail = md_table(["page", "mode", "app DOMContentLoaded (s)", "app title shown (s)", "app element present (s)",
                       "app painted (s)",
                       "floor present (s)", "floor painted (s)"],
                      [[r["target"], m,
                        fmt(median([x.get("dcl_ms", 0) / 1000 for x in r.get(f"warm_{m}", []) if x.get("dcl_ms")])),
                        fmt(median([x["title_ms"] / 1000 for x in r.get(f"warm_{m}", []) if x.get("title_ms")])),
                        fmt(median([x["present_ms"] / 1000 for x in r.get(f"warm_{m}", []) if x.get("present_ms")])),
                        fmt(median(_painted(r.get(f"warm_{m}", [])))),
                        fmt(median([x["present_ms"] / 1000 for x in r.get(f"floor_{m}", []) if x.get("present_ms")])),
                        fmt(median(_painted(r.get(f"floor_{m}", []))))] for r in results for m in modes])
    md = "\n\n".join([
        "# Time to chart (page_speed.py)",
        f"{info['when']}, commit {info['git_commit']}{' + uncommitted changes' if info['working_tree_dirty'] else ''}, "
        f"{info['cpus']} CPUs; load average at start {info['loadavg_at_start']} (shared machine). Chromium "
        f"{CHROMIUM}, viewport 1600x1000. Cold = first load after a fresh server start; warm = median (min-max) of "
        f"{args.warm_runs} loads; mode new = a fresh browser context per load, returning = one context (cached "
        f"assets). Time = in-page performance.now() at which the chart (`{CHART}`) or, without a chart, the "
        f"table (`{GRID}`) had been painted (2 animation frames after it appeared), from navigation start.",
        table,
        "Streamlit floor = benchmarks/_floor_app.py on its own server: st.title + st.plotly_chart of the same "
        "figure(s), nothing else; what any Streamlit page pays to show this chart.",
        "## Where the static figures came from", floors,
        "## Breakdown (medians)", detail,
        _js_section(results),
        f"Script wall time {wall:.0f} s.",
    ])
    return md, summary


def _js_section(results) -> str:
    rows = []
    for r in results:
        for label, key in (("page", "js_profile"), ("Streamlit floor", "js_profile_streamlit_floor")):
            jp = r.get(key)
            if not jp or "error" in jp:
                continue
            top = ", ".join(f"{k} {v:.0f}" for k, v in jp["js_self_ms_by_script"].items())
            rows.append([r["target"], label, fmt(jp["painted_s"]), fmt(jp["main_thread_busy_s"]), top])
    if not rows:
        return ""
    return "## Browser main thread (one traced warm load, --js-profile)\n\n" + md_table(
        ["page", "load", "painted (s)", "main thread busy (s)", "JS self time by script (ms, sampled)"], rows)


if __name__ == "__main__":
    sys.exit(main())
