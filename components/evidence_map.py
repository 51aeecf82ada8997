"""The overview's evidence map: every study placed by design (rows) and line of therapy
(columns), its marker sized by the number of patients, labelled with its headline effect.
A pure figure builder: takes the rows views/overview.py computes."""
from __future__ import annotations

import math
import textwrap
from typing import Sequence

import plotly.graph_objects as go

from .text import esc

FONT = dict(family="Arial, Helvetica, sans-serif", size=13, color="#222222")
PRIMARY = "#0072B2"     # the five source papers
REVIEW = "#9a9a9a"      # trials known only from the review
PER_ROW = 1             # studies side by side in one cell (more stack downwards: labels never collide)


def evidence_map(rows: Sequence[dict], designs: Sequence[str], lines: Sequence[str], *, title: str,
                 font_size: int = 13, width: int | None = None) -> go.Figure:
    """rows: dicts with study, design, line, n (or None), effect (short text), primary (bool),
    hover (lines of detail). designs / lines: the row and column categories, in display order."""
    k = font_size / 13.0
    cells: dict[tuple[int, int], list[dict]] = {}
    for r in rows:
        cells.setdefault((designs.index(r["design"]), lines.index(r["line"])), []).append(r)
    # the five papers one by one; the review's trials of a cell as one marker, listed on hover
    for key, members in cells.items():
        review = [r for r in members if not r["primary"]]
        if len(review) > 1:
            total = sum(r["n"] or 0 for r in review)
            listed = [f"{r['study']}: {r['effect'] or 'no HR or median OS'} (n={r['n'] or 'NR'})"
                      for r in sorted(review, key=lambda r: -(r["n"] or 0))]
            cells[key] = [r for r in members if r["primary"]] + [{
                "study": f"{len(review)} trials (review)", "n": total, "effect": "",
                "primary": False, "hover": [f"{len(review)} trials reported in the review, {total} patients"] + listed}]
    # each design row is as tall as its fullest cell needs
    depth = [max([math.ceil(len(v) / PER_ROW) for (d, _), v in cells.items() if d == i] + [1])
             for i in range(len(designs))]
    bounds, y = [], 0.0
    for d in depth:
        bounds.append((y, y + d))
        y += d
    xs, ys, sizes, texts, hovers, colours, lines_ = [], [], [], [], [], [], []
    for (di, li), members in cells.items():
        top = bounds[di][0]
        members = sorted(members, key=lambda r: (not r["primary"], -(r["n"] or 0)))
        for j, r in enumerate(members):
            row, col = divmod(j, PER_ROW)
            per = min(PER_ROW, len(members) - row * PER_ROW)
            xs.append(li + (col - (per - 1) / 2) * 0.31)
            ys.append(top + row + 0.5)
            n = r["n"] or 0
            sizes.append((12 + 30 * math.sqrt(min(n, 6000) / 6000)) * k)
            # long names wrap: three studies side by side in a column of a 1280 px screen
            name = "<br>".join(esc(x) for x in textwrap.wrap(r["study"], 20, break_on_hyphens=False))
            texts.append(f"<b>{name}</b>" if r["primary"] else name)
            bits = ([f"n={n}"] if n else []) + ([r["effect"]] if r["effect"] else [])
            effect = esc(" · ".join(bits)) if bits else "&nbsp;"
            lines_.append(effect)
            hovers.append("<br>".join(esc(h) for h in r["hover"]))
            colours.append(PRIMARY if r["primary"] else REVIEW)
    fig = go.Figure()
    # the study name above its marker, its headline effect below it
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="markers+text", text=texts, textposition="top center",
        marker=dict(size=sizes, color=colours, opacity=0.85, line=dict(color="white", width=1)),
        textfont=dict(size=round(11 * k), color="#222222"), hovertext=hovers, hoverinfo="text",
        showlegend=False, cliponaxis=False))
    # invisible markers of the same size: the effect line sits below the marker, not under it
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+text", text=lines_, textposition="bottom center",
                             marker=dict(size=sizes, color="rgba(0,0,0,0)"),
                             textfont=dict(size=round(10.5 * k), color="#444444"), hoverinfo="skip",
                             showlegend=False, cliponaxis=False))
    for name, colour in (("Primary paper (one of the five)", PRIMARY), ("Trial reported in the review", REVIEW)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(size=12 * k, color=colour)))
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, y0=b[0], y1=b[0], line=dict(color="#dddddd", width=1))
              for b in bounds[1:]]
    shapes += [dict(type="line", yref="paper", y0=0, y1=1, x0=i + 0.5, x1=i + 0.5,
                    line=dict(color="#dddddd", width=1)) for i in range(len(lines) - 1)]
    row_px = (80 if k <= 1 else 70) * k      # presentation type: rows a little tighter, the map fits 1080 px
    height = int(80 * k + row_px * (y + 0.2) + 40 * k)
    fig.update_layout(
        title=dict(text=esc(title), font=dict(size=round(17 * k)), x=0.01, y=0.98, yanchor="top"),
        font=dict(FONT, size=font_size), height=height, width=width, shapes=shapes,
        margin=dict(l=round(150 * k), r=20, t=round(80 * k), b=round(40 * k)),
        plot_bgcolor="white", paper_bgcolor="white",
        legend=dict(orientation="h", x=0, y=-0.02, yanchor="top", xanchor="left", font=dict(size=round(12 * k))),
        xaxis=dict(range=[-0.5, len(lines) - 0.5], tickvals=list(range(len(lines))), ticktext=[esc(x) for x in lines],
                   side="top", showgrid=False, zeroline=False, fixedrange=True, tickfont=dict(size=round(13 * k))),
        yaxis=dict(range=[y, -0.2], tickvals=[(a + b) / 2 for a, b in bounds], ticktext=["<br>".join(esc(x) for x in textwrap.wrap(d, 18)) for d in designs],
                   showgrid=False, zeroline=False, fixedrange=True, tickfont=dict(size=round(13 * k))),
        hoverlabel=dict(font=dict(size=round(13 * k)), align="left"),
    )
    return fig
