"""Adverse events as a terms x arms matrix: grade bands, percentages, differences.

Pure functions over the store's tables (no files, no streamlit), so that every
number the heatmap shows can be checked by a test.

Conventions
- Grade bands. "3-4": the 3-4 row the paper prints, else the 3-4 row a curator
  derived (grade 3 + grade 4). "any": printed, else derived. "1-2": only where
  the paper prints grade 1-2 itself (004); a 1-2 a curator summed from grade 1
  and grade 2 (003) is not shown, because the view is labelled "as printed".
  "moderate-severe": rows the paper prints as "moderate and severe" without
  grades (moderate is grade 2), never shown as grade 3-4.
- Percent shown = the percent the paper prints, wherever it prints one, so that
  the cell reads as the paper does (003's liver function damage: 69.7%, not
  42/66); otherwise count / denominator (a curator-derived row: its count). When
  a printed percent disagrees with its count beyond rounding, the cell carries
  the mismatch (and the conflict the curator recorded) instead of hiding either;
  differences between arms are always computed from the counts.
- Not reported is not zero: a term an arm's paper does not print at the band is
  an explicit "NR" cell, never 0.
- Terms are joined on the harmonised term of evidence/ae_terms.yaml. Two paper
  terms of the same arm that map to the same harmonised term are never merged
  or summed: the second gets its own row labelled with the paper's word.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pandas as pd

from analysis.effects import risk_difference
from evidence.naming import study_name

from . import conflicts as conflicts_mod

from evidence.naming import AE_BANDS as BANDS, AE_CATEGORIES as CATEGORIES, AE_OVERALL as OVERALL, AE_UNMAPPED as UNMAPPED  # noqa: F401 (OVERALL: read by tests)

CATEGORY_LABELS = dict(CATEGORIES)
_CATEGORY_RANK = {label: i for i, (_, label) in enumerate(CATEGORIES)}
SORTS: dict[str, str] = {
    "frequency": "Organ system, then frequency",
    "difference": "Organ system, then difference",
}


def arm_key(study_id: str, arm_id: str) -> str:
    """'huang2022:folfox_haic': how an arm is named in a link."""
    return f"{study_id}:{arm_id}"


def split_arm_key(key: str) -> tuple[str, str]:
    study_id, _, arm_id = key.partition(":")
    return study_id, arm_id


def _present(x) -> bool:
    """A value, not None/NaN (pandas gives NaN for a missing count)."""
    if x is None:
        return False
    try:
        return not bool(pd.isna(x))
    except (TypeError, ValueError):   # a list is present
        return True


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else []


# ---------------------------------------------------------------------------
# Percentages
# ---------------------------------------------------------------------------

def percent_tolerance(printed: float) -> float:
    """How far a printed percent may sit from count/denominator and still be rounding.

    Papers print one decimal (12.1) or none (17): half a unit of the last
    printed digit, plus a hair for float noise. A value stored without decimals
    cannot be told from "12.0", so it gets the looser tolerance.
    """
    return (0.5 if float(printed).is_integer() else 0.05) + 1e-9


@dataclass(frozen=True)
class CellNumbers:
    percent: Optional[float]           # what the cell shows and is coloured by
    source: str                        # "printed percent", "count/denominator", "derived percent" or "no percent"
    printed_percent: Optional[float]
    computed_percent: Optional[float]
    mismatch: bool                     # printed percent contradicts count/denominator


def cell_numbers(count, denominator, percent, derived: bool = False) -> CellNumbers:
    """The percent a cell shows: the printed one where the paper prints it, else count/denominator.

    A derived row's percent is the curator's arithmetic, not print, so its count decides.
    """
    computed = 100.0 * float(count) / float(denominator) if _present(count) and _present(denominator) else None
    stored = float(percent) if _present(percent) else None
    if derived:
        if computed is not None:
            return CellNumbers(computed, "count/denominator", None, computed, False)
        return CellNumbers(stored, "derived percent", None, None, False)
    mismatch = stored is not None and computed is not None and abs(stored - computed) > percent_tolerance(stored)
    if stored is not None:
        return CellNumbers(stored, "printed percent", stored, computed, mismatch)
    if computed is not None:
        return CellNumbers(computed, "count/denominator", None, computed, False)
    return CellNumbers(None, "no percent", None, None, False)   # a count without its denominator


# ---------------------------------------------------------------------------
# Grade bands
# ---------------------------------------------------------------------------

def select_band(ae: pd.DataFrame, band: str) -> pd.DataFrame:
    """The records a band shows: one per study, arm and paper term.

    "3-4" and "any": the printed row, else the derived one. "1-2": printed rows
    only. A paper term printed twice at the same band (table and text) keeps
    its first record in file order; `n_alternatives` counts the others so the
    hover can say so (differing values there should carry a conflict).
    """
    if band not in BANDS:
        raise ValueError(f"unknown grade band {band!r}: use one of {', '.join(BANDS)}")
    rows = ae[ae["grade"] == band].copy()
    if band in ("1-2", "moderate-severe"):
        rows = rows[~rows["derived"].astype(bool)]
    rows["_order"] = range(len(rows))
    rows["_derived"] = rows["derived"].astype(bool)
    rows["_term_key"] = rows["term_reported"].str.strip().str.lower()
    rows = rows.sort_values(["_derived", "_order"], kind="stable")
    rows["n_alternatives"] = rows.groupby(["study_id", "arm_id", "_term_key"], sort=False)["_order"].transform("size") - 1
    rows = rows.drop_duplicates(["study_id", "arm_id", "_term_key"], keep="first")
    return rows.sort_values("_order", kind="stable").drop(columns=["_order", "_derived", "_term_key"])


# ---------------------------------------------------------------------------
# Columns (arms)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ArmColumn:
    key: str
    study_id: str
    arm_id: str
    n: Optional[int]           # the adverse-event denominator (matched cohort where that is what the paper used)
    n_note: str                # "matched" when n is the matched cohort, else ""
    has_ae_data: bool
    study_name: str = ""       # names as every page prints them (evidence.naming)
    arm_label: str = ""
    via_review: bool = False   # a trial known only through a review

    @property
    def plain_label(self) -> str:
        return f"{self.study_name} · {self.arm_label}"


def arm_order(store) -> list[str]:
    """Every arm as 'study:arm', studies in source-file order, arms as the file lists them."""
    studies = store.studies.assign(_i=range(len(store.studies))).sort_values(
        ["source_file", "_i"], kind="stable")
    keys = []
    for sid in studies["study_id"]:
        for arm in store.arms[store.arms["study_id"] == sid]["arm_id"]:
            keys.append(arm_key(sid, arm))
    return keys


def default_arm_keys(store) -> list[str]:
    """Every arm of the primary papers (000, 001, 003, 004): the tumor board's usual view."""
    st = store.studies
    kind = st["source_kind"].fillna("primary") if "source_kind" in st else pd.Series("primary", index=st.index)
    primary = set(st.loc[kind == "primary", "study_id"])
    return [k for k in arm_order(store) if split_arm_key(k)[0] in primary]


