"""Rebuild pseudo patient-level survival data from what papers publish.

Two routes, both returning one row per (pseudo-)patient with ``time`` in
months and ``event`` (1 = death or progression, 0 = censored):

- ``guyot``: from a digitised Kaplan-Meier curve and its number-at-risk table,
  the algorithm of Guyot et al. 2012 (BMC Med Res Methodol 12:9).
- ``from_summary``: from the numbers printed in the text (median, landmark
  rates, number of events, follow-up) when no figure is available, which is
  the case for every paper in the store today.

The output is a statistical device to draw and compare curves. It is not the
trial's data and must never be presented as such. Pure functions only: no
files, no streamlit.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis.clicks import clean_outline
from analysis.cox import cox_log_hr

# How far a digitised survival value may overshoot 1 (a click above the top of
# the axis) before we refuse it: beyond this it is a percent scale or a mistake.
_SURVIVAL_OVERSHOOT = 0.05
# The adjustment loop of Guyot converges in a handful of passes; an oscillating
# interval is stopped here and the closest pass is kept.
_MAX_PASSES = 100
# A landmark rate that the pseudo-data should keep (survival at t stays at the
# value before the step) gets its event this long after t, in months.
_AFTER_LANDMARK = 1e-3
# A drop is "impossible" for the number at risk when n x drop is this far from
# a whole number of deaths, and "explained" when within _DROP_MATCH of one.
_DROP_MISMATCH = 0.25
_DROP_MATCH = 0.1
# ... and only for small risk sets, where a drop is large enough to be read
# through digitising noise (one death among 20 is a 5% step).
_SMALL_RISK_SET = 20


def _ipd(times: Iterable[float], events: Iterable[int]) -> pd.DataFrame:
    df = pd.DataFrame({"time": np.asarray(list(times), dtype=float),
                       "event": np.asarray(list(events), dtype=int)})
    return df.sort_values(["time", "event"], ascending=[True, False], kind="mergesort").reset_index(drop=True)


def _as_array(values, what: str) -> np.ndarray:
    try:
        arr = np.asarray(list(values), dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a list of numbers ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a flat list of numbers")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} has a missing or infinite value at position {i + 1}")
    return arr


# --------------------------------------------------------------------------- #
# Guyot et al. 2012
# --------------------------------------------------------------------------- #

def _columns(times, values, what_t: str, what_v: str, name: str, values_word: str, empty: str):
    """Two columns of numbers of one table, as arrays of equal, non-zero length."""
    t, v = _as_array(times, what_t), _as_array(values, what_v)
    if len(t) != len(v):
        raise ValueError(f"{name} has {len(t)} times but {len(v)} {values_word}")
    if len(t) == 0:
        raise ValueError(empty)
    return t, v


def clean_curve(curve_t, curve_s) -> tuple[np.ndarray, np.ndarray]:
    """Digitised points as a usable Kaplan-Meier outline.

    Sorted by time, survival clipped to [0, 1] and forced non-increasing
    (digitising noise makes a curve go up by a pixel), one point per time (the
    lowest: the value after the drop), starting at (0, 1).
    """
    t, s = _columns(curve_t, curve_s, "curve times", "curve survival", "the curve",
                    "survival values", "the curve has no points")
    span = max(float(t.max()), 1e-9)
    if t.min() < -0.01 * span:
        raise ValueError(f"the curve has a negative time ({t.min():g}); times are counted from the start of treatment")
    if s.max() > 1 + _SURVIVAL_OVERSHOOT or s.min() < -_SURVIVAL_OVERSHOOT:
        hint = " (this looks like a 0-100 percent scale: divide by 100)" if s.max() > 1.5 else ""
        raise ValueError(f"curve survival must be a probability between 0 and 1, got {s.min():g} to {s.max():g}{hint}")
    t = np.clip(t, 0.0, None)
    s = np.clip(s, 0.0, 1.0)
    order = np.lexsort((-s, t))          # by time, then highest survival first
    t, s = t[order], s[order]
    s = np.minimum.accumulate(s)
    # keep the last (lowest) point of each time
    keep = np.r_[t[1:] != t[:-1], True]
    t, s = t[keep], s[keep]
    # time 0 is always (0, 1): a drop at time 0 is a digitising slip, not deaths at randomisation
    s, t = s[t > 0], t[t > 0]
    t = np.r_[0.0, t]
    s = np.r_[1.0, s]
    return t, s


def clean_risk_table(risk_t, risk_n) -> tuple[np.ndarray, np.ndarray]:
    rt, rn = _columns(risk_t, risk_n, "risk table times", "risk table numbers at risk", "the risk table",
                      "numbers at risk", "the risk table is empty: at least the number at risk at time 0 is needed")
    if (rt < 0).any():
        raise ValueError(f"the risk table has a negative time ({rt.min():g})")
    if (rn < 0).any():
        raise ValueError(f"the risk table has a negative number at risk ({rn.min():g})")
    if not np.allclose(rn, np.round(rn)):
        raise ValueError("numbers at risk must be whole numbers of patients")
    rn = np.round(rn).astype(int)
    if np.any(np.diff(rt) <= 0):
        i = int(np.flatnonzero(np.diff(rt) <= 0)[0])
        raise ValueError(f"risk table times must increase: {rt[i]:g} is followed by {rt[i + 1]:g}")
    if rt[0] != 0:
        raise ValueError(f"the risk table must start at time 0 (the number treated); its first time is {rt[0]:g}")
    if rn[0] < 1:
        raise ValueError("the number at risk at time 0 must be at least 1")
    up = np.flatnonzero(np.diff(rn) > 0)
    if len(up):
        i = int(up[0])
        raise ValueError(f"numbers at risk cannot increase: {rn[i]} at {rt[i]:g} then {rn[i + 1]} at {rt[i + 1]:g}")
    return rt, rn


def _step_value(t: np.ndarray, s: np.ndarray, at: float) -> float:
    """Survival of the step curve at a time (the value of the last point at or before it)."""
    return float(s[np.searchsorted(t, at, side="right") - 1])


def _interval_pass(T, S, lo, up, t_end, ncensor, n_start, km_in, first_interval, theta=0.0):
    """One pass of Guyot's step over one interval of the risk table.

    Censorings are spread over [T[lo], t_end) and recomputed from zero on every
    pass (the original R code could keep counts from an earlier pass, which
    shifted patients between intervals). theta is the censoring-timing
    parameter shared by every interval: at 0 the censorings are evenly spaced;
    above 0 they come later in each interval (more patients at risk at each
    drop, so more deaths), below 0 earlier.

    One refinement: where few patients remain, the size of a drop tells how
    many were at risk (one death among 3 is a drop of a third). When the
    censorings leave a number at risk that cannot produce the digitised drop
    (n x drop far from a whole number), censorings planned for later in the
    same interval are moved before the drop until it can. The interval's total
    is unchanged, so the risk table is still met.

    Returns events per point, censoring times per point, the number left at
    risk, the KM at the end and the summed distance between the rebuilt KM and
    the digitised points (to choose between passes that fit the table equally).
    """
    size = up - lo + 1
    d = [0] * size
    cen_times: list[list[float]] = [[] for _ in range(size)]
    if ncensor > 0 and t_end > T[lo]:
        u = np.arange(1, ncensor + 1) / (ncensor + 1)
        ct = T[lo] + (u ** math.exp(-theta)) * (t_end - T[lo])
        idx = np.clip(np.searchsorted(T[lo:up + 1], ct, side="right") - 1, 0, size - 1)
        for c, j in zip(ct.tolist(), idx.tolist()):
            cen_times[j].append(c)
    n_hat = int(n_start)
    km = float(km_in)
    Sl = S[lo:up + 1]
    misfit = 0.0
    for j in range(size):
        dk = 0
        if not (first_interval and j == 0) and km > 0 and n_hat > 0:
            f = 1.0 - Sl[j] / km
            exact = n_hat * f
            if (j > 0 and f > 0 and n_hat <= _SMALL_RISK_SET
                    and abs(exact - round(exact)) > _DROP_MISMATCH):
                later = sum(len(c) for c in cen_times[j:])
                fits = [(abs((n_hat - k) * f - round((n_hat - k) * f)), k)
                        for k in range(1, min(later, n_hat - 1) + 1) if round((n_hat - k) * f) >= 1]
                if fits and min(fits)[0] <= _DROP_MATCH:
                    shift = min(fits)[1]
                    _pull_censorings(cen_times, j, shift, T[lo + j - 1], T[lo + j])
                    n_hat -= shift
            dk = min(max(int(round(n_hat * f)), 0), n_hat)
        if dk > 0:
            km = km * (1.0 - dk / n_hat)
        ck = min(len(cen_times[j]), n_hat - dk)
        del cen_times[j][ck:]
        d[j] = dk
        n_hat -= dk + ck
        misfit += abs(km - Sl[j])
    return np.array(d, dtype=int), cen_times, n_hat, km, misfit


def _pull_censorings(cen_times, j, count, t_prev, t_here):
    """Move the next `count` censorings planned after point j's drop to just before it."""
    moved = 0
    for later in cen_times[j:]:
        while later and moved < count:
            later.pop(0)
            moved += 1
        if moved == count:
            break
    # they land between the previous point and this one, before the drop
    cen_times[j - 1].extend(t_prev + (t_here - t_prev) * (i + 1) / (count + 1) for i in range(count))


