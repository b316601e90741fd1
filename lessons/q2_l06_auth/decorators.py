"""The ``@log`` decorator: every call of a decorated function leaves a record in the log."""
import functools
import inspect
import logging
import re

from constants import NONCE, PROOF, SALT

logger = logging.getLogger(__name__)

# A login's salt, nonce and proof are all it takes to try passwords offline, as fast as the
# attacker's own machine allows: a log may show that they were there, never what they were.
SECRET_FIELDS = (SALT, NONCE, PROOF)
HIDDEN = '***'
# A secret field in JSON bytes, its string value included (escaped quotes and all).
SECRET_IN_JSON = re.compile(rb'("(?:' + '|'.join(SECRET_FIELDS).encode() +
                            rb')"\s*:\s*)"(?:[^"\\]|\\.)*"')


def hide_secrets(value):
    """Return ``value`` with the secret fields of a message (a dict, or its JSON bytes) hidden."""
    if isinstance(value, dict):
        return {key: HIDDEN if key in SECRET_FIELDS else hide_secrets(item)
                for key, item in value.items()}
    if isinstance(value, bytes):
        return SECRET_IN_JSON.sub(rb'\1"' + HIDDEN.encode() + rb'"', value)
    return value


def shown(name, value):
    """Return how an argument called ``name`` appears in the log: its repr, secrets hidden."""
    return repr(HIDDEN if name in SECRET_FIELDS else hide_secrets(value))


def log(func):
    """Log each call of ``func`` at DEBUG: its name, its arguments and the calling function."""
    parameters = list(inspect.signature(func).parameters)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if logger.isEnabledFor(logging.DEBUG):
            caller = inspect.currentframe().f_back
            arguments = ', '.join([shown(name, a) for name, a in zip(parameters, args)] +
                                  [f'{k}={shown(k, v)}' for k, v in kwargs.items()])
            logger.debug('%s.%s(%s) called from %s.%s', func.__module__, func.__name__,
                         arguments, caller.f_globals.get('__name__'), caller.f_code.co_name)
        return func(*args, **kwargs)
    return wrapper
