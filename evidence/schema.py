"""Schema of an evidence file: one YAML file per source document.

A curator edits these files by hand and reviews them in a diff, so the schema
is strict (unknown fields are errors, vocabularies are closed) and every number
carries its provenance: where in the paper it stands and a verbatim snippet.
"""
from __future__ import annotations

import math
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

# Closed vocabularies. Adding a value here is a deliberate, reviewed change.
Design = Literal[
    "randomised",              # randomised controlled trial (any phase)
    "prospective_single_arm",  # prospective, one arm
    "prospective",             # prospective, non-randomised, several arms
    "retrospective",           # retrospective cohort / subgroup analysis
    "propensity_matched",      # retrospective with propensity-score matching
    "meta_analysis",           # pooled analysis of several trials
]
Endpoint = Literal[
    "OS_median", "PFS_median", "TTP_median", "DFS_median",
    "OS_rate", "PFS_rate", "TTP_rate", "DFS_rate",
    "ORR", "DCR", "CR", "PR", "SD", "PD",
    "OS_events", "PFS_events", "TTP_events", "DFS_events",
    "followup_median",
]
HazardEndpoint = Literal["OS", "PFS", "TTP", "DFS"]
Unit = Literal["months", "percent", "count"]
PrintedUnit = Literal["days", "weeks", "months", "years"]
Criteria = Literal["RECIST 1.1", "mRECIST", "EASL", "WHO", "RECIST", "Choi", "not stated"]
Population = Literal["overall", "matched", "unmatched", "subgroup", "per_protocol"]
# "moderate-severe": the paper prints "moderate and severe" without CTCAE grades. Moderate is
# grade 2, so these rows are not grade 3-4 and must never be shown as such.
Grade = Literal["any", "1-2", "3", "4", "3-4", "5", "moderate-severe"]
# A value printed as a bound ("< 7.2%"): ASCII spellings of <, <=, >, >=.
Qualifier = Literal["<", "<=", ">", ">="]
# major: changes a number a clinician would use; minor: wording or a detail.
Severity = Literal["major", "minor"]
Route = Literal["intravenous", "hepatic arterial", "oral", "mixed", "other"]
SourceKind = Literal["primary", "review"]
ConflictKind = Literal[
    "abstract_vs_results", "percent_vs_count", "text_vs_table", "swapped_values",
    "wrong_denominator", "table_arithmetic", "naming", "other",
]

# The patient profile of "does this evidence apply to my patient?" (evidence/fit.py).
# A profile holds categories only, never anything that identifies a person.
ProfileField = Literal["age", "ecog", "child_pugh", "bclc", "pvtt", "extrahepatic", "prior"]
PROFILE_FIELDS: tuple[str, ...] = ("age", "ecog", "child_pugh", "bclc", "pvtt", "extrahepatic", "prior")
PROFILE_VALUES: dict[str, tuple[str, ...]] = {
    "ecog": ("0", "1", "2", "3", "4"),
    "child_pugh": ("A5", "A6", "B7", "B8", "B9", "C"),
    "bclc": ("A", "B", "C", "D"),
    # main_trunk is a portal vein tumour thrombus in the main trunk (a kind of "present")
    "pvtt": ("none", "present", "main_trunk"),
    "extrahepatic": ("no", "yes"),
    # tace: TACE failed or refractory, no systemic therapy; systemic: after a first-line systemic therapy
    "prior": ("none", "tace", "systemic"),
}
AGE_LIMITS = (0, 120)  # a profile age outside these is a typing error, not a patient
# A criterion is either one the paper states (inclusion, exclusion, or what a review says about a
# trial's population) or an explicit "not reported in the source".
EligibilityField = Literal["age", "ecog", "child_pugh", "bclc", "pvtt", "extrahepatic", "prior",
                           "organ_function"]
# population_statement: what a paper says of its population outside its criteria (title, aims).
CriterionKind = Literal["inclusion", "exclusion", "review_population", "population_statement",
                        "not_reported"]