def _whole_events(total_events, n0: int) -> int | None:
    if total_events is None:
        return None
    if isinstance(total_events, float) and not total_events.is_integer():
        raise ValueError(f"total_events must be a whole number, got {total_events}")
    total_events = int(total_events)
    if not 0 <= total_events <= n0:
        raise ValueError(f"total_events ({total_events}) must be between 0 and the number at risk at time 0 ({n0})")
    return total_events


class _Outline:
    """A cleaned digitised curve aligned with its risk table, ready for inversion."""

    def __init__(self, t, s, risk_times, n_risk, total_events=None):
        t = _as_array(t, "curve times")
        s = _as_array(s, "curve survival")
        clean_curve(t, s)                       # the same checks and messages as before
        self.T, self.S, self.style = clean_outline(np.clip(t, 0.0, None), np.clip(s, 0.0, 1.0))
        self.rt, self.rn = clean_risk_table(risk_times, n_risk)
        self.n0 = int(self.rn[0])
        self.total_events = _whole_events(total_events, self.n0)

    @property
    def end(self) -> float:
        return float(self.T[-1])

    def aligned(self, end: float | None = None):
        """Points, survival, risk-table rows and interval bounds, the curve run flat to `end`."""
        T, S, rt, rn = self.T, self.S, self.rt, self.rn
        if end is not None and end > T[-1]:
            T, S = np.r_[T, end], np.r_[S, S[-1]]
        # Risk-table times after the curve's end: patients still at risk there mean
        # the curve runs on flat; a row with nobody left adds nothing and is dropped.
        beyond = rt > T[-1]
        if beyond.any():
            if (rn[beyond] > 0).any():
                t_far = float(rt[beyond][rn[beyond] > 0].max())
                T, S = np.r_[T, t_far], np.r_[S, S[-1]]
                keep = rt <= t_far
            else:
                keep = ~beyond
            rt, rn = rt[keep], rn[keep]
        # A point at every risk-table time, so that each interval starts with one.
        extra = [x for x in rt if not np.isclose(T, x, rtol=0, atol=1e-12).any()]
        if extra:
            vals = [_step_value(T, S, x) for x in extra]
            T = np.r_[T, extra]
            S = np.r_[S, vals]
            order = np.argsort(T, kind="mergesort")
            T, S = T[order], S[order]
        lower = [int(np.flatnonzero(np.isclose(T, x, rtol=0, atol=1e-12))[0]) for x in rt]
        upper = [lower[i + 1] - 1 for i in range(len(rt) - 1)] + [len(T) - 1]
        return T, S, rt, rn, lower, upper


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def _invert(T, S, rt, rn, lower, upper, n0, theta, with_events, tail_count=None):
    """Guyot's inversion with censoring timing theta.

    With events reported, theta also sets how many are censored after the
    last risk-table time (fewer as theta grows): one parameter moves every
    interval the same way, so a mismatch in the event count is not dumped
    on the tail. Returns (times, events, misfit).
    """
    m, N = len(rt), len(T)
    d_all = np.zeros(N, dtype=int)
    cen_lists: dict[int, list[float]] = {}
    ncensor_used: list[int] = []
    n_start, km, misfit = n0, 1.0, 0.0
    for i in range(m):
        lo, up = lower[i], upper[i]
        if i < m - 1:
            target = int(rn[i + 1])
            t_end = float(T[lower[i + 1]])
            s_lo = S[lo] if S[lo] > 0 else 1e-12
            ncensor = int(round(n_start * S[lower[i + 1]] / s_lo - target))
            best, seen = None, set()
            for _ in range(_MAX_PASSES):
                ncensor = max(ncensor, 0)
                res = _interval_pass(T, S, lo, up, t_end, ncensor, n_start, km, i == 0, theta)
                gap = res[2] - target
                if best is None or abs(gap) < abs(best[1]):
                    best = (res, gap, ncensor)
                if gap == 0 or (gap < 0 and ncensor == 0) or ncensor in seen:
                    break
                seen.add(ncensor)
                ncensor = ncensor + gap
            res, gap, ncensor = best
            if gap == 0:
                # Several censoring counts can meet the risk table (3 censored + 2
                # deaths or 4 censored + 1 death): keep the one whose KM follows
                # the digitised curve best.
                for alt in (ncensor - 2, ncensor - 1, ncensor + 1, ncensor + 2):
                    if 0 <= alt <= n_start:
                        r2 = _interval_pass(T, S, lo, up, t_end, alt, n_start, km, i == 0, theta)
                        if r2[2] == target and r2[4] < res[4] - 1e-12:
                            res = r2
        else:
            t_end = float(T[up])
            # Guyot's rule: censor at the average rate of the earlier intervals
            if m > 1 and T[upper[m - 2]] > T[0]:
                rate = sum(ncensor_used) / (T[upper[m - 2]] - T[0])
                base = min(rate * (t_end - T[lo]), float(n_start))
            else:
                base = 0.0
            if with_events and n_start > 0:
                share = min(max(base / n_start, 0.02), 0.98) if m > 1 else 0.5
                ncensor = int(round(n_start * _logistic(math.log(share / (1 - share)) - theta)))
            else:
                ncensor = int(round(base))
            if tail_count is not None:
                ncensor = tail_count
            last_count = ncensor
            # evenly spread: after the last risk-table time theta sets how many, not when
            res = _interval_pass(T, S, lo, up, t_end, ncensor, n_start, km, i == 0)
        d, cen_times, n_end, km, mis = res
        misfit += mis
        d_all[lo:up + 1] = d
        for j, c in enumerate(cen_times):
            if c:
                cen_lists[lo + j] = c
        ncensor_used.append(int(sum(len(c) for c in cen_times)))
        # the next interval starts from the patients this reconstruction has left
        n_start = n_end
    times: list[float] = []
    events: list[int] = []
    for k in range(N):
        if d_all[k]:
            times += [float(T[k])] * int(d_all[k])
            events += [1] * int(d_all[k])
        if k in cen_lists:
            times += list(map(float, cen_lists[k]))
            events += [0] * len(cen_lists[k])
    # whoever is still at risk after the last death is censored at the curve's
    # end (the flat tail, or the shared data cut-off), never given a death there
    remaining = n0 - len(times)
    if remaining > 0:
        times += [float(T[-1])] * remaining
        events += [0] * remaining
    return times, events, misfit, last_count


