#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu 22.04 by
# default; tools/gradescope_trial.py runs it on a bare Debian 12). It makes the grader's Python,
# @GRADER_PYTHON@, a virtual environment holding the packages of @REQUIREMENTS@.
# tools/gradescope.py writes it from tools/templates/gradescope_setup.sh.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# Only what the lines below use: the venv package brings pip into the virtual environment, and
# without --no-install-recommends apt would add compilers and headers (hundreds of MB).
apt-get install -y --no-install-recommends python3 python3-venv

# The grader needs Python 3.11 or later (tomllib). Debian 12 has 3.11; Ubuntu 22.04,
# Gradescope's default base image, has 3.10: there, take python3.11 from Ubuntu's own
# repositories (universe).
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PY=python3.11
fi

# pip installs into the virtual environment, not into the system's Python (which Debian 12 and
# Ubuntu 24.04 refuse without --break-system-packages), so the same lines work on all of them.
"$PY" -m venv @GRADER_PYTHON@
@GRADER_PYTHON@/bin/python -m pip install --no-cache-dir -r "$SOURCE/@REQUIREMENTS@"
chmod -R a+rX @GRADER_PYTHON@  # the graded code runs as another user, with this Python
@GRADER_PYTHON@/bin/python -c 'import sys, numpy, pytest, tomllib; print("grader:", sys.version)'
