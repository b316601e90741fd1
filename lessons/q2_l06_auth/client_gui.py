"""The client's window (PyQt5): log in, pick a contact, read the history, write.

Run: ``python client_gui.py`` (``--help`` for the options). All socket work happens in a
``QThread``; the client's news reaches the window as Qt signals, which Qt delivers in the
window's thread.
"""
import argparse
import os
import sys

from PyQt5.QtCore import QObject, Qt, QThread, pyqtSignal
from PyQt5.QtWidgets import (QApplication, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                             QHBoxLayout, QLabel, QLineEdit, QListWidget, QMainWindow,
                             QMessageBox, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from client import ChatClient, describe_response
from client_storage import ClientStorage
from constants import (ADD_CONTACT, ALL, CLIENT_DB, DEFAULT_PORT, DEL_CONTACT, GET_CONTACTS,
                       GET_USERS, OK, RESPONSE)
from descriptors import MAX_PORT, MIN_PORT
from protocol import ProtocolError, make_chat_message, make_quit, make_request

TIME_FORMAT = '%H:%M'


class ClientSignals(QObject):
    """What the network thread tells the window."""

    logged_in = pyqtSignal()
    failed = pyqtSignal(str)          # could not log in: why
    report = pyqtSignal(str)          # a line for the status bar
    lists_changed = pyqtSignal()
    history_changed = pyqtSignal(str)  # the peer whose conversation changed
    disconnected = pyqtSignal()


class QtChatClient(ChatClient):
    """The chat client of lesson 8 whose news goes to the window instead of the console."""

    def __init__(self, name, storage):
        super().__init__(name, storage)
        self.signals = ClientSignals()

    def report(self, text):
        """Show a line in the window's status bar."""
        self.signals.report.emit(text)

    def lists_changed(self):
        """Let the window redraw the contact list."""
        self.signals.lists_changed.emit()

    def history_changed(self, peer):
        """Let the window redraw the conversation with ``peer``."""
        self.signals.history_changed.emit(peer)

    def presence_changed(self, name, status):
        """Someone came or went: ask for the fresh list of users."""
        super().presence_changed(name, status)
        self.send(make_request(GET_USERS))


class NetworkThread(QThread):
    """Connects, introduces the user, then receives until the connection ends."""

    def __init__(self, client, password, address, port):
        super().__init__()
        self.client = client
        self.password = password
        self.address = address
        self.port = port

    def run(self):
        """Runs in the new thread."""
        signals = self.client.signals
        try:
            self.client.connect(self.address, self.port)
            response = self.client.introduce(self.password)
        except (OSError, ProtocolError) as err:
            signals.failed.emit(f'Cannot reach {self.address}:{self.port}: {err}')
            return
        if response[RESPONSE] != OK:
            signals.failed.emit(describe_response(response))
            return
        signals.logged_in.emit()
        self.client.send(make_request(GET_CONTACTS))
        self.client.send(make_request(GET_USERS))
        self.client.receive_loop()
        signals.disconnected.emit()


class LoginDialog(QDialog):
    """Asks for the name and the server."""

    def __init__(self, name='', address='127.0.0.1', port=DEFAULT_PORT, parent=None):
        super().__init__(parent)
        self.setWindowTitle('Log in')
        self.name = QLineEdit(name)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.Password)
        self.address = QLineEdit(address)
        self.port = QSpinBox()
        self.port.setRange(MIN_PORT, MAX_PORT)
        self.port.setValue(port)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept_if_named)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow('Name', self.name)
        form.addRow('Password', self.password)
        form.addRow('Server', self.address)
        form.addRow('Port', self.port)
        form.addRow(self.buttons)

    def accept_if_named(self):
        """Close the dialog once a name is typed."""
        if self.name.text().strip():
            self.accept()


class AddContactDialog(QDialog):
    """Picks one of the known users who is not a contact yet."""

    def __init__(self, candidates, parent=None):
        super().__init__(parent)
        self.setWindowTitle('Add a contact')
        self.choice = QComboBox()
        self.choice.addItems(candidates)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel('User'))
        layout.addWidget(self.choice)
        layout.addWidget(buttons)


