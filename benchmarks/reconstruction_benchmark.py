"""Reconstruction accuracy on real two-arm data, per digitisation style, noise level and input.

Eight two-arm datasets shipped with lifelines are turned into what a paper
prints: a digitised Kaplan-Meier curve in one of three click styles (one click
per step at its lower corner; both corners of every step; a dense trace as
automatic extraction gives), at three noise levels, a number-at-risk table,
the events, and a summary (median, three landmark rates, events, longest
follow-up, hazard ratio). Three engines rebuild the pair of arms from the same
simulated inputs (same seeds): a port of Guyot 2012 written from the paper,
the engine as it was before issue 12 (benchmarks/_reconstruct_before.py), and
today's (analysis.reconstruct). Errors against the real data: |log HR|, median,
RMST (months), mean |KM difference| (points); and a paired bootstrap 95% CI of
each engine's error minus today's.

    .venv/bin/python benchmarks/reconstruction_benchmark.py            # 10 replicates (~ minutes)
    .venv/bin/python benchmarks/reconstruction_benchmark.py --quick    # 3 replicates

Writes benchmarks/results/reconstruction_benchmark-<timestamp>.md and -latest.md.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import datetime
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter, datasets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import _reconstruct_before as before  # noqa: E402
from _guyot2012 import guyot2012  # noqa: E402
from analysis import reconstruct as today  # noqa: E402
from analysis.cox import cox_log_hr  # noqa: E402

DAYS_PER_MONTH = 365.25 / 12
# survival sd, time sd as a share of the axis, share of clicks lost
NOISE = {"exact": (0.0, 0.0, 0.0), "careful": (0.003, 0.002, 0.10), "rough": (0.005, 0.003, 0.10)}
STYLES = ("lower corners", "both corners", "dense trace")
TABLE_SCENARIOS = ("risk table + events", "risk table", "n + events")
SUMMARY_SCENARIOS = ("summary + HR", "summary")
GOALS = {"risk table + events": 0.02, "n + events": 0.035, "summary + HR": 0.03, "summary": 0.08}


def load_datasets() -> dict[str, pd.DataFrame]:
    """name -> frame (time in months, event, arm 0/1)."""
    out = {}
    g = datasets.load_gbsg2()
    out["gbsg2"] = pd.DataFrame({"time": g.time / DAYS_PER_MONTH, "event": g.cens, "arm": (g.horTh == "yes")})
    r = datasets.load_rossi()
    out["rossi"] = pd.DataFrame({"time": r.week * 7 / DAYS_PER_MONTH, "event": r.arrest, "arm": r.fin})
    lu = datasets.load_lung().dropna(subset=["time", "status", "sex"])
    out["lung"] = pd.DataFrame({"time": lu.time / DAYS_PER_MONTH, "event": lu.status == 1, "arm": lu.sex == 2})
    w = datasets.load_waltons()
    out["waltons"] = pd.DataFrame({"time": w["T"] / DAYS_PER_MONTH, "event": w.E, "arm": w.group == "miR-137"})
    k = datasets.load_kidney_transplant()
    out["kidney_transplant"] = pd.DataFrame({"time": k.time / DAYS_PER_MONTH, "event": k.death,
                                             "arm": (k.black_female + k.black_male + k.white_male) == 0})
    la = datasets.load_larynx()
    out["larynx"] = pd.DataFrame({"time": la.time * 12, "event": la.death, "arm": (la.Stage_III + la.Stage_IV) > 0})
    le = datasets.load_leukemia()
    out["leukemia"] = pd.DataFrame({"time": le.t * 7 / DAYS_PER_MONTH, "event": le.status, "arm": le.Rx})
    ly = datasets.load_lymphoma()
    out["lymphoma"] = pd.DataFrame({"time": ly.Time, "event": ly.Censor, "arm": ly.Stage_group == 2})
    for name, df in out.items():
        out[name] = df.astype({"time": float, "event": int, "arm": int}).reset_index(drop=True)
    return out


def km_steps(t, e):
    """Drop times and the survival after each, from the Kaplan-Meier estimate (numpy: thousands are needed)."""
    t = np.asarray(t, float)
    e = np.asarray(e, int)
    ut, d = np.unique(t[e == 1], return_counts=True)
    at_risk = len(t) - np.searchsorted(np.sort(t), ut, side="left")
    surv = np.cumprod(1.0 - d / at_risk)
    keep = ut > 0
    return ut[keep], surv[keep]


def step_value(times, levels, x):
    """Survival of the step function (1 before the first drop) at each x."""
    j = np.searchsorted(times, x, side="right") - 1
    return np.where(j >= 0, levels[np.clip(j, 0, None)], 1.0)


def digitise(t, e, style, noise, rng):
    dt, ds = km_steps(t, e)
    span = float(np.max(t))
    prev = np.r_[1.0, ds[:-1]]
    tail = (span, ds[-1] if len(ds) else 1.0)
    if style == "lower corners":
        x, y = dt, ds
    elif style == "both corners":
        x = np.repeat(dt, 2)
        y = np.column_stack([prev, ds]).ravel()
    else:   # an automatic trace: one point every 0.2% of the axis
        x = np.linspace(0, span, 501)[1:-1]
        y = step_value(dt, ds, x)
    sy, sx, lost = NOISE[noise]
    keep = rng.random(len(x)) >= lost
    x, y = x[keep], y[keep]
    x = x + rng.normal(0, sx * span, len(x))
    y = y + rng.normal(0, sy, len(y))
    x, y = np.r_[x, tail[0]], np.r_[y, tail[1]]
    return np.clip(x, 0, None), np.clip(y, 0, 1)


def nice_step(span):
    for step in (0.25, 0.5, 1, 2, 3, 6, 12, 24):
        if step >= span / 8:
            return float(step)
    return float(math.ceil(span / 8 / 12) * 12)


def risk_table(t):
    span = float(np.max(t))
    rt = np.arange(0, span, nice_step(span))
    return rt, np.array([int((t >= x).sum()) for x in rt])


def summary_of(t, e, rng):
    """What a paper prints: median (0.1 month), three rates (0.1%) at varying times, events, longest follow-up."""
    kmf = KaplanMeierFitter().fit(t, e)
    span = float(np.max(t))
    times = sorted({round(x * 2) / 2 for x in rng.uniform(0.1, 0.9, 3) * span} - {0.0})
    anchors = [(x, round(float(kmf.survival_function_at_times(x).iloc[0]), 3)) for x in times]
    med = float(kmf.median_survival_time_)
    if math.isfinite(med):
        med = round(med, 1)
        anchors = [(x, s) for x, s in anchors if (x < med and s > 0.5) or (x > med and s < 0.5)]
        anchors.append((med, 0.5))
    return {"n": len(t), "anchors": anchors, "events": int(np.sum(e)), "max_followup": span}


# ---------------------------------------------------------------------------- metrics

def metrics(rec, truth, tau):
    la = cox_log_hr(rec[0].time, rec[0].event, rec[1].time, rec[1].event)
    out = {"log_hr": abs(la - truth["log_hr"])}
    med, rm, dk = [], [], []
    grid = np.linspace(0, tau, 400)
    for arm in (0, 1):
        r = rec[arm]
        dt, ds = km_steps(r.time.values, r.event.values)
        s_rec = step_value(dt, ds, grid)
        s_true = truth["km"][arm](grid)
        m_rec = float(dt[np.argmax(ds <= 0.5)]) if (ds <= 0.5).any() else math.inf
        m_true = truth["median"][arm]
        if math.isfinite(m_rec) and math.isfinite(m_true):
            med.append(abs(m_rec - m_true))
        elif math.isfinite(m_rec) != math.isfinite(m_true):
            med.append(np.nan)
        # exact area under each step function up to tau
        rm.append(abs(_area(dt, ds, tau) - truth["rmst"][arm]))
        dk.append(100 * np.mean(np.abs(s_rec - s_true)))
    out["median"] = float(np.nanmean(med)) if med and not np.all(np.isnan(med)) else np.nan
    out["median_missed"] = int(np.sum(np.isnan(med)))
    out["rmst"] = float(np.mean(rm))
    out["km"] = float(np.mean(dk))
    return out


def _area(dt, ds, tau):
    edges = np.r_[0.0, dt[dt < tau], tau]
    levels = np.r_[1.0, ds[dt < tau]]
    return float(np.sum(levels * np.diff(edges)))


# ---------------------------------------------------------------------------- the run

_DATA: dict = {}


def _init():
    for name, df in load_datasets().items():
        arms = {a: df[df.arm == a] for a in (0, 1)}
        tau = min(float(arms[0].time.max()), float(arms[1].time.max()))
        truth = {"log_hr": cox_log_hr(arms[0].time, arms[0].event, arms[1].time, arms[1].event),
                 "km": {}, "median": {}, "rmst": {}}
        for a in (0, 1):
            dt, ds = km_steps(arms[a].time.values, arms[a].event.values)
            truth["km"][a] = (lambda x, dt=dt, ds=ds: step_value(dt, ds, x))
            truth["median"][a] = float(dt[np.argmax(ds <= 0.5)]) if (ds <= 0.5).any() else math.inf
            truth["rmst"][a] = _area(dt, ds, tau)
        _DATA[name] = (arms, truth, tau)


def run_digitised(task):
    name, style, noise, rep = task
    arms, truth, tau = _DATA[name]
    rng = np.random.default_rng([rep, STYLES.index(style), list(NOISE).index(noise), sorted(_DATA).index(name)])
    inputs = {}
    for a in (0, 1):
        d = arms[a]
        x, y = digitise(d.time.values, d.event.values, style, noise, rng)
        rt, rn = risk_table(d.time.values)
        inputs[a] = (x, y, rt, rn, int(d.event.sum()), len(d))
    rows = []
    for sc in TABLE_SCENARIOS:
        kw = {}
        for a in (0, 1):
            x, y, rt, rn, ev, n = inputs[a]
            if sc == "risk table + events":
                kw[a] = dict(t=x, s=y, risk_times=rt, n_risk=rn, total_events=ev)
            elif sc == "risk table":
                kw[a] = dict(t=x, s=y, risk_times=rt, n_risk=rn, total_events=None)
            else:
                kw[a] = dict(t=x, s=y, risk_times=[0], n_risk=[n], total_events=ev)
        for engine in ("Guyot 2012 port", "before", "today"):
            if engine == "Guyot 2012 port":
                rec = (guyot2012(*kw[0].values()), guyot2012(*kw[1].values()))
            elif engine == "before":
                rec = (before.guyot(*kw[0].values()), before.guyot(*kw[1].values()))
            else:
                rec = today.guyot_pair(kw[0], kw[1])
            rows.append({"dataset": name, "style": style, "noise": noise, "replicate": rep, "scenario": sc,
                         "engine": engine, **metrics(rec, truth, tau)})
    return rows


def run_summary(task):
    name, rep = task
    arms, truth, tau = _DATA[name]
    rng = np.random.default_rng([rep, 99, sorted(_DATA).index(name)])
    summ = {a: summary_of(arms[a].time.values, arms[a].event.values, rng) for a in (0, 1)}
    hr = round(math.exp(truth["log_hr"]), 2)
    rows = []
    for sc in SUMMARY_SCENARIOS:
        for engine in ("before", "today"):
            a, b = summ[0], summ[1]
            if engine == "before":
                rec = (before.from_summary(a["n"], a["anchors"], a["events"], a["max_followup"]),
                       before.from_summary(b["n"], b["anchors"], b["events"], b["max_followup"]))
            else:
                rec = today.from_summary_pair(a, b, hr=hr if sc == "summary + HR" else None)
            rows.append({"dataset": name, "style": "-", "noise": "-", "replicate": rep, "scenario": sc,
                         "engine": engine, **metrics(rec, truth, tau)})
    return rows


def paired_ci(diff: np.ndarray, rng, n_boot=2000):
    idx = rng.integers(0, len(diff), (n_boot, len(diff)))
    means = diff[idx].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def report(res: pd.DataFrame, took: float, reps: int) -> str:
    rng = np.random.default_rng(7)
    lines = [f"# Reconstruction benchmark ({reps} replicates; exact noise run once; ran in {took:.0f} s "
             f"on {os.cpu_count()} cores)", "",
             "Mean errors against the real data over 8 datasets x replicates. log HR: |log HR rebuilt - log HR "
             "true|; median and RMST (to the shorter arm's follow-up) in months, mean over arms; KM: mean |KM "
             "rebuilt - KM true| in points. 'vs X' = mean of (X's |log HR error| - today's) with its paired "
             "bootstrap 95% CI, and the share of X's error removed.", "",
             "| input | style | noise | engine | log HR | median | RMST | KM | vs Guyot 2012 port | vs before |",
             "|---|---|---|---|---:|---:|---:|---:|---|---|"]
    keys = ["dataset", "replicate"]
    for (sc, style, noise), g in res.groupby(["scenario", "style", "noise"], sort=False):
        today_g = g[g.engine == "today"].set_index(keys)
        for engine, e in g.groupby("engine", sort=False):
            cmp = {}
            if engine == "today":
                for other in ("Guyot 2012 port", "before"):
                    o = g[g.engine == other].set_index(keys)
                    if len(o):
                        diff = (o.log_hr - today_g.log_hr.reindex(o.index)).values
                        m, lo, hi = paired_ci(diff, rng)
                        share = 100 * m / o.log_hr.mean() if o.log_hr.mean() > 0 else 0.0
                        cmp[other] = f"{m:+.4f} ({lo:+.4f} to {hi:+.4f}); {share:.0f}%"
            med = "n/a" if pd.isna(e["median"].mean()) else f"{e['median'].mean():.3f}"
            if e.median_missed.sum():
                med += f" ({int(e.median_missed.sum())} missed)"
            lines.append(f"| {sc} | {style} | {noise} | {engine} | {e.log_hr.mean():.4f} | {med} | "
                         f"{e.rmst.mean():.3f} | {e.km.mean():.2f} | {cmp.get('Guyot 2012 port', '')} | "
                         f"{cmp.get('before', '')} |")
    lines += ["", "## Goals (careful noise, today's engine)", "", "| goal | measured | met |", "|---|---:|---|"]
    t = res[(res.engine == "today")]
    car = t[t.noise.isin(["careful", "-"])]
    for sc, lim in GOALS.items():
        if sc in TABLE_SCENARIOS:
            for style in STYLES:
                v = car[(car.scenario == sc) & (car["style"] == style)].log_hr.mean()
                lines.append(f"| {sc}, {style}: log HR <= {lim} | {v:.4f} | {'yes' if v <= lim else '**no**'} |")
        else:
            v = car[car.scenario == sc].log_hr.mean()
            lines.append(f"| {sc}: log HR <= {lim} | {v:.4f} | {'yes' if v <= lim else '**no**'} |")
    port = res[(res.engine == "Guyot 2012 port") & (res.noise == "careful") & (res.scenario == "risk table + events")]
    for style in STYLES:
        p = port[port["style"] == style].log_hr.mean()
        v = car[(car.scenario == "risk table + events") & (car["style"] == style)].log_hr.mean()
        lines.append(f"| risk table + events, {style}: >= 40% below the port ({p:.4f}) | {100 * (1 - v / p):.0f}% "
                     f"| {'yes' if v <= 0.6 * p else '**no**'} |")
    tab = car[car.scenario.isin(["risk table + events", "risk table"])]
    for col, lim, what in (("median", 0.5, "median error (months)"), ("rmst", 0.1, "RMST error (months)")):
        for sc in ("risk table + events", "risk table"):
            v = tab[tab.scenario == sc][col].mean()
            lines.append(f"| {sc}: {what} <= {lim} | {v:.3f} | {'yes' if v <= lim else '**no**'} |")
    per = res[(res.engine == "today") & res.noise.isin(["careful", "-"])].groupby(["scenario", "dataset"]).log_hr.mean()
    wide = per.unstack(0)
    lines += ["", "## Today's engine per dataset (careful noise, all styles), mean |log HR error|", "",
              "| dataset | " + " | ".join(wide.columns) + " |", "|---|" + "---:|" * len(wide.columns)]
    for name, r in wide.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{v:.4f}" for v in r.values) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 replicates")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated dataset names")
    ap.add_argument("--styles", default="", help="comma-separated click styles (default: all three)")
    ap.add_argument("--no-summary", action="store_true", help="skip the summary scenarios")
    args = ap.parse_args(argv)
    reps = 3 if args.quick else args.replicates
    t0 = time.time()
    _init()
    names = [n for n in _DATA if not args.only or n in args.only.split(",")]
    styles = [st for st in STYLES if not args.styles or st in args.styles.split(",")]
    tasks = [(n, st, no, r) for n in names for st in styles for no in NOISE
             for r in range(1 if no == "exact" else reps)]
    stasks = [] if args.no_summary else [(n, r) for n in names for r in range(reps)]
    with Pool(args.jobs, initializer=_init) as pool:
        rows = [x for part in pool.imap_unordered(run_digitised, tasks, chunksize=2) for x in part]
        rows += [x for part in pool.imap_unordered(run_summary, stasks) for x in part]
    res = pd.DataFrame(rows)
    order = {s: i for i, s in enumerate(TABLE_SCENARIOS + SUMMARY_SCENARIOS)}
    res = res.sort_values(["scenario", "style", "noise", "engine", "dataset", "replicate"],
                          key=lambda c: c.map(order) if c.name == "scenario" else c).reset_index(drop=True)
    took = time.time() - t0
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now():%Y%m%d_%H%M%S}"
    res.to_csv(out / f"reconstruction_benchmark-{stamp}.csv", index=False)
    text = report(res, took, reps)
    print(text)
    (out / f"reconstruction_benchmark-{stamp}.md").write_text(text + "\n", encoding="utf-8")
    (out / "reconstruction_benchmark-latest.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
