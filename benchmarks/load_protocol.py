"""Many clinicians at once, at the protocol level, plus a few real browser tabs.

Starts `python -m streamlit run app.py` on a free 127.0.0.1 port and, for each
concurrency level N, opens N websocket sessions at once (the browser's own
protocol: benchmarks/st_protocol.py), each loading one page with a query string
(pages taken in turn), waits until every script has finished while holding all
N sessions open, then closes them. Per level and repeat it records errors
(exception elements, page_not_found, timeouts, dropped connections), the script
run time of every session (rerun_script sent -> script_finished), sessions per
second, the server's CPU seconds per session and its RSS growth per held
session (/proc/PID/status VmRSS). Then 3-5 Playwright tabs on Debian's chromium
open pages concurrently to confirm in a real browser.

    .venv/bin/python benchmarks/load_protocol.py                      # 10, 30, 100 sessions x 3
    .venv/bin/python benchmarks/load_protocol.py --levels 10,30 --repeats 2 --browser-tabs 0
    .venv/bin/python benchmarks/load_protocol.py --compare            # issue 10's table (about 10 min)

--compare measures, in one run, the app on one process, the app on 2 processes behind
nginx (deploy/run_local.sh) and a bare one-chart Streamlit page (_floor_app.py), with
30 and 100 sessions opening /survival at once and 30 sessions over the five pages:
p95 time to chart, server CPU s per session, the slowest /_stcore/health answer
(polled every 100 ms), peak RSS, each also as a ratio to the bare page. See
benchmarks/README.md.

Targets: 100 sessions with zero errors and p95 < 2 s; 30 sessions' memory well
within the machine's 24 GiB.
"""
from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (CHROMIUM, CHROMIUM_ARGS, RESULTS, ROOT, AppServer, cpu_seconds, fmt, free_port,  # noqa: E402
                     loadavg, machine, md_table, median, pct, rss_kib, spread, write_results)
from st_protocol import PageLoad, Target, get_page_html, load_page, one_page_load, open_session  # noqa: E402

DEFAULT_TARGETS = ["", "evidence?studies=sun2022", "forest?endpoint=OS", "adverse-events?grade=3-4",
                   "survival?endpoint=OS"]
# what tells a browser tab that its page is drawn
READY_SELECTOR = {"forest": ".js-plotly-plot .main-svg", "adverse-events": ".js-plotly-plot .main-svg",
                  "survival": ".js-plotly-plot .main-svg"}
DATAFRAME = '[data-testid="stDataFrame"] canvas'


def _cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------- protocol level

async def discover(port: int, targets: list[Target], timeout: float) -> tuple[list[Target], list[str], PageLoad]:
    """Which of the requested pages are in app.py's navigation (a page a colleague has not
    added yet is skipped, not counted as an error)."""
    probe = await one_page_load(port, Target(""), timeout)
    paths = {p["url_pathname"] for p in probe.navigation}
    kept, skipped = [], []
    for t in targets:
        if t.page == "" or t.page in paths:     # "" = the default page, as a browser at "/"
            kept.append(t)
        else:
            skipped.append(f"{t.label} (no page '{t.page}' in the app's navigation: {sorted(paths)})")
    return kept, skipped, probe


