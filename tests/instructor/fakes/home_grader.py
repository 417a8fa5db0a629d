#!@PYTHON@
# A fake `python -m tools.grade` at home: the same rule as the fake run_autograder.sh, plus
# SHIFT points for the sample 'reference'. The test fills in @PYTHON@ and @SHIFT@.
import json
import sys
from pathlib import Path

SHIFT = int('@SHIFT@')
args = sys.argv[3:]  # after '-m tools.grade'
out = Path(args[args.index('--out') + 1])
assert args[args.index('--isolation') + 1] == 'uid'
for folder in map(Path, args[:args.index('-j')]):
    text = (folder / 'loss.py').read_text()
    score = 0 if 'NotImplementedError' in text else 25 if 'found no solution' in text else 100
    score += SHIFT if folder.name == 'reference' else 0
    (out / folder.name).mkdir(parents=True)
    (out / folder.name / 'results.json').write_text(json.dumps(
        {'score': score, 'execution_time': 0.25}))
print('graded it all with -j 2, isolation uid')
