"""Schema of an evidence file: one YAML file per source document.

A curator edits these files by hand and reviews them in a diff, so the schema
is strict (unknown fields are errors, vocabularies are closed) and every number
carries its provenance: where in the paper it stands and a verbatim snippet.
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
Grade = Literal["any", "1-2", "3", "4", "3-4", "5"]
Route = Literal["intravenous", "hepatic arterial", "oral", "mixed", "other"]
SourceKind = Literal["primary", "review"]
ConflictKind = Literal[
    "abstract_vs_results", "percent_vs_count", "text_vs_table", "swapped_values",
    "wrong_denominator", "table_arithmetic", "naming", "other",
]


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
    value: Optional[float] = None
    unit: Unit
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    range_low: Optional[float] = None
    range_high: Optional[float] = None
    count: Optional[int] = Field(default=None, ge=0)
    denominator: Optional[int] = Field(default=None, ge=1)
    timepoint_months: Optional[float] = Field(default=None, gt=0)
    criteria: Optional[Criteria] = None
    population: Population = "overall"
    subgroup: Optional[str] = None
    reported_name: str
    printed_value: Optional[str] = Field(default=None, description="as printed when converted, e.g. '45 days'")
    p: Optional[Union[str, float]] = None

    @model_validator(mode="after")
    def _coherent(self):
        if self.value is None and self.count is None:
            raise ValueError("an outcome needs a 'value' or a 'count'")
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
    hr: float = Field(gt=0)
    ci_low: Optional[float] = Field(default=None, gt=0)
    ci_high: Optional[float] = Field(default=None, gt=0)
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    p: Optional[Union[str, float]] = None
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
    percent: Optional[float] = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _coherent(self):
        if self.count is None and self.percent is None:
            raise ValueError("an adverse event needs a 'count' or a 'percent'")
        return self


class ConflictValue(Strict):
    value: Union[float, str]
    location: str
    snippet: str = Field(min_length=3)


class Conflict(Strict):
    conflict_id: str = Field(pattern=r"^[a-z0-9_]+$")
    study_id: str
    kind: ConflictKind
    description: str
    values: list[ConflictValue] = Field(min_length=2)
    resolution: str = Field(min_length=5, description="which value the views use, and why")


# --- design details and risk of bias -------------------------------------
# One design fact per record, each with the sentence of the paper that states
# it. 'not_reported' records say the curator looked and the paper is silent.
NOT_REPORTED = "not_reported"
DesignItem = Literal[
    "allocation", "blinding", "centres", "timing", "subgroup_of_trials",
    "analysis_population", "follow_up",
]
DESIGN_VALUES: dict[str, tuple[str, ...]] = {
    "allocation": ("randomised", "patient_choice", "physician_choice", "consecutive_cohort",
                   "historical_control", "propensity_matching", "non_randomised_not_described",
                   "single_arm", NOT_REPORTED),
    "blinding": ("double_blind", "open_label", "outcome_assessor_blinded", NOT_REPORTED),
    "centres": ("single_centre", "multicentre", NOT_REPORTED),
    "timing": ("prospective", "retrospective", "retrospective_analysis_of_prospective_data", NOT_REPORTED),
    "subgroup_of_trials": ("subgroup_or_post_hoc_of_trials", NOT_REPORTED),
    "analysis_population": ("all_enrolled", "all_treated", "intention_to_treat", "per_protocol",
                            "matched", NOT_REPORTED),
    "follow_up": ("complete", "losses_reported", "losses_excluded", NOT_REPORTED),
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
        if self.value == NOT_REPORTED:
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
    design_details: list[DesignDetail] = Field(default_factory=list)
    risk_of_bias: list[RiskOfBias] = Field(default_factory=list)
