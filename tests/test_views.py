"""The view layer on its own: no Streamlit, one build per view state, shared, bounded, never stale."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from views import PAGES, build_view
from views.cache import ViewCache

ROOT = Path(__file__).resolve().parent.parent


def test_views_import_no_streamlit():
    code = "import sys, views; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit')))"
    out = subprocess.run([sys.executable, "-c", "import json; " + code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_builds_from_an_empty_link(store, page):
    model = build_view(page, "", store, cache=None)
    assert model.page == page and model.notices == ()
    assert set(model.state) >= {"present"}
    assert model.params == {}                       # the default view has the shortest link


def test_two_spellings_of_one_view_share_one_build(store):
    cache = ViewCache()
    a = build_view("forest", "endpoint=pfs&sort=listed", store, cache=cache)
    b = build_view("forest", {"endpoint": "PFS"}, store, cache=cache)
    assert cache.builds == 1 and cache.hits == 1
    assert a.figures["forest"] is b.figures["forest"]
    assert a.params == {"endpoint": "PFS"}


def test_a_tampered_link_keeps_what_it_can_and_says_what_it_ignored(store):
    model = build_view("forest", "endpoint=[Session expired](http://evil.example)&studies=sun2022,nope&x=1",
                       store, cache=None)
    assert model.state["endpoint"] == "OS" and model.state["studies"] == ["sun2022"]
    text = " ".join(model.notices)
    assert "[Session expired](http://evil.example)" in text and "nope" in text and "'x'" in text


def test_notices_are_not_cached_with_the_view(store):
    cache = ViewCache()
    tampered = build_view("survival", "arms=nope:arm", store, cache=cache)
    clean = build_view("survival", "", store, cache=cache)
    assert tampered.notices and not clean.notices
    assert cache.builds == 1                         # the same (default) view underneath


def test_the_cache_is_bounded_in_entries_and_age():
    now = [0.0]
    cache = ViewCache(max_entries=3, ttl_seconds=10, clock=lambda: now[0])
    for k in range(5):
        cache.get_or_build(k, lambda k=k: k)
    assert len(cache) == 3 and cache.builds == 5
    assert cache.get_or_build(0, lambda: "rebuilt") == "rebuilt"       # evicted: oldest first
    now[0] = 11.0
    assert cache.get_or_build(4, lambda: "fresh") == "fresh"          # expired after its TTL


def test_a_curator_edit_changes_the_fingerprint_and_the_view(store):
    cache = ViewCache()
    before = build_view("overview", "", store, cache=cache)
    edited = replace(store, fingerprint=store.fingerprint + "-edited")
    after = build_view("overview", "", edited, cache=cache)
    assert cache.builds == 2 and before is not after


def test_both_endpoint_families_of_a_store_stay_cached(store):
    from views import survival
    os_first = survival.sources(store, "OS")
    pfs = survival.sources(store, "PFS")
    assert survival.sources(store, "OS") is os_first and survival.sources(store, "PFS") is pfs
    assert survival.plan(store, "OS") is survival.plan(store, "OS")
    edited = replace(store, fingerprint=store.fingerprint + "-edited")
    assert survival.sources(edited, "OS") is not os_first          # a curator's edit: built anew


def test_an_upload_gets_fidelity_rows_and_is_never_cached(store):
    from views import survival
    from evidence.curve_files import rebuild_upload
    curve = b"0,1\n3,0.9\n6,0.75\n9,0.6\n12,0.5\n18,0.35\n24,0.25\n"
    risk = b"0,100\n6,70\n12,45\n18,30\n24,20\n"
    up = rebuild_upload(curve, risk, None)
    state = build_view("survival", "", store).state
    model = survival.build(state, store, {}, upload=survival.Upload(up.ipd, tuple(up.notes), "My curve", up.fidelity))
    fid = model.tables["fidelity"]
    assert (fid.Arm == "My curve").any()
    assert any("My curve" in (t.name or "") for t in model.figures["curves"].data)


def test_adverse_event_hover_texts_are_sent_once(store):
    fig = build_view("adverse-events", "", store).figures["heatmap"]
    hovers = [h for tr in fig.data if tr.customdata is not None for row in tr.customdata for h in row if h]
    # each drawn cell has exactly one hover text across the layers (the NR frame layer has none)
    drawn = sum(1 for tr in fig.data if tr.customdata is not None for row in tr.z for v in row if v is not None)
    assert len(hovers) == drawn


def test_tables_of_views_are_dataframes(store):
    for page in PAGES:
        model = build_view(page, "", store)
        assert all(isinstance(t, pd.DataFrame) for t in model.tables.values())
