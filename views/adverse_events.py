"""Adverse events: harmonised terms by organ system x arms, and the two-arm difference view."""
from __future__ import annotations

from components.ae_heatmap import SCALE_MAX, ae_heatmap, difference_figure, difference_table, matrix_table
from evidence.naming import arm_option_text, regimen_label, study_name

from dataclasses import replace

from . import ae_matrix as am
from . import brief_tables as bt
from . import patient as pt
from .links import Choice, Many
from .model import PRESENT, Brief, ViewModel, font_size

PATH = "adverse-events"
HEATMAP_CAVEAT = ("Columns from different studies are not a randomised comparison: populations, CTCAE versions "
                  "and reporting thresholds differ.")
OUTSIDE_MARK = "✗ outside"   # in a column label: the study's criteria exclude the patient
NR_CAVEAT = "NR: the paper does not report the event for that arm at this grade band; not the same as zero."


def spec(store) -> dict:
    compare_ids = list(am.two_arm_comparisons(store))
    out = {
        "arms": Many(am.arm_order(store), am.default_arm_keys(store)),
        "grade": Choice(list(am.BANDS), "3-4", aliases={"3/4": "3-4", "34": "3-4", "all": "any", "1/2": "1-2"}),
        "categories": Many([slug for slug, _ in am.CATEGORIES], []),
        "sort": Choice(list(am.SORTS), "frequency"),
        "present": PRESENT,
    }
    if compare_ids:
        # the richest two-arm table is the one a tumor board asks about first
        out["compare"] = Choice(compare_ids, "huang2022" if "huang2022" in compare_ids else compare_ids[0])
    return out


def build(state: dict, store, params: dict) -> ViewModel:
    band, arms, sort = state["grade"], state["arms"], state["sort"]
    categories = [am.CATEGORY_LABELS[c] for c in state["categories"]]
    comparisons = am.two_arm_comparisons(store)
    compare = state.get("compare")
    pair = None
    if compare in comparisons:
        e, r = comparisons[compare]
        pair = (am.arm_key(compare, e), am.arm_key(compare, r))
    size = font_size(state)
    figures, tables, texts = {}, {}, {}
    # Huang 2022 tabulates only events in at least 10% of patients (Table 4, footnote b)
    threshold = (f" ({study_name(store, 'huang2022')} lists only events in ≥10% of patients)"
                 if "huang2022" in set(store.studies.study_id) else "")
    caveat = (f"Columns from different studies are not a randomised comparison: populations, CTCAE versions and "
              f"reporting thresholds differ{threshold}. NR means the paper does not print the event for that arm "
              "at this grade band, which is not the same as zero.")
    if band == "1-2":
        texts["band_note"] = "Grade 1-2 is shown only where the paper prints grade 1-2 itself; every other cell is NR."
    matrix = am.build_matrix(store, arms, band, categories, sort, compare=pair) if arms else None
    # with a patient profile: columns of studies whose criteria exclude the patient are marked
    outside = set(pt.arm_marks(store, pt.profile_of(state), am.arm_order(store), lambda k: am.split_arm_key(k)[0]))
    texts["patient_outside_arms"] = [k for k in arms if k in outside]
    if matrix is not None and outside:
        # on the label's note line, under N: '(✗ outside)' or '(matched; ✗ outside)'
        matrix = replace(matrix, columns=[replace(c, n_note="; ".join(x for x in (c.n_note, OUTSIDE_MARK) if x))
                                          if c.key in outside else c for c in matrix.columns])
    brief = None
    if matrix is None:
        texts["heatmap_empty"] = "Choose at least one arm."
    elif matrix.rows.empty:
        texts["heatmap_empty"] = "No adverse event is reported for these arms at this grade band."
    else:
        texts["unmapped"] = list(matrix.unmapped)
        figures["heatmap"] = ae_heatmap(matrix, font_size=size)
        tables["matrix"] = matrix_table(matrix)
        texts["scale_max"] = SCALE_MAX[band]
        cites = tuple(c for c in store.studies[store.studies.study_id.isin({a.split(":")[0] for a in arms})].citation
                      if isinstance(c, str))
        ids = [a.split(":")[0] for a in arms]
        brief = Brief(title=f"Adverse events, grade {band}", figure="heatmap",
                      key_numbers=bt.adverse_event_numbers(tables["matrix"]),
                      citations=cites, sources=bt.labelled_citations(store, ids, bt.adverse_event_sources(store, ids)),
                      caveats=(HEATMAP_CAVEAT, NR_CAVEAT), design=bt.design_line(store, ids),
                      notes=(bt.AE_CONFLICT_NOTE,))
    if compare in comparisons:
        diffs = am.study_differences(store, compare, band, categories, sort)
        texts["not_estimable"] = list(diffs.not_estimable)
        if diffs.table.empty:
            texts["difference_empty"] = "No term has a count in both arms at this grade band."
        else:
            figures["difference"] = difference_figure(diffs, font_size=size)
            tables["differences"] = difference_table(diffs)
    elif not comparisons:
        texts["difference_empty"] = "No two-arm study reports adverse events in both arms yet."
    texts["options"] = {
        "arms": {k: arm_option_text(f"{study_name(store, k.split(':')[0])} · "
                                    f"{regimen_label(store.arm_label(*k.split(':', 1)))}",
                                    store.arm_label(*k.split(':', 1)))
                 + (" ✗ outside patient profile" if k in outside else "") for k in am.arm_order(store)},
        "grade": dict(am.BANDS), "sort": dict(am.SORTS), "categories": dict(am.CATEGORIES),
        "compare": {s: study_name(store, s) for s in comparisons},
    }
    return ViewModel(page="adverse-events", path=PATH, state=state, params=params, title="Adverse events",
                     figures=figures, tables=tables, caveats=(caveat,), texts=texts, brief=brief)
