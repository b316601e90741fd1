"""Constants shared by the server and the client: network defaults, file names, limits, JIM
names."""
from pathlib import Path

# Network defaults.
DEFAULT_PORT = 7777
DEFAULT_LISTEN_ADDRESS = ''          # '' means every address of this machine
MAX_CONNECTIONS = 5                  # backlog of the listening socket
MAX_CLIENTS = 500                    # at once: select() watches descriptors below 1024
CONNECTION_TIMEOUT = 10              # seconds a peer may stay silent
ACCEPT_PAUSE = 0.5                   # seconds without accepting when out of file descriptors
MAX_PENDING_OUTPUT = 65536           # bytes waiting for a client that does not read
BUFFER_SIZE = 1024                   # bytes asked for by one recv

# The files a stage writes where it is started carry its folder's name, so that stages run one
# after another from one folder never open each other's (older) files.
STAGE = Path(__file__).resolve().parent.name
SERVER_DB = f'server_{STAGE}.db'           # the server's users and history (--db)
SERVER_SETTINGS = f'server_{STAGE}.ini'     # what the server window saves for next time
CLIENT_DB = f'client_{STAGE}_{{name}}.db'   # a client's contacts and history: .format(name=)

# Encoding and limits of the course's JIM dialect.
ENCODING = 'utf-8'
# A 500-character message is up to 2000 bytes of UTF-8, more than the course's 640 allow,
# and a response may list every user of the server.
MAX_PACKAGE_LENGTH = 65536           # bytes in one whole JIM object
MAX_NAME_LENGTH = 25                 # characters in an account name
MAX_MESSAGE_LENGTH = 500             # characters in the text of a msg
MAX_ITERATIONS = 10_000_000          # a login challenge asking for more is refused

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
USER_ID = 'user_id'                  # the other user in a contact request
CONTACTS = 'contacts'                # the list in a get_contacts response
USERS = 'users'                      # the list in a get_users response
SALT = 'salt'                        # the login challenge: the user's salt (hex),
ITERATIONS = 'iterations'            # the PBKDF2 iteration count,
NONCE = 'nonce'                      # and a random one-time value (hex)
PROOF = 'proof'                      # the client's answer to the challenge (hex)

# The common chat every client is in.
ALL = '#all'

# Actions.
PRESENCE = 'presence'
MSG = 'msg'
QUIT = 'quit'
AUTHENTICATE = 'authenticate'
GET_CONTACTS = 'get_contacts'
ADD_CONTACT = 'add_contact'
DEL_CONTACT = 'del_contact'
GET_USERS = 'get_users'

# Response codes.
CHALLENGE = 101                      # authenticate, step 1: prove you know the password
OK = 200
ACCEPTED = 202                       # a response that carries a list
BAD_REQUEST = 400
UNAUTHORIZED = 401                   # log in first
WRONG_CREDENTIALS = 402
FORBIDDEN = 403
NOT_FOUND = 404
CONFLICT = 409
GONE = 410
SERVER_ERROR = 500
