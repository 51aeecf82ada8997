"""Adverse events: harmonised terms by organ system x arms, and the two-arm difference view."""
import streamlit as st

from components.navigation import ensure_app_navigation

ensure_app_navigation()

from components.ae_heatmap import (SCALE_MAX, ae_heatmap, arm_plain_label, difference_figure, difference_table,
                                   matrix_table, study_title)
from components.overview import study_name
from components.store_access import get_store, show_store_problems
from components.tables import to_csv_bytes
from components.url_state import Choice, Many, write_view
from components.view_chrome import PRESENT, figure_exports, figure_font_size, open_view, share_bar
from evidence.ae_matrix import (BANDS, CATEGORIES, CATEGORY_LABELS, SORTS, arm_key, arm_order, build_matrix,
                                default_arm_keys, study_differences, two_arm_comparisons)

PAGE = "ae"
# SVG from the chart's camera button: vector, sharp on a projector and in slides
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
                 "toImageButtonOptions": {"format": "svg", "filename": "hcc_adverse_events"}}

store = get_store()
st.title("Adverse events")
show_store_problems(store)

comparisons = two_arm_comparisons(store)
compare_ids = list(comparisons)
SPEC = {
    "arms": Many(arm_order(store), default_arm_keys(store)),
    "grade": Choice(list(BANDS), "3-4", aliases={"3/4": "3-4", "34": "3-4", "all": "any", "1/2": "1-2"}),
    "categories": Many([slug for slug, _ in CATEGORIES], []),
    "sort": Choice(list(SORTS), "frequency"),
    "present": PRESENT,
}
if compare_ids:
    # the richest two-arm table is the one a tumor board asks about first
    SPEC["compare"] = Choice(compare_ids, "huang2022" if "huang2022" in compare_ids else compare_ids[0])
view = open_view(st, PAGE, SPEC)

# Huang 2022 tabulates only events in at least 10% of patients (Table 4, footnote b)
threshold = (f" ({study_title(store, 'huang2022')} lists only events in ≥10% of patients)"
             if "huang2022" in set(store.studies.study_id) else "")
st.warning("Columns from different studies are **not a randomised comparison**: populations, CTCAE versions "
           f"and reporting thresholds differ{threshold}. **NR** means the paper does not print the event for "
           "that arm at this grade band, which is not the same as zero.", icon="⚠️")

# Presentation mode: the controls fold away under a one-line summary, so that on the
# meeting-room screen the heatmap, not the arm chips, fills the first view.
if view["present"]:
    shown = ", ".join(CATEGORY_LABELS[c] for c in view["categories"]) or "all organ systems"
    n_arms = len(view["arms"])
    controls = st.expander(f"View: {BANDS[view['grade']]} · {n_arms} arm{'' if n_arms == 1 else 's'} · {shown}",
                           expanded=False)
else:
    controls = st.container()
with controls:
    c1, c2 = st.columns([2, 3])
    band = c1.radio("Grade band", list(BANDS), key=f"{PAGE}.grade", format_func=BANDS.get, horizontal=True,
                    help="Grade 3-4: the printed 3-4 row, else grade 3 + grade 4 where both are printed. "
                         "Grade 1-2 only where a paper prints that band itself (Liu HepaSphere).")
    sort = c2.radio("Order within each organ system", list(SORTS), key=f"{PAGE}.sort", format_func=SORTS.get,
                    horizontal=True, help="Difference: by the risk difference of the study chosen under "
                                          "'Difference between the two arms of one study'.")
    arms = st.multiselect("Arms", SPEC["arms"].options, key=f"{PAGE}.arms",
                          format_func=lambda k: arm_plain_label(store, k), placeholder="Choose arms")
    categories = st.multiselect("Organ systems", SPEC["categories"].options, key=f"{PAGE}.categories",
                                format_func=CATEGORY_LABELS.get, placeholder="All organ systems")
# Layout order: presentation toggle and link (under the controls, as on every page),
# heatmap, difference view. Every widget runs on every rerun, before write_view
# writes the link: the difference study's box, drawn further down, is created
# here through its container (a widget skipped in a run loses its state, and its
# link value), then the toggle, then the link from all of them.
chrome_area = st.container()
heat_area = st.container()
diff_area = st.container()
compare = None
if compare_ids:
    diff_area.subheader("Difference between the two arms of one study")
    compare = diff_area.selectbox("Study", compare_ids, key=f"{PAGE}.compare",
                                  format_func=lambda s: study_name(store, s))
