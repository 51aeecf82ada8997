"""Adverse events: vocabulary, grade bands, percentages, NR vs zero, differences, figures."""
from __future__ import annotations

import html
import re

import pandas as pd
import pytest
import yaml

from components.ae_heatmap import (COLOURSCALE, CONFLICT_MARK, COUNT_ONLY_FILL, DARK_TEXT, LIGHT_TEXT, NR_BORDER,
                                   NR_FILL, NR_TEXT, NR_TEXT_COLOUR, ROW_HEIGHT, SCALE_MAX, ae_heatmap, arm_label,
                                   cell_text, column_label_budget, contrast_ratio, difference_figure,
                                   difference_headers, difference_table, left_margin, matrix_table, scale_colour,
                                   text_colour, text_px, wrap_label)
from components.tables import to_csv_bytes
from evidence import load_store
from views.ae_matrix import (CATEGORY_LABELS, OVERALL, UNMAPPED, arm_key, build_matrix, cell_numbers,
                                default_arm_keys, percent_tolerance, select_band, study_differences,
                                two_arm_comparisons)
from analysis.effects import risk_difference
from evidence.store import AE_TERMS_FILE, Store

BANDS_SHOWN = ("3-4", "any", "1-2")


def _arms_of(store, prefix: str) -> list[str]:
    sids = store.studies[store.studies.source_file.str.startswith(prefix)].study_id
    return [arm_key(a.study_id, a.arm_id) for a in store.arms[store.arms.study_id.isin(sids)].itertuples()]


def _study_of(store, prefix: str) -> str:
    return store.studies[store.studies.source_file.str.startswith(prefix)].study_id.iloc[0]


def _trace(fig, name: str):
    """The heatmap's layer of one cell state, by name (the order of layers is a drawing detail)."""
    return next(t for t in fig.data if t.name == name)


def _percent_cell(fig, row: int, col: int):
    """(z, text, text colour) of a percentage cell, from whichever of the two percentage layers holds it."""
    for name in ("reported", "reported, dark"):
        t = _trace(fig, name)
        if t.z[row][col] is not None:
            return t.z[row][col], t.text[row][col], t.textfont.color
    return None, "", None


def _lab(rgb) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour given as (r, g, b) 0-255 or '#rrggbb'."""
    if isinstance(rgb, str):
        rgb = tuple(int(rgb.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    lin = [v / 255 / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb]
    x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883
    f = lambda t: t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116      # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _delta_e(a, b) -> float:
    return sum((p - q) ** 2 for p, q in zip(_lab(a), _lab(b))) ** 0.5


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load keeps the last of two equal keys silently; a reviewed file must not have any."""


