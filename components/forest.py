"""Forest plot figure, from the rows that views.forest_rows builds.

Builds figures only: touches no store, no files and no streamlit, so the
figure can be tested directly.

Layout is computed in pixels (row heights, column widths) because a forest plot
on a meeting-room projector must never overlap its labels: the y axis is in
pixel units, so every text row of the side table sits exactly on its marker.
"""
from __future__ import annotations

import html
import math
import re
import textwrap
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from evidence.naming import DESIGN_LABELS, ENDPOINT_TITLES, SHORT_DESIGN

from .text import esc, fmt_number, is_number, text_px, wrap_px

MEASURE_LABELS = {"HR": "Hazard ratio", "RR": "Risk ratio", "RD": "Risk difference (percentage points)"}

# Marker shape says how much to trust a row at a glance. Review-reported trials
# get their own shape: the numbers are second-hand, whatever the trial's design.
DESIGN_CATEGORY = {
    "randomised": "Randomised",
    "prospective": "Prospective, non-randomised",
    "prospective_single_arm": "Prospective, non-randomised",
    "retrospective": "Retrospective",
    "propensity_matched": "Retrospective, propensity-matched",
    "meta_analysis": "Meta-analysis",
}
REVIEW_CATEGORY = "Reported in a review"
SYMBOLS = {
    "Randomised": "square",
    "Prospective, non-randomised": "triangle-up",
    "Retrospective": "circle",
    "Retrospective, propensity-matched": "hexagon",
    "Meta-analysis": "star",
    REVIEW_CATEGORY: "cross",
}
RESPONSE_ENDPOINTS = ("ORR", "DCR")
INK = "#1f3b73"          # markers and whiskers: dark enough for a washed-out projector
MUTED = "#555555"
FONT = dict(family="Arial, Helvetica, sans-serif", size=14, color="#111111")
TABLE_FONT_SIZE = 13     # >= 12 px everywhere
LINE_PX = 17             # one text line at 13 px
ROW_PAD_PX = 12
GAP_PX = 10              # between two table columns, and between the table and the plot
EDGE_PX = 8              # left and right of the table, to the edge of the figure
PLOT_PX = 420            # width of the effect axis in the exported figure
MIN_PLOT_PX = 190        # narrowest effect axis: below it the figure scrolls instead of shrinking
MAX_PLOT_PX = 720        # widest effect axis on a wide screen: rows stay easy to follow across


# ---------------------------------------------------------------------------
# Figure
# ---------------------------------------------------------------------------
#
# The side table is laid out in pixels and anchored to the figure's edges: the
# left table sits in the left margin, the right table in the right margin, and
# only the effect axis between them stretches with the window. Streamlit
# resizes the figure to its container; text does not shrink, so a table in
# paper fractions would run its columns into each other on a narrow window.
# Here every column keeps its pixel width at any figure width, and below
# layout.meta["min_width"] the page scrolls the figure instead of squeezing it.

@dataclass
class _Col:
    header: list          # header lines: the second mirrors the cells' second line
    key: str
    max_px: int           # wider text wraps onto further lines
    align: str = "left"


# A cell is a list of lines; a line is text, or (text, colour) for a muted line.
SUB = "#555555"          # the muted second line (design, p): still 7:1 contrast on white
CERTAINTY_INK = "#1f3b72"    # the GRADE certainty line under the adjustment (told apart from it by colour)


def _columns(measure: str, patient: bool = False) -> tuple[list[_Col], list[_Col]]:
    left, right = _base_columns(measure)
    if patient:   # a patient profile is set: does each study admit the patient?
        # the comparison gives up the width, so the figure still fits a 1280-px laptop screen
        next(c for c in left if c.key == "t_comparison").max_px -= 40
        left.append(_Col(["Patient", ("fit", SUB)], "t_patient", 54, "center"))
    return left, right


def _base_columns(measure: str) -> tuple[list[_Col], list[_Col]]:
    study = _Col(["Study", ("design", SUB)], "t_study", 132)
    if measure == "HR":
        left = [study, _Col(["Comparison", ("exp. vs ref.", SUB)], "t_comparison", 150),
                _Col(["n (events)", ("exp. / ref.", SUB)], "t_n", 90, "center")]
        right = [_Col(["HR (95% CI)", ("p", SUB)], "t_effect", 150),
                 # the GRADE certainty is the last line of this column: a column of its own does not
                 # fit beside a readable effect axis on a laptop (820 px with the sidebar open)
                 _Col(["Adjustment", ("covariates", SUB), "Certainty"], "t_adjusted", 110)]
    else:
        name = ["RR (95% CI)"] if measure == "RR" else ["Risk difference,", "% points (95% CI)"]
        left = [study, _Col(["Comparison", ("exp. vs ref.", SUB)], "t_comparison", 150),
                _Col(["Criteria"], "t_criteria", 80),
                _Col(["Responders", ("exp. vs ref.", SUB)], "t_events", 120, "center")]
        right = [_Col(name + [("p", SUB)], "t_effect", 160)]
    return left, right


def _wrap_cell(text: str, max_px: float, bold: bool = False, size: float = TABLE_FONT_SIZE) -> list[str]:
    return wrap_px(text, max_px, size, bold)


