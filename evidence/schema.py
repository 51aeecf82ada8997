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
Grade = Literal["any", "1-2", "3", "4", "3-4", "5"]
Route = Literal["intravenous", "hepatic arterial", "oral", "mixed", "other"]
SourceKind = Literal["primary", "review"]
ConflictKind = Literal[
    "abstract_vs_results", "percent_vs_count", "text_vs_table", "swapped_values",
    "wrong_denominator", "table_arithmetic", "naming", "other",
]


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
    p: PValue = None

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


class ConflictValue(Strict):
    value: Union[Finite, str]
    location: str
    snippet: str = Field(min_length=3)


class Conflict(Strict):
    conflict_id: str = Field(pattern=r"^[a-z0-9_]+$")
    study_id: str
    kind: ConflictKind
    description: str
    values: list[ConflictValue] = Field(min_length=2)
    resolution: str = Field(min_length=5, description="which value the views use, and why")


class EvidenceFile(Strict):
    source_file: str = Field(description="name of the seed text this file was curated from")
    studies: list[Study] = Field(min_length=1)
    outcomes: list[Outcome] = Field(default_factory=list)
    hazard_ratios: list[HazardRatio] = Field(default_factory=list)
    adverse_events: list[AdverseEvent] = Field(default_factory=list)
    conflicts: list[Conflict] = Field(default_factory=list)
