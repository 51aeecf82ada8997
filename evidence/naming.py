"""One naming of studies, arms, designs, endpoints and populations, as a clinician
reads them. Every page, table, figure and export takes its names from here.
"""
from __future__ import annotations

DESIGN_LABELS = {
    "randomised": "Randomised",
    "prospective_single_arm": "Prospective single-arm",
    "prospective": "Prospective non-randomised",
    "retrospective": "Retrospective",
    "propensity_matched": "Retrospective, propensity-matched",
    "meta_analysis": "Meta-analysis",
}
# the design column of the forest plot's side table, where room is short
SHORT_DESIGN = {
    "randomised": "RCT", "prospective": "Prospective", "prospective_single_arm": "Single-arm",
    "retrospective": "Retrospective", "propensity_matched": "Retro., PSM", "meta_analysis": "Meta-analysis",
}
ENDPOINT_LABELS = {
    "OS_median": "Median OS", "PFS_median": "Median PFS", "TTP_median": "Median TTP",
    "DFS_median": "Median DFS", "OS_rate": "OS rate", "PFS_rate": "PFS rate", "TTP_rate": "TTP rate",
    "DFS_rate": "DFS rate", "ORR": "ORR", "DCR": "DCR", "CR": "CR", "PR": "PR", "SD": "SD", "PD": "PD",
    "OS_events": "Deaths", "PFS_events": "PFS events", "TTP_events": "Progressions",
    "DFS_events": "DFS events", "followup_median": "Median follow-up",
}
ENDPOINT_TITLES = {
    "OS": "Overall survival (OS)",
    "PFS": "Progression-free survival (PFS)",
    "TTP": "Time to progression (TTP)",
    "DFS": "Disease-free survival (DFS)",
    "ORR": "Objective response rate (ORR)",
    "DCR": "Disease control rate (DCR)",
}
POPULATION_LABELS = {
    "overall": "Overall", "matched": "Propensity-matched cohort", "unmatched": "Unmatched cohort",
    "subgroup": "Subgroup", "per_protocol": "Per protocol",
}

# a bounded value as printed: '< 7.2%'
QUALIFIER_SIGNS = {"<": "< ", "<=": "≤ ", ">": "> ", ">=": "≥ "}


def design_label(design: str, source_kind: str = "primary") -> str:
    label = DESIGN_LABELS.get(design, design)
    return f"{label} (reported in a review)" if source_kind == "review" else label


def study_labels(store) -> dict[str, str]:
    """Study names a clinician can tell apart: 'Sun 2022', 'BRISK-FL'.

    Where the store has no author or trial name the id is made readable
    ('tivantinib_phase2' -> 'Tivantinib phase2'); where two studies would read
    the same ('Liu' the cohort, 'Liu' the meta-analysis) the experimental
    regimen, else the design, is added. Built once per store.
    """
    cached = store.__dict__.get("_study_labels")
    if cached is not None:
        return cached
    labels = {}
    citations = dict(zip(store.studies.study_id, store.studies.citation))
    for sid in store.studies.study_id:
        name = store.study_label(sid)
        if name == sid:
            # a review-reported trial without a name: the words of its citation, else the id made readable
            cite = citations.get(sid)
            name = cite.split(" as reported in")[0].strip() if isinstance(cite, str) and cite.strip() else ""
        if not name or name == sid:
            name = sid.replace("_", " ")
            name = name[:1].upper() + name[1:]
        labels[sid] = name
    counts: dict[str, int] = {}
    for name in labels.values():
        counts[name] = counts.get(name, 0) + 1
    s = store.studies.set_index("study_id")
    for sid, name in labels.items():
        if counts[name] > 1:
            pc = s.loc[sid, "primary_comparison"] if "primary_comparison" in s.columns else None
            hint = (store.arm_label(sid, pc[0]).split(" (")[0] if isinstance(pc, list) and pc
                    else SHORT_DESIGN.get(s.loc[sid, "design"], s.loc[sid, "design"]).lower())
            labels[sid] = f"{name} ({hint})"
    store.__dict__["_study_labels"] = labels
    return labels


