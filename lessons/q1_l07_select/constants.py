"""Constants shared by the server and the client: network defaults, limits, JIM names."""

# Network defaults.
DEFAULT_PORT = 7777
DEFAULT_LISTEN_ADDRESS = ''          # '' means every address of this machine
MAX_CONNECTIONS = 5                  # backlog of the listening socket
MAX_CLIENTS = 500                    # at once: select() watches descriptors below 1024
CONNECTION_TIMEOUT = 10              # seconds a peer may stay silent
ACCEPT_PAUSE = 0.5                   # seconds without accepting when out of file descriptors
MAX_PENDING_OUTPUT = 65536           # bytes waiting for a client that does not read
BUFFER_SIZE = 1024                   # bytes asked for by one recv

# Encoding and limits of the course's JIM dialect.
ENCODING = 'utf-8'
# A 500-character message is up to 2000 bytes of UTF-8, more than the course's 640 allow.
MAX_PACKAGE_LENGTH = 4096            # bytes in one whole JIM object
MAX_NAME_LENGTH = 25                 # characters in an account name
MAX_MESSAGE_LENGTH = 500             # characters in the text of a msg

# Field names.
ACTION = 'action'
TIME = 'time'
TYPE = 'type'
USER = 'user'
ACCOUNT_NAME = 'account_name'
STATUS = 'status'
RESPONSE = 'response'
ALERT = 'alert'
ERROR = 'error'
FROM = 'from'
TO = 'to'
MESSAGE = 'message'
MESSAGE_ENCODING = 'encoding'

# The common chat every client is in.
ALL = '#all'

# Actions.
PRESENCE = 'presence'
MSG = 'msg'

# Response codes.
OK = 200
BAD_REQUEST = 400
SERVER_ERROR = 500
