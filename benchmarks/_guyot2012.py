"""Guyot et al. 2012 (BMC Med Res Methodol 12:9), written from the paper's description.

The reference point of the accuracy benchmark: the algorithm as published, with
the input cleaning the paper asks of the user (points sorted by time and made
non-increasing) and nothing more. Not used by the dashboard.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def guyot2012(t, s, risk_t, risk_n, total_events=None) -> pd.DataFrame:
    t = np.asarray(t, float)
    s = np.asarray(s, float)
    order = np.lexsort((-s, t))
    t, s = t[order], np.minimum.accumulate(np.clip(s[order], 0, 1))
    t, s = np.r_[0.0, t[t > 0]], np.r_[1.0, s[t > 0]]
    rt, rn = np.asarray(risk_t, float), np.asarray(risk_n, int)
    keep = rt <= t[-1]
    rt, rn = rt[keep], rn[keep]
    # every risk-table time becomes a point, so each interval starts with one
    for x in rt:
        if not np.isclose(t, x).any():
            j = np.searchsorted(t, x, side="right") - 1
            t, s = np.insert(t, j + 1, x), np.insert(s, j + 1, s[j])
    lower = [int(np.flatnonzero(np.isclose(t, x))[0]) for x in rt]
    upper = [lo - 1 for lo in lower[1:]] + [len(t) - 1]
    n_pts = len(t)
    d = np.zeros(n_pts, int)
    cen = np.zeros(n_pts, int)
    n_hat = np.zeros(n_pts + 1, int)
    n_hat[0] = rn[0]
    km_last, last_i = 1.0, 0
    censored_so_far = 0
    m = len(rt)

    def interval(i, ncens, n_start, km_start):
        lo, up = lower[i], upper[i]
        t_end = t[lower[i + 1]] if i + 1 < m else t[up]
        cen_i = np.zeros(up - lo + 1, int)
        if ncens > 0:
            ct = t[lo] + np.arange(1, ncens + 1) * (t_end - t[lo]) / (ncens + 1)
            idx = np.clip(np.searchsorted(t[lo:up + 1], ct, side="right") - 1, 0, up - lo)
            np.add.at(cen_i, idx, 1)
        d_i = np.zeros(up - lo + 1, int)
        nh, km = n_start, km_start
        for j in range(up - lo + 1):
            k = lo + j
            if k > 0 and km > 0 and nh > 0:
                d_i[j] = min(max(int(round(nh * (1 - s[k] / km))), 0), nh)
                if d_i[j]:
                    km *= 1 - d_i[j] / nh
            cen_i[j] = min(cen_i[j], nh - d_i[j])
            nh -= d_i[j] + cen_i[j]
        return d_i, cen_i, nh, km

    n_start, km = int(rn[0]), 1.0
    for i in range(m):
        lo, up = lower[i], upper[i]
        if i + 1 < m:
            ncens = int(round(n_start * s[lower[i + 1]] / max(s[lo], 1e-12) - rn[i + 1]))
            for _ in range(100):
                ncens = max(ncens, 0)
                res = interval(i, ncens, n_start, km)
                gap = res[2] - rn[i + 1]
                if gap == 0 or (gap < 0 and ncens == 0):
                    break
                ncens += gap
        else:
            if total_events is None:
                span = t[upper[m - 2]] - t[0] if m > 1 else 0.0
                rate = censored_so_far / span if span > 0 else 0.0
                ncens = min(int(round(rate * (t[up] - t[lo]))), n_start)
                res = interval(i, ncens, n_start, km)
            else:
                need = int(total_events) - int(d[:lo].sum())
                ncens = 0
                for _ in range(n_start + 1):
                    res = interval(i, ncens, n_start, km)
                    if res[0].sum() <= need or ncens >= n_start:
                        break
                    ncens += 1
        d_i, cen_i, n_end, km = res
        d[lo:up + 1], cen[lo:up + 1] = d_i, cen_i
        censored_so_far += int(cen_i.sum())
        n_start = n_end
    times, events = [], []
    for k in range(n_pts):
        times += [t[k]] * d[k]
        events += [1] * d[k]
        if cen[k]:
            nxt = t[k + 1] if k + 1 < n_pts else t[k]
            times += list(np.linspace(t[k], nxt, cen[k] + 2)[1:-1]) if nxt > t[k] else [t[k]] * cen[k]
            events += [0] * cen[k]
    rest = int(rn[0]) - len(times)
    times += [t[-1]] * max(rest, 0)
    events += [0] * max(rest, 0)
    return pd.DataFrame({"time": times[:int(rn[0])], "event": events[:int(rn[0])]})
