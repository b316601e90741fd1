"""Nothing acknowledged is lost: many senders, recipients coming and going, a SIGTERM restart."""
import time

import pytest

from wire import msg

pytestmark = pytest.mark.needs('offline', 'scram')

SENDERS = ['user0', 'user1', 'user2']
RECIPIENTS = ['user10', 'user11']
QUIT = {'action': 'quit', 'time': 0.0}


def drain(conn) -> list[str]:
    """Read until the server closes the connection; return the texts of the messages."""
    texts = []
    while True:
        try:
            item = conn.receive()
        except ConnectionError:
            return texts
        if item.get('action') == 'msg':
            texts.append(item['message'])


def send_round(senders, round_, acked) -> None:
    """Each sender sends 15 messages to each recipient; note those acknowledged with 200."""
    for number in range(15):
        for sender, conn in senders.items():
            for recipient in RECIPIENTS:
                text = f'{sender}>{recipient} {round_}.{number}'
                if conn.request(msg(recipient, text))['response'] == 200:
                    acked[sender, recipient].append(text)


def test_every_acknowledged_message_arrives_once_in_order(server):
    acked = {(s, r): [] for s in SENDERS for r in RECIPIENTS}
    received = {r: [] for r in RECIPIENTS}
    for round_ in range(4):
        # Each recipient is online every other round; the server restarts mid-way.
        online = {r: server.join(r) for n, r in enumerate(RECIPIENTS) if (round_ + n) % 2 == 0}
        senders = {s: server.join(s) for s in SENDERS}
        send_round(senders, round_, acked)
        for conn in senders.values():
            conn.request({**QUIT, 'time': time.time()})
            conn.close()
        if round_ == 1:
            assert server.stop() == 0          # SIGTERM with recipients still connected
            for recipient, conn in online.items():
                received[recipient] += drain(conn)
            server.start()
        else:
            for recipient, conn in online.items():
                conn.send({**QUIT, 'time': time.time()})
                received[recipient] += drain(conn)
        for conn in online.values():
            conn.close()
    for recipient in RECIPIENTS:                   # the last logins collect what waited
        with server.join(recipient) as conn:
            conn.send({**QUIT, 'time': time.time()})
            received[recipient] += drain(conn)
    for (sender, recipient), texts in acked.items():
        assert len(texts) == 60
        got = [text for text in received[recipient] if text.startswith(f'{sender}>')]
        assert got == texts, (sender, recipient)
