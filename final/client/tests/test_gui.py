"""The window against a real server: log in through the dialog, chat, end to end."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QDialogButtonBox

from jim_client.gui import ClientWindow, LoginDialog, NetworkThread


@pytest.fixture
def log_in(qtbot, address, tmp_path):
    """Yield a function that logs a name in through the dialog; return (window, network)."""
    threads = []

    def log_in_as(name, password='pw', e2e=True):
        dialog = LoginDialog(host=address[0], port=address[1])
        qtbot.addWidget(dialog)
        qtbot.keyClicks(dialog.name, name)
        qtbot.keyClicks(dialog.password, password)
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
        assert dialog.result() == LoginDialog.Accepted
        network = NetworkThread(dialog.name.text(), dialog.password.text(),
                                (dialog.host.text(), dialog.port.value()),
                                key_file=tmp_path / f'{name}.key', e2e=e2e)
        window = ClientWindow(network)
        qtbot.addWidget(window)
        threads.append((window, network))
        return window, network

    yield log_in_as
    for window, network in threads:
        window.close()
        network.wait(5000)


def lines(window):
    """Return the lines the window's conversation shows."""
    return [window.conversation.item(row).text() for row in range(window.conversation.count())]


def start(qtbot, log_in, *names):
    """Log each name in and wait until its window is connected; return the windows."""
    return [connected(qtbot, *log_in(name)) for name in names]


def connected(qtbot, window, network):
    """Start the window's network and wait until it is logged in; return the window."""
    with qtbot.waitSignal(network.signals.logged_in, timeout=10000):
        network.start()
    return window


def test_message_to_all_reaches_another_window(qtbot, log_in):
    alice, bob = start(qtbot, log_in, 'alice', 'bob')
    qtbot.keyClicks(alice.text, 'hello from the window')
    qtbot.mouseClick(alice.send_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: 'alice: hello from the window' in lines(bob), timeout=5000)
    assert lines(alice) == ['alice: hello from the window']


def test_direct_message_is_encrypted_and_read(qtbot, log_in):
    alice, bob = start(qtbot, log_in, 'alice', 'bob')
    alice.add_peer('bob')
    alice.peers.setCurrentRow(alice.peers.count() - 1)
    alice.text.setText('Секрет для Боба')
    alice.send()
    qtbot.waitUntil(lambda: bool(bob.history.get('alice')), timeout=5000)
    assert bob.history['alice'] == ['alice: Секрет для Боба']


def test_window_without_end_to_end_encryption_sends_readable_text(qtbot, log_in, tmp_path):
    alice = connected(qtbot, *log_in('alice', e2e=False))
    [bob] = start(qtbot, log_in, 'bob')
    assert alice.network.session.keys is None and not (tmp_path / 'alice.key').exists()
    alice.add_peer('bob')
    alice.peers.setCurrentRow(alice.peers.count() - 1)
    alice.text.setText('in the clear')
    alice.send()
    qtbot.waitUntil(lambda: bob.history.get('alice') == ['alice: in the clear'], timeout=5000)


def test_window_says_when_a_message_goes_out_unencrypted(qtbot, log_in):
    [alice] = start(qtbot, log_in, 'alice')         # carol has never published a key
    alice.add_peer('carol')
    alice.peers.setCurrentRow(alice.peers.count() - 1)
    alice.text.setText('are you there?')
    alice.send()
    qtbot.waitUntil(lambda: 'carol has no key' in alice.statusBar().currentMessage(),
                    timeout=5000)


def test_wrong_password_is_reported(qtbot, log_in):
    _, network = log_in('alice', 'wrong')
    with qtbot.waitSignal(network.signals.failed, timeout=10000) as blocker:
        network.start()
    assert '402' in blocker.args[0]
