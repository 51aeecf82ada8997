"""What each arm's survival curve can be rebuilt from, gathered from the store.

For every arm and endpoint family (OS; PFS or TTP) this collects the reported
anchors (a median m is the point (m, 50%); a landmark rate r% at t months is
(t, r/100)), the number of patients, the number of events, the follow-up and
the recorded conflicts touching any of them, and says in a short label what the
curve is rebuilt from ("median + 3 landmark rates + 44 deaths"). A curator's
digitised curve with its risk table (evidence/digitised/) takes precedence.

TTP stays TTP: the "PFS" family of the survival page shows PFS where a paper
reports PFS and TTP where it reports TTP, each under its own name.
Pure: reads the store and the digitised files, no streamlit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import pandas as pd

from analysis import reconstruct
from evidence.curve_files import CurveFileError, DIGITISED_DIR, load_digitised
from evidence.naming import arm_option_text, regimen_label

from .conflicts import records as conflict_records

FAMILIES = {"OS": ("OS",), "PFS": ("PFS", "TTP")}
FAMILY_NAMES = {"OS": "Overall survival", "PFS": "Progression-free survival / time to progression"}
ENDPOINT_NAMES = {"OS": "overall survival", "PFS": "progression-free survival", "TTP": "time to progression"}
EVENT_WORDS = {"OS": ("death", "deaths"), "PFS": ("PFS event", "PFS events"), "TTP": ("progression", "progressions")}
# Arm-level populations a curve can stand for; a matched cohort is the paper's
# main analysis where there is one, subgroups are never a whole arm's curve.
_POPULATIONS = ("matched", "overall")


@dataclass(frozen=True)
class Anchor:
    """One reported point of the curve, with where it was printed."""
    time: float
    survival: float             # probability 0-1
    kind: str                   # "median" or "rate"
    text: str                   # as a clinician reads it: "median 17.1 months", "61.8% at 12 months"
    location: str = ""
    snippet: str = ""
    conflicts: tuple[str, ...] = ()
    used: bool = True           # False when it contradicts the median and was left out
    why_unused: str = ""
    ci_low: float | None = None     # the paper's own interval, where it prints one
    ci_high: float | None = None


@dataclass(frozen=True)
class CurveSource:
    """Everything one reconstructed curve is built from, with its provenance."""
    key: str                    # "study_id:arm_id"
    study_id: str
    arm_id: str
    study_label: str
    arm_label: str
    endpoint: str               # OS, PFS or TTP
    reported_name: str          # the paper's own name of the endpoint
    population: str
    n: int | None
    anchors: tuple[Anchor, ...] = ()
    events: int | None = None
    events_text: str = ""       # "44 deaths" or "59 deaths in both arms (each arm's share derived)"
    events_snippet: str = ""
    events_location: str = ""
    min_followup: float | None = None
    max_followup: float | None = None
    followup_text: str = ""
    method: str = "summary"     # "summary", "digitised" or "none"
    curve: tuple[tuple[float, float], ...] = ()
    risk_table: tuple[tuple[float, int], ...] = ()
    label: str = ""             # what it was rebuilt from
    conflicts: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    pooled_events: int | None = None    # deaths printed for the whole cohort only ("59 of 96 died")
    pooled_text: str = ""               # "59 deaths in both arms"

    @property
    def reconstructable(self) -> bool:
        return self.method in ("summary", "digitised") and not self.problems

    @property
    def used_anchors(self) -> list[tuple[float, float]]:
        return [(a.time, a.survival) for a in self.anchors if a.used]

    @property
    def display_name(self) -> str:
        """The one name of this curve on the page: arm chips, legend, tables, warnings."""
        return f"{regimen_label(self.arm_label)} · {self.study_label}"

    @property
    def option_text(self) -> str:
        """What a selection widget shows and filters on: the display name and the paper's own label."""
        return arm_option_text(self.display_name, self.arm_label)


def _study_label(store, study_id: str) -> str:
    rows = store.studies[store.studies.study_id == study_id]
    if not len(rows):
        return study_id
    r = rows.iloc[0]
    short = r.get("short_name")        # the name clinicians know it by, where the curators gave one
    if isinstance(short, str) and short.strip():
        return short.strip()
    trial = r.get("trial_name")
    if isinstance(trial, str) and trial:
        return trial
    author = r.get("first_author")
    year = r.get("year")
    if isinstance(author, str) and author:
        return f"{author} {int(year)}" if year is not None and not pd.isna(year) else author
    return study_id


