"""The selection of a view in one line ("View: Overall survival · Arms: ..."): shown where the
controls are hidden (presentation mode), so the room sees what the chart is of. Pure."""
from __future__ import annotations

from .links import Choice, Flag, Many

# each parameter as the sidebar names it
PARAM_NAMES = {
    "endpoint": "Endpoint", "arms": "Arms", "studies": "Studies", "design": "Design", "population": "Population",
    "grade": "Grade", "categories": "Organ systems", "sort": "Order", "compare": "Difference between the arms of",
    "comparisons": "Comparisons", "adjusted": "Estimates", "measure": "Response effect", "bands": "95% bands",
}
LONG = 6   # a default selection longer than this is counted, not listed
# a flag of every view that is about the screen, not the selection
_NOT_SELECTION = {"present"}


def selection_summary(state: dict, spec: dict, options: dict, skip=()) -> str:
    """'View: Overall survival | Arms: FOLFOX-HAIC · Huang 2022, Sorafenib · Huang 2022'.

    Every selected value is named in full (nothing elided); an empty or complete multiple
    choice reads 'all'; a flag is named only when on.
    """
    parts = []
    for name, kind in spec.items():
        if name in _NOT_SELECTION or name in skip:
            continue
        value = state.get(name)
        labels = options.get(name, {})
        title = PARAM_NAMES.get(name, name.replace("_", " ").capitalize())
        if isinstance(kind, Many):
            chosen = list(value or [])
            if not chosen or set(chosen) >= set(kind.options):
                text = f"all {len(kind.options)}" if name in ("studies", "arms") else "all"
            elif list(chosen) == list(kind.default) and len(chosen) > LONG:
                # a long default list: the chart names each of them; the line says how many
                text = f"{len(chosen)} of {len(kind.options)} (the default)"
            else:
                text = ", ".join(str(labels.get(v, v)) for v in chosen)
            parts.append(f"{title}: {text}")
        elif isinstance(kind, Flag):
            if value:
                parts.append(title)
        elif isinstance(kind, Choice):
            if name == "endpoint":
                parts.insert(0, str(labels.get(value, value)))
            else:
                parts.append(f"{title}: {labels.get(value, value)}")
    # ' | ' between parameters: arm names themselves contain ' · '
    return "View: " + " | ".join(parts) if parts else ""
