"""Forest plot: hazard ratios and response effects side by side, with their caveats."""
from __future__ import annotations

from components.forest import forest_figure
from evidence.naming import DESIGN_LABELS, ENDPOINT_TITLES, POPULATION_LABELS, study_labels

from . import brief_tables as bt
from . import forest_rows as fr
from . import patient as pt
from .certainty import sof_for_rows
from .links import Choice, Flag, Many
from .model import PRESENT, Brief, ViewModel, font_size

PATH = "forest"
ENDPOINTS = ["OS", "PFS", "TTP", "survival", "ORR", "DCR"]
ENDPOINT_NAMES = {**ENDPOINT_TITLES, "survival": "All survival endpoints (OS, PFS, TTP)"}
MEASURES = {"RR": "Risk ratio", "RD": "Risk difference"}
ADJUSTMENTS = {"both": "Both", "adjusted": "Adjusted", "unadjusted": "Unadjusted"}
COMPARISONS = {"headline": "Headline", "all": "All recorded"}
SORTS = {"listed": "As listed", "effect": "By effect"}
CAVEAT = ("Rows from different studies are not randomised comparisons: designs, populations, lines of therapy "
          "and response criteria differ, and most studies here are retrospective. Only rows within one study "
          "compare randomised or matched arms.")


def spec(store) -> dict:
    designs = sorted(store.studies.design.unique()) if len(store.studies) else []
    return {
        "endpoint": Choice(ENDPOINTS, "OS", aliases={"all": "survival", "orr": "ORR", "dcr": "DCR"}),
        "measure": Choice(list(MEASURES), "RR"),
        "design": Many(designs, []),
        "adjusted": Choice(list(ADJUSTMENTS), "both"),
        "population": Many(list(POPULATION_LABELS), ["overall", "matched"]),
        "studies": Many(list(store.studies.study_id), fr.default_studies(store)),
        "comparisons": Choice(list(COMPARISONS), "headline"),
        "sort": Choice(list(SORTS), "listed"),
        "hide_outside": Flag(False),   # with a patient profile: leave out studies whose criteria exclude the patient
        "present": PRESENT,
    }


def build(state: dict, store, params: dict) -> ViewModel:
    endpoint, measure = state["endpoint"], state["measure"]
    is_response = endpoint in fr.RESPONSE_ENDPOINTS
    if is_response:
        endpoints = (endpoint,)
        rows = fr.response_rows(store, endpoint, measure, studies=state["studies"], designs=state["design"],
                                populations=state["population"], comparisons=state["comparisons"], sort=state["sort"])
    else:
        endpoints = fr.SURVIVAL_ENDPOINTS if endpoint == "survival" else (endpoint,)
        rows = fr.hazard_ratio_rows(store, endpoints, studies=state["studies"], designs=state["design"],
                                    adjustment=state["adjusted"], populations=state["population"],
                                    comparisons=state["comparisons"], sort=state["sort"])
    # selected studies without a row for this endpoint: 'No PFS hazard ratio reported by: Sun 2022 (reports TTP)'
    note, note_names = fr.missing_rows_note(store, rows, endpoints, state["studies"], state["design"],
                                            measure=measure if is_response else "HR")
    # after the note: a study hidden for the patient is named apart, not as 'no row'
    profile = pt.profile_of(state)
    hidden_outside = []
    if profile:
        rows, hidden_outside = _patient_rows(rows, store, profile, state.get("hide_outside", False))
    measure_name = {"RR": "risk ratios", "RD": "risk differences"}[measure] if is_response else "hazard ratios"
    title = f"{ENDPOINT_NAMES[endpoint]}: {measure_name}"
    texts = {"missing_note": note, "missing_names": note_names, "is_response": is_response,
             "options": {"endpoint": ENDPOINT_NAMES, "measure": MEASURES, "adjusted": ADJUSTMENTS,
                         "comparisons": COMPARISONS, "sort": SORTS, "population": POPULATION_LABELS,
                         "studies": study_labels(store),
                         "design": {d: DESIGN_LABELS.get(d, d) for d in spec(store)["design"].options}}}
    figures, tables, brief = {}, {}, None
    if rows.empty:
        what = "response counts for both arms" if is_response else "hazard ratios"
        texts["empty"] = (f"No {what} match these filters ({ENDPOINT_NAMES[endpoint]}). Widen the study, design "
                          "or population choice.")
    else:
        pooled, reason = fr.pooling(rows)
        figures["forest"] = forest_figure(rows, pooled, reason, title=title, font_size=font_size(state))
        table = fr.rows_table(rows)
        tables["rows"] = table
        texts["pooling"] = reason
        if profile:
            table.insert(2, "Patient", rows["patient_mark"].to_numpy())
            table.insert(3, "Patient: why", rows["patient_why"].to_numpy())
        cites = tuple(c for c in store.studies[store.studies.study_id.isin(set(rows.study_id))].citation
                      if isinstance(c, str))
        # the summary of findings of the hazard ratios shown: certainty and absolute effects travel with the plot
        # the brief is one page: certainty is a column of its key numbers; the absolute effects of the
        # comparisons that have one follow as a short section (the reasons are on the page)
        sof = sof_for_rows(store, rows) if not is_response else None
        if sof is not None and len(sof):
            sof = sof[~sof["At 12 months"].astype(str).str.startswith("no baseline")]
        sof = (("Absolute effect at 12 months (proportional hazards)",
                sof[["Study", "Outcome", "At 12 months"]].reset_index(drop=True)),) if sof is not None and len(sof) else ()
        brief = Brief(title=title, figure="forest", key_numbers=bt.forest_numbers(table), citations=cites,
                      caveats=tuple(c for c in (CAVEAT, reason) if c), sources=bt.labelled_citations(store, rows.study_id),
                      design=bt.design_line(store, rows.study_id), notes=tuple(bt.forest_notes(table)), sections=sof)
    if profile:
        texts["patient_hidden"] = hidden_outside
        subgroups = pt.subgroup_table(store, profile)
        shown = set(state["studies"])
        keep = subgroups["study_id"].isin(shown) & subgroups["Endpoint"].map(
            lambda e: e.split(" ")[0] in endpoints)
        if keep.any():
            tables["patient_subgroups"] = subgroups[keep].drop(columns=["study_id"]).reset_index(drop=True)
            texts["patient_subgroup_note"] = pt.SUBGROUP_NOTE
    return ViewModel(page="forest", path=PATH, state=state, params=params, title=title, figures=figures,
                     tables=tables, caveats=(CAVEAT,), texts=texts, brief=brief)


def _patient_rows(rows, store, profile: dict, hide_outside: bool):
    """Each row marked within / outside / unclear for the patient (the why on hover); with
    hide_outside, rows of studies outside the profile are left out (named in the returned list)."""
    verdicts, reasons = pt.verdicts(store, profile), pt.reasons_of(store, profile)
    if rows.empty:
        return rows, []
    rows = rows.assign(patient_fit=[verdicts.get(s, "unclear") for s in rows["study_id"]],
                       patient_why=["; ".join(reasons.get(s, [])) for s in rows["study_id"]])
    rows = rows.assign(patient_mark=rows["patient_fit"].map(pt.MARKS))
    hidden = []
    if hide_outside:
        out = rows["patient_fit"] == "outside"
        hidden = list(dict.fromkeys(rows.loc[out, "study"]))
        rows = rows[~out].reset_index(drop=True)
    return rows, hidden
