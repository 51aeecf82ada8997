"""The store as the pages see it: loaded once per process and re-read when a
curator changes a file, with its problems shown instead of a crash."""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from evidence import load_store
from evidence.sources import default_sources_dir
from evidence.store import DATA_DIR, AE_TERMS_FILE


def evidence_dir() -> Path:
    """The bundled evidence files, or $HCC_EVIDENCE_DIR (a curator previewing edits)."""
    return Path(os.environ.get("HCC_EVIDENCE_DIR") or DATA_DIR)


def _fingerprint(data_dir: Path) -> tuple:
    """Names and modification times of the evidence files: the cache key, so an edit is seen at once."""
    files = sorted(data_dir.glob("*.yaml")) + [AE_TERMS_FILE]
    return tuple((f.name, f.stat().st_mtime_ns) for f in files if f.exists())


@st.cache_resource(show_spinner="Loading the evidence store...", max_entries=4)
def _cached_store(data_dir: str, fingerprint: tuple, sources: str | None):
    # cache_resource, not cache_data: the store is read-only and shared, and
    # copying every table for every session would cost memory for nothing.
    return load_store(data_dir, sources=sources)


def get_store():
    sources = default_sources_dir()
    data_dir = evidence_dir()
    return _cached_store(str(data_dir), _fingerprint(data_dir), str(sources) if sources else None)


def show_store_problems(store) -> None:
    """A banner naming every problem; the affected studies are withheld, the rest is served."""
    if not store.problems:
        return
    withheld = ", ".join(store.withheld_studies) or "none"
    lines = "\n".join(f"- `{p}`" for p in store.problems[:20])
    more = f"\n- ... and {len(store.problems) - 20} more" if len(store.problems) > 20 else ""
    st.error(f"**The evidence files have {len(store.problems)} problem(s).** "
             f"Studies withheld until fixed: {withheld}. Everything else is shown.\n\n{lines}{more}")
