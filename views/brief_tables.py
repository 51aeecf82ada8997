"""The tumor-board brief's tables: the numbers as a clinician reads them, each with where it was printed.

The page tables carry working columns (log effect, SE, CI level, CI source) for the
CSV download; the brief shows the reported effect with its interval and p, n/N and
the paper's location instead, and never an empty-cell marker such as <NA>.
"""
from __future__ import annotations

import math

import pandas as pd

from evidence.naming import DESIGN_LABELS, design_label, study_name

NOT_REPORTED = "NR"
DERIVED_MARK = "†"
COMPUTED_MARK = "‡"
DERIVED_NOTE = f"{DERIVED_MARK} No interval printed: 95% CI derived from the reported estimate and its p value."


def _missing(x) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _num(x, digits: int | None = None) -> str:
    """A number as printed (0.465 stays 0.465, 1.30 reads 1.3); derived numbers rounded to `digits`."""
    if _missing(x):
        return NOT_REPORTED
    x = float(x)
    if digits is not None:
        return f"{x:.{digits}f}"
    return f"{x:g}"


def _text(x) -> str:
    return "" if _missing(x) else str(x).strip()


def _pair(a, b) -> str:
    return f"{_num(a)} / {_num(b)}" if not (_missing(a) and _missing(b)) else NOT_REPORTED


def effect_with_interval(effect, low, high, level=0.95, digits: int | None = None, mark: str = "",
                         scale: float = 1.0, sep: str = "-") -> str:
    """'0.35 (0.23-0.53)' as printed; computed values rounded to `digits`; another interval level is named:
    '0.64 (90% CI 0.43-0.94)'."""
    if _missing(effect):
        return NOT_REPORTED
    value = lambda x: _num(float(x) * scale, digits)
    if _missing(low) or _missing(high):
        return f"{value(effect)} (CI not reported){mark}"
    level_text = "" if _missing(level) or math.isclose(float(level), 0.95) else f"{float(level) * 100:g}% CI "
    return f"{value(effect)} ({level_text}{value(low)}{sep}{value(high)}){mark}"


def forest_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The forest's rows table (views.forest_rows.rows_table) in the brief's columns."""
    if table.empty:
        return pd.DataFrame(columns=["Study", "Comparison", "Effect (95% CI)", "p", "Source"])
    effect = next(c for c in ("HR", "Risk ratio", "Risk difference") if c in table.columns)
    is_hr = effect == "HR"
    counted = "Events" if is_hr else "Responders"
    out = pd.DataFrame({"Study": table["Study"]})
    if "Patient" in table.columns:            # with a patient profile: the row's mark (the why is in the fit section)
        out["Patient"] = table["Patient"].map(_text)
    if table["Endpoint"].nunique() > 1:
        out["Endpoint"] = table["Endpoint"]
    if len(table) <= 15:      # a long table leaves the design to the figure's markers and the design line
        out["Design"] = table["Design"].map(_short_design)
    populations = table["Population"].fillna("Overall")
    out["Comparison"] = [c if p == "Overall" else f"{c} ({p.lower()})"
                         for c, p in zip(table["Comparison"], populations)]
    if not is_hr and "Criteria" in table.columns:
        out["Comparison"] = [f"{c}; {k}" if _text(k) else c for c, k in zip(out["Comparison"], table["Criteria"])]
    events = [_pair(a, b) for a, b in zip(table[f"{counted} experimental"], table[f"{counted} reference"])]
    if is_hr:
        out["n (events), exp. / ref."] = [f"{_pair(a, b)} ({e})" if e != NOT_REPORTED else _pair(a, b)
                                          for a, b, e in zip(table["n experimental"], table["n reference"], events)]
    else:
        out["Responders / n, exp. vs ref."] = [
            f"{_num(ea)}/{_num(na)} vs {_num(eb)}/{_num(nb)}"
            for ea, na, eb, nb in zip(table[f"{counted} experimental"], table["n experimental"],
                                      table[f"{counted} reference"], table["n reference"])]
    header = {"HR": "HR (95% CI)", "Risk ratio": "Risk ratio (95% CI)",
              "Risk difference": "Risk difference, % points (95% CI)"}
    # printed numbers as printed; numbers worked out here rounded, and marked
    scale, digits = (100.0, 1) if effect == "Risk difference" else (1.0, 2)
    out[header[effect]] = [
        effect_with_interval(e, lo, hi, lv, *_rounding(src, scale, digits))
        for e, lo, hi, lv, src in zip(table[effect], table["CI low"], table["CI high"], table["CI level"],
                                      table["CI source"].map(_text))]
    out["p"] = [_text(p) or NOT_REPORTED for p in table["p"]]
    if "Certainty" in table.columns and table["Certainty"].map(_text).any() and len(table) <= 15:
        # the symbols only (⊕◯◯◯): their words are in the notes under the table (a long table
        # leaves them to the figure's side table, which prints each row's certainty)
        out["GRADE"] = table["Certainty"].map(lambda c: _text(c).split(" ")[0])
    if "Adjusted for" in table.columns and len(table) <= 15:
        # the covariates as far as a short cell allows (a long table leaves them to the figure's
        # adjustment column); the page and the CSV have them in full
        out["Adjusted for"] = table["Adjusted for"].map(lambda a: _text(a) if len(_text(a)) <= 48
                                                        else _text(a)[:46].rstrip(" ,;(") + "…")
    conflict = table["Conflict"].map(_text) if "Conflict" in table else pd.Series([""] * len(table))
    out["Source"] = [_text(loc) + (f" {_conflict(c)[0]}" if c else "") for loc, c in zip(table["Location"], conflict)]
    return out.reset_index(drop=True)


def _rounding(ci_source: str, scale: float, digits: int) -> tuple:
    """(digits, mark, scale, separator) for effect_with_interval: printed values stay as printed."""
    sep = " to " if scale != 1.0 else "-"     # a risk difference can be negative
    if ci_source.startswith("derived"):
        return digits, DERIVED_MARK, scale, sep
    if ci_source.startswith("computed"):
        return digits, COMPUTED_MARK, scale, sep
    return None, "", scale, sep


def forest_notes(table: pd.DataFrame) -> list[str]:
    """What the marks in the brief's forest table mean: worked-out intervals, and each recorded conflict once."""
    notes = []
    if "Certainty" in table.columns and table["Certainty"].map(_text).any():
        notes.append("GRADE certainty of evidence: ⊕⊕⊕⊕ high, ⊕⊕⊕◯ moderate, ⊕⊕◯◯ low, ⊕◯◯◯ very low "
                     "(reasons on the Summary of findings page).")
    sources = table["CI source"].map(_text) if "CI source" in table else pd.Series([], dtype=str)
    if sources.str.startswith("derived").any():
        notes.append(DERIVED_NOTE)
    computed = table.loc[sources.str.startswith("computed"), "Method"].map(_text) if len(sources) else []
    for method in dict.fromkeys(computed):
        notes.append(f"{COMPUTED_MARK} Not printed by the paper: computed here from the reported counts ({method}).")
    if "Conflict" in table:
        seen = {}
        for study, c in zip(table["Study"], table["Conflict"].map(_text)):
            if c:
                seen.setdefault(_conflict(c), study)
        notes += [f"{mark} {study}: {_first_sentence(c)}" for (mark, c), study in seen.items()]
    return notes


