"""Shared helpers of the benchmark scripts: the app server, /proc readings,
statistics, tables and result files. Not a test; imported by the scripts only."""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
_CLK_TCK = os.sysconf("SC_CLK_TCK")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.export import CHROMIUM, CHROMIUM_ARGS  # noqa: E402,F401  (shared with the browser tests)


# ---------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`python -m streamlit run app.py` on a free 127.0.0.1 port, stopped by its own pid."""

    def __init__(self, port: int | None = None, extra: list[str] | None = None, log: Path | None = None,
                 script: str = "app.py", env: dict | None = None, cwd: Path | None = None):
        self.script = script
        self.cwd = cwd or ROOT   # Streamlit reads .streamlit/config.toml from here
        self.env = env or {}
        self.port = port or free_port()
        self.extra = extra or []
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 90) -> "AppServer":
        env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **self.env)
        out = open(self.log, "w") if self.log else subprocess.DEVNULL
        t0 = time.perf_counter()
        # sys.executable: the .venv python these scripts run with
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", self.script, "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1", *self.extra],
            cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app server exited with {self.proc.returncode} (log: {self.log})")
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    self.startup_s = time.perf_counter() - t0
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the app server did not answer /_stcore/health within {timeout} s")

    def stop(self) -> None:
        """SIGTERM to the process group we created (its id is the server's pid), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- /proc readings

def rss_kib(pid: int) -> int:
    """VmRSS of a process, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict:
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1])
    commit = dirty = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                                    text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {"when": _dt.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "mem_total_gib": round(mem / 2**20, 1), "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in loadavg()], "git_commit": commit,
            "working_tree_dirty": dirty}


# ---------------------------------------------------------------- statistics and output

def pct(values, q: float) -> float | None:
    """Percentile with linear interpolation (q in 0..100); None for no values."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    if len(v) == 1:
        return v[0]
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def median(values) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def spread(values, fmt: str = "{:.2f}") -> str:
    """'median (min-max)' of several runs."""
    v = [x for x in values if x is not None]
    if not v:
        return "n/a"
    if len(v) == 1:
        return fmt.format(v[0])
    return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"


def fmt(x, spec: str = "{:.2f}", none: str = "n/a") -> str:
    return none if x is None else spec.format(x)


def md_table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def write_results(name: str, markdown: str, data: dict) -> tuple[Path, Path]:
    """benchmarks/results/<name>-<timestamp>.md/.json and <name>-latest.md/.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    paths = []
    for suffix, text in ((".md", markdown), (".json", json.dumps(data, indent=2, default=str))):
        for stem in (f"{name}-{stamp}", f"{name}-latest"):
            p = RESULTS / f"{stem}{suffix}"
            p.write_text(text, encoding="utf-8")
        paths.append(RESULTS / f"{name}-{stamp}{suffix}")
    return paths[0], paths[1]
