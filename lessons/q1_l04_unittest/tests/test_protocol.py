"""Tests of protocol.py: messages, checks, encoding and the socket helpers."""
import json
import unittest

from constants import MAX_PACKAGE_LENGTH
from fakes import FakeSocket
from protocol import (ProtocolError, check_account_name, check_field, check_presence,
                      check_response, decode_message, encode_message, get_message,
                      make_presence, make_response, send_message)


class TestEncoding(unittest.TestCase):
    def test_encode_is_one_json_line(self):
        data = encode_message({'response': 200})
        self.assertTrue(data.endswith(b'\n'))
        self.assertEqual(json.loads(data), {'response': 200})

    def test_encode_keeps_cyrillic_readable(self):
        self.assertIn('Привет'.encode(), encode_message({'message': 'Привет'}))

    def test_decode_round_trip(self):
        message = make_presence('alice')
        self.assertEqual(decode_message(encode_message(message)), message)

    def test_decode_rejects_malformed_json(self):
        with self.assertRaises(ProtocolError):
            decode_message(b'{"action": }')

    def test_decode_rejects_invalid_utf8(self):
        with self.assertRaises(ProtocolError):
            decode_message(b'\xff\xfe')

    def test_decode_rejects_non_objects(self):
        for data in (b'[]', b'"text"', b'null', b'42'):
            with self.subTest(data=data), self.assertRaises(ProtocolError):
                decode_message(data)

    def test_decode_rejects_lone_surrogates(self):
        # Valid JSON escapes, but no UTF-8: nothing could send them on.
        for data in (b'{"message": "\\ud800"}', b'{"\\udfff": 1}'):
            with self.subTest(data=data), self.assertRaises(ProtocolError):
                decode_message(data)

    def test_decode_accepts_a_surrogate_pair(self):
        self.assertEqual(decode_message(b'{"message": "\\ud83d\\ude00"}'),
                         {'message': '\U0001f600'})

    def test_decode_rejects_numbers_out_of_range(self):
        for data in (b'{"time": 1e999}', b'{"time": -Infinity}', b'{"time": NaN}'):
            with self.subTest(data=data), self.assertRaises(ProtocolError):
                decode_message(data)

    def test_decode_rejects_oversized_data(self):
        with self.assertRaises(ProtocolError):
            decode_message(b' ' * (MAX_PACKAGE_LENGTH + 1))


class TestSocketHelpers(unittest.TestCase):
    def test_send_message_sends_encoded_bytes(self):
        sock = FakeSocket()
        send_message(sock, {'response': 200})
        self.assertEqual(sock.sent, encode_message({'response': 200}))

    def test_get_message_reads_one_message(self):
        sock = FakeSocket(encode_message({'response': 200}))
        self.assertEqual(get_message(sock), {'response': 200})

    def test_get_message_on_closed_connection(self):
        with self.assertRaises(ConnectionError):
            get_message(FakeSocket(b''))

    def test_get_message_rejects_oversized_message(self):
        with self.assertRaises(ProtocolError):
            get_message(FakeSocket(b'{"a": "' + b'x' * 1000 + b'"}'))


class TestBuilders(unittest.TestCase):
    def test_presence_has_course_fields(self):
        message = make_presence('alice')
        self.assertEqual(message['action'], 'presence')
        self.assertEqual(message['type'], 'status')
        self.assertEqual(message['user']['account_name'], 'alice')
        self.assertIsInstance(message['time'], float)

    def test_ok_response_carries_alert(self):
        response = make_response(200, 'OK')
        self.assertEqual((response['response'], response['alert']), (200, 'OK'))
        self.assertNotIn('error', response)

    def test_error_response_carries_error(self):
        response = make_response(400, 'bad')
        self.assertEqual((response['response'], response['error']), (400, 'bad'))
        self.assertNotIn('alert', response)

    def test_response_without_text(self):
        self.assertEqual(set(make_response(200)), {'response', 'time'})


class TestChecks(unittest.TestCase):
    def test_check_field_returns_value(self):
        self.assertEqual(check_field({'a': 'b'}, 'a', str), 'b')

    def test_check_field_missing(self):
        with self.assertRaisesRegex(ProtocolError, 'missing'):
            check_field({}, 'a', str)

    def test_check_field_wrong_type(self):
        with self.assertRaisesRegex(ProtocolError, 'wrong type'):
            check_field({'a': 1}, 'a', str)

    def test_check_field_bool_is_not_a_number(self):
        with self.assertRaises(ProtocolError):
            check_field({'time': True}, 'time', (int, float))

    def test_account_name_limits(self):
        check_account_name('a' * 25)
        for name in ('', '   ', 'a' * 26):
            with self.subTest(name=name), self.assertRaises(ProtocolError):
                check_account_name(name)

    def test_presence_accepted(self):
        check_presence(make_presence('Алиса'))

    def test_presence_without_user_rejected(self):
        message = make_presence('alice')
        del message['user']
        with self.assertRaises(ProtocolError):
            check_presence(message)

    def test_check_response(self):
        self.assertEqual(check_response(make_response(404, 'no')), 404)
        for bad in ({}, {'response': '200'}, {'response': 999}):
            with self.subTest(bad=bad), self.assertRaises(ProtocolError):
                check_response(bad)


if __name__ == '__main__':
    unittest.main()