def arm_columns(store, keys: Sequence[str]) -> list[ArmColumn]:
    wanted = set(keys)
    ae = store.adverse_events
    kinds = dict(zip(store.studies.study_id, store.studies.source_kind))
    cols = []
    for key in arm_order(store):
        if key not in wanted:
            continue
        sid, aid = split_arm_key(key)
        arm = store.arms[(store.arms.study_id == sid) & (store.arms.arm_id == aid)].iloc[0]
        dens = ae[(ae.study_id == sid) & (ae.arm_id == aid)]["denominator"].dropna()
        n_arm = int(arm["n"]) if _present(arm.get("n")) else None
        n_matched = int(arm["n_matched"]) if _present(arm.get("n_matched")) else None
        n = int(dens.mode().iloc[0]) if len(dens) else (n_matched or n_arm)
        note = "matched" if n_matched is not None and n == n_matched and n != n_arm else ""
        has = bool(((ae.study_id == sid) & (ae.arm_id == aid)).any())
        cols.append(ArmColumn(key, sid, aid, n, note, has, study_name(store, sid), store.arm_label(sid, aid),
                              kinds.get(sid) == "review"))
    return cols


# ---------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------

@dataclass
class AEMatrix:
    band: str
    columns: list[ArmColumn]
    rows: pd.DataFrame        # row_key, term, category, row order; one per heatmap row
    cells: pd.DataFrame       # one per row x column, NR cells included (status "NR")
    unmapped: list[str] = field(default_factory=list)   # paper terms ae_terms.yaml does not map yet

    def cell(self, row_key: str, column_key: str) -> pd.Series:
        c = self.cells
        return c[(c.row_key == row_key) & (c.column_key == column_key)].iloc[0]

    def row_keys(self, category: str | None = None) -> list[str]:
        r = self.rows if category is None else self.rows[self.rows.category == category]
        return list(r.row_key)


