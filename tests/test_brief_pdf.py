"""The tumor-board brief as a one-page A4 landscape PDF, for the default view of every chart page.

The reference numbers are the papers' own (quoted below with their place in the
source text); page counts and text come from poppler's pdfinfo and pdftotext.
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess

import pytest

import views
from components import brief as brief_mod
from components import export
from views import brief_tables as bt

needs_pdf = pytest.mark.skipif(export.chromium_path() is None or shutil.which("pdfinfo") is None,
                               reason="needs Chromium and poppler-utils (pdfinfo, pdftotext)")

FOREST_ALL = "endpoint=survival&comparisons=all"           # 27 rows: more than a page holds
FOREST_23 = "endpoint=survival&comparisons=all&population=overall"   # 23 rows: one page
# What each brief must show, as the papers print it (dashes normalised to '-').
EXPECTED = {
    ("forest", ""): [
        "Sun 2022", "Huang 2022", "BRISK-FL", "Liu (Hepa-HAIC)",
        "0.465 (0.298-0.726)",   # Sun 2022, Results: "HR for overall survival was 0.465 (95% ... 0.298–0.726; P = 0.001)"
        "0.35 (0.23-0.53)",      # Huang 2022, Abstract: "hazard ratio 0.35 [95% confidence interval 0.23-0.53]"
        "0.29 (0.19-0.44)",      # Huang 2022, Table 2: "17.1 vs 9.07 <.001 0.29 (0.19-0.44)"
        "1.05 (0.94-1.23)",      # Gong & Qin 2016, Table 1: BRISK-FL OS HR 1.05 (95%CI 0.94-1.23)
    ],
    ("survival", ""): [           # the default: Huang 2022's two arms
        "Huang 2022",
        "17.1 (13.4-20.8)",      # Huang 2022, Abstract: "17.1 months [95% confidence interval 13.4-20.8]"
        "9.1 (7.5-10.6)",        # Huang 2022, Abstract: "9.1 months [95% confidence interval 7.5-10.6]"
        "0.35 (0.23-0.53)",      # the hazard ratio as reported, with its p
        "<.001",
    ],
    ("survival", "arms=huang2022:folfox_haic,liu2020:sorafenib_tace_haic"): [
        "Huang 2022", "Liu 2020",
        "21.8 (12.9-30.6)",      # Liu 2020, Results: "The median OS (mOS) was 21.8 mo (95%CI: 12.9-30.6 mo)"
    ],
    ("adverse-events", ""): [
        "Sun 2022", "Huang 2022", "Liu 2020", "Liu (Hepa-HAIC)",
        "18/55", "23/59",        # Huang 2022, Results: "grade 3/4: 18 [32.7%] vs 23 [39.0%]"
    ],
    ("forest", FOREST_23): [
        "Sun 2022", "Huang 2022", "Tivantinib phase II", "SEARCH", "REACH",
        "0.474 (0.314-0.717)",   # Sun 2022, Results: "the HR of disease-free survival was 0.474 (95% CI: 0.314–0.717"
        "0.49 (0.33-0.72)",      # Huang 2022 PFS
        "0.64 (90% CI 0.43-0.94)",   # a 90% interval says so
    ],
}
INTERNAL = ["log effect", "SE (log)", "<NA>", "nan", "CI source"]


def _pdf_facts(pdf: bytes, tmp_path) -> tuple[int, str]:
    path = tmp_path / "brief.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert re.search(r"Page size:\s+841\.\d+ x 595|Page size:\s+841\.\d+ x 594", info), info   # A4 landscape
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return pages, re.sub(r"[‐-―−]", "-", text)


@needs_pdf
@pytest.mark.parametrize("page,query", list(EXPECTED))
def test_brief_is_one_page_with_the_studies_and_their_intervals(store, tmp_path, page, query):
    model = views.build_view(page, query, store)
    pages, text = _pdf_facts(brief_mod.brief_pdf(model, f"http://localhost/{model.path}?{query}"), tmp_path)
    assert pages == 1
    flat = " ".join(text.split())
    for expected in EXPECTED[(page, query)]:
        assert expected in flat, f"{expected!r} missing from the {page} brief"
    for word in INTERNAL:
        assert not re.search(rf"(?<![\w/]){re.escape(word)}(?![\w])", flat), f"{word!r} printed in the {page} brief"
    assert "Main caveat" in flat and "Design" in flat and "Sources" in flat
    assert flat.count(model.brief.caveats[0][:60]) == 1          # the main caveat once
    assert "Tumor-board brief" in flat and "localhost" in flat   # the date line and the link


@needs_pdf
def test_a_forest_longer_than_a_page_continues_and_says_so(store, tmp_path):
    model = views.build_view("forest", FOREST_ALL, store)
    assert len(model.tables["rows"]) == 27
    pages, text = _pdf_facts(brief_mod.brief_pdf(model, "http://localhost/forest"), tmp_path)
    flat = " ".join(text.split())
    assert pages >= 2
    assert "the key numbers continue on the next page" in flat
    assert "0.64 (90% CI 0.43-0.94)" in flat and "SEARCH" in flat


@needs_pdf
def test_without_a_figure_renderer_the_brief_is_the_table_and_says_why(store, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("kaleido could not start")
    monkeypatch.setattr(export, "figure_bytes", broken)
    model = views.build_view("forest", "", store)
    pages, text = _pdf_facts(brief_mod.brief_pdf(model, "http://localhost/forest"), tmp_path)
    flat = " ".join(text.split())
    assert pages == 1
    assert "Figure missing" in flat and "kaleido could not start" in flat
    assert "0.465 (0.298-0.726)" in flat and "Huang 2022" in flat


@needs_pdf
def test_without_chromium_for_kaleido_the_brief_says_the_renderer_is_missing(store, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "missing_for_figures", lambda: export.FIGURE_EXPORT_MISSING)
    model = views.build_view("survival", "", store)
    pages, text = _pdf_facts(brief_mod.brief_pdf(model), tmp_path)
    flat = " ".join(text.split())
    assert pages == 1 and "Figure missing" in flat and "17.1 (13.4-20.8)" in flat


def test_without_chromium_the_pdf_is_refused_with_what_is_missing(store, monkeypatch):
    monkeypatch.setattr(export, "chromium_path", lambda: None)
    assert "Chromium" in brief_mod.missing_for_pdf()
    with pytest.raises(RuntimeError, match="Chromium"):
        brief_mod.brief_pdf(views.build_view("forest", "", store))


def test_forest_numbers_read_as_printed_and_hide_working_columns(store):
    numbers = views.build_view("forest", FOREST_ALL, store).brief.key_numbers
    assert not set(numbers.columns) & {"log effect", "SE (log)", "CI low", "CI high", "CI level", "CI source"}
    assert not numbers.isna().any().any()
    row = numbers[numbers.Study == "Heo (JX-594)"].iloc[0]
    # no CI printed: HR 0.39, p 0.02 -> z = 2.326, SE = ln(0.39)/-2.326 = 0.4048,
    # 95% CI exp(-0.9416 -/+ 1.96 * 0.4048) = 0.176-0.862, rounded 0.18-0.86 and marked
    z = 2.3263
    se = -math.log(0.39) / z
    assert f"{math.exp(math.log(0.39) - 1.96 * se):.2f}" == "0.18"
    assert row["HR (95% CI)"] == "0.39 (0.18-0.86)†"
    assert row["n (events), exp. / ref."] == "16 / 14"
    sun = numbers[(numbers.Study == "Sun 2022") & (numbers.Endpoint == "OS")].iloc[0]
    assert sun["n (events), exp. / ref."] == "57 / 54 (37 / 48)" and sun["p"] == "0.001"


def test_response_ratios_computed_here_are_rounded_and_marked(store):
    numbers = views.build_view("forest", "endpoint=ORR", store).brief.key_numbers
    huang = numbers[numbers.Study == "Huang 2022"].iloc[0]
    # Huang 2022, Table 3 (RECIST): 18/55 vs 1/59 -> RR = (18/55)/(1/59) = 19.31;
    # Katz SE = sqrt(1/18 - 1/55 + 1/1 - 1/59) = 1.0102, CI 19.31 * exp(-/+1.96 * 1.0102) = 2.67-139.83
    assert huang["Responders / n, exp. vs ref."] == "18/55 vs 1/59"
    assert huang["Risk ratio (95% CI)"] == "19.31 (2.67-139.83)‡"


def test_page_html_escapes_what_came_from_files(store):
    from dataclasses import replace
    model = views.build_view("forest", "", store)
    hostile = replace(model, brief=replace(model.brief, title="<script>alert(1)</script>",
                                           sources=("Sun <i>2022</i>",)))
    page = brief_mod.brief_page_html(hostile, "http://x/?a=<b>", None, (0, 0), "no renderer")
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "Sun &lt;i&gt;" in page
    assert "http://x/?a=&lt;b&gt;" in page


def test_study_labelled_citations_group_the_trials_of_one_review(store):
    cites = bt.labelled_citations(store, ["brisk_fl", "reach", "huang2022"])
    assert len(cites) == 2
    assert cites[0].startswith("BRISK-FL (randomised), REACH (randomised): reported in a review: Gong XL")
    assert cites[1].startswith("Huang 2022 (Retrospective): Huang Y")


@pytest.mark.parametrize("page_file", ["forest.py", "survival.py", "adverse-events.py"])
def test_every_chart_page_offers_the_pdf_brief_rendered_only_on_click(page_file, monkeypatch):
    from tests.pages import open_page
    calls = []
    monkeypatch.setattr(brief_mod, "brief_pdf", lambda *a, **k: calls.append(a) or b"%PDF")
    monkeypatch.setattr(export, "chromium_path", lambda: "/usr/bin/chromium")
    at = open_page(page_file)
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("Tumor-board brief (PDF)" in label for label in labels), labels
    assert any("Tumor-board brief (HTML" in label for label in labels)
    assert calls == []          # nothing printed until the button is pressed


def test_without_chromium_the_page_says_what_the_pdf_brief_lacks(monkeypatch):
    from tests.pages import open_page, texts
    monkeypatch.setattr(export, "chromium_path", lambda: None)
    at = open_page("forest.py")
    labels = [b.proto.label for b in at.get("download_button")]
    assert not any("(PDF)" in label for label in labels) and any("Tumor-board brief (HTML" in x for x in labels)
    assert any("Tumor-board brief (PDF) unavailable" in t and "Chromium" in t for t in texts(at, "caption"))


@needs_pdf
def test_beyond_one_page_the_first_page_says_the_numbers_continue(store, tmp_path):
    from dataclasses import replace

    import pandas as pd
    model = views.build_view("forest", FOREST_ALL, store)
    rows = pd.concat([model.brief.key_numbers] * 3, ignore_index=True)      # 81 rows: more than a page holds
    long = replace(model, brief=replace(model.brief, key_numbers=rows))
    pages, _ = _pdf_facts(brief_mod.brief_pdf(long), tmp_path)
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(tmp_path / "brief.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert pages > 1 and "continue on the next page" in " ".join(first.split())


def test_extra_sections_print_under_the_key_numbers_without_empty_markers(store):
    from dataclasses import replace

    import pandas as pd
    model = views.build_view("survival", "", store)
    fit = pd.DataFrame({"Criterion": ["Child-Pugh", "ECOG"], "Patient": ["A6", pd.NA], "Study": ["A", None],
                        "log effect": [0.1, 0.2]})
    with_fit = replace(model, brief=replace(model.brief, sections=(("The patient's fit", fit),)))
    page = brief_mod.brief_page_html(with_fit, None, None, (0, 0), "no renderer")
    assert "The patient&#x27;s fit" in page and "Child-Pugh" in page and "A6" in page
    assert "&lt;NA&gt;" not in page and ">None<" not in page and "log effect" not in page