async def run_level(port: int, pid: int, targets: list[Target], n: int, ramp: float, timeout: float,
                    settle: float) -> dict:
    """N sessions at once; all held open until every one has finished, then closed."""
    hold = asyncio.Event()
    all_done = asyncio.Event()
    results: list[PageLoad] = []
    peak = {"rss": rss_kib(pid)}

    async def sample_rss():
        while not hold.is_set():
            peak["rss"] = max(peak["rss"], rss_kib(pid))
            await asyncio.sleep(0.1)

    health: list[float] = []

    async def probe_health():
        """What a load balancer's health check would see: GET /_stcore/health once a second."""
        while not all_done.is_set():
            t = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /_stcore/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                await writer.drain()
                await reader.read()
                writer.close()
                health.append(time.perf_counter() - t)
            except OSError:
                health.append(float("inf"))
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t)))

    async def session(i: int):
        target = targets[i % len(targets)]
        res = PageLoad(target.label)
        ws = None
        if ramp:
            await asyncio.sleep(ramp * i / n)
        try:
            async with asyncio.timeout(timeout):
                t0 = time.perf_counter()
                ws = await open_session(port, timeout)
                res.connect_s = time.perf_counter() - t0
                await load_page(ws, port, target, res)
        except TimeoutError:
            res.error = f"timeout after {timeout} s"
        except Exception as exc:
            res.error = f"{type(exc).__name__}: {exc}"[:300]
        res.ok = res.error is None
        results.append(res)
        if len(results) == n:
            all_done.set()
        await hold.wait()           # keep the session open (a clinician's tab stays open)
        if ws is not None:
            try:
                await ws.close()
            except Exception:
                pass

    rss_before = rss_kib(pid)
    cpu_before = cpu_seconds(pid)
    me_before = _cpu_self()
    t0 = time.perf_counter()
    sampler = asyncio.create_task(sample_rss())
    prober = asyncio.create_task(probe_health())
    tasks = [asyncio.create_task(session(i)) for i in range(n)]
    await all_done.wait()
    wall = time.perf_counter() - t0
    cpu_run = cpu_seconds(pid) - cpu_before
    me_cpu = _cpu_self() - me_before
    await asyncio.sleep(settle)      # let the server finish its bookkeeping before reading RSS
    rss_held = rss_kib(pid)
    hold.set()
    await asyncio.gather(*tasks, sampler, prober)
    await asyncio.sleep(settle)
    rss_after_close = rss_kib(pid)

    ok = [r for r in results if r.ok]
    runs = [r.run_s for r in ok]
    per_page = {}
    for t in targets:
        mine = [r.run_s for r in ok if r.target == t.label]
        per_page[t.label] = {"n_ok": len(mine), "p50": pct(mine, 50), "p95": pct(mine, 95)}
    errors = [f"{r.target}: {r.error}" for r in results if not r.ok]
    return {
        "n": n, "errors": len(errors), "error_samples": errors[:5],
        "p50_s": pct(runs, 50), "p95_s": pct(runs, 95), "max_s": max(runs) if runs else None,
        "connect_p95_s": pct([r.connect_s for r in results if r.connect_s is not None], 95),
        "first_delta_p50_s": pct([r.first_delta_s for r in ok], 50),
        "wall_s": wall, "sessions_per_s": len(ok) / wall if wall else None,
        "server_cpu_s": cpu_run, "server_cpu_s_per_session": cpu_run / n,
        "server_cpu_util": cpu_run / wall if wall else None,   # cores busy on average
        "client_cpu_util": me_cpu / wall if wall else None,    # this load generator, cores
        "rss_before_mib": rss_before / 1024, "rss_held_mib": rss_held / 1024,
        "rss_peak_mib": peak["rss"] / 1024, "rss_after_close_mib": rss_after_close / 1024,
        "rss_per_session_mib": (rss_held - rss_before) / 1024 / n,
        "mb_per_session_received": sum(r.bytes for r in results) / n / 1e6,
        "reruns": sum(r.reruns for r in results), "error_banners": sum(r.error_alerts for r in results),
        "health_p50_s": pct(health, 50), "health_max_s": max(health) if health else None,
        "per_page": per_page, "loadavg_1m_after": round(loadavg()[0], 2),
    }


async def sequential(port: int, pid: int, targets: list[Target], timeout: float) -> list[PageLoad]:
    """One visitor at a time; each load also gets the server CPU seconds it cost."""
    out = []
    for t in targets:
        c0 = cpu_seconds(pid)
        r = await one_page_load(port, t, timeout)
        await asyncio.sleep(0.3)              # the tail of the run (session cleanup) counts too
        r.server_cpu_s = cpu_seconds(pid) - c0
        out.append(r)
    return out


# ---------------------------------------------------------------- real browser tabs

async def browser_tabs(url: str, targets: list[Target], tabs: int, repeats: int, timeout_s: float) -> list[dict]:
    from playwright.async_api import async_playwright

    async def tab(browser, target: Target) -> dict:
        page_key = target.page
        ready = READY_SELECTOR.get(page_key, DATAFRAME)
        ctx = await browser.new_context(viewport={"width": 1600, "height": 1000})
        page = await ctx.new_page()
        page_errors: list[str] = []
        console_errors: list[str] = []
        page.on("pageerror", lambda e: page_errors.append(str(e)[:200]))
        page.on("console", lambda m: console_errors.append(m.text[:200]) if m.type == "error" else None)
        not_found: list[str] = []
        page.on("response", lambda r: not_found.append(r.url.replace(url, "")[:120]) if r.status >= 400 else None)
        out = {"target": target.label, "ok": False}
        t0 = time.perf_counter()
        try:
            await page.goto(url + target.path(), wait_until="commit", timeout=timeout_s * 1000)
            # the page's chart/table, or an exception element (then fail fast)
            await page.wait_for_selector(f'{ready}, [data-testid="stException"]', state="visible",
                                         timeout=timeout_s * 1000)
            if await page.locator(ready).count():
                out["ready_s"] = time.perf_counter() - t0
            # idle: no "running" icon twice in a row (the status widget itself also shows
            # "source file changed" when a colleague edits a file, which is not a running script)
            await page.wait_for_function(
                """() => { const busy = !!document.querySelector(
                               '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'
                               + ', [data-testid="stStatusWidgetNewYearsIcon"]');
                           const ok = !busy && window.__idle === true; window.__idle = !busy; return ok; }""",
                timeout=timeout_s * 1000, polling=200)
            out["idle_s"] = time.perf_counter() - t0
            out["exceptions"] = await page.locator('[data-testid="stException"]').count()
            out["page_not_found"] = await page.get_by_text("Page not found").count()
            if out["exceptions"]:
                out["exception_text"] = (await page.locator('[data-testid="stException"]').first.inner_text())[:300]
            h1 = page.locator('[data-testid="stMainBlockContainer"] h1')
            out["title"] = (await h1.first.inner_text(timeout=2000))[:60] if await h1.count() else None
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        out["page_errors"] = page_errors
        out["console_errors"] = len(console_errors)
        out["console_samples"] = console_errors[:3]
        out["http_errors"] = not_found[:5]
        out["ok"] = "error" not in out and not out.get("exceptions") and not out.get("page_not_found") \
            and not page_errors and out.get("ready_s") is not None
        await ctx.close()
        return out

    rows = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for rep in range(repeats):
                chosen = [targets[i % len(targets)] for i in range(tabs)]
                t0 = time.perf_counter()
                res = await asyncio.gather(*(tab(browser, t) for t in chosen))
                wall = time.perf_counter() - t0
                for r in res:
                    r["repeat"] = rep + 1
                    r["batch_wall_s"] = wall
                rows += res
        finally:
            await browser.close()
    return rows


