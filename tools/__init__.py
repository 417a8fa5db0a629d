"""The instructor's and grader's tools. Run each from the kit's folder:

    python tools/release.py      # the student release
    python tools/grade.py ...    # grade a class
    python tools/gradescope.py   # the Gradescope autograder

(docs/instructors.md says what each does). tools/ is a package: a tool imports the kit's files
(dataloader.py, kit/) and the other tools (tools.grading) from the kit's folder. `python -m
tools.grade` runs a tool that way directly; `python tools/grade.py` goes through the one shared
bootstrap, tools/_as_module.py. The tests import the tools as `from tools import ...`.
"""
import importlib.util
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent  # the kit's folder


def tests_module(path):
    """The module in the file path, relative to the kit's tests/ ('reference_check.py'),
    imported once under its file's name. tests/ is no package (pytest puts its folders on
    sys.path instead): this is how the grader uses the checks the tests use."""
    name = Path(path).stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, KIT / 'tests' / path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]
