"""Build the class that tests tools/similarity.py from compact sources, on the current release.

Each students/<name>.txt holds what one student wrote, in sections:

    ### forward                 the body of SoftmaxCrossEntropyLoss.forward (not indented)
    ### gradient_computing      the body of SoftmaxCrossEntropyLoss.gradient_computing
    ### step                    the body of SGD.step, under its `if layer.trainable:`
    ### loss.py / optimizer.py  helper code put after the file's imports (optional)
    ### class                   helper methods put at the top of the class in loss.py (optional)
    ### observations (a)        the text of "✎ Your observations (a)"; likewise (b) and (c)

Lines before the first section say who the student is. The builder puts each body in place of
its stub in the release's loss.py and optimizer.py, and the observations in runner.ipynb in one
of three ways students do it (round robin): replacing the cell's text, answering below the
prompts, or in a new cell after it. Every third submission is zipped, as pack_submission.py
writes it. Built this way, the class follows the release when the handout changes, and each
planted copy sits beside its original in a few readable lines.
"""
import re
import sys
import zipfile
from pathlib import Path

import nbformat

from tools.release import restore_solutions

HERE = Path(__file__).resolve().parent

STUDENTS = HERE / 'students'
REFERENCE = HERE / 'reference' / 'online_solution.py'
SECTION = re.compile(r'^### (.+)$', re.M)
STUB_FUNCTIONS = {'loss.py': ('forward', 'gradient_computing'), 'optimizer.py': ('step',)}
CLASS_LINE = 'class SoftmaxCrossEntropyLoss:\n'
# '**✎ Your observations (a)**', or its translation in a release of another language
OBSERVATION_CELL = re.compile(r'\*\*✎ [^*\n(]*(\([a-z]\))\*\*')

# (original, copy): how each copy was made is in the copy's file.
PLANTED = [
    ('s01_chen_jie', 's22_feng_bo'),  # code copied, every name changed
    ('s08_zhou_jing', 's23_cao_rui'),  # code copied, reformatted: line breaks, spacing, comments
    ('s11_sun_qiang', 's24_peng_xue'),  # code copied, independent lines reordered
    ('s14_hu_jun', 's25_xie_ting'),  # observations copied (lightly edited), own code
    ('ref:online_solution', 's26_han_yue'),  # code copied from a solution found online
]
HONEST = [path for path in sorted(STUDENTS.glob('*.txt'))
          if not any(path.stem == copy for _, copy in PLANTED)]


def sections(path):
    """{section name: text} of a student's file."""
    parts = SECTION.split(path.read_text(encoding='utf-8'))
    return {name.strip(): text.strip('\n') for name, text in zip(parts[1::2], parts[2::2])}


def indented(text, indent):
    return [(indent + line if line.strip() else '') + '\n' for line in text.splitlines()]


def python_file(release, name, parts):
    """The release's file name with the student's bodies, helpers and methods in place."""
    text = (release / name).read_text(encoding='utf-8')
    stubs = [line for line in text.splitlines() if 'raise NotImplementedError(' in line]
    bodies = [indented(parts[function], stub[:len(stub) - len(stub.lstrip())])
              for function, stub in zip(STUB_FUNCTIONS[name], stubs)]
    text = restore_solutions(name, text, bodies)
    if name in parts:
        text = text.replace('import numpy as np\n', 'import numpy as np\n\n' + parts[name] + '\n',
                            1)
    if name == 'loss.py' and 'class' in parts:
        text = text.replace(CLASS_LINE, CLASS_LINE + ''.join(indented(parts['class'], '    '))
                            + '\n', 1)
    return text


def notebook(release, parts, style):
    """runner.ipynb with the student's observations, written in one of three styles."""
    book = nbformat.read(release / 'runner.ipynb', as_version=4)
    cells = []
    for cell in book.cells:
        cells.append(cell)
        found = OBSERVATION_CELL.search(cell.source) if cell.cell_type == 'markdown' else None
        if not found:
            continue
        own = parts[f'observations {found.group(1)}']
        if style == 0:  # the placeholder and prompts replaced
            cell.source = f'{found.group(0)}\n\n{own}'
        elif style == 1:  # answered below the prompts
            cell.source += '\n\n' + own
        else:  # a new cell
            cells.append(nbformat.v4.new_markdown_cell(own))
    book.cells = cells
    return nbformat.writes(book)


def build_class(release, out, students=None, suffix='', change_code=None):
    """Write a submission into out for each student file (default: all in STUDENTS), named
    after it with suffix, its code sections passed through change_code if given; returns
    their paths."""
    release, out = Path(release), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for number, path in enumerate(students or sorted(STUDENTS.glob('*.txt'))):
        parts = sections(path)
        if change_code:
            parts = {name: text if name.startswith('observations') else change_code(text)
                     for name, text in parts.items()}
        files = {name: (release / name).read_text(encoding='utf-8')
                 for name in ('dataloader.py', 'solver.py', 'visualize.py', 'pack_submission.py')}
        files.update({name: python_file(release, name, parts) for name in STUB_FUNCTIONS})
        files['runner.ipynb'] = notebook(release, parts, number % 3)
        written.append(write_submission(out / (path.stem + suffix), files,
                                        zipped=number % 3 == 2))
    return written


def write_submission(folder, files, zipped):
    """A folder of files, or folder.zip holding them at its top as pack_submission.py does."""
    if zipped:
        path = folder.with_suffix('.zip')
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        return path
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding='utf-8')
    return folder


if __name__ == '__main__':  # python -m tests.instructor.similarity_class.make_class RELEASE OUT
    for written in build_class(sys.argv[1], sys.argv[2]):
        print(written)
