"""Merging history pages and live messages by position (no Qt, no network)."""
from jim_client.conversation import Conversation, Entry, State, entry_of, peer_of


def stored(position, sender='bob'):
    """Return an entry of a stored message."""
    return Entry(sender, f'text {position}', 1000.0 + position, position)


def texts(conversation):
    """Return the texts in the order they are shown."""
    return [entry.text for entry in conversation.entries()]


def test_pages_and_live_messages_merge_in_order_without_duplicates():
    conversation = Conversation()
    conversation.add(stored(9))                                  # live, before any history
    assert conversation.merge([stored(p) for p in (5, 7, 9)], limit=3) == 2
    assert not conversation.complete and conversation.oldest == 5
    conversation.add(stored(7))                                  # sent again: kept once
    assert conversation.merge([stored(p) for p in (2, 4)], limit=3) == 2
    assert conversation.complete                                 # a short page: the start
    assert texts(conversation) == ['text 2', 'text 4', 'text 5', 'text 7', 'text 9']


def test_my_message_waits_at_the_end_until_stored_then_takes_its_place():
    conversation = Conversation()
    conversation.add(stored(3))
    mine = Entry('alice', 'mine', 1.0, id='x1', state=State.WAITING)
    assert conversation.add(mine) and not conversation.add(mine)
    conversation.add(stored(5))
    assert texts(conversation) == ['text 3', 'text 5', 'mine']
    conversation.failed('x1', '500: not stored')
    assert mine.state is State.FAILED and mine.error
    conversation.waiting('x1')
    assert mine.state is State.WAITING and not mine.error
    conversation.stored_as('x1', 4)
    assert mine.state is State.SENT
    assert texts(conversation) == ['text 3', 'mine', 'text 5']


def test_my_message_that_came_in_history_first_is_kept_once():
    conversation = Conversation()
    conversation.add(Entry('alice', 'mine', 1.0, id='x1', state=State.WAITING))
    conversation.merge([stored(4, sender='alice')], limit=10)
    conversation.stored_as('x1', 4)
    assert len(conversation.entries()) == 1


def test_the_peer_and_the_entry_of_a_message():
    to_bob = {'from': 'alice', 'to': 'bob', 'message': 'hi', 'time': 5.0, 'position': 3}
    assert peer_of(to_bob, 'alice') == 'bob'
    assert peer_of(to_bob, 'bob') == 'alice'
    assert peer_of({'from': 'bob', 'to': '#py'}, 'alice') == '#py'
    assert entry_of(to_bob, 'alice').state is State.SENT
    assert entry_of(to_bob, 'bob').state is None
    assert entry_of({**to_bob, 'warning': 'untrusted'}, 'bob').warning == 'untrusted'
