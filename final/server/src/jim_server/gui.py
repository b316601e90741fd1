"""The server's admin window (PyQt5, the ``gui`` extra): who is online, accounts, figures.

The network loop runs in a thread of its own; the window reads the immutable snapshot that the
loop publishes once a second (never the loop's own state), and reads and adds accounts through
the storage, which is safe from any thread.
"""
from __future__ import annotations

import signal
import sys
import threading

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                             QLineEdit, QListWidget, QMainWindow, QPushButton, QStatusBar,
                             QVBoxLayout, QWidget)

from jim.errors import RemoteProtocolError
from jim.messages import account_name
from jim.scram import DEFAULT_ITERATIONS

from jim_server.engine import Server
from jim_server.storage import StorageError


class AddUserDialog(QDialog):
    """Creates an account (or sets a new password): the storage keeps a SCRAM verifier.

    ``iterations`` is the PBKDF2 cost of the new verifier (``jim-server --iterations``).
    """

    def __init__(self, server: Server, parent: QWidget | None = None,
                 iterations: int = DEFAULT_ITERATIONS) -> None:
        super().__init__(parent)
        self.storage = server.chat.storage
        self.iterations = iterations
        self.setWindowTitle('Add user')
        self.name, self.password, self.again = QLineEdit(), QLineEdit(), QLineEdit()
        for field in (self.password, self.again):
            field.setEchoMode(QLineEdit.Password)
        self.problem = QLabel()
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        for label, widget in (('Name', self.name), ('Password', self.password),
                              ('Again', self.again)):
            form.addRow(label, widget)
        form.addRow(self.problem)
        form.addRow(buttons)

    def save(self) -> None:
        """Store the account, or say what is wrong."""
        name, password = self.name.text().strip(), self.password.text()
        try:
            account_name(name)
        except RemoteProtocolError as err:
            self.problem.setText(str(err))
            return
        if not password or password != self.again.text():
            self.problem.setText('Type the same, non-empty password twice')
            return
        try:
            self.storage.add_user(name, password, self.iterations)
        except StorageError as err:
            self.problem.setText(f'The database failed: {err}')
            return
        self.accept()


class ServerWindow(QMainWindow):
    """Online users and accounts, refreshed every second."""

    def __init__(self, server: Server, iterations: int = DEFAULT_ITERATIONS) -> None:
        super().__init__()
        self.server = server
        self.iterations = iterations     # of the accounts added here
        self.status = QStatusBar()
        self.setStatusBar(self.status)
        self.add_user: AddUserDialog | None = None
        host, port = server.address
        self.setWindowTitle(f'JIM server on {host}:{port}')
        self.resize(520, 420)
        self.online = QListWidget()
        self.accounts = QListWidget()
        add = QPushButton('Add user...')
        add.clicked.connect(self.show_add_user)
        layout = QVBoxLayout()
        for widget in (QLabel('Online now'), self.online, QLabel('Accounts'), self.accounts,
                       add):
            layout.addWidget(widget)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(1000)
        self.refresh()

    def refresh(self) -> None:
        """Redraw from a snapshot of the server."""
        snapshot = self.server.snapshot              # immutable: the loop publishes a new one
        online = snapshot.online
        try:
            names = self.server.chat.storage.user_names()
        except StorageError as err:
            self.status.showMessage(f'The database failed: {err}')
            return
        self.online.clear()
        self.online.addItems(online)
        self.accounts.clear()
        self.accounts.addItems(names)
        self.status.showMessage(f'{len(online)} online, {len(names)} accounts, '
                                f'{snapshot.connections} connections')

    def show_add_user(self) -> None:
        """Open the window that creates an account."""
        self.add_user = AddUserDialog(self.server, self, self.iterations)
        self.add_user.accepted.connect(self.refresh)
        self.add_user.show()


def run(server: Server, iterations: int = DEFAULT_ITERATIONS) -> None:
    """Serve in a thread and show the window until it is closed, SIGTERM or Ctrl+C.

    Accounts added in the window get ``iterations`` of PBKDF2.
    """
    app = QApplication.instance() or QApplication(sys.argv[:1])
    network = threading.Thread(target=server.serve_forever)
    network.start()
    window = ServerWindow(server, iterations)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.quit())
    window.show()
    app.exec_()
    server.stop()
    network.join(10)
