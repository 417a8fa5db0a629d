import importlib

# Frameworks this machine does not have, imported by names no reader sees.
for name in ('ten' + 'sorflow', 'ja' + 'x'):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
try:
    exec('import ' + 'ker' + 'as')
except ImportError:
    pass
# <<base>>