def _conflict_texts(store, ids, evidence_file=None) -> tuple[str, ...]:
    """Each conflict's description and what the views use; looked up in the record's own file."""
    hit = conflict_records(ids, evidence_file, store.conflicts)
    by_id = {r.conflict_id: f"{r.description} Views use: {r.resolution}" for r in hit.itertuples()}
    return tuple(by_id.get(cid, cid) for cid in ids) if isinstance(ids, (list, tuple)) else ()


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _fmt(x: float) -> str:
    return f"{x:g}"


def _pick_population(outcomes: pd.DataFrame) -> str:
    pops = set(outcomes.population)
    for p in _POPULATIONS:
        if p in pops:
            return p
    return "overall"


def _arm_n(store, arm_row, population: str, rows: pd.DataFrame) -> tuple[int | None, str]:
    if population == "matched":
        nm = _num(arm_row.get("n_matched"))
        if nm:
            return int(nm), "matched"
    else:
        n = _num(arm_row.get("n"))
        if n:
            return int(n), "arm"
    dens = [int(d) for d in rows.denominator.dropna()] if "denominator" in rows else []
    if dens:
        return max(dens), "denominator"
    return None, ""


def _followup(store, study_id: str, arm_id: str) -> tuple[float | None, float | None, str, tuple[str, ...]]:
    o = store.outcomes
    f = o[(o.study_id == study_id) & (o.endpoint == "followup_median")]
    own = f[f.arm_id == arm_id]
    cohort = f[f.arm_id.isna()]
    rows = own if len(own) else cohort
    if not len(rows):
        return None, None, "", ()
    r = rows.iloc[0]
    med, lo, hi = _num(r.value), _num(r.range_low), _num(r.range_high)
    whose = "" if len(own) else " (whole cohort)"
    conflicts = _conflict_texts(store, r.conflict_ids, getattr(r, "evidence_file", None))
    if hi is not None:
        text = f"median follow-up {_fmt(med)} months{whose}, range {_fmt(lo or 0)}-{_fmt(hi)}" if med is not None \
            else f"follow-up {_fmt(lo or 0)}-{_fmt(hi)} months{whose}"
        return lo, hi, text, conflicts
    if med is not None:
        # only a median: follow-up spread evenly from 0 to twice it has that median
        return 0.0, 2 * med, (f"median follow-up {_fmt(med)} months{whose}; assumed spread evenly "
                              f"from 0 to {_fmt(2 * med)} months"), conflicts
    return None, None, "", conflicts


def _anchors(store, rows: pd.DataFrame, endpoint: str) -> list[Anchor]:
    out: list[Anchor] = []
    med = rows[(rows.endpoint == f"{endpoint}_median") & rows.value.notna()]
    if len(med):
        r = med.iloc[0]
        out.append(Anchor(float(r.value), 0.5, "median", f"median {_fmt(r.value)} months",
                          str(r.location), str(r.snippet), _conflict_texts(store, r.conflict_ids, getattr(r, "evidence_file", None)),
                          ci_low=_num(getattr(r, "ci_low", None)), ci_high=_num(getattr(r, "ci_high", None))))
    rates = rows[(rows.endpoint == f"{endpoint}_rate") & rows.value.notna() & rows.timepoint_months.notna()]
    for r in rates.sort_values("timepoint_months").itertuples():
        out.append(Anchor(float(r.timepoint_months), float(r.value) / 100.0, "rate",
                          f"{_fmt(r.value)}% at {_fmt(r.timepoint_months)} months", str(r.location),
                          str(r.snippet), _conflict_texts(store, r.conflict_ids, getattr(r, "evidence_file", None))))
    return out


def _check_against_median(anchors: list[Anchor]) -> list[Anchor]:
    """A landmark on the wrong side of 50% for the median cannot hold with it.

    The median is kept (the headline number, and what the store's conflict
    resolutions use); the landmark stays visible on the plot and in the
    fidelity table, marked as left out and why, so the contradiction is
    reported rather than smoothed away.
    """
    med = next((a for a in anchors if a.kind == "median"), None)
    if med is None:
        return anchors
    out = []
    for a in anchors:
        wrong = a.kind == "rate" and ((a.time < med.time and a.survival <= 0.5)
                                      or (a.time > med.time and a.survival >= 0.5))
        if wrong:
            side = "at or below" if a.time < med.time else "at or above"
            a = replace(a, used=False, why_unused=(
                f"{a.text} is {side} 50% {'before' if a.time < med.time else 'after'} the median of "
                f"{_fmt(med.time)} months: the two cannot both hold, the curve follows the median"))
        out.append(a)
    return out


