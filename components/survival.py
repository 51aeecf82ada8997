"""Figure and tables of the survival page, built from already reconstructed curves.

Pure builders: they take the rebuilt curves (analysis.survival.CurveStats)
and their provenance (views.survival_inputs.CurveSource) and return a plotly
Figure or a pandas DataFrame. They read no files and compute no statistics
beyond laying numbers out.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .text import esc, hover_lines

# Okabe-Ito, without its yellow (unreadable on white on a projector)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255"]
FONT = dict(family="Arial, Helvetica, sans-serif", size=15, color="#222222")
TABLE_FONT = 14
EXPORT_WIDTH = 1400

CROSS_STUDY_CAVEAT = ("Different studies, not randomised against each other; reconstructed from published "
                      "summaries, not patient data.")
RECONSTRUCTED_NOTE = "Reconstructed from published summaries, not patient data."


@dataclass
class CurveView:
    """One curve as the figure draws it."""
    key: str
    name: str                       # "FOLFOX-HAIC · Huang 2022": short, it heads a legend entry
    basis: str                      # "median + 3 landmark rates + 44 deaths"
    stats: object                   # analysis.survival.CurveStats
    at_risk: Sequence[int] = ()     # at the figure's at-risk times
    anchors: Sequence = ()          # views.survival_inputs.Anchor
    short_name: str = ""            # row label of the number-at-risk table (wrapped, never cut)
    qualifier: str = ""             # "TTP", "matched cohort": said in the legend, not added to the name
    dash: str = "solid"
    conflicts: Sequence[str] = field(default_factory=tuple)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _steps(times, values, end):
    """Coordinates of a right-continuous step function up to `end`."""
    xs, ys = [], []
    for i, (t, v) in enumerate(zip(times, values)):
        nxt = times[i + 1] if i + 1 < len(times) else end
        xs += [t, nxt]
        ys += [v, v]
    return xs, ys


# What the marks on the curves mean (a legend of their own, inside the plot's top right)
MARKER_KEY_NAMES = {
    "median": "Reported median",
    "rate": "Reported landmark rate",
    "unused": "Reported rate contradicting the median (not used)",
    "reconstructed_median": "Reconstructed median",
}
_KEY_GREY = "#555555"
_CROSS_RED = "#B00020"


def _risk_label_lines(name: str, width: int) -> list[str]:
    """A number-at-risk row label on as many lines as it needs, never cut: on one line
    when it fits, else the arm (wrapped) and then the study on a line of its own."""
    name = str(name)
    if len(name) <= width:
        return [name]
    lines: list[str] = []
    for part in [p for p in name.split(" · ") if p] or [name]:
        lines += textwrap.wrap(part, width) or [part]
    return lines


def _legend_basis_lines(c: "CurveView", width: int = 72) -> list[str]:
    """The legend's second line(s): endpoint or cohort where it matters, and what the curve was rebuilt from."""
    text = (f"{c.qualifier} · " if c.qualifier else "") + f"rebuilt from {c.basis}"
    return textwrap.wrap(text, width) or [text]


def _marker_key(fig: go.Figure, kinds: set, size: int) -> None:
    """Legend-only traces that say what the dots, diamonds, crosses and dotted lines are."""
    entries = [
        ("median", dict(symbol="diamond", size=size, color=_KEY_GREY, line=dict(color="white", width=1.5))),
        ("rate", dict(symbol="circle", size=size, color=_KEY_GREY, line=dict(color="white", width=1.5))),
        ("unused", dict(symbol="x-thin-open", size=size + 2, color=_CROSS_RED, line=dict(color=_CROSS_RED, width=3))),
    ]
    for kind, marker in entries:
        if kind in kinds:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker=marker,
                                     name=MARKER_KEY_NAMES[kind], legend="legend2", showlegend=True,
                                     hoverinfo="skip"), 1, 1)
    if "reconstructed_median" in kinds:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=_KEY_GREY, width=1.5, dash="dot"),
                                 name=MARKER_KEY_NAMES["reconstructed_median"], legend="legend2", showlegend=True,
                                 hoverinfo="skip"), 1, 1)