_THETA_RANGE = (-6.0, 6.0)


def _rebuild_arm(outline: _Outline, end: float | None = None) -> pd.DataFrame:
    T, S, rt, rn, lower, upper = outline.aligned(end)
    n0, target = outline.n0, outline.total_events
    if target is None:
        times, events, _, _ = _invert(T, S, rt, rn, lower, upper, n0, 0.0, False)
        return _ipd(times, events)

    def run(theta):
        return _invert(T, S, rt, rn, lower, upper, n0, theta, True)

    # later censoring (theta up) -> more at risk at every drop -> more events: bisect
    lo, hi = _THETA_RANGE
    r_lo, r_hi = run(lo), run(hi)
    tried = [(lo, r_lo), (hi, r_hi), (0.0, run(0.0))]
    if sum(r_lo[1]) < target < sum(r_hi[1]):
        for _ in range(14):
            mid = 0.5 * (lo + hi)
            r = run(mid)
            tried.append((mid, r))
            k = sum(r[1])
            if k == target:
                break
            if k < target:
                lo = mid
            else:
                hi = mid
    # exact count first; then, with a risk table, the censoring closest to evenly
    # spread (Guyot's assumption); with n alone, where nothing says how many were
    # lost before the end, the fewest lost (survivors followed to the curve's end)
    if len(rt) > 1:
        key = lambda x: (abs(sum(x[1][1]) - target), abs(x[0]), x[1][2])  # noqa: E731
    else:
        key = lambda x: (abs(sum(x[1][1]) - target), -x[0], x[1][2])  # noqa: E731
    theta, best = min(tried, key=key)
    if sum(best[1]) == target and len(rt) > 1 and theta != 0.0:
        # the exact counts form a range of theta: take its end nearest 0 (evenly spread)
        near, far = 0.0, theta
        for _ in range(8):
            mid = 0.5 * (near + far)
            r = run(mid)
            if sum(r[1]) == target:
                far, best, theta = mid, r, mid
            else:
                near = mid
    if sum(best[1]) != target:
        # the count moves in uneven steps: look around the tail's count for an exact hit
        near = range(max(0, best[3] - 10), best[3] + 11)
        tried = [(theta, _invert(T, S, rt, rn, lower, upper, n0, theta, True, c)) for c in near] + [(theta, best)]
        theta, best = min(tried, key=key)
    return _ipd(best[0], best[1])


