"""JIM, JSON Instant Messaging, without I/O: bytes in, messages out; messages in, bytes out.

The same code serves the server, the console client and the window, and is tested without a
network (the "sans-IO" design of h11 and python-websockets).
"""
from jim.constants import Action, Status
from jim.framing import Decoder, FramingError, encode
from jim.messages import ProtocolError, response

__version__ = '0.1.0'

__all__ = ['Action', 'Decoder', 'FramingError', 'ProtocolError', 'Status', 'encode',
           'response', '__version__']
