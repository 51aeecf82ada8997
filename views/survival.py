"""Survival curves: reconstructed Kaplan-Meier curves of any arms, across studies, with their caveats."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from analysis import survival as ss
from components import survival as sv
from evidence.curve_files import DIGITISED_DIR
from evidence.naming import paper_short_label, regimen_label

from . import brief_tables as bt
from . import patient as pt
from . import survival_inputs as si
from .links import Choice, Flag, Many
from .model import PRESENT, Brief, ViewModel, font_size

PATH = "survival"
FAMILY_LABELS = {"OS": "Overall survival", "PFS": "PFS or TTP"}
METHOD_TEXT = (
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
OUTSIDE_MARK = "✗ outside patient profile"
PRESENTATION_PLOT_HEIGHT = 330
REBUILT_CAVEAT = "Curves are reconstructed from published summaries: pseudo-patients, not the trials' data."


@dataclass(frozen=True)
class Upload:
    """A clinician's own digitised curve, rebuilt for one session and never cached or stored."""
    ipd: pd.DataFrame
    notes: tuple[str, ...]
    label: str = "Uploaded curve"
    fidelity: pd.DataFrame | None = None     # the digitised curve and events against the rebuilt data


def _digitised_fingerprint() -> tuple:
    if not DIGITISED_DIR.is_dir():
        return ()
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(DIGITISED_DIR.glob("*.csv")))


_PER_STORE: dict = {}
_PER_STORE_LOCK = threading.Lock()


def _per_store(store, what: str, family: str, make):
    """What one store (and its digitised curves) gives, per endpoint family, computed once. Entries
    of an older store are dropped when a curator's edit changes the fingerprint; both families of
    the current store stay."""
    store_key = (store.fingerprint, _digitised_fingerprint())
    with _PER_STORE_LOCK:
        if _PER_STORE.get("store") != store_key:
            _PER_STORE.clear()
            _PER_STORE["store"] = store_key
        found = _PER_STORE.get((what, family))
    if found is None:
        found = make()              # two sessions may both build it once; either result is the same
        with _PER_STORE_LOCK:
            if _PER_STORE.get("store") == store_key:
                _PER_STORE[(what, family)] = found
    return found


def sources(store, family: str) -> list[si.CurveSource]:
    """Every arm's curve source of one endpoint family, once per store and digitised files."""
    return _per_store(store, "sources", family, lambda: si.curve_sources(store, family))


@lru_cache(maxsize=256)
def _rebuild_step(step: tuple) -> dict:
    return si.rebuild_step(step)


def plan(store, family: str) -> tuple:
    """How every arm of the family is rebuilt: two-arm studies that report an HR as a pair held
    to it. Planned over all arms, not the ones shown, so an arm's curve never depends on
    whether its partner is on the page."""
    def make():
        srcs = [s for s in sources(store, family) if s.reconstructable]
        return si.rebuild_plan(srcs, si.reported_hazard_ratios(store, srcs))
    return _per_store(store, "plan", family, make)


def rebuilt_curves(store, family: str, keys) -> dict[str, pd.DataFrame]:
    """The pseudo patient data of these arms, each step of the plan rebuilt once and cached."""
    wanted, out = set(keys), {}
    for step in plan(store, family):
        members = {step[1]} if step[0] == "single" else {step[1], step[2]}
        if members & wanted:
            out.update(_rebuild_step(step))
    return {k: out[k] for k in keys if k in out}


def arm_names(store) -> dict[str, str]:
    names: dict[str, str] = {}
    for family in FAMILY_LABELS:
        for s in sources(store, family):
            names.setdefault(s.key, s.display_name)   # one name: chips, legend, risk table, tables
    return names


def rmst_horizons(shown, rebuilt: dict, names: dict) -> dict[str, tuple[float | None, str]]:
    """The RMST horizon of each curve, chosen per comparison: the shortest follow-up among the
    arms of its own study on the page (a single arm: its own), never another study's shorter
    arm. Returns {key: (tau, why)}."""
    by_study: dict[str, list] = {}
    for s in shown:
        by_study.setdefault(s.study_id, []).append(s)
    out = {}
    for arms in by_study.values():
        tau = ss.rmst_horizon([rebuilt[s.key] for s in arms])
        if len(arms) > 1:
            last = min(arms, key=lambda s: float(rebuilt[s.key]["time"].max()))
            why = (f"the shorter follow-up of the {arms[0].study_label} arms shown "
                   f"({last.arm_label} is followed to {float(rebuilt[last.key]['time'].max()):.1f} months)")
        else:
            why = f"the end of this arm's rebuilt follow-up (no other {arms[0].study_label} arm shown)"
        for s in arms:
            out[s.key] = (tau, why)
    return out