NOT_REPORTED = "not reported in the source"
BaselineCharacteristic = Literal[
    "age", "ecog", "child_pugh", "bclc", "pvtt", "vascular_invasion", "extrahepatic",
    "hbv", "hcv", "afp", "prior_treatment",
]
# Categories of a baseline row: the profile's values where the characteristic is a profile field
# (child_pugh also by class "A", "B"); present/absent, yes/no; a cut-off side for age and AFP.
BASELINE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "ecog": ("0", "1", "2", "3", "4", "0-1"),  # "0-1" where only "0 or 1" is printed
    "child_pugh": ("A", "B", "C", "A5", "A6", "B7", "B8", "B9"),
    "bclc": ("A", "B", "C", "D"),
    "pvtt": ("present", "absent", "main_trunk"),
    "vascular_invasion": ("present", "absent"),
    "extrahepatic": ("yes", "no"),
    "hbv": ("yes", "no"),
    "hcv": ("yes", "no"),
    "prior_treatment": ("yes", "no"),
    "afp": ("above", "at_or_above", "below", "at_or_below"),
    "age": ("above", "at_or_above", "below", "at_or_below", "all"),
}


def _as_number(v):
    """The float a value would become, or None if it is not a number at all."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        try:
            return float(v)
        except OverflowError:          # an int too large for a float
            return math.inf
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _finite(v):
    # Runs before pydantic's own checks, so that NaN is called NaN and not
    # "should be greater than 0" (every comparison with NaN is false).
    x = _as_number(v)
    if x is not None and math.isnan(x):
        raise ValueError("not a number (NaN): give the number as printed, or leave the field out")
    if x is not None and math.isinf(x):
        raise ValueError("infinite: give the number as printed")
    return v


HR_MIN, HR_MAX = 0.001, 1000.0


def _plausible_hr(v):
    v = _finite(v)
    x = _as_number(v)
    if x is not None and x <= 0:
        raise ValueError(f"{x:g} is not a hazard ratio: it must be greater than 0")
    if x is not None and not HR_MIN < x < HR_MAX:
        raise ValueError(f"{x:g} is not a plausible hazard ratio (it must lie between {HR_MIN:g} and {HR_MAX:g})")
    return v


Finite = Annotated[float, BeforeValidator(_finite)]
HazardRatioValue = Annotated[float, BeforeValidator(_plausible_hr)]


def _p_value(v):
    x = _finite(v)
    if isinstance(x, (int, float)) and not isinstance(x, bool) and not 0 <= x <= 1:
        raise ValueError(f"a p value of {x:g} is impossible (must be 0-1)")
    return v


PValue = Annotated[Optional[Union[str, float]], BeforeValidator(_p_value)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Provenance(Strict):
    location: str = Field(min_length=2, description="abstract, a section or a table")
    snippet: str = Field(min_length=3, description="verbatim text of the source containing the number")
    context_snippet: Optional[str] = Field(
        default=None, description="a second verbatim text, e.g. a table header giving the denominator")
    derived: bool = False
    formula: Optional[str] = None
    conflict_ids: list[str] = Field(default_factory=list)
    note: Optional[str] = None

    @model_validator(mode="after")
    def _derived_has_formula(self):
        if self.derived and not self.formula:
            raise ValueError("a derived value needs a 'formula' saying how it was computed")
        return self


class Arm(Strict):
    arm_id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    regimen: str
    route: Route
    n: Optional[int] = Field(default=None, ge=1)
    n_matched: Optional[int] = Field(default=None, ge=1, description="patients of this arm in the matched cohort")
    location: Optional[str] = None
    snippet: Optional[str] = None
    conflict_ids: list[str] = Field(default_factory=list)
    note: Optional[str] = None


class Study(Strict):
    study_id: str = Field(pattern=r"^[a-z0-9_]+$")
    source_kind: SourceKind = "primary"
    short_name: Optional[str] = Field(default=None, description="the name a clinician knows it by, e.g. 'EACH', 'Sun 2022'")
    citation: str
    first_author: Optional[str] = None
    year: Optional[int] = None
    trial_name: Optional[str] = None
    registry: Optional[str] = None
    doi: Optional[str] = None
    design: Design
    design_detail: Optional[str] = None
    phase: Optional[str] = None
    centres: Optional[str] = None
    country: Optional[str] = None
    enrolment_period: Optional[str] = None
    setting: Optional[str] = None
    line_of_therapy: Optional[str] = None
    population: Optional[str] = None
    bclc: Optional[str] = None
    child_pugh: Optional[str] = None
    portal_vein_invasion: Optional[str] = None
    extrahepatic_spread: Optional[str] = None
    prior_therapy: Optional[str] = None
    tace_refractory: Optional[bool] = None
    followup: Optional[str] = None
    n_total: Optional[int] = Field(default=None, ge=1)
    primary_comparison: Optional[list[str]] = Field(
        default=None, description="[experimental arm_id, reference arm_id] of the headline comparison")
    arms: list[Arm] = Field(min_length=1)
    location: Optional[str] = None
    snippet: Optional[str] = None
    conflict_ids: list[str] = Field(default_factory=list)
    note: Optional[str] = None

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms):
        ids = [a.arm_id for a in arms]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate arm_id {', '.join(dup)}")
        return arms


class Outcome(Provenance):
    study_id: str
    arm_id: Optional[str] = Field(default=None, description="null for a whole-cohort value")
    endpoint: Endpoint
    # no endpoint of this schema is negative (times, percentages, counts)
    value: Optional[Finite] = Field(default=None, ge=0)
    unit: Unit
    ci_low: Optional[Finite] = Field(default=None, ge=0)
    ci_high: Optional[Finite] = Field(default=None, ge=0)
    ci_level: Finite = Field(default=0.95, gt=0, lt=1)
    range_low: Optional[Finite] = Field(default=None, ge=0)
    range_high: Optional[Finite] = Field(default=None, ge=0)
    count: Optional[int] = Field(default=None, ge=0)
    denominator: Optional[int] = Field(default=None, ge=1)
    timepoint_months: Optional[Finite] = Field(default=None, gt=0)
    criteria: Optional[Criteria] = None
    population: Population = "overall"
    subgroup: Optional[str] = None
    reported_name: str
    printed_value: Optional[str] = Field(default=None, description="as printed when converted, e.g. '45 days'")
    qualifier: Optional[Qualifier] = Field(
        default=None, description="the value is a bound as printed: '<' for '< 7.2%'; never plotted as a point")
    p: PValue = None

    @model_validator(mode="after")
    def _coherent(self):
        if self.value is None and self.count is None:
            raise ValueError("an outcome needs a 'value' or a 'count'")
        if self.qualifier is not None and self.value is None:
            raise ValueError("a 'qualifier' bounds the 'value': give the value as printed")
        if self.qualifier is not None and self.derived:
            raise ValueError("a bounded value is stored as printed, never derived")
        if self.endpoint.endswith("_rate") and self.timepoint_months is None:
            raise ValueError("a landmark rate needs 'timepoint_months'")
        if self.population == "subgroup" and not self.subgroup:
            raise ValueError("population 'subgroup' needs a 'subgroup' description")
        if self.endpoint in ("ORR", "DCR", "CR", "PR", "SD", "PD") and self.criteria is None:
            raise ValueError("a response endpoint needs 'criteria' (use 'not stated' if the paper does not say)")
        return self


class HazardRatio(Provenance):
    study_id: str
    experimental_arm_id: str
    reference_arm_id: str
    endpoint: HazardEndpoint
    hr: HazardRatioValue = Field(gt=0)
    ci_low: Optional[HazardRatioValue] = Field(default=None, gt=0)
    ci_high: Optional[HazardRatioValue] = Field(default=None, gt=0)
    ci_level: Finite = Field(default=0.95, gt=0, lt=1)
    p: PValue = None
    adjusted: bool
    adjusted_for: list[str] = Field(default_factory=list)
    model: Optional[str] = None
    population: Population = "overall"
    subgroup: Optional[str] = None
    reported_name: str

    @model_validator(mode="after")
    def _coherent(self):
        if self.adjusted and not self.adjusted_for:
            raise ValueError("an adjusted hazard ratio needs 'adjusted_for' (the covariates)")
        if self.population == "subgroup" and not self.subgroup:
            raise ValueError("population 'subgroup' needs a 'subgroup' description")
        return self


class AdverseEvent(Provenance):
    study_id: str
    arm_id: str
    term_reported: str
    grade: Grade
    count: Optional[int] = Field(default=None, ge=0)
    denominator: Optional[int] = Field(default=None, ge=1)
    percent: Optional[Finite] = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _coherent(self):
        if self.count is None and self.percent is None:
            raise ValueError("an adverse event needs a 'count' or a 'percent'")
        return self


class Criterion(Strict):
    """One eligibility criterion of a study, for one field of the patient profile.

    admits / excludes list the profile values the criterion decides (for age: age_min / age_max);
    a value in neither list is left open by the criterion. A field the source says nothing about
    gets one record with kind 'not_reported' (criterion "not reported in the source"): it needs no
    snippet, because there is nothing to quote.
    """
    study_id: str
    field: EligibilityField
    kind: CriterionKind
    criterion: str = Field(min_length=3, description="the criterion in words close to the print")
    admits: list[str] = Field(default_factory=list)
    excludes: list[str] = Field(default_factory=list)
    age_min: Optional[int] = Field(default=None, ge=0)
    age_min_inclusive: bool = True
    age_max: Optional[int] = Field(default=None, ge=0)
    age_max_inclusive: bool = True
    location: Optional[str] = None
    snippet: Optional[str] = None
    context_snippet: Optional[str] = None
    conflict_ids: list[str] = Field(default_factory=list)
    note: Optional[str] = None

    @model_validator(mode="after")
    def _coherent(self):
        if self.kind == "not_reported":
            if self.snippet or self.admits or self.excludes or self.age_min is not None or self.age_max is not None:
                raise ValueError("a 'not_reported' criterion quotes and decides nothing")
            if self.criterion != NOT_REPORTED:
                raise ValueError(f"a 'not_reported' criterion reads {NOT_REPORTED!r}")
            return self
        if not self.location or not self.snippet:
            raise ValueError("a stated criterion needs 'location' and a verbatim 'snippet'")
        allowed = PROFILE_VALUES.get(self.field)
        if allowed is None and (self.admits or self.excludes):
            raise ValueError(f"field {self.field!r} has no profile values to admit or exclude; "
                             + ("use age_min / age_max" if self.field == "age" else "describe it in 'criterion'"))
        for name in ("admits", "excludes"):
            bad = [v for v in getattr(self, name) if v not in (allowed or ())]
            if bad:
                raise ValueError(f"{name}: unknown {self.field} value(s) {', '.join(bad)}")
        both = set(self.admits) & set(self.excludes)
        if both:
            raise ValueError(f"both admitted and excluded: {', '.join(sorted(both))}")
        if self.field != "age" and (self.age_min is not None or self.age_max is not None):
            raise ValueError("age_min / age_max belong to the 'age' field")
        return self


class BaselineRow(Provenance):
    """One printed cell of a baseline table (or the text): patients of an arm, or of the whole
    cohort (arm_id null), with a characteristic. Matched and unmatched cohorts stay apart through
    'population'. Age summaries use statistic/value/spread/range; age and AFP bins use cutoff."""
    study_id: str
    arm_id: Optional[str] = Field(default=None, description="null for the whole cohort")
    population: Population = "overall"
    characteristic: BaselineCharacteristic
    category: str
    reported_name: str = Field(description="the paper's row label, e.g. 'Portal vein tumor thrombus, Presence'")
    cutoff: Optional[float] = None
    cutoff_unit: Optional[str] = None
    count: Optional[int] = Field(default=None, ge=0)
    denominator: Optional[int] = Field(default=None, ge=1)
    percent: Optional[float] = Field(default=None, ge=0, le=100)
    statistic: Optional[Literal["mean", "median"]] = None
    value: Optional[float] = None
    spread: Optional[float] = Field(default=None, description="standard deviation as printed")
    range_low: Optional[float] = None
    range_high: Optional[float] = None

    @model_validator(mode="after")
    def _coherent(self):
        if self.category not in BASELINE_CATEGORIES[self.characteristic]:
            raise ValueError(f"category {self.category!r} is not one of "
                             f"{', '.join(BASELINE_CATEGORIES[self.characteristic])} for {self.characteristic}")
        if self.count is None and self.percent is None and self.value is None:
            raise ValueError("a baseline row needs a 'count', a 'percent' or a 'value'")
        if self.category in ("above", "at_or_above", "below", "at_or_below") and self.cutoff is None:
            raise ValueError("a cut-off category needs 'cutoff' (the paper's threshold)")
        if self.value is not None and self.statistic is None:
            raise ValueError("a summary 'value' needs its 'statistic' (mean or median)")
        return self


class ConflictValue(Strict):
    value: Union[Finite, str]
    location: str
    snippet: str = Field(min_length=3)
    source_file: Optional[str] = Field(
        default=None, description="seed text of this snippet when it is another paper's (default: the file's own)")


class Conflict(Strict):
    conflict_id: str = Field(pattern=r"^[a-z0-9_]+$")
    study_id: str
    kind: ConflictKind
    severity: Severity = Field(description="major: changes a number a clinician would use; minor: wording or a detail")
    description: str
    values: list[ConflictValue] = Field(min_length=2)
    resolution: str = Field(min_length=5, description="which value the views use, and why")


# --- design details and risk of bias -------------------------------------
# One design fact per record, each with the sentence of the paper that states
# it. 'not_reported' records say the curator looked and the paper is silent.
DESIGN_NOT_REPORTED = "not_reported"   # the curator looked: the paper says nothing on the item
DesignItem = Literal[
    "allocation", "blinding", "centres", "timing", "subgroup_of_trials",
    "analysis_population", "follow_up",
]
DESIGN_VALUES: dict[str, tuple[str, ...]] = {
    "allocation": ("randomised", "patient_choice", "physician_choice", "consecutive_cohort",
                   "historical_control", "propensity_matching", "non_randomised_not_described",
                   "single_arm", DESIGN_NOT_REPORTED),
    "blinding": ("double_blind", "open_label", "outcome_assessor_blinded", DESIGN_NOT_REPORTED),
    "centres": ("single_centre", "multicentre", DESIGN_NOT_REPORTED),
    "timing": ("prospective", "retrospective", "retrospective_analysis_of_prospective_data", DESIGN_NOT_REPORTED),
    "subgroup_of_trials": ("subgroup_or_post_hoc_of_trials", DESIGN_NOT_REPORTED),
    "analysis_population": ("all_enrolled", "all_treated", "intention_to_treat", "per_protocol",
                            "matched", DESIGN_NOT_REPORTED),
    "follow_up": ("complete", "losses_reported", "losses_excluded", DESIGN_NOT_REPORTED),
}

# Risk-of-bias tools: their domains and judgement scales, worst last.
NOT_ASSESSABLE = "not assessable from the source"
RobTool = Literal["ROBINS-I", "RoB 2"]
ROB_DOMAINS: dict[str, tuple[str, ...]] = {
    "ROBINS-I": ("confounding", "selection_of_participants", "classification_of_interventions",
                 "deviations_from_intended_interventions", "missing_data",
                 "measurement_of_outcomes", "selection_of_reported_result"),
    "RoB 2": ("randomisation_process", "deviations_from_intended_interventions",
              "missing_outcome_data", "measurement_of_the_outcome", "selection_of_reported_result"),
}
ROB_JUDGEMENTS: dict[str, tuple[str, ...]] = {
    "ROBINS-I": ("low", "moderate", "serious", "critical"),
    "RoB 2": ("low", "some concerns", "high"),
}


class DesignDetail(Strict):
    study_id: str
    item: DesignItem
    value: str
    detail: Optional[str] = Field(default=None, description="plain words, e.g. '3 centres'")
    covariates: list[str] = Field(default_factory=list, description="propensity-score covariates")
    location: Optional[str] = None
    snippet: Optional[str] = None
    context_snippet: Optional[str] = None
    note: Optional[str] = None

    @model_validator(mode="after")
    def _coherent(self):
        allowed = DESIGN_VALUES[self.item]
        if self.value not in allowed:
            raise ValueError(f"value {self.value!r} is not one of {', '.join(allowed)} for item {self.item!r}")
        if self.value == DESIGN_NOT_REPORTED:
            if self.snippet or self.context_snippet:
                raise ValueError("a 'not_reported' design detail has no snippet")
        elif not (self.location and self.snippet):
            raise ValueError("a stated design detail needs 'location' and a verbatim 'snippet'")
        if self.covariates and self.value != "propensity_matching":
            raise ValueError("'covariates' belong to a propensity_matching record")
        return self


class RobDomain(Strict):
    domain: str
    judgement: str
    reason: str = Field(min_length=5, description="the curator's reason, in plain words")
    location: Optional[str] = None
    snippet: Optional[str] = None
    context_snippet: Optional[str] = None


class RiskOfBias(Strict):
    """The curator's risk-of-bias judgement of one comparison, for the listed endpoints."""
    study_id: str
    experimental_arm_id: str
    reference_arm_id: str
    endpoints: list[HazardEndpoint] = Field(min_length=1)
    population: Population = "overall"
    subgroup: Optional[str] = None
    tool: RobTool
    judged_by: Literal["curator"] = "curator"
    domains: list[RobDomain]
    overall: str
    overall_reason: str = Field(min_length=5)

    @model_validator(mode="after")
    def _coherent(self):
        names = [d.domain for d in self.domains]
        expected = ROB_DOMAINS[self.tool]
        if sorted(names) != sorted(expected):
            missing = sorted(set(expected) - set(names))
            extra = sorted(set(names) - set(expected)) + sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"{self.tool} needs each of its domains once; missing {missing or 'none'}, "
                             f"unknown or repeated {extra or 'none'}")
        scale = ROB_JUDGEMENTS[self.tool]
        for d in self.domains:
            if d.judgement not in scale + (NOT_ASSESSABLE,):
                raise ValueError(f"domain {d.domain}: judgement {d.judgement!r} is not one of "
                                 f"{', '.join(scale + (NOT_ASSESSABLE,))}")
            if d.judgement != NOT_ASSESSABLE and not (d.location and d.snippet):
                raise ValueError(f"domain {d.domain}: a judgement needs its basis, 'location' and 'snippet'")
        if self.overall not in scale + (NOT_ASSESSABLE,):
            raise ValueError(f"overall {self.overall!r} is not one of {', '.join(scale + (NOT_ASSESSABLE,))}")
        # The overall judgement is at least as severe as the worst judged domain.
        judged = [scale.index(d.judgement) for d in self.domains if d.judgement in scale]
        if self.overall in scale and judged and scale.index(self.overall) < max(judged):
            raise ValueError(f"overall {self.overall!r} is milder than the worst domain ({scale[max(judged)]})")
        if self.population == "subgroup" and not self.subgroup:
            raise ValueError("population 'subgroup' needs a 'subgroup' description")
        return self


class EvidenceFile(Strict):
    source_file: str = Field(description="name of the seed text this file was curated from")
    studies: list[Study] = Field(min_length=1)
    outcomes: list[Outcome] = Field(default_factory=list)
    hazard_ratios: list[HazardRatio] = Field(default_factory=list)
    adverse_events: list[AdverseEvent] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
    eligibility: list[Criterion] = Field(default_factory=list)
    baseline: list[BaselineRow] = Field(default_factory=list)
    design_details: list[DesignDetail] = Field(default_factory=list)
    risk_of_bias: list[RiskOfBias] = Field(default_factory=list)