def survival_figure(curves: Sequence[CurveView], at_risk_times: Sequence[float], *, title: str,
                    show_bands: bool = False, x_max: float | None = None, caveat: str = RECONSTRUCTED_NOTE,
                    y_label: str = "Survival (%)", font_size: int = 14,
                    plot_height: int | None = None) -> go.Figure:
    """Overlaid reconstructed KM curves with anchors, medians and a number-at-risk table.

    font_size: the base size of the figure's type (14 on a laptop; 18 in
    presentation mode, components.view_chrome.figure_font_size); every font,
    margin and row of the figure scales with it. The caveat is the title's
    subtitle, so it travels with an exported image and never sits on an edge.
    """
    k = max(font_size, 8) / 14.0

    def fs(x: float) -> int:
        return int(round(x * k))

    n = max(len(curves), 1)
    table_font = fs(TABLE_FONT)
    # number-at-risk row labels: wrapped, never cut; the left margin fits the longest line
    # (fewer characters a line with larger type, so the plot keeps its width on a projector)
    label_lines = [_risk_label_lines(c.short_name or c.name, max(20, int(32 / k))) for c in curves]
    most_lines = max([len(x) for x in label_lines] + [1])
    longest = max([len(line) for x in label_lines for line in x] + [12])
    margin_l = max(int(0.56 * table_font * longest) + fs(14) + 24, fs(120))
    row_h = max(fs(34), int(most_lines * table_font * 1.3) + fs(12))
    table_h = row_h * n + fs(16)
    # plot_height: the curves' own height in px (presentation mode makes it fit a 1080 screen whole)
    plot_h = plot_height or int(520 * (1 + 0.5 * (k - 1)))
    gap = fs(56)                  # between the plot and the table: the "Number at risk" heading
    # the legend stacks one entry per curve above the plot: its name, then what it was rebuilt
    # from, wrapped so that it is never cut; the top margin is the sum of their lines
    basis_lines = [_legend_basis_lines(c) for c in curves]
    legend_h = sum((1 + len(b)) * fs(18) + fs(6) for b in basis_lines) + fs(12)
    title_h = fs(78)              # title and its caveat subtitle
    margin_t = title_h + legend_h
    margin_b = fs(76)
    height = margin_t + plot_h + gap + table_h + margin_b
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=gap / (plot_h + gap + table_h),
                        row_heights=[plot_h / (plot_h + table_h), table_h / (plot_h + table_h)])
    if x_max is None:
        x_max = max([c.stats.last_time for c in curves] + [1.0])
    kinds: set = set()
    for i, c in enumerate(curves):
        color = PALETTE[i % len(PALETTE)]
        km = c.stats.km
        group = c.key
        name = esc(c.name)
        legend = f"<b>{name}</b>" + "".join(f"<br><span style='font-size:{fs(13)}px'>{esc(line)}</span>"
                                            for line in basis_lines[i])
        if show_bands:
            xs, hi = _steps(list(km.time), list(100 * km.upper), c.stats.last_time)
            _, lo = _steps(list(km.time), list(100 * km.lower), c.stats.last_time)
            fig.add_trace(go.Scatter(x=xs + xs[::-1], y=hi + lo[::-1], fill="toself", mode="lines",
                                     line=dict(width=0), fillcolor=_rgba(color, 0.13), hoverinfo="skip",
                                     showlegend=False, legendgroup=group, name=f"{name} 95% CI"), 1, 1)
        xs, ys = _steps(list(km.time), list(100 * km.survival), c.stats.last_time)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", line=dict(color=color, width=3, dash=c.dash), name=legend,
            legendgroup=group, customdata=[name] * len(xs),
            hovertemplate="%{customdata}<br>%{y:.1f}% at %{x:.1f} months<extra></extra>"), 1, 1)
        if math.isfinite(c.stats.median):
            m = c.stats.median
            kinds.add("reconstructed_median")
            fig.add_trace(go.Scatter(x=[0, m, m], y=[50, 50, 0], mode="lines", showlegend=False,
                                     legendgroup=group, line=dict(color=color, width=1.5, dash="dot"),
                                     hovertemplate=f"{name}: reconstructed median {m:.1f} months<extra></extra>"),
                          1, 1)
        for a in c.anchors:
            kinds.add(a.kind if a.used else "unused")
            symbol = ("diamond" if a.kind == "median" else "circle") if a.used else "x-thin-open"
            hover = [f"<b>{name}</b>", f"Reported: {esc(a.text)}"]
            if not a.used:
                hover.append(hover_lines(f"⚠ Not used for the curve: {a.why_unused}"))
            if a.conflicts:
                hover.append(hover_lines("⚠ Conflict: " + a.conflicts[0]))
            hover += [f"<i>{esc(a.location)}</i>", hover_lines(f"“{a.snippet}”")]
            fig.add_trace(go.Scatter(
                x=[a.time], y=[100 * a.survival], mode="markers", showlegend=False, legendgroup=group,
                marker=dict(symbol=symbol, size=fs(13) if a.used else fs(15),
                            color=color if a.used else _CROSS_RED,
                            line=dict(color="white" if a.used else _CROSS_RED, width=1.5 if a.used else 3)),
                hovertemplate="<br>".join(hover) + "<extra></extra>"), 1, 1)
        # number at risk: one row per curve, the first curve on top
        fig.add_trace(go.Scatter(
            x=list(at_risk_times)[:len(c.at_risk)], y=[-i] * len(c.at_risk), mode="text",
            text=[str(v) for v in c.at_risk], textfont=dict(size=table_font, color=color), showlegend=False,
            legendgroup=group, hovertemplate=f"{name}: %{{text}} at risk at %{{x:g}} months<extra></extra>"), 2, 1)
    _marker_key(fig, kinds, fs(12))
    ticks = [t for t in at_risk_times if t <= x_max + 1e-9]
    fig.update_xaxes(range=[-0.02 * x_max, x_max * 1.03], tickvals=ticks, tickfont=dict(size=fs(14)),
                     showgrid=True, gridcolor="#E5E5E5", zeroline=False, row=1, col=1)
    fig.update_xaxes(range=[-0.02 * x_max, x_max * 1.03], tickvals=ticks, showticklabels=True,
                     tickfont=dict(size=fs(14)),
                     title=dict(text="Months since start of treatment", font=dict(size=fs(15))),
                     showgrid=False, zeroline=False, row=2, col=1)
    fig.update_yaxes(range=[-2, 103], tickvals=[0, 20, 40, 60, 80, 100], tickfont=dict(size=fs(14)),
                     title=dict(text=y_label, font=dict(size=fs(15))), gridcolor="#E5E5E5", zeroline=False,
                     row=1, col=1)
    fig.update_yaxes(range=[-(n - 0.5), 0.6], tickvals=[-i for i in range(len(curves))],
                     ticktext=[f"<span style='color:{PALETTE[i % len(PALETTE)]}'>"
                               + "<br>".join(esc(line) for line in lines) + "</span>"
                               for i, lines in enumerate(label_lines)],
                     tickfont=dict(size=table_font), ticks="outside", ticklen=fs(12), tickcolor="rgba(0,0,0,0)",
                     showgrid=False, zeroline=False,
                     row=2, col=1)
    fig.add_annotation(text="<b>Number at risk</b> (pseudo-data)", xref="paper", yref="y2 domain", x=0, y=1.0,
                       xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=fs(14)))
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", yref="container", y=1, yanchor="top", pad=dict(t=fs(14), l=8),
                   font=dict(size=fs(19)),
                   subtitle=dict(text=esc(caveat), font=dict(size=fs(13), color="#555555")) if caveat else None),
        font={**FONT, "size": fs(FONT["size"])}, height=height,
        margin=dict(l=margin_l, r=30, t=margin_t, b=margin_b), plot_bgcolor="white", paper_bgcolor="white",
        # above the plot, not beside it: long "rebuilt from" labels would squeeze the curves
        # above the plot (a legend beside it would squeeze the curves), one entry under the other;
        # paper-referenced: a container-referenced legend makes plotly reserve its width as margin
        legend=dict(orientation="v", x=0, xanchor="left", y=1, yanchor="bottom", yref="paper",
                    font=dict(size=fs(14)), tracegroupgap=fs(6), valign="top",
                    itemclick="toggle", itemdoubleclick="toggleothers"),
        # what the marks mean: top right inside the plot, where KM curves seldom are
        legend2=dict(orientation="v", x=1, xanchor="right", y=1, yanchor="top", font=dict(size=fs(12)),
                     bgcolor="rgba(255,255,255,0.88)", bordercolor="#CCCCCC", borderwidth=1,
                     itemclick=False, itemdoubleclick=False),
        hoverlabel=dict(bgcolor="white", font=dict(size=fs(13)), align="left"),
    )
    return fig


