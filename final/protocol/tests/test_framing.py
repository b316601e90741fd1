"""Decoder and encode: every way a byte stream can cut messages, and arbitrary bytes."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jim.errors import FramingError, LocalProtocolError
from jim.framing import Decoder, encode


def feed_in_pieces(decoder, data, sizes):
    """Feed ``data`` in pieces of the given sizes (cycled); return everything produced."""
    items, position, index = [], 0, 0
    while position < len(data):
        size = max(1, sizes[index % len(sizes)]) if sizes else len(data)
        items += decoder.feed(data[position:position + size])
        position += size
        index += 1
    return items


def test_several_objects_in_one_read():
    assert Decoder().feed(encode({'n': 1}) + encode({'n': 2})) == [{'n': 1}, {'n': 2}]


def test_objects_without_newlines_and_with_crlf():
    assert Decoder().feed(b'{"n":1}{"n":2}\r\n {"n":3}\n') == [{'n': 1}, {'n': 2}, {'n': 3}]


def test_one_object_byte_by_byte_with_a_split_character():
    data = encode({'text': 'Привет, {мир} "в кавычках" \\ и всё'})
    decoder = Decoder()
    items = [item for byte in data for item in decoder.feed(bytes([byte]))]
    assert items == [json.loads(data)]
    assert decoder.pending == 0


def test_garbage_line_is_an_error_then_the_stream_goes_on():
    items = Decoder().feed(b'hello\n[1,2]\n{"n":1}\n')
    assert [type(item) for item in items] == [FramingError, FramingError, dict]
    assert not any(item.fatal for item in items[:2])


def test_invalid_object_is_skipped_by_its_braces():
    items = Decoder().feed(b'{"n": nope}{"n": 2}\n')
    assert isinstance(items[0], FramingError) and items[1] == {'n': 2}


def test_invalid_utf8_is_an_error():
    assert isinstance(Decoder().feed(b'{"n": "\xff"}\n')[0], FramingError)


def test_deep_nesting_is_an_error_not_a_crash():
    data = b'{"a":' * 5000 + b'1' + b'}' * 5000 + b'\n'
    items = Decoder(max_bytes=100_000).feed(data)
    assert len(items) == 1 and isinstance(items[0], FramingError)


def test_endless_object_is_fatal():
    decoder = Decoder(max_bytes=100)
    items = decoder.feed(b'{"a": "' + b'x' * 200)
    assert items[-1].fatal and decoder.broken
    assert not decoder.feed(b'"}\n{"n": 1}\n')


def test_endless_garbage_is_fatal():
    decoder = Decoder(max_bytes=100)
    assert decoder.feed(b'x' * 200)[-1].fatal


def test_long_line_within_braces_is_an_error_but_not_fatal():
    decoder = Decoder(max_bytes=50)
    items = decoder.feed(encode({'a': 'x' * 80}) + encode({'n': 1}))
    assert isinstance(items[0], FramingError) and not items[0].fatal
    assert items[1] == {'n': 1}


def test_large_object_in_many_reads_is_scanned_once():
    data = encode({'text': 'y' * 60_000, 'more': '}{' * 100})
    decoder = Decoder()
    items = feed_in_pieces(decoder, data[:-1], [1000])   # no newline: the scanner's path
    items += decoder.feed(b'')
    assert items == [json.loads(data)]


def test_encode_is_compact_utf8_with_newline():
    assert encode({'a': 'Ж', 'b': [1, 2]}) == '{"a":"Ж","b":[1,2]}\n'.encode()


# JIM's numbers are 64-bit integers and finite doubles.
messages = st.dictionaries(
    st.text(max_size=10),
    st.recursive(st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63 - 1) | st.text()
                 | st.floats(allow_nan=False, allow_infinity=False),
                 lambda children: st.lists(children, max_size=3) |
                 st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=10),
    max_size=5)


@settings(max_examples=300)
@given(st.lists(messages, max_size=8), st.lists(st.integers(1, 50), max_size=10),
       st.booleans())
def test_any_messages_in_any_pieces_come_back_the_same(batch, sizes, newlines):
    data = b''.join(encode(m) if newlines else encode(m)[:-1] for m in batch)
    assert feed_in_pieces(Decoder(), data, sizes) == batch


@settings(max_examples=300)
@given(st.binary(max_size=400), st.lists(st.integers(1, 64), max_size=10))
def test_arbitrary_bytes_give_only_objects_and_errors(data, sizes):
    decoder = Decoder(max_bytes=256)
    for item in feed_in_pieces(decoder, data, sizes):
        assert isinstance(item, (dict, FramingError))


def test_lone_surrogates_are_errors_and_pairs_are_text():
    items = Decoder().feed(b'{"t":"\\ud800"}\n{"t":"x\\uDFFF"}{"t":"\\ud83d\\ude00"}\n'
                           b'{"t":"\\\\ud800"}\n')
    assert [type(item) for item in items] == [FramingError, FramingError, dict, dict]
    assert 'surrogate' in str(items[0]) and not items[0].fatal
    assert items[2] == {'t': '\U0001F600'} and items[3] == {'t': '\\ud800'}


def test_nan_and_infinity_are_not_json_numbers_here():
    for constant in (b'NaN', b'Infinity', b'-Infinity'):
        items = Decoder().feed(b'{"time": ' + constant + b'}\n{"n": 1}\n')
        assert isinstance(items[0], FramingError) and items[1] == {'n': 1}


def test_encode_refuses_what_json_cannot_carry():
    for bad in ({'t': '\ud800'}, {'n': 2 ** 64}, {'s': {1, 2}}):
        with pytest.raises(LocalProtocolError):
            encode(bad)
    assert encode({'n': float('nan')}) == b'{"n":null}\n'


def test_numbers_a_double_cannot_hold_are_errors():
    for number in (b'1e999', b'-1e400', b'9' * 400):
        items = Decoder().feed(b'{"time": ' + number + b'}\n{"n": 1}\n')
        assert isinstance(items[0], FramingError) and items[1] == {'n': 1}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3))
def test_whatever_comes_out_can_be_sent_on(value):
    data = json.dumps(value).encode() + b'\n'        # ensure_ascii: surrogates as escapes
    for item in Decoder().feed(data):
        if isinstance(item, dict):
            assert Decoder().feed(encode(item)) == [item]
