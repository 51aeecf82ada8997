"""Keep deep links inside app.py's navigation.

Because a pages/ folder sits next to app.py, Streamlit starts each server
process in its old folder-based multipage mode until app.py has called
st.navigation once. If the first visitor of a fresh server opens a deep link
(/forest?...), the page script would run on its own, without the app's layout,
page titles and navigation. Each page calls this first: it switches the process
to app.py's navigation and reruns, so the same URL opens through app.py.

Streamlit 1.67 has no public option to turn the folder mode off, and the folder
must keep the name pages/ (the project's layout), so the private flag is flipped;
tests/browser/test_page_links.py opens deep links on a fresh server to guard it.
"""
import streamlit as st


def ensure_app_navigation() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the folder-based mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
