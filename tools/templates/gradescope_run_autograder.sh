#!/usr/bin/env bash
# Gradescope runs this for each submission, as root: it grades /autograder/submission and writes
# /autograder/results/results.json. tools/gradescope.py writes it from
# tools/templates/gradescope_run_autograder.sh.
# AUTOGRADER_ROOT stands for /autograder (an absolute path), and PYTHON for the Python that runs
# the grader (default: @GRADER_PYTHON@/bin/python, which setup.sh makes, or else python3).
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    if [ -x @GRADER_PYTHON@/bin/python ]; then PYTHON=@GRADER_PYTHON@/bin/python; fi
fi
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"

# The graded code runs as another user: it must not read the grader, the rubric (its seed draws
# the hidden cases) or anything else here. The grader runs as root and copies what the graded
# code needs into the code's own job folder.
chmod -R go-rwx "$ROOT/source"

# A submission uploaded as one zip (pack_submission.py's submission.zip) is graded from the zip.
SUBMISSION="$ROOT/submission"
if [ -z "$(find "$SUBMISSION" -name loss.py -o -name optimizer.py 2>/dev/null | head -n 1)" ]; then
    ZIPS=("$SUBMISSION"/*.zip)
    if [ "${#ZIPS[@]}" -eq 1 ] && [ -f "${ZIPS[0]}" ]; then SUBMISSION="${ZIPS[0]}"; fi
fi

SCRATCH="$(mktemp -d)"  # mode 700: the grades and the log, out of the graded code's reach
trap 'rm -rf "$SCRATCH"' EXIT
# Run from the grader's folder, where `python -m tools.grade` finds tools/, dataloader.py and kit/.
(cd "$ROOT/source" && "$PYTHON" -m tools.grade "$SUBMISSION" --results "$RESULTS" \
    --release "$ROOT/source/release" --out "$SCRATCH/grades" --regrade) 2>&1 | tee "$SCRATCH/log"
STATUS="${PIPESTATUS[0]}"

if [ "$STATUS" -ne 0 ] || [ ! -s "$RESULTS" ]; then
    # No grade: say so, with the end of the grader's output, as JSON written without Python (which
    # may be what failed): printable ASCII only, any other byte becomes '?'.
    TAIL="$(tail -n 25 "$SCRATCH/log" | LC_ALL=C tr -c '\11\12\40-\176' '?' \
            | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk '{printf "%s\\n", $0}')"
    MESSAGE="The autograder failed (the grader exited with status $STATUS and wrote no grade), so"
    MESSAGE="$MESSAGE this submission was not graded: this is not your grade. Please tell the"
    MESSAGE="$MESSAGE course staff. The last lines of its output:"
    { printf '{"score": 0, "output": "%s\\n\\n%s",' "$MESSAGE" "$TAIL"
      printf ' "visibility": "visible", "stdout_visibility": "hidden"}\n'; } > "$RESULTS"
    echo "run_autograder: the grader failed (status $STATUS); wrote a score of 0 to $RESULTS" >&2
fi
exit 0
