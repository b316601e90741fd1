"""The server's windows, driven through pytest-qt against a real server in a thread."""
from PyQt5.QtWidgets import QMessageBox

from client import ChatClient
from client_storage import ClientStorage
from passwords import derive_key
from protocol import encode_message, make_chat_message
from server_gui import (AddUserDialog, Notifier, ServerWindow, SettingsDialog,
                        StatisticsDialog)
from server_settings import load_settings
from server_storage import ServerStorage


def join(server, name):
    """Create ``name``'s account and log in; return the socket and its reader."""
    server.storage.add_user(name, 'secret', iterations=1000)
    client = ChatClient(name, ClientStorage('sqlite://'))
    client.connect('127.0.0.1', server.port)
    assert client.introduce('secret')['response'] == 200
    return client.sock, client.inbox.reader


def cell(view, row, column):
    """Return the text in one cell of a table view."""
    model = view.model()
    return model.data(model.index(row, column))


def test_window_lists_connected_users_and_statistics_count_messages(qtbot, running_server,
                                                                    tmp_path):
    window = ServerWindow(running_server.storage, str(tmp_path / 'server.ini'))
    qtbot.addWidget(window)
    notifier = Notifier()
    notifier.changed.connect(window.refresh)
    running_server.on_change = notifier.changed.emit
    window.show()
    alice, _ = join(running_server, 'alice')
    bob, bob_reader = join(running_server, 'bob')
    qtbot.waitUntil(lambda: window.table.model().rowCount() == 2, timeout=5000)
    assert [cell(window.table, row, 0) for row in range(2)] == ['alice', 'bob']
    assert window.statusBar().currentMessage() == '2 connected'

    alice.sendall(encode_message(make_chat_message('alice', 'bob', 'Привет')))
    assert bob_reader.feed(bob.recv(4096))[0]['message'] == 'Привет'
    qtbot.waitUntil(lambda: running_server.storage.message_stats()[0][2] == 1, timeout=5000)
    window.show_statistics()
    stats = window.statistics.table
    assert [cell(stats, 0, column) for column in (0, 2, 3)] == ['alice', '1', '0']
    assert [cell(stats, 1, column) for column in (0, 2, 3)] == ['bob', '0', '1']

    alice.close()
    qtbot.waitUntil(lambda: window.table.model().rowCount() == 1, timeout=5000)
    bob.close()
    running_server.on_change = None     # the notifier dies with this test


def test_add_user_window_stores_a_hashed_password(qtbot, tmp_path):
    storage = ServerStorage(f'sqlite:///{tmp_path}/users.db')
    dialog = AddUserDialog(storage)
    qtbot.addWidget(dialog)
    dialog.name.setText('alice')
    dialog.password.setText('secret')
    dialog.again.setText('typo')
    dialog.save()
    assert 'same' in dialog.problem.text() and storage.password_record('alice') is None
    dialog.again.setText('secret')
    dialog.save()
    salt, iterations, key = storage.password_record('alice')
    assert key == derive_key('secret', salt, iterations)
    assert dialog.result() == AddUserDialog.Accepted


def test_add_user_window_refuses_a_bad_name(qtbot, tmp_path):
    dialog = AddUserDialog(ServerStorage(f'sqlite:///{tmp_path}/users.db'))
    qtbot.addWidget(dialog)
    dialog.name.setText('x' * 26)
    dialog.password.setText('secret')
    dialog.again.setText('secret')
    dialog.save()
    assert '25' in dialog.problem.text()


def test_statistics_of_an_empty_server(qtbot, tmp_path):
    dialog = StatisticsDialog(ServerStorage(f'sqlite:///{tmp_path}/empty.db'))
    qtbot.addWidget(dialog)
    assert dialog.table.model().rowCount() == 0


def test_settings_are_saved_for_the_next_start(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, 'information', lambda *args: None)
    path = str(tmp_path / 'server.ini')
    dialog = SettingsDialog(path)
    qtbot.addWidget(dialog)
    dialog.db.setText(str(tmp_path / 'other.db'))
    dialog.address.setText('127.0.0.1')
    dialog.port.setValue(8888)
    dialog.save()
    assert load_settings(path) == {'db': str(tmp_path / 'other.db'), 'address': '127.0.0.1',
                                   'port': '8888'}
    again = SettingsDialog(path)
    qtbot.addWidget(again)
    assert (again.port.value(), again.address.text()) == (8888, '127.0.0.1')


def test_settings_refuse_privileged_ports(qtbot, tmp_path):
    dialog = SettingsDialog(str(tmp_path / 'server.ini'))
    qtbot.addWidget(dialog)
    dialog.port.setValue(80)
    assert dialog.port.value() == 1024