def guyot(t: Sequence[float], s: Sequence[float], risk_times: Sequence[float],
          n_risk: Sequence[float], total_events: int | None = None) -> pd.DataFrame:
    """Pseudo patient data from a digitised curve and its risk table (Guyot et al. 2012, refined).

    t, s: digitised points (time in months, survival 0-1), in any of the three
    styles (lower corners, both corners, dense trace; see analysis.clicks).
    risk_times, n_risk: the number-at-risk table; it must start at time 0. A
    table with the single row (0, n) is allowed (only the total is known).
    total_events: deaths (or progressions) when the paper reports them: one
    censoring-timing parameter, shared by all intervals, is set so that the
    events add up.
    Returns a DataFrame (time, event), one row per patient (n_risk[0] rows).
    """
    return _rebuild_arm(_Outline(t, s, risk_times, n_risk, total_events))


# Two curves whose last times are this close (share of the longer one) end at one data cut-off.
_SHARED_CUTOFF = 0.03


def guyot_pair(a: dict, b: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both arms of a trial from their digitised curves (a, b: guyot's keyword arguments).

    When the two curves end at nearly the same time, the trial had one data
    cut-off: each arm's survivors are censored there (at the later of the two
    ends), not where its own digitised curve happens to stop.
    """
    oa, ob = _Outline(**a), _Outline(**b)
    end = None
    longer = max(oa.end, ob.end)
    if longer > 0 and abs(oa.end - ob.end) <= _SHARED_CUTOFF * longer:
        end = longer
    return _rebuild_arm(oa, end), _rebuild_arm(ob, end)


# --------------------------------------------------------------------------- #
# Reconstruction from summary statistics
# --------------------------------------------------------------------------- #

def clean_anchors(anchors) -> tuple[np.ndarray, np.ndarray]:
    """(0, 1) plus the anchors sorted by time; contradictions raise, naming them."""
    pts = []
    for a in anchors:
        try:
            t, s = float(a[0]), float(a[1])
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"an anchor must be (time in months, survival probability), got {a!r}") from None
        if not (math.isfinite(t) and math.isfinite(s)):
            raise ValueError(f"anchor {a!r} has a missing or infinite number")
        if t < 0:
            raise ValueError(f"anchor at a negative time: {t:g} months")
        if not 0 <= s <= 1:
            hint = " (a percent? give 0.418 for 41.8%)" if 1 < s <= 100 else ""
            raise ValueError(f"anchor survival must be between 0 and 1, got {s:g} at {t:g} months{hint}")
        pts.append((t, s))
    if not pts:
        raise ValueError("at least one anchor (a median or a landmark rate) is needed")
    pts.sort()
    clean: list[tuple[float, float]] = [(0.0, 1.0)]
    for t, s in pts:
        pt, ps = clean[-1]
        if t == pt:
            if s != ps:
                what = "time 0 must have survival 100%" if t == 0 else "two different survivals at the same time"
                raise ValueError(f"contradictory anchors: {100 * ps:g}% and {100 * s:g}% at {t:g} months ({what})")
            continue
        if s > ps:
            raise ValueError(f"contradictory anchors: survival {100 * s:g}% at {t:g} months is above "
                             f"{100 * ps:g}% at {pt:g} months, but survival cannot increase with time")
        clean.append((t, s))
    kt = np.array([p[0] for p in clean])
    ks = np.array([p[1] for p in clean])
    return kt, ks


class PiecewiseExponential:
    """Survival through (0, 1) and the anchors, constant hazard between them and
    the last interval's hazard continued beyond the last anchor.

    A last interval shorter than a quarter of the last anchor's time (a median
    printed next to a landmark: 17.1 and 18 months) is merged with the ones
    before it for the tail: the hazard over a few weeks says little about the
    years that follow.
    """

    TAIL_MIN_SHARE = 0.25

    def __init__(self, anchors):
        self.kt, ks = clean_anchors(anchors)
        # 0% is kept just above 0 so that the hazard stays finite
        self.ks = np.maximum(ks, 1e-9)
        dt = np.diff(self.kt)
        self.hazard = np.log(self.ks[:-1] / self.ks[1:]) / dt
        self.tail_hazard = 0.0
        if len(self.hazard):
            last = len(self.kt) - 1
            first = last - 1
            while first > 0 and self.kt[last] - self.kt[first] < self.TAIL_MIN_SHARE * self.kt[last]:
                first -= 1
            self.tail_hazard = float(np.log(self.ks[first] / self.ks[last]) / (self.kt[last] - self.kt[first]))

    # shape of the hazard over the interval ending at the last anchor: 0 is constant;
    # above 0 it rises through the interval, below 0 it falls (both anchors stay put)
    shape = 0.0

    def _shaped(self, j: int) -> bool:
        return self.shape != 0.0 and j == len(self.hazard) - 1 and self.hazard[j] > 0

    def survival(self, t) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        j = np.clip(np.searchsorted(self.kt, t, side="right") - 1, 0, len(self.kt) - 1)
        haz = np.where(j < len(self.hazard), np.r_[self.hazard, self.tail_hazard][j], self.tail_hazard)
        out = self.ks[j] * np.exp(-haz * (t - self.kt[j]))
        if len(self.hazard) and self.shape != 0.0:
            k = len(self.hazard) - 1
            inside = j == k
            if inside.any() and self._shaped(k):
                g, width = self.shape, self.kt[k + 1] - self.kt[k]
                u = (t[inside] - self.kt[k]) / width
                total = math.log(self.ks[k] / self.ks[k + 1])
                out[inside] = self.ks[k] * np.exp(-total * np.expm1(g * u) / math.expm1(g))
        return out

    def time_at(self, s: float) -> float:
        """Earliest time at which survival has fallen to s (inf if never)."""
        if s >= 1:
            return 0.0
        below = np.flatnonzero(self.ks < s)
        if len(below):
            j = int(below[0])
            lam = self.hazard[j - 1]
            if self._shaped(j - 1):
                g = self.shape
                share = math.log(self.ks[j - 1] / s) / math.log(self.ks[j - 1] / self.ks[j])
                u = math.log1p(share * math.expm1(g)) / g
                return float(self.kt[j - 1] + u * (self.kt[j] - self.kt[j - 1]))
            return float(self.kt[j - 1] + math.log(self.ks[j - 1] / s) / lam)
        if self.tail_hazard <= 0 or s <= 0:
            return math.inf
        return float(self.kt[-1] + math.log(self.ks[-1] / s) / self.tail_hazard)


class _Censoring:
    """Censoring as a cumulative hazard H(t) = -ln P(C > t), so that the walk
    below can censor the current risk set at the right pace.

    Administrative censoring (potential follow-up uniform on [a, b], patients
    entering over the accrual period) plus, optionally, loss to follow-up at a
    constant rate `loss` per month.
    """

    def __init__(self, a: float | None, b: float | None, loss: float = 0.0):
        self.a = a if a is not None else 0.0
        self.b = b
        self.loss = loss

    @property
    def active(self) -> bool:
        return self.b is not None or self.loss > 0

    def H(self, t: float) -> float:
        h = self.loss * t
        if self.b is None or t <= self.a:
            return h
        if t >= self.b:
            return math.inf
        return h - math.log((self.b - t) / (self.b - self.a))

    def time_at(self, h: float) -> float:
        """The time at which the cumulative censoring hazard reaches h."""
        if not self.active:
            return math.inf
        if h <= 0:
            return 0.0
        if self.b is None:
            return h / self.loss
        if self.loss * self.a >= h:
            return h / self.loss
        if self.loss == 0:
            return self.b - (self.b - self.a) * math.exp(-h)
        # H is convex and increasing on [a, b): Newton from the left never overshoots
        t = self.a
        for _ in range(100):
            f = self.H(t) - h
            if abs(f) < 1e-12:
                break
            t_next = t - f / (self.loss + 1.0 / (self.b - t))
            if t_next <= t:
                break
            t = min(t_next, self.b - 1e-12)
        return t


def _walk(curve: PiecewiseExponential, n: int, cens: _Censoring, t_end: float,
          medians: Sequence[tuple[float, float]], landmarks: Sequence[tuple[float, float]],
          keep_last: bool = False):
    """Pseudo-patients whose Kaplan-Meier curve follows the target survival.

    Deterministic: each event is placed where the target curve crosses the
    middle of the next Kaplan-Meier step, so the step function straddles the
    curve; the step that crosses a reported median is put exactly at the
    median, and the step that crosses a landmark rate is put before or after
    the landmark time, whichever leaves the KM closer to the reported rate.
    Censorings come from the censoring hazard applied to the current risk set.

    keep_last: the last patient standing is never given an event: he is
    censored (at his censoring time within the follow-up, or where his event
    would have been when no follow-up is known). A Kaplan-Meier curve reaches
    0% only when its last patient has an event, which says "nobody is left
    alive (or progression-free)": that may be drawn only when the paper's
    numbers say so (every patient had the event, or a reported 0% rate).
    """
    t, K, r = 0.0, 1.0, n
    mass = 0.0          # expected censorings so far (integral of risk set x censoring hazard)
    n_cens = 0
    times: list[float] = []
    events: list[int] = []
    med = sorted(medians)
    lms = sorted(landmarks)
    tie_at = None       # a second event forced onto the median time (see below)
    eps = 1e-9          # products of (1 - 1/r) are not exact: 27/54 may come out as 0.4999999999
    while r > 0:
        K_after = K * (1.0 - 1.0 / r)
        te = curve.time_at(K * (1.0 - 0.5 / r))
        crossing = False
        for (ta, sa) in med:
            if K > sa + eps and K_after <= sa + eps:
                te, crossing = ta, True
                if abs(K_after - sa) <= eps:
                    # the step would land exactly on 50% (an even n), leaving the median
                    # anywhere on the flat that follows; the next event goes at the median
                    # too, so the KM is below 50% from the median on, by any convention
                    tie_at = ta
                break
        if not crossing and tie_at is not None and K <= 0.5 + eps:
            te = tie_at
        for (ta, sa) in lms:
            # a landmark already passed is settled; only one still ahead can be steered
            if K > sa + eps and K_after <= sa + eps and ta >= t:
                if (K - sa) < (sa - K_after):
                    te = max(te, ta + _AFTER_LANDMARK)
                else:
                    te = min(te, ta)
                break
        te = max(te, t)
        tc = cens.time_at(cens.H(t) + (n_cens + 0.5 - mass) / r) if cens.active else math.inf
        tc = max(tc, t)
        if min(te, tc) > t_end or (math.isinf(te) and math.isinf(tc)):
            if math.isinf(t_end):
                t_end = t
            times += [t_end] * r
            events += [0] * r
            break
        if tc < te:
            mass = n_cens + 0.5
            n_cens += 1
            t = tc
            times.append(tc)
            events.append(0)
            r -= 1
            continue
        if keep_last and r == 1:
            # the longest-followed patient is censored: the curve ends flat at K, not at 0
            last = te if math.isinf(t_end) else min(tc, t_end)
            times.append(max(last, t))
            events.append(0)
            break
        h_now, h_next = cens.H(t), cens.H(te)
        mass += r * (h_next - h_now) if math.isfinite(h_next) else 0.0
        t = te
        times.append(te)
        events.append(1)
        K = K_after
        r -= 1
        if not crossing and tie_at is not None and te == tie_at:
            tie_at = None
    return np.array(times, dtype=float), np.array(events, dtype=int)


def _fix_event_count(times: np.ndarray, events: np.ndarray, target: int, after: float = 0.0,
                     keep_last: bool = False) -> np.ndarray:
    """Make the number of events exact when no censoring pace hits it (whole-number jumps).

    Patients are switched between event and censored after the last reported
    anchor only (the printed numbers stay intact), and those with the largest
    risk set first: switching one patient among 150 at risk moves the curve by
    less than a point, switching the last patient standing would drop it to 0.
    keep_last: the longest-followed patient is never switched to an event (a
    curve at 0% says nobody is left; see _walk).
    """
    events = events.copy()
    diff = int(events.sum()) - target
    if diff == 0:
        return events
    order = np.argsort(times, kind="mergesort")
    at_risk = np.empty(len(times), dtype=int)
    at_risk[order] = len(times) - np.arange(len(times))
    want = 1 if diff > 0 else 0             # switch events to censored, or the reverse
    last = int(order[-1]) if len(order) else -1
    allowed = [i for i in order if events[i] == want and not (keep_last and want == 0 and i == last)]
    cands = [i for i in allowed if times[i] > after]
    if len(cands) < abs(diff):
        cands = allowed
    cands.sort(key=lambda i: (-at_risk[i], times[i]))
    for i in cands[:abs(diff)]:
        events[i] = 1 - want
    return events


def _whole(value, name: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if not math.isfinite(f) or not f.is_integer():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    v = int(f)
    if v < low or (high is not None and v > high):
        rng = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {rng}, got {v}")
    return v


class _SummaryArm:
    """One arm's summary, ready to be turned into pseudo-patients."""

    def __init__(self, n, anchors, max_followup=None, min_followup=None, median_not_reached=False):
        self.n = _whole(n, "n (patients in the arm)", 1)
        self.curve = PiecewiseExponential(anchors)
        self.base_tail = self.curve.tail_hazard
        self.median_not_reached = bool(median_not_reached)
        pts = [(float(a[0]), float(a[1])) for a in anchors if float(a[0]) > 0]
        self.medians = [(t, s) for t, s in pts if s == 0.5]
        self.landmarks = [(t, s) for t, s in pts if s != 0.5]
        self.last_anchor = float(self.curve.kt[-1])
        # The curve may reach 0% only where the paper says nobody was left: a
        # reported 0% rate, or (set by the caller) as many events as patients.
        # Otherwise the longest-followed pseudo-patient is censored.
        self.keep_last = not any(s <= 0 for _, s in pts)
        for name, v in (("max_followup", max_followup), ("min_followup", min_followup)):
            if v is not None:
                try:
                    ok = math.isfinite(float(v)) and float(v) >= 0
                except (TypeError, ValueError):
                    ok = False
                if not ok:
                    raise ValueError(f"{name} must be a non-negative number of months, got {v!r}")
        a = float(min_followup) if min_followup is not None else 0.0
        b = float(max_followup) if max_followup is not None else None
        if b is not None and b <= a:
            raise ValueError(f"max_followup ({b:g}) must be above min_followup ({a:g})")
        if b is not None and b < self.last_anchor:
            # a landmark beyond the longest follow-up cannot have been observed; stretch
            # the follow-up to reach it rather than refuse the paper's numbers
            b = self.last_anchor * 1.05
        self.a, self.b = a, b
        self.tilt(1.0)

    def tilt(self, factor: float, shape: float = 0.0) -> None:
        """The hazard beyond the last anchor, times factor; every anchor stays where it is.

        A median the paper says was not reached keeps the tail above 50% to the
        end of follow-up (or to three times the last anchor when none is given).
        """
        h = self.base_tail * factor
        # the Kaplan-Meier steps straddle the curve: keep it a step (1/n) clear of 50%
        floor = 0.5 + 1.0 / self.n
        if self.median_not_reached and self.curve.ks[-1] > floor:
            horizon = (self.b if self.b is not None else 3 * self.last_anchor) - self.last_anchor
            if horizon > 0:
                h = min(h, math.log(self.curve.ks[-1] / floor) / horizon)
        self.curve.tail_hazard = max(h, 0.0)
        self.curve.shape = shape

    def run(self, events: int | None):
        """Pseudo-patients: censoring calibrated to `events`, or from the follow-up alone."""
        if events is None:
            return self.administrative()
        if events == self.n:
            self.keep_last = False
        times, ev = _calibrate([self], events)[0]
        if int(ev.sum()) != events:
            ev = _fix_event_count(times, ev, events, after=self.last_anchor, keep_last=self.keep_last)
        return times, ev

    def administrative(self):
        """Censoring from the follow-up alone (no event count to match)."""
        if self.b is None:
            # no follow-up reported: nothing is extrapolated beyond the last anchor
            return _walk(self.curve, self.n, _Censoring(None, None), self.last_anchor, self.medians, self.landmarks,
                         self.keep_last)
        return _walk(self.curve, self.n, _Censoring(self.a, self.b), self.b, self.medians, self.landmarks,
                     self.keep_last)

    def paced(self, x: float):
        """Censoring at pace x; the number of events increases with x.

        With a reported follow-up its longest time is kept (curves never run
        past it): x in [0, 1] moves the start of administrative censoring from
        min_followup towards max_followup (fewer censored, more events); x < 0
        adds loss to follow-up at (e^-x - 1) per max_followup months (more
        censored, fewer events). Without a follow-up, x scales a nominal one
        (0 to twice the last anchor) by e^x.
        """
        if self.b is not None:
            if x >= 0:
                start = self.a + (self.b - self.a) * min(x, 1.0) * 0.999
                cens = _Censoring(start, self.b)
            else:
                cens = _Censoring(self.a, self.b, loss=(math.exp(-x) - 1.0) / self.b)
            return _walk(self.curve, self.n, cens, self.b, self.medians, self.landmarks, self.keep_last)
        theta = math.exp(x)
        return _walk(self.curve, self.n, _Censoring(0.0, 2.0 * self.last_anchor * theta), math.inf,
                     self.medians, self.landmarks, self.keep_last)

    @property
    def pace_range(self) -> tuple[float, float]:
        return (-9.0, 1.0) if self.b is not None else (math.log(1e-3), math.log(1e3))


