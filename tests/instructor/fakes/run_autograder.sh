#!/bin/bash
# A fake run_autograder (the test fills in @LEVEL@): the stubs get 0, reads_secrets (it says so)
# 25, anything else 100.
text="$(< /autograder/submission/loss.py)"
score=100
[[ $text == *NotImplementedError* ]] && score=0
[[ $text == *"found no solution"* ]] && score=25
while read -r key value; do [[ $key == CapEff: ]] && caps=$value; done < /proc/self/status
echo "{\"score\": $score, \"execution_time\": 0.5, \"output\": \"caps $caps pid $$\"}" \
    > /autograder/results/results.json
echo "graded 1 in 0.5 s with -j 1, isolation @LEVEL@"
