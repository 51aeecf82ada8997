"""Kept so that `evidence.reconstruct` still imports: the code lives in analysis.reconstruct."""
from analysis.reconstruct import (PiecewiseExponential, clean_anchors, clean_curve, clean_risk_table,  # noqa: F401
                                  from_summary, from_summary_pair, guyot, guyot_pair, split_events)
