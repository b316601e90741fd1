"""The JIM messenger client: a blocking connection for scripts, and a console."""

__version__ = '0.2.0'