def _calibrate(arms: Sequence[_SummaryArm], events: int):
    """The censoring pace at which the arms together have `events` events.

    More follow-up means more events, so bisect on the pace; the count moves in
    whole steps, so the closest pace is returned when none hits it exactly.
    """
    def total(runs):
        return sum(int(r[1].sum()) for r in runs)

    lo, hi = arms[0].pace_range
    runs_hi = [arm.paced(hi) for arm in arms]
    if total(runs_hi) <= events:
        return runs_hi
    runs_lo = [arm.paced(lo) for arm in arms]
    if total(runs_lo) >= events:
        return runs_lo
    best, best_gap = runs_hi, total(runs_hi) - events
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        runs = [arm.paced(mid) for arm in arms]
        k = total(runs)
        if k == events:
            return runs
        if abs(k - events) <= abs(best_gap):
            best, best_gap = runs, k - events
        if k < events:
            lo = mid
        else:
            hi = mid
    return best


def from_summary(n: int, anchors, events: int | None = None, max_followup: float | None = None,
                 min_followup: float | None = None, median_not_reached: bool = False) -> pd.DataFrame:
    """Pseudo patient data from a median, landmark rates, events and follow-up.

    n: patients in the arm. anchors: [(time_months, survival_probability)],
    a median m enters as (m, 0.5). events: deaths (or progressions) when
    reported: censoring is then calibrated so that exactly this many patients
    have an event. Otherwise patients are censored administratively, follow-up
    spread evenly between min_followup and max_followup (or, without a
    follow-up, at the last anchor: nothing is extrapolated beyond what was
    reported). Deterministic: no random draws.

    The curve reaches 0 only when events == n or an anchor is 0%: otherwise
    the longest-followed pseudo-patient is censored, so the Kaplan-Meier curve
    ends flat at its last value instead of reading "nobody left".
    """
    arm = _SummaryArm(n, anchors, max_followup, min_followup, median_not_reached)
    if events is not None:
        events = _whole(events, "events", 0, arm.n)
    return _ipd(*arm.run(events))


