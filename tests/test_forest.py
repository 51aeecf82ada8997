"""The forest plot figure against the store: every hazard ratio, its values,
the log axis, the favours labels, conflict marks, response effects from counts,
and pooling only where a comparison repeats."""
from __future__ import annotations

import html
import math
import re
import sys
import textwrap

import pandas as pd
import pytest

from components import forest, text
from evidence import naming
from views import forest_rows
from components.tables import to_csv_bytes
from analysis import effects as stats
from evidence import load_store


def _estimates(fig):
    """{row_id: x} of the plotted point estimates."""
    out = {}
    for tr in fig.data:
        if tr.meta == "estimates":
            out.update(dict(zip(tr.ids, tr.x)))
    return out


def _texts(fig):
    return [a.text for a in fig.layout.annotations]


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", " ", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _row_annotations(fig, y):
    return [_plain(a.text) for a in fig.layout.annotations if a.yref == "y" and a.y == pytest.approx(y)]


def _hr_endpoints(store):
    return sorted(set(store.hazard_ratios.endpoint))


# --------------------------------------------------------------------------- hazard ratios

@pytest.mark.parametrize("endpoint", ["OS", "PFS", "TTP"])
def test_one_row_per_hazard_ratio_with_the_store_values(store, endpoint):
    expected = store.hazard_ratios[store.hazard_ratios.endpoint == endpoint]
    if expected.empty:
        pytest.fail(f"no {endpoint} hazard ratio in the bundled store: it lost data")
    rows = forest_rows.hazard_ratio_rows(store, [endpoint])     # every filter open
    fig = forest.forest_figure(rows, *forest_rows.pooling(rows))
    points = _estimates(fig)
    assert sorted(points) == sorted(expected.record_id)
    for r in expected.itertuples():
        assert points[r.record_id] == pytest.approx(r.hr)
    # the side table prints the store's numbers on the row of the marker
    marker_y = {}
    for tr in fig.data:
        if tr.meta == "estimates":
            marker_y.update(dict(zip(tr.ids, tr.y)))
    for r in expected.itertuples():
        row_text = " ".join(_row_annotations(fig, marker_y[r.record_id]))
        assert f"{r.hr:g}" in row_text
        if pd.notna(r.ci_low):
            assert f"{r.ci_low:g}" in row_text and f"{r.ci_high:g}" in row_text
        if isinstance(r.p_text, str) and r.p_text:
            assert f"p {r.p_text}" in row_text
        else:
            assert "p NR" in row_text                       # not reported, never blank
        # adjusted or not is printed in the row (duplicate-looking rows differ by more than fill)
        if r.adjusted:
            first = re.sub(r"\s*\([^()]*\)", "", r.adjusted_for.split(",")[0]).split()[0]
            assert "adj. for" in row_text and first in row_text
        else:
            assert "unadj." in row_text
        if pd.notna(r.ci_level) and round(100 * r.ci_level) != 95:
            assert f"{round(100 * r.ci_level)}% CI" in row_text


def test_log_axis_null_line_and_favours_labels(store):
    rows = forest_rows.hazard_ratio_rows(store, ["OS"])
    fig = forest.forest_figure(rows)
    assert fig.layout.xaxis.type == "log"
    lo, hi = (10 ** v for v in fig.layout.xaxis.range)
    assert lo < 1 < hi
    null = [tr for tr in fig.data if tr.name == "no difference"]
    assert null and list(null[0].x) == [1, 1]
    texts = " ".join(_plain(t) for t in _texts(fig))
    assert "favours experimental" in texts and "favours reference" in texts
    # lower hazard is better for the experimental arm: its label sits left of the null line
    ann = {(_plain(a.text).strip()): a for a in fig.layout.annotations if "favours" in a.text}
    left = next(a for t, a in ann.items() if "experimental" in t)
    assert left.xanchor == "right"
    assert "Hazard ratio (log scale)" in fig.layout.xaxis.title.text


def test_whiskers_are_clipped_with_arrows_not_dropped():
    rows = pd.DataFrame([_fake_row("a", 0.5, 0.001, 50.0), _fake_row("b", 0.8, 0.6, 1.1)])
    fig = forest.forest_figure(rows)
    clipped = [tr for tr in fig.data if tr.meta == "clipped"]
    symbols = {tr.marker.symbol for tr in clipped}
    assert symbols == {"triangle-left", "triangle-right"}
    lo, hi = (10 ** v for v in fig.layout.xaxis.range)
    assert lo > 0.001 and hi < 50
    assert set(_estimates(fig).values()) == {0.5, 0.8}   # estimates themselves are never clipped


