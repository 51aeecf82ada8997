"""HCC evidence-comparison dashboard: entry point and page navigation."""
import streamlit as st

st.set_page_config(page_title="HCC evidence dashboard", page_icon="⚕", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", url_path="overview", default=True),
    st.Page("pages/evidence.py", title="Evidence browser", url_path="evidence"),
]

st.navigation(PAGES).run()
