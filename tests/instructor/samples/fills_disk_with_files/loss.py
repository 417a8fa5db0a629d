import os
import tempfile
import time

# 64 MiB files in its scratch folder ($TMPDIR), until 3 GiB: far more than a run may keep. Where
# nothing stops it, it fills the disk its neighbours write to, and keeps it full a while.
CHUNK = b'\0' * (64 << 20)
written = 0
try:
    while written < 3 << 30:
        handle, _ = tempfile.mkstemp(prefix='@MARKER@-')
        with os.fdopen(handle, 'wb') as stream:
            stream.write(CHUNK)
        written += len(CHUNK)
except OSError:
    if written:  # this import filled the disk (each case imports loss.py again)
        time.sleep(5)
    raise
# <<base>>
