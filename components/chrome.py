"""What every page shares around its view: the link (read into widgets, written back),
presentation mode, notices and banners shown as literal text, the link box and the
exports. Streamlit code only; the view itself comes from views.build_view.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from urllib.parse import urlencode, urlsplit

import streamlit as st

from evidence.schema import AGE_LIMITS, PROFILE_FIELDS, PROFILE_VALUES
from views import ViewModel, view_spec
from views import patient as pt
from views.core import build_state
from views.links import canonical, encode_params, parse_params
from views.summary import selection_summary

log = logging.getLogger("hcc.pages")

# Larger type and no chrome for a projector. A fixed stylesheet of ours: nothing
# from a user or a file is ever put into it.
_PRESENTATION_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
  [data-testid="stToolbar"], footer { display: none !important; }
  [data-testid="stMainBlockContainer"] { padding-top: 1rem; max-width: 100% !important; }
  html, body, [data-testid="stMarkdownContainer"] p, li, label { font-size: 20px !important; }
  h1 { font-size: 2.2rem !important; }
  .st-key-view-summary p { font-size: 16px !important; }
  [data-testid="stBaseButton-secondary"] p, [data-testid="stPopover"] button p { font-size: 16px !important; }
</style>
"""
# The first screen belongs to the chart: a compact title and little padding above it.
# Selected chips wrap and show their whole name, and the box grows to show every chip:
# what is selected stays visible in full.
_COMPACT_CSS = """
<style>
  [data-testid="stMainBlockContainer"] { padding-top: 3rem; }
  h1 { font-size: 1.6rem !important; padding: 0 0 0.2rem 0 !important; }
  [data-testid="stMultiSelect"] [role="group"], [data-testid="stMultiSelectTagsContainer"] {
    max-height: none !important; overflow: visible !important; height: auto !important; }
  [data-testid="stMultiSelect"] [data-tag] { height: auto !important; white-space: normal !important;
    max-width: 100% !important; }
  [data-testid="stMultiSelect"] [data-tag] > span { white-space: normal !important; overflow: visible !important;
    text-overflow: clip !important; line-height: 1.3; padding: 2px 0; }
</style>
"""
# what markdown, Streamlit's directives (:red[...], :material/icon:) and KaTeX act on
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<>#|~$:&])")


def literal(text) -> str:
    """Text from a link or an evidence file, shown as it is: never markdown, HTML, LaTeX,
    a link, an image or an icon shortcode (every markdown character is escaped)."""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else "?" for ch in str(text))
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text).replace("\n", "  \n")


def _query() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params.keys()}


# The patient profile of the session: the sidebar's page links drop the query string, so the
# profile moves between pages here and each page writes it back into its own link.
_SESSION_PATIENT = "_patient.profile"
_SESSION_PATIENT_PAGE = "_patient.page"   # the page that last set it


def _patient_key(page: str, field: str) -> str:
    return f"{page}.patient.{field}"


def _patient_from_widgets(page: str) -> dict | None:
    """The profile the page's panel holds, or None when the panel has not been drawn yet."""
    keys = [_patient_key(page, f) for f in PROFILE_FIELDS]
    if not any(k in st.session_state for k in keys):
        return None
    profile = {}
    for f in PROFILE_FIELDS:
        v = st.session_state.get(_patient_key(page, f))
        if v is None or v == "":
            continue
        profile[f] = int(v) if f == "age" else v
    return profile


def _set_patient(page: str, profile: dict, into_widgets: bool) -> None:
    st.session_state[f"{page}.patient"] = dict(profile)
    st.session_state[_SESSION_PATIENT] = dict(profile)
    st.session_state[_SESSION_PATIENT_PAGE] = page
    if into_widgets:
        for f in PROFILE_FIELDS:
            st.session_state[_patient_key(page, f)] = profile.get(f, None if f == "age" else "")


def start(page: str):
    """Every page's first line: inside app.py's navigation, the store, and the view of the link.
    Returns (store, model, spec)."""
    from .navigation import ensure_app_navigation
    from .store_access import get_store
    ensure_app_navigation()
    store = get_store()
    model, spec = open_view(page, store)
    return store, model, spec


def open_view(page: str, store) -> tuple[ViewModel, dict]:
    """Read the link into the page's widgets (once per link, never over a user's choice), and build
    the view of the widgets' state. Returns the view model and the page's URL scheme."""
    spec = view_spec(page, store)
    current = _query()
    marker = f"_{page}.url_written"
    widgets = _patient_from_widgets(page)
    if st.session_state.get(marker) != canonical(current):
        values, notices = parse_params(current, spec)
        for name, value in values.items():
            st.session_state[f"{page}.{name}"] = value
        st.session_state[f"_{page}.notices"] = notices
        # a link without a profile (a page link of the sidebar) keeps the session's profile
        if "patient" not in current and _SESSION_PATIENT in st.session_state:
            values["patient"] = st.session_state[_SESSION_PATIENT]
        _set_patient(page, values.get("patient") or {}, into_widgets=True)
    elif widgets is not None and st.session_state.get(_SESSION_PATIENT_PAGE) in (page, None):
        _set_patient(page, widgets, into_widgets=False)
    else:   # back on a page whose panel was not drawn in the last run: the session's profile
        _set_patient(page, st.session_state.get(_SESSION_PATIENT) or {}, into_widgets=True)
    notices = st.session_state.get(f"_{page}.notices", [])
    state = {name: st.session_state.get(f"{page}.{name}") for name in spec}
    model = build_state(page, state, store)
    st.markdown(_PRESENTATION_CSS if model.present else _COMPACT_CSS, unsafe_allow_html=True)
    return (replace(model, notices=tuple(notices)) if notices else model), spec


