"""Server-side figure export (SVG/PNG) and the one-page tumor-board brief.

kaleido renders through the system's Chromium (Debian's /usr/bin/chromium); it
is never allowed to download a browser of its own. The server is started once
per process on first use, because each start costs a few seconds.
"""
from __future__ import annotations

import html
import os
import shutil
import threading
from datetime import date

import pandas as pd
import plotly.graph_objects as go

_lock = threading.Lock()
_started = False

CHROMIUM = os.environ.get("HCC_CHROMIUM", "/usr/bin/chromium")
# Headless Chromium on a machine with no outside network: without the
# background-networking flags it keeps trying hosts it cannot reach. Used by the
# browser tests and the benchmarks, which drive the same system Chromium.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("HCC_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


FIGURE_EXPORT_MISSING = ("Figures cannot be exported as SVG or PNG on this server: Chromium (Debian "
                         "package 'chromium') is not installed. The tumor-board brief is still offered, "
                         "without the embedded figure; use the camera button on the chart for a picture.")


def missing_for_figures() -> str | None:
    """What server-side figure export lacks, said for the user, or None when it
    can run. The brief never depends on it: offer the brief either way."""
    return FIGURE_EXPORT_MISSING if chromium_path() is None else None


def _ensure_server() -> None:
    global _started
    if _started:
        return
    import kaleido
    path = chromium_path()
    if path is None:
        raise RuntimeError("server-side export needs Chromium (Debian package 'chromium'); "
                           "use the download buttons on the chart instead")
    kaleido.start_sync_server(mathjax=False, path=path, silence_warnings=True)
    _started = True


def figure_bytes(fig: go.Figure, fmt: str = "svg", width: int | None = None, height: int | None = None) -> bytes:
    """The figure as SVG or PNG bytes, rendered the way the browser draws it."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"unsupported export format {fmt!r}: use 'svg' or 'png'")
    import warnings
    with _lock:
        _ensure_server()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # kaleido warns that per-call options are ignored by a server
            return fig.to_image(format=fmt, width=width or fig.layout.width or 1200,
                                height=height or fig.layout.height or 700, scale=2 if fmt == "png" else 1)


def brief_html(title: str, fig: go.Figure | None, key_numbers: pd.DataFrame, citations: list[str],
               caveats: list[str], view_url: str | None = None) -> str:
    """A print-ready page: the figure, the key numbers with their sources, the caveats.

    Everything that came from a file or a user is escaped; the figure is an
    inline SVG when Chromium is available, otherwise the page says what is
    missing. Needs no figure renderer: offer it whether or not Chromium is there.
    """
    figure = "<p><em>Figure not embedded: server-side export unavailable.</em></p>"
    missing = missing_for_figures() if fig is not None else None
    if missing:
        figure = f"<p><em>Figure not embedded. {html.escape(missing)}</em></p>"
    elif fig is not None:
        try:
            figure = figure_bytes(fig, "svg").decode("utf-8")
        except Exception as exc:  # the brief is still useful without the picture
            figure = f"<p><em>Figure not embedded ({html.escape(str(exc))}).</em></p>"
    table = key_numbers.to_html(index=False, escape=True, border=0, na_rep="") if len(key_numbers) else ""
    items = lambda xs: "".join(f"<li>{html.escape(x)}</li>" for x in xs)
    link = f'<p class="link">View: {html.escape(view_url)}</p>' if view_url else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
 @page {{ size: A4 landscape; margin: 12mm; }}
 body {{ font-family: Arial, Helvetica, sans-serif; font-size: 12pt; color: #111; }}
 h1 {{ font-size: 18pt; margin: 0 0 4pt; }}
 .caveat {{ border: 2px solid #b45309; background: #fff7ed; padding: 6pt 10pt; margin: 8pt 0; }}
 table {{ border-collapse: collapse; font-size: 10pt; margin-top: 6pt; }}
 th, td {{ border-bottom: 1px solid #ccc; padding: 3pt 6pt; text-align: left; vertical-align: top; }}
 svg {{ max-width: 100%; height: auto; }}
 .small {{ font-size: 9pt; color: #444; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="small">Tumor-board brief prepared {date.today().isoformat()} from the HCC evidence dashboard.</p>
{link}
<div class="caveat"><strong>Read with care</strong><ul>{items(caveats)}</ul></div>
<div class="figure">{figure}</div>
<h2>Key numbers</h2>{table}
<h2>Sources</h2><ol class="small">{items(citations)}</ol>
</body></html>"""
