"""The source texts the evidence was curated from, and how snippets are matched.

Snippets are verbatim, but the texts were converted from PDF and Word: line
breaks fall anywhere and 003 carries Word '[bookmark: ...]' markers. Both sides
are therefore compared after removing the markers and folding white space.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_SPACE = re.compile(r"\s+")
# A number as printed: 14.9, 0.465, .001, 57 (signs and range dashes are not part of it).
_NUMBER = re.compile(r"\d*\.\d+|\d+")

REPO_ROOT = Path(__file__).resolve().parent.parent


def normalise(text: str) -> str:
    return _SPACE.sub(" ", _BOOKMARK.sub("", text)).strip()


def numbers_in(text: str) -> list[float]:
    """Every number printed in a text, in order."""
    return [float(m) for m in _NUMBER.findall(text.replace("·", "."))]


def occurs(value: float, text: str) -> bool:
    return any(abs(value - x) < 1e-9 for x in numbers_in(text))


def default_sources_dir() -> Path | None:
    """The seed texts: $HCC_SOURCES, else ../shared/seeds beside the repository."""
    env = os.environ.get("HCC_SOURCES")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "seeds")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@lru_cache(maxsize=32)
def _read_normalised(path: str, mtime: float) -> str:
    return normalise(Path(path).read_text(encoding="utf-8", errors="replace"))


def source_path(sources_dir: Path, source_file: str) -> Path | None:
    """The source text's path if `source_file` names a file directly inside the
    sources folder; None for anything else ('..', folders, absolute paths, links out)."""
    if not isinstance(source_file, str) or not source_file or "\x00" in source_file:
        return None
    if Path(source_file).name != source_file or source_file in (".", "..") or "\\" in source_file:
        return None
    folder = Path(sources_dir).resolve()
    path = (folder / source_file).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def source_text(sources_dir: Path, source_file: str) -> str | None:
    path = source_path(sources_dir, source_file)
    if path is None:
        return None
    return _read_normalised(str(path), path.stat().st_mtime)
