"""Tests of server.py: decisions without a network, then the loop's pieces on socket pairs."""
import contextlib
import errno
import io
import signal
import socket
import sqlite3
import threading
import unittest
from pathlib import Path
from unittest import mock

from sqlalchemy.exc import OperationalError

from passwords import derive_key, make_proof
from protocol import (MessageReader, encode_message, make_authenticate, make_chat_message,
                      make_presence, make_quit, make_request)
from server import Client, Server, add_users, handle_message, parse_args, stop_on_signals
from server_storage import ServerStorage

# What SQLite says when the disk is full.
DISK_FULL = OperationalError('INSERT', {}, sqlite3.OperationalError('database or disk is full'))


NOBODY = frozenset()     # no known users
# The database a server opens by default is named after its stage's folder.
STAGE_DB = f'server_{Path(__file__).resolve().parents[1].name}.db'


def client(name=None):
    """Return a Client with no real socket, for decisions that never touch one."""
    return Client(sock=None, address=('127.0.0.1', 5000), name=name)


class TestHandleMessage(unittest.TestCase):
    def test_presence_of_the_logged_in_name_gets_200(self):
        sender = client('alice')
        response, deliveries = handle_message(make_presence('alice'), sender, [sender], NOBODY)
        self.assertEqual((response['response'], deliveries), (200, []))

    def test_presence_under_another_name_gets_403(self):
        sender = client('alice')
        response, _ = handle_message(make_presence('bob'), sender, [sender], NOBODY)
        self.assertEqual((response['response'], sender.name), (403, 'alice'))

    def test_message_to_all_goes_to_every_other_named_client(self):
        alice, bob, carol, anonymous = client('alice'), client('bob'), client('carol'), client()
        response, deliveries = handle_message(make_chat_message('alice', '#all', 'hi'), alice,
                                              [alice, bob, carol, anonymous], NOBODY)
        self.assertEqual(response['response'], 200)
        self.assertEqual([recipient for recipient, _ in deliveries], [bob, carol])
        relayed = deliveries[0][1]
        self.assertEqual((relayed['from'], relayed['to'], relayed['message']),
                         ('alice', '#all', 'hi'))

    def test_sender_name_comes_from_the_server(self):
        alice, bob = client('alice'), client('bob')
        _, deliveries = handle_message(make_chat_message('mallory', '#all', 'hi'), alice,
                                       [alice, bob], NOBODY)
        self.assertEqual(deliveries[0][1]['from'], 'alice')

    def test_anything_before_login_gets_401(self):
        for message in (make_chat_message('x', '#all', 'hi'), make_presence('x'),
                        make_request('get_users'), {'action': 'dance'}):
            with self.subTest(message=message):
                response, deliveries = handle_message(message, client(), [], NOBODY)
                self.assertEqual((response['response'], deliveries), (401, []))

    def test_message_to_one_user_reaches_only_that_user(self):
        alice, bob, carol = client('alice'), client('bob'), client('carol')
        response, deliveries = handle_message(make_chat_message('alice', 'bob', 'hi'), alice,
                                              [alice, bob, carol], NOBODY)
        self.assertEqual((response['response'], [c for c, _ in deliveries]), (200, [bob]))
        self.assertEqual(deliveries[0][1]['to'], 'bob')

    def test_message_to_unknown_user_gets_404(self):
        alice = client('alice')
        response, deliveries = handle_message(make_chat_message('alice', 'bob', 'hi'), alice,
                                              [alice], NOBODY)
        self.assertEqual((response['response'], deliveries), (404, []))

    def test_message_to_known_user_who_is_offline_gets_410(self):
        alice = client('alice')
        response, deliveries = handle_message(make_chat_message('alice', 'bob', 'hi'), alice,
                                              [alice], {'alice', 'bob'})
        self.assertEqual((response['response'], deliveries), (410, []))

    def test_quit_gets_200(self):
        response, _ = handle_message(make_quit(), client('alice'), [], NOBODY)
        self.assertEqual(response['response'], 200)

    def test_bad_message_gets_400(self):
        alice = client('alice')
        response, _ = handle_message({'action': 'msg', 'time': 1.0}, alice, [alice], NOBODY)
        self.assertEqual(response['response'], 400)

    def test_unknown_action_gets_400(self):
        response, _ = handle_message({'action': 'dance'}, client('alice'), [], NOBODY)
        self.assertEqual(response['response'], 400)


