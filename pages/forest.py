"""Forest plot: hazard ratios and response effects side by side, with their caveats."""
import streamlit as st

from components.navigation import ensure_app_navigation

ensure_app_navigation()

from components import forest
from components.store_access import get_store, show_store_problems
from components.tables import DESIGN_LABELS, to_csv_bytes
from components.url_state import Choice, Many, write_view
from components.view_chrome import PRESENT, figure_exports, figure_font_size, open_view, share_bar

store = get_store()
st.title("Forest plot")
show_store_problems(store)

ENDPOINTS = ["OS", "PFS", "TTP", "survival", "ORR", "DCR"]
ENDPOINT_NAMES = {**forest.ENDPOINT_TITLES, "survival": "All survival endpoints (OS, PFS, TTP)"}
POPULATIONS = list(forest.POPULATION_LABELS)
study_ids = list(store.studies.study_id)
designs = sorted(store.studies.design.unique()) if len(store.studies) else []
SPEC = {
    "endpoint": Choice(ENDPOINTS, "OS", aliases={"all": "survival", "orr": "ORR", "dcr": "DCR"}),
    "measure": Choice(["RR", "RD"], "RR"),
    "design": Many(designs, []),
    "adjusted": Choice(["both", "adjusted", "unadjusted"], "both"),
    "population": Many(POPULATIONS, ["overall", "matched"]),
    "studies": Many(study_ids, forest.default_studies(store)),
    "comparisons": Choice(["headline", "all"], "headline"),
    "sort": Choice(["listed", "effect"], "listed"),
    "present": PRESENT,
}
view = open_view(st, "forest", SPEC)

c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
endpoint = c1.selectbox("Endpoint", ENDPOINTS, key="forest.endpoint", format_func=ENDPOINT_NAMES.get)
is_response = endpoint in forest.RESPONSE_ENDPOINTS
measure = c2.radio("Response effect", ["RR", "RD"], key="forest.measure", horizontal=True,
                   format_func={"RR": "Risk ratio", "RD": "Risk difference"}.get, disabled=not is_response,
                   help="Computed from responder counts of both arms (ORR, DCR only).")
adjusted = c3.radio("Estimates", ["both", "adjusted", "unadjusted"], key="forest.adjusted", horizontal=True,
                    format_func=str.capitalize, disabled=is_response,
                    help="Adjusted: from a multivariable model. Response effects are always unadjusted.")
population = c4.multiselect("Population", POPULATIONS, key="forest.population",
                            format_func=forest.POPULATION_LABELS.get, placeholder="All populations")
c5, c6, c7, c8 = st.columns([4, 2, 2, 1.5])
labels = forest.study_labels(store)
studies = c5.multiselect("Studies", study_ids, key="forest.studies",
                         format_func=lambda s: labels.get(s, s), placeholder="Choose studies")
design = c6.multiselect("Design", designs, key="forest.design",
                        format_func=lambda d: DESIGN_LABELS.get(d, d), placeholder="All designs")
comparisons = c7.radio("Comparisons", ["headline", "all"], key="forest.comparisons", horizontal=True,
                       format_func={"headline": "Headline", "all": "All recorded"}.get,
                       help="Headline: each study's primary comparison.")
sort = c8.radio("Order", ["listed", "effect"], key="forest.sort",
                format_func={"listed": "As listed", "effect": "By effect"}.get)
st.toggle("Presentation mode", key="forest.present", help="larger type, no sidebar: for the meeting-room screen")
share_bar(st, "forest", write_view(st, "forest", SPEC), key="forest")

if is_response:
    rows = forest.response_rows(store, endpoint, measure, studies=studies, designs=design,
                                populations=population, comparisons=comparisons, sort=sort)
else:
    endpoints = forest.SURVIVAL_ENDPOINTS if endpoint == "survival" else (endpoint,)
    rows = forest.hazard_ratio_rows(store, endpoints, studies=studies, designs=design, adjustment=adjusted,
                                    populations=population, comparisons=comparisons, sort=sort)

st.warning("**Rows from different studies are not randomised comparisons.** Designs, populations, lines of "
           "therapy and response criteria differ; only rows within one study compare randomised or matched "
           "arms, and most studies here are retrospective. Read the side-by-side as context, not as a ranking.",
           icon="⚠️")

# selected studies without a row for this endpoint: 'No PFS hazard ratio reported by: Sun 2022 (reports TTP)'
note, note_names = forest.missing_rows_note(store, rows, (endpoint,) if is_response else endpoints, studies,
                                            design, measure=measure if is_response else "HR")
if rows.empty:
    what = "response counts for both arms" if is_response else "hazard ratios"
    st.info(f"No {what} match these filters ({ENDPOINT_NAMES[endpoint]}). Widen the study, design or "
            "population choice.", icon="ℹ️")
    if note:
        st.caption(note, help=note_names or None)
else:
    pooled, reason = forest.pooling(rows)
    measure_name = {"RR": "risk ratios", "RD": "risk differences"}[measure] if is_response else "hazard ratios"
    title = f"{ENDPOINT_NAMES[endpoint]}: {measure_name}"
    fig = forest.forest_figure(rows, pooled, reason, title=title,
                               font_size=figure_font_size(st.session_state["forest.present"]))
    fmt = st.session_state.get("forest.image_format", "svg")
    # the side table keeps its pixel size: below the figure's minimum width the plot scrolls sideways
    st.markdown(forest.page_css(fig, scroll_key="forest-plot-scroll", frame_key="forest-plot-frame",
                                exports_key="forest-exports"), unsafe_allow_html=True)
    with st.container(key="forest-plot-scroll"), st.container(key="forest-plot-frame"):
        st.plotly_chart(fig, width="stretch", theme=None, key="forest.figure",
                        config=forest.download_config(fig, fmt, f"forest_{endpoint}"))
    if note:
        st.caption(note, help=note_names or None)
    st.caption("Hover a marker, a study or an estimate for the source sentence"
               + ("" if is_response else ", an adjustment for its full list of covariates")
               + ". The full-screen button at the plot's top right enlarges it.")
    st.radio("The camera button (top right of the plot) saves", ["svg", "png"], key="forest.image_format",
             horizontal=True, format_func=lambda f: f"{f.upper()} image")
    table = forest.rows_table(rows)
    # one row of buttons, each as wide as its label (the stylesheet above sizes the columns)
    with st.container(key="forest-exports"):
        exports, csv = st.columns([4, 2])
        with exports:
            figure_exports(st, fig, name=f"hcc_forest_{endpoint}", key="forest", store=store,
                           study_ids=set(rows.study_id) if "study_id" in rows else set(), title=title,
                           key_numbers=table.drop(columns=[c for c in ("Snippet",) if c in table.columns]),
                           caveats=["Rows from different studies are not randomised comparisons; most studies "
                                    "here are retrospective.", reason or ""],
                           page_path="forest", params=st.query_params.to_dict())
        csv.download_button("Rows shown (CSV)", to_csv_bytes(table), mime="text/csv",
                            file_name=f"hcc_forest_{endpoint}.csv", key="forest.csv")
    with st.expander(f"The {len(table)} rows shown, with their source sentences"):
        st.dataframe(table, hide_index=True, width="stretch", key="forest.table",
                     column_config={"Snippet": st.column_config.TextColumn(width="large")})