def header(model: ViewModel, params: dict[str, str], store, title: str | None = None) -> None:
    """Title and link box on one line, then what the link could not use and the store's problems.
    In presentation mode (no sidebar) the selection follows in one line, with a way back."""
    if not model.present:
        head, link = st.columns([2.6, 1], vertical_alignment="bottom")
        head.title(title or model.title)
        share_box(model, params, where=link)
    else:
        head, link, leave = st.columns([5, 1.5, 2], vertical_alignment="bottom")
        head.title(title or model.title)
        share_box(model, params, where=link)
        leave.button("Leave presentation mode", key=f"{model.page}.leave_present", on_click=_leave_presentation,
                     args=(model.page,), icon=":material/close_fullscreen:")
        # a control the page greys out is not part of the selection (forest: response effect vs adjustment)
        response = model.texts.get("is_response")
        skip = () if response is None else (("adjusted",) if response else ("measure",))
        summary = selection_summary(model.state, view_spec(model.page, store), model.texts.get("options", {}), skip)
        if summary:
            with st.container(key="view-summary"):
                st.caption(literal(summary))
    if model.texts.get("patient_summary"):
        st.markdown(f"**{literal(model.texts['patient_summary'])}**")
    for n in model.notices:
        st.info(literal(f"Link partly ignored: {n}. Showing what could be used."), icon="ℹ️")
    show_problems(store)


def patient_panel(page: str) -> None:
    """The patient profile in the sidebar: one control per field, each optional."""
    with st.sidebar.expander("Patient profile", expanded=bool(st.session_state.get(f"{page}.patient"))):
        st.caption(pt.PRIVACY)
        st.number_input(pt.FIELD_LABELS["age"], min_value=AGE_LIMITS[0], max_value=AGE_LIMITS[1], value=None,
                        step=1, key=_patient_key(page, "age"), placeholder="not given")
        for f in pt.SELECT_FIELDS:
            labels = pt.VALUE_LABELS[f]
            st.selectbox(pt.FIELD_LABELS[f], ["", *PROFILE_VALUES[f]], key=_patient_key(page, f),
                         format_func=lambda v, labels=labels: labels.get(v, "not given"))
        st.button("Clear the profile", key=f"{page}.patient_clear", on_click=_clear_patient, args=(page,),
                  disabled=not st.session_state.get(f"{page}.patient"))


def _clear_patient(page: str) -> None:
    _set_patient(page, {}, into_widgets=True)


def drop_arms_button(page: str, model: ViewModel, where=None) -> None:
    """'Drop the arms outside the patient profile': removes them from the page's arm selection."""
    outside = model.texts.get("patient_outside_arms") or []
    if not outside:
        return

    def drop():
        st.session_state[f"{page}.arms"] = [k for k in st.session_state.get(f"{page}.arms", []) if k not in outside]

    (where or st).button(f"Drop the {len(outside)} arm(s) outside the patient profile", key=f"{page}.patient_drop",
                         on_click=drop, help="Their studies' eligibility criteria exclude this patient (✗).")


def _leave_presentation(page: str) -> None:
    st.session_state[f"{page}.present"] = False


def write_link(page: str, spec: dict) -> dict[str, str]:
    """Write the widgets' state to the address bar (defaults left out, so links stay short), after
    drawing the patient panel at the foot of the sidebar."""
    if "patient" in spec:
        patient_panel(page)
    values = {name: st.session_state.get(f"{page}.{name}") for name in spec}
    params = encode_params(values, spec)
    if _query() != {k: [v] for k, v in params.items()}:
        st.query_params.clear()
        st.query_params.update(params)
    st.session_state[f"_{page}.url_written"] = canonical({k: [v] for k, v in params.items()})
    return params


def view_link(base_url: str | None, page_path: str, params: dict[str, str]) -> str:
    """The shareable link of the current view: page path plus its non-default parameters."""
    root = ""
    if base_url:
        parts = urlsplit(base_url)
        root = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
    query = urlencode(params, safe=",:")
    return f"{root}/{page_path}" + (f"?{query}" if query else "")


def _base_url() -> str | None:
    try:
        return st.context.url
    except Exception:  # AppTest has no browser URL
        return None


