"""Constants shared by the server and the client: network defaults, limits, JIM names."""

# Network defaults.
DEFAULT_PORT = 7777
DEFAULT_LISTEN_ADDRESS = ''          # '' means every address of this machine
MAX_CONNECTIONS = 5                  # backlog of the listening socket
CONNECTION_TIMEOUT = 10              # seconds a peer may stay silent
ACCEPT_PAUSE = 0.5                   # seconds without accepting when out of file descriptors

# Encoding and limits of the course's JIM dialect.
ENCODING = 'utf-8'
MAX_PACKAGE_LENGTH = 640             # bytes in one whole JIM object
MAX_NAME_LENGTH = 25                 # characters in an account name

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

# Actions.
PRESENCE = 'presence'

# Response codes.
OK = 200
BAD_REQUEST = 400
SERVER_ERROR = 500
