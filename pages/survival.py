"""Survival curves: reconstructed Kaplan-Meier curves of any arms, across studies, with their caveats."""
import streamlit as st

from components import survival as sv
from components.navigation import ensure_app_navigation
from components.store_access import get_store, show_store_problems
from components.tables import to_csv_bytes
from components.url_state import Choice, Flag, Many, write_view
from components.view_chrome import PRESENT, figure_exports, figure_font_size, open_view, share_bar
from evidence import reconstruct
from evidence.curve_files import DIGITISED_DIR, CurveFileError, parse_curve_csv, parse_risk_csv
from evidence.survival_inputs import (FAMILY_NAMES, arm_name, curve_sources, default_keys, rebuild_args,
                                      rebuild_from_args, reported_hazard_ratios)
from evidence import survival_stats as ss

ensure_app_navigation()
PAGE = "survival"
FAMILY_LABELS = {"OS": "Overall survival", "PFS": "PFS or TTP"}


@st.cache_data(show_spinner=False, max_entries=16)
def _sources(_store, store_id: int, digitised: tuple, family: str):
    # keyed on the store object (re-created when a curator edits a file) and the digitised files
    return curve_sources(_store, family)


@st.cache_data(show_spinner="Rebuilding curves...", max_entries=512)
def _rebuild(args: tuple):
    return rebuild_from_args(args)


@st.cache_data(show_spinner=False, max_entries=32)
def _rebuild_upload(curve: bytes, risk: bytes, events):
    c = parse_curve_csv(curve, "curve file")
    r = parse_risk_csv(risk, "risk table")
    return reconstruct.guyot(c.times, c.survival, r.times, r.at_risk, total_events=events), c.notes


def _digitised_fingerprint() -> tuple:
    if not DIGITISED_DIR.is_dir():
        return ()
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(DIGITISED_DIR.glob("*.csv")))


store = get_store()
st.title("Survival curves")
show_store_problems(store)

fp = _digitised_fingerprint()
by_family = {fam: _sources(store, id(store), fp, fam) for fam in FAMILY_LABELS}
names = {}
for fam_sources in by_family.values():
    for s in fam_sources:
        names.setdefault(s.key, arm_name(s))     # one name: chips, legend, risk table, tables
all_keys = list(names)
SPEC = {
    "endpoint": Choice(list(FAMILY_LABELS), "OS", aliases={"ttp": "PFS", "pfs/ttp": "PFS", "pfs_ttp": "PFS"}),
    "arms": Many(all_keys, default_keys(all_keys)),
    "bands": Flag(False),
    "present": PRESENT,
}
view = open_view(st, PAGE, SPEC)

c1, c2, c3 = st.columns([2, 6, 1.8])
family = c1.radio("Endpoint", list(FAMILY_LABELS), key=f"{PAGE}.endpoint", format_func=FAMILY_LABELS.get,
                  help="PFS and TTP are different endpoints: each curve keeps the paper's own endpoint.")
arms = c2.multiselect("Arms (any study)", all_keys, key=f"{PAGE}.arms", format_func=names.get,
                      placeholder="Choose arms to overlay")
bands = c3.toggle("95% bands", key=f"{PAGE}.bands", help="Confidence bands of the KM of the pseudo-data")
st.toggle("Presentation mode", key=f"{PAGE}.present", help="larger type, no sidebar: for the meeting-room screen")
share_bar(st, PAGE, write_view(st, PAGE, SPEC), key=PAGE)

sources = {s.key: s for s in by_family[family]}
shown = [sources[k] for k in arms if k in sources and sources[k].reconstructable]
lacking = [names[k] for k in arms if k not in sources]
broken = [sources[k] for k in arms if k in sources and not sources[k].reconstructable]
if lacking:
    st.info(f"No {FAMILY_LABELS[family]} numbers reported for: {', '.join(lacking)}.", icon="ℹ️")
for s in broken:
    st.warning(f"**{s.display_name}** cannot be rebuilt: {'; '.join(s.problems)}.", icon="⚠️")

with st.expander("Add a digitised curve of your own (CSV; overlaid, never stored)"):
    st.markdown("A curve digitised with WebPlotDigitizer (two columns: months, survival 0-1 or 0-100) and "
                "the number-at-risk table printed under the plot (two columns: months, number at risk; "
                "first row at 0). Rebuilt with the Guyot algorithm.")
    u1, u2, u3 = st.columns([3, 3, 2])
    up_curve = u1.file_uploader("Digitised curve (.csv)", type=["csv", "txt"], key=f"{PAGE}.upload_curve",
                                max_upload_size=1)
    up_risk = u2.file_uploader("Number-at-risk table (.csv)", type=["csv", "txt"], key=f"{PAGE}.upload_risk",
                               max_upload_size=1)
    up_label = u3.text_input("Label", value="Uploaded curve", max_chars=60, key=f"{PAGE}.upload_label")
    up_events = u3.number_input("Total events, if reported", min_value=0, max_value=100000, value=None, step=1,
                                key=f"{PAGE}.upload_events")