# ---------------------------------------------------------------- --compare: the app against a bare page

# Streamlit options every measured process gets, as deploy/run_local.sh starts them
SERVER_FLAGS = ["--browser.serverAddress", "localhost", "--browser.gatherUsageStats", "false"]
FIVE_PAGES = ["", "evidence", "forest", "survival", "adverse-events"]
SCENARIOS = {"same link": ["survival"], "five pages": FIVE_PAGES}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _sum(read, pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            total += read(p)
        except (OSError, RuntimeError):
            pass           # a process that ended (e.g. an nginx worker) counts no more
    return total


class SingleSetup:
    """One Streamlit process, sessions straight to it."""

    def __init__(self, name: str, server: AppServer, targets_for):
        self.name, self.server, self.targets_for = name, server, targets_for

    def start(self):
        self.server.start()
        self.port = self.server.port
        self.health_ports = [self.port]

    def pids(self) -> list[int]:
        return [self.server.pid]

    def stop(self):
        self.server.stop()


class ProxySetup:
    """deploy/run_local.sh N PORT: N Streamlit processes behind nginx, sessions to nginx."""

    def __init__(self, n: int, log_dir: Path):
        self.name = f"nginx + {n} processes"
        self.n = n
        self.run_dir = Path(tempfile.mkdtemp(prefix="hcc-proxy-"))
        self.log_dir = log_dir
        self.targets_for = lambda pages: [Target(p) for p in pages]

    def start(self, timeout: float = 300):
        self.port = free_port()
        # backends on PORT+1..PORT+N: take a free port whose successors are free too
        while not all(_port_free(self.port + i) for i in range(1, self.n + 1)):
            self.port = free_port()
        env = dict(os.environ, HCC_RUN_DIR=str(self.run_dir))
        self.log = open(self.log_dir / "load_protocol-proxy.log", "w")
        self.proc = subprocess.Popen([str(ROOT / "deploy" / "run_local.sh"), str(self.n), str(self.port)],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while not (self.run_dir / "ready").exists():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"run_local.sh did not get ready (log: {self.log.name})")
            time.sleep(0.5)
        self.backends = [int(p) for p in (self.run_dir / "ready").read_text().strip().split(",")]
        self.backend_pids = [int((self.run_dir / f"streamlit-{p}.pid").read_text()) for p in self.backends]
        self.nginx_pid = int((self.run_dir / "nginx.pid").read_text())
        self.health_ports = [*self.backends, self.port]

    def pids(self) -> list[int]:
        return [*self.backend_pids, self.nginx_pid, *_children(self.nginx_pid)]

    def access_log(self) -> Path:
        return self.run_dir / "logs" / "nginx-access.log"

    def stop(self):
        """SIGTERM to run_local.sh, which stops its processes; what is left after 2 minutes
        (a Streamlit process holding hundreds of closed sessions can take a while) is killed."""
        if getattr(self, "proc", None) is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            for pgid in (self.proc.pid, *getattr(self, "backend_pids", [])):
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _poll_health(port: int, out: list[float], stop: threading.Event, every: float):
    """GET /_stcore/health every `every` s (the next one right away if an answer took longer)."""
    while not stop.is_set():
        t = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("GET", "/_stcore/health")
            conn.getresponse().read()
            conn.close()
            out.append(time.perf_counter() - t)
        except OSError:
            out.append(float("inf"))
        stop.wait(max(0.0, every - (time.perf_counter() - t)))


def _sample_rss(pids_of, peak: dict, stop: threading.Event):
    while not stop.is_set():
        peak["kib"] = max(peak["kib"], _sum(rss_kib, pids_of()))
        stop.wait(0.1)


async def burst(setup, targets: list[Target], n: int, timeout: float, settle: float,
                health_every: float) -> dict:
    """N sessions open the link(s) at once, each as a browser does: GET the page (and the
    proxy's cookie), open the websocket with that cookie, run the script. All are held
    open until the last has finished, then closed."""
    hold, all_done = asyncio.Event(), asyncio.Event()
    results: list[dict] = []
    stop = threading.Event()
    health = {p: [] for p in setup.health_ports}
    peak = {"kib": _sum(rss_kib, setup.pids())}
    threads = [threading.Thread(target=_poll_health, args=(p, health[p], stop, health_every), daemon=True)
               for p in setup.health_ports]
    threads.append(threading.Thread(target=_sample_rss, args=(setup.pids, peak, stop), daemon=True))

    async def session(i: int):
        target = targets[i % len(targets)]
        res = PageLoad(target.label)
        out = {"target": target.label}
        ws = None
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                status, cookie = await get_page_html(setup.port, target.path())
                out["cookie"] = cookie
                if status != 200:
                    raise RuntimeError(f"GET {target.path()}: HTTP {status}")
                ws = await open_session(setup.port, timeout, cookie)
                before_run = time.perf_counter() - t0
                await load_page(ws, setup.port, target, res)
                out["to_chart_s"] = before_run + (res.chart_s if res.chart_s is not None else res.run_s)
                out["to_end_s"] = before_run + res.run_s
                out["chart"] = res.chart_s is not None
        except TimeoutError:
            res.error = f"timeout after {timeout} s"
        except Exception as exc:
            res.error = res.error or f"{type(exc).__name__}: {exc}"[:300]
        out["error"] = res.error
        out["bytes"] = res.bytes
        results.append(out)
        if len(results) == n:
            all_done.set()
        await hold.wait()
        if ws is not None:
            try:
                await ws.close()
            except Exception:
                pass

    load_at_start = round(loadavg()[0], 2)
    rss_before = _sum(rss_kib, setup.pids())
    cpu_before = _sum(cpu_seconds, setup.pids())
    me_before = _cpu_self()
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(session(i)) for i in range(n)]
    await all_done.wait()
    wall = time.perf_counter() - t0
    stop.set()
    await asyncio.to_thread(lambda: [t.join() for t in threads])   # in-flight health checks count
    hold.set()
    await asyncio.gather(*tasks)
    await asyncio.sleep(settle)      # closing the sessions is part of their cost
    cpu = _sum(cpu_seconds, setup.pids()) - cpu_before
    me_cpu = _cpu_self() - me_before
    ok = [r for r in results if not r["error"]]
    all_health = [x for v in health.values() for x in v]
    return {
        "n": n, "targets": [t.label for t in targets], "errors": n - len(ok),
        "error_samples": [f"{r['target']}: {r['error']}" for r in results if r["error"]][:5],
        "p50_to_chart_s": pct([r["to_chart_s"] for r in ok], 50),
        "p95_to_chart_s": pct([r["to_chart_s"] for r in ok], 95),
        "p95_to_end_s": pct([r["to_end_s"] for r in ok], 95),
        "sessions_with_chart": sum(1 for r in ok if r["chart"]),
        "wall_s": wall, "server_cpu_s": cpu, "server_cpu_s_per_session": cpu / n,
        "loadgen_cores_busy": me_cpu / wall if wall else None,
        "health_max_s": max(all_health) if all_health else None,
        "health_checks": len(all_health),
        "health_max_by_port": {str(p): (max(v) if v else None) for p, v in health.items()},
        "rss_before_mib": rss_before / 1024, "rss_peak_mib": peak["kib"] / 1024,
        "kb_per_session": sum(r["bytes"] for r in results) / n / 1e3,
        "cookies": [r.get("cookie") for r in results],
        "loadavg_1m_at_start": load_at_start,
    }


