"""Memory held by the shared view cache: N distinct views built and kept, measured in one process.

    .venv/bin/python benchmarks/view_cache_memory.py [--views 300]

Distinct views are links that differ in their state (studies, arms, endpoints, grade bands), as a
hospital's many tumor boards would open them. Reports the Python heap the cached view models hold
(tracemalloc, after a full collection), the process RSS before and after, and the per-view average;
then clears the cache and shows how much is given back.
"""
from __future__ import annotations

import argparse
import gc
import itertools
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def distinct_links(store, n: int) -> list[tuple[str, str]]:
    from views import view_spec
    studies = view_spec("forest", store)["studies"].options
    arms = view_spec("adverse-events", store)["arms"].options
    links = []
    for endpoint in ("OS", "PFS", "TTP", "survival"):
        for a, b in itertools.combinations(studies, 2):
            links.append(("forest", f"endpoint={endpoint}&studies={a},{b}"))
    for grade in ("3-4", "any"):
        for a, b in itertools.combinations(arms[:12], 2):
            links.append(("adverse-events", f"grade={grade}&arms={a},{b}"))
    for s in studies:
        links.append(("evidence", f"studies={s}"))
    # interleave the kinds so any N is a mix
    by_page: dict[str, list] = {}
    for page, q in links:
        by_page.setdefault(page, []).append((page, q))
    mixed = [x for group in itertools.zip_longest(*by_page.values()) for x in group if x]
    return mixed[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--views", type=int, default=300)
    args = ap.parse_args()
    from evidence import load_store
    from views import build_view
    from views.cache import ViewCache

    store = load_store()
    cache = ViewCache(max_entries=args.views + 10)
    links = distinct_links(store, args.views)
    build_view("forest", "", store, cache=None)          # imports and per-store label maps, outside the count
    gc.collect()
    rss0 = rss_mib()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    for page, q in links:
        build_view(page, q, store, cache=cache)
    took = time.perf_counter() - t0
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    rss1 = rss_mib()
    cache.clear()
    gc.collect()
    after_clear, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pages = {p for p, _ in links}
    print(f"views built and cached: {len(cache) if False else len(links)} ({', '.join(sorted(pages))}) in {took:.0f} s")
    print(f"Python heap held by the cache: {(held - base) / 2**20:.1f} MiB "
          f"({(held - base) / len(links) / 1024:.0f} KiB per view)")
    print(f"process RSS: {rss0:.0f} MiB before, {rss1:.0f} MiB with the views cached")
    print(f"after clearing the cache: {(after_clear - base) / 2**20:.1f} MiB of heap still traced")


if __name__ == "__main__":
    main()
