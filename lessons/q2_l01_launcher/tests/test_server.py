"""Tests of server.py: decisions without a network, then the loop's pieces on socket pairs."""
import errno
import socket
import unittest
from unittest import mock

from protocol import (MessageReader, encode_message, make_chat_message, make_presence,
                      make_quit)
from server import Client, accept, disconnect, handle_message, parse_args, read, send


def client(name=None):
    """Return a Client with no real socket, for decisions that never touch one."""
    return Client(sock=None, address=('127.0.0.1', 5000), name=name)


class TestHandleMessage(unittest.TestCase):
    def test_presence_names_the_client(self):
        sender = client()
        response, deliveries = handle_message(make_presence('alice'), sender, [sender])
        self.assertEqual((response['response'], deliveries, sender.name), (200, [], 'alice'))

    def test_message_to_all_goes_to_every_other_named_client(self):
        alice, bob, carol, anonymous = client('alice'), client('bob'), client('carol'), client()
        response, deliveries = handle_message(make_chat_message('alice', '#all', 'hi'), alice,
                                              [alice, bob, carol, anonymous])
        self.assertEqual(response['response'], 200)
        self.assertEqual([recipient for recipient, _ in deliveries], [bob, carol])
        relayed = deliveries[0][1]
        self.assertEqual((relayed['from'], relayed['to'], relayed['message']),
                         ('alice', '#all', 'hi'))

    def test_sender_name_comes_from_the_server(self):
        alice, bob = client('alice'), client('bob')
        _, deliveries = handle_message(make_chat_message('mallory', '#all', 'hi'), alice,
                                       [alice, bob])
        self.assertEqual(deliveries[0][1]['from'], 'alice')

    def test_message_before_presence_gets_400(self):
        sender = client()
        response, deliveries = handle_message(make_chat_message('x', '#all', 'hi'), sender, [])
        self.assertEqual((response['response'], deliveries), (400, []))

    def test_message_to_one_user_reaches_only_that_user(self):
        alice, bob, carol = client('alice'), client('bob'), client('carol')
        response, deliveries = handle_message(make_chat_message('alice', 'bob', 'hi'), alice,
                                              [alice, bob, carol])
        self.assertEqual((response['response'], [c for c, _ in deliveries]), (200, [bob]))
        self.assertEqual(deliveries[0][1]['to'], 'bob')

    def test_message_to_absent_user_gets_404(self):
        alice = client('alice')
        response, deliveries = handle_message(make_chat_message('alice', 'bob', 'hi'), alice,
                                              [alice])
        self.assertEqual((response['response'], deliveries), (404, []))

    def test_name_in_use_gets_409(self):
        alice, newcomer = client('alice'), client()
        response, _ = handle_message(make_presence('alice'), newcomer, [alice, newcomer])
        self.assertEqual((response['response'], newcomer.name), (409, None))

    def test_quit_gets_200(self):
        response, _ = handle_message(make_quit(), client('alice'), [])
        self.assertEqual(response['response'], 200)

    def test_bad_message_gets_400(self):
        alice = client('alice')
        response, _ = handle_message({'action': 'msg', 'time': 1.0}, alice, [alice])
        self.assertEqual(response['response'], 400)

    def test_unknown_action_gets_400(self):
        response, _ = handle_message({'action': 'dance'}, client(), [])
        self.assertEqual(response['response'], 400)


class TestSelectLoop(unittest.TestCase):
    """``read`` and ``disconnect`` on real sockets: each test owns a socket pair per client."""

    def setUp(self):
        self.clients = {}

    def connect(self, name=None):
        server_end, client_end = socket.socketpair()
        server_end.setblocking(False)
        client_end.settimeout(5)
        self.addCleanup(client_end.close)
        self.addCleanup(server_end.close)
        peer = Client(server_end, ('local', len(self.clients)), MessageReader(), name)
        self.clients[server_end] = peer
        return peer, client_end

    def test_request_is_answered(self):
        peer, remote = self.connect()
        remote.sendall(encode_message(make_presence('alice')))
        read(self.clients, peer)
        self.assertIn(b'"response": 200', remote.recv(4096))

    def test_chat_message_is_relayed(self):
        alice, alice_remote = self.connect('alice')
        _, bob_remote = self.connect('bob')
        alice_remote.sendall(encode_message(make_chat_message('alice', '#all', 'hi')))
        read(self.clients, alice)
        self.assertIn(b'"message": "hi"', bob_remote.recv(4096))

    def test_quit_is_answered_and_the_connection_closed(self):
        peer, remote = self.connect('alice')
        remote.sendall(encode_message(make_quit()))
        read(self.clients, peer)
        self.assertIn(b'"response": 200', remote.recv(4096))
        self.assertEqual(remote.recv(4096), b'')
        self.assertEqual(self.clients, {})

    def test_closed_connection_is_dropped(self):
        peer, remote = self.connect()
        remote.close()
        read(self.clients, peer)
        self.assertEqual(self.clients, {})

    def test_endless_message_drops_the_client(self):
        peer, remote = self.connect()
        peer.reader = MessageReader(limit=100)
        remote.sendall(b'{"a": "' + b'x' * 200)
        read(self.clients, peer)
        self.assertEqual(self.clients, {})

    def test_client_that_never_reads_is_dropped(self):
        peer, _ = self.connect('bob')
        message = make_chat_message('alice', '#all', 'x' * 400)
        for _ in range(10_000):     # 5 MB: more than the socket's buffers and the outbox hold
            send(self.clients, peer, message)
        self.assertEqual(self.clients, {})

    def test_disconnect_twice_is_harmless(self):
        peer, _ = self.connect()
        disconnect(self.clients, peer, 'test')
        disconnect(self.clients, peer, 'test again')
        self.assertEqual(self.clients, {})

    def test_fault_gets_500_and_is_logged(self):
        peer, remote = self.connect()
        remote.sendall(encode_message(make_presence('alice')))
        with mock.patch('server.handle_message', side_effect=RuntimeError('a bug')), \
                self.assertLogs('server', 'ERROR') as logs:
            read(self.clients, peer)
        self.assertIn(b'"response": 500', remote.recv(4096))
        self.assertIn('RuntimeError: a bug', logs.output[0])

    def test_accept_out_of_descriptors_takes_nothing(self):
        listener = mock.Mock()
        listener.accept.side_effect = OSError(errno.EMFILE, 'Too many open files')
        with self.assertLogs('server', 'ERROR'):
            self.assertFalse(accept(self.clients, listener))
        self.assertEqual(self.clients, {})


class TestParseArgs(unittest.TestCase):
    def test_defaults(self):
        args = parse_args([])
        self.assertEqual((args.port, args.address), (7777, ''))

    def test_port_and_address(self):
        args = parse_args(['-p', '8888', '-a', '127.0.0.1'])
        self.assertEqual((args.port, args.address), (8888, '127.0.0.1'))

    def test_bad_port_is_refused(self):
        for port in ('0', '70000', 'seven'):
            with self.subTest(port=port), self.assertRaises(SystemExit):
                parse_args(['-p', port])


if __name__ == '__main__':
    unittest.main()