def _clamp_lines(lines: list[str], n: int, max_px: float, size: float) -> list[str]:
    """At most n lines; the last one ends in '…' when text was left out."""
    if len(lines) <= n:
        return lines
    last = lines[n - 1]
    while last and text_px(last + " …", size) > max_px:
        last = last[:-1]
    return lines[:n - 1] + [last.rstrip(" ,;") + " …"]


def _effect_text(r: dict) -> str:
    m = r["measure"]
    if not is_number(r["effect"]):
        return "not estimable"
    if m == "HR":
        est = fmt_number(r["effect"])
        if r["ci_source"] == "printed":
            return f"{est} ({fmt_number(r['ci_low'])}–{fmt_number(r['ci_high'])})"
        if r["ci_source"] == "derived from p":
            return f"{est} ({r['ci_low']:.2f}–{r['ci_high']:.2f})†"
        return f"{est} (no CI printed)"
    if m == "RR":
        cc = "‡" if r["continuity_correction"] else ""
        return f"{r['effect']:.2f} ({r['ci_low']:.2f}–{r['ci_high']:.2f}){cc}"
    # percentage points: how clinicians speak of a difference in response rates
    return f"{100 * r['effect']:+.1f} ({100 * r['ci_low']:+.1f} to {100 * r['ci_high']:+.1f})"


def _ci_level_text(r: dict) -> str:
    """'90% CI' where the paper prints an interval at another level than 95%; else ''."""
    if r["measure"] == "HR" and r["ci_source"] == "printed" and is_number(r["ci_level"]):
        level = round(100 * r["ci_level"])
        return "" if level == 95 else f"{level}% CI"
    return ""


NR = "NR"   # not reported: a blank cell would read as 'nothing happened' or 'we lost it'


def _nr(x) -> str:
    return str(int(x)) if is_number(x) else NR


def _p_text(r: dict) -> str:
    """The p value as the paper prints it ('NS' and 'NA' stay as printed); NR when it prints none."""
    if isinstance(r.get("p_text"), str) and r["p_text"].strip():
        return r["p_text"].strip()
    return fmt_number(r["p"]) if is_number(r.get("p")) else NR


def _short_adjustment(adjusted_for: str) -> str:
    """'portal vein tumor thrombus (absence/presence), AFP (...)' -> 'portal vein tumor thrombus, AFP'."""
    short = re.sub(r"\s*\([^()]*\)", "", str(adjusted_for or ""))
    return re.sub(r"\s+", " ", short).strip(" ,;")


def _cells(r: dict, cols: list[_Col], size: float) -> dict:
    """The lines of every cell of one row, wrapped to the column widths."""
    def wrap(text, c):
        return _wrap_cell(text, c.max_px, size=size)

    # a major conflict is marked prominently, a minor one quietly
    mark = {"major": "⚠ ", "minor": "* "}.get(r.get("conflict_severity") or ("major" if r["conflict"] else ""), "")
    design = SHORT_DESIGN.get(r["design"], r["design"])
    if r["source_kind"] == "review":
        design += " (review)"
    pop = "" if r["population"] == "overall" else (
        "matched cohort" if r["population"] == "matched" else r["population_label"])
    out = {}
    for c in cols:
        if c.key == "t_study":
            out[c.key] = wrap(mark + r["study"], c) + [(x, SUB) for x in wrap(design, c)]
        elif c.key == "t_comparison":
            out[c.key] = wrap(r["comparison"], c) + [(x, SUB) for x in (wrap(pop, c) if pop else [])]
        elif c.key == "t_n":
            n_e, n_r, e_e, e_r = (r["n_experimental"], r["n_reference"], r["events_experimental"],
                                  r["events_reference"])
            n = NR if not (is_number(n_e) or is_number(n_r)) else f"{_nr(n_e)} / {_nr(n_r)}"
            ev = NR if not (is_number(e_e) or is_number(e_r)) else f"{_nr(e_e)} / {_nr(e_r)}"
            out[c.key] = [n, f"({ev})"]
        elif c.key == "t_events":   # responders of a response row
            out[c.key] = wrap(f"{r['events_experimental']}/{r['n_experimental']} vs "
                              f"{r['events_reference']}/{r['n_reference']}", c)
        elif c.key == "t_criteria":
            out[c.key] = wrap(r["criteria"] or "", c)
        elif c.key == "t_patient":
            fit = r.get("patient_fit") or "unclear"
            out[c.key] = [(PATIENT_MARKS[fit][0], PATIENT_COLOURS[fit]), (fit, PATIENT_COLOURS[fit])]
        elif c.key == "t_effect":
            level = _ci_level_text(r)
            out[c.key] = wrap(_effect_text(r), c) + [(f"p {_p_text(r)}" + (f" · {level}" if level else ""), SUB)]
        elif c.key == "t_adjusted":
            if r["adjusted"]:
                out[c.key] = _clamp_lines(wrap("adj. for " + (_short_adjustment(r["adjusted_for"]) or NR), c),
                                          2, c.max_px, size)
            else:
                out[c.key] = ["unadj."]
            if isinstance(r.get("certainty_symbol"), str):
                text = f"{r['certainty_symbol']} {r['certainty_label'].lower()}"
                out[c.key] = out[c.key] + [(x, CERTAINTY_INK) for x in wrap(text, c)]
    return out


