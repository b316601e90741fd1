"""The JIM messenger server: one ``selectors`` loop, non-blocking sockets, bounded everything."""

__version__ = '0.2.0'