class ClientWindow(QMainWindow):
    """Contacts on the left; the conversation with the chosen one on the right."""

    def __init__(self, client):
        super().__init__()
        self.client = client
        self.add_dialog = None
        self.setWindowTitle(f'JIM messenger: {client.name}')
        self.resize(700, 450)
        self.contacts = QListWidget()
        self.contacts.currentTextChanged.connect(self.show_history)
        add, remove = QPushButton('Add'), QPushButton('Remove')
        add.clicked.connect(self.ask_contact_to_add)
        remove.clicked.connect(self.remove_contact)
        self.history = QListWidget()
        self.text = QLineEdit()
        self.text.setPlaceholderText('Message (Enter sends it)')
        self.text.returnPressed.connect(self.send_message)
        self.send_button = QPushButton('Send')
        self.send_button.clicked.connect(self.send_message)

        left = QVBoxLayout()
        left.addWidget(QLabel('Contacts'))
        left.addWidget(self.contacts)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        left.addLayout(buttons)
        right = QVBoxLayout()
        right.addWidget(self.history)
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

        signals = client.signals
        signals.report.connect(self.statusBar().showMessage)
        signals.lists_changed.connect(self.refresh_contacts)
        signals.history_changed.connect(self.history_changed)
        signals.disconnected.connect(self.connection_lost)
        self.refresh_contacts()

    def peer(self):
        """Return the chosen contact (``#all`` when none is)."""
        item = self.contacts.currentItem()
        return item.text() if item else ALL

    def refresh_contacts(self):
        """Redraw the contact list, keeping the choice."""
        chosen = self.peer()
        self.contacts.blockSignals(True)
        self.contacts.clear()
        self.contacts.addItems([ALL] + self.client.storage.contacts())
        matches = self.contacts.findItems(chosen, Qt.MatchExactly)
        self.contacts.setCurrentItem(matches[0] if matches else self.contacts.item(0))
        self.contacts.blockSignals(False)
        self.show_history()

    def show_history(self, *_):
        """Show the conversation with the chosen contact."""
        self.history.clear()
        for when, sender, _, text in self.client.storage.history(self.peer()):
            self.history.addItem(f'{when:{TIME_FORMAT}} {sender}: {text}')
        self.history.scrollToBottom()

    def history_changed(self, peer):
        """Redraw the conversation if it is the one on screen."""
        if peer == self.peer():
            self.show_history()

    def send_message(self):
        """Send what is typed to the chosen contact."""
        text = self.text.text().strip()
        if not text:
            return
        try:
            self.client.send(make_chat_message(self.client.name, self.peer(), text))
        except OSError as err:
            self.statusBar().showMessage(f'Not sent: {err}')
            return
        self.text.clear()

    def ask_contact_to_add(self):
        """Offer the known users who are not contacts yet."""
        storage = self.client.storage
        taken = set(storage.contacts()) | {self.client.name}
        candidates = [name for name in storage.known_users() if name not in taken]
        self.add_dialog = AddContactDialog(candidates, self)
        self.add_dialog.accepted.connect(
            lambda: self.change_contact(ADD_CONTACT, self.add_dialog.choice.currentText()))
        self.add_dialog.show()

    def remove_contact(self):
        """Remove the chosen contact after asking."""
        name = self.peer()
        if name == ALL:
            return
        answer = QMessageBox.question(self, 'Remove a contact', f'Remove {name}?')
        if answer == QMessageBox.Yes:
            self.change_contact(DEL_CONTACT, name)

    def change_contact(self, action, name):
        """Ask the server to add or remove a contact; the list follows its answer."""
        if name:
            self.client.send(make_request(action, name))

    def connection_lost(self):
        """Say that the server is gone."""
        self.send_button.setEnabled(False)
        self.statusBar().showMessage('The connection to the server is lost')

    def closeEvent(self, event):  # pylint: disable=invalid-name  # Qt's name
        """Say quit to the server on the way out."""
        try:
            self.client.send(make_quit())
        except OSError:
            pass
        super().closeEvent(event)


def start_session(name, password, address, port, db_path=None):
    """Create the client, its window and its network thread, not started yet.

    Return ``(window, thread)``. Connect to ``window.client.signals`` first (show the window
    on ``logged_in``), then start the thread: a signal emitted before is lost.
    """
    storage = ClientStorage(f'sqlite:///{db_path or CLIENT_DB.format(name=name)}')
    client = QtChatClient(name, storage)
    window = ClientWindow(client)
    thread = NetworkThread(client, password, address, port)
    return window, thread


def parse_args(argv=None):
    """Read the command line: the defaults shown in the login dialog."""
    parser = argparse.ArgumentParser(description='JIM messenger client window.')
    parser.add_argument('address', nargs='?', default='127.0.0.1',
                        help='server address (default: 127.0.0.1)')
    parser.add_argument('port', nargs='?', type=int, default=DEFAULT_PORT,
                        help=f'server port (default: {DEFAULT_PORT})')
    parser.add_argument('-n', '--name', default='', help='account name')
    parser.add_argument('--db', help='database of contacts and history (default: '
                                     f'{CLIENT_DB.format(name="NAME")} in this directory)')
    return parser.parse_args(argv)


def main(argv=None):
    """Ask for the login, then show the window until it is closed."""
    args = parse_args(argv)
    os.umask(0o077)         # every file made from here on: for their owner's eyes only
    app = QApplication(sys.argv[:1])
    login = LoginDialog(args.name, args.address, args.port)
    if not login.exec_():
        return 0
    window, thread = start_session(login.name.text().strip(), login.password.text(),
                                   login.address.text(), login.port.value(), args.db)

    def refuse(text):
        QMessageBox.critical(None, 'Cannot log in', text)
        app.quit()

    window.client.signals.logged_in.connect(window.show)
    window.client.signals.failed.connect(refuse)
    thread.start()
    app.exec_()
    window.client.close()
    thread.wait(2000)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