def two_arm_comparisons(store) -> dict[str, tuple[str, str]]:
    """Studies with two arms that both report adverse events: {study_id: (experimental, reference)}.

    The direction is the paper's primary comparison (experimental first); a
    study without one keeps the order of its arms.
    """
    out = {}
    ae = store.adverse_events
    for key_study in dict.fromkeys(split_arm_key(k)[0] for k in arm_order(store)):
        st = store.studies[store.studies.study_id == key_study].iloc[0]
        arms = list(store.arms[store.arms.study_id == key_study].arm_id)
        if len(arms) != 2:
            continue
        if not all(((ae.study_id == key_study) & (ae.arm_id == a)).any() for a in arms):
            continue
        pc = st.get("primary_comparison")
        if isinstance(pc, (list, tuple)) and len(pc) == 2 and set(pc) == set(arms):
            out[key_study] = (pc[0], pc[1])
        else:
            out[key_study] = (arms[0], arms[1])
    return out


def build_matrix(store, keys: Sequence[str], band: str = "3-4",
                 categories: Sequence[str] | None = None, sort: str = "frequency",
                 compare: tuple[str, str] | None = None) -> AEMatrix:
    """The heatmap's content for the chosen arms and grade band.

    categories: category labels to keep (None or empty: all). sort "frequency":
    within each organ system, the highest percentage across the shown arms
    first; "difference": by the risk difference of `compare` (two arm keys,
    experimental and reference), largest first, terms without it last.
    """
    columns = arm_columns(store, keys)
    col_keys = [c.key for c in columns]
    ae = store.adverse_events
    ae = ae[[arm_key(s, a) in set(col_keys) for s, a in zip(ae.study_id, ae.arm_id)]]
    picked = select_band(ae, band) if len(ae) else ae.assign(n_alternatives=0)

    picked = picked.copy()
    unmapped = sorted({t for t, m in zip(picked.term_reported, picked.term) if not isinstance(m, str)})
    picked["term_h"] = [m if isinstance(m, str) else f"{t} (not yet harmonised)"
                        for t, m in zip(picked.term_reported, picked.term)]
    picked["category_h"] = [c if isinstance(c, str) and isinstance(m, str) else UNMAPPED
                            for c, m in zip(picked.category, picked.term)]
    picked["column_key"] = [arm_key(s, a) for s, a in zip(picked.study_id, picked.arm_id)]

    # two paper terms of one arm on one harmonised row: the first (file order)
    # keeps the row, the others get a row of their own named by the paper's word
    row_keys = []
    taken: dict[tuple[str, str], str] = {}
    for r in picked.itertuples():
        k = (r.column_key, r.term_h)
        own = taken.setdefault(k, r.term_reported.strip().lower())
        row_keys.append(r.term_h if own == r.term_reported.strip().lower()
                        else f"{r.term_h} (as “{r.term_reported.strip()}”)")
    picked["row_key"] = row_keys

    if categories:
        keep = set(categories) | {UNMAPPED}
        picked = picked[picked.category_h.isin(keep)]

    conflicts = store.conflicts
    cells = []
    row_info: dict[str, dict] = {}
    by_cell = {(r.row_key, r.column_key): r for r in picked.itertuples()}
    for r in picked.itertuples():
        row_info.setdefault(r.row_key, {"row_key": r.row_key, "term": r.term_h, "category": r.category_h})
    for rk, info in row_info.items():
        for col in columns:
            r = by_cell.get((rk, col.key))
            base = {"row_key": rk, "term": info["term"], "category": info["category"],
                    "column_key": col.key, "study_id": col.study_id, "arm_id": col.arm_id}
            if r is None:
                cells.append({**base, "status": "NR", "percent": None, "count": None, "denominator": None,
                              "printed_percent": None, "computed_percent": None, "percent_source": "",
                              "mismatch": False, "term_reported": "", "grade": "", "derived": False,
                              "formula": "", "location": "", "snippet": "", "conflict_ids": [],
                              "conflicts": [], "conflict_severity": "", "n_alternatives": 0, "record_id": ""})
                continue
            nums = cell_numbers(r.count, r.denominator, r.percent, bool(r.derived))
            ids = _as_list(r.conflict_ids)
            cells.append({
                **base, "status": "reported", "percent": nums.percent,
                "count": int(r.count) if _present(r.count) else None,
                "denominator": int(r.denominator) if _present(r.denominator) else None,
                "printed_percent": nums.printed_percent, "computed_percent": nums.computed_percent,
                "percent_source": nums.source, "mismatch": nums.mismatch,
                "term_reported": r.term_reported, "grade": r.grade, "derived": bool(r.derived),
                "formula": r.formula if isinstance(r.formula, str) else "",
                "location": r.location, "snippet": r.snippet, "conflict_ids": ids,
                "conflicts": conflicts_mod.descriptions(ids, conflicts, getattr(r, "evidence_file", None)),
                "conflict_severity": conflicts_mod.severity(ids, conflicts, getattr(r, "evidence_file", None)),
                "n_alternatives": int(r.n_alternatives), "record_id": getattr(r, "record_id", ""),
            })
    cell_df = pd.DataFrame(cells, columns=[
        "row_key", "term", "category", "column_key", "study_id", "arm_id", "status", "percent", "count",
        "denominator", "printed_percent", "computed_percent", "percent_source", "mismatch", "term_reported",
        "grade", "derived", "formula", "location", "snippet", "conflict_ids", "conflicts", "conflict_severity",
        "n_alternatives", "record_id"])

    rows = pd.DataFrame(list(row_info.values()), columns=["row_key", "term", "category"])
    rows = _order_rows(rows, cell_df, sort, compare)
    return AEMatrix(band, columns, rows, cell_df, unmapped)


