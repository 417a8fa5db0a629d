import socket
import subprocess
import sys

for address in (('127.0.0.1', @PORT@), ('example.com', 80)):
    try:
        with socket.create_connection(address, timeout=2) as connection:
            connection.sendall(b'@MARKER@ leaked\n')
    except OSError:
        pass
# The same from a new process, which has none of this one's Python-level guards.
subprocess.run([sys.executable, '-c', 'import socket\n'
                'try:\n'
                '    socket.create_connection(("127.0.0.1", @PORT@), timeout=2).sendall(b"child")\n'
                'except OSError:\n'
                '    pass\n'], timeout=10)
# <<base>>
