"""The bare relay the benchmark compares jim-server with: what a chat server costs at least.

One ``selectors`` loop; a client's first line is its name; every later line is a JSON
object whose ``to`` names another client, and goes to that client as it is. No
validation, no storage, no acknowledgement. Run: ``python relay.py PORT``.
"""
import json
import selectors
import socket
import sys


def serve(port: int) -> None:
    """Relay lines between the clients of 127.0.0.1:``port`` until killed."""
    selector = selectors.DefaultSelector()
    listener = socket.create_server(('127.0.0.1', port), backlog=1024)
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ)
    names: dict[str, socket.socket] = {}
    state: dict[socket.socket, list] = {}          # socket: [name, unfinished input]
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                sock, _ = listener.accept()
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                state[sock] = [None, b'']
                selector.register(sock, selectors.EVENT_READ)
                continue
            sock = key.fileobj
            try:
                data = sock.recv(65536)
            except OSError:
                data = b''
            if not data:
                selector.unregister(sock)
                names.pop(state.pop(sock)[0], None)
                sock.close()
                continue
            lines = (state[sock][1] + data).split(b'\n')
            state[sock][1] = lines.pop()
            for line in lines:
                if state[sock][0] is None:
                    state[sock][0] = line.decode()
                    names[state[sock][0]] = sock
                    continue
                target = names.get(json.loads(line)['to'])
                if target is not None:
                    target.setblocking(True)           # bare: a slow reader blocks all
                    target.sendall(line + b'\n')
                    target.setblocking(False)


if __name__ == '__main__':
    serve(int(sys.argv[1]))