PATIENT_MARKS = {"within": ("✓", "within"), "outside": ("✗", "outside"), "unclear": ("?", "unclear")}
PATIENT_COLOURS = {"within": "#1a6b30", "outside": "#a32020", "unclear": "#555555"}   # >= 4.5:1 on white


def _patient_hover(r: dict) -> str:
    lines = [f"<b>Patient: {esc(r.get('patient_fit') or 'unclear')}</b>"]
    for why in str(r.get("patient_why") or "").split("; "):
        if why:
            lines.append("<br>   ".join(esc(x) for x in textwrap.wrap(why, 90)))
    return "<br>".join(lines)


def _certainty_hover(r: dict) -> str:
    """The certainty of a row and every reason it was rated down (GRADE, from evidence.certainty)."""
    if not isinstance(r.get("certainty_symbol"), str):
        return "Not rated"
    lines = [f"<b>Certainty: {esc(r['certainty_symbol'])} {esc(r['certainty_label'])}</b> (GRADE)"]
    reasons = r.get("certainty_reasons")
    for reason in reasons if isinstance(reasons, list) else []:
        lines.append("• " + "<br>   ".join(esc(x) for x in textwrap.wrap(reason, 90)))
    return "<br>".join(lines)


def _hover(r: dict) -> str:
    lines = [f"<b>{esc(r['study'])}</b>  ({esc(DESIGN_LABELS.get(r['design'], r['design']))}"
             + (", reported in a review" if r["source_kind"] == "review" else "") + ")",
             esc(r["comparison"]) + f" · {esc(ENDPOINT_TITLES.get(r['group'], r['group']))}"
             + (f" · {esc(r['criteria'])}" if r["criteria"] else "")
             + f" · {esc(r['population_label'])}",
             f"{MEASURE_LABELS[r['measure']]} {esc(_effect_text(r))}"
             + (f" ({_ci_level_text(r)})" if _ci_level_text(r) else "") + f", p {esc(_p_text(r))}"]
    if r["measure"] == "HR":
        lines.append("Adjusted for " + esc(r["adjusted_for"]) if r["adjusted"] else "Unadjusted")
        if r.get("design_details"):
            lines.append("Design: " + "<br>   ".join(esc(x) for x in textwrap.wrap(r["design_details"], 90)))
        if isinstance(r.get("certainty_symbol"), str):
            lines.append(f"Certainty {esc(r['certainty_symbol'])} {esc(r['certainty_label'])} (GRADE; "
                         "hover the adjustment and certainty column for the reasons)")
        lines.append(f"n {_nr(r['n_experimental'])} / {_nr(r['n_reference'])}, events "
                     f"{_nr(r['events_experimental'])} / {_nr(r['events_reference'])} "
                     "(experimental / reference; NR: not reported)")
    else:
        lines.append(esc(r["method"]))
    if r["ci_source"] == "derived from p":
        lines.append("† no CI printed: 95% CI derived from the HR and p" + (f" ({esc(r['se_note'])})" if r["se_note"] else ""))
    for loc, snip in r["snippets"]:
        wrapped = "<br>   ".join(esc(x) for x in textwrap.wrap(f"“{snip}”", 90))
        lines.append(f"<i>{esc(loc)}</i>: {wrapped}")
    if r["conflict"]:
        lines.append("Conflict in the paper: " + "<br>   ".join(esc(x) for x in textwrap.wrap(r["conflict"], 90)))
    return "<br>".join(lines)


def _axis(measure: str, lows, highs, ests) -> tuple[float, float, list, list]:
    """Axis range (data units) and ticks. CIs may be clipped (arrows); estimates never are."""
    vals = [v for v in list(lows) + list(highs) + list(ests) if is_number(v)]
    est = [v for v in ests if is_number(v)]
    if measure == "RD":
        lo = min(vals + [0.0]) - 0.05
        hi = max(vals + [0.0]) + 0.05
        lo, hi = max(lo, -1.0), min(hi, 1.0)
        step = 0.1 if hi - lo <= 1 else 0.25
        ticks = [round(step * i, 2) for i in range(math.floor(lo / step), math.ceil(hi / step) + 1)]
        ticks = [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9]
        return lo, hi, ticks, [f"{100 * t:+.0f}" if t else "0" for t in ticks]
    vals = [v for v in vals if v > 0] or [1.0]
    lo = min(vals + [1.0]) / 1.15
    hi = max(vals + [1.0]) * 1.15
    # cap the span so one wide CI does not squash every other row; clip it with an arrow instead
    e_lo = min(est + [1.0]) / 1.3
    e_hi = max(est + [1.0]) * 1.3
    lo = max(lo, min(0.05, e_lo))
    hi = min(hi, max(20.0, e_hi))
    fine = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100]
    coarse = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    ticks = [t for t in fine if lo <= t <= hi]
    if len(ticks) > 9:
        ticks = [t for t in coarse if lo <= t <= hi]
    return lo, hi, ticks, [f"{t:g}" for t in ticks]


