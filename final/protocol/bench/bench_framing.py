"""How many small messages per second the decoder and encoder handle on one core.

Run: ``python bench/bench_framing.py`` (``nox -s bench`` runs it). Prints figures; asserts none.
"""
import time

from jim.framing import Decoder, encode
from jim.messages import msg, parse_request

COUNT = 200_000
CHUNK = 65_536


def rate(count, seconds):
    """Return a count per second, rounded to a thousand."""
    return f'{round(count / seconds, -3):>12,.0f} /s'


def main():
    """Time encoding, decoding (pipelined, in 64 KiB reads) and checking of one msg shape."""
    message = msg('bob', 'Hello, Bob! How are you today?', sender='alice')
    start = time.perf_counter()
    data = b''.join(encode(message) for _ in range(COUNT))
    encoded = time.perf_counter() - start

    decoder = Decoder()
    start = time.perf_counter()
    items = []
    for offset in range(0, len(data), CHUNK):
        items += decoder.feed(data[offset:offset + CHUNK])
    decoded = time.perf_counter() - start
    assert len(items) == COUNT

    start = time.perf_counter()
    for item in items:
        parse_request(item)
    checked = time.perf_counter() - start

    print(f'{COUNT:,} messages of {len(data) // COUNT} bytes, one core')
    print(f'encode           {rate(COUNT, encoded)}')
    print(f'decode (framing) {rate(COUNT, decoded)}')
    print(f'parse_request    {rate(COUNT, checked)}')


if __name__ == '__main__':
    main()