def download_config(fmt: str = "png", filename: str = "survival_curves", height: int | None = None) -> dict:
    """Plotly config: the camera button saves the whole figure as PNG or SVG."""
    return {
        "displaylogo": False,
        "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
        "toImageButtonOptions": {"format": fmt, "filename": filename, "width": EXPORT_WIDTH,
                                 "height": height, "scale": 2 if fmt == "png" else 1},
    }


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #

def _num(x, fmt="{:.1f}") -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x))):
        return ""
    if isinstance(x, float) and math.isinf(x):
        return "not reached"
    return fmt.format(x)


def _reported_median(anchors) -> str:
    """'17.1 (13.7-20.5)': the paper's median with the paper's own interval, where printed."""
    med = next((a for a in anchors if a.kind == "median"), None)
    if med is None:
        return "not reported"
    lo, hi = getattr(med, "ci_low", None), getattr(med, "ci_high", None)
    return f"{med.time:g}" + (f" ({lo:g}-{hi:g})" if lo is not None and hi is not None else "")


def _reported_rates(anchors) -> str:
    """'61.8% at 12 mo; 34.5% at 24 mo' as printed."""
    rates = [a for a in anchors if a.kind == "rate"]
    return "; ".join(f"{100 * a.survival:g}% at {a.time:g} mo" for a in rates) or "not reported"


