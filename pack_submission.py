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


def submission_files(kit):
    """The files of kit that go into the submission, sorted."""
    return sorted(path for pattern in PACKED for path in kit.glob(pattern) if path.is_file())


def warnings_about(path):
    """What is worth fixing in path before handing it in: a list of sentences."""
    if path.suffix == '.py':
        lines = path.read_text(encoding='utf-8').splitlines()
        return [f"{path.name}:{number} still raises NotImplementedError: fill in the TODO above it"
                for number, line in enumerate(lines, 1)
                if line.strip().startswith('raise NotImplementedError')]
    if path.suffix == '.ipynb':
        cells = json.loads(path.read_text(encoding='utf-8'))['cells']
        code = [cell for cell in cells if cell['cell_type'] == 'code' and ''.join(cell['source'])]
        if not any(cell.get('outputs') for cell in code):
            return [f"{path.name} has no outputs: run it top to bottom (Restart & Run All), "
                    f"save it, and pack again"]
        warnings = []
        unrun = sum(cell.get('execution_count') is None for cell in code)
        if unrun:
            warnings.append(f"{path.name}: {unrun} of its {len(code)} code cells did not run: "
                            f"run it top to bottom (Restart & Run All) and save it")
        errors = [output for cell in code for output in cell.get('outputs', [])
                  if output.get('output_type') == 'error']
        if errors:
            warnings.append(f"{path.name} shows an error ({errors[0].get('ename')}: "
                            f"{errors[0].get('evalue')}): fix it, run it again and save it")
        return warnings
    return []


def pack(kit=KIT, out=None):
    """Write the submission zip of kit; returns (the names packed, the warnings)."""
    out = Path(out) if out else Path(kit) / 'submission.zip'
    files = submission_files(Path(kit))
    warnings = [warning for path in files for warning in warnings_about(path)]
    if not any(path.name == 'runner.ipynb' for path in files):
        warnings.append("runner.ipynb is missing: the submission must hold the executed notebook")
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
    print(f"wrote {args.out}: {', '.join(names)}")
    if not any(name.endswith('.pdf') for name in names):
        print("note: no PDF in this folder; put your report here (e.g. report.pdf) and pack again")
    for warning in warnings:
        print(f"WARNING: {warning}")
    if warnings:
        print(f"{args.out} was written, but with {len(warnings)} warning(s) above: fix them and "
              f"pack again before you hand it in")
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
