"""JIM, JSON Instant Messaging, without I/O: bytes in, messages out; messages in, bytes out.

The same code serves the server, the console client and the window, and is tested without a
network (the "sans-IO" design of h11 and python-websockets).
"""
from jim.constants import Action, Status
from jim.errors import FramingError, LocalProtocolError, ProtocolError, RemoteProtocolError
from jim.framing import Decoder, encode
from jim.messages import response

__version__ = '0.2.0'

__all__ = ['Action', 'Decoder', 'FramingError', 'LocalProtocolError', 'ProtocolError',
           'RemoteProtocolError', 'Status', 'encode', 'response', '__version__']
