"""What a page renders: built once per view state, shared, never mutated."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .links import Flag, Profile

PRESENT = Flag(False)      # every view's `present` parameter: presentation mode for the meeting-room screen
PATIENT = Profile()        # every view's `patient` parameter: a patient profile (categories only), default none
PRESENTATION_FONT = 18     # plotly base font size on the meeting-room screen
NORMAL_FONT = 14


def font_size(state: dict) -> int:
    return PRESENTATION_FONT if state.get("present") else NORMAL_FONT


@dataclass(frozen=True)
class Brief:
    """What the tumor-board brief of a view holds besides its figure."""
    title: str
    figure: str | None                       # key into ViewModel.figures
    key_numbers: pd.DataFrame
    citations: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()
    # further tables of the view, each (heading, DataFrame): the patient's fit, the summary of findings
    sections: tuple[tuple[str, pd.DataFrame], ...] = ()
    # the citations again, each named as the tables name its study, with its design (and where the view's
    # numbers are printed); trials known from one review share its citation
    sources: tuple[str, ...] = ()
    design: str = ""                         # the designs of the studies shown, said once
    notes: tuple[str, ...] = ()              # what the marks in key_numbers mean (†, ⚠), one line each


@dataclass(frozen=True)
class ViewModel:
    page: str
    path: str                                # the page's URL path ('' for the overview)
    state: dict[str, Any]                    # the normalised view state, every parameter present
    params: dict[str, str]                   # the non-default parameters: the link of this view
    title: str = ""
    figures: dict[str, Any] = field(default_factory=dict)         # plotly go.Figure by name
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notices: tuple[str, ...] = ()            # what in the link was ignored, and why
    caveats: tuple[str, ...] = ()            # how weak the comparison is, in one line each
    texts: dict[str, Any] = field(default_factory=dict)           # captions, notes, labels of this page
    brief: Brief | None = None

    @property
    def present(self) -> bool:
        return bool(self.state.get("present"))
