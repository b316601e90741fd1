"""Metaclasses that read a class's bytecode when it is created and refuse a wrong design.

``ServerVerifier``: a server may not call ``connect`` and must use a TCP/IPv4 socket.
``ClientVerifier``: a client may not call ``accept`` or ``listen``, may not hold a socket as a
class attribute, and if it creates a socket, it must be TCP/IPv4.
"""
import dis
import socket


def code_objects(namespace):
    """Yield the code of every function in a class body, wrapped or nested ones included."""
    for value in namespace.values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        elif isinstance(value, property):
            yield from code_objects({'get': value.fget, 'set': value.fset, 'del': value.fdel})
            continue
        code = getattr(value, '__code__', None)
        if code is not None:
            yield from nested_code(code)


def nested_code(code):
    """Yield ``code`` and every code object defined inside it (inner functions, lambdas...)."""
    yield code
    for const in code.co_consts:
        if hasattr(const, 'co_code'):
            yield from nested_code(const)


def names_used(namespace):
    """Return ``{name: function name}`` for every global and attribute the class's code uses."""
    used = {}
    for code in code_objects(namespace):
        for instruction in dis.get_instructions(code):
            if instruction.opname in ('LOAD_GLOBAL', 'LOAD_ATTR', 'LOAD_METHOD', 'LOAD_NAME'):
                used.setdefault(instruction.argval, code.co_name)
    return used


class Verifier(type):
    """Refuses a class whose code uses a forbidden name or lacks a required one."""

    forbidden = ()
    required = ()

    def __init__(cls, name, bases, namespace):
        used = names_used(namespace)
        for call in cls.forbidden:
            if call in used:
                raise TypeError(f'{name}.{used[call]} calls {call}(), which a '
                                f'{cls.role} may not do')
        missing = [needed for needed in cls.required if needed not in used]
        # ``cls`` is the class being made, so this call is bound; pylint takes it for unbound.
        if missing and cls.must_use_tcp(used):  # pylint: disable=no-value-for-parameter
            raise TypeError(f'{name} must use a TCP/IPv4 socket: no {", ".join(missing)}')
        super().__init__(name, bases, namespace)

    # ClientVerifier's version reads ``used``. pylint: disable-next=unused-argument
    def must_use_tcp(cls, used):
        """Tell whether the TCP/IPv4 requirement applies to a class that uses ``used``."""
        return True


class ServerVerifier(Verifier):
    """Metaclass of a server: no ``connect``; a TCP/IPv4 socket (AF_INET, SOCK_STREAM)."""

    role = 'server'
    forbidden = ('connect',)
    required = ('AF_INET', 'SOCK_STREAM')


class ClientVerifier(Verifier):
    """Metaclass of a client: no ``accept`` or ``listen``; sockets per object, TCP/IPv4."""

    role = 'client'
    forbidden = ('accept', 'listen')
    required = ('AF_INET', 'SOCK_STREAM')

    def __init__(cls, name, bases, namespace):
        for attribute, value in namespace.items():
            if isinstance(value, socket.socket):
                raise TypeError(f'{name}.{attribute} is a socket created at class level; '
                                'create it in a method, one per client')
        super().__init__(name, bases, namespace)

    def must_use_tcp(cls, used):
        """A client that creates no socket itself has nothing to check."""
        return 'socket' in used
