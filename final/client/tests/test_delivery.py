"""Nothing acknowledged is lost, nothing is shown twice: counted over many runs.

A real ``jim-server`` process, and the clients' own ``Session`` and ``Client`` (the console's
and the window's). Each scenario sends messages from alice to bob while something goes wrong,
then counts: messages the server acknowledged (200) that bob never saw (lost), and messages
bob saw twice (duplicates). ``JIM_DELIVERY_RUNS`` sets the runs of each scenario (``nox -s
delivery`` runs many); every run prints its counts.
"""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from jim.constants import Action
from jim.framing import Decoder, encode
from jim.messages import msg, request
from jim.scram import ScramClient
from jim_client.connection import Connection
from jim_client.session import Client, Session
from jim_server.storage import Storage

RUNS = int(os.environ.get('JIM_DELIVERY_RUNS', '1'))
WAIT = 30.0


def free_port():
    """Return a TCP port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def poll(condition, timeout=WAIT, why=lambda: ''):
    """Wait until ``condition()`` is true; fail after ``timeout`` seconds, saying ``why()``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'timed out {why()}'
        time.sleep(0.02)


class ServerProcess:
    """``jim-server`` in a process of its own, on one port across restarts."""

    def __init__(self, folder, *flags):
        self.db = folder / 'server.db'
        storage = Storage(f'sqlite:///{self.db}')
        for name in ('alice', 'bob'):
            storage.add_user(name, 'pw', iterations=4096)
        storage.close()
        self.address = ('127.0.0.1', free_port())
        self.flags = flags
        self.log = folder / 'server.log'
        self.process = None

    def start(self):
        """Start the server and wait until it accepts connections."""
        argv = [sys.executable, '-m', 'jim_server', '--db', str(self.db), '--port',
                str(self.address[1]), '--iterations', '4096', '--requests-per-second',
                '100000', *self.flags]
        with open(self.log, 'ab') as log:
            # It outlives this call: stop() ends it. pylint: disable=consider-using-with
            self.process = subprocess.Popen(argv, stdout=log, stderr=log)
        poll(self.listening, timeout=15)

    def listening(self):
        """Tell whether the server accepts a connection."""
        assert self.process.poll() is None, self.log.read_text()
        try:
            socket.create_connection(self.address, timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self, signum=signal.SIGTERM):
        """End the server with ``signum``."""
        self.process.send_signal(signum)
        self.process.wait(15)


@pytest.fixture
def make_server(tmp_path):
    """Yield a function that makes servers (not started); kill what is left of them after."""
    made = []

    def make(*flags):
        made.append(ServerProcess(tmp_path, *flags))
        return made[-1]

    yield make
    for server in made:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait()


class Alice:
    """A sender through the clients' Session: notes what the server acknowledged."""

    def __init__(self, address):
        self.acked = set()
        self.session = Session('alice', None, notice=lambda text: None)
        self.client = Client(self.session, address, 'pw', on_items=self.note)
        self.client.open()
        self.thread = threading.Thread(target=self.client.serve, daemon=True)
        self.thread.start()

    def note(self, items):
        """Keep the texts of the messages answered with 200."""
        for item in items:
            asked = item.get('request', {})
            if item.get('response') == 200 and asked.get('action') == 'msg':
                self.acked.add(asked['message'])

    def send(self, texts, pause_at=None, pause=lambda: None):
        """Send each text to bob; call ``pause`` before the one at ``pause_at``."""
        for number, text in enumerate(texts):
            if number == pause_at:
                pause()
            self.session.send(msg('bob', text))

    def settle(self):
        """Wait until the server acknowledged everything; then leave."""
        poll(lambda: not self.session.unanswered())
        self.client.stop()
        self.thread.join(10)


