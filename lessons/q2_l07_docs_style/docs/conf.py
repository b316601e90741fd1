"""Sphinx settings of the Q2 L7 messenger's documentation.

Build it from the stage folder (warnings are errors):
``python -m sphinx -W -b html docs docs/_build/html``. autodoc imports the stage's modules, so
the stage's folder is put on the path; nothing is fetched from the network.
"""
import os
import sys

# Sphinx reads its settings from these lowercase module names. pylint: disable=invalid-name

# The modules of the stage are in the folder above this one.
sys.path.insert(0, os.path.abspath('..'))

project = 'JIM messenger, lesson Q2 L7'
author = 'the course "Client-server applications in Python"'
# The name Sphinx reads. pylint: disable-next=redefined-builtin
copyright = author

extensions = ['sphinx.ext.autodoc']

exclude_patterns = ['_build']
html_theme = 'alabaster'
autodoc_member_order = 'bysource'