def test_clipping_arrows_lie_wholly_inside_the_axis():
    """An arrow centred on the axis end loses its outer half to the plot's edge (the ORR risk
    ratio of Huang 2022 runs to 139.8). Each arrow's centre must sit at least half its width
    (6 px of a 12 px marker) inside the axis, measured on the narrowest plot the page allows."""
    rows = pd.DataFrame([_fake_row("a", 0.5, 0.001, 50.0), _fake_row("b", 0.8, 0.6, 1.1)])
    fig = forest.forest_figure(rows)
    lo, hi = fig.layout.xaxis.range                     # log10 units
    plot_px = forest.MIN_PLOT_PX
    for tr in (t for t in fig.data if t.meta == "clipped"):
        half_units = tr.marker.size / 2 / plot_px * (hi - lo)
        for x in tr.x:
            u = math.log10(x)
            assert lo + half_units - 1e-9 <= u <= hi - half_units + 1e-9


def test_marker_shape_by_design_and_fill_by_adjustment_with_a_legend():
    # one row per design, written out with the plotly symbol the legend promises
    # for it; hollow ("-open") when unadjusted
    rows = pd.DataFrame([
        _fake_row("rct_adj", 0.5, 0.25, 1.0, design="randomised", adjusted=True, adjusted_for="age"),
        _fake_row("rct", 0.8, 0.2, 3.2, design="randomised"),
        _fake_row("retro", 0.7, 0.4, 1.2, design="retrospective"),
        _fake_row("psm_adj", 0.6, 0.4, 0.9, design="propensity_matched", adjusted=True, adjusted_for="age"),
        _fake_row("single", 0.9, 0.5, 1.6, design="prospective_single_arm"),
        _fake_row("review", 0.75, 0.5, 1.1, design="randomised", source_kind="review"),
        _fake_row("meta", 0.65, 0.5, 0.85, design="meta_analysis"),
    ])
    fig = forest.forest_figure(rows)
    symbol = {}
    for tr in fig.data:
        if tr.meta == "estimates":
            symbol.update({rid: tr.marker.symbol for rid in tr.ids})
    assert symbol == {"rct_adj": "square", "rct": "square-open", "retro": "circle-open", "psm_adj": "hexagon",
                      "single": "triangle-up-open", "review": "cross-open", "meta": "star-open"}
    legend = {tr.name: tr.marker.symbol for tr in fig.data if tr.meta == "legend"}
    assert legend == {
        "Randomised": "square", "Retrospective": "circle", "Retrospective, propensity-matched": "hexagon",
        "Prospective, non-randomised": "triangle-up", "Reported in a review": "cross", "Meta-analysis": "star",
        "filled: adjusted": "square", "hollow: unadjusted": "square-open"}
    # marker area proportional to precision (1/SE): SE from the CI is ln(U/L) / 3.92,
    # ln 4 / 3.92 = 0.354 for a (0.25-1.0) and ln 16 / 3.92 = 0.707 for b (0.2-3.2),
    # twice as large: half the precision, half the area (20 px and 20 / sqrt 2 = 14.1 px)
    two = forest.forest_figure(pd.DataFrame([_fake_row("a", 0.5, 0.25, 1.0), _fake_row("b", 0.8, 0.2, 3.2)]))
    size = {}
    for tr in two.data:
        if tr.meta == "estimates":
            size.update(dict(zip(tr.ids, tr.marker.size)))
    assert size == {"a": pytest.approx(20.0), "b": pytest.approx(14.1)}


def test_design_is_visible_without_hovering(store):
    rows = forest_rows.hazard_ratio_rows(store, ["OS"])
    fig = forest.forest_figure(rows)
    texts = " ".join(_plain(t) for t in _texts(fig))
    for d, kind in zip(rows.design, rows.source_kind):
        assert naming.SHORT_DESIGN[d] in texts
    if (rows.source_kind == "review").any():
        assert "(review)" in texts


