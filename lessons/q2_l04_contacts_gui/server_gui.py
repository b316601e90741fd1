"""The server's window (PyQt5): connected users, message statistics and settings.

The network core keeps running in its own thread; it tells the window that users came or
went through a Qt signal, which Qt delivers in the window's thread.
"""
import signal
import sys
import threading

from PyQt5.QtCore import QObject, QTimer, pyqtSignal
from PyQt5.QtGui import QStandardItem, QStandardItemModel
from PyQt5.QtWidgets import (QAction, QApplication, QDialog, QDialogButtonBox, QFileDialog,
                             QFormLayout, QHBoxLayout, QLineEdit, QMainWindow, QMessageBox,
                             QPushButton, QSpinBox, QTableView, QVBoxLayout, QWidget)

from constants import SERVER_DB
from descriptors import MAX_PORT, MIN_PORT
from server_settings import load_settings, save_settings

TIME_FORMAT = '%Y-%m-%d %H:%M:%S'


def table_model(headers, rows):
    """Return a read-only table model of ``rows`` under ``headers``."""
    model = QStandardItemModel(0, len(headers))
    model.setHorizontalHeaderLabels(headers)
    for row in rows:
        items = [QStandardItem(value.strftime(TIME_FORMAT) if hasattr(value, 'strftime')
                               else str(value)) for value in row]
        for item in items:
            item.setEditable(False)
        model.appendRow(items)
    return model


class Notifier(QObject):
    """Carries the network thread's news to the window's thread."""

    changed = pyqtSignal()


class ServerWindow(QMainWindow):
    """The main window: who is connected now, and the ways to the other windows."""

    def __init__(self, storage, settings_path):
        super().__init__()
        self.storage = storage
        self.settings_path = settings_path
        self.statistics = None
        self.settings = None
        self.setWindowTitle('JIM server')
        self.resize(640, 400)
        toolbar = self.addToolBar('Server')
        for title, slot in (('Refresh', self.refresh), ('Statistics', self.show_statistics),
                            ('Settings', self.show_settings), ('Exit', self.close)):
            action = QAction(title, self)
            action.triggered.connect(slot)
            toolbar.addAction(action)
        self.table = QTableView()
        self.setCentralWidget(self.table)
        self.refresh()

    def refresh(self):
        """Show the users connected now."""
        rows = self.storage.active_users_list()
        self.table.setModel(table_model(('User', 'Address', 'Port', 'Connected since'), rows))
        self.table.resizeColumnsToContents()
        self.statusBar().showMessage(f'{len(rows)} connected')

    def show_statistics(self):
        """Open the statistics window."""
        self.statistics = StatisticsDialog(self.storage, self)
        self.statistics.show()

    def show_settings(self):
        """Open the settings window."""
        self.settings = SettingsDialog(self.settings_path, self)
        self.settings.show()


class StatisticsDialog(QDialog):
    """Every user with their last login and message counters."""

    def __init__(self, storage, parent=None):
        super().__init__(parent)
        self.setWindowTitle('Statistics')
        self.resize(520, 300)
        self.table = QTableView()
        self.table.setModel(table_model(('User', 'Last login', 'Sent', 'Received'),
                                        storage.message_stats()))
        self.table.resizeColumnsToContents()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)


class SettingsDialog(QDialog):
    """Database path, address and port; saved to the settings file for the next start."""

    def __init__(self, settings_path, parent=None):
        super().__init__(parent)
        self.settings_path = settings_path
        saved = load_settings(settings_path)
        self.setWindowTitle('Settings')
        self.db = QLineEdit(saved.get('db', SERVER_DB))
        browse = QPushButton('Browse...')
        browse.clicked.connect(self.choose_db)
        db_row = QWidget()
        row = QHBoxLayout(db_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.db)
        row.addWidget(browse)
        self.address = QLineEdit(saved.get('address', ''))
        self.address.setPlaceholderText('every address')
        self.port = QSpinBox()
        self.port.setRange(MIN_PORT, MAX_PORT)
        self.port.setValue(int(saved.get('port', 7777)))
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow('Database file', db_row)
        form.addRow('Address', self.address)
        form.addRow('Port', self.port)
        form.addRow(buttons)

    def choose_db(self):
        """Let the user pick the database file."""
        path, _ = QFileDialog.getSaveFileName(self, 'Database file', self.db.text(),
                                              'SQLite databases (*.db);;All files (*)')
        if path:
            self.db.setText(path)

    def save(self):
        """Save the settings; they apply when the server next starts."""
        save_settings(self.settings_path, {'db': self.db.text(), 'address': self.address.text(),
                                           'port': str(self.port.value())})
        QMessageBox.information(self, 'Settings', 'Saved. They apply when the server restarts.')
        self.accept()


def run(server, settings_path):
    """Serve in a thread of its own and show the window until it is closed."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    notifier = Notifier()
    window = ServerWindow(server.storage, settings_path)
    notifier.changed.connect(window.refresh)
    server.on_change = notifier.changed.emit
    network = threading.Thread(target=server.serve_forever, daemon=True)
    network.start()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.quit())
    # Python runs signal handlers only between bytecodes: a timer gives it the chance.
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)
    window.show()
    app.exec_()
    server.stop()
    network.join(5)
    server.on_change = None      # the window and its notifier are gone