class Bob:
    """A recipient through the clients' Session: notes what it shows, in order.

    Its bookmarks (what it has shown) are kept in ``folder``, as the console keeps them.
    """

    def __init__(self, address, folder):
        self.shown = []
        self.states = []
        self.session = Session('bob', None, notice=lambda text: None, bookmarks=folder)
        self.client = Client(self.session, address, 'pw', on_items=self.note,
                             on_state=self.states.append)
        self.client.open()
        self.thread = threading.Thread(target=self.client.serve, daemon=True)
        self.thread.start()

    def note(self, items):
        """Show the messages (here: keep their texts)."""
        self.shown += [item['message'] for item in items if item.get('action') == 'msg']

    def leave(self):
        """Say quit and stop."""
        self.client.stop()
        self.thread.join(10)


def crash_before_display(address, folder, shown, count):
    """Log bob in as the client does, show ``count`` messages, receive one more and die
    before showing it: no ack, no bookmark, the socket just closes."""
    session = Session('bob', None, bookmarks=folder)
    conn = Connection(*address)
    conn.login('bob', 'pw', acks=True)
    session.attach(conn)
    got = 0
    while got <= count:
        items = session.receive(conn.receive())
        for item in items:
            if item.get('action') != 'msg':
                continue
            if got == count:
                conn.sock.close()              # the crash: received, never shown
                return
            shown.append(item['message'])
            got += 1
        session.acknowledge(force=not conn.pending)


def stalled_login(address, name):
    """Log ``name`` in (acks: true) on a socket with a small window; it never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)     # before connecting
    sock.connect(address)
    sock.settimeout(WAIT)
    decoder, scram = Decoder(), ScramClient(name, 'pw')

    def ask(message):
        sock.sendall(encode(message))
        items = []
        while not any('response' in item for item in items):
            items += decoder.feed(sock.recv(65536))
        return next(item for item in items if 'response' in item)

    user = {'account_name': name}
    first = ask(request(Action.AUTHENTICATE, user=user, scram=scram.first_message()))
    final = ask(request(Action.AUTHENTICATE, user=user, acks=True,
                        scram=scram.final_message(first['scram'])))
    assert final['response'] == 200, final
    return sock


def count(name, acked, shown):
    """Return (lost, duplicates) and print the run's figures."""
    lost = len(acked - set(shown))
    duplicates = len(shown) - len(set(shown))
    print(f'{name}: acknowledged {len(acked)}, shown {len(shown)}, lost {lost}, '
          f'duplicates {duplicates}')
    return lost, duplicates


def missing(texts):
    """Return the numbers of ``texts`` (of ``texts_of``) as runs: ``3-9, 12``."""
    numbers = sorted(int(text.rsplit(' ', 1)[1]) for text in texts)
    runs = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ', '.join(f'{a}-{b}' if a != b else f'{a}' for a, b in runs)


def texts_of(run, number):
    """Return the texts of one run, all different."""
    return [f'run {run} message {n}' for n in range(number)]


@pytest.mark.parametrize('run', range(RUNS))
@pytest.mark.parametrize('signum', [signal.SIGKILL, signal.SIGTERM], ids=['SIGKILL', 'SIGTERM'])
def test_the_server_killed_under_load(make_server, tmp_path, run, signum):
    server = make_server()
    server.start()
    alice, bob = Alice(server.address), Bob(server.address, tmp_path)

    def kill_and_restart():
        server.stop(signum)
        server.start()

    texts = texts_of(run, 600)
    alice.send(texts, pause_at=300, pause=kill_and_restart)
    alice.settle()
    poll(lambda: set(alice.acked) <= set(bob.shown), why=lambda: (
        f'acknowledged {len(alice.acked)}, not shown {len(alice.acked - set(bob.shown))} '
        f'({missing(alice.acked - set(bob.shown))}), shown {len(bob.shown)}, '
        f'bob: {bob.states}, connected {bob.session.connected}; the server:\n'
        f'{server.log.read_text()[-3000:]}'))
    bob.leave()
    server.stop()
    assert alice.acked == set(texts)
    assert count(f'server {signal.Signals(signum).name}', alice.acked, bob.shown) == (0, 0)
    assert bob.shown == texts                   # and in order


