"""Sphinx configuration of the JIM messenger's documentation (``nox -s docs``).

The three distributions of final/ are installed in the docs session (with the ``gui`` extra,
so autodoc imports the PyQt5 windows for real). Nothing is fetched from the network: no
intersphinx.
"""
from __future__ import annotations

# Sphinx reads its settings from these lowercase module names. pylint: disable=invalid-name

import os
import sys
import typing
from pathlib import Path

import jim

ROOT = Path(__file__).resolve().parents[2]      # the repository: final/docs/../..
# The manifests' reader is the one the noxfile and the black-box suite use.
sys.path.insert(0, str(ROOT / 'tests'))
from stages import FEATURES, load_stages  # noqa: E402  pylint: disable=wrong-import-position

project = 'JIM messenger'
author = 'the course "Client-server applications in Python"'
copyright = author      # pylint: disable=redefined-builtin  # Sphinx's name
version = release = jim.__version__

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.extlinks',
    'sphinx.ext.napoleon',
]

exclude_patterns = ['_build', 'screenshots.py', 'README.md', 'requirements.txt', '.venv']
html_theme = 'alabaster'
html_title = f'JIM messenger {release}'
html_theme_options = {
    'description': 'JSON Instant Messaging: server, console client and window',
    'fixed_sidebar': True,
    'page_width': '1100px',
    'sidebar_width': '230px',
}
nitpicky = False
highlight_language = 'none'

autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_default_options = {'show-inheritance': True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Links to the stage folders of the repository. The built pages live in build/docs/html/, three
# folders below the repository root, so by default a link is relative to that root and works
# in a checkout (file://...). Set JIM_SOURCE_URL to the root of the repository as served on the
# web (ending in '/', e.g. a forge's 'tree/main/' address) to link there instead.
SOURCE_URL = os.environ.get('JIM_SOURCE_URL', '../../../')
extlinks = {'stage': (SOURCE_URL + 'lessons/%s/', '%s')}


# The lesson table (lessons.rst) is made here, at build time, from the stage manifests
# (lessons/*/stage.toml), so that it cannot go stale: the line ``.. lessons-table`` of
# lessons.rst is replaced by it when Sphinx reads that page.
TABLE_MARKER = '.. lessons-table'


def lessons_table() -> str:
    """Return the reStructuredText list-table of every stage."""
    lines = ['.. list-table::', '   :header-rows: 1', '   :widths: 22 8 45 25', '',
             '   * - stage (folder)', '     - lesson', '     - what it adds',
             '     - protocol features']
    for stage in load_stages():
        features = [name for name in FEATURES if name in stage.features]
        lines += [f'   * - :stage:`{stage.name}`', f'     - {stage.lesson}',
                  f'     - {stage.title}', '     - ' + ', '.join(f'``{n}``' for n in features)]
    return '\n'.join(lines) + '\n'


def insert_lessons_table(_app, docname: str, source: list[str]) -> None:
    """Replace the marker line of lessons.rst with the generated table."""
    if docname == 'lessons' and TABLE_MARKER in source[0]:
        source[0] = source[0].replace(TABLE_MARKER, lessons_table(), 1)


def always_reread_lessons(_app, _env, _added, _changed, _removed) -> list[str]:
    """Read lessons.rst again at every build: the manifests may have changed, it may not."""
    return ['lessons']


def evaluate_init_hints(_app, obj, _bound_method) -> None:  # type: ignore[no-untyped-def]
    """Evaluate the string annotations of an ``__init__`` in its own module.

    The modules use ``from __future__ import annotations``; autodoc evaluates a class's hints
    from the class, not from its ``__init__``, and would leave ``Connection`` unqualified
    (two classes have that name: jim_server.engine's and jim_client.connection's).
    """
    if getattr(obj, '__name__', '') == '__init__' and hasattr(obj, '__annotations__'):
        try:
            obj.__annotations__ = typing.get_type_hints(obj)
        except Exception:  # pylint: disable=broad-except  # leave it to autodoc
            pass


def setup(app) -> None:  # type: ignore[no-untyped-def]
    """Connect the table generator and the annotation fix."""
    app.connect('autodoc-before-process-signature', evaluate_init_hints)
    app.connect('source-read', insert_lessons_table)
    app.connect('env-get-outdated', always_reread_lessons)