def test_rows_grouped_under_endpoint_headers_and_ttp_is_not_pfs(store):
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    assert list(rows.group) == list(rows.endpoint)   # never relabelled
    fig = forest.forest_figure(rows)
    headers = {_plain(a.text).strip(): a.y for a in fig.layout.annotations
               if a.yref == "y" and _plain(a.text).strip() in naming.ENDPOINT_TITLES.values()}
    present = [e for e in forest_rows.SURVIVAL_ENDPOINTS if e in set(rows.endpoint)]
    assert set(headers) == {naming.ENDPOINT_TITLES[e] for e in present}
    ys = dict()
    for tr in fig.data:
        if tr.meta == "estimates":
            ys.update(dict(zip(tr.ids, tr.y)))
    order = sorted(headers.items(), key=lambda kv: kv[1])
    for i, (title, y0) in enumerate(order):
        y1 = order[i + 1][1] if i + 1 < len(order) else math.inf
        endpoint = next(e for e, t in naming.ENDPOINT_TITLES.items() if t == title)
        for rid in rows[rows.endpoint == endpoint].row_id:
            assert y0 < ys[rid] < y1


def test_conflicted_rows_carry_a_visible_mark(store):
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    conflicted = rows[rows.conflict_ids.map(bool)]
    if conflicted.empty:
        pytest.fail("no hazard ratio with a recorded conflict in the bundled store: it lost data")
    fig = forest.forest_figure(rows)
    ys = {}
    for tr in fig.data:
        if tr.meta == "estimates":
            ys.update(dict(zip(tr.ids, tr.y)))
    for r in rows.itertuples():
        study_cell = _row_annotations(fig, ys[r.row_id])[0]
        # a major conflict is marked prominently (⚠), a minor one quietly (*), none not at all
        expected = {"major": "⚠", "minor": "*"}.get(r.conflict_severity, "")
        assert study_cell[:1] == expected or (not expected and study_cell[:1] not in "⚠*"), r.row_id
    # and the hover names the conflict
    hovers = " ".join(h for tr in fig.data if tr.meta == "estimates" for h in tr.customdata)
    first = store.conflicts[(store.conflicts.conflict_id == conflicted.conflict_ids.iloc[0][0])
                            & (store.conflicts.study_id == conflicted.study_id.iloc[0])].iloc[0]
    assert "Conflict" in hovers
    assert any(w in _plain(hovers) for w in textwrap.wrap(first.description, 40)[:1])


def test_hover_shows_snippet_and_location(store):
    rows = forest_rows.hazard_ratio_rows(store, ["OS"])
    fig = forest.forest_figure(rows)
    hovers = {rid: _plain(h) for tr in fig.data if tr.meta == "estimates"
              for rid, h in zip(tr.ids, tr.customdata)}
    for r in rows.itertuples():
        h = re.sub(r"\s+", " ", hovers[r.row_id])
        assert r.location in h
        assert " ".join(r.snippet.split()[:4]) in h


def test_readable_with_many_rows_fonts_and_no_overlap(store):
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    if len(rows) < 25:   # make 25+ rows from what the store holds
        rows = pd.concat([rows] * math.ceil(25 / max(len(rows), 1)), ignore_index=True)
        rows["row_id"] = [f"r{i}" for i in range(len(rows))]
    few = forest.forest_figure(rows.head(3))
    fig = forest.forest_figure(rows)
    assert fig.layout.height > few.layout.height           # grows with the rows
    for a in fig.layout.annotations:
        assert a.font.size is None or a.font.size >= 12
    assert fig.layout.xaxis.tickfont.size >= 12 and fig.layout.legend.font.size >= 12
    # text cells of one column never overlap vertically
    line = forest.LINE_PX
    by_x = {}
    for a in fig.layout.annotations:
        if a.yref == "y":
            by_x.setdefault((round(a.x, 4), round(a.xshift or 0, 2), a.xanchor), []).append(
                (a.y, a.text.count("<br>") + 1))
    for cells in by_x.values():
        cells.sort()
        for (y0, n0), (y1, n1) in zip(cells, cells[1:]):
            assert y1 - y0 >= (n0 + n1) * line / 2 - 1e-6
    # and the columns do not run into each other, at the narrowest width the page allows
    _assert_no_overlap(fig, fig.layout.meta["min_width"])


