"""Adverse-event figures: the terms x arms heatmap and the two-arm difference plot.

Builders only: they take the matrices of evidence.ae_matrix and return plotly
figures (and tables for download); they touch no files and no streamlit.
Made for a meeting-room projector: fonts of 12 px and more, one row per term at
a fixed height so 30 rows and 8 arms never overlap, and a colour scale that
means the same thing in every view.
"""
from __future__ import annotations

import html
import textwrap

import pandas as pd
import plotly.graph_objects as go

from evidence.ae_matrix import BANDS, OVERALL, UNMAPPED, AEMatrix, Differences, split_arm_key
from .overview import study_name

# cividis: designed for colour-vision deficiency and perceptually uniform. The
# scale is fixed per grade band, never fitted to the data, so a colour means the
# same frequency in every view and link: grade 3-4 events rarely pass 40%, so
# 0-50% (darkest to brightest; anything above is as bright as 50% and its number
# says by how much) keeps them apart; any grade and grade 1-2 use 0-100%.
COLOURSCALE = "Cividis"
SCALE_MAX = {"3-4": 50.0, "any": 100.0, "1-2": 100.0}
NR_GREY = "#b8b8b8"
NR_TEXT = "NR"
CONFLICT_MARK = "⚠"
FONT = dict(family="Arial, Helvetica, sans-serif", size=14, color="#111111")
ROW_HEIGHT = 36            # px per row (terms and organ-system headers): two lines of 13 px cell text
TOP_MARGIN = 165           # arm labels (study / arm in up to 3 lines / N / matched) above the grid
BOTTOM_MARGIN = 40


def _wrap(text: str, width: int, max_lines: int = 3) -> list[str]:
    # hyphenated names stay whole unless a part is longer than the line ("FOLFOX-HAIC")
    hyphens = any(len(w) > width for w in str(text).split())
    lines = textwrap.wrap(str(text), width=width, break_long_words=False, break_on_hyphens=hyphens) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" ,;") + "…"
    return lines


def _esc(text) -> str:
    """Plotly renders a subset of HTML in labels: escape what came from a file."""
    return html.escape(str(text), quote=False)


def study_title(store, study_id: str) -> str:
    """The study as a clinician names it; a review-reported trial without a name gets its citation's words."""
    name = study_name(store, study_id)
    if name == study_id:
        row = store.studies[store.studies.study_id == study_id]
        cit = str(row.citation.iloc[0]) if len(row) and isinstance(row.citation.iloc[0], str) else ""
        name = cit.split(" as reported in")[0].strip() or study_id
    return name


def _is_review(store, study_id: str) -> bool:
    row = store.studies[store.studies.study_id == study_id]
    return bool(len(row)) and "source_kind" in row and row.source_kind.iloc[0] == "review"


COLUMN_WIDTH = 100         # px per arm where the screen allows; narrower screens shrink the figure
RIGHT_MARGIN = 130         # colour bar and the NR / conflict key
CHAR_PX = 7.5              # width of a 14 px character, for the term names on the left


def label_width(n_columns: int) -> int:
    """Characters per column-label line so that neighbouring labels never touch.

    Sized for the narrowest screen we expect (a 1280 px laptop or projector
    with the sidebar open: ~500 px for the columns once the term names and the
    colour bar are placed; 12 px text is ~6.8 px per character). Words longer
    than a line break at their hyphen (FOLFOX-/HAIC).
    """
    return max(7, min(16, int(500 / max(n_columns, 1) / 6.8)))


def figure_width(n_columns: int, longest_term_line: int) -> int:
    """The figure's own width: fixed per column, so column labels cannot collide on a narrow
    screen (the page scrolls sideways instead) and cells do not balloon on a wide one."""
    left = int(CHAR_PX * longest_term_line) + 20
    return left + RIGHT_MARGIN + COLUMN_WIDTH * max(n_columns, 1)


