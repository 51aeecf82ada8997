"""Evidence browser: every value with its snippet, location and conflicts, filtered by the link."""
from __future__ import annotations

import pandas as pd

from components.tables import format_value
from evidence.display import display_snippet
from evidence.sources import default_sources_dir, source_text
from evidence.naming import DESIGN_LABELS, ENDPOINT_LABELS, POPULATION_LABELS, design_label, study_name

from . import conflicts
from .links import Many
from .model import PRESENT, ViewModel

PATH = "evidence"

ENDPOINT_GROUPS = {
    "OS": ["OS_median", "OS_rate", "OS_events"],
    "PFS": ["PFS_median", "PFS_rate", "PFS_events"],
    "TTP": ["TTP_median", "TTP_rate", "TTP_events"],
    "DFS": ["DFS_median", "DFS_rate", "DFS_events"],
    "Response": ["ORR", "DCR", "CR", "PR", "SD", "PD"],
    "Follow-up": ["followup_median"],
}
HR_GROUPS = {"OS": ["OS"], "PFS": ["PFS"], "TTP": ["TTP"], "DFS": ["DFS"], "Response": [], "Follow-up": []}


def _source_of(store, study_id: str) -> str | None:
    """The paper's text of a study, where the seed texts are at hand (display only)."""
    cache = store.__dict__.setdefault("_display_sources", {})
    if study_id not in cache:
        folder = default_sources_dir()
        files = dict(zip(store.studies.study_id, store.studies.source_file))
        name = files.get(study_id)
        cache[study_id] = source_text(folder, name) if folder is not None and isinstance(name, str) else None
    return cache[study_id]


def shown_snippet(store, study_id: str, snippet) -> str:
    """The snippet from a word boundary with hyphenated line breaks joined; the store keeps it verbatim."""
    if not isinstance(snippet, str):
        return ""
    return display_snippet(snippet, _source_of(store, study_id))


def _provenance(store, r: dict) -> dict:
    """The columns every row of the browser carries: its conflicts, where it stands, its sentence."""
    return {"Conflict": conflicts.text(r["conflict_ids"], store.conflicts, r.get("evidence_file"), " "),
            "Location": r["location"], "Snippet": shown_snippet(store, r["study_id"], r["snippet"]),
            "study_id": r["study_id"]}


def _filter_studies(store, studies, designs):
    st = store.studies
    if studies:
        st = st[st.study_id.isin(studies)]
    if designs:
        st = st[st.design.isin(designs)]
    return set(st.study_id)


def outcome_rows(store, studies=None, designs=None, endpoint_groups=None, populations=None) -> pd.DataFrame:
    keep = _filter_studies(store, studies, designs)
    o = store.outcomes[store.outcomes.study_id.isin(keep)]
    if endpoint_groups:
        eps = [e for g in endpoint_groups for e in ENDPOINT_GROUPS.get(g, [])]
        o = o[o.endpoint.isin(eps)]
    if populations:
        o = o[o.population.isin(populations)]
    rows = []
    for r in o.to_dict("records"):
        rows.append({
            "Study": study_name(store, r["study_id"]),
            "Arm": store.arm_label(r["study_id"], r["arm_id"]) if isinstance(r["arm_id"], str) else "whole cohort",
            "Endpoint": ENDPOINT_LABELS.get(r["endpoint"], r["endpoint"])
            + (f" at {r['timepoint_months']:g} mo" if pd.notna(r.get("timepoint_months")) else ""),
            "Value": format_value(r),
            "Reported as": r["reported_name"],
            "Criteria": r["criteria"] if isinstance(r["criteria"], str) else "",
            "Population": r["population"] + (f": {r['subgroup']}" if isinstance(r.get("subgroup"), str) else ""),
            "Derived": r["formula"] if r["derived"] else "",
            **_provenance(store, r), "arm_id": r["arm_id"], "endpoint": r["endpoint"],
        })
    return pd.DataFrame(rows, columns=[
        "Study", "Arm", "Endpoint", "Value", "Conflict", "Snippet", "Location", "Reported as", "Criteria",
        "Population", "Derived", "study_id", "arm_id", "endpoint"])


def hazard_ratio_rows(store, studies=None, designs=None, endpoint_groups=None, populations=None) -> pd.DataFrame:
    keep = _filter_studies(store, studies, designs)
    h = store.hazard_ratios[store.hazard_ratios.study_id.isin(keep)]
    if endpoint_groups:
        h = h[h.endpoint.isin([e for g in endpoint_groups for e in HR_GROUPS.get(g, [])])]
    if populations:
        h = h[h.population.isin(populations)]
    rows = []
    for r in h.to_dict("records"):
        level = round(100 * r["ci_level"])
        ci = f" ({level}% CI {r['ci_low']:g}-{r['ci_high']:g})" if pd.notna(r["ci_low"]) else ""
        rows.append({
            "Study": study_name(store, r["study_id"]),
            "Comparison": f"{store.arm_label(r['study_id'], r['experimental_arm_id'])} vs "
                          f"{store.arm_label(r['study_id'], r['reference_arm_id'])}",
            "Endpoint": r["endpoint"],
            "HR": f"{r['hr']:g}{ci}",
            "p": r["p_text"] or "",
            "Adjusted for": r["adjusted_for"] if r["adjusted"] else "unadjusted",
            "Population": r["population"] + (f": {r['subgroup']}" if isinstance(r.get("subgroup"), str) else ""),
            **_provenance(store, r),
        })
    return pd.DataFrame(rows, columns=["Study", "Comparison", "Endpoint", "HR", "p", "Adjusted for",
                                       "Conflict", "Snippet", "Location", "Population", "study_id"])


