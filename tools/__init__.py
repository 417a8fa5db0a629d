"""The instructor's and grader's tools. Run each from the kit's folder, as a module:

    python -m tools.release      # the student release
    python -m tools.grade ...    # grade a class
    python -m tools.gradescope   # the Gradescope autograder

(docs/instructors.md says what each does). Run as a module, a tool finds the kit's files
(dataloader.py, kit/) and the other tools (tools.grading) on the kit's folder, which Python puts
first on sys.path: no tool sets a path of its own. The tests import them the same way.
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