def _no_duplicates(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = str(loader.construct_object(key_node, deep=deep)).strip().lower()
        if key in seen:
            raise AssertionError(f"ae_terms.yaml: {key!r} appears twice (line {seen[key]} and "
                                 f"line {key_node.start_mark.line + 1})")
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def test_vocabulary_file_is_well_formed():
    raw = yaml.load(AE_TERMS_FILE.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    terms = raw["terms"]
    assert len(terms) > 40
    for paper_term, entry in terms.items():
        assert set(entry) == {"term", "category"}, paper_term
        assert isinstance(entry["term"], str) and entry["term"].strip(), paper_term
        assert entry["category"] in CATEGORY_LABELS.values(), (
            f"{paper_term!r}: category {entry['category']!r} is not one of views.ae_matrix.CATEGORIES")


def test_vocabulary_keeps_combined_and_duplicate_rows_apart():
    terms = {k.lower(): v for k, v in yaml.safe_load(AE_TERMS_FILE.read_text(encoding="utf-8"))["terms"].items()}
    # a combined term is its own row, never ALT or AST
    assert terms["elevated alt/ast"]["term"] == "ALT/AST increased"
    assert terms["elevated alt"]["term"] == "ALT increased"
    assert terms["elevated ast"]["term"] == "AST increased"
    assert terms["nausea and vomiting"]["term"] not in {terms["nausea"]["term"], terms["vomiting"]["term"]}
    # 004 prints "Vomiting" and "Vomit" as two rows: they must not share a harmonised row
    assert terms["vomit"]["term"] != terms["vomiting"]["term"]
    # the two dashes of "hand-foot" land on one row
    assert terms["hand–foot skin reaction"] == terms["hand-foot skin reaction"]
    # whole-patient summaries are kept apart from the organ systems
    for k in ("total", "any grade 3–4", "serious adverse events"):
        assert terms[k]["category"] == OVERALL


def test_harmonised_terms_are_clean_display_labels():
    """A harmonised term is what the heatmap prints: no internal file id ("004") or curator note."""
    terms = yaml.safe_load(AE_TERMS_FILE.read_text(encoding="utf-8"))["terms"]
    for paper_term, entry in terms.items():
        assert not re.search(r"\b\d{3}\b|'s second row", entry["term"]), (paper_term, entry["term"])
    assert terms["Vomit"]["term"] == "Vomit (as printed)"


def test_vomit_and_vomiting_stay_two_rows_in_the_heatmap(store):
    arms = _arms_of(store, "004")
    fig = ae_heatmap(build_matrix(store, arms, "3-4"))
    rows = list(fig.data[0].y)
    assert "Vomiting" in rows and "Vomit (as printed)" in rows
    assert not any("004" in label for label in fig.layout.yaxis.ticktext)


def test_every_adverse_event_row_of_the_store_maps(store):
    """Iterates the store, so a newly curated paper term fails here until it is mapped."""
    ae = store.adverse_events
    assert len(ae) > 0
    missing = ae[ae.term.isna() | ae.category.isna()]
    assert missing.empty, "unmapped paper terms (add them to evidence/ae_terms.yaml): " + ", ".join(
        sorted({f"{r.study_id}: {r.term_reported!r}" for r in missing.itertuples()}))
    assert set(ae.category) <= set(CATEGORY_LABELS.values())


def test_default_heatmap_has_every_primary_arm_and_no_gap(store):
    keys = default_arm_keys(store)
    for prefix in ("000", "001", "003", "004"):
        arms = _arms_of(store, prefix)
        assert arms, f"no arms of {prefix} in the store"
        assert set(arms) <= set(keys)
    m = build_matrix(store, keys, "3-4")
    assert [c.key for c in m.columns] == keys
    assert m.unmapped == []
    assert UNMAPPED not in set(m.rows.category)
    fig = ae_heatmap(m)
    assert list(fig.data[0].x) == keys
    # each primary arm reports something at grade 3-4
    reported = m.cells[m.cells.status == "reported"]
    assert set(reported.column_key) == set(keys)


# ---------------------------------------------------------------------------
# Grade bands and percentages
# ---------------------------------------------------------------------------

def _ae(rows):
    base = {"study_id": "s", "arm_id": "a", "count": None, "denominator": 50, "percent": None,
            "derived": False, "formula": None, "location": "Table 1", "snippet": "x", "conflict_ids": [],
            "term": None, "category": None}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_grade_band_prefers_printed_then_derived_and_1_2_only_as_printed():
    ae = _ae([
        {"term_reported": "Rash", "grade": "3-4", "count": 4, "derived": True, "formula": "3 + 1"},
        {"term_reported": "Rash", "grade": "3-4", "count": 5},                     # printed wins
        {"term_reported": "Fever", "grade": "3-4", "count": 2, "derived": True, "formula": "2 + 0"},
        {"term_reported": "Fever", "grade": "1-2", "count": 9, "derived": True, "formula": "5 + 4"},
        {"term_reported": "Pain", "grade": "1-2", "count": 7},
        {"term_reported": "Pain", "grade": "any", "count": 8},
    ])
    b34 = select_band(ae, "3-4").set_index("term_reported")
    assert b34.loc["Rash", "count"] == 5 and not b34.loc["Rash", "derived"]
    assert b34.loc["Rash", "n_alternatives"] == 1
    assert b34.loc["Fever", "count"] == 2 and b34.loc["Fever", "derived"]
    assert "Pain" not in b34.index
    b12 = select_band(ae, "1-2")
    assert list(b12.term_reported) == ["Pain"]        # the summed 1-2 of Fever is not "as printed"
    assert list(select_band(ae, "any").term_reported) == ["Pain"]
    with pytest.raises(ValueError):
        select_band(ae, "2")


def test_cell_numbers_printed_percent_first_count_otherwise():
    # the paper's printed percent is what the cell reads, as in the paper; the mismatch stays visible
    n = cell_numbers(8, 66, 12.2)
    assert n.percent == 12.2 and n.mismatch and n.printed_percent == 12.2
    assert n.computed_percent == pytest.approx(100 * 8 / 66)
    # a derived row's percent is arithmetic, not print: its count decides
    d = cell_numbers(8, 66, 12.1, derived=True)
    assert d.percent == pytest.approx(100 * 8 / 66) and d.source == "count/denominator" and not d.mismatch
    assert cell_numbers(8, 66, None).percent == pytest.approx(12.12, abs=0.01)
    assert not cell_numbers(3, 48, 6.3).mismatch          # 6.25 printed as 6.3: rounding
    assert not cell_numbers(27, 48, 56.3).mismatch
    assert not cell_numbers(8, 47, 17).mismatch           # whole-number percent: 17.02
    only = cell_numbers(None, 57, 10.0)
    assert only.percent == 10.0 and only.source == "printed percent" and not only.mismatch
    assert percent_tolerance(12.1) < percent_tolerance(12.0)


def test_percent_shown_is_count_over_denominator_or_printed(store):
    keys = list(dict.fromkeys(default_arm_keys(store) + [arm_key(a.study_id, a.arm_id)
                                                         for a in store.arms.itertuples()]))
    for band in BANDS_SHOWN:
        m = build_matrix(store, keys, band)
        rep = m.cells[m.cells.status == "reported"]
        for c in rep.to_dict("records"):
            has = lambda v: v is not None and not pd.isna(v)
            if has(c["printed_percent"]):
                assert c["percent"] == pytest.approx(c["printed_percent"]), c
            elif has(c["count"]) and has(c["denominator"]):
                assert c["percent"] == pytest.approx(100 * c["count"] / c["denominator"]), c
            elif c["derived"] and has(c["percent"]):
                pass      # a derived percent without a count (grade 3 % + grade 4 %)
            else:     # a count with neither denominator nor percent: no colour, the count is shown
                assert not has(c["percent"]) and f"n={int(c['count'])}" in cell_text(c)
            if c["mismatch"]:
                assert CONFLICT_MARK in cell_text(c)


def test_every_printed_percent_that_contradicts_its_count_points_to_a_conflict(store):
    """A store-data check: the heatmap shows count/denominator, so a contradicting printed percent
    must be explained by a recorded conflict (the hover shows it)."""
    bad = []
    for r in store.adverse_events.itertuples():
        nums = cell_numbers(r.count, r.denominator, r.percent)
        if nums.mismatch and not r.conflict_ids:
            bad.append(f"{r.record_id}: {r.term_reported} grade {r.grade}: printed {r.percent}% but "
                       f"{int(r.count)}/{int(r.denominator)} = {nums.computed_percent:.1f}%")
    assert not bad, "printed percent contradicts the count without a conflict:\n" + "\n".join(bad)


def test_printed_percent_conflict_is_visible_in_the_cell(store):
    liu = _study_of(store, "003")
    arm = _arms_of(store, "003")[0]
    m = build_matrix(store, [arm], "3-4")
    cell = m.cell("Liver function damage (unspecified)", arm)
    assert cell["mismatch"] and cell["printed_percent"] == 12.2
    assert cell["count"] == 8 and cell["denominator"] == 66
    assert cell["percent"] == 12.2            # as printed; 8/66 = 12.1% is the mismatch shown beside it
    fig = ae_heatmap(m)
    row = list(fig.data[0].y).index("Liver function damage (unspecified)")
    _, text, _ = _percent_cell(fig, row, 0)
    assert CONFLICT_MARK in text and "8/66" in text
    assert "12.2%" in fig.data[0].customdata[row][0]
    assert liu


# ---------------------------------------------------------------------------
# NR is not zero
# ---------------------------------------------------------------------------

def test_not_reported_and_zero_are_different_in_the_figure_data(store):
    huang = _arms_of(store, "001")
    m = build_matrix(store, default_arm_keys(store), "3-4")
    fig = ae_heatmap(m)
    values, nr, frame = _trace(fig, "reported"), _trace(fig, "not reported"), _trace(fig, "not reported, border")
    y, x = list(values.y), list(values.x)
    sorafenib = next(k for k in huang if k.endswith(":sorafenib"))
    zero = (y.index("Thrombocytopenia"), x.index(sorafenib))              # 0/59 printed
    missing = (y.index("Leukopenia"), x.index(sorafenib))                 # not in 001's table
    assert values.z[zero[0]][zero[1]] == 0 and nr.z[zero[0]][zero[1]] is None
    assert values.text[zero[0]][zero[1]].startswith("0.0%") and "0/59" in values.text[zero[0]][zero[1]]
    assert _percent_cell(fig, *missing)[0] is None and nr.z[missing[0]][missing[1]] == 1
    assert frame.z[missing[0]][missing[1]] == 1 and frame.z[zero[0]][zero[1]] is None
    assert nr.text[missing[0]][missing[1]] == NR_TEXT and values.text[missing[0]][missing[1]] == ""
    assert "not the same as zero" in nr.customdata[missing[0]][missing[1]]
    # NR: a flat white cell inside a grey frame (the frame layer drawn first, with smaller gaps), grey text,
    # no colour bar; the values use the fixed scale from 0
    assert nr.showscale is False and nr.colorscale[0][1] == nr.colorscale[-1][1] == NR_FILL
    assert frame.colorscale[0][1] == NR_BORDER and fig.data.index(frame) < fig.data.index(nr)
    assert nr.xgap > frame.xgap and nr.ygap > frame.ygap
    assert nr.textfont.color == NR_TEXT_COLOUR
    assert values.zmin == 0 and values.zmax in (50, 100)
    assert [list(c) for c in values.colorscale] == [list(c) for c in COLOURSCALE]


# ---------------------------------------------------------------------------
# Colour: 0 is the lightest, NR is no data colour, text always readable
# ---------------------------------------------------------------------------

SAMPLES = [i / 200 for i in range(201)]


def test_zero_is_the_lightest_colour_and_lightness_falls_evenly():
    lightness = [_lab(scale_colour(t * 50, 50))[0] for t in SAMPLES]
    assert lightness[0] == max(lightness)
    assert all(a > b for a, b in zip(lightness, lightness[1:]))          # strictly darker as the % rises
    # perceptually even: the lightness falls by about the same amount over each tenth of the scale
    steps = [lightness[i] - lightness[i + 20] for i in range(0, 200, 20)]
    assert max(steps) < 1.6 * min(steps)
    assert lightness[0] < 95                                               # 0% is tinted, never white


def test_not_reported_colour_differs_from_every_data_colour():
    for t in SAMPLES:
        colour = scale_colour(t * 100, 100)
        assert _delta_e(NR_FILL, colour) > 25, (t, colour)
        assert _delta_e(COUNT_ONLY_FILL, colour) > 20, (t, colour)
        # no grey in the data scale: every data colour has a visible hue (chroma)
        _, a, b = _lab(colour)
        assert (a * a + b * b) ** 0.5 > 8, (t, colour)
    assert contrast_ratio(NR_FILL, NR_BORDER) >= 3                         # the frame is visible on white
    assert contrast_ratio(NR_FILL, NR_TEXT_COLOUR) >= 4.5


@pytest.mark.parametrize("zmax", sorted(set(SCALE_MAX.values())))
def test_cell_text_contrasts_with_its_cell_at_every_value(zmax):
    for t in SAMPLES:
        value = t * zmax
        assert contrast_ratio(scale_colour(value, zmax), text_colour(value, zmax)) >= 4.5, value
    assert text_colour(0, zmax) == DARK_TEXT and text_colour(zmax, zmax) == LIGHT_TEXT


def test_cells_are_drawn_with_the_readable_text_colour(store):
    keys = default_arm_keys(store)
    for band in ("3-4", "any"):
        m = build_matrix(store, keys, band)
        fig = ae_heatmap(m)
        light, dark = _trace(fig, "reported"), _trace(fig, "reported, dark")
        assert light.textfont.color == DARK_TEXT and dark.textfont.color == LIGHT_TEXT
        assert light.colorscale == dark.colorscale and light.zmax == dark.zmax == SCALE_MAX[band]
        assert dark.showscale is False
        for layer in (light, dark):
            for row in layer.z:
                for v in row:
                    if v is not None:
                        assert text_colour(v, layer.zmax) == layer.textfont.color, (band, v)
        assert any(v is not None for row in dark.z for v in row)         # e.g. any grade: 52/55


def test_hover_names_the_papers_term_band_and_snippet(store):
    arms = _arms_of(store, "001")
    m = build_matrix(store, arms, "3-4")
    fig = ae_heatmap(m)
    row = list(fig.data[0].y).index("Hand-foot skin reaction")
    col = [i for i, k in enumerate(fig.data[0].x) if k.endswith(":sorafenib")][0]
    hover = fig.data[0].customdata[row][col]
    assert "Hand–foot skin reaction" in hover            # the paper's own term, en dash and all
    assert "grade 3-4, as printed" in hover and "9/59" in hover and "Table 4" in hover


def test_overall_rows_are_a_separate_block_on_top(store):
    m = build_matrix(store, default_arm_keys(store), "3-4")
    cats = list(m.rows.category)
    assert cats[0] == OVERALL and OVERALL not in cats[cats.count(OVERALL):]
    fig = ae_heatmap(m)
    assert fig.layout.yaxis.ticktext[0].startswith("<b>Overall")


# ---------------------------------------------------------------------------
# Differences: Newcombe's interval against independent references
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("counts, low, high", [
    ((56, 70, 48, 80), 0.0524, 0.3339),    # Newcombe 1998 (Stat Med 17:873), method 10, example (a)
    ((9, 10, 3, 10), 0.1705, 0.8090),      # example (b)
    ((0, 10, 0, 20), -0.1611, 0.2775),     # example (e): zero cells, no continuity correction
])
def test_newcombe_interval_matches_the_published_examples(counts, low, high):
    est = risk_difference(*counts)
    assert est.low == pytest.approx(low, abs=5e-5) and est.high == pytest.approx(high, abs=5e-5)


def test_difference_view_matches_statsmodels_for_every_term(store):
    from statsmodels.stats.proportion import confint_proportions_2indep
    for study in two_arm_comparisons(store):
        for band in BANDS_SHOWN:
            t = study_differences(store, study, band).table
            for r in t.itertuples():
                lo, hi = confint_proportions_2indep(r.count_experimental, r.n_experimental, r.count_reference,
                                                    r.n_reference, method="newcomb", compare="diff")
                assert r.difference == pytest.approx(100 * (r.count_experimental / r.n_experimental
                                                            - r.count_reference / r.n_reference))
                assert r.ci_low == pytest.approx(100 * lo, abs=1e-6) and r.ci_high == pytest.approx(100 * hi, abs=1e-6)


def test_huang_difference_view_hand_foot_against_sorafenib_vomiting_against_haic(store):
    study = _study_of(store, "001")
    exp, ref = two_arm_comparisons(store)[study]
    assert (exp, ref) == ("folfox_haic", "sorafenib")
    d = study_differences(store, study, "3-4")
    t = d.table.set_index("term")
    hfsr, vom = t.loc["Hand-foot skin reaction"], t.loc["Vomiting"]
    assert (hfsr.count_experimental, hfsr.n_experimental, hfsr.count_reference, hfsr.n_reference) == (0, 55, 9, 59)
    assert hfsr.ci_high < 0                     # more with sorafenib, interval clear of zero
    assert (vom.count_experimental, vom.count_reference) == (7, 1) and vom.ci_low > 0
    fig = difference_figure(d)
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "more with Sorafenib (reference)" in texts and "more with FOLFOX-HAIC" in texts
    assert "0/55 vs 9/59" in texts and "7/55 vs 1/59" in texts
    assert "Sorafenib (reference)" in fig.layout.xaxis.title.text
    # ordered by organ system, as the heatmap
    cats = list(d.table.category)
    assert cats == sorted(cats, key=list(CATEGORY_LABELS.values()).index)
    pts = fig.data[0]
    i = list(pts.y).index("Hand-foot skin reaction")
    assert pts.x[i] == pytest.approx(-100 * 9 / 59)
    assert pts.x[i] + pts.error_x.array[i] == pytest.approx(hfsr.ci_high)
    assert pts.x[i] - pts.error_x.arrayminus[i] == pytest.approx(hfsr.ci_low)
    table = difference_table(d)
    assert len(table) == len(d.table) and "Risk difference, percentage points" in table


def test_sort_by_difference_orders_within_each_organ_system(store):
    study = _study_of(store, "001")
    exp, ref = two_arm_comparisons(store)[study]
    pair = (arm_key(study, exp), arm_key(study, ref))
    m = build_matrix(store, list(pair), "3-4", sort="difference", compare=pair)
    gi = m.rows[m.rows.category == "Gastrointestinal"]
    vals = list(gi.sort_value.dropna())
    assert vals == sorted(vals, reverse=True) and gi.row_key.iloc[0] == "Vomiting"


# ---------------------------------------------------------------------------
# Robustness: unmapped terms, two paper terms on one row, projector layout
# ---------------------------------------------------------------------------

def _fake_store(n_arms=8, n_terms=30, extra_rows=()):
    studies, arms, ae = [], [], []
    for s in range(n_arms // 2):
        sid = f"study{s}"
        studies.append({"study_id": sid, "source_file": f"00{s}_x.txt", "citation": "c", "design": "retrospective",
                        "first_author": "Author", "year": 2020 + s, "trial_name": None, "source_kind": "primary"})
        for a in ("experimental_arm_long_name", "reference"):
            arms.append({"study_id": sid, "arm_id": a, "label": "Sorafenib + TACE-HAIC (FOLFOX) long label"
                         if a != "reference" else "HAIC-FOLFOX", "n": 100, "n_matched": None})
            for t in range(n_terms):
                if (t + s) % 3 == 0:
                    continue      # some NR
                ae.append({"study_id": sid, "arm_id": a, "term_reported": f"Event number {t}",
                           "term": f"Event number {t}", "category": list(CATEGORY_LABELS.values())[1 + t % 12],
                           "grade": "3-4", "count": t % 17, "denominator": 100, "percent": None, "derived": False,
                           "formula": None, "location": "Table 2", "snippet": f"Event number {t} {t % 17}",
                           "conflict_ids": [], "record_id": f"r{s}{a}{t}"})
    ae += list(extra_rows)
    empty = pd.DataFrame()
    return Store(studies=pd.DataFrame(studies), arms=pd.DataFrame(arms), outcomes=empty, hazard_ratios=empty,
                 adverse_events=pd.DataFrame(ae),
                 conflicts=pd.DataFrame(columns=["conflict_id", "study_id", "description"]))


def _font_sizes(obj, out):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("font", "tickfont", "textfont") and isinstance(v, dict) and "size" in v:
                out.append(v["size"])
            _font_sizes(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _font_sizes(v, out)
    return out


def test_thirty_rows_and_eight_arms_stay_readable():
    store = _fake_store()
    keys = [arm_key(a.study_id, a.arm_id) for a in store.arms.itertuples()]
    m = build_matrix(store, keys, "3-4")
    assert len(m.columns) == 8 and len(m.rows) == 30
    fig = ae_heatmap(m)
    n_rows = len(fig.data[0].y)
    # height grows with the rows: every row (term or organ-system header) gets ROW_HEIGHT px
    plot_height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert plot_height >= ROW_HEIGHT * n_rows
    assert fig.layout.height > ae_heatmap(build_matrix(store, keys[:2], "3-4", categories=["Skin"])).layout.height
    sizes = _font_sizes(fig.to_plotly_json(), [])
    assert sizes and min(sizes) >= 12
    # column labels wrap to the column's width on a 1280 px screen with the sidebar open: none overlaps the next
    size = fig.layout.xaxis.tickfont.size
    budget = column_label_budget(8, left_margin(list(fig.layout.yaxis.ticktext)))
    assert budget < fig.layout.width / 8
    for label in fig.layout.xaxis.ticktext:
        lines = label.split("<br>")
        assert len(lines) <= 8, label
        for line in lines:
            plain = html.unescape(re.sub(r"</?[bi]>", "", line))
            assert text_px(plain, size, bold="<b>" in line) <= budget + 1, (line, budget)
    assert fig.layout.xaxis.tickangle == 0
    # the top margin holds the labels, with no blank band above them
    n_lines = max(len(label.split("<br>")) for label in fig.layout.xaxis.ticktext)
    assert fig.layout.margin.t <= n_lines * 1.3 * size + 20


def test_unmapped_term_is_shown_under_its_own_words_not_dropped(tmp_path):
    extra = [{"study_id": "study0", "arm_id": "reference", "term_reported": "Hiccups", "term": None,
              "category": None, "grade": "3-4", "count": 1, "denominator": 100, "percent": None, "derived": False,
              "formula": None, "location": "Results", "snippet": "hiccups 1", "conflict_ids": [], "record_id": "x"}]
    store = _fake_store(2, 3, extra)
    m = build_matrix(store, [arm_key("study0", "reference")], "3-4")
    assert m.unmapped == ["Hiccups"]
    assert "Hiccups (not yet harmonised)" in set(m.rows.row_key)
    assert m.rows[m.rows.row_key == "Hiccups (not yet harmonised)"].category.iloc[0] == UNMAPPED


def test_two_paper_terms_of_one_arm_on_one_harmonised_row_are_not_merged():
    extra = [{"study_id": "study0", "arm_id": "reference", "term_reported": "Event number 1 (text)",
              "term": "Event number 1", "category": "Blood and lymphatic", "grade": "3-4", "count": 9,
              "denominator": 100, "percent": None, "derived": False, "formula": None, "location": "Results",
              "snippet": "9", "conflict_ids": [], "record_id": "y"}]
    store = _fake_store(2, 3, extra)
    m = build_matrix(store, [arm_key("study0", "reference")], "3-4")
    assert m.cell("Event number 1", "study0:reference")["count"] == 1
    assert m.cell("Event number 1 (as “Event number 1 (text)”)", "study0:reference")["count"] == 9


def test_real_store_unmapped_terms_surface_when_the_vocabulary_lacks_them(tmp_path, store):
    vocab = yaml.safe_load(AE_TERMS_FILE.read_text(encoding="utf-8"))
    vocab["terms"] = {k: v for k, v in vocab["terms"].items() if k != "Hypertension"}
    path = tmp_path / "terms.yaml"
    path.write_text(yaml.safe_dump(vocab, allow_unicode=True), encoding="utf-8")
    partial = load_store(ae_terms=path)
    m = build_matrix(partial, default_arm_keys(partial), "any")
    assert "Hypertension" in m.unmapped


def test_csv_of_the_matrix_shown(store):
    keys = default_arm_keys(store)
    m = build_matrix(store, keys, "3-4")
    table = matrix_table(m)
    assert len(table) == len(m.rows)
    assert list(table["Adverse event"]) == list(m.rows.row_key)
    arm_cols = [c for c in table.columns if c not in ("Organ system", "Adverse event", "Grade band", "Paper's terms")]
    assert len(arm_cols) == len(keys)
    flat = table[arm_cols].to_numpy().ravel().tolist()
    assert NR_TEXT in flat and any(v.startswith("0.0% ") for v in flat)
    data = to_csv_bytes(table).decode("utf-8")
    assert data.splitlines()[0].startswith("Organ system,Adverse event")


def test_arm_label_names_study_arm_and_n(store):
    m = build_matrix(store, default_arm_keys(store), "3-4")
    col = next(c for c in m.columns if c.study_id == _study_of(store, "004"))
    label = arm_label(col)
    assert "N=48" in label and "matched" in label


def test_a_count_without_denominator_is_its_own_visible_state(store):
    """002 prints some events as a number of patients only ('neutropenia (3 cases)'): not NR, not a %."""
    ae = store.adverse_events
    bare = ae[ae["count"].notna() & ae["denominator"].isna() & ae["percent"].isna() & (ae["grade"] == "3-4")]
    if bare.empty:
        pytest.skip("no count-only grade 3-4 row in the store")
    r = bare.iloc[0]
    key = arm_key(r.study_id, r.arm_id)
    m = build_matrix(store, [key], "3-4")
    fig = ae_heatmap(m)
    row = list(fig.data[0].y).index(r.term)
    nr, count_only = _trace(fig, "not reported"), _trace(fig, "count without a denominator")
    assert _percent_cell(fig, row, 0)[0] is None and nr.z[row][0] is None and count_only.z[row][0] == 1
    assert count_only.colorscale[0][1] == COUNT_ONLY_FILL
    assert count_only.text[row][0].startswith(f"n={int(r['count'])}")
    assert "no denominator" in count_only.customdata[row][0]


def test_column_labels_wrap_evenly_and_keep_connectors_with_their_words():
    # the reviewer saw "Sorafenib / + / TACE-HAIC": a connector never stands on a line alone
    for budget in (60, 70, 80, 100, 140):
        for text in ("Sorafenib + TACE-HAIC (FOLFOX)", "ATRA + FOLFOX4", "Hepa-HAIC (HepaSphere DEB-TACE + HAIC-FOLFOX)"):
            lines = wrap_label(text, budget, 12)
            assert all(line.strip() not in {"+", "&", "/", "vs"} for line in lines), (text, budget, lines)
            assert all(text_px(line.rstrip("…"), 12) <= budget + 1 or "-" not in line for line in lines)
    assert wrap_label("Sorafenib + TACE-HAIC", 80, 12) == ["Sorafenib", "+ TACE-HAIC"]
    assert wrap_label("FOLFOX-HAIC", 60, 12) == ["FOLFOX-", "HAIC"]          # long names break at a hyphen
    assert wrap_label("ATRA + FOLFOX4", 200, 12) == ["ATRA + FOLFOX4"]
    # balanced: two lines of similar length rather than one full line and a stub
    a, b = wrap_label("Hepatic arterial infusion chemotherapy", 200, 12)
    assert abs(text_px(a, 12) - text_px(b, 12)) < 0.5 * text_px(a + b, 12)


def test_real_column_labels_have_no_stray_connector(store):
    fig = ae_heatmap(build_matrix(store, default_arm_keys(store), "3-4"))
    for label in fig.layout.xaxis.ticktext:
        for line in label.split("<br>"):
            assert re.sub(r"</?[bi]>", "", line).strip() not in {"+", "&amp;", "/"}, label


def test_presentation_mode_scales_the_heatmap_up(store):
    m = build_matrix(store, default_arm_keys(store), "3-4")
    desk, room = ae_heatmap(m), ae_heatmap(m, font_size=18)
    assert room.layout.width > desk.layout.width and room.layout.height > desk.layout.height
    assert room.layout.font.size == 18 and desk.layout.font.size == 14
    assert min(_font_sizes(room.to_plotly_json(), [])) >= 16
    assert min(_font_sizes(desk.to_plotly_json(), [])) >= 12
    assert _trace(room, "reported").textfont.size > _trace(desk, "reported").textfont.size
    # wider per column than on the desk, and wider than half the default content width in total
    assert (room.layout.width - desk.layout.width) / len(m.columns) > 30
    d = study_differences(store, _study_of(store, "001"), "3-4")
    small, big = difference_figure(d), difference_figure(d, font_size=18)
    assert min(_font_sizes(big.to_plotly_json(), [])) >= 16 and big.layout.height > small.layout.height


def test_difference_headers_name_the_arm_order(store):
    for study, (exp, ref) in two_arm_comparisons(store).items():
        d = study_differences(store, study, "3-4")
        count_head, diff_head = difference_headers(d)
        first, _, second = count_head.partition(" n/N vs ")
        assert store.arm_label(study, exp).startswith(html.unescape(first)), count_head
        assert store.arm_label(study, ref).startswith(html.unescape(second).removesuffix(" n/N")), count_head
        assert "95% CI" in diff_head
    d = study_differences(store, _study_of(store, "001"), "3-4")
    assert difference_headers(d)[0] == "FOLFOX-HAIC n/N vs Sorafenib n/N"
    fig = difference_figure(d)
    texts = [a.text for a in fig.layout.annotations]
    assert "<b>FOLFOX-HAIC n/N</b><br><b>vs Sorafenib n/N</b>" in texts
    assert not any(t.startswith("<b>n/N vs n/N") for t in texts)
    assert "95% CI" in " ".join(texts) and "not adjusted" in fig.data[0].customdata[0]
