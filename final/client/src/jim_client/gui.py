"""``jim-client-gui``: the messenger's window (PyQt5).

A ``QThread`` does all the socket work: it connects, logs in, publishes the end-to-end key
and then hands each thing that arrives to the window through a Qt signal, which Qt delivers
in the window's thread. Sending from the window is a short ``sendall``.
"""
from __future__ import annotations

import argparse
import ssl
import sys
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject, Qt, QThread, pyqtSignal
from PyQt5.QtWidgets import (QApplication, QCheckBox, QDialog, QDialogButtonBox, QFormLayout,
                             QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                             QMainWindow, QMessageBox, QPushButton, QSpinBox, QVBoxLayout,
                             QWidget)

from jim.constants import ALL, Action
from jim.messages import ProtocolError, msg, request
from jim.scram import ScramError

from jim_client.connection import Connection, LoginError
from jim_client.console import Session, came_or_went, key_path
from jim_client.e2e import KeyPair


class ClientSignals(QObject):
    """What the network thread tells the window."""

    logged_in = pyqtSignal()
    failed = pyqtSignal(str)
    arrived = pyqtSignal(object)         # a readable message, or a response
    notice = pyqtSignal(str)             # something the user should know, e.g. sent unencrypted
    disconnected = pyqtSignal()


class NetworkThread(QThread):
    """Connects to ``address`` (host, port), logs in, then receives until the connection ends.

    Direct messages are sealed end to end with the key in ``key_file`` unless ``e2e`` is false.
    """

    def __init__(self, name: str, password: str, address: tuple[str, int], *,
                 tls: ssl.SSLContext | None = None, key_file: Path | None = None,
                 e2e: bool = True) -> None:
        super().__init__()
        self.signals = ClientSignals()
        self.name, self.password, (self.host, self.port) = name, password, address
        self.tls, self.key_file, self.e2e = tls, key_file, e2e
        self.session: Session | None = None

    def run(self) -> None:
        """Runs in the new thread."""
        try:
            conn = Connection(self.host, self.port, tls=self.tls)
        except OSError as err:
            self.signals.failed.emit(f'Cannot reach {self.host}:{self.port}: {err}')
            return
        try:
            conn.login(self.name, self.password)
            keys = None
            if self.e2e:
                keys = KeyPair.load_or_create(self.key_file or key_path(self.name))
                conn.publish_key(keys.public)
        except (LoginError, ScramError, ProtocolError, OSError) as err:
            conn.close()
            self.signals.failed.emit(str(err))
            return
        conn.sock.settimeout(None)
        self.session = Session(conn, keys, self.signals.notice.emit)
        self.signals.logged_in.emit()
        self.session.send(request(Action.GET_CONTACTS))
        try:
            while True:
                for item in self.session.receive(conn.receive()):
                    self.signals.arrived.emit(item)
        except (OSError, ProtocolError):
            self.signals.disconnected.emit()
        finally:
            conn.close()


class LoginDialog(QDialog):
    """Name, password and server."""

    def __init__(self, name: str = '', host: str = '127.0.0.1', port: int = 7777,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle('Log in')
        self.name = QLineEdit(name)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.Password)
        self.host = QLineEdit(host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(port)
        self.tls = QCheckBox('TLS (verify the server)')
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept_if_named)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        for label, widget in (('Name', self.name), ('Password', self.password),
                              ('Server', self.host), ('Port', self.port), ('', self.tls)):
            form.addRow(label, widget)
        form.addRow(self.buttons)

    def accept_if_named(self) -> None:
        """Close once a name is typed."""
        if self.name.text().strip():
            self.accept()