def _conflict(text: str) -> tuple[str, str]:
    """(mark, text) of a recorded conflict as the page tables write it: '⚠ * minor: ...' -> ('*', '...'):
    a major conflict is marked ⚠, a minor one (wording, a detail) quietly *."""
    text = text.strip()
    text = text[1:].strip() if text.startswith("⚠") else text
    for prefix, mark in (("* minor:", "*"), ("⚠ major:", "⚠")):
        if text.startswith(prefix):
            return mark, text[len(prefix):].strip()
    return "⚠", text


def _first_sentence(text: str, limit: int = 180) -> str:
    """A recorded conflict in brief: its first sentence (the dashboard shows the whole text)."""
    head = text.split(". ")[0].rstrip(".")
    head = head if len(head) <= limit else head[:limit].rsplit(" ", 1)[0] + " …"
    return head + ("." if head == text.rstrip(".") else " (in full in the dashboard).")


def _short_design(label) -> str:
    label = _text(label)
    review = " (reported in a review)" in label
    base = label.replace(" (reported in a review)", "")
    short = {"Randomised": "RCT", "Retrospective, propensity-matched": "Retro., PSM",
             "Prospective single-arm": "Single-arm", "Prospective non-randomised": "Prospective"}.get(base, base)
    return f"{short} (review)" if review else short


def survival_numbers(store, sources) -> pd.DataFrame:
    """Per rebuilt arm: n, the paper's median with the paper's CI, its landmark rates, events, and where printed."""
    out = store.outcomes
    rows = []
    for s in sources:
        meds = out[(out.study_id == s.study_id) & (out.arm_id == s.arm_id) & (out.endpoint == f"{s.endpoint}_median")
                   & out.value.notna() & (out.population == s.population)]
        median, where = NOT_REPORTED, []
        if len(meds):
            m = meds.iloc[0]
            ci = (f" ({_num(m.ci_low)}-{_num(m.ci_high)})" if not (_missing(m.ci_low) or _missing(m.ci_high))
                  else " (CI not reported)")
            median = f"{_num(m.value)}{ci}"
            where.append(_text(m.location))
        rates = [a for a in s.anchors if a.kind == "rate"]
        where += [a.location for a in rates if a.location]
        if s.events_location:
            where.append(s.events_location)
        rows.append({
            "Arm": s.display_name + (" (matched cohort)" if s.population == "matched" else ""),
            "Endpoint": s.endpoint,
            "Patients": NOT_REPORTED if s.n is None else str(s.n),
            "Median, months (95% CI), as reported": median,
            "Landmark rates, as reported": "; ".join(a.text for a in rates) or NOT_REPORTED,
            "Events": s.events_text or NOT_REPORTED,
            "Source": "; ".join(dict.fromkeys(w for w in where if w)),
        })
    table = pd.DataFrame(rows)
    return table.drop(columns=["Endpoint"]) if len(table) and table["Endpoint"].nunique() == 1 else table


