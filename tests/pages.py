"""Opening a page in Streamlit's AppTest, and reading what it shows as a user reads it."""
from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def open_page(page_file: str, **params) -> AppTest:
    """Open pages/<page_file> through app.py's navigation with a link's parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page_file}").run()
    assert not at.exception, at.exception
    return at


def shown(markdown: str) -> str:
    """What a reader sees of an escaped markdown text: the backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", str(markdown)).replace("  \n", "\n")


def texts(at: AppTest, *kinds: str) -> list[str]:
    """Every text of these element kinds (default: all text kinds), as the reader sees it."""
    kinds = kinds or ("markdown", "caption", "info", "warning", "error", "title", "subheader", "success")
    out = []
    for kind in kinds:
        for el in getattr(at, kind):
            out.append(shown(el.value))
            help_text = getattr(el.proto, "help", "")
            if help_text:
                out.append(shown(help_text))
    return out