def adverse_event_rows(store, studies=None, designs=None) -> pd.DataFrame:
    keep = _filter_studies(store, studies, designs)
    a = store.adverse_events[store.adverse_events.study_id.isin(keep)]
    rows = []
    for r in a.to_dict("records"):
        pct = f"{r['percent']:g}%" if pd.notna(r["percent"]) else ""
        n = f"{int(r['count'])}/{int(r['denominator'])}" if pd.notna(r["count"]) and pd.notna(r["denominator"]) else (
            f"{int(r['count'])}" if pd.notna(r["count"]) else "")
        rows.append({
            "Study": study_name(store, r["study_id"]),
            "Arm": store.arm_label(r["study_id"], r["arm_id"]),
            "Term (paper)": r["term_reported"],
            "Term (harmonised)": r["term"] or "",
            "Grade": r["grade"],
            "n/N": n, "%": pct,
            "Derived": r["formula"] if r["derived"] else "",
            **_provenance(store, r),
        })
    return pd.DataFrame(rows, columns=["Study", "Arm", "Term (paper)", "Term (harmonised)", "Grade", "n/N", "%",
                                       "Conflict", "Snippet", "Location", "Derived", "study_id"])


def conflict_rows(store, studies=None, designs=None) -> pd.DataFrame:
    keep = _filter_studies(store, studies, designs)
    c = store.conflicts[store.conflicts.study_id.isin(keep)]
    rows = []
    for r in c.to_dict("records"):
        rows.append({
            "Study": study_name(store, r["study_id"]),
            "Kind": r["kind"].replace("_", " "),
            "Conflict": r["description"],
            "Values": " vs ".join(str(v) for v in r["values"]),
            "Where": " | ".join(f"{loc}: “{snip}”" for loc, snip in zip(r["locations"], r["snippets"])),
            "Views use": r["resolution"],
            "study_id": r["study_id"],
        })
    return pd.DataFrame(rows, columns=["Study", "Kind", "Conflict", "Values", "Where", "Views use", "study_id"])


def study_rows(store, studies=None, designs=None) -> pd.DataFrame:
    keep = _filter_studies(store, studies, designs)
    rows = []
    for s in store.studies[store.studies.study_id.isin(keep)].to_dict("records"):
        for a in store.arms[store.arms.study_id == s["study_id"]].to_dict("records"):
            rows.append({
                "Study": study_name(store, s["study_id"]),
                "Design": design_label(s["design"], s["source_kind"]),
                "Arm": a["label"], "n": a["n"],
                # what a hand-made link needs: /survival?arms=huang2022:sorafenib
                "Id in links": f"{s['study_id']}:{a['arm_id']}",
                "Route": a["route"], "Regimen": a["regimen"],
                "Citation": s["citation"], "study_id": s["study_id"],
            })
    return pd.DataFrame(rows, columns=["Study", "Design", "Arm", "n", "Id in links", "Route", "Regimen", "Citation",
                                       "study_id"])


CAVEAT = ("Numbers of different studies side by side are not a randomised comparison: designs, populations, "
          "lines of therapy and response criteria differ.")
# tab key -> (tab title, rows)
TABS = {
    "outcomes": ("Outcomes", lambda store, v: outcome_rows(store, v["studies"], v["design"], v["endpoint"], v["population"])),
    "hazard_ratios": ("Hazard ratios", lambda store, v: hazard_ratio_rows(store, v["studies"], v["design"], v["endpoint"],
                                                                          v["population"])),
    "adverse_events": ("Adverse events", lambda store, v: adverse_event_rows(store, v["studies"], v["design"])),
    "conflicts": ("Conflicts", lambda store, v: conflict_rows(store, v["studies"], v["design"])),
    "studies_and_arms": ("Studies and arms", lambda store, v: study_rows(store, v["studies"], v["design"])),
    # how each comparison was made, and the curator's risk-of-bias judgement of it (views.certainty)
    "design_details": ("Design details", lambda store, v: design_rows(store, v["studies"], v["design"])),
    "risk_of_bias": ("Risk of bias (curator's judgement)",
                     lambda store, v: risk_of_bias_rows(store, v["studies"], v["design"])),
}


def design_rows(store, studies=None, designs=None) -> pd.DataFrame:
    from .certainty import design_table
    keep = _filter_studies(store, studies, designs)
    return design_table(store, [s for s in store.studies.study_id if s in keep])


def risk_of_bias_rows(store, studies=None, designs=None) -> pd.DataFrame:
    from .certainty import risk_of_bias_records
    return risk_of_bias_records(store, _filter_studies(store, studies, designs))


def spec(store) -> dict:
    return {
        "studies": Many(list(store.studies.study_id), []),
        "design": Many(sorted(store.studies.design.unique()) if len(store.studies) else [], []),
        "endpoint": Many(list(ENDPOINT_GROUPS), []),
        "population": Many(list(POPULATION_LABELS), []),
        "present": PRESENT,
    }


def build(state: dict, store, params: dict) -> ViewModel:
    tables, titles = {}, {}
    for key, (title, rows) in TABS.items():
        tables[key] = rows(store, state)
        titles[key] = title
    options = {
        "studies": {s: study_name(store, s) for s in store.studies.study_id},
        "design": {d: DESIGN_LABELS.get(d, d) for d in spec(store)["design"].options},
        "population": dict(POPULATION_LABELS),
    }
    return ViewModel(page="evidence", path=PATH, state=state, params=params, title="Evidence browser",
                     tables=tables, caveats=(CAVEAT,), texts={"tab_titles": titles, "options": options})
