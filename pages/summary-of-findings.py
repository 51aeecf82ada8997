"""Summary of findings: how sure are we (GRADE certainty), and how much does it matter (absolute effects)."""
import streamlit as st

from components import chrome

PAGE = "summary-of-findings"
store, model, spec = chrome.start(PAGE)
opts = model.texts["options"]
with chrome.error_boundary("The summary of findings"):
    with st.sidebar:
        st.multiselect("Studies", spec["studies"].options, key=f"{PAGE}.studies",
                       format_func=lambda s: opts["studies"].get(s, s), placeholder="Choose studies")
        st.multiselect("Outcome", spec["endpoint"].options, key=f"{PAGE}.endpoint",
                       format_func=lambda e: opts["endpoint"].get(e, e), placeholder="All outcomes")
        chrome.presentation_toggle(PAGE)
    params = chrome.write_link(PAGE, spec)
    chrome.header(model, params, store)
    chrome.caveat_line(model)
    if "summary" not in model.tables:
        st.info(chrome.literal(model.texts["empty"]), icon="ℹ️")
        st.stop()
    summary = model.tables["summary"]
    st.caption(chrome.literal(model.texts["start_note"]), help=chrome.literal(model.texts["imprecision_rule"]))
    wide = st.column_config.TextColumn(width="large")
    event = st.dataframe(
        summary.drop(columns=["HR record"]), hide_index=True, width="stretch", key=f"{PAGE}.table",
        on_select="rerun", selection_mode="single-row",
        column_config={
            # pixel widths: on a laptop the certainty and the absolute effect are on the first screen
            "Study": st.column_config.TextColumn(width=105, pinned=True),
            "Comparison": st.column_config.TextColumn(width=190, pinned=True),
            "Outcome": st.column_config.TextColumn(width=170),
            "Certainty": st.column_config.TextColumn(width=128, help="GRADE: ⊕⊕⊕⊕ high to ⊕◯◯◯ very low"),
            "Reasons": wide, "What it means": wide, "Design details": wide, "Risk of bias": wide,
            "Absolute effect at 12 months": wide, "Absolute effect at 24 months": wide,
            "Check at 12 months": wide, "Check at 24 months": wide, "Baseline source (12 months)": wide})
    st.caption(chrome.literal(model.texts["ph_note"]) + " Select a row for its reasons, design and risk of bias. "
               + chrome.literal(model.texts["without_hr"]))
    picked = event.selection.rows if event is not None else []
    if picked:
        row = summary.iloc[picked[0]]
        raw = model.tables["rows"].iloc[picked[0]]
        with st.container(border=True):
            st.markdown(f"**{chrome.literal(row['Study'])}: {chrome.literal(row['Comparison'])}, "
                        f"{chrome.literal(row['Outcome'].lower())}** · {chrome.literal(row['Relative effect'])}")
            st.markdown(f"**Certainty {chrome.literal(row['Certainty'])}.** {chrome.literal(row['What it means'])}")
            st.markdown("\n".join(f"- {chrome.literal(x)}" for x in raw["reasons"]))
            for t in (12, 24):
                st.markdown(f"**At {t} months:** {chrome.literal(row[f'Absolute effect at {t} months'])}; baseline "
                            f"{chrome.literal(row[f'Baseline at {t} months'])}"
                            + (f"; check: {chrome.literal(row[f'Check at {t} months'])}"
                               if row[f"Check at {t} months"] else ""))
            st.markdown(f"**Median:** {chrome.literal(row['Median (difference)'])}  \n"
                        f"**Design:** {chrome.literal(row['Design'])}; {chrome.literal(row['Design details'])}  \n"
                        f"**Risk of bias:** {chrome.literal(row['Risk of bias'])}")
    chrome.csv_button(summary, "Summary of findings (CSV)", "hcc_summary_of_findings.csv", f"{PAGE}.csv")

    design_tab, rob_tab = st.tabs(["Design details", "Risk of bias (curator's judgement)"])
    with design_tab:
        st.caption("What each paper says about how its comparison was made, with the sentence it says it in.")
        st.dataframe(model.tables["design"].drop(columns=["study_id"]), hide_index=True, width="stretch",
                     key=f"{PAGE}.design", column_config={"Snippet": wide, "Detail": wide})
    with rob_tab:
        st.caption(chrome.literal(model.texts["rob_label"]) + ". Each judgement names its basis and, where the "
                   "paper states it, the sentence.")
        st.dataframe(model.tables["risk_of_bias"], hide_index=True, width="stretch", key=f"{PAGE}.rob",
                     column_config={"Basis": wide, "Snippet": wide})
