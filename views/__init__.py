"""The view layer: query string -> normalised state -> view model (figures, tables,
notices, caveats). Pure: no streamlit. Built once per state and shared by every
session that opens the same link.

    from views import build_view
    model = build_view("forest", "endpoint=PFS", store)
    model.state, model.figures, model.tables, model.notices, model.caveats
"""
from .core import PAGES, build_view, view_spec
from .model import Brief, ViewModel

__all__ = ["PAGES", "build_view", "view_spec", "Brief", "ViewModel"]
