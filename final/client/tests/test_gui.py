"""The window against a real server: log in through the dialog, chat, history, states, keys."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import time

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QDialogButtonBox

from jim.constants import Action
from jim.messages import msg, request
from jim_client.connection import Connection
from jim_client.conversation import State
from jim_client.e2e import KeyPair
from jim_client.gui import ClientWindow, LoginDialog, NetworkThread, read_options
from jim_client.session import Options
from jim_client.settings import ClientSettings
from jim_client.trust import fingerprint
from jim_server.storage import NewMessage, StorageError


@pytest.fixture
def log_in(qtbot, address, tmp_path):
    """Yield a function that logs a name in through the dialog (to ``via``, another address,
    if given); return (window, network). Each name keeps its files in a folder of its own."""
    threads = []

    def log_in_as(name, password='pw', e2e=True, via=None):
        host, port = via or address
        dialog = LoginDialog(host=host, port=port)
        qtbot.addWidget(dialog)
        qtbot.keyClicks(dialog.name, name)
        qtbot.keyClicks(dialog.password, password)
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
        assert dialog.result() == LoginDialog.Accepted
        network = NetworkThread(dialog.name.text(), dialog.password.text(),
                                (dialog.host.text(), dialog.port.value()),
                                Options(e2e=e2e, data_dir=tmp_path / name))
        window = ClientWindow(network)
        qtbot.addWidget(window)
        threads.append((window, network))
        return window, network

    yield log_in_as
    for window, network in threads:
        window.close()
        network.wait(5000)


def shown(window):
    """Return the lines the conversation on screen shows."""
    return [window.view.item(row).text() for row in range(window.view.count())]


def said(window, peer=None):
    """Return ``sender: text`` of each message of a conversation (the one on screen)."""
    if peer is not None and peer not in window.conversations:
        return []
    return [f'{entry.sender}: {entry.text}' for entry in window.entries(peer)]


def start(qtbot, log_in, *names):
    """Log each name in and wait until its window is connected; return the windows."""
    return [connected(qtbot, *log_in(name)) for name in names]


def connected(qtbot, window, network):
    """Start the window's network and wait until it is logged in; return the window."""
    window.show()
    with qtbot.waitSignal(network.signals.logged_in, timeout=10000):
        network.start()
    return window


def status_log(window):
    """Return a list that gets every message the window's status bar shows from now on (a
    message can be replaced before a poll reads it: bob's return follows alice's at once)."""
    log = []
    window.statusBar().messageChanged.connect(log.append)
    return log


def open_peer(window, name):
    """Show the conversation with ``name``."""
    window.add_peer(name)
    window.peers.setCurrentItem(window.peer_item(name))


def write(window, text):
    """Type ``text`` in the window and send it."""
    window.text.setText(text)
    window.send()


def test_message_to_all_reaches_another_window(qtbot, log_in):
    alice, bob = start(qtbot, log_in, 'alice', 'bob')
    qtbot.keyClicks(alice.text, 'hello from the window')
    qtbot.mouseClick(alice.send_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: said(bob) == ['alice: hello from the window'], timeout=5000)
    assert said(alice) == ['alice: hello from the window']


def test_direct_message_is_encrypted_and_read(qtbot, log_in):
    alice, bob = start(qtbot, log_in, 'alice', 'bob')
    open_peer(alice, 'bob')
    write(alice, 'Секрет для Боба')
    qtbot.waitUntil(lambda: said(bob, 'alice') == ['alice: Секрет для Боба'], timeout=5000)


def test_window_without_end_to_end_encryption_sends_readable_text(qtbot, log_in, tmp_path):
    alice = connected(qtbot, *log_in('alice', e2e=False))
    [bob] = start(qtbot, log_in, 'bob')
    assert alice.network.session.keys is None and not (tmp_path / 'alice' / 'keys').exists()
    open_peer(alice, 'bob')
    write(alice, 'in the clear')
    qtbot.waitUntil(lambda: said(bob, 'alice') == ['alice: in the clear'], timeout=5000)