class TestContacts(unittest.TestCase):
    """Contact requests against an in-memory storage with alice and bob."""

    def setUp(self):
        self.storage = ServerStorage('sqlite://')
        for name in ('alice', 'bob'):
            self.storage.user_login(name, '127.0.0.1', 5000)
        self.alice = client('alice')

    def ask(self, action, user_id=None):
        response, deliveries = handle_message(make_request(action, user_id), self.alice,
                                              [self.alice], self.storage)
        self.assertEqual(deliveries, [])
        return response

    def test_get_users(self):
        response = self.ask('get_users')
        self.assertEqual((response['response'], response['users']), (202, ['alice', 'bob']))

    def test_add_get_and_delete_a_contact(self):
        self.assertEqual(self.ask('add_contact', 'bob')['response'], 200)
        self.assertEqual(self.ask('get_contacts')['contacts'], ['bob'])
        self.assertEqual(self.ask('del_contact', 'bob')['response'], 200)
        self.assertEqual(self.ask('get_contacts')['contacts'], [])

    def test_refusals(self):
        self.assertEqual([self.ask('add_contact', 'carol')['response'],
                          self.ask('add_contact', 'alice')['response'],
                          self.ask('del_contact', 'bob')['response'],
                          self.ask('add_contact')['response']], [404, 400, 404, 400])

    def test_contacts_need_login(self):
        response, _ = handle_message(make_request('get_contacts'), client(), [], self.storage)
        self.assertEqual(response['response'], 401)


class TestAuthenticate(unittest.TestCase):
    """The two steps of authenticate against an in-memory storage with alice."""

    def setUp(self):
        self.storage = ServerStorage('sqlite://')
        self.storage.add_user('alice', 'secret', iterations=1000)
        self.sender = client()

    def step(self, proof=None, name='alice', clients=()):
        response, deliveries = handle_message(make_authenticate(name, proof), self.sender,
                                              [self.sender, *clients], self.storage)
        self.assertEqual(deliveries, [])
        return response

    def prove(self, challenge, password='secret'):
        key = derive_key(password, challenge['salt'], challenge['iterations'])
        return make_proof(key, challenge['nonce'])

    def test_right_password_logs_in(self):
        challenge = self.step()
        self.assertEqual((challenge['response'], challenge['iterations']), (101, 1000))
        self.assertEqual(self.step(self.prove(challenge))['response'], 200)
        self.assertEqual(self.sender.name, 'alice')

    def test_wrong_password_gets_402(self):
        challenge = self.step()
        self.assertEqual(self.step(self.prove(challenge, 'guess'))['response'], 402)
        self.assertIsNone(self.sender.name)

    def test_unknown_user_gets_a_steady_challenge_then_402(self):
        first, challenge = self.step(name='bob'), self.step(name='bob')
        self.assertEqual((challenge['response'], challenge['salt']), (101, first['salt']))
        self.assertEqual(self.step(self.prove(challenge), name='bob')['response'], 402)

    def test_logged_in_elsewhere_gets_409(self):
        challenge = self.step()
        response = self.step(self.prove(challenge), clients=[client('alice')])
        self.assertEqual((response['response'], self.sender.name), (409, None))

    def test_proof_without_challenge_gets_400(self):
        self.assertEqual(self.step('00' * 32)['response'], 400)

    def test_challenge_is_used_once(self):
        challenge = self.step()
        self.step('00' * 32)
        self.assertEqual(self.step(self.prove(challenge))['response'], 400)

    def test_malformed_requests_get_400(self):
        for message in ({'action': 'authenticate', 'time': 1.0},
                        {'action': 'authenticate', 'time': 1.0, 'user': {'account_name': 7}},
                        {'action': 'authenticate', 'user': {'account_name': 'alice'}}):
            with self.subTest(message=message):
                response, _ = handle_message(message, self.sender, [], self.storage)
                self.assertEqual(response['response'], 400)