def _order_rows(rows: pd.DataFrame, cells: pd.DataFrame, sort: str, compare) -> pd.DataFrame:
    if rows.empty:
        return rows.assign(rank=pd.Series(dtype=float), sort_value=pd.Series(dtype=float))
    top = cells.groupby("row_key")["percent"].max()
    rows = rows.copy()
    rows["frequency"] = rows.row_key.map(top).astype(float)
    rows["sort_value"] = rows["frequency"]
    if sort == "difference" and compare:
        diffs = risk_differences_from_cells(cells, rows, compare[0], compare[1])
        rd = dict(zip(diffs.row_key, diffs.difference)) if len(diffs) else {}
        rows["sort_value"] = rows.row_key.map(rd).astype(float)
    rows["category_rank"] = rows.category.map(lambda c: _CATEGORY_RANK.get(c, len(_CATEGORY_RANK)))
    rows["_missing"] = rows["sort_value"].isna()
    rows = rows.sort_values(["category_rank", "_missing", "sort_value", "frequency", "term"],
                            ascending=[True, True, False, False, True], kind="stable")
    return rows.drop(columns=["_missing"]).reset_index(drop=True)


# ---------------------------------------------------------------------------
# Between-arm differences
# ---------------------------------------------------------------------------

def risk_differences_from_cells(cells: pd.DataFrame, rows: pd.DataFrame, experimental: str, reference: str,
                                level: float = 0.95) -> pd.DataFrame:
    """Risk difference (experimental - reference) per row, in percentage points, Newcombe 95% CI.

    Only rows where both arms print a count and a denominator: a printed
    percent alone, or a term one arm does not report, gives no difference
    (not reported is not zero).
    """
    out = []
    exp = cells[cells.column_key == experimental].set_index("row_key")
    ref = cells[cells.column_key == reference].set_index("row_key")
    for r in rows.itertuples():
        if r.row_key not in exp.index or r.row_key not in ref.index:
            continue
        a, b = exp.loc[r.row_key], ref.loc[r.row_key]
        if not (_present(a["count"]) and _present(a["denominator"]) and _present(b["count"])
                and _present(b["denominator"])):
            continue
        est = risk_difference(int(a["count"]), int(a["denominator"]), int(b["count"]), int(b["denominator"]),
                              level=level)
        out.append({
            "row_key": r.row_key, "term": r.term, "category": r.category,
            "count_experimental": int(a["count"]), "n_experimental": int(a["denominator"]),
            "count_reference": int(b["count"]), "n_reference": int(b["denominator"]),
            "difference": 100 * est.estimate, "ci_low": 100 * est.low, "ci_high": 100 * est.high,
            "level": level, "method": est.method, "note": est.note,
            "term_experimental": a["term_reported"], "term_reference": b["term_reported"],
            "conflicts": list(dict.fromkeys(list(a["conflicts"]) + list(b["conflicts"]))),
        })
    return pd.DataFrame(out, columns=[
        "row_key", "term", "category", "count_experimental", "n_experimental", "count_reference",
        "n_reference", "difference", "ci_low", "ci_high", "level", "method", "note", "term_experimental",
        "term_reference", "conflicts"])


