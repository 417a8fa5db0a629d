"""The grader: `python tools/grade.py` and `python tools/gradescope.py` are its commands
(docs/instructors.md, "Grading")."""
from pathlib import Path

# The files the grader runs or reads, in the kit (the rubric aside, and tools/grading/*.py): the
# Gradescope zip holds them, and a change to any of them makes tools.grade grade again.
GRADER_FILES = ('tools/__init__.py', 'tools/grade.py', 'tests/reference_check.py',
                'tests/hidden/expected_values.py', 'tests/fixtures/reference.npz',
                'dataloader.py', 'kit/__init__.py', 'kit/idx.py', 'kit/threads.py')


def grader_files(source):
    """[path] of the grader's files in the kit at source: GRADER_FILES and tools/grading/*.py.
    ValueError naming those that are not there."""
    source = Path(source)
    paths = [source / name for name in GRADER_FILES]
    paths += sorted((source / 'tools' / 'grading').glob('*.py'))
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ValueError(f"the grader needs {', '.join(missing)}, which is not there")
    return paths
