"""Readiness wait and warm-up for the dashboard's processes after a start.

    .venv/bin/python deploy/warm.py --backends 8501,8502 [--proxy 8500]

1. Waits until every process answers /_stcore/health (readiness), up to --timeout.
2. Runs every page of the app's navigation once on every process, over Streamlit's
   own websocket protocol (benchmarks/st_protocol.py): the first run of a page pays
   the imports, the evidence store's load and the caches, so the first clinician
   does not.
3. Through the proxy, if given: GETs every page path and /_stcore/health, so a
   broken route or header shows before the meeting, not during it.
Exits non-zero if a process never got ready or a page failed.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from st_protocol import Target, one_page_load  # noqa: E402


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def wait_ready(ports: list[int], timeout: float) -> list[int]:
    """Ports that did not answer /_stcore/health within the timeout."""
    deadline = time.time() + timeout
    waiting = set(ports)
    while waiting and time.time() < deadline:
        waiting = {p for p in waiting if not healthy(p)}
        if waiting:
            time.sleep(0.3)
    return sorted(waiting)


async def warm_process(port: int, timeout: float) -> tuple[list[str], list[str]]:
    """Run the default page, then every page of its navigation; returns (paths, problems)."""
    first = await one_page_load(port, Target(""), timeout)
    if not first.ok:
        return [], [f"{port} /: {first.error}"]
    paths = [p["url_pathname"] for p in first.navigation]
    problems = []
    for path in paths:
        r = await one_page_load(port, Target(path), timeout)
        if not r.ok:
            problems.append(f"{port} /{path}: {r.error}")
    return paths, problems


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", required=True, help="comma-separated ports of the Streamlit processes")
    ap.add_argument("--proxy", type=int, default=None, help="port of nginx on 127.0.0.1 (optional)")
    ap.add_argument("--timeout", type=float, default=120, help="readiness wait and per-page timeout, s")
    args = ap.parse_args()
    ports = [int(p) for p in args.backends.split(",") if p.strip()]

    t0 = time.perf_counter()
    late = wait_ready(ports, args.timeout)
    if late:
        print(f"not ready after {args.timeout:.0f} s: ports {late}", file=sys.stderr)
        return 1
    print(f"ready: {len(ports)} process(es) in {time.perf_counter() - t0:.1f} s", flush=True)

    problems: list[str] = []
    paths: list[str] = []
    for port in ports:        # one after the other: warming all at once only competes for the cores
        t = time.perf_counter()
        paths, mine = asyncio.run(warm_process(port, args.timeout))
        problems += mine
        print(f"warmed {port}: {len(paths)} pages in {time.perf_counter() - t:.1f} s", flush=True)

    if args.proxy:
        base = f"http://127.0.0.1:{args.proxy}"
        for path in ["_stcore/health", *paths]:
            status = get(f"{base}/{path}")
            if status != 200:
                problems.append(f"proxy /{path}: HTTP {status}")
        status = get(f"{base}/_stcore/metrics")
        if status == 200:
            problems.append("proxy /_stcore/metrics answers 200: it must be blocked")
    for p in problems:
        print("problem:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