@dataclass
class Differences:
    experimental: str          # arm keys
    reference: str
    band: str
    table: pd.DataFrame        # risk_differences_from_cells, in the matrix's row order
    not_estimable: list[str]   # rows shown in the heatmap for this study without a difference, and why
    experimental_label: str = ""   # the arms as every page names them
    reference_label: str = ""
    study_name: str = ""


def study_differences(store, study_id: str, band: str = "3-4", categories: Sequence[str] | None = None,
                      sort: str = "frequency") -> Differences:
    """The difference view of one two-arm study, rows ordered by organ system as in the heatmap."""
    comparisons = two_arm_comparisons(store)
    if study_id not in comparisons:
        raise ValueError(f"{study_id!r} is not a two-arm study with adverse events in both arms")
    e, r = comparisons[study_id]
    ek, rk = arm_key(study_id, e), arm_key(study_id, r)
    m = build_matrix(store, [ek, rk], band, categories, sort, compare=(ek, rk))
    table = risk_differences_from_cells(m.cells, m.rows, ek, rk)
    missing = []
    for row in m.rows.itertuples():
        if row.row_key in set(table.row_key):
            continue
        a, b = m.cell(row.row_key, ek), m.cell(row.row_key, rk)
        if a.status == "NR" or b.status == "NR":
            missing.append(f"{row.term}: not reported in one arm")
        else:
            missing.append(f"{row.term}: no count printed")
    return Differences(ek, rk, band, table.reset_index(drop=True), missing, store.arm_label(study_id, e),
                       store.arm_label(study_id, r), study_name(store, study_id))
