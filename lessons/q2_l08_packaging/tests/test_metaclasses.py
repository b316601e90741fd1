"""Tests of ServerVerifier and ClientVerifier: each rejects each kind of bad class."""
import socket
import unittest

from messenger_server.metaclasses import ClientVerifier, ServerVerifier


class TestServerVerifier(unittest.TestCase):
    def test_tcp_server_is_accepted(self):
        class GoodServer(metaclass=ServerVerifier):
            def listen(self):
                return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.assertTrue(GoodServer)

    def test_server_calling_connect_is_rejected(self):
        with self.assertRaisesRegex(TypeError, r'BadServer.reach calls connect\(\)'):
            class BadServer(metaclass=ServerVerifier):   # pylint: disable=unused-variable
                def listen(self):
                    return socket.socket(socket.AF_INET, socket.SOCK_STREAM)

                def reach(self, sock):
                    sock.connect(('127.0.0.1', 7777))

    def test_connect_hidden_in_an_inner_function_is_found(self):
        with self.assertRaisesRegex(TypeError, 'connect'):
            class Sneaky(metaclass=ServerVerifier):      # pylint: disable=unused-variable
                def listen(self):
                    def helper(sock):
                        sock.connect(('127.0.0.1', 7777))
                    return socket.socket(socket.AF_INET, socket.SOCK_STREAM), helper

    def test_udp_server_is_rejected(self):
        with self.assertRaisesRegex(TypeError, 'TCP/IPv4.*SOCK_STREAM'):
            class UdpServer(metaclass=ServerVerifier):   # pylint: disable=unused-variable
                def listen(self):
                    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def test_ipv6_server_is_rejected(self):
        with self.assertRaisesRegex(TypeError, 'AF_INET'):
            class Ipv6Server(metaclass=ServerVerifier):  # pylint: disable=unused-variable
                def listen(self):
                    return socket.socket(socket.AF_INET6, socket.SOCK_STREAM)


class TestClientVerifier(unittest.TestCase):
    def test_tcp_client_is_accepted(self):
        class GoodClient(metaclass=ClientVerifier):
            def connect(self):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.connect(('127.0.0.1', 7777))
        self.assertTrue(GoodClient)

    def test_client_that_creates_no_socket_is_accepted(self):
        class Passive(metaclass=ClientVerifier):
            def __init__(self, sock):
                self.sock = sock
        self.assertTrue(Passive)

    def test_client_calling_accept_is_rejected(self):
        with self.assertRaisesRegex(TypeError, r'accept\(\)'):
            class Accepting(metaclass=ClientVerifier):   # pylint: disable=unused-variable
                def wait(self, sock):
                    return sock.accept()

    def test_client_calling_listen_in_a_static_method_is_rejected(self):
        with self.assertRaisesRegex(TypeError, r'listen\(\)'):
            class Listening(metaclass=ClientVerifier):   # pylint: disable=unused-variable
                @staticmethod
                def wait(sock):
                    sock.listen()

    def test_socket_at_class_level_is_rejected(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        with self.assertRaisesRegex(TypeError, 'class level'):
            class Shared(metaclass=ClientVerifier):      # pylint: disable=unused-variable
                connection = sock

    def test_udp_client_is_rejected(self):
        with self.assertRaisesRegex(TypeError, 'TCP/IPv4'):
            class UdpClient(metaclass=ClientVerifier):   # pylint: disable=unused-variable
                def open(self):
                    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


if __name__ == '__main__':
    unittest.main()