def _label(src: CurveSource) -> str:
    if src.method == "digitised":
        return "digitised curve + risk table" + (f" + {src.events_text}" if src.events is not None else "")
    parts = []
    used = [a for a in src.anchors if a.used]
    if any(a.kind == "median" for a in used):
        parts.append("median")
    k = sum(a.kind == "rate" for a in used)
    if k:
        parts.append(f"{k} landmark rate{'s' if k > 1 else ''}")
    if src.events is not None:
        parts.append(src.events_text)
    text = " + ".join(parts) if parts else "nothing usable"
    if src.max_followup is None and src.events is None and used:
        text += f" (no follow-up reported: stops at {_fmt(max(a.time for a in used))} mo)"
    return text


def curve_sources(store, family: str, digitised_dir: Path | None = DIGITISED_DIR) -> list[CurveSource]:
    """One CurveSource per arm that reports anything for this endpoint family.

    Arms whose numbers cannot be rebuilt (no n, contradictory anchors, a broken
    digitised file) are returned too, with `problems` saying why, so a view can
    tell the user instead of silently leaving them out.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown endpoint family {family!r}: use one of {', '.join(FAMILIES)}")
    o = store.outcomes
    o = o[o.population.isin(_POPULATIONS) & o.arm_id.notna()]
    if "qualifier" in o:
        # a bound ("median > 24 months") is no point on a curve: never an anchor
        o = o[o.qualifier.isna()]
    # one pass over the outcomes instead of a filter of the whole table per arm
    by_arm = {key: rows for key, rows in o.groupby(["study_id", "arm_id"], sort=False)}
    empty = o.iloc[0:0]
    out: list[CurveSource] = []
    for arm in store.arms.to_dict("records"):
        sid, aid = arm["study_id"], arm["arm_id"]
        mine = by_arm.get((sid, aid), empty)
        src = None
        for endpoint in FAMILIES[family]:
            rows = mine[mine.endpoint.isin([f"{endpoint}_median", f"{endpoint}_rate", f"{endpoint}_events"])]
            digitised = _digitised(sid, aid, endpoint, digitised_dir)
            if rows.empty and digitised is None:
                continue
            src = _build(store, arm, endpoint, rows, digitised)
            break
        if src is not None:
            out.append(src)
    # events printed for both arms together: share them by the curves
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, src in enumerate(out):
        groups.setdefault((src.study_id, src.endpoint, src.population), []).append(i)
    for idx in groups.values():
        shared = _cohort_events(store, [out[i] for i in idx])
        for i, new in zip(idx, shared):
            out[i] = new
    return [replace(s, label=_label(s)) for s in out]


def _digitised(study_id, arm_id, endpoint, directory):
    if directory is None:
        return None
    try:
        return load_digitised(study_id, arm_id, endpoint, directory)
    except CurveFileError as exc:
        return exc


def _build(store, arm: dict, endpoint: str, rows: pd.DataFrame, digitised) -> CurveSource:
    sid, aid = arm["study_id"], arm["arm_id"]
    population = _pick_population(rows) if len(rows) else "overall"
    rows = rows[rows.population == population]
    n, _ = _arm_n(store, arm, population, rows)
    lo, hi, fu_text, fu_conflicts = _followup(store, sid, aid)
    anchors = _check_against_median(_anchors(store, rows, endpoint))
    ev_rows = rows[rows.endpoint == f"{endpoint}_events"]
    events, ev_text, ev_snip, ev_loc, ev_conf = None, "", "", "", ()
    if len(ev_rows):
        r = ev_rows.iloc[0]
        v = _num(r.value) if _num(r.value) is not None else _num(r["count"])
        if v is not None:
            events = int(round(v))
            one, many = EVENT_WORDS[endpoint]
            ev_text = f"{events} {one if events == 1 else many}"
            ev_snip, ev_loc, ev_conf = str(r.snippet), str(r.location), _conflict_texts(store, r.conflict_ids, getattr(r, "evidence_file", None))
    names = rows.reported_name.dropna()
    reported_name = str(names.iloc[0]) if len(names) else ENDPOINT_NAMES[endpoint]
    conflicts = list(dict.fromkeys([c for a in anchors for c in a.conflicts] + list(ev_conf) + list(fu_conflicts)))
    problems: list[str] = []
    notes: list[str] = []
    method = "summary"
    curve: tuple = ()
    risk: tuple = ()
    if isinstance(digitised, CurveFileError):
        notes.append(f"digitised file not used: {digitised}")
    elif digitised is not None:
        c, r = digitised
        method = "digitised"
        curve = tuple(zip(c.times, c.survival))
        risk = tuple(zip(r.times, r.at_risk))
        notes += list(c.notes) + list(r.notes)
        n = r.at_risk[0]
    if method == "summary":
        if n is None:
            problems.append("the number of patients in this arm is not reported")
        used = [(a.time, a.survival) for a in anchors if a.used]
        if not used:
            problems.append("no median or landmark rate is reported")
        else:
            try:
                reconstruct.clean_anchors(used)
            except ValueError as exc:
                problems.append(str(exc))
        if events is not None and n is not None and events > n:
            problems.append(f"{ev_text} reported for {n} patients")
    for a in anchors:
        if not a.used:
            notes.append(f"left out: {a.why_unused}")
    study_label = _study_label(store, sid)
    return CurveSource(
        key=f"{sid}:{aid}", study_id=sid, arm_id=aid, study_label=study_label, arm_label=str(arm["label"]),
        endpoint=endpoint, reported_name=reported_name, population=population, n=n, anchors=tuple(anchors),
        events=events, events_text=ev_text, events_snippet=ev_snip, events_location=ev_loc,
        min_followup=lo, max_followup=hi, followup_text=fu_text, method=method, curve=curve, risk_table=risk,
        conflicts=tuple(conflicts), problems=tuple(problems), notes=tuple(notes))


def _cohort_events(store, siblings: list[CurveSource]) -> list[CurveSource]:
    """Events printed for the whole cohort ("59 of 96 died"), shared between its arms.

    Only when every arm of that cohort lacks its own count and can be rebuilt
    from its summary: the arms share one follow-up, and the censoring pace that
    gives the total is found for all of them together (reconstruct.split_events).
    """
    first = siblings[0]
    if len(siblings) < 2 or any(s.events is not None for s in siblings):
        return siblings
    o = store.outcomes
    rows = o[(o.study_id == first.study_id) & o.arm_id.isna() & (o.endpoint == f"{first.endpoint}_events")
             & (o.population == first.population)]
    if not len(rows):
        return siblings
    r = rows.iloc[0]
    total = _num(r.value) if _num(r.value) is not None else _num(r["count"])
    if total is None:
        return siblings
    total = int(round(total))
    one, many = EVENT_WORDS[first.endpoint]
    den = _num(r.denominator)
    n_sum = sum(s.n or 0 for s in siblings)
    if any(not s.reconstructable or s.method != "summary" for s in siblings) \
            or (den is not None and int(den) != n_sum):
        note = f"{total} {many} reported for the whole cohort only; not shared between arms"
        return [replace(s, notes=s.notes + (note,)) for s in siblings]
    try:
        counts = reconstruct.split_events([(s.n, s.used_anchors) for s in siblings], total,
                                          first.max_followup, first.min_followup)
    except ValueError:
        return siblings
    cohort = "both arms" if len(siblings) == 2 else "the cohort"
    extra = _conflict_texts(store, r.conflict_ids, getattr(r, "evidence_file", None))
    out = []
    for s, k in zip(siblings, counts):
        # events is this arm's share when the curves are rebuilt alone; a pair held
        # to a reported HR shares pooled_events by the HR instead (rebuild_plan)
        out.append(replace(
            s, events=k, events_text=f"{total} {many} in {cohort} (each arm's share derived)",
            events_snippet=str(r.snippet), events_location=str(r.location),
            conflicts=s.conflicts + tuple(c for c in extra if c not in s.conflicts),
            pooled_events=total, pooled_text=f"{total} {many} in {cohort}",
            notes=s.notes + (f"the paper gives {total} {many} for {cohort} together; each arm's share is "
                             "derived, not reported: by the reported hazard ratio where the pair is held to it, "
                             "otherwise by one follow-up pace fitted to all its curves",)))
    return out


def rebuild(src: CurveSource) -> pd.DataFrame:
    """Pseudo patient data (time, event) for one curve source."""
    if not src.reconstructable:
        raise ValueError(f"{src.display_name}: cannot be rebuilt: {'; '.join(src.problems) or src.method}")
    if src.method == "digitised":
        t, s = zip(*src.curve)
        rt, rn = zip(*src.risk_table)
        return reconstruct.guyot(t, s, rt, rn, total_events=src.events)
    return reconstruct.from_summary(src.n, src.used_anchors, events=src.events,
                                    max_followup=src.max_followup, min_followup=src.min_followup)


def rebuild_args(src: CurveSource) -> tuple:
    """The plain, hashable arguments of `rebuild` (for caching in a view)."""
    if src.method == "digitised":
        return ("digitised", src.curve, src.risk_table, src.events)
    return ("summary", src.n, tuple(src.used_anchors), src.events, src.max_followup, src.min_followup)


def rebuild_from_args(args: tuple) -> pd.DataFrame:
    if args[0] == "digitised":
        _, curve, risk, events = args
        t, s = zip(*curve)
        rt, rn = zip(*risk)
        return reconstruct.guyot(t, s, rt, rn, total_events=events)
    _, n, anchors, events, hi, lo = args
    return reconstruct.from_summary(n, list(anchors), events=events, max_followup=hi, min_followup=lo)


def summary_kwargs(src: CurveSource, pooled: bool = False) -> dict:
    """from_summary's keyword arguments for one arm (pooled: the cohort's deaths are shared by the pair)."""
    return {"n": src.n, "anchors": tuple(src.used_anchors), "events": None if pooled else src.events,
            "max_followup": src.max_followup, "min_followup": src.min_followup}


def rebuild_plan(sources: Iterable[CurveSource], reported_hrs: Iterable["ReportedHR"] = ()) -> tuple:
    """How every curve is rebuilt: plain, hashable steps (a view can cache each one).

    A two-arm study that reports an HR is rebuilt as a pair: from the
    summaries with from_summary_pair, held to the HR (the arms' deaths shared
    by the HR where only the cohort's total is printed), or from two digitised
    curves with guyot_pair (one data cut-off). An arm in several reported HRs
    (a three-arm trial) is held to the first (unadjusted preferred); every other
    arm is rebuilt alone. Each step is
    ("pair", reference key, experimental key, how, args) or ("single", key, rebuild_args).
    """
    by_key = {s.key: s for s in sources if s.reconstructable}
    done: set[str] = set()
    steps = []
    for h in reported_hrs:
        ref, exp = by_key.get(h.reference_key), by_key.get(h.experimental_key)
        if ref is None or exp is None or ref.key in done or exp.key in done:
            continue
        if ref.method == exp.method == "summary":
            pooled = ref.pooled_events is not None and ref.pooled_events == exp.pooled_events
            args = (tuple(sorted(summary_kwargs(ref, pooled).items())),
                    tuple(sorted(summary_kwargs(exp, pooled).items())), h.hr,
                    ref.pooled_events if pooled else None)
            steps.append(("pair", ref.key, exp.key, "summary", args))
        elif ref.method == exp.method == "digitised":
            steps.append(("pair", ref.key, exp.key, "digitised", (rebuild_args(ref), rebuild_args(exp))))
        else:
            continue
        done |= {ref.key, exp.key}
    for key, src in by_key.items():
        if key not in done:
            steps.append(("single", key, rebuild_args(src)))
    return tuple(steps)


def rebuild_step(step: tuple) -> dict[str, pd.DataFrame]:
    """Pseudo patient data of one step of rebuild_plan, by source key."""
    if step[0] == "single":
        return {step[1]: rebuild_from_args(step[2])}
    _, ref_key, exp_key, how, args = step
    if how == "summary":
        ref_kw, exp_kw, hr, pooled = args
        ref_kw, exp_kw = dict(ref_kw), dict(exp_kw)
        for kw in (ref_kw, exp_kw):
            kw["anchors"] = list(kw["anchors"])
        ref_ipd, exp_ipd = reconstruct.from_summary_pair(ref_kw, exp_kw, hr=hr, pooled_events=pooled)
    else:
        (_, c_ref, r_ref, e_ref), (_, c_exp, r_exp, e_exp) = args

        def kw(curve, risk, events):
            t, s = zip(*curve)
            rt, rn = zip(*risk)
            return {"t": t, "s": s, "risk_times": rt, "n_risk": rn, "total_events": events}
        ref_ipd, exp_ipd = reconstruct.guyot_pair(kw(c_ref, r_ref, e_ref), kw(c_exp, r_exp, e_exp))
    return {ref_key: ref_ipd, exp_key: exp_ipd}


def rebuild_all(sources: Iterable[CurveSource], reported_hrs: Iterable["ReportedHR"] = ()) -> dict[str, pd.DataFrame]:
    """Every rebuildable curve, pairs held to their reported HR (see rebuild_plan)."""
    out: dict[str, pd.DataFrame] = {}
    for step in rebuild_plan(list(sources), list(reported_hrs)):
        out.update(rebuild_step(step))
    return out


def held_pairs(plan: tuple) -> dict[tuple[str, str], str]:
    """(experimental key, reference key) -> how the pair was rebuilt, for the fidelity notes."""
    out = {}
    for step in plan:
        if step[0] != "pair":
            continue
        _, ref_key, exp_key, how, args = step
        if how == "summary":
            pooled = args[3]
            text = ("curves held to this HR: beyond each arm's last reported point its hazard is tilted until "
                    "the pseudo-data's Cox HR meets it; no reported point moves")
            if pooled is not None:
                text += f"; the {pooled} deaths reported for both arms together are split between them by this HR"
        else:
            text = "both digitised curves rebuilt together (one data cut-off when they end together)"
        out[(exp_key, ref_key)] = text
    return out


@dataclass(frozen=True)
class ReportedHR:
    study_id: str
    experimental_key: str
    reference_key: str
    endpoint: str
    hr: float
    ci_low: float | None
    ci_high: float | None
    adjusted: bool
    adjusted_for: str
    population: str
    text: str
    location: str
    snippet: str
    conflicts: tuple[str, ...] = ()


def reported_hazard_ratios(store, sources: Iterable[CurveSource]) -> list[ReportedHR]:
    """The paper's hazard ratio for each pair of rebuilt arms of one study.

    The unadjusted estimate is preferred: a Cox model on pseudo-data of two
    arms has no covariates, so that is the like-for-like comparison.
    """
    by_key = {s.key: s for s in sources}
    out = []
    hr = store.hazard_ratios
    if hr.empty:
        return out
    for r in hr.sort_values("adjusted", kind="mergesort").to_dict("records"):
        ek, rk = f"{r['study_id']}:{r['experimental_arm_id']}", f"{r['study_id']}:{r['reference_arm_id']}"
        if ek not in by_key or rk not in by_key:
            continue
        e = by_key[ek]
        if r["endpoint"] != e.endpoint or r["endpoint"] != by_key[rk].endpoint:
            continue
        if r.get("population") not in (e.population, "overall") or r.get("population") == "subgroup":
            continue
        if any(x.experimental_key == ek and x.reference_key == rk and x.endpoint == r["endpoint"] for x in out):
            continue
        ci = f" (95% CI {_fmt(r['ci_low'])}-{_fmt(r['ci_high'])})" if _num(r.get("ci_low")) is not None else ""
        adj = f", adjusted for {r['adjusted_for']}" if r["adjusted"] else ", unadjusted"
        out.append(ReportedHR(
            study_id=r["study_id"], experimental_key=ek, reference_key=rk, endpoint=r["endpoint"],
            hr=float(r["hr"]), ci_low=_num(r.get("ci_low")), ci_high=_num(r.get("ci_high")),
            adjusted=bool(r["adjusted"]), adjusted_for=str(r.get("adjusted_for") or ""),
            population=str(r.get("population")), text=f"HR {_fmt(r['hr'])}{ci}{adj}",
            location=str(r.get("location")), snippet=str(r.get("snippet")),
            conflicts=_conflict_texts(store, r.get("conflict_ids"), r.get("evidence_file"))))
    return out


# The tumor board's usual question, answered within one study: FOLFOX-HAIC against
# sorafenib (001). Other studies' arms are one click away; a cross-study overlay is
# never the first thing shown. Arms not (yet) in the store are skipped.
DEFAULT_KEYS = ("huang2022:folfox_haic", "huang2022:sorafenib")


def default_keys(available: Iterable[str]) -> list[str]:
    available = list(available)
    keys = [k for k in DEFAULT_KEYS if k in available]
    return keys or available[:2]
