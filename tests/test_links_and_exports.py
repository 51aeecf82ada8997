"""Link parsing never fails on hostile input; exports are what they claim to be."""
from __future__ import annotations

import shutil

import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings, strategies as st

from components.export import brief_html, chromium_path, figure_bytes
from views.links import Choice, Flag, Many, encode_params, parse_params
from components.chrome import view_link

SPEC = {
    "endpoint": Choice(["OS", "PFS", "TTP"], "OS"),
    "arms": Many(["huang2022:folfox_haic", "huang2022:sorafenib", "liu2020:sorafenib_tace_haic"],
                 ["huang2022:folfox_haic", "huang2022:sorafenib"]),
    "present": Flag(False),
}


def test_known_values_round_trip():
    values = {"endpoint": "PFS", "arms": ["liu2020:sorafenib_tace_haic"], "present": True}
    encoded = encode_params(values, SPEC)
    assert encoded == {"endpoint": "PFS", "arms": "liu2020:sorafenib_tace_haic", "present": "1"}
    parsed, notices = parse_params(encoded, SPEC)
    assert parsed == values and notices == []


def test_defaults_are_left_out_of_the_link():
    values, _ = parse_params({}, SPEC)
    assert encode_params(values, SPEC) == {}


def test_unknown_ids_are_dropped_and_named():
    parsed, notices = parse_params({"arms": "huang2022:sorafenib,nope:x", "endpoint": "DFSX"}, SPEC)
    assert parsed["arms"] == ["huang2022:sorafenib"] and parsed["endpoint"] == "OS"
    assert any("nope:x" in n for n in notices) and any("DFSX" in n for n in notices)


def test_repeated_keys_last_wins_and_long_values_are_refused():
    parsed, _ = parse_params({"endpoint": ["PFS", "TTP"]}, SPEC)
    assert parsed["endpoint"] == "TTP"
    parsed, notices = parse_params({"arms": "a" * 10_000}, SPEC)
    assert parsed["arms"] == SPEC["arms"].default and "too long" in notices[0]


def test_injection_attempts_are_not_echoed_raw():
    payload = "<script>alert(1)</script>'; DROP TABLE arms;--" + "\x00\x1b[2J"
    _, notices = parse_params({"endpoint": payload, "x" * 50: "1"}, SPEC)
    joined = " ".join(notices)
    assert "\x00" not in joined and "\x1b" not in joined
    assert all(len(n) < 300 for n in notices)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.one_of(st.text(max_size=3000),
                                                       st.lists(st.text(max_size=200), max_size=5)), max_size=6))
def test_any_query_falls_back_safely(query):
    values, notices = parse_params(query, SPEC)
    assert values["endpoint"] in SPEC["endpoint"].options
    assert set(values["arms"]) <= set(SPEC["arms"].options) and values["arms"]
    assert isinstance(values["present"], bool)
    assert all(isinstance(n, str) for n in notices)


def test_view_link():
    assert view_link("http://host:8501/forest?x=1", "survival", {"arms": "a:b,c:d", "endpoint": "OS"}) == \
        "http://host:8501/survival?arms=a:b,c:d&endpoint=OS"
    assert view_link(None, "forest", {}) == "/forest"


needs_chromium = pytest.mark.skipif(chromium_path() is None, reason="chromium not installed")


@needs_chromium
def test_server_side_export_gives_real_svg_and_png():
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="arm"))
    svg = figure_bytes(fig, "svg")
    assert svg.lstrip().startswith(b"<svg") and b"</svg>" in svg
    png = figure_bytes(fig, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError):
        figure_bytes(fig, "gif")


@needs_chromium
def test_brief_escapes_what_came_from_files():
    fig = go.Figure(go.Bar(x=["a"], y=[1]))
    numbers = pd.DataFrame({"Study": ["<b>Sun</b> 2022"], "HR": ["0.465 (0.298-0.726)"]})
    page = brief_html("OS hazard ratios", fig, numbers, ["Sun J et al. <i>Chin Med J</i> 2022"],
                      ["Retrospective comparisons are not randomised."], "http://x/forest?endpoint=OS")
    assert "<svg" in page and "&lt;b&gt;Sun&lt;/b&gt;" in page and "&lt;i&gt;Chin" in page
    assert "not randomised" in page and "@page" in page
