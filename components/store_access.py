"""The store as the pages see it: loaded once per process and re-read when a
curator changes a file, with its problems shown instead of a crash."""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from evidence import load_store
from evidence.sources import default_sources_dir
from evidence.store import DATA_DIR, fingerprint


def evidence_dir() -> Path:
    """The bundled evidence files, or $HCC_EVIDENCE_DIR (a curator previewing edits)."""
    return Path(os.environ.get("HCC_EVIDENCE_DIR") or DATA_DIR)


@st.cache_resource(show_spinner="Loading the evidence store...", max_entries=4)
def _cached_store(data_dir: str, files_fingerprint: str, sources: str | None):
    # cache_resource, not cache_data: the store is read-only and shared, and
    # copying every table for every session would cost memory for nothing.
    return load_store(data_dir, sources=sources)


def get_store():
    sources = default_sources_dir()
    data_dir = evidence_dir()
    return _cached_store(str(data_dir), fingerprint(data_dir, sources), str(sources) if sources else None)