def split_events(arms: Sequence[tuple[int, Sequence]], total_events: int, max_followup: float | None = None,
                 min_followup: float | None = None) -> list[int]:
    """Share a cohort's event count between its arms.

    Papers sometimes give deaths for both arms together ("59 of 96 patients
    died"). The arms share one follow-up, so one censoring pace is calibrated
    for all of them to reach the total; each arm's own count at that pace is
    returned (in order). arms: [(n, anchors), ...].
    """
    models = [_SummaryArm(n, anchors, max_followup, min_followup) for n, anchors in arms]
    total_events = _whole(total_events, "total events", 0, sum(m.n for m in models))
    if total_events == sum(m.n for m in models):
        for m in models:
            m.keep_last = False
    runs = _calibrate(models, total_events)
    counts = [int(r[1].sum()) for r in runs]
    # whole-number steps: settle any remainder on the largest arms
    diff = total_events - sum(counts)
    order = sorted(range(len(models)), key=lambda i: -models[i].n)
    while diff != 0:
        moved = False
        for i in order:
            if diff > 0 and counts[i] < models[i].n:
                counts[i] += 1
                diff -= 1
                moved = True
            elif diff < 0 and counts[i] > 0:
                counts[i] -= 1
                diff += 1
                moved = True
            if diff == 0:
                break
        if not moved:
            break
    return counts


