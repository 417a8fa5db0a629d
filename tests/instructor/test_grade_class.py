"""A whole class: 100 zipped copies of the solutions graded with -j 2, every one full marks.

How long it takes is measured, not asserted (README, "Grading", has the command and figure).
"""
import csv
import subprocess
import sys
import zipfile
from pathlib import Path

KIT = Path(__file__).resolve().parents[2]
CLASS_SIZE = 100


def test_a_class_of_100_grades_with_two_jobs(tmp_path):
    for number in range(CLASS_SIZE):
        with zipfile.ZipFile(tmp_path / f'student{number:03}.zip', 'w') as archive:
            for file in ('loss.py', 'optimizer.py'):
                archive.write(KIT / file, file)
    done = subprocess.run([sys.executable, str(KIT / 'tools' / 'grade.py'), str(tmp_path), '-j',
                           '2', '--out', str(tmp_path / 'grades')],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    print(next(line for line in done.stdout.splitlines() if line.startswith('graded ')))
    with open(tmp_path / 'grades' / 'gradebook.csv', newline='') as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == CLASS_SIZE
    assert {float(row['score']) for row in rows} == {100.0}