def arm_label(store, column, width: int = 13) -> str:
    """'Huang 2022<br>FOLFOX-HAIC<br>N=55' (N of the adverse-event table; 'matched' where it is)."""
    arm = store.arm_label(column.study_id, column.arm_id)
    # narrow columns: a long label loses its parenthesis (the hover keeps the full label)
    if len(_wrap(arm, width, 99)) > 3 and " (" in arm:
        arm = arm.split(" (")[0]
    lines = [f"<b>{_esc(x)}</b>" for x in _wrap(study_title(store, column.study_id), width, 2)]
    lines += [_esc(x) for x in _wrap(arm, width, 3)]
    lines.append(f"N={column.n}" if column.n else "N not stated")
    if column.n_note:
        lines.append(f"({column.n_note})")
    if _is_review(store, column.study_id):
        lines.append("<i>via review</i>")
    if not column.has_ae_data:
        lines.append("<i>no AE data</i>")
    return "<br>".join(lines)


def arm_plain_label(store, key: str) -> str:
    sid, aid = split_arm_key(key)
    return f"{study_title(store, sid)} · {store.arm_label(sid, aid)}"


def cell_text(cell) -> str:
    """'12.1% ⚠' over '8/66': the percent shown and its count; 'NR' when not reported."""
    if cell["status"] == "NR":
        return NR_TEXT
    pct = cell["percent"]
    mark = f" {CONFLICT_MARK}" if cell["mismatch"] or cell["conflict_ids"] else ""
    if not _has_percent(cell):
        return f"n={int(cell['count'])}{mark}<br>no N"
    top = f"{pct:.1f}%"
    if mark:
        top += f" {CONFLICT_MARK}"
    if cell["count"] is not None and not pd.isna(cell["count"]):
        bottom = f"{int(cell['count'])}/{int(cell['denominator'])}"
    elif cell["denominator"] is not None and not pd.isna(cell["denominator"]):
        bottom = f"of {int(cell['denominator'])}"      # only the percent is printed
    else:
        bottom = "% only"
    return f"{top}<br>{bottom}"


def _has_percent(cell) -> bool:
    return cell["percent"] is not None and not pd.isna(cell["percent"])


def _grade_text(cell) -> str:
    band = {"3-4": "grade 3-4", "any": "any grade", "1-2": "grade 1-2"}.get(cell["grade"], cell["grade"])
    if cell["derived"]:
        return f"{band}, derived: {_esc(cell['formula'])}"
    return f"{band}, as printed"


def _snippet(text: str, width: int = 70) -> str:
    return "<br>".join(_esc(x) for x in _wrap(f"“{text}”", width, 6))


def hover_text(cell, column_label: str) -> str:
    """The paper's own term, the grade band as printed, the numbers, the snippet and any conflict."""
    head = f"<b>{_esc(cell['term'])}</b> · {_esc(column_label)}"
    if cell["status"] == "NR":
        return head + "<br>Not reported at this grade band by this paper<br>(not the same as zero)"
    lines = [head, f"Paper's term: <b>{_esc(cell['term_reported'])}</b> ({_grade_text(cell)})"]
    if cell["percent_source"] == "count/denominator":
        lines.append(f"{int(cell['count'])}/{int(cell['denominator'])} = {cell['computed_percent']:.1f}%"
                     + (f" (printed {cell['printed_percent']:g}%)" if cell["printed_percent"] is not None
                        and not pd.isna(cell["printed_percent"]) else ""))
    elif _has_percent(cell):
        lines.append(f"{cell['printed_percent']:g}% as printed; the paper gives no count")
    else:
        lines.append(f"{int(cell['count'])} patients as printed; no denominator or percent, so no colour")
    if cell["mismatch"]:
        lines.append(f"{CONFLICT_MARK} printed {cell['printed_percent']:g}% ≠ {int(cell['count'])}/"
                     f"{int(cell['denominator'])}; the colour uses the count")
    lines.append(f"{_esc(cell['location'])}: {_snippet(cell['snippet'])}")
    for c in cell["conflicts"]:
        lines.append(f"{CONFLICT_MARK} " + "<br>".join(_esc(x) for x in _wrap(c, 70, 4)))
    if cell["n_alternatives"]:
        lines.append(f"(printed {cell['n_alternatives'] + 1} times at this band; first record shown)")
    return "<br>".join(lines)