def _assert_no_overlap(fig, width):
    """No two texts of one table row overlap, none leaves its side of the figure, at this width."""
    meta = fig.layout.meta
    ml, mr = fig.layout.margin.l, fig.layout.margin.r
    rows = {}
    for b in forest.text_boxes(fig, width):
        rows.setdefault(round(b["y"], 3), []).append(b)
        assert b["x0"] >= 0 and b["x1"] <= width, (width, b)
        # left-table text stays left of the effect axis, right-table text right of it
        assert b["x1"] <= ml or b["x0"] >= width - mr, (width, b)
    gap = 4    # px: columns keep at least this much white between them
    for y, boxes in rows.items():
        boxes.sort(key=lambda b: b["x0"])
        for a, b in zip(boxes, boxes[1:]):
            assert a["x1"] + gap <= b["x0"], f"overlap at {width} px: {a['text']!r} runs into {b['text']!r}"
    assert meta["min_width"] <= fig.layout.width <= meta["max_width"]


def _many_rows(store):
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)      # every filter open
    return rows


@pytest.mark.parametrize("font_size", [14, 18])            # laptop, presentation mode
@pytest.mark.parametrize("kind", ["HR", "RR", "RD"])
def test_side_table_texts_never_overlap_at_any_window_width(store, kind, font_size):
    """The columns are laid out in pixels from the text lengths at the actual font size; the
    figure is drawn at any width from its minimum (the page scrolls below it) to 1900 px."""
    if kind == "HR":
        rows = _many_rows(store)
    else:
        rows = forest_rows.response_rows(store, "ORR", kind, comparisons="all", populations=None)
    if rows.empty:
        pytest.fail("no rows")
    fig = forest.forest_figure(rows, *forest_rows.pooling(rows), title="t", font_size=font_size)
    meta = fig.layout.meta
    for width in sorted({meta["min_width"], fig.layout.width, 1100, 1400, 1900}):
        if width >= meta["min_width"]:
            _assert_no_overlap(fig, width)
    # column x-positions: each column starts after the previous one's widest text and a gap
    for side in ("left", "right"):
        xs, ws = meta[f"{side}_x"], meta[f"{side}_w"]
        for i in range(len(xs) - 1):
            assert xs[i] + ws[i] < xs[i + 1]
    # a laptop with the sidebar open (1280 px window: 820 px for the page) fits without scrolling
    if font_size == 14:
        assert meta["min_width"] <= 820
    else:   # presentation mode hides the sidebar: 1080 px at a 1280 px window
        assert meta["min_width"] <= 1080


def test_presentation_mode_enlarges_every_text(store):
    rows = _many_rows(store)
    small = forest.forest_figure(rows, title="t", font_size=14)
    large = forest.forest_figure(rows, title="t", font_size=18)
    assert len(small.layout.annotations) == len(large.layout.annotations)
    for a, b in zip(small.layout.annotations, large.layout.annotations):
        assert b.font.size > a.font.size, a.text
    assert large.layout.title.font.size > small.layout.title.font.size
    assert large.layout.xaxis.tickfont.size > small.layout.xaxis.tickfont.size
    assert large.layout.legend.font.size > small.layout.legend.font.size
    assert large.layout.legend2.font.size > small.layout.legend2.font.size
    assert large.layout.meta["min_width"] > small.layout.meta["min_width"]   # the table grows with its text


def test_not_reported_numbers_read_nr(store):
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    fig = forest.forest_figure(rows)
    ys = {}
    for tr in fig.data:
        if tr.meta == "estimates":
            ys.update(dict(zip(tr.ids, tr.y)))
    no_events = rows[rows.events_experimental.isna() & rows.events_reference.isna()]
    assert len(no_events)
    for r in no_events.itertuples():
        assert "(NR)" in " ".join(_row_annotations(fig, ys[r.row_id]))
    fake = pd.DataFrame([_fake_row("a", 0.5, 0.3, 0.9, n_experimental=None, n_reference=40,
                                   events_experimental=12, events_reference=None)])
    text = " ".join(_row_annotations(forest.forest_figure(fake), _estimates_y(forest.forest_figure(fake))["a"]))
    assert "NR / 40" in text and "(12 / NR)" in text and "p NR" in text


def _estimates_y(fig):
    out = {}
    for tr in fig.data:
        if tr.meta == "estimates":
            out.update(dict(zip(tr.ids, tr.y)))
    return out


