"""Save a PNG of every window of final/, drawn offscreen with demo data, for the documentation.

Run: ``python screenshots.py OUTPUT_DIR`` from this folder (``nox -s "screenshots(final)"``
does it, with final/ installed with its ``gui`` extra). Nothing connects to anything: the
client's network thread is never started (the window is fed what the server would send), and
the server listens on a free port of 127.0.0.1 but its loop never runs; its two "online"
users sit on local socket pairs.
"""
from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QApplication, QInputDialog, QMessageBox, QWidget

from jim.constants import ALL, Action
from jim.messages import request
from jim_client.gui import ClientWindow, LoginDialog, NetworkThread
from jim_server.engine import Connection, Server
from jim_server.gui import AddUserDialog, ServerWindow
from jim_server.settings import Settings
from jim_server.storage import Storage

ACCOUNTS = ('alice', 'bob', 'carol', 'Мария')
# What alice is typing in each conversation shown.
TYPING = {'bob': 'Привет, Боб!', ALL: '', '#python': 'Me: it is great for servers'}


def demo_server(folder: str) -> tuple[Server, list[socket.socket]]:
    """Return a server on a temporary database with four accounts, two of them online."""
    storage = Storage(f'sqlite:///{folder}/server.db')
    for name in ACCOUNTS:
        storage.add_user(name, f'{name}-password', iterations=4096)
    server = Server(Settings(port=0), storage)
    server.listen()                    # the window shows where it listens; nobody connects
    ends = []
    for name in ('alice', 'Мария'):    # "logged in" on a local socket pair each
        ours, theirs = socket.socketpair()
        ends.append(theirs)
        conn = Connection(ours, '127.0.0.1', server.settings)
        server.selector.register(ours, 1, conn)
        server.chat.connect(conn, '127.0.0.1')
        server.chat.sessions[conn].name = name
        server.chat.online[name] = conn
    return server, ends


def demo_client() -> ClientWindow:
    """Return alice's window, not connected, fed what a server would send her."""
    window = ClientWindow(NetworkThread('alice', '', ('127.0.0.1', 7777)))
    arrived = window.arrived
    arrived({'response': 202, 'alert': '2 contacts', 'contacts': ['bob', 'Мария'],
             'request': request(Action.GET_CONTACTS)})
    arrived({'response': 200, 'alert': 'join #python', 'members': ['alice', 'bob'],
             'request': request(Action.JOIN, room='#python')})
    arrived({'action': 'msg', 'from': 'Мария', 'to': ALL, 'message': 'Привет всем!'})
    window.note(ALL, 'alice: Hello everyone, good morning')
    arrived({'action': 'msg', 'from': 'bob', 'to': ALL, 'message': 'Morning! Coffee at 11?'})
    arrived({'action': 'msg', 'from': 'Мария', 'to': ALL, 'message': 'Да, конечно!'})
    window.note('bob', 'alice: Hi Bob, are you coming today?')
    arrived({'action': 'msg', 'from': 'bob', 'to': 'alice', 'message': 'Yes, at six.'})
    window.note('bob', 'alice: Great, see you! Привет Марии.')
    arrived({'action': 'msg', 'from': 'bob', 'to': 'alice', 'message': 'Will do. Пока!'})
    arrived({'action': 'msg', 'from': 'bob', 'to': '#python',
             'message': 'Who has tried the new asyncio TaskGroup?'})
    return window


def input_dialog(parent: QWidget, title: str, label: str, text: str) -> QInputDialog:
    """Return the dialog that ``QInputDialog.getText(parent, title, label)`` shows."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    return dialog


def main(output: str) -> int:
    """Draw each window and save it under ``output``."""
    target = Path(output)
    target.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')    # no display needed
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        server, ends = demo_server(folder)
        server_window = ServerWindow(server)
        server_window.timer.stop()
        add_user = AddUserDialog(server, server_window)
        add_user.name.setText('dave')
        add_user.password.setText('correct horse')
        add_user.again.setText('correct horse')
        login = LoginDialog('alice')
        login.password.setText('alice-password')
        client_window = demo_client()
        refused = QMessageBox(QMessageBox.Critical, 'Cannot log in',
                              '402: wrong name or password')
        windows = [
            ('client_login', login, None),
            ('client_window', client_window, 'bob'),
            ('client_window_all', client_window, ALL),
            ('client_window_room', client_window, '#python'),
            ('client_add_contact', input_dialog(client_window, 'Add contact', 'Name', 'carol'),
             None),
            ('client_join_room', input_dialog(client_window, 'Join room', 'Room (#name)',
                                              '#python'), None),
            ('client_login_refused', refused, None),
            ('server_window', server_window, None),
            ('server_add_user', add_user, None),
        ]
        for name, widget, peer in windows:
            if peer is not None:
                widget.peers.setCurrentItem(widget.peers.findItems(peer, Qt.MatchExactly)[0])
                widget.text.setText(TYPING[peer])
            widget.show()
            app.processEvents()
            path = target / f'{name}.png'
            widget.grab().save(str(path))
            widget.hide()
            print(path)
        for end in ends:
            end.close()
        server.shutdown()
        server.chat.storage.close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else 'screenshots'))
