"""The course book: one page per stage, written from the stage folders at each docs build.

conf.py calls ``write_book`` when the build starts. Each page, ``book/<stage>/index.md``
(Markdown, read by myst-parser), holds the stage's README as it is, then what the lesson changes
against the stage before (the diff of tools/stagediff.py, the one ``nox -s diff`` prints: the
code first, the README and the tests folded), the stage's screenshots and its tests. The
folder ``book/`` is generated, never committed (.gitignore); a file is rewritten only when its
content changes, so that Sphinx rereads only the pages whose stage changed.
"""
from __future__ import annotations

import ast
import html
import re
import shutil
from pathlib import Path

from stagediff import FileChange, compare, render_stat
from stages import FEATURES, Stage, load_stages

BOOK = Path(__file__).resolve().parent / 'book'
# A relative Markdown link (not an image, an anchor or a URL), to turn into a source link:
# written as HTML, because myst-parser takes a relative Markdown link for a reference to a page.
RELATIVE_LINK = re.compile(r'(?<!!)\[([^\]]*)\]\((?![a-z][a-z0-9+.-]*:|#|/)([^)\s]+)\)')


def fence(text: str, language: str) -> str:
    """Return ``text`` as a fenced code block whose fence no line of it can close."""
    longest = max((len(run) for run in re.findall(r'`{3,}', text)), default=0)
    ticks = '`' * max(3, longest + 1)
    return f'{ticks}{language}\n{text.rstrip(chr(10))}\n{ticks}\n'


def folded(summary: str, body: str) -> str:
    """Return Markdown that HTML shows folded: ``summary`` visible, ``body`` on a click."""
    return f'<details>\n<summary>{summary}</summary>\n\n{body}\n</details>\n'


def counts(change: FileChange) -> str:
    """Return '+A −R' for a change, or 'binary'."""
    if change.binary:
        return 'binary'
    added, removed = change.counts
    return f'+{added} −{removed}'


def change_block(change: FileChange, before: str, after: str) -> str:
    """Return the diff of one file as a coloured block."""
    return fence(change.diff(before, after), 'diff')


def changes_section(stage: Stage, previous: Stage | None) -> str:
    """Return 'What the lesson changes': a table of files, then each diff, code first."""
    if previous is None:
        return whole_code_section(stage)
    changes = compare(previous.directory, stage.directory)
    out = ['## What the lesson changes', '',
           f'Against the stage before, {{doc}}`{previous.name} <../{previous.name}/index>` '
           f'({previous.lesson}). In a terminal: `nox -s diff -- {previous.name} {stage.name}` '
           '(`--code` for the code alone, `--stat` for the counts).', '',
           '| file | kind | lines |', '| --- | --- | --- |']
    out += [f'| `{change.label}` | {change.kind} | {counts(change)} |' for change in changes]
    out += ['', fence(render_stat(changes).splitlines()[-1].strip(), 'none')]
    code = [change for change in changes if change.kind == 'code']
    rest = [change for change in changes if change.kind != 'code']
    for change in code:
        out += [f'### `{change.label}` ({change.status}, {counts(change)})', '',
                change_block(change, previous.name, stage.name)]
    if rest:
        out += ['### README, settings and tests', '',
                'Folded: click a name to unfold its diff.', '']
        out += [folded(f'<code>{change.label}</code> ({change.status}, {counts(change)})',
                       change_block(change, previous.name, stage.name)) for change in rest]
    return '\n'.join(out) + '\n'


def whole_code_section(stage: Stage) -> str:
    """Return the code of the first stage in full: there is nothing before it to compare."""
    changes = compare(None, stage.directory)
    out = ['## Its code', '', 'The first stage: every file in full.', '']
    for change in changes:
        text = ''.join(change.after)
        language = 'python' if change.name.endswith('.py') else 'none'
        if change.kind == 'code':
            out += [f'### `{change.name}` ({len(change.after)} lines)', '', fence(text, language)]
        elif not change.binary:
            out.append(folded(f'<code>{change.name}</code> ({len(change.after)} lines)',
                              fence(text, language)))
    return '\n'.join(out) + '\n'


