"""Save a PNG of every window of this stage, drawn offscreen with demo data.

Run: ``python screenshots.py OUTPUT_DIR`` (``nox -s screenshots`` does it for every stage).
"""
import os
import sys
import tempfile
from pathlib import Path

from PyQt5.QtWidgets import QApplication

# The two packages, uninstalled, from their folders (as run_server.py and run_client.py do).
sys.path[:0] = [str(Path(__file__).resolve().parent / side) for side in ('server', 'client')]
# pylint: disable=wrong-import-position
from messenger_client.client_gui import (  # noqa: E402
    AddContactDialog, ClientWindow, LoginDialog, QtChatClient)
from messenger_client.client_storage import ClientStorage  # noqa: E402
from messenger_server.server_gui import (  # noqa: E402
    AddUserDialog, ServerWindow, SettingsDialog, StatisticsDialog)
from messenger_server.server_storage import ServerStorage  # noqa: E402
# pylint: enable=wrong-import-position


def demo_storage(folder):
    """Return a storage with a few users, logins and messages."""
    storage = ServerStorage(f'sqlite:///{folder}/demo.db')
    for number, name in enumerate(('alice', 'bob', 'Мария', 'dave')):
        storage.user_login(name, '192.168.0.1' + str(number), 50000 + number)
    storage.user_logout('dave')
    storage.add_message_counts({'alice': (12, 7), 'bob': (5, 9), 'Мария': (3, 4)})
    return storage


def demo_client(folder):
    """Return alice's client, not connected, with contacts and a conversation stored."""
    storage = ClientStorage(f'sqlite:///{folder}/alice.db')
    storage.set_known_users(['alice', 'bob', 'Мария', 'dave'])
    storage.set_contacts(['bob', 'Мария'])
    for sender, outgoing, text in (('alice', True, 'Hi Bob, are you coming today?'),
                                   ('bob', False, 'Yes, at six.'),
                                   ('alice', True, 'Great, see you!')):
        storage.save_message('bob', sender, outgoing, text)
    return QtChatClient('alice', storage)


def main(output):
    """Draw each window and save it under ``output``."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')    # read when the app starts
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        storage = demo_storage(folder)
        window = ServerWindow(storage, f'{folder}/server.ini')
        client_window = ClientWindow(demo_client(folder))
        client_window.contacts.setCurrentRow(1)
        windows = {
            'server_window': window,
            'server_statistics': StatisticsDialog(storage),
            'server_settings': SettingsDialog(f'{folder}/server.ini'),
            'server_add_user': AddUserDialog(storage),
            'client_login': LoginDialog('alice'),
            'client_window': client_window,
            'client_add_contact': AddContactDialog(['dave']),
        }
        for name, widget in windows.items():
            widget.show()
            app.processEvents()
            widget.grab().save(str(output / f'{name}.png'))
            print(output / f'{name}.png')
        storage.engine.dispose()
        client_window.client.storage.engine.dispose()
    return 0


if __name__ == '__main__':
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else 'screenshots'))
