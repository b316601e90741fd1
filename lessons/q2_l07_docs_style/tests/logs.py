"""Run a test in a temporary working directory and undo any logging set up there."""
import logging
import os
import tempfile
import unittest


class InTemporaryDirectory(unittest.TestCase):
    """A test case whose working directory is a fresh temporary one (log files go there)."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(folder.name)
        self.directory = folder.name
        self.addCleanup(reset_logging)


def reset_logging():
    """Close and remove every handler of the root logger."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        handler.close()
        root.removeHandler(handler)
