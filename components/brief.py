"""The tumor-board brief as a one-page PDF (A4 landscape) of the current view.

The page is HTML printed by the system Chromium (the same browser kaleido already
uses for figure export), so the brief needs no PDF library and looks like the
HTML brief. Chromium runs headless with no network, in a temporary directory, and
is stopped after a timeout. The figure is an SVG from kaleido; when that fails the
brief is the tables alone and says why.

One page is kept by setting the tables in smaller type, down to a floor that stays
readable on paper; beyond that the tables continue on further pages and the first
page says so.
"""
from __future__ import annotations

import base64
import html
import math
import os
import signal
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from . import export

PAGE_W_MM, PAGE_H_MM, MARGIN_MM = 297, 210, 8
SHEET_W_MM, SHEET_H_MM = PAGE_W_MM - 2 * MARGIN_MM, PAGE_H_MM - 2 * MARGIN_MM
FIGURE_H_MM = 160            # the figure's box: the page height less the header lines
FIGURE_MAX_SHARE = 0.56      # of the page width; the tables take the rest
SMALLEST_TYPE = 0.72         # of the normal table type (7.5 pt): about 5.4 pt, still legible on paper
TIMEOUT_S = 60
# working columns of the page tables that a clinician does not read
INTERNAL_COLUMNS = ("log effect", "SE (log)", "Snippet", "CI level", "CI source", "Method")
PDF_MISSING = ("The tumor-board brief as PDF needs Chromium (Debian package 'chromium'), which is not installed "
               "on this server. The HTML brief can be printed to PDF from the browser.")


def missing_for_pdf() -> str | None:
    """What the PDF brief lacks, said for the user, or None when it can be made."""
    return PDF_MISSING if export.chromium_path() is None else None


def brief_pdf(model, view_url: str | None = None, *, timeout: float = TIMEOUT_S) -> bytes:
    """One A4 landscape page: the view's figure, its key numbers with their sources, the design and
    main caveat, the date and the link to the view. Raises RuntimeError when Chromium is missing or fails."""
    chromium = export.chromium_path()
    if chromium is None:
        raise RuntimeError(PDF_MISSING)
    page = brief_page_html(model, view_url, *figure_svg(model))
    with tempfile.TemporaryDirectory(prefix="hcc-brief-") as tmp:
        source, target = Path(tmp) / "brief.html", Path(tmp) / "brief.pdf"
        source.write_text(page, encoding="utf-8")
        args = [chromium, *export.CHROMIUM_ARGS, "--no-pdf-header-footer", f"--user-data-dir={tmp}/profile",
                "--virtual-time-budget=5000", f"--print-to-pdf={target}", source.as_uri()]
        # its own process group, so that a hung browser is stopped with all its helper processes
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"Chromium did not print the brief within {timeout:g} s") from exc
        if not target.exists() or target.stat().st_size == 0:
            raise RuntimeError("Chromium did not print the brief")
        return target.read_bytes()


def figure_svg(model) -> tuple[str | None, tuple[int, int], str | None]:
    """(svg text, (width, height) in px, why the figure is missing)."""
    brief = model.brief
    fig = model.figures.get(brief.figure) if brief and brief.figure else None
    if fig is None:
        return None, (0, 0), "this view has no figure"
    width, height = int(fig.layout.width or 1200), int(fig.layout.height or 700)
    missing = export.missing_for_figures()
    if missing:
        return None, (width, height), "no figure renderer on this server (Chromium is not installed)"
    # the page's heading is the figure's title, and the lead line its caveat: say each once
    fig = go.Figure(fig).update_layout(title_text="", title_subtitle_text="")
    try:
        return export.figure_bytes(fig, "svg", width, height).decode("utf-8"), (width, height), None
    except Exception as exc:  # the numbers are the brief; the picture is a help
        return None, (width, height), f"the figure renderer failed ({type(exc).__name__}: {exc})"


def _cell(x) -> str:
    return "" if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) else str(x)   # never '<NA>', 'nan'


def _table(df: pd.DataFrame) -> str:
    """An HTML table; short columns (numbers with their interval) never wrap inside a cell."""
    shown = df.drop(columns=[c for c in INTERNAL_COLUMNS if c in df.columns])
    cells = [[_cell(x) for x in row] for row in shown.itertuples(index=False)]
    keep = [i for i in range(len(shown.columns)) if any(r[i].strip() for r in cells)]   # no empty columns on paper
    cols = [str(shown.columns[i]) for i in keep]
    cells = [[r[i] for i in keep] for r in cells]
    short = [max((len(r[i]) for r in cells), default=0) <= 24 for i in range(len(cols))]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f'<td{" class=nw" if short[i] else ""}>{html.escape(x)}</td>'
                                    for i, x in enumerate(r)) + "</tr>" for r in cells)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def brief_page_html(model, view_url: str | None, svg: str | None, size: tuple[int, int],
                    missing: str | None, today: date | None = None) -> str:
    """The printable page. Everything from a file, a link or a user is escaped; the SVG is an image."""
    brief = model.brief
    esc = html.escape
    today = (today or date.today()).isoformat()
    if svg:
        w, h = size
        fig_w = min(SHEET_W_MM * FIGURE_MAX_SHARE, FIGURE_H_MM * w / h)
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        figure = (f'<div id="figure" style="flex: 0 0 {fig_w:.1f}mm"><img alt="{esc(brief.title)}" '
                  f'src="data:image/svg+xml;base64,{data}" width="{w}" height="{h}"></div>')
    else:
        figure = ""
    notice = (f'<p class="missing"><strong>Figure missing:</strong> {esc(missing)}. '
              "The numbers below are complete without it.</p>") if missing and brief.figure else ""
    caveats = list(dict.fromkeys(brief.caveats))
    main = f"<strong>Main caveat.</strong> {esc(caveats[0])}" if caveats else ""
    design = f"<strong>Design.</strong> {esc(brief.design)} " if getattr(brief, "design", "") else ""
    more = "".join(f"<li>{esc(c)}</li>" for c in caveats[1:])
    notes = "".join(f"<li>{esc(n)}</li>" for n in getattr(brief, "notes", ()))
    sections = "".join(f"<h2>{esc(heading)}</h2>{_table(df)}" for heading, df in brief.sections if len(df))
    sources = "".join(f"<li>{esc(c)}</li>" for c in (getattr(brief, "sources", ()) or brief.citations))
    link = f'View: <span class="url">{esc(view_url)}</span>' if view_url else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(brief.title)}</title>