def _line_html(line) -> str:
    if isinstance(line, tuple):
        return f'<span style="color:{line[1]}">{esc(line[0])}</span>'
    return esc(line)


def _lines_px(lines, size: float, bold: bool = False) -> float:
    return max([text_px(x[0] if isinstance(x, tuple) else x, size, bold) for x in lines] + [0])


def table_layout(fig: go.Figure) -> dict:
    """The side table's geometry, as forest_figure laid it out (for the page and the tests)."""
    return dict(fig.layout.meta or {})


def text_boxes(fig: go.Figure, width: float | None = None) -> list[dict]:
    """Every side-table text as a box in figure pixels at this figure width.

    x from the annotation's paper x, its pixel shift and anchor; the width from
    the same font metrics the layout used. Used by the tests to prove that no
    two texts of one row overlap, whatever width the browser gives the figure.
    """
    meta = table_layout(fig)
    width = width or fig.layout.width
    ml, mr = fig.layout.margin.l, fig.layout.margin.r
    boxes = []
    for a in fig.layout.annotations:
        if a.yref != "y" or a.xref != "paper":
            continue
        lines = [re.sub(r"<[^>]+>", "", x) for x in a.text.split("<br>")]
        lines = [html.unescape(x) for x in lines]
        size = a.font.size or meta.get("table_font", TABLE_FONT_SIZE)
        bold = a.text.startswith("<b>")
        w = _lines_px(lines, size, bold)
        x = ml + a.x * (width - ml - mr) + (a.xshift or 0)
        x0 = x if a.xanchor == "left" else (x - w if a.xanchor == "right" else x - w / 2)
        boxes.append(dict(x0=x0, x1=x0 + w, y=a.y, lines=len(lines), text=" ".join(lines)))
    return boxes


