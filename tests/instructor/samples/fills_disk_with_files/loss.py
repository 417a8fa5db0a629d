import os
import time

# 64 MiB files in its scratch folder ($TMPDIR), until 3 GiB: far more than a run may keep. Where
# nothing stops it, it fills the disk its neighbours write to, and keeps it full a while.
CHUNK = b'\0' * (64 << 20)
try:
    for number in range(48):
        with open(os.path.join(os.environ['TMPDIR'], f'@MARKER@-{number}.bin'), 'wb') as stream:
            stream.write(CHUNK)
except OSError:
    time.sleep(5)
    raise
# <<base>>