def affinity_check(log: Path, since: float) -> dict:
    """From run_local.sh's access log: how the websocket sessions spread over the processes,
    and whether any affinity key reached more than one process."""
    per_key: dict[str, set[str]] = {}
    streams: dict[str, int] = {}
    if not log.exists():
        return {}
    for line in log.read_text().splitlines():
        parts = line.split()
        try:
            if float(parts[0]) < since:
                continue
        except (ValueError, IndexError):
            continue
        fields = dict(p.split("=", 1) for p in parts if p.startswith(("cookie=", "key=", "upstream=")))
        up = fields.get("upstream", "-")
        if up == "-":
            continue       # answered by nginx itself (the blocked metrics)
        per_key.setdefault(fields.get("key", "-"), set()).add(up)
        if "/_stcore/stream" in line:
            streams[up] = streams.get(up, 0) + 1
    return {"websocket_sessions_per_process": streams,
            "keys": len(per_key), "keys_on_more_than_one_process": sum(1 for v in per_key.values() if len(v) > 1)}


def compare_main(args) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = machine()
    t_script = time.perf_counter()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    floor_dir = Path(tempfile.mkdtemp(prefix="hcc-floor-"))
    floor_target = [Target("", "page=survival")]
    app = SingleSetup("1 process", AppServer(extra=SERVER_FLAGS, log=RESULTS / "load_protocol-app.log"),
                      lambda pages: [Target(p) for p in pages])
    # the bare page: the same server configuration as the app (this project's .streamlit/config.toml,
    # read from the working directory) and the same command-line flags, so that the ratio is the
    # app's own work; --bare-streamlit-defaults runs it from an empty directory instead
    bare = SingleSetup("bare page", AppServer(extra=SERVER_FLAGS, script=str(ROOT / "benchmarks" / "_floor_app.py"),
                                              env={"HCC_FLOOR_DIR": str(floor_dir)},
                                              cwd=floor_dir if args.bare_streamlit_defaults else ROOT,
                                              log=RESULTS / "load_protocol-bare.log"),
                       lambda pages: floor_target)
    setups = [bare, app] + ([ProxySetup(args.proxy_processes, RESULTS)] if args.proxy_processes else [])
    print(f"load average at start {info['loadavg_at_start']}", flush=True)
    data: dict = {"mode": "compare", "machine": info, "args": vars(args), "bursts": []}
    started = []
    try:
        app.start()
        started.append(app)
        # warm every page, and take the survival page's figure (as sent) for the bare page
        sys.path.insert(0, str(ROOT / "deploy"))
        from warm import warm_process
        paths, problems = asyncio.run(warm_process(app.port, args.timeout))
        if problems:
            print("warm-up problems:", problems)
        spec = asyncio.run(one_page_load(app.port, Target("survival"), args.timeout, keep_specs=True)).plotly_specs
        if not spec:
            raise RuntimeError("the survival page sent no plotly chart: nothing to give the bare page")
        (floor_dir / "survival.json").write_text(json.dumps(spec[:1]), encoding="utf-8")
        data["bare_figure_kb"] = len(spec[0]) / 1e3
        bare.start()
        started.append(bare)
        asyncio.run(one_page_load(bare.port, floor_target[0], args.timeout))
        for s in setups[2:]:
            t = time.perf_counter()
            s.start()          # run_local.sh waits for health and warms every page
            started.append(s)
            print(f"{s.name}: ready and warm in {time.perf_counter() - t:.0f} s", flush=True)
        data["startup_s"] = time.perf_counter() - t_script

        deadline = t_script + args.max_minutes * 60
        five_levels = [int(x) for x in args.five_levels.split(",") if x.strip()]
        plan = [(scen, n, s) for scen, ns in (("same link", levels), ("five pages", five_levels)) for n in ns
                for s in setups if not (s is bare and scen != "same link")]   # the bare page has one page only
        for rep in range(1, args.repeats + 1):
            t_rep = time.perf_counter()
            if rep > 1 and time.perf_counter() + last_rep > deadline:
                print(f"repeat {rep} would pass the {args.max_minutes} min time box: stopped", flush=True)
                break
            for scen, n, s in plan:
                since = time.time()
                try:
                    r = asyncio.run(burst(s, s.targets_for(SCENARIOS[scen]), n, args.timeout, args.settle,
                                          args.health_every))
                except Exception as exc:    # keep the bursts measured so far
                    data["aborted"] = f"{s.name} {scen} N={n}: {type(exc).__name__}: {exc}"
                    print("aborted:", data["aborted"], file=sys.stderr)
                    raise
                r.update(setup=s.name, scenario=scen, repeat=rep)
                if isinstance(s, ProxySetup):
                    r["affinity"] = affinity_check(s.access_log(), since)
                data["bursts"].append(r)
                print(f"  {rep} {s.name:<20} {scen:<10} N={n:<4} errors {r['errors']}, p95 to chart "
                      f"{fmt(r['p95_to_chart_s'])} s, CPU {r['server_cpu_s_per_session']:.3f} s/session, "
                      f"health max {fmt(r['health_max_s'])} s, peak RSS {r['rss_peak_mib']:.0f} MiB, "
                      f"load {r['loadavg_1m_at_start']}" + (f", {r['affinity']}" if r.get("affinity") else ""),
                      flush=True)
                if r["error_samples"]:
                    print("     e.g.", r["error_samples"][0])
                time.sleep(args.pause)
            last_rep = time.perf_counter() - t_rep
    except Exception as exc:       # the report below has what was measured, and says why it stopped
        data.setdefault("aborted", f"{type(exc).__name__}: {exc}")
        print("aborted:", data["aborted"], file=sys.stderr)
    finally:
        for s in reversed(started):
            try:
                s.stop()
            except Exception as exc:      # the results are written all the same
                print(f"stopping {s.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    data["script_wall_s"] = time.perf_counter() - t_script

    md = compare_report(data)
    print()
    print(md)
    p_md, p_json = write_results("load_compare", md, data)
    print(f"\nwritten: {p_md} and {p_json}")
    return 0


def compare_rows(bursts: list[dict]) -> list[dict]:
    """Medians over the repeats of each (setup, scenario, N), with ratios to the bare page at the same N."""
    groups: dict[tuple, list[dict]] = {}
    for b in bursts:
        groups.setdefault((b["setup"], b["scenario"], b["n"]), []).append(b)
    keys = ["p95_to_chart_s", "p95_to_end_s", "server_cpu_s_per_session", "health_max_s", "rss_peak_mib"]
    rows = []
    for (setup, scen, n), bs in groups.items():
        row = {"setup": setup, "scenario": scen, "n": n, "runs": len(bs), "errors": sum(b["errors"] for b in bs),
               "loadavg": [b["loadavg_1m_at_start"] for b in bs]}
        for k in keys:
            row[k] = median([b[k] for b in bs])
            row[k + "_all"] = [b[k] for b in bs]
        rows.append(row)
    bare = {r["n"]: r for r in rows if r["setup"] == "bare page"}
    for r in rows:
        ref = bare.get(r["n"])
        for k in ("p95_to_chart_s", "server_cpu_s_per_session", "health_max_s", "rss_peak_mib"):
            r[k + "_x_bare"] = (r[k] / ref[k]) if ref and r[k] is not None and ref[k] else None
    order = {"bare page": 0, "1 process": 1}
    return sorted(rows, key=lambda r: (r["scenario"] != "same link", r["n"], order.get(r["setup"], 2)))


def compare_report(data: dict) -> str:
    info = data["machine"]
    rows = compare_rows(data["bursts"])
    x = lambda v: fmt(v, "{:.1f}x", "-")
    table = md_table(
        ["links", "N", "setup", "runs", "errors", "p95 to chart (s)", "x bare", "p95 script end (s)",
         "server CPU s/session", "x bare", "health max (s)", "x bare", "peak RSS (MiB)", "x bare",
         "load avg at bursts"],
        [[r["scenario"], r["n"], r["setup"], r["runs"], r["errors"],
          spread(r["p95_to_chart_s_all"]), x(r["p95_to_chart_s_x_bare"]), spread(r["p95_to_end_s_all"]),
          spread(r["server_cpu_s_per_session_all"], "{:.3f}"), x(r["server_cpu_s_per_session_x_bare"]),
          spread(r["health_max_s_all"]), x(r["health_max_s_x_bare"]),
          spread(r["rss_peak_mib_all"], "{:.0f}"), x(r["rss_peak_mib_x_bare"]),
          " ".join(f"{v:.1f}" for v in r["loadavg"])] for r in rows])
    a = data["args"]
    # (results before 2026-11-29 15:10 ran the bare page with Streamlit's defaults unless bare_project_config)
    defaults = a.get("bare_streamlit_defaults", a.get("bare_project_config") is False)
    bare_config = "Streamlit's default configuration" if defaults else "the app's server configuration (.streamlit/config.toml)"
    aff = [b for b in data["bursts"] if b.get("affinity")]
    aff_lines = [f"- {b['scenario']} N={b['n']} run {b['repeat']}: websocket sessions per process "
                 f"{b['affinity'].get('websocket_sessions_per_process')}, affinity keys on more than one "
                 f"process: {b['affinity'].get('keys_on_more_than_one_process')}" for b in aff]
    return "\n\n".join([
        "# The app against a bare Streamlit page (load_protocol.py --compare)",
        f"{info['when']}, commit {info['git_commit']}{' + uncommitted changes' if info['working_tree_dirty'] else ''}, "
        f"{info['cpus']} CPUs, {info['mem_total_gib']} GiB; load average at start {info['loadavg_at_start']} "
        "(the machine is shared: wall times include other work, CPU s/session hardly does).",
        "Each burst: N sessions start at once; each GETs the page like a browser (and keeps the proxy's "
        "cookie), opens Streamlit's websocket with it and runs the page; time to chart = session start -> "
        "first plotly_chart element (pages without a chart: -> script_finished). 'same link' = every session "
        "opens /survival; 'five pages' = /, /evidence, /forest, /survival, /adverse-events in turn. "
        f"Bare page = benchmarks/_floor_app.py drawing the survival page's own figure ({fmt(data.get('bare_figure_kb'), '{:.0f}')} KB "
        f"of JSON) with {bare_config}. Server CPU and peak RSS = every process of the "
        "setup (nginx included). Health = slowest GET /_stcore/health, polled every "
        f"{data['args']['health_every']} s on every process (and through nginx) during the burst. "
        "Figures: median (min-max) of the runs; 'x bare' = median / the bare page's median at the same N.",
        table,
        "## Session affinity through nginx", "\n".join(aff_lines) or "(no proxy setup)",
        f"Start-up and warm-up {fmt(data.get('startup_s'), '{:.0f}')} s; script wall time {data['script_wall_s']:.0f} s."
        + (f" ABORTED: {data['aborted']}" if data.get("aborted") else ""),
    ])


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="10,30,100", help="concurrent sessions per level (default 10,30,100)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per level (default 3); medians are reported")
    ap.add_argument("--max-minutes", type=float, default=4.5,
                    help="time box of the whole script: every level runs once, then further runs (round-robin) "
                         "only while the last run of their level says they fit (default 4.5)")
    ap.add_argument("--targets", default=",".join(DEFAULT_TARGETS),
                    help="pages with query strings, taken in turn; '' = the default page (comma-separated)")
    ap.add_argument("--ramp", type=float, default=0.0,
                    help="spread the session starts over this many seconds (default 0: all at once)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="per-session timeout, seconds (default 300; a timeout counts as an error)")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds before reading RSS after a level")
    ap.add_argument("--pause", type=float, default=2.0, help="seconds between runs")
    ap.add_argument("--browser-tabs", type=int, default=4, help="real Chromium tabs at once (0: skip)")
    ap.add_argument("--browser-repeats", type=int, default=2)
    ap.add_argument("--browser-timeout", type=float, default=90, help="per tab, seconds")
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--server-args", default="",
                    help="extra streamlit options for the server, e.g. '--server.fileWatcherType none'")
    ap.add_argument("--compare", action="store_true",
                    help="the issue-10 measurement: the app (one process, and behind nginx) against a bare "
                         "one-chart page; 'same link' and 'five pages' bursts at --levels (default here 30,100)")
    ap.add_argument("--five-levels", default="30",
                    help="--compare: sessions for the five-pages bursts (default 30; --levels is for the same link)")
    ap.add_argument("--proxy-processes", type=int, default=2,
                    help="--compare: Streamlit processes behind nginx (deploy/run_local.sh); 0 = no proxy setup")
    ap.add_argument("--health-every", type=float, default=0.1, help="--compare: health poll interval, s")
    ap.add_argument("--bare-streamlit-defaults", action="store_true",
                    help="--compare: run the bare page with Streamlit's default configuration instead of this "
                         "project's .streamlit/config.toml (a what-if: the default file watcher alone doubles "
                         "its CPU per session)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so that `finally` stops the server
    if args.compare:
        if args.levels == "10,30,100":
            args.levels = "30,100"
        if args.max_minutes == 4.5:
            args.max_minutes = 10.0
        return compare_main(args)

    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    targets_req = [Target.parse(t) for t in args.targets.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = machine()
    server = AppServer(args.port, extra=args.server_args.split(), log=RESULTS / "load_protocol-server.log")
    t_script = time.perf_counter()
    server.start()
    print(f"server pid {server.pid} on {server.url}, up in {server.startup_s:.1f} s; loadavg {info['loadavg_at_start']}")
    data: dict = {"machine": info, "args": vars(args), "server_startup_s": server.startup_s}
    try:
        rss_idle = rss_kib(server.pid)
        # the very first visitor of a fresh server (imports, store load, navigation switch)
        targets, skipped, probe = asyncio.run(discover(server.port, targets_req, args.timeout))
        data["first_visitor"] = {"target": probe.target, "run_s": probe.run_s, "ok": probe.ok, "error": probe.error,
                                 "reruns": probe.reruns}
        data["navigation"] = probe.navigation
        data["skipped_targets"] = skipped
        for s in skipped:
            print("skipped:", s)
        cold = asyncio.run(sequential(server.port, server.pid, targets, args.timeout))  # each page's first load
        warm = [asyncio.run(sequential(server.port, server.pid, targets, args.timeout)) for _ in range(3)]
        data["single_visitor"] = [
            {"target": c.target, "cold_s": c.run_s, "warm_s": median([w.run_s for w in ws]),
             "warm_server_cpu_s": median([w.server_cpu_s for w in ws]), "ok": c.ok and all(w.ok for w in ws),
             "error": c.error or next((w.error for w in ws if w.error), None), "elements": ws[0].element_types,
             "kb_received": ws[0].bytes / 1e3}
            for c, *ws in zip(cold, *warm)]
        rss_warm = rss_kib(server.pid)
        data["rss_idle_mib"], data["rss_warm_mib"] = rss_idle / 1024, rss_warm / 1024
        single = md_table(["page", "first load after start (s)", "warm, one visitor (s)", "server CPU s (warm)",
                           "KB received", "ok"],
                          [[r["target"], fmt(r["cold_s"]), fmt(r["warm_s"]), fmt(r["warm_server_cpu_s"]),
                            f"{r['kb_received']:.0f}", "yes" if r["ok"] else r["error"]]
                           for r in data["single_visitor"]])
        print(single)

        runs: dict[int, list[dict]] = {n: [] for n in levels}
        reserve = 60 if args.browser_tabs > 0 else 5
        deadline = t_script + args.max_minutes * 60 - reserve
        last: dict[int, float] = {}
        # one run of every level first, then further runs round-robin while they fit the time box
        schedule = [n for rep in range(args.repeats) for n in levels]
        given_up: set[int] = set()
        for i, n in enumerate(schedule):
            rep = len(runs[n])
            if n in given_up:
                continue
            if i >= len(levels) and time.perf_counter() + last[n] + args.pause > deadline:
                print(f"  N={n}: {rep} run(s); more would pass the {args.max_minutes} min time box "
                      f"(summarize_load.py merges the runs of several invocations)")
                given_up.add(n)
                continue
            t0 = time.perf_counter()
            r = asyncio.run(run_level(server.port, server.pid, targets, n, args.ramp, args.timeout, args.settle))
            last[n] = time.perf_counter() - t0
            r["repeat"] = rep + 1
            runs[n].append(r)
            print(f"  N={n:<4} run {rep + 1}: errors {r['errors']}, p50 {fmt(r['p50_s'])} s, "
                  f"p95 {fmt(r['p95_s'])} s, {fmt(r['sessions_per_s'])} sessions/s, server CPU "
                  f"{r['server_cpu_s_per_session']:.2f} s/session ({r['server_cpu_util']:.2f} cores), "
                  f"RSS +{r['rss_per_session_mib']:.2f} MiB/session (held {r['rss_held_mib']:.0f} MiB), "
                  f"/_stcore/health max {fmt(r['health_max_s'])} s", flush=True)
            if r["error_samples"]:
                print("     e.g.", r["error_samples"][0])
            time.sleep(args.pause)
        data["levels"] = {str(n): v for n, v in runs.items()}

        tabs = []
        if args.browser_tabs > 0:
            tabs = asyncio.run(browser_tabs(server.url, targets, args.browser_tabs, args.browser_repeats,
                                            args.browser_timeout))
        data["browser_tabs"] = tabs
        data["rss_end_mib"] = rss_kib(server.pid) / 1024
    finally:
        server.stop()
    data["script_wall_s"] = time.perf_counter() - t_script

    # ------------------------------------------------------------ report
    mem_total_mib = info["mem_total_gib"] * 1024
    rows = []
    for n, rs in runs.items():
        rows.append([
            n, len(rs), sum(r["errors"] for r in rs),
            spread([r["first_delta_p50_s"] for r in rs]),
            spread([r["p50_s"] for r in rs]), spread([r["p95_s"] for r in rs]),
            spread([r["sessions_per_s"] for r in rs]),
            spread([r["server_cpu_s_per_session"] for r in rs]),
            spread([r["server_cpu_util"] for r in rs]), spread([r["client_cpu_util"] for r in rs]),
            spread([r["rss_per_session_mib"] for r in rs]),
            fmt(median([r["rss_held_mib"] for r in rs]), "{:.0f}"),
            spread([r["health_max_s"] for r in rs]),
        ])
    headers = ["N", "runs", "errors", "first element p50 (s)", "p50 run (s)", "p95 run (s)", "sessions/s", "server CPU s/session",
               "server cores busy", "loadgen cores busy", "RSS MiB/session", "RSS held (MiB)",
               "health check max (s)"]
    table = md_table(headers, rows)
    verdict = []
    if 100 in runs:
        rs = runs[100]
        errs = sum(r["errors"] for r in rs)
        p95 = median([r["p95_s"] for r in rs])
        verdict.append(f"- 100 sessions: {errs} error(s) (target 0) -> {'MET' if errs == 0 else 'MISSED'}; "
                       f"p95 {fmt(p95)} s (target < 2 s) -> {'MET' if p95 is not None and p95 < 2 else 'MISSED'}")
    if 30 in runs:
        per = median([r["rss_per_session_mib"] for r in runs[30]])
        held = median([r["rss_held_mib"] for r in runs[30]])
        verdict.append(f"- 30 sessions: server RSS {fmt(held, '{:.0f}')} MiB while holding them "
                       f"({fmt(per)} MiB/session), {100 * held / mem_total_mib:.1f}% of {info['mem_total_gib']} GiB "
                       f"-> {'MET' if held < 0.25 * mem_total_mib else 'MISSED'} (well within: < 25%)")
    page_rows = []
    for n, rs in runs.items():
        for label in rs[0]["per_page"]:
            page_rows.append([n, label, spread([r["per_page"][label]["p50"] for r in rs]),
                              spread([r["per_page"][label]["p95"] for r in rs])])
    tab_table = md_table(["repeat", "tab", "ready (s)", "idle (s)", "exceptions", "JS errors", "console errors", "ok"],
                         [[t["repeat"], t["target"], fmt(t.get("ready_s")), fmt(t.get("idle_s")),
                           t.get("exceptions", "-"), len(t["page_errors"]), t["console_errors"],
                           "yes" if t["ok"] else (t.get("error") or t.get("exception_text", "no")).replace("\n", " ")[:150]]
                          for t in tabs]) if tabs else "(skipped)"
    md = "\n\n".join([
        "# Load at the protocol level (load_protocol.py)",
        f"{info['when']}, commit {info['git_commit']}{' + uncommitted changes' if info['working_tree_dirty'] else ''}, "
        f"{info['cpus']} CPUs, {info['mem_total_gib']} GiB; load average at start {info['loadavg_at_start']} "
        f"(the machine is shared: wall times include other work, CPU s/session does not).",
        f"Server options: {args.server_args or '(defaults)'}. "
        f"Pages in turn: {', '.join(t.label for t in targets)}. Skipped: {'; '.join(skipped) or 'none'}. "
        f"Session starts spread over {args.ramp} s. Run time = rerun_script sent -> script_finished.",
        "## Concurrent sessions (median (min-max) of the runs)", table,
        "\n".join(verdict) or "",
        "## Per page under load (median of runs)", md_table(["N", "page", "p50 (s)", "p95 (s)"], page_rows),
        "## One visitor at a time", single,
        f"First visitor of the fresh server ({probe.target}): {fmt(probe.run_s)} s, {probe.reruns} rerun(s). "
        f"Server RSS idle {data['rss_idle_mib']:.0f} MiB, after one visit of every page {data['rss_warm_mib']:.0f} MiB.",
        f"## Real browser tabs ({args.browser_tabs} at once, Chromium {CHROMIUM})", tab_table,
        "Console errors seen (distinct): " + ("; ".join(sorted({m for t in tabs for m in t.get("console_samples", [])}))
                                              or "none")
        + ". HTTP >= 400 responses: " + (", ".join(sorted({u for t in tabs for u in t.get("http_errors", [])})) or "none")
        + ".",
        f"Script wall time {data['script_wall_s']:.0f} s.",
    ])
    print()
    print(md)
    p_md, p_json = write_results("load_protocol", md, data)
    print(f"\nwritten: {p_md} and {p_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
