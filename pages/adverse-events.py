"""Adverse events: harmonised terms by organ system x arms, and the two-arm difference view."""
import streamlit as st

from components import chrome

PAGE = "adverse-events"
PLOTLY_CONFIG = chrome.plotly_config("hcc_adverse_events")

store, model, spec = chrome.start(PAGE)
opts, texts, band = model.texts["options"], model.texts, model.state["grade"]
with chrome.error_boundary("The adverse-event view"):
    with st.sidebar:
        st.radio("Grade band", list(opts["grade"]), key=f"{PAGE}.grade", format_func=opts["grade"].get,
                 help="Grade 3-4: the printed 3-4 row, else grade 3 + grade 4 where both are printed. "
                      "Grade 1-2 only where a paper prints that band itself (Liu HepaSphere).")
        st.multiselect("Arms", spec["arms"].options, key=f"{PAGE}.arms", format_func=lambda k: opts["arms"].get(k, k),
                       placeholder="Choose arms", filter_mode="contains")
        chrome.drop_arms_button(PAGE, model)
        st.multiselect("Organ systems", spec["categories"].options, key=f"{PAGE}.categories",
                       format_func=lambda c: opts["categories"].get(c, c), placeholder="All organ systems")
        st.radio("Order within each organ system", list(opts["sort"]), key=f"{PAGE}.sort",
                 format_func=opts["sort"].get,
                 help="Difference: by the risk difference of the study chosen for the difference view.")
        if "compare" in spec:
            st.selectbox("Difference between the two arms of", spec["compare"].options, key=f"{PAGE}.compare",
                         format_func=lambda s: opts["compare"].get(s, s))
        chrome.presentation_toggle(PAGE)
    params = chrome.write_link(PAGE, spec)
    chrome.header(model, params, store)
    chrome.caveat_line(model)
    if "band_note" in texts:
        st.caption(chrome.literal(texts["band_note"]))
    if "heatmap" not in model.figures:
        st.info(chrome.literal(texts["heatmap_empty"]))
    else:
        if texts["unmapped"]:
            st.warning(chrome.literal("Not yet in the harmonised vocabulary (evidence/ae_terms.yaml), shown under the "
                                      "paper's own term: " + ", ".join(f"“{t}”" for t in texts["unmapped"])))
        st.plotly_chart(model.figures["heatmap"], config=PLOTLY_CONFIG, width="content", theme=None,
                        key=f"{PAGE}.heatmap")
        scale = texts["scale_max"]
        st.caption("Cell: % of patients = count / denominator (the printed percent where no count is given). "
                   f"Colour: pale green at 0%, darkening in even steps through teal and blue to deep purple at "
                   f"{'≥' if scale < 100 else ''}{scale:g}% (readable with colour-vision deficiency and in "
                   "greyscale), fixed per grade band so a colour means the same in every view. A white cell in a "
                   "grey frame with a grey **NR**: not reported, not zero. ⚠ marks a recorded conflict or a printed "
                   "percent that disagrees with its count (hover for both). Overall rows (any adverse event) are "
                   "whole-patient summaries, kept apart from the organ systems. The chart's camera button saves an SVG.")
        chrome.exports(model, f"hcc_adverse_events_grade_{band}")
        chrome.csv_button(model.tables["matrix"], "Download this matrix (CSV)",
                          f"hcc_adverse_events_grade_{band}.csv", f"{PAGE}.csv")

    st.subheader("Difference between the two arms of one study")
    compare = model.state.get("compare")
    if "difference" in model.figures:
        config = chrome.plotly_config(f"hcc_ae_difference_{compare}")
        st.plotly_chart(model.figures["difference"], config=config, width="stretch", theme=None,
                        key=f"{PAGE}.difference")
        st.caption("95% intervals are not adjusted for testing many events: about 1 in 20 would exclude zero "
                   "by chance alone. Risk difference with Newcombe's hybrid score 95% interval (no continuity "
                   "correction needed). Within one study; a non-randomised study's difference is not a causal effect.")
        chrome.csv_button(model.tables["differences"], "Download these differences (CSV)",
                          f"hcc_ae_difference_{compare}_grade_{band}.csv", f"{PAGE}.diff_csv")
    elif "difference_empty" in texts:
        st.info(chrome.literal(texts["difference_empty"]))
    if texts.get("not_estimable"):
        st.caption(chrome.literal("No difference for: " + "; ".join(texts["not_estimable"]) + "."))
