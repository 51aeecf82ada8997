"""What every page shares around its content: the link to this view and the
presentation mode for the meeting-room screen (itself part of the link)."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from .url_state import Flag

PRESENT = Flag(False)   # add as "present" to a page's parameters

# Larger type and no chrome for a projector. A fixed stylesheet of ours: nothing
# from a user or a file is ever put into it.
_PRESENTATION_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
  [data-testid="stToolbar"], footer { display: none !important; }
  [data-testid="stMainBlockContainer"] { padding-top: 1rem; max-width: 100% !important; }
  html, body, [data-testid="stMarkdownContainer"] p, li, label { font-size: 20px !important; }
  h1 { font-size: 2.2rem !important; }
</style>
"""

PRESENTATION_FONT = 18   # plotly base font size on the meeting-room screen
NORMAL_FONT = 14


def view_link(base_url: str | None, page_path: str, params: dict[str, str]) -> str:
    """The shareable link of the current view: page path plus its non-default parameters."""
    if base_url:
        parts = urlsplit(base_url)
        root = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    else:
        root = ""
    query = urlencode(params, safe=",:")
    return f"{root}/{page_path}" + (f"?{query}" if query else "")


def apply_presentation(st, on: bool) -> None:
    if on:
        st.markdown(_PRESENTATION_CSS, unsafe_allow_html=True)


def figure_font_size(on: bool) -> int:
    return PRESENTATION_FONT if on else NORMAL_FONT


def share_bar(st, page_path: str, params: dict[str, str], key: str) -> None:
    """'Link to this view' with a copy button (st.code has one built in)."""
    try:
        base = st.context.url
    except Exception:  # AppTest and old versions have no browser URL
        base = None
    with st.expander("Link to this view", expanded=False):
        st.code(view_link(base, page_path, params), language=None)
        st.caption("Copy with the button at the right of the box. Opening the link reproduces this view; "
                   "`present=1` opens it in presentation mode.")


def _citations(store, study_ids) -> list[str]:
    s = store.studies[store.studies.study_id.isin(list(study_ids))]
    return [c for c in s.citation.tolist() if isinstance(c, str)]


def figure_exports(st, fig, *, name: str, key: str, store=None, study_ids=(), key_numbers=None,
                   caveats=(), title: str | None = None, page_path: str = "", params=None) -> None:
    """Server-side SVG and PNG of the figure, and the one-page tumor-board brief.

    Rendering runs only when a button is clicked (the data is a callable), so the
    page does not pay for exports nobody asked for.
    """
    from .export import brief_html, chromium_path, figure_bytes
    import pandas as pd

    cols = st.columns([1, 1, 1.4, 3])
    if chromium_path() is None:
        cols[3].caption("Server-side export needs Chromium; use the camera button on the chart.")
        return
    cols[0].download_button("Figure (SVG)", data=lambda: figure_bytes(fig, "svg"), file_name=f"{name}.svg",
                            mime="image/svg+xml", key=f"{key}.export_svg", on_click="ignore")
    cols[1].download_button("Figure (PNG)", data=lambda: figure_bytes(fig, "png"), file_name=f"{name}.png",
                            mime="image/png", key=f"{key}.export_png", on_click="ignore")
    try:
        url = view_link(st.context.url, page_path, params or {})
    except Exception:
        url = None
    numbers = key_numbers if key_numbers is not None else pd.DataFrame()
    cites = _citations(store, study_ids) if store is not None else []
    cols[2].download_button(
        "Tumor-board brief (print-ready HTML)",
        data=lambda: brief_html(title or name, fig, numbers, cites, list(caveats), url).encode("utf-8"),
        file_name=f"{name}_brief.html", mime="text/html", key=f"{key}.export_brief", on_click="ignore",
        help="One page: the figure, the key numbers with their sources, and the caveats. Open it and print to PDF.")


def open_view(st, page: str, spec: dict) -> dict:
    """Start a page from its link: seed the widgets, apply presentation mode, and say
    what part of the link could not be used."""
    from .url_state import bind_view
    values, notices = bind_view(st, page, spec)
    apply_presentation(st, bool(values.get("present", False)))
    for n in notices:
        st.info(f"Link partly ignored: {n}. Showing what could be used.", icon="ℹ️")
    return values
