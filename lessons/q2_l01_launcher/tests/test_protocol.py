"""Tests of protocol.py: messages, checks, encoding and the socket helpers."""
import json
import unittest

from constants import MAX_PACKAGE_LENGTH
from fakes import FakeSocket
from protocol import (MessageReader, ProtocolError, check_account_name, check_chat_message,
                      check_field, check_presence, check_response, decode_message,
                      encode_message, make_chat_message, make_presence,
                      make_response, receive_messages, send_message)


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

    def test_receive_messages_reads_what_is_there(self):
        sock = FakeSocket(encode_message({'response': 200}) + encode_message({'response': 400}))
        self.assertEqual(receive_messages(sock, MessageReader()),
                         [{'response': 200}, {'response': 400}])

    def test_receive_messages_on_closed_connection(self):
        with self.assertRaises(ConnectionError):
            receive_messages(FakeSocket(b''), MessageReader())


class TestMessageReader(unittest.TestCase):
    def test_several_messages_in_one_read(self):
        data = encode_message({'n': 1}) + encode_message({'n': 2})
        self.assertEqual(MessageReader().feed(data), [{'n': 1}, {'n': 2}])

    def test_message_across_reads_byte_by_byte(self):
        reader = MessageReader()
        data = encode_message({'text': 'Привет'})
        items = [item for byte in data for item in reader.feed(bytes([byte]))]
        self.assertEqual(items, [{'text': 'Привет'}])

    def test_objects_without_newlines(self):
        self.assertEqual(MessageReader().feed(b'{"n": 1}{"n": 2} {"n": 3}'),
                         [{'n': 1}, {'n': 2}, {'n': 3}])

    def test_garbage_line_is_an_error_and_skipped(self):
        items = MessageReader().feed(b'garbage\n{"n": 1}\n')
        self.assertIsInstance(items[0], ProtocolError)
        self.assertEqual(items[1:], [{'n': 1}])

    def test_braces_and_escaped_quotes_inside_strings(self):
        self.assertEqual(MessageReader().feed(b'{"a": "}{\\"}"}'), [{'a': '}{"}'}])

    def test_invalid_object_is_an_error_and_skipped_to_its_newline(self):
        items = MessageReader().feed(b'{"n": oops}\n{"n": 2}')
        self.assertIsInstance(items[0], ProtocolError)
        self.assertEqual(items[1:], [{'n': 2}])

    def test_invalid_utf8_line_is_an_error_and_skipped(self):
        items = MessageReader().feed(b'{"n": "\xff"}\n{"n": 2}')
        self.assertIsInstance(items[0], ProtocolError)
        self.assertEqual(items[1:], [{'n': 2}])

    def test_garbage_waits_for_its_newline(self):
        reader = MessageReader()
        self.assertEqual(reader.feed(b'garb'), [])
        self.assertIsInstance(reader.feed(b'age\n')[0], ProtocolError)

    def test_endless_object_breaks_the_reader(self):
        reader = MessageReader(limit=100)
        items = reader.feed(b'{"a": "' + b'x' * 200)
        self.assertTrue(reader.broken)
        self.assertIsInstance(items[0], ProtocolError)

    def test_broken_reader_reads_no_more(self):
        reader = MessageReader(limit=10)
        reader.feed(b'x' * 20)
        self.assertEqual(reader.feed(b'\n{"n": 1}'), [])


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

    def test_chat_message_accepted(self):
        check_chat_message(make_chat_message('alice', '#all', 'Привет'))

    def test_chat_message_too_long(self):
        with self.assertRaisesRegex(ProtocolError, '500'):
            check_chat_message(make_chat_message('alice', '#all', 'x' * 501))

    def test_chat_message_without_text(self):
        message = make_chat_message('alice', '#all', 'hi')
        del message['message']
        with self.assertRaises(ProtocolError):
            check_chat_message(message)

    def test_check_response(self):
        self.assertEqual(check_response(make_response(404, 'no')), 404)
        for bad in ({}, {'response': '200'}, {'response': 999}):
            with self.subTest(bad=bad), self.assertRaises(ProtocolError):
                check_response(bad)


if __name__ == '__main__':
    unittest.main()