def _row_layout(matrix: AEMatrix) -> list[tuple[str, str, str]]:
    """[(kind, key, label)]: an organ-system header, then its terms; Overall first, set apart."""
    out = []
    for category, group in matrix.rows.groupby("category", sort=False):
        if category == OVERALL:
            title = "Overall (whole patient)"
        elif category == UNMAPPED:
            title = "Not yet harmonised (paper's own term)"
        else:
            title = category
        out.append(("header", f"§{category}", f"<b>{_esc(title)}</b>"))
        for r in group.itertuples():
            out.append(("term", r.row_key, "<br>".join(_esc(x) for x in _wrap(r.row_key, 24, 2))))
    return out


def figure_height(n_rows: int) -> int:
    """Grows with the rows: a categorical axis gives every row, header or term, the same height."""
    return TOP_MARGIN + BOTTOM_MARGIN + ROW_HEIGHT * max(n_rows, 1) + 20


def ae_heatmap(matrix: AEMatrix, store, title: str | None = None) -> go.Figure:
    """Rows: harmonised terms under their organ system. Columns: arms (study, arm, N).

    Traces: [0] percentages on dark cells, [1] not-reported cells in flat grey
    with "NR" (a missing number can never be read as a zero), [2] counts printed
    without a denominator, [3] percentages on bright cells (dark text). Both
    percentage traces share the fixed cividis scale of the band.
    """
    layout_rows = _row_layout(matrix)
    cols = matrix.columns
    x = [c.key for c in cols]
    x_labels = [arm_label(store, c, label_width(len(cols))) for c in cols]
    plain = {c.key: arm_plain_label(store, c.key) for c in cols}
    y = [key for _, key, _ in layout_rows]
    y_labels = [label for _, _, label in layout_rows]
    cells = {(c.row_key, c.column_key): c for _, c in matrix.cells.iterrows()}
    band = BANDS.get(matrix.band, matrix.band)
    zmax = SCALE_MAX.get(matrix.band, 100.0)

    # one layer per state, so no state can pass for another: a percentage on a
    # dark cell (white text), a percentage on a bright cell (dark text: cividis
    # turns light above ~55% of its range), not reported (grey "NR"), and a count
    # printed without denominator or percent (white cell, "n=3")
    names = ("reported", "not reported", "count without a denominator", "reported, bright")
    layers = {k: {"z": [], "text": []} for k in names}
    hover = []
    for kind, key, _ in layout_rows:
        rows = {k: {"z": [None] * len(x), "text": [""] * len(x)} for k in names}
        hrow = [""] * len(x)
        for j, col in enumerate(x):
            cell = cells.get((key, col)) if kind == "term" else None
            if cell is None:
                continue
            hrow[j] = hover_text(cell, plain[col])
            if cell["status"] == "NR":
                layer, value = "not reported", 1
            elif _has_percent(cell):
                value = float(cell["percent"])
                layer = "reported, bright" if value >= 0.55 * zmax else "reported"
            else:
                layer, value = "count without a denominator", 1
            rows[layer]["z"][j] = value
            rows[layer]["text"][j] = NR_TEXT if layer == "not reported" else cell_text(cell)
        for k in names:
            layers[k]["z"].append(rows[k]["z"])
            layers[k]["text"].append(rows[k]["text"])
        hover.append(hrow)

    ticks = [zmax * i / 5 for i in range(6)]
    common = dict(x=x, y=y, customdata=hover, texttemplate="%{text}", hovertemplate="%{customdata}<extra></extra>",
                  xgap=3, ygap=3)
    fig = go.Figure()
    fig.add_trace(go.Heatmap(
        z=layers["reported"]["z"], text=layers["reported"]["text"], name="reported",
        textfont=dict(size=13, color="#ffffff"), colorscale=COLOURSCALE, zmin=0, zmax=zmax,
        colorbar=dict(
                      tickvals=ticks, ticktext=[f"{t:g}%" for t in ticks[:-1]] + [
                          f"≥{ticks[-1]:g}%" if zmax < 100 else f"{ticks[-1]:g}%"], tickfont=dict(size=13),
                      lenmode="pixels", len=250, thickness=18, y=1, yanchor="top", x=1.01, ypad=0),
        **common))
    fig.add_trace(go.Heatmap(
        z=layers["not reported"]["z"], text=layers["not reported"]["text"], name="not reported",
        textfont=dict(size=13, color="#222222"), colorscale=[[0, NR_GREY], [1, NR_GREY]], zmin=0, zmax=1,
        showscale=False, **common))
    fig.add_trace(go.Heatmap(
        z=layers["count without a denominator"]["z"], text=layers["count without a denominator"]["text"],
        name="count without a denominator", textfont=dict(size=13, color="#222222"),
        colorscale=[[0, "#ffffff"], [1, "#ffffff"]], zmin=0, zmax=1, showscale=False, **common))
    fig.add_trace(go.Heatmap(
        z=layers["reported, bright"]["z"], text=layers["reported, bright"]["text"], name="reported, bright",
        textfont=dict(size=13, color="#111111"), colorscale=COLOURSCALE, zmin=0, zmax=zmax, showscale=False,
        **common))
    height = figure_height(len(layout_rows))
    longest = max((len(line) for _, _, label in layout_rows for line in label.replace("<b>", "").replace(
        "</b>", "").split("<br>")), default=10)
    fig.update_layout(
        width=figure_width(len(cols), longest),
        title=dict(text=title, font=dict(size=18), x=0, xanchor="left", y=1, yanchor="top",
                   pad=dict(t=8)) if title else None,
        font=FONT, height=height, margin=dict(l=10, r=RIGHT_MARGIN, t=TOP_MARGIN, b=BOTTOM_MARGIN),
        plot_bgcolor="white", paper_bgcolor="white",
        hoverlabel=dict(font=dict(size=13), align="left", bgcolor="white"),
        xaxis=dict(side="top", tickmode="array", tickvals=x, ticktext=x_labels, tickangle=0, ticks="",
                   categoryorder="array", categoryarray=x,
                   tickfont=dict(size=12), showgrid=False, fixedrange=True),
        yaxis=dict(autorange="reversed", tickmode="array", tickvals=y, ticktext=y_labels, ticks="",
                   categoryorder="array", categoryarray=y,
                   tickfont=dict(size=14), showgrid=False, fixedrange=True, automargin=True),
    )
    # the colour bar's title sits above the plot area, clear of its top tick label
    fig.add_annotation(xref="paper", yref="paper", x=1.01, y=1, xanchor="left", yanchor="bottom", yshift=8,
                       text=f"% of patients,<br>{_esc(band.split(' (')[0].lower())}", showarrow=False,
                       align="left", font=dict(size=14))
    # the key to grey: a swatch under the colour bar
    fig.add_annotation(xref="paper", yref="paper", x=1.01, y=1, xanchor="left", yanchor="top", yshift=-290,
                       text=f" {NR_TEXT} ", showarrow=False, bgcolor=NR_GREY, font=dict(size=13),
                       borderpad=4)
    fig.add_annotation(xref="paper", yref="paper", x=1.01, y=1, xanchor="left", yanchor="top", yshift=-322,
                       text="not reported<br>(not zero)", showarrow=False, align="left", font=dict(size=13))
    fig.add_annotation(xref="paper", yref="paper", x=1.01, y=1, xanchor="left", yanchor="top", yshift=-372,
                       text=f"{CONFLICT_MARK} conflict<br>in the paper:<br>hover for it", showarrow=False,
                       align="left", font=dict(size=13))
    return fig


