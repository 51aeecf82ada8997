"""Text in figures: one estimate of printed width, one way to wrap, one escape.

Plotly draws labels as light HTML and Streamlit does not wrap them, so every
figure measures and wraps its own text, in pixels, with Arial's metrics.
"""
from __future__ import annotations

import html
import math
import re
import textwrap

import pandas as pd

# Helvetica/Arial advance widths (1/1000 em, ASCII 32..126): labels are wrapped
# by their rendered width, so 'HAIC-FOLFOX' (wide capitals) does not run into
# the next column the way a character count would let it.
_AFM = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584]
# the few non-ASCII characters the table prints (same 1/1000 em units)
_AFM_EXTRA = {"\u00a0": 278, "–": 556, "—": 1000, "≤": 549, "≥": 549, "²": 333, "τ": 500, "†": 556, "‡": 556,
              "…": 1000, "⚠": 1000, "·": 278, "×": 584, "±": 584, "µ": 556}


def text_px(text: str, size: float, bold: bool = False) -> float:
    """Rendered width of a line of Arial at `size` px (5% margin; bold ~8% wider)."""
    em = 0
    for ch in str(text):
        o = ord(ch)
        em += _AFM[o - 32] if 32 <= o < 127 else _AFM_EXTRA.get(ch, 1000 if o > 0x2000 else 600)
    return em / 1000 * size * (1.13 if bold else 1.05)


def esc(text) -> str:
    """Text from a file or a link is text, never markup: '<0.001' must not start a tag."""
    return html.escape(str(text), quote=False)


def is_number(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x)) and not pd.isna(x)


def fmt_number(x) -> str:
    """A store value as printed: 0.465 stays 0.465, 0.56 stays 0.56."""
    return f"{x:g}" if is_number(x) else ""


def wrap_px(text: str, max_px: float, size: float, bold: bool = False) -> list[str]:
    """Greedy word wrap by rendered width; a single over-long word is cut."""

    text = str(text or "")
    if not text:
        return [""]
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_px(candidate, size, bold) <= max_px:
            line = candidate
            continue
        if line:
            lines.append(line)
        while text_px(word, size, bold) > max_px and len(word) > 1:
            cut = len(word)
            while cut > 1 and text_px(word[:cut], size, bold) > max_px:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    lines.append(line)
    return lines



def wrap_chars(text: str, width: int, max_lines: int | None = None) -> list[str]:
    """Wrap by characters (hover text, where the browser's font is unknown); hyphenated names
    stay whole unless a part is longer than the line ('FOLFOX-HAIC')."""
    hyphens = any(len(w) > width for w in str(text).split())
    lines = textwrap.wrap(str(text), width=width, break_long_words=False, break_on_hyphens=hyphens) or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" ,;") + "…"
    return lines


def hover_lines(text: str, width: int = 70, max_lines: int | None = None) -> str:
    """Escaped hover text, wrapped with <br>."""
    return "<br>".join(esc(line) for line in wrap_chars(text, width, max_lines)) if text else ""


def _glue(text: str) -> str:
    """Keep a connector with the word it joins: 'Sorafenib + TACE-HAIC' never leaves '+' on a line alone."""
    return re.sub(r"(?<!\S)([+&/]|vs\.?|with)\s+", lambda m: m.group(1) + "\u00a0", str(text).strip())


def _greedy(words: list[str], budget: float, size: float, bold: bool) -> list[str]:
    lines, line = [], ""
    for w in words:
        trial = f"{line} {w}" if line else w
        if not line or text_px(trial, size, bold) <= budget:
            line = trial
        else:
            lines.append(line)
            line = w
    return lines + ([line] if line else [])


def _pieces(word: str, budget: float, size: float, bold: bool) -> list[str]:
    """A word wider than the line breaks after its hyphens ('FOLFOX-' / 'HAIC'), never inside a part."""
    if text_px(word, size, bold) <= budget or "-" not in word:
        return [word]
    parts = [p + "-" for p in word.split("-")[:-1]] + [word.split("-")[-1]]
    out = [parts[0]]
    for p in parts[1:]:
        if text_px(out[-1] + p, size, bold) <= budget:
            out[-1] += p
        else:
            out.append(p)
    return out


def wrap_label(text: str, budget_px: float, size: float, max_lines: int = 3, bold: bool = False) -> list[str]:
    """Balanced lines of at most budget_px each: the fewest lines, then the narrowest widest line
    (so 'Sorafenib + TACE-HAIC' prints 'Sorafenib' over '+ TACE-HAIC', not three ragged lines)."""
    words = []
    for w in _glue(text).split(" "):
        if w:
            words += _pieces(w, budget_px, size, bold)
    # a piece that ends with "-" joins the next without a space
    def lay(budget):
        lines = _greedy(words, budget, size, bold)
        return [re.sub(r"- (?=\S)", "-", ln) for ln in lines]
    lines = lay(budget_px)
    lo, hi = max((text_px(w, size, bold) for w in words), default=0.0), budget_px
    while hi - lo > 1:                       # the narrowest budget that still needs no more lines
        mid = (lo + hi) / 2
        if len(lay(mid)) <= len(lines):
            hi = mid
        else:
            lo = mid
    if hi < budget_px:
        lines = lay(hi)
    lines = [ln.replace("\u00a0", " ") for ln in lines] or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" ,;") + "…"
    return lines


