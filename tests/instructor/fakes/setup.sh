#!/bin/bash
# A fake setup.sh: says it ran, as whom and where, and shows the CA bundle it was given.
echo "setup.sh ran as $$ in $PWD" > /autograder/setup-ran
if [[ -n "${PIP_CERT:-}" ]]; then echo "$(< "$PIP_CERT")" > /autograder/ca-seen; fi