@pytest.mark.parametrize('run', range(RUNS))
def test_a_recipient_killed_between_receive_and_display(make_server, tmp_path, run):
    server = make_server()
    server.start()
    alice = Alice(server.address)
    texts = texts_of(run, 300)
    alice.send(texts)
    alice.settle()
    shown = []
    crash_before_display(server.address, tmp_path, shown, count=(120 + 37 * run) % 299)
    bob = Bob(server.address, tmp_path)        # the client started again
    poll(lambda: len(shown) + len(bob.shown) >= len(texts))
    bob.leave()
    server.stop()
    assert count('recipient crash', alice.acked, shown + bob.shown) == (0, 0)
    assert shown + bob.shown == texts


@pytest.mark.parametrize('run', range(RUNS))
def test_a_backlog_ten_times_the_output_limit(make_server, tmp_path, run):
    limit = 32_768
    server = make_server('--max-output-bytes', str(limit))
    server.start()
    alice = Alice(server.address)
    texts = [text + ' ' + 'x' * 200 for text in texts_of(run, 1700)]   # ~400 KB relayed
    alice.send(texts)
    alice.settle()
    bob = Bob(server.address, tmp_path)
    poll(lambda: len(bob.shown) >= len(texts))
    bob.leave()
    server.stop()
    assert count(f'backlog of {len(texts) * 250 // limit}x the limit', alice.acked,
                 bob.shown) == (0, 0)
    assert bob.shown == texts


@pytest.mark.parametrize('run', range(RUNS))
def test_a_reader_that_stalls_until_it_is_cut_off(make_server, tmp_path, run):
    server = make_server('--max-output-bytes', '16384', '--stall-timeout', '0.5',
                         '--verbose')
    server.start()
    stalled = stalled_login(server.address, 'bob')
    alice = Alice(server.address)
    # ~4.5 MB: more than the kernel buffers towards a reader that does not read hold.
    texts = [text + ' ' + 'ж' * 470 for text in texts_of(run, 4500)]
    alice.send(texts)
    alice.settle()
    poll(lambda: 'stalled: output unread' in server.log.read_text())
    stalled.close()
    bob = Bob(server.address, tmp_path)
    poll(lambda: len(bob.shown) >= len(texts))
    bob.leave()
    server.stop()
    assert count('stalled reader', alice.acked, bob.shown) == (0, 0)
    assert bob.shown == texts


def test_the_console_says_when_the_server_is_lost_and_drops_nothing_typed(make_server,
                                                                          tmp_path):
    server = make_server()
    server.start()
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONUTF8='1')
    # It is ended below. pylint: disable=consider-using-with
    console = subprocess.Popen(
        [sys.executable, '-m', 'jim_client', *map(str, server.address), '-n', 'alice',
         '--data-dir', str(tmp_path), '--no-e2e'], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(console.stdout), daemon=True)
    reader.start()
    console.stdin.write('pw\n')
    console.stdin.flush()
    poll(lambda: any('logged in as alice' in line for line in lines))
    server.stop(signal.SIGKILL)
    poll(lambda: any('connection to the server is lost' in line for line in lines))
    console.stdin.write('@bob typed while the server was away\n')
    console.stdin.flush()
    poll(lambda: any('not connected' in line for line in lines))
    server.start()
    poll(lambda: any('reconnected' in line for line in lines))
    console.stdin.close()                       # end of input: it waits for the 200, leaves
    assert console.wait(WAIT) == 0
    bob = Bob(server.address, tmp_path / 'bob')
    poll(lambda: bob.shown)
    bob.leave()
    server.stop()
    assert bob.shown == ['typed while the server was away'], lines
    assert not any('Error' in line for line in lines), lines