uploaded = None
if up_curve is not None or up_risk is not None:
    if up_curve is None or up_risk is None:
        st.info("Add both the curve and its number-at-risk table to rebuild an uploaded curve.", icon="ℹ️")
    else:
        try:
            ipd, up_notes = _rebuild_upload(up_curve.getvalue(), up_risk.getvalue(),
                                            int(up_events) if up_events is not None else None)
            uploaded = (ipd, up_notes)
            for note in up_notes:
                st.caption(f"Uploaded curve: {note}.")
        except (CurveFileError, ValueError) as exc:
            st.error(f"The uploaded files cannot be used: {exc}", icon="⚠️")

rebuilt = {s.key: _rebuild(rebuild_args(s)) for s in shown}
stats = {k: ss.summarise(d) for k, d in rebuilt.items()}
if uploaded is not None:
    stats["upload"] = ss.summarise(uploaded[0])

if not stats:
    st.info("Choose at least one arm with a reported median or landmark rate, or upload a digitised curve.",
            icon="ℹ️")
    st.stop()

studies_shown = {s.study_id for s in shown} | ({"upload"} if uploaded is not None else set())
if len(studies_shown) > 1:
    st.warning(f"**{sv.CROSS_STUDY_CAVEAT}** Populations, lines of therapy and designs differ; read the overlay "
               "as context, not as a head-to-head comparison.", icon="⚠️")
else:
    st.caption(f"{sv.RECONSTRUCTED_NOTE} Pseudo-patients reproduce the printed numbers; they are not the trial's data.")

x_max = max(st_.last_time for st_ in stats.values())
times = ss.at_risk_times(x_max)
views = []
for s in shown:
    # the arm keeps the name of its chip; in the PFS view the legend says which endpoint
    # each curve is (TTP stays TTP), and a matched cohort says so
    qualifier = [s.endpoint] if family == "PFS" else []
    qualifier += ["matched cohort"] if s.population == "matched" else []
    # the risk table stops where the rebuilt curve stops: a blank, not a 0, beyond it
    shown_times = [x for x in times if x <= stats[s.key].last_time + 1e-9]
    views.append(sv.CurveView(key=s.key, name=names[s.key], basis=s.label, stats=stats[s.key],
                              at_risk=ss.number_at_risk(rebuilt[s.key], shown_times), anchors=s.anchors,
                              short_name=names[s.key], qualifier=" · ".join(qualifier), conflicts=s.conflicts))
if uploaded is not None:
    up_times = [x for x in times if x <= stats["upload"].last_time + 1e-9]
    views.append(sv.CurveView(key="upload", name=up_label or "Uploaded curve", basis="uploaded digitised curve + "
                              "risk table", stats=stats["upload"], at_risk=ss.number_at_risk(uploaded[0], up_times),
                              short_name=up_label or "Uploaded", dash="dash"))
endpoints = sorted({s.endpoint for s in shown})
title = f"{FAMILY_NAMES[family] if family == 'PFS' else 'Overall survival'}: reconstructed Kaplan-Meier curves"
if family == "PFS" and endpoints:
    title = f"{' and '.join(endpoints)}: reconstructed Kaplan-Meier curves"
caveat = sv.CROSS_STUDY_CAVEAT if len(studies_shown) > 1 else sv.RECONSTRUCTED_NOTE
y_label = {"OS": "Overall survival (%)", "PFS": "Progression-free (%)"}[family]
present = bool(st.session_state.get(f"{PAGE}.present", view.get("present", False)))
fig = sv.survival_figure(views, times, title=title, show_bands=bands, x_max=x_max, caveat=caveat, y_label=y_label,
                         font_size=figure_font_size(present))
fmt = st.session_state.get(f"{PAGE}.image_format", "png")
st.plotly_chart(fig, theme=None, key=f"{PAGE}.figure",
                config=sv.download_config(fmt, f"survival_{family}", int(fig.layout.height)))
# fidelity first where it changes how the chart reads: a hazard ratio the curves do not give back
hrs = reported_hazard_ratios(store, shown)
fid = ss.fidelity(shown, stats, rebuilt, hrs)
for text in sv.hr_gap_warnings(fid, names):
    st.warning(text, icon="⚠️")
st.radio("The camera button (top right of the plot) saves", ["png", "svg"], key=f"{PAGE}.image_format",
         horizontal=True, format_func=lambda f: f"{f.upper()} image")
