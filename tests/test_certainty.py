"""GRADE certainty: the rules on hand-made comparisons (one per reason), imprecision from CIs,
the risk-of-bias records against their sources, and the summary of findings on the real store."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from evidence.certainty import (OIS_EVENTS, certainty_table, imprecision, plain_statement,
                                summary_of_findings)
from evidence.schema import ROB_DOMAINS
from evidence.store import DATA_DIR, Store, load_store

# --- a hand-made store ------------------------------------------------------


def comparison(study_id, *, design="randomised", source_kind="primary", endpoint="OS", hr=0.5,
               ci=(0.40, 0.62), population="overall", subgroup=None, tool=None, overall="low",
               events=600, exp_label="Drug A", ref_label="Drug B", adjusted=False):
    """One study with one hazard ratio, its event count and a risk-of-bias record."""
    tool = tool or ("RoB 2" if design == "randomised" else "ROBINS-I")
    return dict(study_id=study_id, design=design, source_kind=source_kind, endpoint=endpoint, hr=hr,
                ci=ci, population=population, subgroup=subgroup, tool=tool, overall=overall,
                events=events, exp_label=exp_label, ref_label=ref_label, adjusted=adjusted)


def make_store(*comps) -> Store:
    studies, arms, outcomes, hrs, rob = [], [], [], [], []
    for c in comps:
        sid = c["study_id"]
        studies.append({"study_id": sid, "design": c["design"], "source_kind": c["source_kind"],
                        "short_name": sid, "citation": sid})
        arms += [{"study_id": sid, "arm_id": "exp", "label": c["exp_label"], "n": 400},
                 {"study_id": sid, "arm_id": "ref", "label": c["ref_label"], "n": 400}]
        if c["events"] is not None:
            outcomes.append({"study_id": sid, "arm_id": None, "endpoint": f"{c['endpoint']}_events",
                             "value": c["events"], "count": c["events"], "population": c["population"],
                             "subgroup": c["subgroup"], "derived": False, "timepoint_months": None,
                             "snippet": "", "location": ""})
        lo, hi = c["ci"] if c["ci"] else (None, None)
        hrs.append({"study_id": sid, "experimental_arm_id": "exp", "reference_arm_id": "ref",
                    "endpoint": c["endpoint"], "hr": c["hr"], "ci_low": lo, "ci_high": hi, "ci_level": 0.95,
                    "p_text": None, "adjusted": c["adjusted"], "adjusted_for": "", "population": c["population"],
                    "subgroup": c["subgroup"], "record_id": f"{sid}:hazard_ratios[0]", "location": "",
                    "snippet": ""})
        if c["overall"] is not None:
            for dom in ROB_DOMAINS[c["tool"]] + ("overall",):
                rob.append({"study_id": sid, "experimental_arm_id": "exp", "reference_arm_id": "ref",
                            "endpoint": c["endpoint"], "population": c["population"], "subgroup": c["subgroup"],
                            "tool": c["tool"], "domain": dom,
                            "judgement": c["overall"] if dom in ("overall", "confounding",
                                                                 "randomisation_process") else "low",
                            "reason": "hand-made"})
    outcomes_df = pd.DataFrame(outcomes, columns=["study_id", "arm_id", "endpoint", "value", "count",
                                                  "population", "subgroup", "derived", "timepoint_months",
                                                  "snippet", "location"])
    return Store(studies=pd.DataFrame(studies), arms=pd.DataFrame(arms), outcomes=outcomes_df,
                 hazard_ratios=pd.DataFrame(hrs), adverse_events=pd.DataFrame(), conflicts=pd.DataFrame(),
                 risk_of_bias=pd.DataFrame(rob))


def rated(*comps) -> pd.DataFrame:
    return certainty_table(make_store(*comps)).set_index("study_id")


# --- one reason at a time ------------------------------------------------------

def test_precise_randomised_low_risk_trial_is_high():
    row = rated(comparison("t"))
    assert row.loc["t", "certainty"] == "high"
    assert row.loc["t", "reasons"] == []
    assert row.loc["t", "certainty_symbol"] == "⊕⊕⊕⊕"


def test_risk_of_bias_rates_down():
    row = rated(comparison("t", overall="some concerns"), comparison("u", overall="high"),
                comparison("v", overall="not assessable from the source"), comparison("w", overall=None))
    assert row.loc["t", "certainty"] == "moderate"
    assert row.loc["u", "certainty"] == "low"                 # RoB 2 'high': two levels
    assert row.loc["v", "certainty"] == "moderate"            # cannot be judged: one level
    assert row.loc["w", "certainty"] == "moderate"            # no judgement recorded: one level
    assert any(r.startswith("Risk of bias") for r in row.loc["t", "reasons"])
    assert "no risk-of-bias judgement" in row.loc["w", "reasons"][0]


def test_imprecision_rates_down():
    row = rated(comparison("t", hr=0.9, ci=(0.8, 1.02)))        # CI includes 1
    assert row.loc["t", "certainty"] == "moderate"
    assert "includes no difference" in row.loc["t", "reasons"][0]


def test_surrogate_endpoint_rates_down_for_indirectness():
    row = rated(comparison("t", endpoint="PFS"))
    assert row.loc["t", "certainty"] == "moderate"
    assert row.loc["t", "reasons"] == ["Indirectness: progression-free survival is a surrogate for overall survival"]


def test_review_report_rates_down_for_indirectness():
    row = rated(comparison("t", source_kind="review"))
    assert row.loc["t", "certainty"] == "moderate"
    assert "known only through a review" in row.loc["t", "reasons"][0]


def test_subgroup_rates_down_and_two_indirect_reasons_rate_down_twice():
    row = rated(comparison("t", population="subgroup", subgroup="MET-high"),
                comparison("u", population="subgroup", subgroup="MET-high", endpoint="TTP"))
    assert row.loc["t", "certainty"] == "moderate"
    assert "subgroup only (MET-high)" in row.loc["t", "reasons"][0]
    assert row.loc["u", "certainty"] == "low"


def test_inconsistency_only_with_several_studies():
    # Same comparison (same arm labels), effects on opposite sides of 1 with disjoint CIs.
    row = rated(comparison("t", hr=0.5, ci=(0.40, 0.62)), comparison("u", hr=1.6, ci=(1.3, 1.97)))
    assert row.loc["t", "certainty"] == row.loc["u", "certainty"] == "moderate"
    assert row.loc["t", "reasons"][0].startswith("Inconsistency")
    single = rated(comparison("t"))
    assert single.loc["t", "inconsistency_detail"] == "not applicable (single study)"


def test_non_randomised_starts_low_and_serious_bias_gives_very_low():
    row = rated(comparison("c", design="retrospective", overall="moderate"),
                comparison("d", design="retrospective", overall="serious"))
    assert row.loc["c", "certainty"] == "low"
    assert row.loc["c", "reasons"] == ["Starts at low: a non-randomised comparison"]
    assert row.loc["d", "certainty"] == "very_low"


@pytest.mark.parametrize("overall", ["low", "moderate", "serious", "critical", "not assessable from the source", None])
@pytest.mark.parametrize("design", ["retrospective", "propensity_matched", "prospective"])
def test_no_non_randomised_comparison_is_ever_above_low(overall, design):
    row = rated(comparison("c", design=design, overall=overall, events=5000, hr=0.3, ci=(0.25, 0.36)))
    assert row.loc["c", "certainty"] in ("low", "very_low")


# --- imprecision from CIs ------------------------------------------------------

def test_optimal_information_size_by_hand():
    # Schoenfeld, 1:1: 4 (1.959964 + 0.841621)^2 / ln(0.75)^2 = 4 * 7.848887 / 0.082761 = 379.35 -> 380
    assert OIS_EVENTS == 380


def test_imprecision_criteria_one_at_a_time():
    assert imprecision(0.59, 0.49, 0.72, events=415).levels == 0            # narrow, below 0.75, enough events
    crosses = imprecision(0.92, 0.78, 1.10, events=520)
    assert crosses.levels == 1 and "includes no difference" in crosses.reasons[0]
    wide = imprecision(0.56, 0.33, 0.95, events=400)                        # from 0.33 to nearly no effect
    assert wide.levels == 1 and "appreciable to a small or trivial" in wide.reasons[0]
    few = imprecision(0.35, 0.23, 0.53, events=103)                         # Huang OS: 103 deaths
    assert few.levels == 1 and "few events: 103" in few.reasons[0]
    both_ways = imprecision(1.0, 0.6, 1.6, events=1000)                     # benefit and harm both possible
    assert both_ways.levels == 2
    wide_and_very_few = imprecision(0.56, 0.33, 0.95, events=59)            # Hepa-HAIC OS: 59 < 380 / 3
    assert wide_and_very_few.levels == 2


def test_events_approximated_from_the_ci_when_not_reported():
    # SE = ln(0.72 / 0.33) / 3.92 = 0.780159 / 3.919928 = 0.199024; 4 / SE^2 = 100.98
    imp = imprecision(0.49, 0.33, 0.72)
    assert imp.events == pytest.approx(100.98, abs=0.1)
    assert imp.events_source == "approximate from the CI"


def test_tivantinib_90_percent_ci_is_imprecise_once_converted():
    # The printed 90% CI 0.43-0.94 excludes 1; converted to 95% it is 0.40-1.02 and includes 1.
    imp = imprecision(0.64, 0.43, 0.94, ci_level=0.90)
    assert imp.ci95_low == pytest.approx(0.4016, abs=1e-4) and imp.ci95_high == pytest.approx(1.0199, abs=1e-4)
    assert "includes no difference" in imp.reasons[0]
    assert "printed 90% CI 0.43 to 0.94" in imp.reasons[0]
    # Read wrongly as a 95% CI it would not include 1.
    assert not any("no difference" in r for r in imprecision(0.64, 0.43, 0.94, ci_level=0.95).reasons)


def test_no_ci_cannot_be_precise():
    assert imprecision(0.39, None, None, patients=30).levels == 2
    assert imprecision(0.39, None, None, patients=None).levels == 1


def test_plain_language_statements():
    assert plain_statement("high", "A", "B", "OS", 0.4, 0.6) == "A improves overall survival compared with B."
    assert plain_statement("moderate", "A", "B", "OS", 0.4, 0.6).startswith("A probably improves")
    assert plain_statement("low", "A", "B", "PFS", 1.1, 1.4) == "A may worsen progression-free survival compared with B."
    assert plain_statement("low", "A", "B", "OS", 0.8, 1.1) == \
        "A may result in little to no difference in overall survival compared with B."
    assert plain_statement("very_low", "A", "B", "OS", 0.4, 0.6).startswith("The evidence is very uncertain")


# --- the real store ------------------------------------------------------------

@pytest.fixture(scope="module")
def checked_store(sources_dir):
    return load_store(sources=sources_dir)


def test_every_design_and_risk_of_bias_snippet_is_verbatim(checked_store):
    # The validator checks every snippet of design_details and risk_of_bias against its source.
    problems = [str(p) for p in checked_store.problems]
    assert problems == []
    assert checked_store.risk_of_bias["snippet"].notna().sum() > 40


def test_validator_catches_a_risk_of_bias_snippet_not_in_the_source(tmp_path, sources_dir):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    f = data / "001_huang2022_haic_vs_sorafenib.yaml"
    text = f.read_text(encoding="utf-8")
    quoted = '"Finally, the treatment option of either HAIC or sorafenib was made by the patient."'
    assert quoted in text
    f.write_text(text.replace(quoted, '"The treatment was allocated at random."'), encoding="utf-8")
    store = load_store(data, sources=sources_dir)
    assert any(p.record.startswith("risk_of_bias") and "not found verbatim" in p.message for p in store.problems)


def test_every_hazard_ratio_has_a_risk_of_bias_judgement_and_a_certainty(checked_store):
    ct = certainty_table(checked_store)
    assert len(ct) == len(checked_store.hazard_ratios)
    assert (ct["rob_overall"] != "not recorded").all()
    assert set(ct["certainty"]) <= {"high", "moderate", "low", "very_low"}
    assert ct[~ct["randomised"]]["certainty"].isin(["low", "very_low"]).all()
    primary = ct[ct["study_id"].isin(["sun2022", "huang2022", "liu_hepasphere"])]
    assert (primary["rob_tool"] == "ROBINS-I").all()


def test_summary_of_findings_covers_every_comparison(checked_store):
    sof = summary_of_findings(checked_store)
    hr = checked_store.hazard_ratios
    keys = set(zip(hr.study_id, hr.experimental_arm_id, hr.reference_arm_id, hr.endpoint, hr.population,
                   hr.subgroup.fillna("")))
    got = set(zip(sof.study_id, sof.experimental_arm_id, sof.reference_arm_id, sof.endpoint, sof.population,
                  sof.subgroup.fillna("")))
    assert got == keys and len(sof) == len(keys)


def test_summary_of_findings_baseline_reported_or_rebuilt(checked_store):
    # Huang PFS: no landmark rate in the paper; a rebuilt sorafenib value of 20% at 12 months gives
    # 0.2 ** 0.49 = exp(0.49 * -1.609438) = exp(-0.788625) = 45.45% -> 25 more per 100.
    sof = summary_of_findings(checked_store, rebuilt={("huang2022", "sorafenib", "PFS", 12): 20.0})
    pfs = sof[(sof.study_id == "huang2022") & (sof.endpoint == "PFS")].iloc[0]
    assert pfs["baseline_source_12m"] == "from the rebuilt curve"
    assert pfs["experimental_12m"] == pytest.approx(45.45, abs=0.01)
    assert pfs["baseline_source_24m"] == "not available"
    os_ = sof[(sof.study_id == "sun2022") & (sof.endpoint == "OS")].iloc[0]
    assert os_["baseline_source_12m"] == "reported" and os_["baseline_12m"] == 31.5
    assert "1-year" in os_["baseline_snippet_12m"] or "31.5%" in os_["baseline_snippet_12m"]
    assert os_["median_difference"] == pytest.approx(14.9 - 8.2)


def test_design_summary_in_plain_words(checked_store):
    from evidence.certainty import design_summary
    ds = design_summary(checked_store).set_index("study_id")
    assert ds.loc["huang2022", "allocation"] == "patient's choice; consecutive cohort"
    assert ds.loc["huang2022", "subgroup_of_trials"] == "subgroup or post hoc analysis of other trials"
    assert ds.loc["sun2022", "blinding"] == "not reported in the source"
    assert ds.loc["brisk_fl", "source_kind"] == "reported through a review"
    assert (ds["allocation"] != "not recorded").all()     # every study has its design facts curated
