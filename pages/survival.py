"""Survival curves: reconstructed Kaplan-Meier curves of any arms, across studies, with their caveats."""
import streamlit as st

from components import chrome
from components.survival import download_config
from evidence.curve_files import CurveFileError, rebuild_upload
from views import survival
from views.patient import with_patient

PAGE = "survival"
store, model, spec = chrome.start(PAGE)
opts = model.texts["options"]
with chrome.error_boundary("The survival curves"):
    with st.sidebar:
        st.radio("Endpoint", list(opts["endpoint"]), key=f"{PAGE}.endpoint", format_func=opts["endpoint"].get,
                 help="PFS and TTP are different endpoints: each curve keeps the paper's own endpoint.")
        st.multiselect("Arms (any study)", spec["arms"].options, key=f"{PAGE}.arms",
                       format_func=lambda k: opts["arms"].get(k, k), placeholder="Choose arms to overlay",
                       filter_mode="contains")
        chrome.drop_arms_button(PAGE, model)
        st.toggle("95% bands", key=f"{PAGE}.bands", help="Confidence bands of the KM of the pseudo-data")
        chrome.presentation_toggle(PAGE)
        with st.expander("Add a digitised curve of your own"):
            st.caption("A curve digitised with WebPlotDigitizer (two columns: months, survival 0-1 or 0-100) and "
                       "the number-at-risk table printed under the plot (two columns: months, number at risk; "
                       "first row at 0). Rebuilt with the Guyot algorithm, overlaid, never stored.")
            up_curve = st.file_uploader("Digitised curve (.csv)", type=["csv", "txt"], key=f"{PAGE}.upload_curve",
                                        max_upload_size=1)
            up_risk = st.file_uploader("Number-at-risk table (.csv)", type=["csv", "txt"],
                                       key=f"{PAGE}.upload_risk", max_upload_size=1)
            up_label = st.text_input("Label", value="Uploaded curve", max_chars=60, key=f"{PAGE}.upload_label")
            up_events = st.number_input("Total events, if reported", min_value=0, max_value=100000, value=None,
                                        step=1, key=f"{PAGE}.upload_events")
    params = chrome.write_link(PAGE, spec)

    # an upload belongs to this session only: its view is built here, never cached or shared
    if up_curve is not None and up_risk is not None:
        try:
            up = rebuild_upload(up_curve.getvalue(), up_risk.getvalue(),
                                int(up_events) if up_events is not None else None)
            upload = survival.Upload(up.ipd, tuple(up.notes), up_label or "Uploaded curve", up.fidelity)
            model = with_patient(survival.build(model.state, store, model.params, upload=upload), store)
        except (CurveFileError, ValueError) as exc:
            st.sidebar.error(chrome.literal(f"The uploaded files cannot be used: {exc}"), icon="⚠️")
    elif up_curve is not None or up_risk is not None:
        st.sidebar.info("Add both the curve and its number-at-risk table to rebuild an uploaded curve.", icon="ℹ️")

    texts = model.texts
    chrome.header(model, params, store, "Survival curves")
    for line in texts.get("broken", []):
        st.warning(chrome.literal(line), icon="⚠️")
    if "lacking" in texts:
        st.caption(chrome.literal(texts["lacking"]))
    if "curves" not in model.figures:
        st.info(chrome.literal(texts["empty"]), icon="ℹ️")
        st.stop()
    warnings = texts["warnings"]
    chrome.caveat_line(model)
    fig = model.figures["curves"]
    fmt = st.session_state.get(f"{PAGE}.image_format", "png")
    st.plotly_chart(fig, theme=None, key=f"{PAGE}.figure",
                    config=download_config(fmt, f"survival_{model.state['endpoint']}", int(fig.layout.height)))
    if warnings:
        # one warning box: every line in it, the first in full and the rest as a short list
        st.warning("\n".join(f"- {chrome.literal(w)}" for w in warnings) if len(warnings) > 1
                   else chrome.literal(warnings[0]), icon="⚠️")
    for line in texts.get("upload_notes", []):
        st.warning(chrome.literal(line), icon="⚠️")
    if "pfs_ttp" in texts:
        st.caption(chrome.literal(texts["pfs_ttp"]))
    st.radio("The camera button (top right of the plot) saves", ["png", "svg"], key=f"{PAGE}.image_format",
             horizontal=True, format_func=lambda f: f"{f.upper()} image")

    st.subheader("Median and restricted mean survival")
    st.caption(chrome.literal(texts["rmst_caption"]))
    st.dataframe(model.tables["medians"], hide_index=True, width="stretch", key=f"{PAGE}.medians")
    family = model.state["endpoint"]
    chrome.csv_button(model.tables["medians"], "Download this table (CSV)", f"hcc_survival_{family}_medians.csv",
                      f"{PAGE}.medians_csv")
    chrome.exports(model, f"hcc_survival_{family}")

    st.subheader("Fidelity: do the rebuilt curves give back the papers' numbers?")
    st.caption("Reported vs reconstructed medians, landmark rates and events, and the Cox hazard ratio of the "
               "pseudo-data against the reported one where both arms of a study are shown (flagged above a 0.1 gap).")
    st.dataframe(model.tables["fidelity"], hide_index=True, width="stretch", key=f"{PAGE}.fidelity",
                 column_config={"Source sentence": st.column_config.TextColumn(width="large"),
                                "Note": st.column_config.TextColumn(width="medium")})
    chrome.csv_button(model.tables["fidelity"], "Download the fidelity table (CSV)",
                      f"hcc_survival_{family}_fidelity.csv", f"{PAGE}.fidelity_csv")
    if texts["notes"]:
        with st.expander("Details: how each curve's numbers were used"):
            for line in texts["notes"]:
                st.caption(chrome.literal(line))
    with st.expander("How the curves are rebuilt"):
        st.markdown(survival.METHOD_TEXT)
