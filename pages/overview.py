"""Landing page: the evidence map first, then every study with links to its views."""
import streamlit as st

from components import chrome

PAGE = "overview"
PLOTLY_CONFIG = chrome.plotly_config("hcc_evidence_map")
store, model, spec = chrome.start(PAGE)
with chrome.error_boundary("The overview"):
    with st.sidebar:
        chrome.presentation_toggle(PAGE)
    params = chrome.write_link(PAGE, spec)
    chrome.header(model, params, store)
    chrome.caveat_line(model)
    st.plotly_chart(model.figures["map"], width="stretch", theme=None, key="overview.map", config=PLOTLY_CONFIG)
    st.caption("Compare what published studies of advanced HCC report, each number traceable to the sentence it "
               "came from. Hover a study for its design, line of therapy, patients and headline effect; open its "
               "views from the table below.")
    if "patient_fit" in model.tables:
        titles = model.texts["table_titles"]
        st.markdown(f"**{chrome.literal(titles['patient_fit'])}**")
        st.dataframe(model.tables["patient_fit"], hide_index=True, width="stretch", key="overview.patient_fit",
                     column_config={"Why": st.column_config.TextColumn(width="large"),
                                    "Patients like this in the study": st.column_config.TextColumn(width="medium"),
                                    "Source sentences": st.column_config.TextColumn(width="large")})
        if "patient_subgroups" in model.tables:
            st.markdown(f"**{chrome.literal(titles['patient_subgroups'])}**")
            st.caption(chrome.literal(model.texts["patient_subgroup_note"]))
            st.dataframe(model.tables["patient_subgroups"], hide_index=True, width="stretch",
                         key="overview.patient_subgroups")
    titles = model.texts["table_titles"]
    st.markdown(f"**{chrome.literal(titles['glance'])}**")
    # narrow columns, links to each study's views: fits 1280 px without scrolling sideways
    st.dataframe(model.tables["glance"], hide_index=True, width="stretch", key="overview.glance",
                 column_config={
                     "Study": st.column_config.TextColumn(width="medium"),
                     "Design": st.column_config.TextColumn(width="medium"),
                     "Line of therapy": st.column_config.TextColumn(width="medium"),
                     "Patients": st.column_config.NumberColumn(width="small", format="%d"),
                     "Headline effect": st.column_config.TextColumn(width="medium"),
                     "Forest": st.column_config.LinkColumn(display_text="open ↗", width="small"),
                     "Survival": st.column_config.LinkColumn(display_text="open ↗", width="small")})
    with st.expander("Details: arms, medians with their CIs, hazard ratios and populations"):
        for kind, table in model.tables.items():
            if kind == "glance" or kind.startswith("patient_"):
                continue
            st.markdown(f"**{chrome.literal(titles[kind])}**")
            st.dataframe(table, hide_index=True, width="stretch", key=f"overview.{kind}",
                         column_config={"Arms (n)": st.column_config.TextColumn(width="medium"),
                                        "Median, months (CI)": st.column_config.TextColumn(width="large"),
                                        "Hazard ratio": st.column_config.TextColumn(width="medium"),
                                        "Population": st.column_config.TextColumn(width="small"),
                                        "Line of therapy": st.column_config.TextColumn(width="small")})
        st.caption("⚠ marks a number the paper contradicts elsewhere; the evidence browser shows both values. "
                   "HR: experimental vs reference; adj. = adjusted estimate.")
