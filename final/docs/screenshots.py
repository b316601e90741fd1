"""Save a PNG of every window of final/, drawn offscreen with demo data, for the documentation.

Run: ``python screenshots.py OUTPUT_DIR`` from this folder (``nox -s "screenshots(final)"``
does it, with final/ installed with its ``gui`` extra). Nothing connects to anything: the
client's network thread is never started (the window is fed what the server would send), and
the server listens on a free port of 127.0.0.1 but its loop never runs; the window shows the
snapshot a loop with two users online would publish.
"""
from __future__ import annotations

import datetime
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from PyQt5.QtWidgets import QApplication, QInputDialog, QMessageBox, QWidget

from jim.constants import ALL, Action
from jim.messages import request
from jim_client.conversation import Entry, State
from jim_client.gui import ClientWindow, LoginDialog, NetworkThread
from jim_client.session import Options
from jim_client.trust import fingerprint
from jim_server.engine import Server, Snapshot
from jim_server.gui import AddUserDialog, ServerWindow
from jim_server.settings import Settings
from jim_server.storage import Storage

ACCOUNTS = ('alice', 'bob', 'carol', 'Мария')
# Two public keys of bob's: the one alice accepted, and the one the server gives now.
BOB_KEYS = ('j+JHWDEuYGgirDCs+7bcfaiCl5auRGK3ffm2YjYrUHg=',
            'qW1TcWB6nyFXXgBx29oiAZB0QlhpHfsxpLqXv7Ceyho=')
# What alice is typing in each conversation shown.
TYPING = {'bob': 'Привет, Боб!', ALL: '', '#python': 'Me: it is great for servers'}


def demo_server(folder: str) -> Server:
    """Return a server on a temporary database with four accounts, two of them online."""
    storage = Storage(f'sqlite:///{folder}/server.db')
    for name in ACCOUNTS:
        storage.add_user(name, f'{name}-password', iterations=4096)
    server = Server(Settings(port=0), storage)
    server.listen()                    # the window shows where it listens; nobody connects
    # What the loop would publish with alice and Мария logged in.
    server.snapshot = Snapshot(online=('alice', 'Мария'), connections=2)
    return server


def at(days_ago: int, hour: int, minute: int) -> float:
    """Return the time of ``hour:minute``, ``days_ago`` days ago, as the server stamps it."""
    day = datetime.date.today() - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(day, datetime.time(hour, minute)).timestamp()


def page(peer: str, *messages: tuple[str, str, float, str]) -> dict[str, Any]:
    """Return the answer to a history request: (from, to, time, text) each, positions in
    order."""
    pushed = [{'action': 'msg', 'from': sender, 'to': to, 'time': when, 'message': text,
               'encoding': 'utf-8', 'position': position}
              for position, (sender, to, when, text) in enumerate(messages, start=PAGE[peer])]
    return {'response': 202, 'alert': f'{len(pushed)} messages', 'messages': pushed,
            'request': request(Action.HISTORY, limit=50, **{'with': peer})}


# Where each conversation's positions start in the demo's database.
PAGE = {ALL: 10, 'bob': 30, '#python': 50}


def demo_client(folder: str) -> ClientWindow:
    """Return alice's window, not connected, fed what a server would send her."""
    network = NetworkThread('alice', '', ('127.0.0.1', 7777), Options(data_dir=Path(folder)))
    window = ClientWindow(network)
    arrived = window.arrived
    arrived({'response': 202, 'alert': '2 contacts', 'contacts': ['bob', 'Мария'],
             'request': request(Action.GET_CONTACTS)})
    arrived({'response': 202, 'alert': '4 users', 'users': list(ACCOUNTS),
             'online': ['alice', 'bob'], 'request': request(Action.GET_USERS)})
    arrived({'response': 200, 'alert': 'join #python', 'members': ['alice', 'bob'],
             'request': request(Action.JOIN, room='#python')})
    arrived(page(ALL, ('Мария', ALL, at(1, 18, 40), 'Привет всем! Кто завтра на митапе?'),
                 ('alice', ALL, at(1, 18, 52), 'Me! See you there'),
                 ('bob', ALL, at(0, 9, 5), 'Morning! Coffee at 11?'),
                 ('Мария', ALL, at(0, 9, 7), 'Да, конечно!'),
                 ('alice', ALL, at(0, 9, 12), 'Hello everyone, good morning')))
    arrived(page('bob', ('alice', 'bob', at(1, 20, 3), 'Hi Bob, are you coming today?'),
                 ('bob', 'alice', at(1, 20, 15), 'Yes, at six.'),
                 ('alice', 'bob', at(0, 10, 1), 'Great, see you! Привет Марии.'),
                 ('bob', 'alice', at(0, 10, 4), 'Will do. Пока!')))
    bob = window.conversations['bob']
    bob.add(Entry('alice', 'The slides are in the shared folder', at(0, 10, 6), id='d1',
                  state=State.FAILED, error='500: not stored: send it again'))
    bob.add(Entry('alice', 'And the code is on the wiki', at(0, 10, 7), id='d2',
                  state=State.WAITING))
    arrived(page('#python', ('bob', '#python', at(0, 8, 30),
                             'Who has tried the new asyncio TaskGroup?'),
                 ('alice', '#python', at(0, 8, 41), 'I have: it cancels the rest on error'),
                 ('bob', '#python', at(0, 8, 43), 'Nice, no more gather() juggling')))
    arrived({'action': 'msg', 'from': 'Мария', 'to': 'alice', 'time': at(0, 10, 9),
             'message': 'Ты сегодня будешь?', 'position': 70, 'encoding': 'utf-8'})
    arrived({'action': 'msg', 'from': 'bob', 'to': '#python', 'time': at(0, 10, 10),
             'message': 'TaskGroup it is, then', 'position': 71, 'encoding': 'utf-8'})
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
        server = demo_server(folder)
        server_window = ServerWindow(server)
        server_window.timer.stop()
        add_user = AddUserDialog(server, server_window)
        add_user.name.setText('dave')
        add_user.password.setText('correct horse')
        add_user.again.setText('correct horse')
        login = LoginDialog('alice')
        login.password.setText('alice-password')
        client_window = demo_client(folder)
        client_window.key_event({
            'event': 'key_changed', 'user': 'bob', 'accepted': [fingerprint(BOB_KEYS[0])],
            'fingerprint': fingerprint(BOB_KEYS[1])})
        key_changed = client_window.dialogs['bob']
        key_changed.hide()
        client_window.status.clearMessage()
        refused = QMessageBox(QMessageBox.Critical, 'Cannot log in',
                              '402: wrong name or password')
        windows = [
            ('client_login', login, None),
            ('client_window', client_window, 'bob'),
            ('client_window_all', client_window, ALL),
            ('client_window_room', client_window, '#python'),
            ('client_key_changed', key_changed, None),
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
                widget.peers.setCurrentItem(widget.peer_item(peer))
                widget.text.setText(TYPING[peer])
            widget.show()
            app.processEvents()
            path = target / f'{name}.png'
            widget.grab().save(str(path))
            widget.hide()
            print(path)
        server.shutdown()
        server.chat.storage.close()
    return 0


if __name__ == '__main__':
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else 'screenshots'))