<style>
 @page {{ size: A4 landscape; margin: {MARGIN_MM}mm; }}
 html, body {{ margin: 0; padding: 0; }}
 body {{ font-family: Arial, Helvetica, "Liberation Sans", sans-serif; color: #111; font-size: 8pt; }}
 #sheet {{ width: {SHEET_W_MM}mm; }}
 header {{ display: flex; justify-content: space-between; align-items: baseline; gap: 6mm;
          border-bottom: 1.5pt solid #1f3a68; padding-bottom: 1mm; }}
 h1 {{ font-size: 13pt; margin: 0; }}
 .meta {{ font-size: 7pt; color: #333; text-align: right; }}
 .url {{ word-break: break-all; }}
 .lead {{ margin: 1.2mm 0 1.5mm; font-size: 7.5pt; line-height: 1.25; }}
 #body {{ display: flex; gap: 4mm; align-items: flex-start; }}
 #figure img {{ width: 100%; height: auto; display: block; }}
 #numbers {{ flex: 1 1 auto; min-width: 0; font-size: 7.5pt; }}
 h2 {{ font-size: 8.5pt; margin: 1.5mm 0 0.8mm; color: #1f3a68; }}
 table {{ border-collapse: collapse; width: 100%; }}
 th, td {{ border-bottom: 0.5pt solid #bbb; padding: 0.5mm 1mm; text-align: left; vertical-align: top; }}
 th {{ background: #e8edf5; font-weight: bold; }}
 tr {{ break-inside: avoid; }}
 td.nw {{ white-space: nowrap; }}
 ul, ol {{ margin: 0.5mm 0; padding-left: 4mm; }}
 .notes, .sources, .more {{ font-size: 6.5pt; color: #333; line-height: 1.2; }}
 .missing {{ border: 1pt solid #b45309; background: #fff7ed; padding: 1mm 2mm; margin: 0 0 1.5mm; }}
 #fit {{ color: #7c2d12; display: inline-block; min-height: 7pt; }}
 .paged #body {{ display: block; }}
 .paged #figure img {{ width: auto; max-width: 100%; max-height: {FIGURE_H_MM}mm; }}
</style></head><body>
<div id="sheet">
<header><h1>{esc(brief.title)}</h1>
<div class="meta">Tumor-board brief · {today} · HCC evidence dashboard<br>{link}<br><span id="fit"></span></div></header>
<p class="lead">{design}{main}</p>
{notice}
<div id="body">{figure}
<div id="numbers">
<h2>Key numbers, as reported (source: study and location in its paper)</h2>
{_table(brief.key_numbers) if len(brief.key_numbers) else "<p>No numbers in this view.</p>"}
{f'<ul class="notes">{notes}</ul>' if notes else ""}
{sections}
{f'<ul class="more">{more}</ul>' if more else ""}
<h2>Sources</h2><ol class="sources">{sources}</ol>
</div></div>
</div>
<script>
// Keep the brief on one page: smaller type for the tables, down to a legible floor; beyond
// it the tables continue on the next page, and the page says so.
(function () {{
  var limit = {SHEET_H_MM} * 96 / 25.4 - 4;
  var sheet = document.getElementById("sheet"), numbers = document.getElementById("numbers");
  var fit = document.getElementById("fit"), zoom = 1, figure = document.getElementById("figure");
  if (figure) {{
    // the figure as tall as the page leaves under the header, as wide as that makes it (within its share)
    var img = figure.querySelector("img"), room = limit - figure.offsetTop - 2;
    var wide = Math.min(sheet.clientWidth * {FIGURE_MAX_SHARE}, room * img.getAttribute("width") / img.getAttribute("height"));
    figure.style.flexBasis = wide + "px";
  }}
  while (sheet.scrollHeight > limit && zoom > {SMALLEST_TYPE}) {{
    zoom = Math.max({SMALLEST_TYPE}, zoom - 0.04);
    numbers.style.zoom = zoom;
  }}
  if (sheet.scrollHeight > limit) {{
    // too many rows even in small type: normal type again, the tables run on over the next pages
    numbers.style.zoom = 1;
    document.body.className = "paged";
    fit.textContent = "Too many rows for one page: the key numbers continue on the next page(s).";
  }} else if (zoom < 1) {{
    fit.textContent = "Tables set in smaller type (" + Math.round(zoom * 100) + "%) to keep the brief on one page.";
  }}
}})();
</script>
</body></html>"""