def test_adjusted_and_unadjusted_rows_of_one_study_read_differently(store):
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    fig = forest.forest_figure(rows)
    ys = _estimates_y(fig)
    twins = rows[rows.duplicated(["study_id", "endpoint", "comparison", "population"], keep=False)]
    if twins.empty:
        pytest.fail("no study reports one comparison both adjusted and unadjusted")
    for _, grp in twins.groupby(["study_id", "endpoint", "comparison", "population"]):
        texts = [" ".join(_row_annotations(fig, ys[rid])) for rid in grp.row_id]
        assert len(set(texts)) == len(texts)
        for t, adj in zip(texts, grp.adjusted):
            assert ("adj. for" in t) if adj else ("unadj." in t)
    # the abbreviated covariates keep their full list in the hover of the cell
    adjusted = rows[rows.adjusted].iloc[0]
    tips = [a.hovertext for a in fig.layout.annotations if a.hovertext and a.y == pytest.approx(ys[adjusted.row_id])]
    assert any(adjusted.adjusted_for in html.unescape(t) for t in tips)


def test_markers_never_hide_their_confidence_interval(store):
    """Whiskers are drawn above the markers, and a marker is at most 55% as wide as its CI
    on the narrowest effect axis (BRISK-FL and LIGHT have narrow CIs), never below 7 px."""
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    for font_size in (14, 18):
        fig = forest.forest_figure(rows, font_size=font_size)
        k = font_size / 14
        order = [tr.meta for tr in fig.data]
        assert order.index("whiskers") > max(i for i, m in enumerate(order) if m == "estimates")
        lo, hi = fig.layout.xaxis.range
        plot_px = forest.MIN_PLOT_PX * k
        by_id = rows.set_index("row_id")
        for tr in fig.data:
            if tr.meta != "estimates":
                continue
            for rid, size in zip(tr.ids, tr.marker.size):
                r = by_id.loc[rid]
                if pd.isna(r.ci_low):
                    continue
                a, b = (min(max(math.log10(v), lo), hi) for v in (r.ci_low, r.ci_high))
                ci_px = (b - a) / (hi - lo) * plot_px
                assert size <= max(7 * k, 0.55 * ci_px) + 0.1, (rid, size, ci_px)


def test_note_names_selected_studies_without_a_row(store):
    if "sun2022" not in set(store.studies.study_id):
        pytest.fail("Sun 2022 not in the store")
    rows = forest_rows.hazard_ratio_rows(store, ["PFS"], studies=["sun2022"])
    assert rows.empty
    assert forest_rows.missing_rows_note(store, rows, ["PFS"], ["sun2022"]) == \
        ("No PFS hazard ratio reported by: Sun 2022 (reports TTP).", "")
    shown = forest_rows.hazard_ratio_rows(store, ["OS"], studies=["sun2022"])
    assert forest_rows.missing_rows_note(store, shown, ["OS"], ["sun2022"]) == ("", "")
    # a row the filters hide is named as hidden, not as missing
    hidden = forest_rows.hazard_ratio_rows(store, ["OS"], studies=["sun2022"], adjustment="unadjusted")
    if hidden.empty:
        note, _ = forest_rows.missing_rows_note(store, hidden, ["OS"], ["sun2022"])
        assert note.startswith("Hidden by") and "Sun 2022" in note
    # studies that report no hazard ratio at all are counted on the line and named in its tooltip
    none = [sid for sid in store.studies.study_id if sid not in set(store.hazard_ratios.study_id)][:5]
    if len(none) >= 3:
        empty = forest_rows.hazard_ratio_rows(store, ["OS"], studies=none)
        note, names = forest_rows.missing_rows_note(store, empty, ["OS"], none)
        assert note == f"No OS hazard ratio reported by: {len(none)} selected studies that report no hazard ratio at all."
        labels = naming.study_labels(store)
        assert all(labels[sid] in names for sid in none)


def test_page_css_scrolls_below_the_minimum_width(store):
    rows = forest_rows.hazard_ratio_rows(store, ["OS"])
    fig = forest.forest_figure(rows)
    css = forest.page_css(fig, "a-scroll", "a-frame", "a-exports")
    assert ".st-key-a-scroll { overflow-x: auto;" in css
    assert f"min-width: {fig.layout.meta['min_width']}px" in css
    with pytest.raises(ValueError):
        forest.page_css(fig, "x}</style><script>", "y")


def test_wrapped_text_fits_its_column():
    long = "Hepa-HAIC (HepaSphere DEB-TACE + HAIC-FOLFOX) vs HAIC-FOLFOX [matched cohort]"
    for line in forest._wrap_cell(long, 180):
        assert text.text_px(line, forest.TABLE_FONT_SIZE) <= 180
    assert forest._wrap_cell("", 100) == [""]
    assert all(text.text_px(x, forest.TABLE_FONT_SIZE) <= 40 for x in forest._wrap_cell("Supercalifragilistic", 40))


