"""How long the evidence store takes to load, validate and rebuild every curve, and how that grows.

Measures, each in a fresh Python process (so imports, lru caches and peak RSS are
its own):
  1. evidence.load_store() of the bundled files, without and with
     sources=../shared/seeds (every snippet checked against its paper): the first
     call in a process (what a fresh server pays) and the median of later calls;
  2. if views/survival_inputs.py (curve_sources, rebuild) exists: gathering
     every arm's curve inputs and reconstructing every rebuildable arm, OS and PFS;
  3. the same on synthetic stores 10x and 100x larger: the YAML files copied into
     a temporary directory with every study_id renamed (study_id: x -> x__c7), so
     each copy is a distinct, valid set of studies (checked: k x the rows, and no
     new problems);
  4. peak memory: ru_maxrss of each process and tracemalloc's peak of the load
     (a separate run, as tracemalloc slows Python down);
  5. where the load time goes (cProfile of one load with sources, by stage).

    .venv/bin/python benchmarks/store_scaling.py
    .venv/bin/python benchmarks/store_scaling.py --scales 1,10,100 --source-scales 1,10 --reconstruct-scales 1,10

Target: the whole real store loaded and every curve reconstructed in under 0.5 s.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, fmt, machine, md_table, median, spread, write_results  # noqa: E402

DATA_DIR = ROOT / "evidence" / "data"
DEFAULT_SOURCES = ROOT.parent / "shared" / "seeds"
TABLES = ("studies", "arms", "outcomes", "hazard_ratios", "adverse_events", "conflicts")
TARGET_S = 0.5
_STUDY_ID = re.compile(r"^(\s*-?\s*study_id:\s*[\"']?)([A-Za-z0-9_.\-]+)", re.M)


# ---------------------------------------------------------------- synthetic stores

def make_synthetic(scale: int, out: Path) -> Path:
    """scale copies of every evidence file, each copy's study_ids suffixed __c<k>."""
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(DATA_DIR.glob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        for k in range(scale):
            if scale == 1:
                renamed = text
            else:
                renamed = _STUDY_ID.sub(lambda m: f"{m.group(1)}{m.group(2)}__c{k}", text)
            (out / f"{k:04d}_{f.name}").write_text(renamed, encoding="utf-8")
    return out


# ---------------------------------------------------------------- child processes

def child(spec: dict) -> dict:
    import resource
    out: dict = {}
    t0 = time.perf_counter()
    from evidence import load_store
    out["import_s"] = time.perf_counter() - t0
    data, sources = spec["data"], spec.get("sources")
    task = spec["task"]

    if task == "load":
        if spec.get("trace"):
            import tracemalloc
            tracemalloc.start()
            store = load_store(data, sources=sources)
            out["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        else:
            times, cpu = [], []
            for _ in range(spec["repeats"]):
                t, c = time.perf_counter(), time.process_time()
                store = load_store(data, sources=sources)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            out["first_s"], out["later_s"] = times[0], times[1:]
            out["first_cpu_s"], out["later_cpu_s"] = cpu[0], cpu[1:]
        out["rows"] = {t: len(getattr(store, t)) for t in TABLES}
        out["problems"] = len(store.problems)
        out["files"] = len(list(Path(data).glob("*.yaml")))

    elif task == "reconstruct":
        try:
            from views import survival_inputs as si
        except ImportError as exc:
            return {"missing": f"views.survival_inputs not importable: {exc}"}
        if not hasattr(si, "curve_sources") or not (hasattr(si, "rebuild") or hasattr(si, "rebuild_from_args")):
            return {"missing": "views.survival_inputs has no curve_sources/rebuild"}
        rebuild = si.rebuild if hasattr(si, "rebuild") else (lambda s: si.rebuild_from_args(si.rebuild_args(s)))
        families = list(getattr(si, "FAMILIES", {"OS": 0, "PFS": 0}))
        t, c = time.perf_counter(), time.process_time()
        store = load_store(data, sources=sources)
        out["load_s"] = time.perf_counter() - t
        out["load_cpu_s"] = time.process_time() - c
        rounds = []
        for _ in range(spec["repeats"]):
            r = {"inputs_s": 0.0, "rebuild_s": 0.0, "arms": 0, "rebuilt": 0, "failed": 0, "per_arm_ms": [],
                 "inputs_cpu_s": 0.0, "rebuild_cpu_s": 0.0}
            for fam in families:
                t, c = time.perf_counter(), time.process_time()
                srcs = si.curve_sources(store, fam)
                r["inputs_s"] += time.perf_counter() - t
                r["inputs_cpu_s"] += time.process_time() - c
                c = time.process_time()
                r["arms"] += len(srcs)
                for s in srcs:
                    if not s.reconstructable:
                        continue
                    t = time.perf_counter()
                    try:
                        rebuild(s)
                        r["rebuilt"] += 1
                    except Exception:
                        r["failed"] += 1
                    r["per_arm_ms"].append((time.perf_counter() - t) * 1000)
                    r["rebuild_s"] += time.perf_counter() - t
                r["rebuild_cpu_s"] += time.process_time() - c
            rounds.append(r)
        out["rounds"] = rounds
        out["first_total_s"] = out["load_s"] + rounds[0]["inputs_s"] + rounds[0]["rebuild_s"]
        out["first_total_cpu_s"] = out["load_cpu_s"] + rounds[0]["inputs_cpu_s"] + rounds[0]["rebuild_cpu_s"]

    elif task == "profile":
        import cProfile
        import pstats
        load_store(data, sources=sources)      # warm imports; then profile one load
        pr = cProfile.Profile()
        pr.enable()
        load_store(data, sources=sources)
        pr.disable()
        st = pstats.Stats(pr)
        total = max(v[3] for k, v in st.stats.items() if k[2] == "load_store")
        stages = {
            "YAML parsing (yaml.safe_load)": ("yaml/__init__.py", "safe_load"),
            "schema validation (pydantic model_validate)": ("store.py", "_validate_record"),
            "checks (evidence/checks.py check_file)": ("checks.py", "check_file"),
            "tables (pandas DataFrames)": ("store.py", "_frame"),
            "model_dump of records": ("pydantic/main.py", "model_dump"),
        }
        out["profile_total_s"] = total
        out["stages"] = {}
        for label, (file_end, func) in stages.items():
            cum = sum(v[3] for k, v in st.stats.items() if k[0].endswith(file_end) and k[2] == func)
            out["stages"][label] = cum
        import yaml
        out["libyaml_available"] = bool(getattr(yaml, "__with_libyaml__", False))
        # what-if, measured on the same files: the pure-Python loader vs libyaml's (same result?)
        texts = [f.read_text(encoding="utf-8") for f in sorted(Path(data).glob("*.yaml"))]
        t = time.perf_counter()
        py = [yaml.safe_load(x) for x in texts]
        out["yaml_safe_load_s"] = time.perf_counter() - t
        if out["libyaml_available"]:
            t = time.perf_counter()
            c = [yaml.load(x, Loader=yaml.CSafeLoader) for x in texts]
            out["yaml_csafe_load_s"] = time.perf_counter() - t
            out["yaml_same_result"] = c == py
        out["top"] = sorted(((v[3], f"{Path(k[0]).name}:{k[1]}({k[2]})") for k, v in st.stats.items()
                             if "/evidence/" in k[0]), reverse=True)[:8]

    out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_child(spec: dict, timeout: float) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec['task']} failed:\n{proc.stderr[-2000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_wall_s"] = time.perf_counter() - t
    return res


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--scales", default="1,10,100", help="store sizes for load without sources (default 1,10,100)")
    ap.add_argument("--source-scales", default="1,10", help="store sizes for load with sources (default 1,10)")
    ap.add_argument("--reconstruct-scales", default="1,10", help="store sizes for reconstruction (default 1,10)")
    ap.add_argument("--trace-scales", default="1,10", help="store sizes for tracemalloc peaks (default 1,10)")
    ap.add_argument("--processes", type=int, default=3,
                    help="fresh processes per measurement at scale 1 (default 3; 1 above scale 10)")
    ap.add_argument("--repeats", type=int, default=4, help="loads per process (first + later; default 4)")
    ap.add_argument("--sources", default=str(DEFAULT_SOURCES), help="seed texts (default ../shared/seeds)")
    ap.add_argument("--timeout", type=float, default=240, help="per child process, seconds")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so that `finally` removes the temp stores
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0

    ints = lambda s: [int(x) for x in s.split(",") if x.strip()]
    scales, src_scales, rec_scales, trace_scales = (ints(args.scales), ints(args.source_scales),
                                                    ints(args.reconstruct_scales), ints(args.trace_scales))
    sources = args.sources if Path(args.sources).is_dir() else None
    info = machine()
    t_script = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="hcc_store_scaling_"))
    data: dict = {"machine": info, "args": vars(args), "sources": sources}
    try:
        dirs = {}
        for s in sorted(set(scales + src_scales + rec_scales + trace_scales)):
            dirs[s] = DATA_DIR if s == 1 else make_synthetic(s, tmp / f"x{s}")
        n_proc = lambda s: args.processes if s == 1 else 1
        reps = lambda s: args.repeats if s == 1 else (3 if s <= 10 else 1)

        loads: dict[tuple[str, int], list[dict]] = {}
        for with_src, sc_list in ((False, scales), (True, src_scales)):
            if with_src and not sources:
                continue
            for s in sc_list:
                key = ("sources" if with_src else "no sources", s)
                loads[key] = [run_child({"task": "load", "data": str(dirs[s]), "sources": sources if with_src else None,
                                         "repeats": reps(s)}, args.timeout) for _ in range(n_proc(s))]
                r = loads[key]
                print(f"  load {key[0]:>10}, {s:>3}x: first {median([x['first_s'] for x in r]):.3f} s, later "
                      f"{fmt(median([t for x in r for t in x['later_s']]), '{:.3f}')} s, "
                      f"{r[0]['rows']['studies']} studies, {r[0]['problems']} problems, "
                      f"max RSS {r[0]['maxrss_mib']:.0f} MiB", flush=True)
        traces = {}
        for s in trace_scales:
            traces[s] = run_child({"task": "load", "data": str(dirs[s]), "sources": sources, "trace": True},
                                  args.timeout)
            print(f"  tracemalloc {s}x: peak {traces[s]['traced_peak_mib']:.1f} MiB", flush=True)
        recs = {}
        for s in rec_scales:
            recs[s] = [run_child({"task": "reconstruct", "data": str(dirs[s]), "sources": sources,
                                  "repeats": 3 if s == 1 else 1}, args.timeout) for _ in range(n_proc(s))]
            r = recs[s][0]
            if "missing" in r:
                print("  reconstruct:", r["missing"])
                break
            print(f"  reconstruct {s}x: {r['rounds'][0]['rebuilt']} curves of {r['rounds'][0]['arms']} arm inputs, "
                  f"inputs {r['rounds'][0]['inputs_s']:.3f} s + rebuild {r['rounds'][0]['rebuild_s']:.3f} s "
                  f"(first), whole first load + reconstruct {r['first_total_s']:.3f} s", flush=True)
        prof = run_child({"task": "profile", "data": str(DATA_DIR), "sources": sources}, args.timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # ------------------------------------------------------------ checks of the generator
    base = loads.get(("no sources", 1), [{}])[0]
    gen_checks = []
    for (kind, s), r in loads.items():
        if s == 1 or not base:
            continue
        want = {t: base["rows"][t] * s for t in TABLES}
        ok = r[0]["rows"] == want and r[0]["problems"] == base["problems"] * s
        gen_checks.append(f"{s}x ({kind}): rows {'=' if r[0]['rows'] == want else '!='} {s} x real, problems "
                          f"{r[0]['problems']} (real x {s} = {base['problems'] * s}) -> {'ok' if ok else 'CHECK'}")

    # ------------------------------------------------------------ report
    load_rows = []
    for (kind, s), r in loads.items():
        firsts = [x["first_s"] for x in r]
        later = [t for x in r for t in x["later_s"]]
        cpu_all = [x["first_cpu_s"] for x in r] + [t for x in r for t in x["later_cpu_s"]]
        b = loads.get((kind, 1))
        per_x = (median(firsts) / median([x["first_s"] for x in b]) / s) if b else None
        load_rows.append([kind, f"{s}x", r[0]["files"], r[0]["rows"]["studies"], sum(r[0]["rows"].values()),
                          spread(firsts, "{:.3f}"), spread(later, "{:.3f}"), spread(cpu_all, "{:.3f}"), fmt(per_x),
                          fmt(1000 * median(later or firsts) / r[0]["rows"]["studies"], "{:.1f}"),
                          f"{median([x['maxrss_mib'] for x in r]):.0f}",
                          fmt(traces[s]["traced_peak_mib"], "{:.1f}") if s in traces and kind == "sources" else "",
                          r[0]["problems"]])
    slope_lines = []
    for kind in ("no sources", "sources"):
        pts = [(s, median([x["first_cpu_s"] for x in r] + [t for x in r for t in x["later_cpu_s"]]))
               for (k, s), r in loads.items() if k == kind]
        if len(pts) >= 2:
            xs, ys = [math.log(s) for s, _ in pts], [math.log(t) for _, t in pts]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            slope_lines.append(f"- {kind}: time ~ size^{slope:.2f} over {', '.join(f'{s}x' for s, _ in pts)} "
                               f"(1.00 = linear)")
    rec_rows, verdict = [], []
    for s, rs in recs.items():
        if "missing" in rs[0]:
            continue
        first = [x["rounds"][0] for x in rs]
        later = [rd for x in rs for rd in x["rounds"][1:]]
        rec_rows.append([f"{s}x", first[0]["arms"], first[0]["rebuilt"], first[0]["failed"],
                         spread([x["load_s"] for x in rs], "{:.3f}"),
                         spread([f["inputs_s"] for f in first], "{:.3f}"), spread([f["rebuild_s"] for f in first], "{:.3f}"),
                         spread([f["inputs_s"] + f["rebuild_s"] for f in later], "{:.3f}") if later else "",
                         spread([x["first_total_s"] for x in rs], "{:.3f}"),
                         fmt(median([m for f in first for m in f["per_arm_ms"]]), "{:.1f}"),
                         spread([f["inputs_cpu_s"] for f in first], "{:.3f}"),
                         spread([f["rebuild_cpu_s"] for f in first], "{:.3f}"),
                         f"{median([x['maxrss_mib'] for x in rs]):.0f}"])
        if s == 1:
            tot = median([x["first_total_s"] for x in rs])
            cpu = median([x["first_total_cpu_s"] for x in rs])
            verdict.append(f"- Real store, fresh process, load with sources + every curve rebuilt: {tot:.3f} s wall, "
                           f"{cpu:.3f} s CPU (target < {TARGET_S} s) -> {'MET' if min(tot, cpu) < TARGET_S else 'MISSED'}")
    if ("sources", 1) in loads and 1 in recs and "missing" not in recs[1][0]:
        later_load = median([t for x in loads[("sources", 1)] for t in x["later_s"]])
        later_rec = median([rd["inputs_s"] + rd["rebuild_s"] for x in recs[1] for rd in x["rounds"][1:]])
        if later_load is not None and later_rec is not None:
            tot = later_load + later_rec
            verdict.append(f"- Same, warm process (imports done; median later load {later_load:.3f} s + median later "
                           f"reconstruction {later_rec:.3f} s): {tot:.3f} s -> {'MET' if tot < TARGET_S else 'MISSED'}")
    import_s = median([x["import_s"] for r in loads.values() for x in r])
    stage_rows = [[k, f"{v:.3f}", f"{100 * v / prof['profile_total_s']:.0f}%"] for k, v in prof["stages"].items()]
    md = "\n\n".join([
        "# Evidence store: load, validate, reconstruct, scale (store_scaling.py)",
        f"{info['when']}, commit {info['git_commit']}{' + uncommitted changes' if info['working_tree_dirty'] else ''}, "
        f"{info['cpus']} CPUs; load average at start {info['loadavg_at_start']} (shared machine). Sources: {sources}. "
        f"Every figure from fresh processes: 'first' = the first load_store call in a process (what a new server "
        f"pays), 'later' = further calls in the same process. median (min-max). `import evidence` itself: "
        f"{import_s:.3f} s (median), not included below.",
        "## Load and validate", md_table(
            ["snippet check", "size", "files", "studies", "rows", "first load (s)", "later loads (s)",
             "CPU per load, all (s)",
             "first / (real x size)", "ms per study", "max RSS (MiB)", "tracemalloc peak (MiB)", "problems"],
            load_rows),
        "Growth (log-log slope of the median CPU seconds per load; CPU time, unlike wall time, hardly depends "
        "on what else the shared machine runs):\n" + ("\n".join(slope_lines) or "(one size only)"),
        "Generator check: " + ("; ".join(gen_checks) or "(no synthetic sizes)"),
        "## Reconstruct every arm (OS and PFS/TTP), with sources", md_table(
            ["size", "arm inputs", "rebuilt", "failed", "load (s)", "inputs, first (s)", "rebuild, first (s)",
             "inputs + rebuild, later (s)", "load + all, fresh process (s)", "ms per curve", "inputs CPU (s)",
             "rebuild CPU (s)", "max RSS (MiB)"],
            rec_rows) if rec_rows else "(views/survival_inputs.py not available)",
        "\n".join(verdict),
        "## Where one load (with sources) goes: cProfile, warm process",
        f"Profiled total {prof['profile_total_s']:.3f} s (cProfile inflates pure-Python code; read the shares). "
        f"libyaml C loader available: {prof['libyaml_available']} (load_store uses yaml.safe_load, the pure-Python "
        f"loader).",
        md_table(["stage", "cumulative (s)", "share"], stage_rows),
        (f"YAML parsing alone, the {len(list(DATA_DIR.glob('*.yaml')))} real files, no profiler: yaml.safe_load "
         f"{prof['yaml_safe_load_s']:.3f} s; yaml.load(Loader=yaml.CSafeLoader) {prof['yaml_csafe_load_s']:.3f} s "
         f"(identical result: {prof['yaml_same_result']})." if "yaml_csafe_load_s" in prof else ""),
        "Top evidence/ functions by cumulative time: " + "; ".join(f"{n} {t:.3f} s" for t, n in prof["top"]),
        f"Script wall time {time.perf_counter() - t_script:.0f} s.",
    ])
    data.update({"loads": {f"{k[0]}|{k[1]}": v for k, v in loads.items()}, "tracemalloc": traces,
                 "reconstruct": recs, "profile": prof, "generator_checks": gen_checks})
    print()
    print(md)
    p_md, p_json = write_results("store_scaling", md, data)
    print(f"\nwritten: {p_md} and {p_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
