import os
import sys

# Wherever it can write in the job folder and its home, plant what would block, redirect or
# slow a grader that opened paths there by name: FIFOs under the names the old grader read
# (progress, out/<case>.npz), symlinks to devices and to secrets, a deep folder.
harness = sys.modules.get('__main__')
places = [str(getattr(harness, 'JOB', '.')), os.path.expanduser('~'), os.getcwd(),
          os.path.dirname(os.getcwd())]
for place in places:
    for name, target in (('progress', None), ('out', None), ('results.json', '/etc/shadow'),
                         ('inputs.npz', '/dev/zero'), ('plan.json', '/dev/urandom')):
        path = os.path.join(place, name)
        try:
            if target:
                os.symlink(target, path + '.planted')
                os.replace(path + '.planted', path)
            elif name == 'out':
                os.makedirs(path, exist_ok=True)
                for case in ('public_small', 'hidden_loss_1', 'short_run'):
                    os.mkfifo(os.path.join(path, case + '.npz'))
                    os.symlink('/dev/zero', os.path.join(path, case + '.json'))
            else:
                os.mkfifo(path)
        except OSError:
            pass
here = os.getcwd()
for place in places:  # a deep folder, within the uid level's limit of 64 levels (storage.py)
    try:
        os.mkdir(os.path.join(place, 'deep'))
        os.chdir(os.path.join(place, 'deep'))
        for _ in range(60):
            os.mkdir('d')
            os.chdir('d')
        break
    except OSError:
        pass
    finally:
        os.chdir(here)
# <<base>>
