"""Sphinx configuration of the JIM messenger's documentation (``nox -s docs``).

The three distributions of final/ are installed in the docs session (with the ``gui`` extra,
so autodoc imports the PyQt5 windows for real). Nothing is fetched from the network: no
intersphinx. The course book (``book/``, one Markdown page per stage, read by myst-parser) is
written from the stage folders when the build starts (coursebook.py). The chapter "From the
course to final/" shows the code of one stage (COURSE_STAGE) beside final/'s, read from the
files at each build (the directives course-include, final-include and course-final-map).
"""
from __future__ import annotations

# Sphinx reads its settings from these lowercase module names. pylint: disable=invalid-name

import os
import sys
import typing
from pathlib import Path

# Sphinx and docutils are installed where the documentation is built, not where it is linted.
# pylint: disable=import-error
from docutils import nodes
from sphinx.directives.code import LiteralInclude
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective
# pylint: enable=import-error

import jim

ROOT = Path(__file__).resolve().parents[2]      # the repository: final/docs/../..
# The manifests' reader is the one the noxfile and the black-box suite use, the stage diff the
# one of nox -s diff; the book's writer is beside this file.
sys.path[:0] = [str(ROOT / 'tests'), str(ROOT / 'tools'), str(Path(__file__).resolve().parent)]
# pylint: disable=wrong-import-position
from stages import FEATURES, load_stages  # noqa: E402
from coursebook import write_book  # noqa: E402
from stagediff import render_final_map  # noqa: E402
# pylint: enable=wrong-import-position

# The course stage that "From the course to final/" (course-to-final.rst) and the lesson map
# set beside final/: a folder under lessons/. It is named here only, so that the chapter can
# be pointed at another stage (the course's last, q2_l08_packaging) by changing this line. The
# chapter names the stage's files by their file names (``course-include``), which are found
# wherever they are in the folder, so a stage split into server/ and client/ needs no other
# edit; a name found in copies that differ stops the build and says where they are.
COURSE_STAGE = 'q2_l08_packaging'
COURSE = ROOT / 'lessons' / COURSE_STAGE
DOCS = Path(__file__).resolve().parent
# |course-stage| in any page: the stage's name, linked to its folder.
rst_prolog = f'.. |course-stage| replace:: :stage:`{COURSE_STAGE}`\n'

project = 'JIM messenger'
author = 'the course "Client-server applications in Python"'
copyright = author      # pylint: disable=redefined-builtin  # Sphinx's name
version = release = jim.__version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.extlinks',
    'sphinx.ext.napoleon',
]

exclude_patterns = ['_build', 'screenshots.py', 'README.md', 'requirements.txt', '.venv',
                    'bench-latest.md']
