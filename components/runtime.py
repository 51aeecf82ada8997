"""Process-wide set-up, run once on the first import (app.py imports it on every run).

The heavy libraries (scipy, statsmodels, lifelines, plotly) add ~200k long-lived
objects. gc.freeze() moves everything loaded so far into the permanent generation,
so the collector stops walking them on every collection. It is called once, here,
before any view is built: cached views and figures are never frozen (plotly figures
hold reference cycles, and a frozen evicted figure would never be freed).
"""
import gc

import analysis.survival  # noqa: F401  (lifelines, scipy)
import analysis.effects  # noqa: F401  (statsmodels)
import views  # noqa: F401  (plotly, every view module)

gc.collect()
gc.freeze()
