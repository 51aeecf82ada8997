#!/usr/bin/env bash
# The whole test suite on a fresh machine: virtualenv, dependencies, Debian's
# chromium for the browser tests, then pytest with the source texts so that
# every snippet is checked against its paper.
#   bash run_tests.sh [--sources DIR] [pytest args...]
set -euo pipefail
cd "$(dirname "$0")"
SOURCES=../shared/seeds
if [[ "${1:-}" == "--sources" ]]; then SOURCES="$2"; shift 2; fi

if [[ ! -x .venv/bin/python ]]; then python3 -m venv .venv; fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# chromium for the browser tests and the PDF brief; poppler-utils (pdfinfo, pdftotext) to check the PDF;
# strace for the test that the server contacts no outside host
MISSING=""
if ! command -v chromium >/dev/null 2>&1 && [[ ! -x /usr/bin/chromium ]]; then MISSING="chromium"; fi
if ! command -v pdfinfo >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then MISSING="$MISSING poppler-utils"; fi
if ! command -v strace >/dev/null 2>&1; then MISSING="$MISSING strace"; fi
if [[ -n "$MISSING" ]]; then
  echo "installing Debian's$MISSING for the tests"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $MISSING >/dev/null
fi

.venv/bin/python -m evidence validate --sources "$SOURCES"
set +e
.venv/bin/python -m pytest -c pytest.ini --rootdir=. --sources="$SOURCES" "$@"
status=$?
set -e
# pytest exits 5 when no test ran: that is a failure here, never a pass.
if [[ $status -eq 5 ]]; then echo "no tests ran" >&2; exit 1; fi
exit $status
