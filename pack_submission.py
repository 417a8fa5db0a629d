"""Pack your submission into submission.zip: your code, your executed notebook, your report.

    python pack_submission.py [--out submission.zip]

Packs the .py files and the notebooks of this folder, and any PDF in it (your report). Nothing
else: not data/ (do not submit the data set), not tests/, caches or figures (your figures are in
the notebook's outputs and in your report). Warns when a function still raises
NotImplementedError or a notebook has no outputs, unrun cells or an error, so that you can fix
it and pack again; it still writes the zip then, but exits with status 1.
"""
import argparse
import json
import sys
import zipfile
from pathlib import Path

KIT = Path(__file__).resolve().parent
PACKED = ('*.py', '*.ipynb', '*.pdf')
STUB_START = 'raise NotImplementedError'  # how a function left as the release gave it starts
# What the packer says: templates for str.format.
MESSAGES = {
    'stub': "{file}:{line} still raises NotImplementedError: fill in the TODO above it",
    'no_outputs': "{file} has no outputs: run it top to bottom (Restart & Run All), save it, "
                  "and pack again",
    'unrun_cells': "{file}: {unrun} of its {cells} code cells did not run: run it top to bottom "
                   "(Restart & Run All) and save it",
    'error': "{file} shows an error ({error}): fix it, run it again and save it",
    'no_notebook': "runner.ipynb is missing: the submission must hold the executed notebook",
    'wrote': "wrote {out}: {names}",
    'no_pdf': "note: no PDF in this folder; put your report here (e.g. report.pdf) and pack "
              "again",
    'warning': "WARNING: {warning}",
    'warned': "{out} was written, but with {count} warning(s) above: fix them and pack again "
              "before you hand it in",
}


def submission_files(kit):
    """The files of kit that go into the submission, sorted."""
    return sorted(path for pattern in PACKED for path in kit.glob(pattern) if path.is_file())


def warnings_about(path):
    """What is worth fixing in path before handing it in: a list of sentences."""
    if path.suffix == '.py':
        lines = path.read_text(encoding='utf-8').splitlines()
        return [MESSAGES['stub'].format(file=path.name, line=number)
                for number, line in enumerate(lines, 1) if line.strip().startswith(STUB_START)]
    if path.suffix == '.ipynb':
        cells = json.loads(path.read_text(encoding='utf-8'))['cells']
        code = [cell for cell in cells if cell['cell_type'] == 'code' and ''.join(cell['source'])]
        if not any(cell.get('outputs') for cell in code):
            return [MESSAGES['no_outputs'].format(file=path.name)]
        warnings = []
        unrun = sum(cell.get('execution_count') is None for cell in code)
        if unrun:
            warnings.append(MESSAGES['unrun_cells'].format(file=path.name, unrun=unrun,
                                                           cells=len(code)))
        errors = [output for cell in code for output in cell.get('outputs', [])
                  if output.get('output_type') == 'error']
        if errors:
            error = f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
            warnings.append(MESSAGES['error'].format(file=path.name, error=error))
        return warnings
    return []


def pack(kit=KIT, out=None):
    """Write the submission zip of kit; returns (the names packed, the warnings)."""
    out = Path(out) if out else Path(kit) / 'submission.zip'
    files = submission_files(Path(kit))
    warnings = [warning for path in files for warning in warnings_about(path)]
    if not any(path.name == 'runner.ipynb' for path in files):
        warnings.append(MESSAGES['no_notebook'])
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.name)
    return [path.name for path in files], warnings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=KIT / 'submission.zip',
                        help='the zip to write (default: submission.zip next to this script)')
    args = parser.parse_args(argv)
    names, warnings = pack(KIT, args.out)
    print(MESSAGES['wrote'].format(out=args.out, names=', '.join(names)))
    if not any(name.endswith('.pdf') for name in names):
        print(MESSAGES['no_pdf'])
    for warning in warnings:
        print(MESSAGES['warning'].format(warning=warning))
    if warnings:
        print(MESSAGES['warned'].format(out=args.out, count=len(warnings)))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