def _pooled(arms: Sequence[_SummaryArm], total: int):
    """Both arms censored at one pace that gives the cohort's total events."""
    if total == sum(m.n for m in arms):
        for m in arms:
            m.keep_last = False
    return _calibrate(arms, total)


# How far the tail hazard of each arm may be tilted (a factor e^3 either way).
_TILT_RANGE = (-3.0, 3.0)


def from_summary_pair(a: dict, b: dict, hr: float | None = None, hr_ci=None,
                      pooled_events: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both arms from their summaries, held to the reported hazard ratio.

    a, b: from_summary's keyword arguments for each arm (n, anchors, events,
    max_followup, min_followup, median_not_reached). hr: the paper's hazard
    ratio of b versus a (hr_ci, its 95% CI, is used for hr when only the CI
    is given). pooled_events: deaths reported for both arms together; the
    arms are then censored at one pace that gives the total, and with an HR
    the HR decides how the total splits between them.

    With an HR, each arm's hazard beyond its last anchor is tilted (b's up and
    a's down by one factor, or the reverse) until the Cox HR of the
    pseudo-data meets it; each arm's censoring is re-calibrated to its events
    at every step. No anchor moves: where the anchors leave no room (the
    last anchor at the end of follow-up) the HR is met as closely as they allow.
    """
    arms = [_SummaryArm(d["n"], d["anchors"], d.get("max_followup"), d.get("min_followup"),
                        d.get("median_not_reached", False)) for d in (a, b)]
    events = [None if d.get("events") is None else _whole(d["events"], "events", 0, m.n) for d, m in zip((a, b), arms)]
    if pooled_events is not None:
        pooled_events = _whole(pooled_events, "pooled events", 0, sum(m.n for m in arms))
    if hr is None and hr_ci is not None and len(hr_ci) == 2 and all(x and x > 0 for x in hr_ci):
        hr = math.sqrt(hr_ci[0] * hr_ci[1])
    if hr is not None and not (isinstance(hr, (int, float)) and math.isfinite(hr) and hr > 0):
        raise ValueError(f"the hazard ratio must be a positive number, got {hr!r}")

    def build(tau: float, shape: float = 0.0):
        arms[0].tilt(math.exp(-tau / 2), shape * tau)
        arms[1].tilt(math.exp(tau / 2), -shape * tau)
        if pooled_events is not None:
            return _pooled(arms, pooled_events)
        return [m.run(e) for m, e in zip(arms, events)]

    if hr is None:
        runs = build(0.0)
    else:
        goal = math.log(hr)
        runs = _hold(build, goal, 0.0)
        if runs[0] > _HR_CLOSE:
            # no room beyond the last anchors (a median and nothing after it): the
            # hazard's shape over the last reported interval is tilted too
            runs = min(runs, _hold(build, goal, 1.0), key=lambda x: x[0])
        runs = runs[1]
    return _ipd(*runs[0]), _ipd(*runs[1])


# |log HR| gap under which the tail tilt alone is enough, and the gap at which the search stops.
_HR_CLOSE = 0.01
_HR_TOL = 0.002


def _hold(build, goal: float, shape: float):
    """(gap, runs): the tilt whose pseudo-data's Cox log HR is closest to goal."""
    def log_hr(runs):
        return cox_log_hr(runs[0][0], runs[0][1], runs[1][0], runs[1][1])

    lo, hi = _TILT_RANGE
    tried = []
    r0 = build(0.0, shape)
    tried.append((abs(log_hr(r0) - goal), 0.0, r0))
    if tried[0][0] < _HR_TOL:
        return tried[0][0], r0
    r_lo, r_hi = build(lo, shape), build(hi, shape)
    f_lo, f_hi = log_hr(r_lo) - goal, log_hr(r_hi) - goal
    tried += [(abs(f_lo), lo, r_lo), (abs(f_hi), hi, r_hi)]
    if f_lo * f_hi < 0:
        # regula falsi (Illinois): the log HR moves smoothly but in whole-patient steps
        side = 0
        for _ in range(25):
            mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
            r = build(mid, shape)
            f = log_hr(r) - goal
            tried.append((abs(f), mid, r))
            if abs(f) < _HR_TOL or hi - lo < 1e-4:
                break
            if f * f_hi > 0:
                hi, f_hi = mid, f
                if side == 1:
                    f_lo /= 2
                side = 1
            else:
                lo, f_lo = mid, f
                if side == -1:
                    f_hi /= 2
                side = -1
    best = min(tried, key=lambda x: x[0])
    return best[0], best[2]