def test_window_says_when_a_message_goes_out_unencrypted(qtbot, log_in):
    [alice] = start(qtbot, log_in, 'alice')         # carol has never published a key
    open_peer(alice, 'carol')
    write(alice, 'are you there?')
    qtbot.waitUntil(lambda: 'carol has no key' in alice.statusBar().currentMessage(),
                    timeout=5000)


def test_wrong_password_is_reported(qtbot, log_in):
    _, network = log_in('alice', 'wrong')
    with qtbot.waitSignal(network.signals.failed, timeout=10000) as blocker:
        network.start()
    assert '402' in blocker.args[0]


def test_the_window_says_when_the_server_is_lost_and_sends_what_was_typed(qtbot, log_in,
                                                                          restart):
    alice, bob = start(qtbot, log_in, 'alice', 'bob')
    statuses = status_log(alice)
    restart.stop()
    qtbot.waitUntil(lambda: any('lost' in text for text in statuses), timeout=5000)
    open_peer(alice, 'bob')
    write(alice, 'written while the server was away')
    restart.start()
    qtbot.waitUntil(lambda: 'Reconnected' in statuses, timeout=10000)
    qtbot.waitUntil(lambda: said(bob, 'alice') == ['alice: written while the server '
                                                   'was away'], timeout=10000)


def test_history_is_there_when_the_window_is_opened_again(qtbot, log_in):
    alice, bob = start(qtbot, log_in, 'alice', 'bob')
    write(alice, 'morning, all')
    open_peer(alice, 'bob')
    for text in ('one, sealed', 'two, sealed'):
        write(alice, text)
    qtbot.waitUntil(lambda: len(said(bob, 'alice')) == 2, timeout=5000)
    open_peer(bob, 'alice')
    write(bob, 'three, from bob')
    qtbot.waitUntil(lambda: len(said(alice, 'bob')) == 3, timeout=5000)
    qtbot.waitUntil(lambda: all(e.state is State.SENT for e in alice.entries('bob')
                                if e.sender == 'alice'), timeout=5000)
    alice.close()
    alice.network.wait(5000)
    again = connected(qtbot, *log_in('alice'))
    assert again.peer_item('bob') is not None                  # remembered
    qtbot.waitUntil(lambda: said(again, '#all') == ['alice: morning, all'], timeout=5000)
    open_peer(again, 'bob')
    qtbot.waitUntil(lambda: said(again) == ['alice: one, sealed', 'alice: two, sealed',
                                            'bob: three, from bob'], timeout=5000)
    assert [e.state for e in again.entries()] == [State.SENT, State.SENT, None]
    assert any('one, sealed' in line for line in shown(again))


def test_older_pages_load_when_scrolled_to_the_top(qtbot, log_in, address):
    texts = [f'message {n}' for n in range(40)]
    with Connection(*address) as alice, Connection(*address) as bob:
        bob.login('bob', 'pw')                      # they reach bob here: no backlog later
        alice.login('alice', 'pw')
        for text in texts:
            alice.send(msg('#all', text))
        for _ in texts:
            assert alice.response()['response'] == 200
        while bob.receive().get('message') != texts[-1]:
            pass
    bob_window, network = log_in('bob')
    bob_window.PAGE = 15
    bob = connected(qtbot, bob_window, network)
    qtbot.waitUntil(lambda: len(said(bob)) == 15, timeout=5000)
    assert said(bob) == [f'alice: {text}' for text in texts[-15:]]
    assert bob.scrollbar.value() == bob.scrollbar.maximum() > 0      # the newest, at the bottom
    bob.scrollbar.setValue(bob.scrollbar.minimum())                  # the user scrolls up
    qtbot.waitUntil(lambda: len(said(bob)) == 30, timeout=5000)
    assert bob.scrollbar.value() > 0                                 # where the user was reading
    while len(said(bob)) < len(texts):
        count = len(said(bob))
        bob.scrollbar.setValue(bob.scrollbar.minimum())
        qtbot.waitUntil(lambda: len(said(bob)) > count, timeout=5000)
    assert said(bob) == [f'alice: {text}' for text in texts]  # in order, each once
    assert bob.conversations['#all'].complete