def test_download_config_offers_svg_and_png():
    rows = pd.DataFrame([_fake_row("a", 0.5, 0.3, 0.9)])
    fig = forest.forest_figure(rows)
    for fmt in ("svg", "png"):
        cfg = forest.download_config(fig, fmt, "forest_OS")
        opts = cfg["toImageButtonOptions"]
        assert opts["format"] == fmt and opts["width"] == fig.layout.width and opts["height"] == fig.layout.height
        assert "toImage" not in cfg.get("modeBarButtonsToRemove", [])


_OPENED: list | None = None     # paths opened while recording; None when not recording


def _record_opens(event, args):
    if _OPENED is not None and event == "open":
        _OPENED.append(args[0])


def test_the_figure_builder_touches_no_files(store):
    """The "open" audit event fires for every way of opening a file (open, io.open,
    os.open, pathlib), unlike a patched builtins.open."""
    global _OPENED
    if _record_opens not in _AUDIT_HOOKS:          # a hook cannot be removed: add it once
        sys.addaudithook(_record_opens)
        _AUDIT_HOOKS.append(_record_opens)
    rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    pooled = forest_rows.pooling(rows)
    forest.forest_figure(rows, *pooled)     # first build: plotly loads its templates and validators
    _OPENED = []
    try:
        forest.forest_figure(rows, *pooled)
        opened = list(_OPENED)
    finally:
        _OPENED = None
    assert opened == []


_AUDIT_HOOKS: list = []


def test_filters(store):
    all_rows = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS)
    adj = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS, adjustment="adjusted")
    unadj = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS, adjustment="unadjusted")
    assert len(adj) + len(unadj) == len(all_rows) and adj.adjusted.all() and not unadj.adjusted.any()
    pops = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS, populations=["matched"])
    assert (pops.population == "matched").all()
    one = store.studies.study_id.iloc[0]
    assert set(forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS, studies=[one]).study_id) <= {one}
    by_effect = forest_rows.hazard_ratio_rows(store, ["OS"], sort="effect")
    assert list(by_effect.effect) == sorted(by_effect.effect)
    # defaults: the primary papers and the review's randomised trials
    defaults = set(forest_rows.default_studies(store))
    s = store.studies.set_index("study_id")
    assert {i for i in s.index if s.loc[i, "source_kind"] != "review"} <= defaults
    assert all(s.loc[i, "source_kind"] != "review" or s.loc[i, "design"] == "randomised" for i in defaults)
    headline = forest_rows.hazard_ratio_rows(store, forest_rows.SURVIVAL_ENDPOINTS, studies=list(defaults),
                                        comparisons="headline")
    for r in headline.itertuples():
        pc = s.loc[r.study_id, "primary_comparison"]
        if isinstance(pc, list) and len(pc) == 2:
            labels = {store.arm_label(r.study_id, a) for a in pc}
            assert {r.experimental, r.reference} == labels


def test_csv_of_the_rows_shown(store):
    rows = forest_rows.hazard_ratio_rows(store, ["OS"])
    table = forest_rows.rows_table(rows)
    assert len(table) == len(rows)
    assert {"Study", "Comparison", "HR", "CI low", "CI high", "CI level", "p", "Snippet"} <= set(table.columns)
    assert list(table.HR) == list(rows.effect)
    csv = to_csv_bytes(table).decode("utf-8")
    assert csv.count("\n") >= len(rows) + 1


# --------------------------------------------------------------------------- response effects

def _expected_response_pairs(store, endpoint):
    """Two-arm comparisons with counts for both arms, found independently of the component."""
    o = store.outcomes
    o = o[(o.endpoint == endpoint) & o["count"].notna() & o["denominator"].notna()]
    out = []
    for s in store.studies.itertuples():
        pc = s.primary_comparison
        if not isinstance(pc, list) or len(pc) != 2:
            continue
        so = o[o.study_id == s.study_id]
        e_rows, r_rows = so[so.arm_id == pc[0]], so[so.arm_id == pc[1]]
        for e in e_rows.itertuples():
            m = r_rows[(r_rows.criteria == e.criteria) & (r_rows.population == e.population)]
            if len(m):
                r = m.iloc[0]
                out.append((s.study_id, e.criteria, e.population, int(e.count), int(e.denominator),
                            int(r["count"]), int(r["denominator"])))
    return out