class TestAddUsers(unittest.TestCase):
    """``server.py --add-user``: passwords one per line when stdin is not a terminal."""

    def setUp(self):
        self.storage = ServerStorage('sqlite://')
        patcher = mock.patch('sys.stdin.isatty', return_value=False)
        patcher.start()
        self.addCleanup(patcher.stop)

    def add(self, names, lines):
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()) as errors:
            code = add_users(self.storage, names, 1000, iter(lines))
        return code, errors.getvalue()

    def test_passwords_one_per_line(self):
        self.assertEqual(self.add(['alice', 'bob'], ['one\n', 'two\n']), (0, ''))
        salt, _, key = self.storage.password_record('bob')
        self.assertEqual(key, derive_key('two', salt, 1000))

    def test_missing_password_is_an_error(self):
        code, errors = self.add(['alice'], [])
        self.assertEqual((code, errors.strip()), (1, 'Error: no password for alice'))
        self.assertIsNone(self.storage.password_record('alice'))

    def test_bad_name_is_an_error(self):
        self.assertEqual(self.add(['x' * 26], ['pw\n'])[0], 1)


class TestServer(unittest.TestCase):
    """Server's methods on real sockets: each test owns a socket pair per client."""

    def setUp(self):
        self.server = Server('127.0.0.1', 7777, ServerStorage('sqlite://'))
        self.addCleanup(self.server.close)

    def log_in(self, peer, remote, name):
        """Log ``peer`` in as ``name`` through the server, as a client would."""
        self.server.storage.add_user(name, 'secret', iterations=1000)
        reader = MessageReader()
        remote.sendall(encode_message(make_authenticate(name)))
        self.server.read(peer)
        challenge = reader.feed(remote.recv(4096))[0]
        proof = make_proof(derive_key('secret', challenge['salt'], challenge['iterations']),
                           challenge['nonce'])
        remote.sendall(encode_message(make_authenticate(name, proof)))
        self.server.read(peer)
        return [item for item in reader.feed(remote.recv(4096)) if 'response' in item][0]

    def connect(self, name=None):
        server_end, client_end = socket.socketpair()
        server_end.setblocking(False)
        client_end.settimeout(5)
        self.addCleanup(client_end.close)
        self.addCleanup(server_end.close)
        peer = Client(server_end, ('local', len(self.server.clients)), MessageReader(), name)
        self.server.clients[server_end] = peer
        return peer, client_end

    def test_request_is_answered(self):
        peer, remote = self.connect()
        self.assertEqual(self.log_in(peer, remote, 'alice')['response'], 200)
        remote.sendall(encode_message(make_presence('alice')))
        self.server.read(peer)
        self.assertIn(b'"response": 200', remote.recv(4096))

    def test_chat_message_is_relayed(self):
        alice, alice_remote = self.connect('alice')
        _, bob_remote = self.connect('bob')
        alice_remote.sendall(encode_message(make_chat_message('alice', '#all', 'hi')))
        self.server.read(alice)
        self.assertIn(b'"message": "hi"', bob_remote.recv(4096))

    def test_quit_is_answered_and_the_connection_closed(self):
        peer, remote = self.connect('alice')
        remote.sendall(encode_message(make_quit()))
        self.server.read(peer)
        self.assertIn(b'"response": 200', remote.recv(4096))
        self.assertEqual(remote.recv(4096), b'')
        self.assertEqual(self.server.connected_clients(), [])

    def test_login_and_disconnect_are_stored(self):
        peer, remote = self.connect()
        self.log_in(peer, remote, 'alice')
        self.assertEqual([row[0] for row in self.server.storage.active_users_list()], ['alice'])
        remote.close()
        self.server.read(peer)
        self.assertEqual(self.server.storage.active_users_list(), [])
        self.assertIn('alice', self.server.storage)

    def test_messages_are_counted_per_loop_turn(self):
        alice, alice_remote = self.connect()
        bob, bob_remote = self.connect()
        for peer, remote, name in ((alice, alice_remote, 'alice'), (bob, bob_remote, 'bob')):
            self.log_in(peer, remote, name)
        alice_remote.sendall(encode_message(make_chat_message('alice', 'bob', 'one')) +
                             encode_message(make_chat_message('alice', '#all', 'two')))
        self.server.read(alice)
        self.assertEqual(self.server.message_counts, {'alice': [2, 0], 'bob': [0, 2]})
        self.server.save_message_counts()
        self.assertEqual([row[2:] for row in self.server.storage.message_stats()],
                         [(2, 0), (0, 2)])
        self.assertEqual(self.server.message_counts, {})

    def test_window_is_told_of_logins_and_logouts(self):
        changes = []
        self.server.on_change = lambda: changes.append(True)
        peer, remote = self.connect()
        self.log_in(peer, remote, 'alice')
        self.server.disconnect(peer, 'test')
        self.assertEqual(len(changes), 2)

    def test_stop_from_another_thread_ends_serve_forever(self):
        thread = threading.Thread(target=self.server.serve_forever)
        thread.start()
        self.server.stop()
        thread.join(5)
        self.assertFalse(thread.is_alive())

    def test_sigterm_stops_the_loop_without_raising(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.addCleanup(signal.signal, signum, signal.getsignal(signum))
        stop_on_signals(self.server)
        self.addCleanup(signal.set_wakeup_fd, -1)
        signal.raise_signal(signal.SIGTERM)        # handled here, between two bytecodes
        self.server.serve_forever()                # returns at once: the loop was woken

    def test_a_signal_wakes_the_loop_before_its_handler_runs(self):
        # A handler runs between two bytecodes: for a signal that comes as the loop enters
        # select, only after select returns. Here the handler does nothing, as if it had
        # not run yet: the byte that Python writes when the signal comes must wake the loop.
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.addCleanup(signal.signal, signum, signal.getsignal(signum))
        stop_on_signals(self.server)
        self.addCleanup(signal.set_wakeup_fd, -1)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        loop = threading.Thread(target=self.server.serve_forever)
        loop.start()
        self.addCleanup(loop.join, 5)
        self.addCleanup(self.server.stop)          # if the signal did not stop it
        signal.raise_signal(signal.SIGTERM)
        loop.join(5)
        self.assertFalse(loop.is_alive())

    def test_closed_connection_is_dropped(self):
        peer, remote = self.connect()
        remote.close()
        self.server.read(peer)
        self.assertEqual(self.server.connected_clients(), [])

    def test_endless_message_drops_the_client(self):
        peer, remote = self.connect()
        peer.reader = MessageReader(limit=100)
        remote.sendall(b'{"a": "' + b'x' * 200)
        self.server.read(peer)
        self.assertEqual(self.server.connected_clients(), [])

    def test_listens_on_a_free_port_and_accepts(self):
        server = Server('127.0.0.1', free_port(), ServerStorage('sqlite://'))
        self.addCleanup(server.close)
        server.listen()
        with socket.create_connection(('127.0.0.1', server.port), timeout=5):
            server.accept()
        self.assertEqual(len(server.connected_clients()), 1)

    def test_port_out_of_range_is_refused(self):
        with self.assertRaises(ValueError):
            Server('127.0.0.1', 80, ServerStorage('sqlite://'))

    def test_client_that_never_reads_is_dropped(self):
        peer, _ = self.connect('bob')
        message = make_chat_message('alice', '#all', 'x' * 400)
        for _ in range(10_000):     # 5 MB: more than the socket's buffers and the outbox hold
            self.server.send(peer, message)
        self.assertEqual(self.server.connected_clients(), [])

    def test_disconnect_twice_is_harmless(self):
        peer, _ = self.connect()
        self.server.disconnect(peer, 'test')
        self.server.disconnect(peer, 'test again')
        self.assertEqual(self.server.connected_clients(), [])

    def test_fault_gets_500_and_is_logged(self):
        peer, remote = self.connect()
        remote.sendall(encode_message(make_presence('alice')))
        with mock.patch('server.handle_message', side_effect=RuntimeError('a bug')), \
                self.assertLogs('server', 'ERROR') as logs:
            self.server.read(peer)
        self.assertIn(b'"response": 500', remote.recv(4096))
        self.assertIn('RuntimeError: a bug', logs.output[0])

    def test_storage_error_at_login_gets_500_and_no_login(self):
        peer, remote = self.connect()
        with mock.patch.object(self.server.storage, 'user_login', side_effect=DISK_FULL), \
                self.assertLogs('server', 'ERROR') as logs:
            response = self.log_in(peer, remote, 'alice')
        self.assertEqual(response['response'], 500)
        self.assertIsNone(peer.name)
        self.assertIn("'proof': '***'", logs.output[0])     # the fault's log hides it too

    def test_storage_error_at_logout_is_logged_and_the_client_dropped(self):
        peer, _ = self.connect('alice')
        with mock.patch.object(self.server.storage, 'user_logout', side_effect=DISK_FULL), \
                self.assertLogs('server', 'ERROR'):
            self.server.disconnect(peer, 'test')
        self.assertEqual(self.server.connected_clients(), [])

    def test_storage_error_drops_the_counts_of_a_turn(self):
        self.server.message_counts = {'alice': [1, 0]}
        with mock.patch.object(self.server.storage, 'add_message_counts',
                               side_effect=DISK_FULL), self.assertLogs('server', 'ERROR'):
            self.server.save_message_counts()
        self.assertEqual(self.server.message_counts, {})

    def test_accept_out_of_descriptors_takes_nothing(self):
        self.server.listener = mock.Mock()
        self.server.listener.accept.side_effect = OSError(errno.EMFILE, 'Too many open files')
        with self.assertLogs('server', 'ERROR'):
            self.assertFalse(self.server.accept())
        self.assertEqual(self.server.connected_clients(), [])


def free_port():
    """Return a TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class TestParseArgs(unittest.TestCase):
    def test_defaults(self):
        args = parse_args([])
        self.assertEqual((args.port, args.address, args.db, args.no_gui),
                         (7777, '', STAGE_DB, False))

    def test_add_user_takes_names_and_iterations(self):
        args = parse_args(['--add-user', 'alice', 'bob', '--iterations', '1000'])
        self.assertEqual((args.add_user, args.iterations), (['alice', 'bob'], 1000))

    def test_saved_settings_are_the_defaults(self):
        args = parse_args(['--no-gui'], {'port': '8000', 'address': '127.0.0.1', 'db': 'x.db'})
        self.assertEqual((args.port, args.address, args.db, args.no_gui),
                         (8000, '127.0.0.1', 'x.db', True))
        self.assertEqual(parse_args(['-p', '9000'], {'port': '8000'}).port, 9000)

    def test_port_and_address(self):
        args = parse_args(['-p', '8888', '-a', '127.0.0.1'])
        self.assertEqual((args.port, args.address), (8888, '127.0.0.1'))

    def test_bad_port_is_refused(self):
        for port in ('0', '70000', 'seven'):
            with self.subTest(port=port), self.assertRaises(SystemExit):
                parse_args(['-p', port])


if __name__ == '__main__':
    unittest.main()