with chrome_area:
    present = st.toggle("Presentation mode", key=f"{PAGE}.present",
                        help="larger type, no sidebar: for the meeting-room screen")
    share_bar(st, "adverse-events", write_view(st, PAGE, SPEC), key=PAGE)
font_size = figure_font_size(present)

cat_labels = [CATEGORY_LABELS[c] for c in categories]
pair = None
if compare in comparisons:
    e, r = comparisons[compare]
    pair = (arm_key(compare, e), arm_key(compare, r))

with heat_area:
    if band == "1-2":
        st.info("Grade 1-2 is shown only where the paper prints grade 1-2 itself; every other cell is NR.",
                icon="ℹ️")
    matrix = build_matrix(store, arms, band, cat_labels, sort, compare=pair) if arms else None
    if matrix is None:
        st.info("Choose at least one arm.")
    elif matrix.rows.empty:
        st.info("No adverse event is reported for these arms at this grade band.")
    else:
        if matrix.unmapped:
            st.warning("Not yet in the harmonised vocabulary (evidence/ae_terms.yaml), shown under the paper's "
                       "own term: " + ", ".join(f"“{t}”" for t in matrix.unmapped))
        heatmap = ae_heatmap(matrix, store, font_size=font_size)
        st.plotly_chart(heatmap, config=PLOTLY_CONFIG, width="content", theme=None, key=f"{PAGE}.heatmap")
        st.caption("Cell: % of patients = count / denominator (the printed percent where no count is given). "
                   f"Colour: pale green at 0%, darkening in even steps through teal and blue to deep purple at "
                   f"{'≥' if SCALE_MAX[band] < 100 else ''}{SCALE_MAX[band]:g}% (readable with colour-vision "
                   "deficiency and in greyscale), fixed per grade band so a colour means the same in every view. "
                   "A white cell in a grey frame with a grey **NR**: not reported, not zero. "
                   "⚠ marks a recorded conflict or a printed percent that disagrees with its count (hover for "
                   "both). Overall rows (any adverse event) are whole-patient summaries, kept apart from the "
                   "organ systems. The chart's camera button saves an SVG.")
        st.download_button("Download this matrix (CSV)", to_csv_bytes(matrix_table(matrix, store)),
                           file_name=f"hcc_adverse_events_grade_{band}.csv", mime="text/csv", key=f"{PAGE}.csv")
        figure_exports(st, heatmap, name=f"hcc_adverse_events_grade_{band}", key=f"{PAGE}.heatmap",
                       store=store, study_ids={a.split(":")[0] for a in arms},
                       key_numbers=matrix_table(matrix, store), title=f"Adverse events, grade {band}",
                       caveats=["Columns from different studies are not a randomised comparison: populations, "
                                "CTCAE versions and reporting thresholds differ.",
                                "NR: the paper does not report the event for that arm at this grade band; "
                                "not the same as zero."],
                       page_path="adverse-events", params=st.query_params.to_dict())

with diff_area:
    if not compare_ids:
        st.subheader("Difference between the two arms of one study")
        st.info("No two-arm study reports adverse events in both arms yet.")
    else:
        diffs = study_differences(store, compare, band, cat_labels, sort)
        if diffs.table.empty:
            st.info("No term has a count in both arms at this grade band.")
        else:
            config = {**PLOTLY_CONFIG, "toImageButtonOptions": {"format": "svg",
                                                                "filename": f"hcc_ae_difference_{compare}"}}
            st.plotly_chart(difference_figure(diffs, store, font_size=font_size), config=config, width="stretch", theme=None,
                            key=f"{PAGE}.difference")
            st.caption("95% intervals are not adjusted for testing many events: about 1 in 20 would exclude zero "
                       "by chance alone.")
            st.caption("Risk difference with Newcombe's hybrid score 95% interval (no continuity correction "
                       "needed). Within one study; a non-randomised study's difference is not a causal effect.")
            st.download_button("Download these differences (CSV)", to_csv_bytes(difference_table(diffs, store)),
                               file_name=f"hcc_ae_difference_{compare}_grade_{band}.csv", mime="text/csv",
                               key=f"{PAGE}.diff_csv")
        if diffs.not_estimable:
            st.caption("No difference for: " + "; ".join(diffs.not_estimable) + ".")
