"""The ``@log`` decorator: every call of a decorated function leaves a record in the log."""
import functools
import inspect
import logging

logger = logging.getLogger(__name__)


def log(func):
    """Log each call of ``func`` at DEBUG: its name, its arguments and the calling function."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if logger.isEnabledFor(logging.DEBUG):
            caller = inspect.currentframe().f_back
            arguments = ', '.join([repr(a) for a in args] +
                                  [f'{k}={v!r}' for k, v in kwargs.items()])
            logger.debug('%s.%s(%s) called from %s.%s', func.__module__, func.__name__,
                         arguments, caller.f_globals.get('__name__'), caller.f_code.co_name)
        return func(*args, **kwargs)
    return wrapper
