"""Sphinx settings of the Q2 L8 messenger's documentation.

Build it from the stage folder (warnings are errors):
``python -m sphinx -W -b html docs docs/_build/html``. autodoc imports the packages' modules, so
the folders of the two packages are put on the path; nothing is fetched from the network.
"""
import os
import sys

# Sphinx reads its settings from these lowercase module names. pylint: disable=invalid-name

# The stage's tools in the folder above this one; the two packages, uninstalled, in theirs.
sys.path[:0] = [os.path.abspath(os.path.join('..', side)) for side in ('', 'server', 'client')]

project = 'JIM messenger, lesson Q2 L8'
author = 'the course "Client-server applications in Python"'
# The name Sphinx reads. pylint: disable-next=redefined-builtin
copyright = author

extensions = ['sphinx.ext.autodoc']

exclude_patterns = ['_build']
html_theme = 'alabaster'
autodoc_member_order = 'bysource'