def median_rmst_table(rows: Sequence[dict], tau: float | None = None) -> pd.DataFrame:
    """The paper's numbers first (median with its own CI, landmark rates), the rebuilt ones beside them,
    then the RMST with its horizon and why that horizon.

    rows: dicts with name, study, endpoint, n, basis, stats (CurveStats), anchors (the reported
    points; reported_median as a float is accepted instead), rmst, rmst_se (or None), and per row
    tau / tau_reason (the horizon of its comparison); tau is the fallback horizon.
    """
    out = []
    for r in rows:
        st = r["stats"]
        ci = ""
        if math.isfinite(st.median):
            lo = _num(st.median_low)
            hi = _num(st.median_high)
            ci = f" ({lo}-{hi})" if lo and hi else ""
        anchors = r.get("anchors") or ()
        if not anchors and r.get("reported_median") is not None:
            reported = _num(r["reported_median"], "{:g}")
        else:
            reported = _reported_median(anchors)
        rates = [a for a in anchors if a.kind == "rate"]
        rebuilt_rates = "; ".join(f"{100 * st.survival_at(a.time):.1f}% at {a.time:g} mo" for a in rates)
        horizon = r.get("tau", tau)
        rm = f"{r['rmst']:.1f} ± {r['rmst_se']:.1f}" if r.get("rmst") is not None else ""
        # the paper's numbers first, the rebuilt ones beside them, the long text last
        out.append({
            "Arm": r["name"],
            "Reported median, months (paper's CI)": reported,
            "Reported landmark rates": _reported_rates(anchors) if anchors else "",
            "Rebuilt median, months (95% CI)": _num(st.median) + ci,
            "Rebuilt landmark rates": rebuilt_rates,
            "RMST (± SE), months": rm,
            "RMST horizon, months": _num(horizon, "{:g}"),
            "Why this horizon": r.get("tau_reason", ""),
            "Patients": r["n"], "Endpoint": r["endpoint"], "Study": r["study"],
            "Rebuilt from": r["basis"],
        })
    return pd.DataFrame(out)