def arm_options(store) -> dict[str, str]:
    """The arms' text in the selection widget: display name and the paper's own label."""
    texts: dict[str, str] = {}
    for family in FAMILY_LABELS:
        for s in sources(store, family):
            texts.setdefault(s.key, s.option_text)
    return texts


def spec(store) -> dict:
    keys = list(arm_names(store))
    return {
        "endpoint": Choice(list(FAMILY_LABELS), "OS", aliases={"ttp": "PFS", "pfs/ttp": "PFS", "pfs_ttp": "PFS"}),
        "arms": Many(keys, si.default_keys(keys)),
        "bands": Flag(False),
        "present": PRESENT,
    }


def build(state: dict, store, params: dict, upload: Upload | None = None) -> ViewModel:
    family, arms = state["endpoint"], state["arms"]
    names = arm_names(store)
    by_key = {s.key: s for s in sources(store, family)}
    shown = [by_key[k] for k in arms if k in by_key and by_key[k].reconstructable]
    texts: dict = {"options": {"endpoint": FAMILY_LABELS, "arms": arm_options(store)}}
    # with a patient profile: arms of studies whose criteria exclude the patient are marked, and named
    # so the page can offer to drop them
    outside = set(pt.arm_marks(store, pt.profile_of(state), names, lambda k: k.split(":")[0]))
    if outside:
        texts["options"]["arms"] = {k: n + (f" {OUTSIDE_MARK}" if k in outside else "")
                                    for k, n in texts["options"]["arms"].items()}
    texts["patient_outside_arms"] = [k for k in arms if k in outside]
    lacking = [names[k] for k in arms if k not in by_key]
    if lacking:
        texts["lacking"] = f"No {FAMILY_LABELS[family]} numbers reported for: {', '.join(lacking)}."
    texts["broken"] = [f"{s.display_name} cannot be rebuilt: {'; '.join(s.problems)}."
                       for k in arms if k in by_key and not (s := by_key[k]).reconstructable]
    rebuilt = rebuilt_curves(store, family, [s.key for s in shown])
    stats = {k: ss.summarise(d) for k, d in rebuilt.items()}
    if upload is not None:
        stats["upload"] = ss.summarise(upload.ipd)
        texts["upload_notes"] = [f"Uploaded curve: {n}." for n in upload.notes]
    model = dict(page="survival", path=PATH, state=state, params=params)
    if not stats:
        texts["empty"] = "Choose at least one arm with a reported median or landmark rate, or upload a digitised curve."
        return ViewModel(**model, title="Survival curves", texts=texts)

    studies_shown = {s.study_id for s in shown} | ({"upload"} if upload is not None else set())
    caveat = sv.CROSS_STUDY_CAVEAT if len(studies_shown) > 1 else sv.RECONSTRUCTED_NOTE
    x_max = max(c.last_time for c in stats.values())
    times = ss.at_risk_times(x_max)
    curves = []
    for s in shown:
        # in the PFS view the legend says which endpoint each curve is (TTP stays TTP); a matched cohort says so
        qualifier = [s.endpoint] if family == "PFS" else []
        qualifier += ["matched cohort"] if s.population == "matched" else []
        # the family label heads the legend; the paper's own label follows where it differs
        if regimen_label(s.arm_label) != s.arm_label:
            qualifier += [f"paper: {paper_short_label(s.arm_label)}"]
        # the risk table stops where the rebuilt curve stops: a blank, not a 0, beyond it
        shown_times = [x for x in times if x <= stats[s.key].last_time + 1e-9]
        curves.append(sv.CurveView(key=s.key, name=names[s.key] + (f" {OUTSIDE_MARK}" if s.key in outside else ""),
                                   basis=s.label, stats=stats[s.key],
                                   at_risk=ss.number_at_risk(rebuilt[s.key], shown_times), anchors=s.anchors,
                                   short_name=names[s.key], qualifier=" · ".join(qualifier), conflicts=s.conflicts))
    if upload is not None:
        up_times = [x for x in times if x <= stats["upload"].last_time + 1e-9]
        curves.append(sv.CurveView(key="upload", name=upload.label, basis="uploaded digitised curve + risk table",
                                   stats=stats["upload"], at_risk=ss.number_at_risk(upload.ipd, up_times),
                                   short_name=upload.label, dash="dash"))
    endpoints = sorted({s.endpoint for s in shown})
    title = f"{si.FAMILY_NAMES[family] if family == 'PFS' else 'Overall survival'}: reconstructed Kaplan-Meier curves"
    if family == "PFS" and endpoints:
        title = f"{' and '.join(endpoints)}: reconstructed Kaplan-Meier curves"
    y_label = {"OS": "Overall survival (%)", "PFS": "Progression-free (%)"}[family]
    fig = sv.survival_figure(curves, times, title=title, show_bands=state["bands"], x_max=x_max, caveat=caveat,
                             y_label=y_label, font_size=font_size(state),
                             # on the meeting-room screen the whole figure, risk table included, fits 1080 px
                             plot_height=PRESENTATION_PLOT_HEIGHT if state.get("present") else None)
    # fidelity first where it changes how the chart reads: a hazard ratio the curves do not give back
    hrs = si.reported_hazard_ratios(store, shown)
    fid = ss.fidelity(shown, stats, rebuilt, hrs, held=si.held_pairs(plan(store, family)))
    if upload is not None and upload.fidelity is not None and len(upload.fidelity):
        fid = pd.concat([fid, upload.fidelity], ignore_index=True)
    texts["hr_gaps"] = sv.hr_gap_warnings(fid, names)
    if family == "PFS" and len(endpoints) > 1:
        texts["pfs_ttp"] = "PFS counts death as an event, TTP does not: curves of the two endpoints are not interchangeable."
    # one line per recorded conflict, naming every arm it touches
    conflicted: dict[str, list[str]] = {}
    for s in shown:
        for c in s.conflicts:
            conflicted.setdefault(c, []).append(s.display_name)
    texts["conflicts"] = [f"{', '.join(arms_)}: {c}" for c, arms_ in conflicted.items()]
    texts["notes"] = [f"{s.display_name}: {n}" for s in shown for n in s.notes]

    horizons = rmst_horizons(shown, rebuilt, names)
    rows = []
    for s in shown:
        tau, why = horizons[s.key]
        value, se = ss.rmst(rebuilt[s.key], tau) if tau else (None, None)
        rows.append({"name": names[s.key], "study": s.study_label, "endpoint": s.endpoint, "n": s.n, "basis": s.label,
                     "stats": stats[s.key], "anchors": s.anchors, "rmst": value, "rmst_se": se,
                     "tau": tau, "tau_reason": why})
    if upload is not None:
        tau = ss.rmst_horizon([upload.ipd])
        value, se = ss.rmst(upload.ipd, tau) if tau else (None, None)
        rows.append({"name": upload.label, "study": "uploaded", "endpoint": "", "n": stats["upload"].n,
                     "basis": "uploaded digitised curve + risk table", "stats": stats["upload"],
                     "reported_median": None, "rmst": value, "rmst_se": se,
                     "tau": tau, "tau_reason": "the end of the uploaded curve"})
    texts["rmst_caption"] = ("The paper's numbers first (median with the paper's CI, landmark rates as printed), the "
                             "rebuilt ones beside them. RMST (mean months event-free, from the pseudo-data) is "
                             "compared within a study only: each study's horizon is the shorter follow-up of its "
                             "arms shown, so no arm is cut by another study's shorter follow-up.")
    # one warning under the chart: the hazard ratios the curves do not give back, then the conflicts
    texts["warnings"] = texts["hr_gaps"] + [f"The paper contradicts itself on a number used here. {c}"
                                            for c in texts["conflicts"]]
    medians = sv.median_rmst_table(rows)
    fid_names = {s.key: names[s.key] for s in shown} | ({"upload": upload.label} if upload is not None else {})
    tables = {"medians": medians, "fidelity": sv.fidelity_table(fid, fid_names)}
    cites = tuple(c for c in store.studies[store.studies.study_id.isin({s.study_id for s in shown})].citation
                  if isinstance(c, str))
    ids = [s.study_id for s in shown]
    reported_hrs = bt.survival_hazard_ratios(store, shown)
    brief = Brief(title=title, figure="curves", key_numbers=bt.survival_numbers(store, shown),
                  citations=cites, caveats=tuple(dict.fromkeys((caveat, REBUILT_CAVEAT))),
                  sources=bt.labelled_citations(store, ids),
                  sections=(("Hazard ratio as reported", reported_hrs),) if len(reported_hrs) else (),
                  design=bt.design_line(store, ids))
    return ViewModel(**model, title=title, figures={"curves": fig}, tables=tables, caveats=(caveat,),
                     texts=texts, brief=brief)


def rebuilt_landmarks(store, family: str, months=(12, 24)) -> dict[tuple[str, str, str, str, float], float]:
    """Survival (percent) read off each arm's rebuilt curve at these months.

    Keyed (study_id, arm_id, endpoint, population, months). Only where the rebuilt
    curve reaches that time: a curve that stops at its median (no follow-up
    reported) says nothing about later months, and its flat end is not a value.
    """
    out = {}
    srcs = [s for s in sources(store, family) if s.reconstructable]
    curves = rebuilt_curves(store, family, [s.key for s in srcs])
    for s in srcs:
        ipd = curves[s.key]
        last = float(ipd["time"].max())
        for t in months:
            value = ss.survival_at(ipd, t) if t <= last + 1e-9 else float("nan")
            if value == value:   # not NaN
                out[(s.study_id, s.arm_id, s.endpoint, s.population, float(t))] = 100 * value
    return out