# The book's pages are Markdown: the stages' READMEs are, and are shown as they are.
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
html_theme = 'alabaster'
html_title = f'JIM messenger {release}'
html_theme_options = {
    'description': 'JSON Instant Messaging: server, console client and window',
    'fixed_sidebar': True,
    # Wide enough for a 99-character line of code beside the sidebar (the book's diffs).
    'page_width': '1240px',
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
    lines = ['.. list-table::', '   :header-rows: 1', '   :widths: 22 8 8 40 22', '',
             '   * - stage (folder)', '     - lesson', '     - book', '     - what it adds',
             '     - protocol features']
    for stage in load_stages():
        features = [name for name in FEATURES if name in stage.features]
        lines += [f'   * - :stage:`{stage.name}`', f'     - {stage.lesson}',
                  f'     - :doc:`page <book/{stage.name}/index>`',
                  f'     - {stage.title}', '     - ' + ', '.join(f'``{n}``' for n in features)]
    return '\n'.join(lines) + '\n'


def insert_lessons_table(_app, docname: str, source: list[str]) -> None:
    """Replace the marker lines of lessons.rst and book.rst with the generated table and list."""
    if docname == 'lessons' and TABLE_MARKER in source[0]:
        source[0] = source[0].replace(TABLE_MARKER, lessons_table(), 1)
    if docname == 'book' and BOOK_MARKER in source[0]:
        source[0] = source[0].replace(BOOK_MARKER, book_toctree(), 1)


# The list of the book's pages (book.rst): the line ``.. book-toctree`` is replaced by it.
BOOK_MARKER = '.. book-toctree'


def book_toctree() -> str:
    """Return the toctree of the book's pages, in course order."""
    pages = [f'   book/{stage.name}/index' for stage in load_stages()]
    return '\n'.join(['.. toctree::', '   :maxdepth: 1', '', *pages]) + '\n'


def write_course_book(_app) -> None:  # type: ignore[no-untyped-def]
    """Write the book's pages from the stage folders before Sphinx reads the sources."""
    write_book(SOURCE_URL)


def always_reread_lessons(_app, _env, _added, _changed, _removed) -> list[str]:
    """Read lessons.rst and book.rst again at every build: they are made from the manifests;
    and the course chapter, whose map is made from the stage's files."""
    return ['lessons', 'book', 'course-to-final']


def course_file(name: str) -> Path:
    """Return the file of the course stage that ``name`` names.

    ``name`` is a path in the stage's folder (``protocol.py``) or, when there is no such file,
    the name of one file anywhere in it, tests left out; folders given with it must be among
    its folders (``server/protocol.py`` finds ``server/jim_server/protocol.py``). Copies of
    one file with the same content count once. Anything else is an error that lists what
    was found, never a guess.
    """
    wanted = Path(name)
    if (COURSE / wanted).is_file():
        return COURSE / wanted
    found = sorted(path for path in COURSE.rglob(wanted.name) if path.is_file()
                   and not {'tests', '__pycache__'} & set(path.relative_to(COURSE).parts)
                   and set(wanted.parts[:-1]) <= set(path.relative_to(COURSE).parts[:-1]))
    if len({path.read_bytes() for path in found}) == 1:
        return found[0]
    where = ', '.join(str(path.relative_to(COURSE)) for path in found) or 'none'
    raise ExtensionError(f'course-include: {name!r} in lessons/{COURSE_STAGE}/ is ambiguous '
                         f'or missing (found: {where}); name its folder too')


class CodeInclude(LiteralInclude):
    """``literalinclude`` of a file of final/ (``final-include``) or of the course stage
    (``course-include``), captioned with its path in the repository and the object shown."""

    def resolve(self, name: str) -> Path:
        """Return the file that the directive's argument names."""
        return (ROOT / 'final' / name).resolve()

    def run(self) -> list[nodes.Node]:
        """Point literalinclude at the file, with its language and caption."""
        try:
            path = self.resolve(self.arguments[0])
        except ExtensionError as err:
            raise self.error(str(err)) from None
        # A leading '/' is the documentation's folder for literalinclude.
        self.arguments[0] = '/' + os.path.relpath(path, DOCS)
        language = {'.py': 'python', '.toml': 'toml'}.get(path.suffix, 'none')
        self.options.setdefault('language', language)
        if 'caption' not in self.options:
            shown = self.options.get('pyobject')
            self.options['caption'] = f'``{path.relative_to(ROOT).as_posix()}``' + \
                (f' · ``{shown}``' if shown else '')
        return super().run()


class CourseInclude(CodeInclude):
    """``literalinclude`` of a file of the course stage, named as ``course_file`` takes it."""

    def resolve(self, name: str) -> Path:
        """Return the course stage's file that ``name`` names; ``A | B``: the first of A and B
        that the stage has (a packaged stage's ``server/setup.py``, an earlier one's
        ``requirements.txt``)."""
        *choices, last = [choice.strip() for choice in name.split('|')]
        for choice in choices:
            try:
                return course_file(choice)
            except ExtensionError:
                continue
        return course_file(last)


class CourseFinalMap(SphinxDirective):
    """``.. course-final-map::``: where the course stage's files went in final/, and their
    sizes (what ``nox -s diff -- STAGE final`` prints, without its header)."""

    def run(self) -> list[nodes.Node]:
        """Return the map as a literal block."""
        text = render_final_map(COURSE, header=False)
        return [nodes.literal_block(text, text)]


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
    """Connect the book's writer, the table generator and the annotation fix; add the
    directives of the course chapter."""
    app.connect('builder-inited', write_course_book)
    app.connect('autodoc-before-process-signature', evaluate_init_hints)
    app.connect('source-read', insert_lessons_table)
    app.connect('env-get-outdated', always_reread_lessons)
    app.add_directive('final-include', CodeInclude)
    app.add_directive('course-include', CourseInclude)
    app.add_directive('course-final-map', CourseFinalMap)
