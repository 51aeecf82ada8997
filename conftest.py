"""Registered at the repository root so that pytest knows --sources while it parses
the command line (an option defined in tests/conftest.py would be seen too late)."""


def pytest_addoption(parser):
    parser.addoption("--sources", default=None,
                     help="directory of the source texts (default: $HCC_SOURCES or ../shared/seeds)")