def study_name(store, study_id: str) -> str:
    """The study's one display name (see study_labels)."""
    return study_labels(store).get(study_id, study_id)


# Regimen families as clinicians name them, keyed by the paper's own arm label (upper case,
# spaces squeezed). The same regimen is "FOLFOX-HAIC" in one paper and "HAIC-FOLFOX" in
# another; one display label lets a tumor board see it is the same thing. A label not
# listed here is shown as the paper prints it. The paper's label is never lost: it is kept
# in the store, shown in the evidence browser, on hover and in every selection widget.
REGIMEN_FAMILIES = {
    "FOLFOX-HAIC": "FOLFOX-HAIC",
    "HAIC-FOLFOX": "FOLFOX-HAIC",
    "HAIC FOLFOX": "FOLFOX-HAIC",
    "FOLFOX HAIC": "FOLFOX-HAIC",
    # HepaSphere DEB-TACE followed by HAIC: a different regimen, named without the words
    # "HAIC-FOLFOX" so that typing them never picks it up by a substring
    "HEPA-HAIC (HEPASPHERE DEB-TACE + HAIC-FOLFOX)": "DEB-TACE (HepaSphere) + HAIC",
    "SORAFENIB + TACE-HAIC (FOLFOX)": "Sorafenib + TACE + FOLFOX-HAIC",
}
# the paper's short name of an arm, where its label adds a long explanation in brackets
_SHORT = {"HEPA-HAIC (HEPASPHERE DEB-TACE + HAIC-FOLFOX)": "Hepa-HAIC"}


def _key(label: str) -> str:
    return " ".join(str(label).upper().split())


def regimen_label(paper_label: str) -> str:
    """The display label of a regimen family ('HAIC-FOLFOX' -> 'FOLFOX-HAIC'); unknown labels unchanged."""
    return REGIMEN_FAMILIES.get(_key(paper_label), paper_label)


def paper_short_label(paper_label: str) -> str:
    """The paper's own name of an arm, without a bracketed explanation where one is known."""
    return _SHORT.get(_key(paper_label), paper_label)


def arm_option_text(display: str, paper_label: str) -> str:
    """Text of an arm in a selection widget: the display name, then the paper's own label where it
    differs, so typing either finds the arm ('FOLFOX-HAIC · Liu (Hepa-HAIC) · paper: HAIC-FOLFOX')."""
    short = paper_short_label(paper_label)
    return display if short == regimen_label(paper_label) else f"{display} · paper: {short}"


def arm_name(store, study_id: str, arm_id: str) -> str:
    """'FOLFOX-HAIC · Huang 2022': an arm named with its study, the same on every page."""
    return f"{store.arm_label(study_id, arm_id)} · {study_name(store, study_id)}"

# Adverse events. Organ-system categories in display order: (URL slug, label used in
# ae_terms.yaml). "Overall" is not an organ system: whole-patient summaries, drawn apart on top.
AE_CATEGORIES: list[tuple[str, str]] = [
    ("overall", "Overall"),
    ("blood", "Blood and lymphatic"),
    ("liver", "Liver and bile"),
    ("gi", "Gastrointestinal"),
    ("skin", "Skin"),
    ("nervous", "Nervous system"),
    ("general", "General"),
    ("vascular", "Vascular"),
    ("metabolism", "Metabolism and nutrition"),
    ("renal", "Renal and urinary"),
    ("cardiac", "Cardiac"),
    ("respiratory", "Respiratory"),
    ("infections", "Infections"),
    ("procedure", "Procedure and device"),
]
AE_OVERALL = "Overall"
AE_UNMAPPED = "Not yet harmonised"   # shown, never dropped, until ae_terms.yaml maps the term
AE_BANDS: dict[str, str] = {
    "3-4": "Grade 3-4",
    "any": "Any grade",
    "1-2": "Grade 1-2 (only where printed as such)",
    "moderate-severe": "Moderate or severe (as printed; includes grade 2)",
}
