"""The client window against a real server: log in, chat, manage contacts."""
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QDialogButtonBox, QMessageBox

from messenger_client.client_gui import LoginDialog, start_session


@pytest.fixture
def log_in(qtbot, running_server, tmp_path):
    """Log a user in through the login dialog; return the shown window."""
    sessions = []

    def log_in_as(name):
        running_server.storage.add_user(name, 'secret', iterations=1000)
        dialog = LoginDialog(port=running_server.port)
        qtbot.addWidget(dialog)
        qtbot.keyClicks(dialog.name, name)
        qtbot.keyClicks(dialog.password, 'secret')
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
        assert dialog.result() == LoginDialog.Accepted
        window, thread = start_session(dialog.name.text(), dialog.password.text(),
                                       dialog.address.text(), dialog.port.value(),
                                       tmp_path / f'{name}.db')
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.client.signals.logged_in, timeout=5000):
            thread.start()
        sessions.append((window, thread))
        window.show()
        return window

    yield log_in_as
    for window, thread in sessions:
        window.close()
        thread.wait(5000)


def history(window):
    """Return the lines of the conversation on screen."""
    return [window.history.item(row).text() for row in range(window.history.count())]


def send(qtbot, window, text):
    """Type ``text`` and click Send (QTest types ASCII only: the rest is pasted)."""
    if text.isascii():
        qtbot.keyClicks(window.text, text)
    else:
        window.text.setText(text)
    qtbot.mouseClick(window.send_button, Qt.LeftButton)


def test_a_message_reaches_another_window(qtbot, log_in):
    alice, bob = log_in('alice'), log_in('bob')
    assert alice.peer() == bob.peer() == '#all'
    send(qtbot, alice, 'Привет, Боб!')
    qtbot.waitUntil(lambda: any(line.endswith('alice: Привет, Боб!') for line in history(bob)),
                    timeout=5000)
    qtbot.waitUntil(lambda: any('Привет' in line for line in history(alice)), timeout=5000)
    assert alice.text.text() == ''


def test_contact_added_then_direct_message(qtbot, log_in):
    alice, bob = log_in('alice'), log_in('bob')
    qtbot.waitUntil(lambda: 'bob' in alice.client.storage.known_users(), timeout=5000)
    alice.ask_contact_to_add()
    assert alice.add_dialog.choice.currentText() == 'bob'
    alice.add_dialog.accept()
    qtbot.waitUntil(lambda: alice.contacts.count() == 2, timeout=5000)
    alice.contacts.setCurrentRow(1)
    assert alice.peer() == 'bob'
    send(qtbot, alice, 'just for you')
    qtbot.waitUntil(lambda: [row[3] for row in bob.client.storage.history('alice')] ==
                    ['just for you'], timeout=5000)
    assert history(bob) == []          # bob looks at #all, not at alice


def test_contact_removed_after_confirmation(qtbot, log_in, monkeypatch):
    alice, _ = log_in('alice'), log_in('bob')
    alice.change_contact('add_contact', 'bob')
    qtbot.waitUntil(lambda: alice.contacts.count() == 2, timeout=5000)
    alice.contacts.setCurrentRow(1)
    monkeypatch.setattr(QMessageBox, 'question', lambda *args: QMessageBox.Yes)
    alice.remove_contact()
    qtbot.waitUntil(lambda: alice.contacts.count() == 1, timeout=5000)


def test_wrong_server_is_reported(qtbot, tmp_path, closed_port):
    window, thread = start_session('alice', 'secret', '127.0.0.1', closed_port,
                                   tmp_path / 'a.db')
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.client.signals.failed, timeout=5000) as blocker:
        thread.start()
    thread.wait(5000)
    assert 'Cannot reach' in blocker.args[0]


def test_wrong_password_is_refused_clearly(qtbot, running_server, tmp_path):
    running_server.storage.add_user('alice', 'secret', iterations=1000)
    window, thread = start_session('alice', 'guess', '127.0.0.1', running_server.port,
                                   tmp_path / 'a.db')
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.client.signals.failed, timeout=5000) as blocker:
        thread.start()
    thread.wait(5000)
    assert blocker.args[0] == '402: wrong name or password'


def test_login_dialog_hides_the_password(qtbot):
    dialog = LoginDialog()
    qtbot.addWidget(dialog)
    assert dialog.password.echoMode() == dialog.password.Password


def test_login_dialog_needs_a_name(qtbot):
    dialog = LoginDialog()
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    assert dialog.result() != LoginDialog.Accepted
