import socket

for address in (('127.0.0.1', @PORT@), ('example.com', 80)):
    try:
        with socket.create_connection(address, timeout=2) as connection:
            connection.sendall(b'@MARKER@ leaked\n')
    except OSError:
        pass
# <<base>>
