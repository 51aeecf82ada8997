"""Shared fixtures. The source texts come from --sources (CI passes ../shared/seeds)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def sources_dir(request) -> Path:
    from evidence.sources import default_sources_dir
    given = request.config.getoption("--sources")
    path = Path(given) if given else default_sources_dir()
    if path is None or not Path(path).is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"source texts not found ({given or '../shared/seeds'}): CI must check every snippet")
        pytest.skip("source texts not available; pass --sources DIR")
    return Path(path).resolve()


@pytest.fixture(scope="session")
def store():
    from evidence import load_store
    return load_store()


FIXTURE_EVIDENCE = ROOT / "tests" / "fixtures" / "evidence"


@pytest.fixture(scope="session")
def fixture_store():
    """A small store the tests own (tests/fixtures/evidence): two made-up studies
    whose numbers do not move when curators edit evidence/data. Loaded strictly,
    with its own source texts and adverse-event vocabulary."""
    from evidence import load_store
    return load_store(FIXTURE_EVIDENCE / "data", sources=FIXTURE_EVIDENCE / "sources", strict=True,
                      ae_terms=FIXTURE_EVIDENCE / "ae_terms.yaml")