def forest_figure(rows: pd.DataFrame, pooled: list | None = None, reason: str = "",
                  title: str | None = None, font_size: int = 14) -> go.Figure:
    """The forest plot with its side table. rows come from hazard_ratio_rows or response_rows.

    font_size: base font in px (14 on a laptop, larger in presentation mode);
    every text, the table's columns and row heights scale with it.
    layout.width is the exported size; layout.meta["min_width"] the narrowest
    width at which the table still fits beside a readable effect axis.
    """
    pooled = pooled or []
    measure = rows["measure"].iloc[0] if len(rows) else "HR"
    log_axis = measure in ("HR", "RR")
    left, right = _columns(measure, patient="patient_fit" in rows.columns)
    k = font_size / 14
    tfs = max(12, round(TABLE_FONT_SIZE * k))        # never below 12 px
    line_px, pad_px, gap_px, edge_px = LINE_PX * tfs / TABLE_FONT_SIZE, ROW_PAD_PX * k, GAP_PX * k, EDGE_PX
    plot_full, plot_min, plot_max = PLOT_PX * k, MIN_PLOT_PX * k, MAX_PLOT_PX * k
    for c in left + right:
        c.max_px = int(c.max_px * tfs / TABLE_FONT_SIZE)
    records = rows.to_dict("records")
    cells = [_cells(r, left + right, tfs) for r in records]

    # --- row list: endpoint headers, study rows, pooled rows -----------------
    items = []   # (kind, payload, cells)
    for group in dict.fromkeys(r["group"] for r in records):
        items.append(("header", ENDPOINT_TITLES.get(group, group), None))
        items += [("row", r, c) for r, c in zip(records, cells) if r["group"] == group]
        for p in pooled:
            if p.group != group:
                continue
            v = p.pooled.ratio()
            pc = {left[0].key: _wrap_cell(p.label, left[0].max_px, bold=True, size=tfs),
                  left[1].key: _wrap_cell(p.comparison, left[1].max_px, size=tfs),
                  right[0].key: [f"{v['estimate']:.2f} ({v['ci_low']:.2f}–{v['ci_high']:.2f})",
                                 f"PI {v['pi_low']:.2f}–{v['pi_high']:.2f}" if v["pi_low"] is not None
                                 else "no PI (k < 3)"]}
            het = f"I² {100 * p.pooled.i2:.0f}%, τ² {p.pooled.tau2:.3f}"
            if len(right) > 1:
                pc[right[1].key] = _wrap_cell(het, right[1].max_px, size=tfs)
            else:
                pc[right[0].key].append(het)
            items.append(("pooled", p, pc))

    # --- column widths (px): the widest line of the column, header included --
    def col_width(c: _Col) -> float:
        body = [_lines_px(it[2].get(c.key, []), tfs, bold=(it[0] == "pooled" and c is left[0]))
                for it in items if it[2] is not None]
        return min(max(body + [_lines_px(c.header, tfs, bold=True)]), max(c.max_px, _lines_px(c.header, tfs, True)))

    lw = [col_width(c) + gap_px for c in left]       # each followed by its gap (the last: to the plot)
    rw = [gap_px + col_width(c) for c in right]      # each preceded by its gap (the first: from the plot)
    margin_l = int(math.ceil(edge_px + sum(lw)))
    margin_r = int(math.ceil(sum(rw) + edge_px))

    # --- rows: heights from the lines of their tallest cell ------------------
    header_lines = max(len(c.header) for c in left + right)
    header_px = header_lines * line_px + pad_px
    heights, y_centres, y = [], [], header_px
    for kind, payload, pc in items:
        lines = 1 if kind == "header" else max(len(v) for v in pc.values())
        h = lines * line_px + pad_px
        heights.append(h)
        y_centres.append(y + h / 2)
        y += h
    plot_h = y + 8

    lows = [r["ci_low"] for r in records] + [p.pooled.ratio()["pi_low"] for p in pooled]
    highs = [r["ci_high"] for r in records] + [p.pooled.ratio()["pi_high"] for p in pooled]
    ests = [r["effect"] for r in records]
    lo, hi, ticks, ticktext = _axis(measure, lows, highs, ests)
    null = 1.0 if log_axis else 0.0

    fig = go.Figure()
    annotations, shapes = [], []
    body_top = header_px

    # --- table: pixel positions from the figure's left or right edge ---------
    # a left-table text sits at paper x=0 shifted left into the margin, a
    # right-table text at x=1 shifted right: neither moves when the width changes
    left_x = [edge_px + sum(lw[:i]) for i in range(len(left))]          # from the figure's left edge
    right_x = [sum(rw[:i]) + gap_px for i in range(len(right))]         # from the plot's right edge
    left_w = [w - gap_px for w in lw]
    right_w = [w - gap_px for w in rw]

    def put_text(lines, side, x_px, w_px, yc, align, bold=False, hover=None, color="#111111", size=tfs):
        if align == "left":
            pos, anchor = x_px, "left"
        elif align == "right":
            pos, anchor = x_px + w_px, "right"
        else:
            pos, anchor = x_px + w_px / 2, "center"
        text = "<br>".join(_line_html(x) for x in lines)
        ann = dict(x=0 if side == "left" else 1, xref="paper", xshift=pos - margin_l if side == "left" else pos,
                   y=yc, yref="y", xanchor=anchor, yanchor="middle",
                   text=f"<b>{text}</b>" if bold else text, showarrow=False, align=align,
                   font=dict(size=size, color=color))
        if hover:
            ann["hovertext"] = hover
            ann["hoverlabel"] = dict(bgcolor="white", font=dict(size=max(13, tfs)))
        annotations.append(ann)

    def band(y0, y1, fill=None, line=None):
        """A stripe or rule across the whole figure: left margin, plot area, right margin."""
        common = dict(yref="y", layer="below")
        if fill:
            common.update(type="rect", y0=y0, y1=y1, fillcolor=fill, line=dict(width=0))
        else:
            common.update(type="line", y0=y0, y1=y0, line=line)
        shapes.append(dict(common, xref="paper", xsizemode="pixel", xanchor=0, x0=edge_px / 2 - margin_l, x1=0))
        shapes.append(dict(common, xref="paper", x0=0, x1=1))
        shapes.append(dict(common, xref="paper", xsizemode="pixel", xanchor=1, x0=0, x1=margin_r - edge_px / 2))

    for side, cols, xs, ws in (("left", left, left_x, left_w), ("right", right, right_x, right_w)):
        for c, x, w in zip(cols, xs, ws):
            put_text(c.header, side, x, w, header_px / 2, c.align, bold=True)
    band(header_px, None, line=dict(color="#333333", width=1.2))

    striped = 0
    for (kind, payload, pc), yc, h in zip(items, y_centres, heights):
        if kind == "header":
            band(yc - h / 2, yc + h / 2, fill="#e8edf5")
            put_text([payload], "left", left_x[0], sum(left_w), yc, "left", bold=True, size=font_size)
            striped = 0
            continue
        if kind == "row":
            if striped % 2 == 1:
                band(yc - h / 2, yc + h / 2, fill="#f6f6f6")
            striped += 1
            hover = _hover(payload)
        for side, cols, xs, ws in (("left", left, left_x, left_w), ("right", right, right_x, right_w)):
            for c, x, w in zip(cols, xs, ws):
                if c.key not in pc:
                    continue
                color = ("#8a4b00" if kind == "row" and c.key == "t_study" and payload.get("conflict_severity") == "major"
                         else "#111111")
                tip = None
                if kind == "row" and c.key in ("t_study", "t_effect"):
                    tip = hover
                elif kind == "row" and c.key == "t_patient":
                    tip = _patient_hover(payload)
                elif kind == "row" and c.key == "t_adjusted":
                    tip = ("Adjusted for " + esc(payload["adjusted_for"]) if payload["adjusted"] else "Unadjusted")
                    if isinstance(payload.get("certainty_symbol"), str):
                        tip += "<br>" + _certainty_hover(payload)
                put_text(pc[c.key], side, x, w, yc, c.align, bold=(kind == "pooled" and c is left[0]),
                         hover=tip, color=color)

    # --- effect axis: null line, light ticks ---------------------------------
    def clip(v):
        return min(max(v, lo), hi)

    grid_x, grid_y = [], []
    for t in ticks:
        if t != null:
            grid_x += [t, t, None]
            grid_y += [body_top, plot_h, None]
    fig.add_trace(go.Scatter(x=grid_x, y=grid_y, mode="lines", line=dict(color="#dddddd", width=1),
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=[null, null], y=[body_top, plot_h], mode="lines",
                             line=dict(color="#333333", width=1.5), hoverinfo="skip", showlegend=False,
                             name="no difference"))

    # --- markers: shape by design, fill by adjustment, size by precision -----
    # Drawn before the whiskers, so a whisker is never hidden behind its marker,
    # and never wider than 55% of the CI on the narrowest axis the page allows:
    # a narrow interval (BRISK-FL, LIGHT) stays visible beside its marker.
    span = (math.log10(hi) - math.log10(lo)) if log_axis else (hi - lo)
    px_per_unit = plot_min / span if span > 0 else 1.0

    def to_unit(v):
        return math.log10(v) if log_axis else v

    def from_unit(u):
        return 10 ** u if log_axis else u

    arrow_half = 6 * k / px_per_unit          # half the 12*k px clipping arrow, in axis units (narrowest plot)

    precisions = [1 / r["se"] for r in records if is_number(r["se"]) and r["se"] > 0]
    pmax = max(precisions) if precisions else 1.0
    smallest = 7 * k

    def size(r):
        # area proportional to precision (1/SE), between 9 and 20 px across
        if not is_number(r["se"]) or r["se"] <= 0:
            s = 9 * k
        else:
            s = max(9.0 * k, 20.0 * k * math.sqrt((1 / r["se"]) / pmax))
        if is_number(r["ci_low"]) and is_number(r["ci_high"]) and (not log_axis or r["ci_low"] > 0):
            ci_px = (to_unit(clip(r["ci_high"])) - to_unit(clip(r["ci_low"]))) * px_per_unit
            s = min(s, max(smallest, 0.55 * ci_px))
        return round(s, 1)

    cats = {}
    for (kind, r, _), yc in zip(items, y_centres):
        if kind != "row" or not is_number(r["effect"]):
            continue
        cat = REVIEW_CATEGORY if r["source_kind"] == "review" else DESIGN_CATEGORY.get(r["design"], r["design"])
        cats.setdefault((cat, r["adjusted"]), []).append((r, yc))
    for (cat, adjusted), pts in cats.items():
        symbol = SYMBOLS.get(cat, "square") + ("" if adjusted else "-open")
        fig.add_trace(go.Scatter(
            x=[clip(r["effect"]) for r, _ in pts], y=[yc for _, yc in pts], ids=[r["row_id"] for r, _ in pts],
            mode="markers", showlegend=False, name=f"{cat}, {'adjusted' if adjusted else 'unadjusted'}",
            # an '-open' symbol is drawn in marker.color: INK for both, the fill is in the symbol name
            marker=dict(symbol=symbol, size=[size(r) for r, _ in pts], color=INK,
                        line=dict(color=INK, width=1.6 * k)),
            customdata=[_hover(r) for r, _ in pts], hovertemplate="%{customdata}<extra></extra>",
            meta="estimates"))

    # --- whiskers (above the markers) and clipping arrows ---------------------
    wx, wy, dx, dy, arrows_l, arrows_r = [], [], [], [], [], []
    for (kind, r, _), yc in zip(items, y_centres):
        if kind != "row" or not is_number(r["ci_low"]) or not is_number(r["ci_high"]):
            continue
        a, b = clip(r["ci_low"]), clip(r["ci_high"])
        target_x, target_y = (dx, dy) if r["ci_source"] == "derived from p" else (wx, wy)
        target_x += [a, b, None]
        target_y += [yc, yc, None]
        # the arrow's centre sits half its width inside the axis, so all of it stays within the plot
        # (centred on the axis end, its outer half was cut off: ORR risk ratio to 139.8)
        if r["ci_low"] < lo:
            arrows_l.append((from_unit(to_unit(lo) + arrow_half), yc))
        if r["ci_high"] > hi:
            arrows_r.append((from_unit(to_unit(hi) - arrow_half), yc))
    fig.add_trace(go.Scatter(x=wx, y=wy, mode="lines", line=dict(color=INK, width=2 * k), hoverinfo="skip",
                             showlegend=False, meta="whiskers"))
    if dx:
        fig.add_trace(go.Scatter(x=dx, y=dy, mode="lines", line=dict(color=INK, width=2 * k, dash="dot"),
                                 hoverinfo="skip", showlegend=False, meta="whiskers derived"))
    for pts, symbol in ((arrows_l, "triangle-left"), (arrows_r, "triangle-right")):
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers",
                                     marker=dict(symbol=symbol, size=12 * k, color=INK), hoverinfo="skip",
                                     showlegend=False, meta="clipped"))

    # --- pooled diamonds and prediction intervals ----------------------------
    for (kind, p, _), yc in zip(items, y_centres):
        if kind != "pooled":
            continue
        v = p.pooled.ratio()
        dh = 9 * k
        fig.add_trace(go.Scatter(
            x=[clip(v["ci_low"]), v["estimate"], clip(v["ci_high"]), v["estimate"], clip(v["ci_low"])],
            y=[yc, yc - dh, yc, yc + dh, yc], fill="toself", mode="lines", fillcolor="#b22222",
            line=dict(color="#b22222", width=1), showlegend=False, meta="pooled",
            hovertemplate=esc(f"{p.label}: {p.comparison}. {p.pooled.method}") + "<extra></extra>"))
        if v["pi_low"] is not None:
            fig.add_trace(go.Scatter(x=[clip(v["pi_low"]), clip(v["pi_high"])], y=[yc + dh + 4] * 2,
                                     mode="lines", line=dict(color="#b22222", width=2, dash="dash"),
                                     showlegend=False, meta="prediction interval", hoverinfo="skip"))

    # --- legend: what shape and fill mean (dummy entries, no data) ----------
    # Two vertical legends: marker shape (design) in the left margin above the
    # table, fill (adjustment) above the effect axis. A horizontal plotly legend
    # wraps at the width of the plot area alone, which is narrow here.
    lsize = round(13 * k)
    shapes_legend, fill_legend = [], []
    present = list(dict.fromkeys(c for c, _ in cats))
    for cat in present:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=cat, meta="legend", legend="legend",
                                 marker=dict(symbol=SYMBOLS.get(cat, "square"), size=lsize, color=MUTED)))
        shapes_legend.append(cat)
    adj_states = {a for _, a in cats}
    if True in adj_states or measure == "HR":
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="filled: adjusted", meta="legend",
                                 legend="legend2",
                                 marker=dict(symbol="square", size=lsize, color=INK, line=dict(color=INK, width=2))))
        fill_legend.append("filled: adjusted")
    hollow = "hollow: unadjusted" + (" (crude counts)" if measure != "HR" else "")
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=hollow, meta="legend", legend="legend2",
                             marker=dict(symbol="square-open", size=lsize, color=INK, line=dict(color=INK, width=2))))
    fill_legend.append(hollow)
    if pooled:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="pooled (random effects)",
                                 meta="legend", legend="legend2",
                                 marker=dict(symbol="diamond-wide", size=lsize + 2, color="#b22222")))
        fill_legend.append("pooled (random effects)")

    # --- widths: exported, narrowest and widest ---------------------------------
    min_width = int(math.ceil(margin_l + margin_r + plot_min))
    width = int(math.ceil(margin_l + margin_r + plot_full))
    max_width = int(math.ceil(margin_l + margin_r + plot_max))

    legend_row_px = max(19.0, 1.45 * tfs)
    legend_rows = 1 + max(len(shapes_legend), len(fill_legend))      # a title row, then the items
    title_px = 1.5 * (font_size + 4) + 16 if title else 8
    margin_t = int(title_px + legend_rows * legend_row_px + 16)
    legend_top = 1 + (legend_rows * legend_row_px + 10) / plot_h     # paper units: the plot area is plot_h tall

    # --- favours labels, axis title, footnotes ------------------------------
    if log_axis:
        null_frac = (math.log10(null) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    else:
        null_frac = (null - lo) / (hi - lo)
    # lower HR = fewer events = better for the experimental arm; for response, higher is better
    left_label, right_label = ("favours experimental", "favours reference") if measure == "HR" else (
        "favours reference", "favours experimental")
    for text, anchor, shift in ((f"◀ {left_label}", "right", -8), (f"{right_label} ▶", "left", 8)):
        annotations.append(dict(x=null_frac, xref="x domain", y=0, yref="paper", xanchor=anchor,
                                yanchor="top", xshift=shift, yshift=-48 * k, text=f"<i>{text}</i>",
                                showarrow=False, font=dict(size=tfs, color="#111111")))
    notes = []
    if reason:
        notes.append(reason)
    if any(r["ci_source"] == "derived from p" for r in records):
        notes.append("† No CI printed: 95% CI derived from the HR and its p value (dotted whisker).")
    if any(r.get("continuity_correction") for r in records):
        notes.append("‡ An arm with no responders: 0.5 added to every cell (continuity correction).")
    if any(r.get("conflict_severity") == "major" for r in records):
        notes.append("⚠ The paper contradicts itself on a number of this row (hover for both values; "
                     "the evidence browser shows both snippets).")
    if any(r.get("conflict_severity") == "minor" for r in records):
        notes.append("* A minor inconsistency in the paper (wording or a detail) touches this row; hover for it.")
    if measure != "HR" and records:
        notes.append("Computed from counts: " + ("risk ratio with a log-scale 95% CI." if measure == "RR"
                     else "risk difference with Newcombe's hybrid score 95% CI (method 10)."))
    if any(r["ci_source"] == "printed" and round(100 * r["ci_level"]) != 95 for r in records):
        notes.append("A CI level other than 95% is named after p, as the paper gives it.")
    if measure == "HR" and records:
        notes.append("NR: not reported by the source. n (events): experimental / reference arm.")
    # covariates shortened in the table, in full: the exported figure has no hover
    full = {}
    for r, c in zip(records, cells):
        shown = " ".join(x[0] if isinstance(x, tuple) else x for x in c.get("t_adjusted", [])
                         if not (isinstance(x, tuple) and x[1] == CERTAINTY_INK))
        if r["adjusted"] and " ".join(shown.split()) != " ".join(f"adj. for {r['adjusted_for']}".split()):
            full.setdefault(f"{r['study']} ({r['group']})", r["adjusted_for"])
    if full:
        notes.append("Adjusted for, in full: " + "; ".join(f"{k}: {v}" for k, v in full.items()) + ".")
    note_lines = [line for note in notes for line in _wrap_cell(note, min_width - 2 * edge_px, size=tfs)]
    note_step = 1.45 * tfs
    for i, line in enumerate(note_lines):
        annotations.append(dict(x=0, xref="paper", xshift=edge_px - margin_l, y=0, yref="paper", xanchor="left",
                                yanchor="top", yshift=-(48 * k + 2.2 * tfs) - note_step * i, text=esc(line),
                                showarrow=False, align="left", font=dict(size=tfs, color="#333333")))
    margin_b = int(48 * k + 2.2 * tfs + note_step * len(note_lines) + 16)
    height = int(plot_h + margin_t + margin_b)

    xaxis = dict(domain=[0, 1], showgrid=False, zeroline=False, showline=True,
                 linecolor="#333333", ticks="outside", tickvals=ticks, ticktext=ticktext,
                 tickfont=dict(size=tfs), title=dict(text=f"{MEASURE_LABELS[measure]}"
                                                   + (" (log scale)" if log_axis else ""),
                                                   font=dict(size=tfs), standoff=6),
                 fixedrange=True)
    if log_axis:
        xaxis.update(type="log", range=[math.log10(lo), math.log10(hi)])
    else:
        xaxis.update(type="linear", range=[lo, hi])
    fig.update_layout(
        title=dict(text=esc(title) if title else None, x=0, xanchor="left", xref="container", y=1,
                   yanchor="top", yref="container", pad=dict(t=12, l=edge_px), font=dict(size=font_size + 4)),
        font=dict(FONT, size=font_size), width=width, height=height,
        margin=dict(l=margin_l, r=margin_r, t=margin_t, b=margin_b, autoexpand=False),
        paper_bgcolor="white", plot_bgcolor="white",
        xaxis=xaxis,
        yaxis=dict(range=[plot_h, 0], visible=False, fixedrange=True),
        legend=dict(orientation="v", xref="container", x=0, xanchor="left", y=legend_top, yanchor="top",
                    font=dict(size=tfs), itemclick=False, itemdoubleclick=False, tracegroupgap=0,
                    title=dict(text="<b>Marker shape: design</b>", font=dict(size=tfs)), bgcolor="rgba(0,0,0,0)"),
        legend2=dict(orientation="v", xref="paper", x=0, xanchor="left", y=legend_top, yanchor="top",
                     font=dict(size=tfs), itemclick=False, itemdoubleclick=False, tracegroupgap=0,
                     title=dict(text="<b>Fill: adjustment</b>" if measure == "HR" else "<b>Fill</b>",
                                font=dict(size=tfs)), bgcolor="rgba(0,0,0,0)"),
        annotations=annotations, shapes=shapes, hovermode="closest",
        hoverlabel=dict(bgcolor="white", font=dict(size=max(13, tfs)), align="left"),
        meta=dict(min_width=min_width, max_width=max_width, table_font=tfs,
                  left_columns=[c.key for c in left], right_columns=[c.key for c in right],
                  left_x=left_x, left_w=left_w, right_x=right_x, right_w=right_w),
    )
    return fig


def page_css(fig: go.Figure, scroll_key: str, frame_key: str, exports_key: str | None = None) -> str:
    """Stylesheet for the page, built from numbers and the given container keys only.

    Streamlit sizes a chart to its container and squeezes a wider one, so the
    figure sits in a frame that is at least layout.meta["min_width"] wide inside
    a container that scrolls sideways: on a narrow window the plot scrolls, the
    table keeps its size. On a wide screen the frame stops at max_width, so a
    row stays easy to follow from the study to its estimate. exports_key: the
    export buttons' row takes the width of its buttons (a long label is not cut).
    """
    meta = table_layout(fig)
    lo = int(meta.get("min_width", 0))
    hi = max(lo, int(meta.get("max_width", 0)) or 100000)
    for key in (scroll_key, frame_key, exports_key):
        if key is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", key):
            raise ValueError(f"container key {key!r}: letters, digits, '-' and '_' only")
    css = (f".st-key-{scroll_key} {{ overflow-x: auto; overflow-y: hidden; }}"
           f".st-key-{frame_key} {{ min-width: {lo}px; max-width: {hi}px; }}")
    if exports_key:
        css += (f".st-key-{exports_key} [data-testid='stHorizontalBlock'] {{ flex-wrap: wrap; }}"
                f".st-key-{exports_key} [data-testid='stColumn'] {{ flex: 0 0 auto !important; "
                f"width: auto !important; min-width: 0 !important; }}")
    return f"<style>{css}</style>"


def download_config(fig: go.Figure, fmt: str = "svg", filename: str = "forest_plot") -> dict:
    """Plotly config: the camera button saves the figure at its full size as SVG or PNG."""
    fmt = fmt.lower()
    return {
        "displaylogo": False,
        "displayModeBar": True,
        "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "zoom2d", "pan2d",
                                   "zoomIn2d", "zoomOut2d"],
        "toImageButtonOptions": {"format": fmt, "filename": filename,
                                 "width": fig.layout.width, "height": fig.layout.height,
                                 "scale": 2 if fmt == "png" else 1},
    }


