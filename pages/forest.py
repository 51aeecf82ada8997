"""Forest plot: hazard ratios and response effects side by side, with their caveats."""
import streamlit as st

from components import chrome
from components.forest import download_config, page_css

PAGE = "forest"
store, model, spec = chrome.start(PAGE)
opts = model.texts["options"]
with chrome.error_boundary("The forest plot"):
    with st.sidebar:
        st.selectbox("Endpoint", spec["endpoint"].options, key="forest.endpoint", format_func=opts["endpoint"].get)
        st.radio("Response effect", list(opts["measure"]), key="forest.measure", horizontal=True,
                 format_func=opts["measure"].get, disabled=not model.texts["is_response"],
                 help="Computed from responder counts of both arms (ORR, DCR only).")
        st.radio("Estimates", list(opts["adjusted"]), key="forest.adjusted", horizontal=True,
                 format_func=opts["adjusted"].get, disabled=model.texts["is_response"],
                 help="Adjusted: from a multivariable model. Response effects are always unadjusted.")
        st.multiselect("Studies", spec["studies"].options, key="forest.studies",
                       format_func=lambda s: opts["studies"].get(s, s), placeholder="Choose studies")
        st.multiselect("Population", list(opts["population"]), key="forest.population",
                       format_func=opts["population"].get, placeholder="All populations")
        st.multiselect("Design", spec["design"].options, key="forest.design",
                       format_func=lambda d: opts["design"].get(d, d), placeholder="All designs")
        st.radio("Comparisons", list(opts["comparisons"]), key="forest.comparisons", horizontal=True,
                 format_func=opts["comparisons"].get, help="Headline: each study's primary comparison.")
        st.radio("Order", list(opts["sort"]), key="forest.sort", horizontal=True, format_func=opts["sort"].get)
        if model.state.get("patient"):
            st.toggle("Hide studies outside the patient profile", key="forest.hide_outside",
                      help="Leaves out the rows of studies whose eligibility criteria exclude this patient (✗).")
        chrome.presentation_toggle(PAGE)
    params = chrome.write_link(PAGE, spec)

    chrome.header(model, params, store, "Forest plot")
    chrome.caveat_line(model)
    note, note_names = model.texts["missing_note"], model.texts["missing_names"]
    if "forest" not in model.figures:
        st.info(chrome.literal(model.texts["empty"]), icon="ℹ️")
    else:
        fig = model.figures["forest"]
        fmt = st.session_state.get("forest.image_format", "svg")
        # the side table keeps its pixel size: below the figure's minimum width the plot scrolls sideways
        st.markdown(page_css(fig, scroll_key="forest-plot-scroll", frame_key="forest-plot-frame",
                             exports_key="forest-exports"), unsafe_allow_html=True)
        with st.container(key="forest-plot-scroll"), st.container(key="forest-plot-frame"):
            st.plotly_chart(fig, width="stretch", theme=None, key="forest.figure",
                            config=download_config(fig, fmt, f"forest_{model.state['endpoint']}"))
    if note:
        st.caption(chrome.literal(note), help=chrome.literal(note_names) if note_names else None)
    if model.texts.get("patient_hidden"):
        st.caption(chrome.literal("Hidden, outside the patient profile: " + ", ".join(model.texts["patient_hidden"])
                                  + "."))
    if "patient_subgroups" in model.tables:
        st.markdown("**Subgroup results of patients like this one**")
        st.caption(chrome.literal(model.texts["patient_subgroup_note"]))
        st.dataframe(model.tables["patient_subgroups"], hide_index=True, width="stretch", key="forest.patient_subgroups")
    if "rows" in model.tables:
        table = model.tables["rows"]
        st.caption("Hover a marker, a study or an estimate for the source sentence"
                   + ("" if model.texts["is_response"] else ", an adjustment for its full list of covariates")
                   + ". The full-screen button at the plot's top right enlarges it.")
        st.radio("The camera button (top right of the plot) saves", ["svg", "png"], key="forest.image_format",
                 horizontal=True, format_func=lambda f: f"{f.upper()} image")
        with st.container(key="forest-exports"):
            chrome.exports(model, f"hcc_forest_{model.state['endpoint']}")
            chrome.csv_button(table, "Rows shown (CSV)", f"hcc_forest_{model.state['endpoint']}.csv", "forest.csv")
        with st.expander(f"The {len(table)} rows shown, with their source sentences"):
            st.dataframe(table, hide_index=True, width="stretch", key="forest.table",
                         column_config={"Snippet": st.column_config.TextColumn(width="large")})
