"""Digitised Kaplan-Meier points made into a clean step outline before inversion.

Curves are digitised in one of three styles, decided here from the points:

- "lower corners": one click per step, at the corner below the drop;
- "both corners": a click above and a click below every drop;
- "dense trace": points every few pixels along the curve (automatic extraction).

The cleaning, in order: points at or before time 0 are replaced by (0, 1) (the
curve starts at 100%: a drop at randomisation is a slip of the mouse); clicks
close in time are put upper-first (x noise can put the lower corner of a drop
before its upper corner: read as such, the curve would go up); in the
both-corners style each drop's two clicks are grouped, and a lone click is an
upper corner when it sits on the level before (its lower corner was missed, the
drop is still at its time) or a lower corner when it sits on the level after;
then a weighted isotonic fit makes the levels non-increasing. The fit comes
after the grouping: on raw clicks it would average an upper and a lower corner
into a level that never existed. A running minimum (the usual quick fix) is
biased low on clicks: every downward pixel of noise sticks. A dense trace is
the exception: there every point is kept and a running minimum measured
better (benchmarks/reconstruction_benchmark.py).
"""
from __future__ import annotations

import numpy as np

# Clicks closer in time than this share of the axis can belong to one drop.
_SAME_STEP = 0.005
# A trace has points all along the curve: no gap wider than this share of the axis.
_TRACE_GAP = 0.02
_TRACE_MIN_POINTS = 150
# Both-corners style: at least this share of consecutive clicks sit on one level.
_FLAT_SHARE = 0.3


def isotonic_decreasing(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-increasing fit (pool adjacent violators)."""
    levels: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for v, wt in zip(y.tolist(), w.tolist()):
        levels.append(v)
        weights.append(wt)
        sizes.append(1)
        while len(levels) > 1 and levels[-1] > levels[-2]:
            v2, w2, n2 = levels.pop(), weights.pop(), sizes.pop()
            tot = weights[-1] + w2
            levels[-1] = (levels[-1] * weights[-1] + v2 * w2) / tot if tot > 0 else max(levels[-1], v2)
            weights[-1] = tot
            sizes[-1] += n2
    return np.repeat(levels, sizes)


def _upper_first(t: np.ndarray, s: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Swap neighbours that are close in time but go up: the upper corner comes first."""
    t, s = t.copy(), s.copy()
    for _ in range(3):
        swapped = False
        for i in range(len(t) - 1):
            if s[i + 1] > s[i] and t[i + 1] - t[i] <= tol:
                s[i], s[i + 1] = s[i + 1], s[i]
                mid = 0.5 * (t[i] + t[i + 1])
                t[i] = t[i + 1] = mid
                swapped = True
        if not swapped:
            break
    return t, s


def detect_style(t: np.ndarray, s: np.ndarray, span: float) -> str:
    if len(t) >= _TRACE_MIN_POINTS and np.max(np.diff(np.r_[0.0, t[:-1]]), initial=0) <= _TRACE_GAP * span:
        return "dense trace"
    dy = np.abs(np.diff(s))
    dx = np.diff(t)
    if len(dy) >= 4:
        big = np.percentile(dy, 75)
        # two clicks per drop: about half the moves are vertical (same time, down),
        # the other half horizontal (same level)
        vertical = np.mean((dx <= _SAME_STEP * span) & (dy >= 0.25 * big))
        flat = np.mean(dy < 0.25 * big)
        if big > 0 and vertical >= _FLAT_SHARE and flat >= _FLAT_SHARE:
            return "both corners"
    return "lower corners"


def clean_outline(t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """(times, survival after each time, style): times start at 0 with survival 1.

    t, s: validated arrays (finite, survival within [0, 1]).
    """
    span = max(float(np.max(t)), 1e-9)
    keep = t > 0
    t, s = t[keep], s[keep]
    if len(t) == 0:
        return np.array([0.0]), np.array([1.0]), "lower corners"
    order = np.lexsort((-s, t))
    t, s = t[order], s[order]
    tol = _SAME_STEP * span
    raw_t, raw_s = t, s
    t, s = _upper_first(t, s, tol)
    style = detect_style(t, s, span)
    if style == "dense trace":
        t, s = raw_t, raw_s
        # Every point kept, made non-increasing by a running minimum, one per time.
        # Measured on the benchmark (careful noise), an isotonic fit of a trace
        # costs more than it gains: log-HR error 0.026 against 0.015.
        s = np.minimum.accumulate(s)
        last = np.r_[t[1:] != t[:-1], True]
        return np.r_[0.0, t[last]], np.r_[1.0, s[last]], style
    upper = np.zeros(len(t), dtype=bool)     # an observation of the level before its time
    if style == "both corners":
        big = np.percentile(np.abs(np.diff(s)), 75) if len(s) > 1 else 0.0
        i = 0
        while i < len(t):
            if i + 1 < len(t) and t[i + 1] - t[i] <= tol and s[i] - s[i + 1] > 0.25 * big:
                upper[i] = True              # a pair: upper then lower corner of one drop
                i += 2
                continue
            # a lone click: on the level before (its lower corner missed) or the level after
            before = s[i - 1] if i > 0 else 1.0
            after = s[i + 1] if i + 1 < len(t) else None
            upper[i] = after is not None and abs(s[i] - before) < abs(s[i] - after)
            if after is None:
                # the last click: the end of the curve when it sits on the last level,
                # a final drop when it is clearly below it
                upper[i] = abs(s[i] - before) <= 0.25 * big
            i += 1
    # weighted isotonic fit of the levels, with (0, 1) pinned by a heavy weight
    y = np.r_[1.0, s]
    w = np.r_[1e6, np.ones(len(s))]
    fit = isotonic_decreasing(y, w)[1:]
    # the outline: a drop wherever the fitted level changes. It is at the upper
    # corner's time when the last click of the old level is an upper corner, else
    # at the first click of the new level.
    times, levels = [0.0], [1.0]
    cur = 1.0
    for i in range(len(t)):
        if fit[i] < cur - 1e-12:
            at = t[i - 1] if i > 0 and upper[i - 1] else t[i]
            if at <= times[-1] and len(times) > 1:
                levels[-1] = fit[i]          # two drops read at one time: one deeper drop
            else:
                times.append(max(at, times[-1] + 1e-9 * span))
                levels.append(fit[i])
            cur = fit[i]
    # the curve's last time: the last click, flat to there
    if t[-1] > times[-1]:
        times.append(float(t[-1]))
        levels.append(cur)
    return np.asarray(times, float), np.asarray(levels, float), style
