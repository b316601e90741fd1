"""Names and limits of the JIM dialect: one place for every string and number on the wire."""
from enum import IntEnum, StrEnum

MAX_MESSAGE_BYTES = 65_536      # one encoded object, newline included
MAX_NAME_LENGTH = 25            # characters in an account name
MAX_TEXT_LENGTH = 500           # characters in the text of a msg
MAX_ROOM_LENGTH = 25            # characters in a room name, after its '#'
MAX_CIPHERTEXT_LENGTH = 4096    # base64 characters of an end-to-end encrypted message
MAX_KEY_LENGTH = 64             # base64 characters of a public key
MAX_ID_LENGTH = 64              # characters of the id a client gives its message
MAX_POSITION = 2 ** 63 - 1      # the largest message position (a 64-bit database integer)
MAX_TIME = 2.0 ** 53            # the largest ``time`` (seconds) taken as a number
MAX_HISTORY = 100               # messages in one page of history, at most
PLAIN = 'utf-8'                 # the ``encoding`` of a readable message
E2E = 'x25519-aes256gcm'        # the ``encoding`` of an end-to-end encrypted one
ALL = '#all'                    # the room every user is in
# The name of the per-user data folder where the server and the client keep their files.
APP_NAME = 'jim-messenger'


class Action(StrEnum):
    """The value of ``action`` in a request or a pushed message."""

    PRESENCE = 'presence'
    PROBE = 'probe'
    MSG = 'msg'
    QUIT = 'quit'
    AUTHENTICATE = 'authenticate'
    JOIN = 'join'
    LEAVE = 'leave'
    GET_CONTACTS = 'get_contacts'
    ADD_CONTACT = 'add_contact'
    DEL_CONTACT = 'del_contact'
    GET_USERS = 'get_users'
    SET_KEY = 'set_key'
    GET_KEY = 'get_key'
    ACK = 'ack'
    HISTORY = 'history'


class Status(IntEnum):
    """Response codes (the value of ``response``)."""

    BASIC_NOTICE = 100
    CHALLENGE = 101               # authenticate: a step of the handshake follows
    IMPORTANT_NOTICE = 102
    OK = 200
    CREATED = 201
    ACCEPTED = 202                # the response carries a list
    BAD_REQUEST = 400
    UNAUTHORIZED = 401            # log in first
    WRONG_CREDENTIALS = 402
    FORBIDDEN = 403
    NOT_FOUND = 404
    CONFLICT = 409
    GONE = 410                    # a known user who is offline
    TOO_MANY_REQUESTS = 429
    SERVER_ERROR = 500
