"""Landing page: what the dashboard is for and the studies at a glance."""
import streamlit as st

from components.navigation import ensure_app_navigation

ensure_app_navigation()

from components import chrome  # noqa: E402
from components.store_access import get_store  # noqa: E402

PAGE = "overview"
store = get_store()
model, spec = chrome.open_view(PAGE, store)
with chrome.error_boundary("The overview"):
    with st.sidebar:
        chrome.presentation_toggle(PAGE)
    params = chrome.write_link(PAGE, spec)
    chrome.header(model, params, store)
    st.markdown(
        "Compare what published studies of advanced HCC report: survival, response, hazard ratios and "
        "adverse events, each number traceable to the sentence it came from. Prepared for tumor boards: "
        "pick a view, copy its link, and everyone opens the same view.")
    st.warning(chrome.literal(model.caveats[0]), icon="⚠️")
    cols = st.columns(4)
    cols[0].page_link("pages/forest.py", label="Forest plot: hazard ratios and response effects",
                      icon=":material/insights:")
    cols[1].page_link("pages/survival.py", label="Survival curves: reconstructed Kaplan-Meier",
                      icon=":material/show_chart:")
    cols[2].page_link("pages/adverse-events.py", label="Adverse events: grade 3-4 and any grade",
                      icon=":material/grid_on:")
    cols[3].page_link("pages/evidence.py", label="Evidence browser: every number with its sentence",
                      icon=":material/search:")
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
    for kind, table in model.tables.items():
        if kind.startswith("patient_"):
            continue
        st.markdown(f"**{chrome.literal(model.texts['table_titles'][kind])}**")
        st.dataframe(table, hide_index=True, width="stretch", key=f"overview.{kind}",
                     column_config={"Arms (n)": st.column_config.TextColumn(width="medium"),
                                    "Median, months (CI)": st.column_config.TextColumn(width="large"),
                                    "Hazard ratio": st.column_config.TextColumn(width="medium"),
                                    "Population": st.column_config.TextColumn(width="small"),
                                    "Line of therapy": st.column_config.TextColumn(width="small")})
    st.caption("⚠ marks a number the paper contradicts elsewhere; the evidence browser shows both values. "
               "HR: experimental vs reference; adj. = adjusted estimate.")
