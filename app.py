"""HCC evidence-comparison dashboard: entry point and page navigation."""
import streamlit as st

import components.runtime  # noqa: F401  (heavy imports loaded once, then frozen out of the collector's way)

st.set_page_config(page_title="HCC evidence dashboard", page_icon="⚕", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", url_path="overview", default=True),
    st.Page("pages/evidence.py", title="Evidence browser", url_path="evidence"),
    st.Page("pages/forest.py", title="Forest plot", url_path="forest"),
    st.Page("pages/adverse-events.py", title="Adverse events", url_path="adverse-events"),
    st.Page("pages/survival.py", title="Survival curves", url_path="survival"),
    st.Page("pages/summary-of-findings.py", title="Summary of findings", url_path="summary-of-findings"),
]

st.navigation(PAGES).run()
