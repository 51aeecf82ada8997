"""Landing page: what the dashboard is for and the studies at a glance."""
import streamlit as st

from components.navigation import ensure_app_navigation

ensure_app_navigation()

from components.overview import studies_at_a_glance
from components.store_access import get_store, show_store_problems
from components.url_state import write_view
from components.view_chrome import PRESENT, open_view, share_bar

SPEC = {"present": PRESENT}
view = open_view(st, "overview", SPEC)

st.title("Advanced hepatocellular carcinoma: evidence comparison")
st.markdown(
    "Compare what published studies of advanced HCC report: survival, response, hazard ratios and "
    "adverse events, each number traceable to the sentence it came from. Prepared for tumor boards: "
    "pick a view, copy its link, and everyone opens the same view.")
st.warning(
    "**Cross-study comparisons are not randomised.** These studies differ in design (retrospective, "
    "propensity-matched, single-arm, randomised), population, line of therapy and response criteria. "
    "Numbers side by side are context for a discussion, not evidence that one regimen beats another. "
    "Survival curves here are reconstructed from published summaries, not the trials' patient data.",
    icon="⚠️")

store = get_store()
show_store_problems(store)

st.subheader("Studies at a glance")
glance = studies_at_a_glance(store)
primary = store.studies.set_index("study_id").source_kind
glance["Source"] = glance.study_id.map(lambda s: "review-reported" if primary.get(s) == "review" else "primary paper")
for source, title in (("primary paper", "Primary papers"), ("review-reported", "Trials reported in the review (Gong & Qin 2016)")):
    part = glance[glance.Source == source].drop(columns=["study_id", "Source"])
    if part.empty:
        continue
    # a column no study of this group fills only pushes the numbers off screen
    part = part.loc[:, [c for c in part.columns if c == "Study" or (part[c].astype(str).str.strip() != "").any()]]
    st.markdown(f"**{title}** ({len(part)})")
    st.dataframe(part, hide_index=True, width="stretch",
                 column_config={"Arms (n)": st.column_config.TextColumn(width="medium"),
                                "Median, months (CI)": st.column_config.TextColumn(width="large"),
                                "Hazard ratio": st.column_config.TextColumn(width="medium"),
                                "Population": st.column_config.TextColumn(width="small"),
                                "Line of therapy": st.column_config.TextColumn(width="small")})
st.caption("⚠ marks a number the paper contradicts elsewhere; the evidence browser shows both values. "
           "HR: experimental vs reference; adj. = adjusted estimate.")

st.toggle("Presentation mode", key="overview.present", help="larger type, no sidebar: for the meeting-room screen")
share_bar(st, "", write_view(st, "overview", SPEC), key="overview")   # the default page lives at /

st.subheader("Views")
cols = st.columns(2)
cols[0].page_link("pages/forest.py", label="Forest plot: hazard ratios and response effects, with design",
                  icon=":material/insights:")
cols[0].page_link("pages/survival.py", label="Survival curves: reconstructed Kaplan-Meier overlays",
                  icon=":material/show_chart:")
cols[1].page_link("pages/adverse-events.py", label="Adverse events: grade 3-4 and any grade, side by side",
                  icon=":material/grid_on:")
cols[1].page_link("pages/evidence.py", label="Evidence browser: every number with its source sentence",
                  icon=":material/search:")