if family == "PFS" and len(endpoints) > 1:
    st.caption("PFS counts death as an event, TTP does not: curves of the two endpoints are not interchangeable.")

# one line per recorded conflict, naming every arm it touches
conflicted: dict[str, list[str]] = {}
for s in shown:
    for c in s.conflicts:
        conflicted.setdefault(c, []).append(s.display_name)
notes = [(s, n) for s in shown for n in s.notes]
if conflicted:
    lines = "\n".join(f"- **{', '.join(arms_)}**: {c}" for c, arms_ in conflicted.items())
    st.warning(f"**The papers contradict themselves on numbers used here.** The curves use the value the "
               f"evidence store holds:\n{lines}", icon="⚠️")
if notes:
    st.caption("  \n".join(f"{s.display_name}: {n}" for s, n in notes))

tau = ss.rmst_horizon(list(rebuilt.values()) + ([uploaded[0]] if uploaded is not None else []))
rows = []
for s in shown:
    value, se = ss.rmst(rebuilt[s.key], tau) if tau else (None, None)
    med = next((a.time for a in s.anchors if a.kind == "median"), None)
    rows.append({"name": names[s.key], "study": s.study_label, "endpoint": s.endpoint, "n": s.n, "basis": s.label,
                 "stats": stats[s.key], "reported_median": med, "rmst": value, "rmst_se": se})
if uploaded is not None:
    value, se = ss.rmst(uploaded[0], tau) if tau else (None, None)
    rows.append({"name": up_label or "Uploaded curve", "study": "uploaded", "endpoint": "", "n": stats["upload"].n,
                 "basis": "uploaded digitised curve + risk table", "stats": stats["upload"], "reported_median": None,
                 "rmst": value, "rmst_se": se})
st.subheader("Median and restricted mean survival")
st.caption(f"From the pseudo-data. RMST (mean months event-free) up to {tau:g} months, the longest time every curve "
           "shown covers." if tau else "From the pseudo-data.")
table = sv.median_rmst_table(rows, tau)
st.dataframe(table, hide_index=True, width="stretch", key=f"{PAGE}.medians")
st.download_button("Download this table (CSV)", to_csv_bytes(table), file_name=f"hcc_survival_{family}_medians.csv",
                   mime="text/csv", key=f"{PAGE}.medians_csv")
figure_exports(st, fig, name=f"hcc_survival_{family}", key=PAGE, store=store,
               study_ids={s.study_id for s in shown}, title=title, key_numbers=table,
               caveats=[caveat, "Curves are reconstructed from published summaries: pseudo-patients, "
                                "not the trials' data."],
               page_path=PAGE, params=st.query_params.to_dict())

st.subheader("Fidelity: do the rebuilt curves give back the papers' numbers?")
st.caption("Reported vs reconstructed medians, landmark rates and events, and the Cox hazard ratio of the "
           "pseudo-data against the reported one where both arms of a study are shown (flagged above a 0.1 gap).")
fid_table = sv.fidelity_table(fid, {s.key: names[s.key] for s in shown})
st.dataframe(fid_table, hide_index=True, width="stretch", key=f"{PAGE}.fidelity",
             column_config={"Source sentence": st.column_config.TextColumn(width="large"),
                            "Note": st.column_config.TextColumn(width="medium")})
st.download_button("Download the fidelity table (CSV)", to_csv_bytes(fid_table),
                   file_name=f"hcc_survival_{family}_fidelity.csv", mime="text/csv", key=f"{PAGE}.fidelity_csv")
with st.expander("How the curves are rebuilt"):
    st.markdown(
        "- **From published summaries** (all papers today): survival runs through (0, 100%), the reported median "
        "(50%) and landmark rates as a piecewise-exponential curve, continued at the last interval's hazard to the "
        "end of follow-up. Pseudo-patients for the arm's n are placed so that their Kaplan-Meier curve follows it; "
        "censoring is paced so that the number of events equals the reported count, or else spread over the "
        "reported follow-up. Without any follow-up the curve stops at the last reported time.\n"
        "- A curve falls to 0% only where the paper says nobody was left (as many events as patients, or a "
        "printed 0% rate). Otherwise the longest-followed pseudo-patient is censored and the curve ends flat at "
        "its last value: an end at 0% would read as \"nobody alive\".\n"
        "- **From a digitised curve** with its number-at-risk table: the Guyot et al. 2012 algorithm, using the total "
        "number of events when reported.\n"
        "- A landmark rate on the wrong side of 50% for the median cannot hold with it: it is shown as a red cross, "
        "left out of the curve, and flagged in the fidelity table.\n"
        "- The hazard ratio of the pseudo-data comes from an unadjusted Cox model; it checks the reconstruction, "
        "it is not a new result.")