@pytest.mark.parametrize("endpoint", ["ORR", "DCR"])
def test_response_rows_from_counts(store, endpoint):
    expected = _expected_response_pairs(store, endpoint)
    if not expected:
        pytest.fail(f"no two-arm {endpoint} counts in the bundled store: it lost data")
    rows = forest_rows.response_rows(store, endpoint, "RR", comparisons="headline")
    got = {(r.study_id, r.criteria, r.population): r for r in rows.itertuples()}
    assert len(rows) == len(expected)
    for sid, crit, pop, x1, n1, x2, n2 in expected:
        r = got[(sid, crit, pop)]
        assert r.effect == pytest.approx((x1 / n1) / (x2 / n2))
        assert (r.events_experimental, r.n_experimental, r.events_reference, r.n_reference) == (x1, n1, x2, n2)
        assert crit in ("RECIST 1.1", "mRECIST", "RECIST", "EASL", "WHO", "not stated")
    fig = forest.forest_figure(rows, *forest_rows.pooling(rows))
    assert fig.layout.xaxis.type == "log"
    assert len(_estimates(fig)) == len(rows)
    texts = " ".join(_plain(t) for t in _texts(fig))
    for crit in {e[1] for e in expected}:
        assert crit in texts                        # each row names its criteria
    assert "risk ratio with a log-scale 95% CI" in texts   # the method is stated
    # higher response is better: 'favours experimental' sits right of the null line
    right = next(a for a in fig.layout.annotations if "favours experimental" in a.text)
    assert right.xanchor == "left"
    rd = forest_rows.response_rows(store, endpoint, "RD", comparisons="headline")
    for r in rd.itertuples():
        assert r.effect == pytest.approx(r.events_experimental / r.n_experimental
                                         - r.events_reference / r.n_reference)
        assert "Newcombe" in r.method
    fig_rd = forest.forest_figure(rd)
    assert fig_rd.layout.xaxis.type == "linear"
    assert "Newcombe" in " ".join(_plain(t) for t in _texts(fig_rd))


def test_recist_and_mrecist_stay_separate_rows(store):
    rows = forest_rows.response_rows(store, "ORR", "RR")
    for sid, grp in rows.groupby("study_id"):
        assert not grp.duplicated(["criteria", "population", "comparison"]).any()


# --------------------------------------------------------------------------- pooling, end to end

def _fake_row(rid, hr, lo, hi, **kw):
    eff = stats.log_hr_and_se(hr, lo, hi)
    row = {c: None for c in forest_rows.ROW_COLUMNS}
    row.update({
        "row_id": rid, "order": 0, "measure": "HR", "endpoint": "OS", "group": "OS", "study_id": rid,
        "study": f"Study {rid}", "study_key": rid, "citation": "", "design": "randomised",
        "source_kind": "primary", "experimental": "Drug X", "reference": "Sorafenib",
        "comparison": "Drug X vs Sorafenib", "population": "overall", "population_label": "Overall",
        "n_experimental": 100, "n_reference": 100, "effect": hr, "ci_low": lo, "ci_high": hi,
        "ci_level": 0.95, "ci_source": "printed", "log_effect": eff.log_estimate, "se": eff.se, "se_note": "",
        "p": None, "p_text": "", "adjusted": False, "adjusted_for": "", "model": "", "method": "as reported",
        "continuity_correction": False, "location": "Results", "snippet": f"HR {hr}",
        "snippets": [("Results", f"HR {hr}")], "conflict_ids": [], "conflict": ""})
    row.update(kw)
    return row


_FAKE_STUDY = """
  - study_id: {sid}
    citation: "Fake {sid}"
    first_author: Fake{sid}
    year: 2020
    design: randomised
    primary_comparison: [x, s]
    arms:
      - {{arm_id: x, label: Drug X, regimen: drug x, route: oral, n: 100}}
      - {{arm_id: s, label: Sorafenib, regimen: sorafenib, route: oral, n: 100}}
"""
_FAKE_HR = """
  - {{study_id: {sid}, experimental_arm_id: x, reference_arm_id: s, endpoint: OS, hr: {hr},
     ci_low: {lo}, ci_high: {hi}, p: "0.01", adjusted: false, reported_name: overall survival,
     location: Results, snippet: "=HR {hr} ({lo}-{hi})"}}
"""
_FAKE_ORR = """
  - {{study_id: {sid}, arm_id: x, endpoint: ORR, count: {a}, denominator: 100, unit: percent,
     criteria: mRECIST, reported_name: ORR, location: Table 3, snippet: "{a} of 100"}}
  - {{study_id: {sid}, arm_id: s, endpoint: ORR, count: {b}, denominator: 100, unit: percent,
     criteria: mRECIST, reported_name: ORR, location: Table 3, snippet: "{b} of 100"}}
"""