def fidelity_table(fid: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Reported vs reconstructed, as a clinician reads it, with a check mark or a flag."""
    cols = ["Arm", "Number", "Reported", "Reconstructed", "Difference", "Check", "Note", "Where", "Source sentence"]
    if fid is None or fid.empty:
        return pd.DataFrame(columns=cols)
    out = []
    # the hazard ratios first: the one number a tumor board compares across the table
    records = sorted(fid.to_dict("records"), key=lambda r: r["quantity"] != "hazard ratio")
    for r in records:
        q = r["quantity"]
        arm = names.get(r["key"], r["key"])
        if q == "hazard ratio":
            arm = f"{names.get(r['key'], r['key'])} vs {names.get(r['reference_key'], r['reference_key'])}"
            rep, rec = f"{r['reported']:.2f}", f"{r['reconstructed']:.2f} ({r['ci_low']:.2f}-{r['ci_high']:.2f})"
            diff = f"{r['difference']:+.2f}"
            check = "⚠ differs by more than 0.1" if r["flag"] else "✓ within 0.1"
        elif q.startswith("events"):
            if q != "events":   # deaths printed for both arms together: both arms named
                arm = f"{names.get(r['key'], r['key'])} + {names.get(r['reference_key'], r['reference_key'])}"
            rep, rec = f"{r['reported']:.0f}", f"{r['reconstructed']:.0f}"
            diff = f"{r['difference']:+.0f}"
            check = "⚠ differs" if r["flag"] else "✓ exact"
        elif q.startswith("median"):
            rep = f"{r['reported']:g}"
            rec = _num(r["reconstructed"], "{:.2f}")
            diff = f"{r['difference']:+.2f}" if math.isfinite(r["difference"]) else ""
            check = "⚠ off" if r["flag"] else "✓"
        else:
            rep, rec = f"{r['reported']:.1f}", f"{r['reconstructed']:.1f}"
            diff = f"{r['difference'] + 0.0:+.1f} points".replace("-0.0", "+0.0")
            check = "⚠ off" if r["flag"] else "✓"
        if isinstance(r.get("note"), str) and r["note"].startswith("not used"):
            check = "⚠ contradicts the median"
        out.append({"Arm": arm, "Number": q, "Reported": rep, "Reconstructed": rec, "Difference": diff,
                    "Check": check, "Note": r.get("note") or "", "Where": r.get("location") or "",
                    "Source sentence": r.get("snippet") or ""})
    return pd.DataFrame(out, columns=cols)


def hr_gap_warnings(fid: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """One short sentence per hazard ratio the rebuilt curves do not give back (gap above 0.1).

    Shown right under the chart: the visual gap between two curves is what a
    tumor board reads, and here it does not match the paper's own estimate.
    """
    if fid is None or fid.empty:
        return []
    out = []
    for r in fid[(fid.quantity == "hazard ratio") & fid.flag.astype(bool)].to_dict("records"):
        exp = names.get(r["key"], r["key"])
        ref = names.get(r["reference_key"], r["reference_key"])
        rep, rec = float(r["reported"]), float(r["reconstructed"])
        if (rep - 1) * (rec - 1) < 0:
            reading = "point in the other direction from the paper's"
        elif abs(math.log(rec)) > abs(math.log(rep)):
            reading = "look further apart than the paper's result"
        else:
            reading = "look closer together than the paper's result"
        out.append(f"Hazard ratio not reproduced: {exp} vs {ref}. The paper reports "
                   f"HR {rep:.2f}; the rebuilt curves give {rec:.2f} (off by {abs(rec - rep):.2f}, more than 0.1): "
                   f"these two curves {reading}. Rely on the reported HR (fidelity table below).")
    return out
