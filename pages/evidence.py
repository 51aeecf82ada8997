"""Evidence browser: every value with its snippet, location and conflicts."""
import streamlit as st

from components import chrome

PAGE = "evidence"
store, model, spec = chrome.start(PAGE)
opts = model.texts["options"]
with chrome.error_boundary("The evidence browser"):
    with st.sidebar:
        st.multiselect("Study", spec["studies"].options, key="evidence.studies",
                       format_func=lambda s: opts["studies"].get(s, s), placeholder="All studies")
        st.multiselect("Design", spec["design"].options, key="evidence.design",
                       format_func=lambda d: opts["design"].get(d, d), placeholder="All designs")
        st.multiselect("Endpoint", spec["endpoint"].options, key="evidence.endpoint", placeholder="All endpoints")
        st.multiselect("Population", spec["population"].options, key="evidence.population",
                       format_func=lambda p: opts["population"].get(p, p), placeholder="All populations")
        chrome.presentation_toggle(PAGE)
    params = chrome.write_link(PAGE, spec)
    chrome.header(model, params, store)
    chrome.caveat_line(model)
    SNIPPET = st.column_config.TextColumn("Snippet", width="large", help="verbatim from the paper")
    tabs = st.tabs(list(model.texts["tab_titles"].values()))
    for tab, (name, df) in zip(tabs, model.tables.items()):
        with tab:
            shown = df.drop(columns=[c for c in ("study_id", "arm_id", "endpoint") if c in df.columns])
            if shown.empty:
                st.info("Nothing matches these filters.")
                continue
            n_conflict = int((shown["Conflict"] != "").sum()) if "Conflict" in shown and name != "conflicts" else 0
            st.caption(f"{len(shown)} rows" + (f", {n_conflict} touched by a recorded conflict (⚠)" if n_conflict else "")
                       + ". Select a row to read its source sentence.")
            event = st.dataframe(shown, hide_index=True, width="stretch", on_select="rerun",
                                 selection_mode="single-row", key=f"evidence.table.{name}",
                                 column_config={"Snippet": SNIPPET,
                                                "Conflict": st.column_config.TextColumn(width="medium")})
            picked = event.selection.rows if event is not None else []
            if picked:
                row = shown.iloc[picked[0]]
                with st.container(border=True):
                    st.markdown(f"**{chrome.literal(row.get('Study', ''))}** · "
                                f"{chrome.literal(row.get('Location', row.get('Where', '')))}")
                    if "Snippet" in row:
                        st.markdown("> " + chrome.literal(str(row["Snippet"]).replace("\n", " ")))
                    if name == "risk_of_bias":   # a judgement, not the paper's words: said so
                        st.markdown(f"**Curator's judgement ({chrome.literal(row['Tool'])}, "
                                    f"{chrome.literal(row['Domain'])}):** {chrome.literal(row['Judgement'])}. "
                                    f"{chrome.literal(row['Basis'])}")
                    elif name == "design_details" and row.get("Detail"):
                        st.markdown(f"**{chrome.literal(row['Item'])}:** {chrome.literal(row['Value'])}. "
                                    f"{chrome.literal(row['Detail'])}")
                    if row.get("Conflict"):
                        st.warning(chrome.literal(row["Conflict"]))
                    if name == "conflicts":
                        st.markdown(f"**Values:** {chrome.literal(row['Values'])}  \n"
                                    f"**Where:** {chrome.literal(row['Where'])}  \n"
                                    f"**Views use:** {chrome.literal(row['Views use'])}")
            chrome.csv_button(shown, "Download these rows (CSV)", f"hcc_{name}.csv", f"evidence.csv.{name}")
