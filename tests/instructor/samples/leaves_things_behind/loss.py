import ctypes
import os
import zlib

# SysV and POSIX IPC objects, and in every folder it may write a tree 40 folders deep, a FIFO and
# a symlink, all named after the marker, left behind when it ends. Nothing may stay.
libc = ctypes.CDLL(None, use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
KEY = zlib.crc32(b'@MARKER@') & 0x3FFFFFFF  # the test looks for SysV objects with this key
CREATE = 0o1600  # IPC_CREAT, mode 0600
made = []
if libc.shmget(KEY, 1 << 20, CREATE) >= 0:
    made.append('SysV shared memory')
if libc.msgget(KEY + 1, CREATE) >= 0:
    made.append('a SysV message queue')
if libc.semget(KEY + 2, 1, CREATE) >= 0:
    made.append('SysV semaphores')
if libc.shm_open(b'/@MARKER@-shm', os.O_CREAT | os.O_RDWR, 0o600) >= 0:
    made.append('POSIX shared memory')
if libc.sem_open(b'/@MARKER@-sem', os.O_CREAT, 0o600, 1):
    made.append('a POSIX semaphore')
if libc.mq_open(b'/@MARKER@-mq', os.O_CREAT | os.O_RDWR, 0o600, None) >= 0:
    made.append('a POSIX message queue')
for folder in ('/tmp', '/var/tmp', '/dev/shm', os.environ['TMPDIR']):
    try:
        tree = os.path.join(folder, '@MARKER@-tree')
        os.makedirs(os.path.join(tree, *['deeper'] * 40))
        with open(os.path.join(tree, 'file'), 'w') as stream:
            stream.write('left behind')
        os.mkfifo(os.path.join(folder, '@MARKER@-fifo'))
        os.symlink(os.getcwd(), os.path.join(folder, '@MARKER@-link'))
        made.append(folder)
    except OSError:
        pass
print('made:', ', '.join(made))
# <<base>>
