"""Constants shared by the server and the client: network defaults, limits, JIM names."""

# Network defaults.
DEFAULT_PORT = 7777
DEFAULT_LISTEN_ADDRESS = ''          # '' means every address of this machine
MAX_CONNECTIONS = 5                  # backlog of the listening socket
CONNECTION_TIMEOUT = 10              # seconds a peer may stay silent
SEND_TIMEOUT = 2                     # seconds a client may take to accept what it is sent
BUFFER_SIZE = 1024                   # bytes asked for by one recv

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
