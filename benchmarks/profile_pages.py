"""Where a page's script run spends its time (one visitor, warm process).

load_protocol.py shows that every page load costs the server ~0.6-1 CPU second and
that concurrent runs share one core (the GIL). This script says where that time
goes: it runs each page through Streamlit's AppTest (app.py's navigation, the
page's query string), twice to warm caches, then times a few runs and profiles
one with cProfile (inside the script thread), and lists the functions of this
repository (components/, evidence/, pages/) and the Streamlit element calls with
the most cumulative time.

    .venv/bin/python benchmarks/profile_pages.py
    .venv/bin/python benchmarks/profile_pages.py --pages forest?endpoint=OS --top 15
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, fmt, machine, md_table, median, write_results  # noqa: E402

DEFAULT_PAGES = ["", "evidence?studies=sun2022", "forest?endpoint=OS", "adverse-events?grade=3-4",
                 "survival?endpoint=OS"]
OWN = ("/components/", "/evidence/", "/pages/")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", default=",".join(DEFAULT_PAGES))
    ap.add_argument("--runs", type=int, default=3, help="timed runs per page, after 2 warm-up runs")
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()

    from streamlit.testing.v1 import AppTest
    from streamlit.runtime.scriptrunner import script_runner as sr

    prof = {"p": None, "t": None}
    original = sr.ScriptRunner._run_script

    def timed(self, *a, **k):          # time (and optionally profile) the script thread only
        t0 = time.perf_counter()
        if prof["p"] is not None:
            prof["p"].enable()
        try:
            return original(self, *a, **k)
        finally:
            if prof["p"] is not None:
                prof["p"].disable()
            prof["t"] = time.perf_counter() - t0

    sr.ScriptRunner._run_script = timed

    # app.py's navigation: url path -> page file
    nav = {"": None}
    for line in (ROOT / "app.py").read_text().splitlines():
        if "st.Page(" in line and "url_path=" in line:
            file = line.split('st.Page("', 1)[1].split('"', 1)[0]
            url = line.split('url_path="', 1)[1].split('"', 1)[0]
            nav[url] = file

    def run(page: str, query: str):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        for k, v in parse_qsl(query):
            at.query_params[k] = v
        if nav.get(page):
            at.switch_page(nav[page])
        at.run()
        return at

    info = machine()
    results, sections = [], []
    for spec in args.pages.split(","):
        page, _, query = spec.partition("?")
        if page and page not in nav:
            sections.append(f"### {spec}\n\nnot in app.py's navigation: skipped")
            continue
        run(page, query)
        run(page, query)
        times = []
        for _ in range(args.runs):
            at = run(page, query)
            times.append(prof["t"])
        prof["p"] = cProfile.Profile()
        at = run(page, query)
        p, prof["p"] = prof["p"], None
        st = pstats.Stats(p)
        total = prof["t"]
        own = sorted(((v[3], f"{Path(k[0]).parent.name}/{Path(k[0]).name}:{k[2]}") for k, v in st.stats.items()
                      if any(o in k[0] for o in OWN) and not k[0].endswith(("app.py",)) and k[2] != "<module>"),
                     reverse=True)
        st_calls = sorted(((v[3], f"streamlit {Path(k[0]).name}:{k[2]}") for k, v in st.stats.items()
                           if "/streamlit/elements/" in k[0] and k[2] in (
                               "dataframe", "plotly_chart", "multiselect", "selectbox", "radio", "download_button",
                               "marshall", "_marshall", "data_editor", "tabs")), reverse=True)
        results.append({"page": spec, "run_s": median(times), "runs_s": times, "profiled_s": total,
                        "exceptions": len(at.exception), "own": own[:args.top], "streamlit": st_calls[:6]})
        print(f"{spec or '(default)'}: script {median(times):.3f} s (runs {', '.join(f'{t:.2f}' for t in times)}); "
              f"profiled {total:.3f} s; exceptions {len(at.exception)}", flush=True)
        rows = [[f"{t:.3f}", f"{100 * t / total:.0f}%", name] for t, name in own[:args.top]]
        rows += [[f"{t:.3f}", f"{100 * t / total:.0f}%", name] for t, name in st_calls[:6]]
        sections.append(f"### {spec or '(default page)'}: {median(times):.3f} s per run (profiled {total:.3f} s)\n\n"
                        + md_table(["cumulative (s, profiled)", "share", "function"], rows))
    md = "\n\n".join([
        "# Where a page's script run goes (profile_pages.py)",
        f"{info['when']}, commit {info['git_commit']}, load average at start {info['loadavg_at_start']}. "
        f"AppTest runs of app.py's navigation in one warm process; the time is the script thread's "
        f"ScriptRunner._run_script (median of {args.runs}), the profile one further run. Cumulative times overlap "
        f"(a function's time includes its callees); cProfile inflates pure-Python code.",
        md_table(["page", "script run (s)", "exceptions"],
                 [[r["page"] or "(default)", fmt(r["run_s"], "{:.3f}"), r["exceptions"]] for r in results]),
        *sections,
    ])
    print()
    print(md)
    p_md, p_json = write_results("profile_pages", md, {"machine": info, "args": vars(args), "pages": results})
    print(f"\nwritten: {p_md} and {p_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