def test_times_days_and_whose_message_is_whose(qtbot, log_in, restart):
    yesterday = time.time() - 86400
    restart.storage.store([NewMessage(yesterday, 'bob', '#all', 'from yesterday')], {})
    [alice] = start(qtbot, log_in, 'alice')
    write(alice, 'from today')
    qtbot.waitUntil(lambda: len(said(alice)) == 2, timeout=5000)
    lines = shown(alice)
    assert lines[0] == '— Yesterday —' and lines[2] == '— Today —'
    clock = time.strftime('%H:%M', time.localtime(yesterday))
    assert lines[1] == f'bob  {clock}\nfrom yesterday'
    assert lines[3].startswith('from today\n')
    assert '✓ sent' in lines[3] or '… waiting' in lines[3]
    theirs, mine = alice.view.item(1), alice.view.item(3)
    assert theirs.textAlignment() & Qt.AlignRight == 0
    assert mine.textAlignment() & Qt.AlignRight
    assert theirs.background().color() != mine.background().color()


def test_unread_counts_and_notifications(qtbot, log_in, address):
    [bob] = start(qtbot, log_in, 'bob')
    notified = []
    bob.notify = lambda title, text: notified.append((title, text))
    with Connection(*address) as alice:
        alice.login('alice', 'pw')
        for text in ('first', 'second'):
            assert alice.request(msg('bob', text))['response'] == 200
        qtbot.waitUntil(lambda: bob.peer_item('alice') is not None and
                        bob.peer_item('alice').text().endswith('(2)'), timeout=5000)
        assert notified == [('alice', 'first'), ('alice', 'second')]
        open_peer(bob, 'alice')
        assert not bob.peer_item('alice').text().endswith(')')
        assert said(bob) == ['alice: first', 'alice: second']
        open_peer(bob, '#all')
        bob.notifications.setChecked(False)                    # Settings: no notifications
        assert alice.request(msg('bob', 'third'))['response'] == 200
        qtbot.waitUntil(lambda: bob.peer_item('alice').text().endswith('(1)'), timeout=5000)
    assert len(notified) == 2
    assert not ClientSettings.load(bob.network.options.data_dir).notifications


def test_contacts_show_who_is_online(qtbot, log_in, address, restart):
    restart.storage.add_contact('alice', 'bob')
    with Connection(*address) as bob:
        bob.login('bob', 'pw')
        [alice] = start(qtbot, log_in, 'alice')
        qtbot.waitUntil(lambda: alice.peer_item('bob') is not None and
                        alice.peer_item('bob').text() == '● bob', timeout=5000)
        bob.request(request(Action.QUIT))
    qtbot.waitUntil(lambda: alice.peer_item('bob').text() == '○ bob', timeout=5000)
    with Connection(*address) as bob:
        bob.login('bob', 'pw')
        qtbot.waitUntil(lambda: alice.peer_item('bob').text() == '● bob', timeout=5000)
        restart.stop()                          # bob goes while alice cannot be told
    restart.start()
    qtbot.waitUntil(lambda: alice.peer_item('bob').text() == '○ bob', timeout=10000)


def test_sent_waiting_failed_and_sent_again(qtbot, log_in, restart, monkeypatch):
    alice, bob = start(qtbot, log_in, 'alice', 'bob')
    alice.CONFIRM_MS = 300
    open_peer(alice, 'bob')
    write(alice, 'one')
    qtbot.waitUntil(lambda: alice.entries()[-1].state is State.SENT, timeout=5000)
    assert shown(alice)[-1].endswith('✓ sent')
    restart.stop()
    qtbot.waitUntil(lambda: 'lost' in alice.statusBar().currentMessage(), timeout=5000)
    write(alice, 'two')
    assert alice.entries()[-1].state is State.WAITING and shown(alice)[-1].endswith('waiting')
    qtbot.waitUntil(lambda: alice.entries()[-1].state is State.FAILED, timeout=5000)
    assert 'not confirmed' in shown(alice)[-1]

    def broken_disk(*_):
        raise StorageError('disk full')

    monkeypatch.setattr(restart.storage, 'store', broken_disk)
    restart.start()                             # the session sends it again: a 500 now
    qtbot.waitUntil(lambda: '500: not stored' in alice.entries()[-1].error, timeout=10000)
    assert alice.entries()[-1].state is State.FAILED
    monkeypatch.undo()
    assert alice.message_menu(alice.view.item(1)) is None      # 'one' was sent: no menu
    [again] = alice.message_menu(alice.view.item(alice.view.count() - 1)).actions()
    assert again.text() == 'Send again'
    again.trigger()
    assert alice.entries()[-1].state is State.WAITING
    qtbot.waitUntil(lambda: alice.entries()[-1].state is State.SENT, timeout=5000)
    qtbot.waitUntil(lambda: said(bob, 'alice') == ['alice: one', 'alice: two'], timeout=5000)


