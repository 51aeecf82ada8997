"""The Streamlit floor for page_speed.py: a one-element Streamlit app that only draws
prepared figures (JSON files in $HCC_FLOOR_DIR, chosen by ?page=NAME), with no
evidence store and no computation. What Streamlit itself costs to show a chart."""
import json
import os
from pathlib import Path

import plotly.io as pio
import streamlit as st

name = st.query_params.get("page", "")
path = Path(os.environ.get("HCC_FLOOR_DIR", ".")) / f"{Path(name).name}.json"
if not path.is_file():
    st.error(f"no prepared figure {name!r}")
    st.stop()
st.title("Streamlit floor")
for i, spec in enumerate(json.loads(path.read_text(encoding="utf-8"))):
    st.plotly_chart(pio.from_json(spec, skip_invalid=True), theme=None, key=f"floor{i}")