def survival_hazard_ratios(store, sources) -> pd.DataFrame:
    """The paper's hazard ratio for each pair of arms shown from one study, with p and where printed."""
    by_key = {s.key: s for s in sources}
    hr = store.hazard_ratios
    rows = []
    if hr.empty:
        return pd.DataFrame(rows)
    for r in hr.to_dict("records"):
        ek, rk = f"{r['study_id']}:{r['experimental_arm_id']}", f"{r['study_id']}:{r['reference_arm_id']}"
        if ek not in by_key or rk not in by_key or r["endpoint"] != by_key[ek].endpoint:
            continue
        if r.get("population") == "subgroup" or r.get("population") not in (by_key[ek].population, "overall"):
            continue
        derived = bool(r.get("derived")) and not _missing(r.get("ci_low"))
        rows.append({
            "Comparison": f"{by_key[ek].arm_label} vs {by_key[rk].arm_label} · {by_key[ek].study_label}",
            "Endpoint": r["endpoint"],
            "HR (95% CI)": effect_with_interval(r["hr"], r.get("ci_low"), r.get("ci_high"), r.get("ci_level"),
                                                *((2, DERIVED_MARK) if derived else (None, ""))),
            "p": _text(r.get("p_text")) or NOT_REPORTED,
            "Adjusted for": _text(r.get("adjusted_for")) if r.get("adjusted") else "unadjusted",
            "Source": _text(r.get("location")),
        })
    return pd.DataFrame(rows)


def adverse_event_numbers(matrix_table: pd.DataFrame) -> pd.DataFrame:
    """The heatmap's table without the columns the title and the figure already say (band, organ system)."""
    drop = [c for c in ("Grade band", "Organ system", "Paper's terms") if c in matrix_table.columns]
    return matrix_table.drop(columns=drop).fillna(NOT_REPORTED).reset_index(drop=True)


AE_CONFLICT_NOTE = ("⚠ the paper contradicts itself on this count (a major conflict, or a printed percent that does "
                    "not match the count); * a minor conflict (wording, a detail). The dashboard shows both values "
                    "and where each is printed.")


def adverse_event_sources(store, study_ids) -> dict[str, str]:
    """Where each study prints its adverse-event counts: {study name: 'Table 4; Results'}."""
    ae = store.adverse_events
    out = {}
    for sid in dict.fromkeys(study_ids):
        # 'Table 6, Leukopenia' -> 'Table 6': the table or section, not the row
        locs = [part.split(",")[0].strip() for x in ae[ae.study_id == sid].location.dropna() for part in str(x).split(";")]
        out[study_name(store, sid)] = "adverse events: " + "; ".join(dict.fromkeys(p for p in locs if p))
    return out


def labelled_citations(store, study_ids, where: dict[str, str] | None = None) -> tuple[str, ...]:
    """'Huang 2022 (Retrospective): Huang Y, ... 2022' - the study's name as the tables use it, its design,
    and, where given, where the numbers of this view are printed in it."""
    studies = store.studies.set_index("study_id")
    out: dict[str, list[str]] = {}       # citation -> the studies it stands for
    for sid in dict.fromkeys(study_ids):
        if sid not in studies.index:
            continue
        s = studies.loc[sid]
        name = study_name(store, sid)
        at = f"; {where[name]}" if where and where.get(name) else ""
        citation = _text(s.citation) or "citation not recorded"
        if _text(s.source_kind) == "review":
            # trials known only from one review share its citation: 'BRISK-FL as reported in Gong XL ... (ref [9])'
            citation = citation.split(" as reported in ", 1)[-1].split(" (ref ")[0]
            out.setdefault(f"reported in a review: {citation}", []).append(
                f"{name} ({DESIGN_LABELS.get(s.design, s.design).lower()}{at})")
        else:
            out.setdefault(citation, []).append(f"{name} ({design_label(s.design, 'primary')}{at})")
    return tuple(f"{', '.join(names)}: {citation}" for citation, names in out.items())


def design_line(store, study_ids) -> str:
    """'Retrospective: Sun 2022, Huang 2022. Randomised (reported in a review): BRISK-FL, REACH.'"""
    studies = store.studies.set_index("study_id")
    groups: dict[str, list[str]] = {}
    for sid in dict.fromkeys(study_ids):
        if sid in studies.index:
            s = studies.loc[sid]
            groups.setdefault(design_label(s.design, _text(s.source_kind) or "primary"), []).append(study_name(store, sid))
    return " ".join(f"{design}: {', '.join(names)}." for design, names in groups.items())