def test_the_window_catches_a_swapped_key(qtbot, log_in, proxy):
    bob_window, bob_network = log_in('bob')
    eve = KeyPair.generate()
    bob = connected(qtbot, bob_window, bob_network)
    alice = connected(qtbot, *log_in('alice', via=proxy.address))
    open_peer(alice, 'bob')
    write(alice, 'for the real bob')
    qtbot.waitUntil(lambda: alice.entries()[-1].state is State.SENT, timeout=5000)
    proxy.swap = ('bob', eve.public)
    statuses = status_log(alice)
    proxy.cut()
    qtbot.waitUntil(lambda: 'Reconnected' in statuses, timeout=10000)
    write(alice, 'not for eve')
    qtbot.waitUntil(lambda: 'bob' in alice.dialogs, timeout=5000)
    dialog = alice.dialogs['bob']
    assert "bob's key has changed" in dialog.windowTitle()
    assert fingerprint(eve.public) in dialog.text()
    assert fingerprint(bob.network.session.keys.public) in dialog.text()
    assert "key has changed" in alice.statusBar().currentMessage()
    assert alice.entries()[-1].state is State.WAITING
    alice_public = alice.network.session.keys.public
    assert len(proxy.sealed_to('bob')) == 1                   # nothing sealed for eve's key
    assert not proxy.readable_by(eve, 'alice', alice_public, 'bob')
    [trust] = [button for button in dialog.buttons() if button.text() == 'Trust the new key']
    trust.click()
    qtbot.waitUntil(lambda: proxy.readable_by(eve, 'alice', alice_public, 'bob') ==
                    ['not for eve'], timeout=5000)
    alice.ask_fingerprint()                                   # Keys: this contact's
    qtbot.waitUntil(lambda: 'fingerprint' in alice.dialogs and
                    fingerprint(eve.public) in alice.dialogs['fingerprint'].text(), timeout=5000)
    assert '(you have accepted it)' in alice.dialogs['fingerprint'].text()
    alice.show_own_fingerprint()
    assert fingerprint(alice.network.session.keys.public) in alice.dialogs['fingerprint'].text()


def test_a_message_sealed_with_a_key_not_accepted_carries_a_warning(qtbot, log_in):
    [alice] = start(qtbot, log_in, 'alice')
    alice.arrived({'action': 'msg', 'time': time.time(), 'from': 'bob', 'to': 'alice',
                   'message': 'believe me', 'position': 99,
                   'warning': 'sealed with a key of bob that you have not accepted'})
    open_peer(alice, 'bob')
    assert shown(alice)[-1].startswith('⚠ sealed with a key of bob that you have not accepted')


def test_settings_are_kept_and_the_command_line_wins(qtbot, tmp_path):
    saved = ClientSettings.load(tmp_path)
    saved.host, saved.port, saved.name, saved.tls = 'chat.example', 7000, 'alice', True
    saved.save()
    assert (tmp_path / 'settings.json').stat().st_mode & 0o777 == 0o600
    args, settings = read_options(['--data-dir', str(tmp_path)])
    assert (args.host, args.port, args.name) == ('chat.example', 7000, 'alice')
    assert settings.tls
    args, _ = read_options(['localhost', '--data-dir', str(tmp_path), '-n', 'bob'])
    assert (args.host, args.port, args.name) == ('localhost', 7000, 'bob')
    dialog = LoginDialog(args.name, args.host, args.port, tls=settings.tls)
    qtbot.addWidget(dialog)
    assert dialog.tls.isChecked() and dialog.port.value() == 7000