class ClientWindow(QMainWindow):
    """Conversations on the left (#all, rooms, contacts, whoever wrote); one on the right."""

    def __init__(self, network: NetworkThread) -> None:
        super().__init__()
        self.network = network
        self.me = network.name
        self.history: dict[str, list[str]] = {ALL: []}
        self.setWindowTitle(f'JIM messenger: {self.me}')
        self.resize(720, 460)
        self.peers = QListWidget()
        self.peers.addItem(ALL)
        self.peers.setCurrentRow(0)
        self.peers.currentTextChanged.connect(self.show_conversation)
        add, join = QPushButton('Add contact'), QPushButton('Join room')
        add.clicked.connect(self.ask_contact)
        join.clicked.connect(self.ask_room)
        self.conversation = QListWidget()
        self.text = QLineEdit()
        self.text.setPlaceholderText('Message (Enter sends it)')
        self.text.returnPressed.connect(self.send)
        self.send_button = QPushButton('Send')
        self.send_button.clicked.connect(self.send)
        left = QVBoxLayout()
        left.addWidget(QLabel('Conversations'))
        left.addWidget(self.peers)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(join)
        left.addLayout(buttons)
        right = QVBoxLayout()
        right.addWidget(self.conversation)
        writing = QHBoxLayout()
        writing.addWidget(self.text)
        writing.addWidget(self.send_button)
        right.addLayout(writing)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(right, 3)
        central = QWidget()
        central.setLayout(body)
        self.setCentralWidget(central)
        network.signals.arrived.connect(self.arrived)
        network.signals.disconnected.connect(self.lost)
        network.signals.notice.connect(self.statusBar().showMessage)

    def peer(self) -> str:
        """Return the conversation on screen."""
        item = self.peers.currentItem()
        return item.text() if item else ALL

    def add_peer(self, name: str) -> None:
        """Add a conversation to the list if it is not there."""
        self.history.setdefault(name, [])
        if not self.peers.findItems(name, Qt.MatchExactly):
            self.peers.addItem(name)

    def note(self, peer: str, line: str) -> None:
        """Add a line to a conversation (and to the screen if it is shown)."""
        self.add_peer(peer)
        self.history[peer].append(line)
        if peer == self.peer():
            self.conversation.addItem(line)
            self.conversation.scrollToBottom()

    def show_conversation(self, *_: Any) -> None:
        """Show the chosen conversation."""
        self.conversation.clear()
        self.conversation.addItems(self.history.get(self.peer(), []))

    def arrived(self, item: dict[str, Any]) -> None:
        """Show a message or who came or went, or act on a response."""
        if item.get('action') == Action.PRESENCE:
            self.statusBar().showMessage(came_or_went(item))
            return
        if 'response' not in item:
            to, sender = item.get('to', ''), item.get('from', '?')
            self.note(to if to.startswith('#') else sender, f'{sender}: {item.get("message")}')
            return
        code, asked = item['response'], item.get('request', {})
        if code >= 400:
            self.statusBar().showMessage(f'{code}: {item.get("error", "")}')
        for name in item.get('contacts', []):
            self.add_peer(name)
        if asked.get('action') == Action.ADD_CONTACT and code == 200:
            self.add_peer(asked['user_id'])
        if asked.get('action') == Action.JOIN and code == 200:
            self.add_peer(asked['room'])

    def send(self) -> None:
        """Send what is typed to the conversation on screen."""
        text, session = self.text.text().strip(), self.network.session
        if not text or session is None:
            return
        try:
            session.send(msg(self.peer(), text))
        except OSError as err:
            self.statusBar().showMessage(f'Not sent: {err}')
            return
        self.text.clear()
        self.note(self.peer(), f'{self.me}: {text}')

    def ask_contact(self) -> None:
        """Ask for a name and add it to the contacts."""
        name, ok = QInputDialog.getText(self, 'Add contact', 'Name')
        if ok and name.strip() and self.network.session:
            self.network.session.send(request(Action.ADD_CONTACT, user_id=name.strip()))

    def ask_room(self) -> None:
        """Ask for a room and join it."""
        room, ok = QInputDialog.getText(self, 'Join room', 'Room (#name)')
        if ok and room.strip() and self.network.session:
            self.network.session.send(request(Action.JOIN, room=room.strip()))

    def lost(self) -> None:
        """Say that the server is gone."""
        self.send_button.setEnabled(False)
        self.statusBar().showMessage('The connection to the server is lost')

    def closeEvent(self, event: Any) -> None:  # pylint: disable=invalid-name  # Qt's name
        """Say quit on the way out."""
        if self.network.session is not None:
            try:
                self.network.session.leave()
            except OSError:
                pass
        super().closeEvent(event)


def main(argv: list[str] | None = None) -> int:
    """Ask for the login, then show the window until it is closed."""
    parser = argparse.ArgumentParser(prog='jim-client-gui', description='The messenger window.')
    parser.add_argument('host', nargs='?', default='127.0.0.1')
    parser.add_argument('port', nargs='?', type=int, default=7777)
    parser.add_argument('-n', '--name', default='')
    parser.add_argument('--ca-file', help='trust this CA (PEM) for TLS')
    parser.add_argument('--no-e2e', action='store_true',
                        help='do not encrypt direct messages end to end')
    parser.add_argument('--key-file', type=Path,
                        help='your private key (default: one per name in the data folder)')
    args = parser.parse_args(argv)
    app = QApplication(sys.argv[:1])
    login = LoginDialog(args.name, args.host, args.port)
    if not login.exec_():
        return 0
    tls = ssl.create_default_context(cafile=args.ca_file) \
        if login.tls.isChecked() or args.ca_file else None
    network = NetworkThread(login.name.text().strip(), login.password.text(),
                            (login.host.text(), login.port.value()), tls=tls,
                            key_file=args.key_file, e2e=not args.no_e2e)
    window = ClientWindow(network)

    def refuse(text: str) -> None:
        QMessageBox.critical(None, 'Cannot log in', text)
        app.quit()

    network.signals.logged_in.connect(window.show)
    network.signals.failed.connect(refuse)
    network.start()
    app.exec_()
    network.wait(3000)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