def _short(label: str) -> str:
    """'Hepa-HAIC (HepaSphere DEB-TACE + HAIC-FOLFOX)' -> 'Hepa-HAIC': the axis title keeps the full label."""
    return label.split(" (")[0] if len(label) > 24 else label


def _term_rows(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    out = []
    for category, group in df.groupby("category", sort=False):
        title = "Overall (whole patient)" if category == OVERALL else category
        out.append(("header", f"§{category}", f"<b>{_esc(title)}</b>"))
        for r in group.itertuples():
            out.append(("term", r.row_key, _esc(r.row_key)))
    return out


def difference_figure(diffs: Differences, store, title: str | None = None) -> go.Figure:
    """Risk difference (experimental - reference) per term with its 95% Newcombe interval.

    Dots ordered by organ system; a line at zero; the reference arm named on
    the axis and the side it favours; counts and the interval printed beside
    each row so the plot reads without hovering.
    """
    t = diffs.table
    exp_sid, exp_aid = split_arm_key(diffs.experimental)
    ref_sid, ref_aid = split_arm_key(diffs.reference)
    exp_label, ref_label = store.arm_label(exp_sid, exp_aid), store.arm_label(ref_sid, ref_aid)
    rows = _term_rows(t) if len(t) else []
    y = [k for _, k, _ in rows]
    y_labels = [lab for _, _, lab in rows]
    by_key = {r.row_key: r for r in t.itertuples()}

    fig = go.Figure()
    pts = [by_key[k] for kind, k, _ in rows if kind == "term"]
    hover = []
    for r in pts:
        lines = [f"<b>{_esc(r.term)}</b>",
                 f"{_esc(exp_label)}: {r.count_experimental}/{r.n_experimental} "
                 f"({100 * r.count_experimental / r.n_experimental:.1f}%), paper's term “{_esc(r.term_experimental)}”",
                 f"{_esc(ref_label)} (reference): {r.count_reference}/{r.n_reference} "
                 f"({100 * r.count_reference / r.n_reference:.1f}%), paper's term “{_esc(r.term_reference)}”",
                 f"Difference {r.difference:+.1f} percentage points (95% CI {r.ci_low:+.1f} to {r.ci_high:+.1f}), "
                 "Newcombe hybrid score"]
        for c in r.conflicts:
            lines.append(f"{CONFLICT_MARK} " + "<br>".join(_esc(x) for x in _wrap(c, 70, 4)))
        hover.append("<br>".join(lines))
    fig.add_trace(go.Scatter(
        x=[r.difference for r in pts], y=[r.row_key for r in pts], mode="markers",
        marker=dict(size=12, color="#1f3b73", symbol="circle"),
        error_x=dict(type="data", symmetric=False, array=[r.ci_high - r.difference for r in pts],
                     arrayminus=[r.difference - r.ci_low for r in pts], thickness=2.5, width=6,
                     color="#1f3b73"),
        customdata=hover, hovertemplate="%{customdata}<extra></extra>", showlegend=False,
    ))
    # header rows need a y position even without a point: an invisible anchor
    fig.add_trace(go.Scatter(x=[0] * len(y), y=y, mode="markers", marker=dict(opacity=0), hoverinfo="skip",
                             showlegend=False))
    lo = min([r.ci_low for r in pts] + [-10])
    hi = max([r.ci_high for r in pts] + [10])
    pad = 0.08 * (hi - lo)
    for r in pts:
        mark = f" {CONFLICT_MARK}" if r.conflicts else ""
        fig.add_annotation(
            xref="paper", x=1.0, xanchor="left", yref="y", y=r.row_key, showarrow=False, align="left",
            text=f"{r.count_experimental}/{r.n_experimental} vs {r.count_reference}/{r.n_reference}   "
                 f"{r.difference:+.1f} ({r.ci_low:+.1f} to {r.ci_high:+.1f}){mark}",
            font=dict(size=13))
    fig.add_annotation(xref="paper", x=1.0, xanchor="left", yref="paper", y=1, yanchor="bottom", showarrow=False,
                       align="left", font=dict(size=13),
                       text=f"<b>n/N vs n/N   difference (95% CI)</b>")
    fig.add_vline(x=0, line=dict(color="#555555", width=1.5, dash="dash"))
    height = 170 + ROW_HEIGHT * max(len(rows), 1)
    band = BANDS.get(diffs.band, diffs.band).split(" (")[0].lower()
    fig.update_layout(
        title=dict(text=title, font=dict(size=18), x=0, xanchor="left") if title else None,
        font=FONT, height=height, margin=dict(l=10, r=330, t=90 if title else 50, b=90),
        plot_bgcolor="white", paper_bgcolor="white", hoverlabel=dict(font=dict(size=13), align="left",
                                                                     bgcolor="white"),
        xaxis=dict(title=dict(text=f"Risk difference in {band}, percentage points: "
                                   f"{_esc(exp_label)} minus {_esc(ref_label)} (reference)",
                              font=dict(size=14)),
                   range=[lo - pad, hi + pad], zeroline=False, gridcolor="#e5e5e5", ticksuffix="",
                   tickfont=dict(size=13), fixedrange=True),
        yaxis=dict(autorange="reversed", tickmode="array", tickvals=y, ticktext=y_labels, tickfont=dict(size=14),
                   categoryorder="array", categoryarray=y, ticks="",
                   showgrid=True, gridcolor="#f2f2f2", fixedrange=True, automargin=True),
    )
    fig.add_annotation(xref="x", x=0, xanchor="right", yref="paper", y=1, yanchor="bottom", showarrow=False,
                       text=f"← more with {_esc(_short(ref_label))} (reference)  ", font=dict(size=13, color="#333"))
    fig.add_annotation(xref="x", x=0, xanchor="left", yref="paper", y=1, yanchor="bottom", showarrow=False,
                       text=f"  more with {_esc(_short(exp_label))} →", font=dict(size=13, color="#333"))
    return fig


# ---------------------------------------------------------------------------
# Tables for download
# ---------------------------------------------------------------------------

def matrix_table(matrix: AEMatrix, store) -> pd.DataFrame:
    """The matrix as shown: one row per term, one column per arm ('12.1% (8/66)', 'NR'), ⚠ where conflicted."""
    rows = []
    cells = {(c.row_key, c.column_key): c for _, c in matrix.cells.iterrows()}
    names = {c.key: f"{arm_plain_label(store, c.key)} (N={c.n})" for c in matrix.columns}
    for r in matrix.rows.itertuples():
        row = {"Organ system": r.category, "Adverse event": r.row_key,
               "Grade band": BANDS.get(matrix.band, matrix.band)}
        for col in matrix.columns:
            cell = cells.get((r.row_key, col.key))
            row[names[col.key]] = cell_text(cell).replace("<br>", " ") if cell is not None else NR_TEXT
        paper_terms = sorted({c.term_reported for c in cells.values()
                              if c.row_key == r.row_key and c.status == "reported"})
        row["Paper's terms"] = "; ".join(paper_terms)
        rows.append(row)
    return pd.DataFrame(rows, columns=["Organ system", "Adverse event", "Grade band",
                                       *names.values(), "Paper's terms"])


def difference_table(diffs: Differences, store) -> pd.DataFrame:
    e = arm_plain_label(store, diffs.experimental)
    r = arm_plain_label(store, diffs.reference)
    t = diffs.table
    return pd.DataFrame({
        "Organ system": t.category, "Adverse event": t.row_key,
        "Grade band": BANDS.get(diffs.band, diffs.band),
        f"{e} n/N": [f"{a}/{b}" for a, b in zip(t.count_experimental, t.n_experimental)],
        f"{r} (reference) n/N": [f"{a}/{b}" for a, b in zip(t.count_reference, t.n_reference)],
        "Risk difference, percentage points": t.difference.round(1),
        "95% CI low": t.ci_low.round(1), "95% CI high": t.ci_high.round(1),
        "Method": t.method,
        "Conflicts": [" | ".join(c) for c in t.conflicts],
    })