def share_box(model: ViewModel, params: dict[str, str], where=None) -> None:
    """'Link to this view': a plain text field in a popover (no code highlighter to load)."""
    where = where or st
    with where.popover("Link to this view", icon=":material/link:", width="stretch"):
        st.text_input("Link to this view", value=view_link(_base_url(), model.path, params),
                      key=f"{model.page}.share_link", label_visibility="collapsed")
        st.caption("Select the link and copy it (Ctrl+C or ⌘C). Opening it reproduces this view; "
                   "present=1 opens it in presentation mode.")


def presentation_toggle(page: str, where=None) -> None:
    (where or st).toggle("Presentation mode", key=f"{page}.present",
                         help="larger type, no sidebar: for the meeting-room screen")


def show_problems(store) -> None:
    """A banner naming every problem of the evidence files; the affected studies are withheld."""
    if not store.problems:
        return
    withheld = ", ".join(store.withheld_studies) or "none"
    unread = getattr(store, "withheld_files", [])
    if unread:
        withheld += f" (files not read at all: {', '.join(unread)})"
    lines = "\n".join(f"- {literal(p)}" for p in store.problems[:20])
    more = f"\n- ... and {len(store.problems) - 20} more" if len(store.problems) > 20 else ""
    st.error(f"**The evidence files have {len(store.problems)} problem(s).** Studies withheld until fixed: "
             f"{literal(withheld)}. Everything else is shown.\n\n{lines}{more}")


def caveat_line(model: ViewModel, extra: list[str] | None = None) -> None:
    """The caveats of the view as one concise line by the chart, details on demand."""
    items = list(model.caveats) + list(extra or [])
    if not items:
        return
    first = items[0].split(". ")[0].rstrip(".") + "."
    st.caption("⚠️ " + literal(first), help=literal(" ".join(items)) if len(items) > 1 or first != items[0] else None)


def exports(model: ViewModel, name: str, where=None) -> None:
    """Server-side SVG/PNG of the view's figure and the tumor-board brief, rendered on click only."""
    from .brief import brief_page_html, brief_pdf, figure_svg, missing_for_pdf
    from .export import chromium_path, figure_bytes
    brief = model.brief
    if brief is None:
        return
    where = where or st
    fig = model.figures.get(brief.figure) if brief.figure else None
    cols = where.columns([1, 1, 2])
    if chromium_path() is not None and fig is not None:
        cols[0].download_button("Figure (SVG)", data=lambda: figure_bytes(fig, "svg"), file_name=f"{name}.svg",
                                mime="image/svg+xml", key=f"{model.page}.export_svg", on_click="ignore")
        cols[1].download_button("Figure (PNG)", data=lambda: figure_bytes(fig, "png"), file_name=f"{name}.png",
                                mime="image/png", key=f"{model.page}.export_png", on_click="ignore")
    else:
        cols[0].caption("Server-side figure export needs Chromium; use the camera button on the chart.")
    url = view_link(_base_url(), model.path, model.params)
    missing = missing_for_pdf()
    if missing is None:
        cols[2].download_button(
            "📄 Tumor-board brief (PDF)", data=lambda: brief_pdf(model, url), file_name=f"{name}_brief.pdf",
            mime="application/pdf", key=f"{model.page}.export_brief_pdf", on_click="ignore",
            help="One A4 landscape page: the figure, the key numbers with their sources, the design and main "
                 "caveat, the date and the link to this view.")
    else:
        cols[2].caption(f"Tumor-board brief (PDF) unavailable: {missing}")
    cols[2].download_button(
        "Tumor-board brief (HTML, print it yourself)",
        data=lambda: brief_page_html(model, url, *figure_svg(model)).encode("utf-8"),
        file_name=f"{name}_brief.html", mime="text/html", key=f"{model.page}.export_brief", on_click="ignore",
        help="The same brief as a web page, for printing from the browser.")


def plotly_config(filename: str) -> dict:
    """The chart's toolbar: no logo, no selection tools; the camera saves an SVG (sharp on a projector
    and in slides) under this file name."""
    return {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
            "toImageButtonOptions": {"format": "svg", "filename": filename}}


def csv_button(df, label: str, file_name: str, key: str, where=None) -> None:
    from .tables import to_csv_bytes
    (where or st).download_button(label, to_csv_bytes(df), file_name=file_name, mime="text/csv", key=key)


def error_boundary(what: str):
    """Run a page body; on an unexpected error show what failed and what still works, log the rest."""
    return _Boundary(what)


class _Boundary:
    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, (KeyboardInterrupt, SystemExit)) or _is_streamlit_control(exc):
            return False
        log.exception("%s failed", self.what)
        st.error(f"{self.what} could not be shown because of an internal error (logged on the server). "
                 "The other pages and the rest of the evidence still work; a link to a different view may help.")
        return True


def _is_streamlit_control(exc: BaseException) -> bool:
    # st.rerun() and st.stop() work by raising; they are not errors
    return type(exc).__name__ in ("RerunException", "StopException")
