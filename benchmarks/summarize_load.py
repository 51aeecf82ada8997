"""Merge the runs of several load_protocol.py invocations into one table of medians.

One invocation fits only one or two 100-session runs into its time box on a busy
machine; run it a few times and merge:

    .venv/bin/python benchmarks/summarize_load.py                      # every result with default server options
    .venv/bin/python benchmarks/summarize_load.py --server-args "--server.fileWatcherType none"
    .venv/bin/python benchmarks/summarize_load.py benchmarks/results/load_protocol-2026*.json
    .venv/bin/python benchmarks/summarize_load.py --compare --since 20261129-140000   # load_protocol.py --compare runs
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, fmt, md_table, median, spread, write_results  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="load_protocol JSON results (default: all timestamped ones)")
    ap.add_argument("--server-args", default="", help="only results run with these server options (default none)")
    ap.add_argument("--ramp", type=float, default=0.0, help="only results with this --ramp (default 0)")
    ap.add_argument("--since", default="", help="only results whose timestamp (YYYYmmdd-HHMMSS) is >= this")
    ap.add_argument("--compare", action="store_true",
                    help="merge the bursts of several `load_protocol.py --compare` runs (load_compare-*.json)")
    args = ap.parse_args()
    if args.compare:
        return merge_compare(args)
    files = [Path(f) for f in args.files] or sorted(RESULTS.glob("load_protocol-2*.json"))
    runs: dict[int, list[dict]] = {}
    used = []
    for f in files:
        stamp = f.stem.split("-", 1)[1]
        if stamp < args.since:
            continue
        d = json.loads(f.read_text())
        a = d.get("args", {})
        if a.get("server_args", "") != args.server_args or float(a.get("ramp", 0)) != args.ramp:
            continue
        levels = d.get("levels", {})
        if not levels:
            continue
        used.append(f"{f.name} (commit {d['machine'].get('git_commit')}, load {d['machine']['loadavg_at_start'][0]})")
        for n, rs in levels.items():
            runs.setdefault(int(n), []).extend(rs)
    if not runs:
        print("no matching results")
        return 1
    rows = []
    for n in sorted(runs):
        rs = runs[n]
        rows.append([n, len(rs), sum(r["errors"] for r in rs), spread([r["first_delta_p50_s"] for r in rs]),
                     spread([r["p50_s"] for r in rs]), spread([r["p95_s"] for r in rs]),
                     spread([r["sessions_per_s"] for r in rs]), spread([r["server_cpu_s_per_session"] for r in rs]),
                     spread([r["server_cpu_util"] for r in rs]), spread([r["rss_per_session_mib"] for r in rs]),
                     fmt(median([r["rss_held_mib"] for r in rs]), "{:.0f}"),
                     spread([r.get("health_max_s") for r in rs])])
    md = "\n\n".join([
        "# load_protocol.py, merged runs (summarize_load.py)",
        f"Server options: {args.server_args or '(defaults)'}; ramp {args.ramp} s. From: " + "; ".join(used),
        md_table(["N", "runs", "errors", "first element p50 (s)", "p50 run (s)", "p95 run (s)", "sessions/s",
                  "server CPU s/session", "server cores busy", "RSS MiB/session", "RSS held (MiB)",
                  "health check max (s)"], rows),
    ])
    print(md)
    name = "load_summary" + ("-" + "".join(c for c in args.server_args if c.isalnum()) if args.server_args else "")
    p_md, _ = write_results(name, md, {"files": used, "levels": {str(k): v for k, v in runs.items()}})
    print(f"\nwritten: {p_md}")
    return 0


def merge_compare(args) -> int:
    """One table of medians over every burst of the chosen --compare runs."""
    from load_protocol import compare_report
    files = [Path(f) for f in args.files] or sorted(RESULTS.glob("load_compare-2*.json"))
    runs = [json.loads(f.read_text()) for f in files if f.stem.split("-", 1)[1] >= args.since]
    runs = [d for d in runs if d.get("bursts")]
    # never mix bare pages run with different configurations
    bare_defaults = {d["args"].get("bare_streamlit_defaults", d["args"].get("bare_project_config") is False)
                     for d in runs}
    if len(bare_defaults) > 1:
        print("these runs ran the bare page with different configurations: choose the files")
        return 1
    if not runs:
        print("no matching results")
        return 1
    machine = dict(runs[0]["machine"])
    machine["loadavg_at_start"] = [d["machine"]["loadavg_at_start"][0] for d in runs]   # 1-min, one per run
    commits = sorted({f"{d['machine']['git_commit']}{'+' if d['machine']['working_tree_dirty'] else ''}" for d in runs})
    machine["git_commit"] = ", ".join(commits)
    machine["working_tree_dirty"] = False
    data = {"machine": machine, "args": runs[0]["args"], "bare_figure_kb": runs[0].get("bare_figure_kb"),
            "bursts": [b for d in runs for b in d["bursts"]], "script_wall_s": sum(d["script_wall_s"] for d in runs),
            "startup_s": None}
    md = compare_report(data).replace("(load_protocol.py --compare)",
                                      f"(load_protocol.py --compare, {len(runs)} runs merged)")
    print(md)
    p_md, _ = write_results("load_compare_summary", md, {"files": [str(f) for f in files], **data})
    print(f"\nwritten: {p_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
