"""build_view: the one way a page, a test or a benchmark gets a view."""
from __future__ import annotations

from dataclasses import replace
from types import ModuleType
from typing import Any

from . import adverse_events, evidence, forest, overview, survival
from .cache import ViewCache
from .links import canonical, encode_params, parse_params, parse_query_string
from .model import PATIENT, ViewModel
from .patient import with_patient

# page name -> module with PATH, spec(store) and build(state, store, params)
PAGES: dict[str, ModuleType] = {
    "overview": overview,
    "evidence": evidence,
    "forest": forest,
    "survival": survival,
    "adverse-events": adverse_events,
}

VIEWS = ViewCache()
_SPECS = ViewCache(max_entries=32)   # each page's URL scheme depends on what the store holds


def view_spec(page: str, store) -> dict[str, Any]:
    """The URL scheme of a page for this store: parameter -> Choice / Many / Flag."""
    module = PAGES[page]
    # every page carries the patient profile, so it survives every link and every page
    return _SPECS.get_or_build((store.fingerprint, page), lambda: {**module.spec(store), "patient": PATIENT})


def parse_view(page: str, query: str | dict, store) -> tuple[dict[str, Any], list[str]]:
    """The normalised state of a link, and notices naming what in it was ignored."""
    try:
        raw = parse_query_string(query)
    except ValueError:
        return parse_params({}, view_spec(page, store))[0], ["the link had too many parameters; showing the default view"]
    return parse_params(raw, view_spec(page, store))


def build_view(page: str, query: str | dict, store, *, cache: ViewCache | None = VIEWS) -> ViewModel:
    """The view model of a page for a link (query string or {key: value(s)}).

    Cached across sessions by the store's fingerprint and the normalised state:
    two links that differ only in spelling share one build. cache=None builds anew.
    """
    if page not in PAGES:
        raise KeyError(f"unknown page {page!r}; pages: {', '.join(PAGES)}")
    state, notices = parse_view(page, query, store)
    model = build_state(page, state, store, cache=cache)
    return replace(model, notices=tuple(notices)) if notices else model


def build_state(page: str, state: dict[str, Any], store, *, cache: ViewCache | None = VIEWS) -> ViewModel:
    """The view model of a state a page's widgets hold (already valid: widgets offer only the
    scheme's options). An empty selection stays empty here, where a link would fall back."""
    params = encode_params(state, view_spec(page, store))
    key = (store.fingerprint, page, canonical({k: [v] for k, v in params.items()}))
    state = {**state, "patient": dict(state.get("patient") or {})}
    make = lambda: with_patient(PAGES[page].build(dict(state), store, params), store)   # noqa: E731
    return cache.get_or_build(key, make) if cache is not None else make()
