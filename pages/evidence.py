"""Evidence browser: every value with its snippet, location and conflicts."""
import streamlit as st

from components.navigation import ensure_app_navigation

ensure_app_navigation()

from components import evidence_table as et
from components.overview import study_name
from components.store_access import get_store, show_store_problems
from components.tables import DESIGN_LABELS, to_csv_bytes
from components.url_state import Many, write_view
from components.view_chrome import PRESENT, open_view, share_bar

store = get_store()
st.title("Evidence browser")
show_store_problems(store)

study_ids = list(store.studies.study_id)
designs = sorted(store.studies.design.unique())
SPEC = {
    "studies": Many(study_ids, []),
    "design": Many(designs, []),
    "endpoint": Many(list(et.ENDPOINT_GROUPS), []),
    "population": Many(["overall", "matched", "unmatched", "subgroup", "per_protocol"], []),
    "present": PRESENT,
}
view = open_view(st, "evidence", SPEC)

c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
studies = c1.multiselect("Study", study_ids, key="evidence.studies",
                         format_func=lambda s: study_name(store, s), placeholder="All studies")
design = c2.multiselect("Design", designs, key="evidence.design",
                        format_func=lambda d: DESIGN_LABELS.get(d, d), placeholder="All designs")
endpoint = c3.multiselect("Endpoint", list(et.ENDPOINT_GROUPS), key="evidence.endpoint", placeholder="All endpoints")
population = c4.multiselect("Population", SPEC["population"].options, key="evidence.population",
                            placeholder="All populations")
st.toggle("Presentation mode", key="evidence.present", help="larger type, no sidebar: for the meeting-room screen")
share_bar(st, "evidence", write_view(st, "evidence", SPEC), key="evidence")

st.caption("Numbers of different studies side by side are not a randomised comparison: designs, populations, "
           "lines of therapy and response criteria differ.")
SNIPPET = st.column_config.TextColumn("Snippet", width="large", help="verbatim from the paper")
tabs = st.tabs(["Outcomes", "Hazard ratios", "Adverse events", "Conflicts", "Studies and arms"])
tables = [
    ("outcomes", et.outcome_rows(store, studies, design, endpoint, population)),
    ("hazard_ratios", et.hazard_ratio_rows(store, studies, design, endpoint, population)),
    ("adverse_events", et.adverse_event_rows(store, studies, design)),
    ("conflicts", et.conflict_rows(store, studies, design)),
    ("studies_and_arms", et.study_rows(store, studies, design)),
]
for tab, (name, df) in zip(tabs, tables):
    with tab:
        shown = df.drop(columns=[c for c in ("study_id", "arm_id", "endpoint") if c in df.columns])
        if shown.empty:
            st.info("Nothing matches these filters.")
            continue
        n_conflict = int((shown.get("Conflict", "") != "").sum()) if "Conflict" in shown and name != "conflicts" else 0
        st.caption(f"{len(shown)} rows" + (f", {n_conflict} touched by a recorded conflict (⚠)" if n_conflict else "")
                   + ". Select a row to read its source sentence.")
        event = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun",
                             selection_mode="single-row", key=f"evidence.table.{name}",
                             column_config={"Snippet": SNIPPET, "Conflict": st.column_config.TextColumn(width="medium")})
        picked = event.selection.rows if event is not None else []
        if picked:
            row = shown.iloc[picked[0]]
            with st.container(border=True):
                st.markdown(f"**{row.get('Study', '')}** · {row.get('Location', row.get('Where', ''))}")
                if "Snippet" in row:
                    st.markdown("> " + str(row["Snippet"]).replace("\n", " "))
                if row.get("Conflict"):
                    st.warning(str(row["Conflict"]))
                if name == "conflicts":
                    st.markdown(f"**Values:** {row['Values']}  \n**Where:** {row['Where']}  \n**Views use:** {row['Views use']}")
        st.download_button("Download these rows (CSV)", to_csv_bytes(shown), file_name=f"hcc_{name}.csv",
                           mime="text/csv", key=f"evidence.csv.{name}")