def screenshots_section(stage: Stage, path: Path) -> str:
    """Copy the stage's screenshots beside its page at ``path``; return a section showing them."""
    pictures = sorted((stage.directory / 'screenshots').glob('*.png'))
    if not pictures:
        return ''
    folder = path.parent / 'screenshots'
    folder.mkdir(parents=True, exist_ok=True)
    for picture in pictures:
        target = folder / picture.name
        if not target.exists() or target.read_bytes() != picture.read_bytes():
            shutil.copyfile(picture, target)
    out = ['## Screenshots', '',
           f'Drawn offscreen by `nox -s "screenshots({stage.name})"` from the stage\'s own '
           'windows.', '']
    for picture in pictures:
        out += [f'**{picture.stem.replace("_", " ")}**', '',
                f'![{picture.stem}](screenshots/{picture.name})', '']
    return '\n'.join(out)


def names_of_tests(path: Path) -> list[str]:
    """Return the tests of a test module: ``test_*`` functions and ``Class.test_*`` methods."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.name.startswith('test'):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            names += [f'{node.name}.{item.name}' for item in node.body
                      if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and item.name.startswith('test')]
    return names


def tests_section(stage: Stage, previous: Stage | None) -> str:
    """Return the stage's own tests by module, and the black-box features it declares."""
    out = ['## Tests', '']
    modules = sorted((stage.directory / 'tests').glob('test_*.py'))
    if modules:
        total = sum(len(names_of_tests(module)) for module in modules)
        out += ['### Its own tests', '',
                f'{total} tests in `tests/`, run from the stage folder with '
                '`python -m pytest tests`. Click a module to see its tests.', '']
        for module in modules:
            names = names_of_tests(module)
            out.append(folded(f'<code>tests/{module.name}</code>: {len(names)} tests',
                              '\n'.join(f'- `{name}`' for name in names) + '\n'))
    else:
        out += ['### Its own tests', '', 'None yet: tests come with lesson Q1 L4.', '']
    before = previous.features if previous else frozenset()
    out += ['### The black-box suite', '',
            f'The manifest, `stage.toml`, declares the features below; `nox -s "tests('
            f'{stage.name})"` runs the suite\'s tests of each (`tests/`) against the stage\'s '
            'server, and `nox -s check` runs them against a student\'s own.', '',
            '| feature | what the suite checks | |', '| --- | --- | --- |']
    out += [f'| `{name}` | {meaning} | {"new" if name not in before else ""} |'
            for name, meaning in FEATURES.items() if name in stage.features]
    return '\n'.join(out) + '\n'


def readme(stage: Stage, source_url: str) -> str:
    """Return the stage's README, its relative links pointing at the stage's source folder."""
    text = (stage.directory / 'README.md').read_text(encoding='utf-8')
    base = f'{source_url}lessons/{stage.name}/'
    return RELATIVE_LINK.sub(lambda match: source_link(f'{base}{match[2]}', match[1]), text)


def source_link(url: str, text: str) -> str:
    """Return an HTML link to a file or folder of the repository (see RELATIVE_LINK)."""
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


def page_text(stage: Stage, previous: Stage | None, source_url: str) -> str:
    """Return the Markdown of one stage's page (screenshots are copied by write_book)."""
    return '\n'.join([
        readme(stage, source_url).rstrip('\n'), '',
        f'*Stage `{stage.name}`, lesson {stage.lesson}: {stage.title}. '
        f'{source_link(f"{source_url}lessons/{stage.name}/", "Its folder")}.*', '',
        changes_section(stage, previous)])


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it holds it already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding='utf-8') != text:
        path.write_text(text, encoding='utf-8')


def write_book(source_url: str, book: Path = BOOK) -> list[str]:
    """Write every stage's page into ``book``; return their document names, in course order.

    ``source_url`` is the root of the repository as seen from the site's top folder; the pages
    are two folders deeper, so a relative one is made relative to them.
    """
    if '://' not in source_url and not source_url.startswith('/'):
        source_url = '../../' + source_url
    stages = load_stages()
    names = []
    for previous, stage in zip([None, *stages], stages):
        path = book / stage.name / 'index.md'
        text = page_text(stage, previous, source_url)
        shots = screenshots_section(stage, path)
        write_if_changed(path, '\n'.join(filter(None, [text, shots,
                                                       tests_section(stage, previous)])))
        names.append(f'book/{stage.name}/index')
    for folder in book.iterdir():
        if folder.name not in {stage.name for stage in stages}:
            shutil.rmtree(folder)           # a stage that is no more
    return names
