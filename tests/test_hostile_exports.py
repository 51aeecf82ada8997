"""Exports: formula-escaped headers, signed numbers kept as numbers, and the
tumor-board brief offered with or without a figure renderer."""
from __future__ import annotations

import csv
import io

import pandas as pd
import plotly.graph_objects as go

from components import export
from components.tables import to_csv_bytes


def read_back(df: pd.DataFrame) -> list[list[str]]:
    return list(csv.reader(io.StringIO(to_csv_bytes(df).decode("utf-8"))))


def test_headers_from_the_store_are_formula_escaped():
    # study and arm labels become column headers (the AE matrix, the forest rows)
    df = pd.DataFrame({"=HYPERLINK(\"http://evil.example\",\"x\")": [1], "@SUM(A1)": [2], "+arm": [3],
                       "-arm": [4], "Sun 2022": [5]})
    header = read_back(df)[0]
    assert header == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(A1)", "'+arm", "'-arm", "Sun 2022"]


def test_signed_numbers_stay_numbers_and_formulas_are_escaped():
    # as the fidelity table writes them: differences are signed text
    df = pd.DataFrame({"Difference": ["+0.02", "-3", "-0.15", "+1e-3", "+1.2 points", "=1+1", " =cmd|' /C calc'!A0",
                                      "\t=1", "-", "@x", "0.5"]})
    cells = [r[0] for r in read_back(df)[1:]]
    assert cells == ["+0.02", "-3", "-0.15", "+1e-3", "'+1.2 points", "'=1+1", "' =cmd|' /C calc'!A0",
                     "'\t=1", "'-", "'@x", "0.5"]


def test_string_dtype_columns_are_escaped_too():
    df = pd.DataFrame({"Arm": pd.Series(["=1+2", "FOLFOX4"], dtype="string")})
    assert [r[0] for r in read_back(df)[1:]] == ["'=1+2", "FOLFOX4"]


def test_the_brief_is_made_without_chromium_and_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(export, "chromium_path", lambda: None)
    monkeypatch.setattr(export, "figure_bytes", lambda *a, **k: (_ for _ in ()).throw(AssertionError("no render")))
    assert "Chromium" in export.missing_for_figures() and "brief is still offered" in export.missing_for_figures()
    numbers = pd.DataFrame({"Study": ["Sun 2022"], "HR (95% CI)": ["0.465 (0.298-0.726)"]})
    page = export.brief_html("OS hazard ratios", go.Figure(), numbers, ["Sun J et al. 2022"], ["caveat"])
    assert "0.465 (0.298-0.726)" in page and "Sun J et al. 2022" in page
    assert "Figure not embedded" in page and "package &#x27;chromium&#x27;" in page


def test_nothing_is_missing_when_chromium_is_there(monkeypatch):
    monkeypatch.setattr(export, "chromium_path", lambda: "/usr/bin/chromium")
    assert export.missing_for_figures() is None