def _fake_store(tmp_path, trials):
    for i, (sid, hr, lo, hi, a, b) in enumerate(trials):
        text = (f"source_file: fake_{sid}.txt\nstudies:{_FAKE_STUDY.format(sid=sid)}"
                f"hazard_ratios:{_FAKE_HR.format(sid=sid, hr=hr, lo=lo, hi=hi)}"
                f"outcomes:{_FAKE_ORR.format(sid=sid, a=a, b=b)}")
        (tmp_path / f"{i:03d}_{sid}.yaml").write_text(text, encoding="utf-8")
    s = load_store(tmp_path)
    assert not s.problems, s.problems
    return s


def test_pooled_diamond_only_where_the_comparison_repeats(tmp_path):
    s = _fake_store(tmp_path, [("t1", 0.7, 0.55, 0.89, 30, 20), ("t2", 0.8, 0.62, 1.03, 25, 20),
                               ("t3", 0.65, 0.45, 0.94, 0, 5)])
    rows = forest_rows.hazard_ratio_rows(s, ["OS"])
    pooled, reason = forest_rows.pooling(rows)
    assert len(pooled) == 1 and pooled[0].k == 3 and reason.startswith("Pooled")
    p = pooled[0].pooled
    direct = stats.pool_random_effects(list(rows.log_effect), list(rows.se))
    assert p.mu == pytest.approx(direct.mu) and p.pi_low is not None
    fig = forest.forest_figure(rows, pooled, reason)
    assert [tr for tr in fig.data if tr.meta == "pooled"]
    assert [tr for tr in fig.data if tr.meta == "prediction interval"]
    texts = " ".join(_plain(t) for t in _texts(fig))
    assert "I²" in texts and "τ²" in texts and "PI" in texts
    # two studies: a diamond, no prediction interval
    two = rows[rows.study_id != "t3"]
    pooled2, reason2 = forest_rows.pooling(two)
    assert pooled2[0].pooled.pi_low is None and "prediction interval" in reason2
    fig2 = forest.forest_figure(two, pooled2, reason2)
    assert not [tr for tr in fig2.data if tr.meta == "prediction interval"]
    # one study: no diamond, and the reason is under the plot
    one = rows[rows.study_id == "t1"]
    pooled1, reason1 = forest_rows.pooling(one)
    fig1 = forest.forest_figure(one, pooled1, reason1)
    assert pooled1 == [] and not [tr for tr in fig1.data if tr.meta == "pooled"]
    assert reason1.startswith("No pooled estimate") and reason1 in " ".join(_plain(t) for t in _texts(fig1))
    # the CSV escapes a snippet a spreadsheet would run as a formula
    csv = to_csv_bytes(forest_rows.rows_table(rows)).decode("utf-8")
    assert "'=HR 0.7" in csv


def test_response_zero_cell_is_corrected_and_marked(tmp_path):
    s = _fake_store(tmp_path, [("t1", 0.7, 0.55, 0.89, 0, 5), ("t2", 0.8, 0.62, 1.03, 25, 20)])
    rows = forest_rows.response_rows(s, "ORR", "RR")
    zero = rows[rows.study_id == "t1"].iloc[0]
    assert zero.continuity_correction and "0.5" in zero.method
    assert zero.effect == pytest.approx((0.5 / 101) / (5.5 / 101))
    fig = forest.forest_figure(rows, *forest_rows.pooling(rows))
    texts = " ".join(_plain(t) for t in _texts(fig))
    assert "‡" in texts and "continuity correction" in texts
    # the RR of the two fake trials repeats the same comparison: it may be pooled
    pooled, reason = forest_rows.pooling(rows)
    assert len(pooled) == 1 and pooled[0].k == 2
    # a pooled risk difference is not drawn, and the reason says so
    rd = forest_rows.response_rows(s, "ORR", "RD")
    pooled_rd, reason_rd = forest_rows.pooling(rd)
    assert pooled_rd == [] and "risk-ratio scale" in reason_rd
