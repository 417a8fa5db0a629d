import os

BIG = os.path.expanduser('~/big.bin')  # the job folder: the one place it may write

try:
    with open(BIG, 'wb') as stream:
        for _ in range(2048):
            stream.write(b'\0' * (1 << 20))
except OSError:
    pass
finally:
    if os.path.exists(BIG):
        os.remove(BIG)
# <<base>>
