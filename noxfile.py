"""Sessions of the course monorepo.

``nox -s tests`` tests every stage (one session per stage: ``nox -s "tests(q1_l03_jim)"``);
``nox -s diff -- q1_l07_select q1_l08_threads`` shows what one lesson adds;
``nox -s screenshots`` redraws the PNGs of every window that the GUI stages' READMEs show;
``nox -s bench`` prints the performance figures of final/.
"""
from __future__ import annotations

import difflib
import subprocess
import sys
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / 'tests'))
from stages import LESSONS, load_stages  # noqa: E402  pylint: disable=wrong-import-position

nox.options.default_venv_backend = 'uv|virtualenv'
nox.options.sessions = ['tests']
nox.options.error_on_missing_interpreters = False

STAGES = [stage.name for stage in load_stages()]
# The distributions of final/, in the order they depend on each other.
FINAL = [f'final/{name}' for name in ('protocol', 'server', 'client')
         if (ROOT / 'final' / name / 'pyproject.toml').is_file()]
GUI_STAGES = [name for name in STAGES if (LESSONS / name / 'screenshots.py').exists()]
DOCS = ROOT / 'final' / 'docs'
# What pylint checks: the code of final/ and the black-box suite (lessons keep the course's style).
LINTED = ['tests', 'final/docs', *[f'{name}/{part}' for name in FINAL
                                   for part in ('src', 'tests', 'bench')
                                   if (ROOT / name / part).is_dir()]]
BUILD = ROOT / 'build'          # everything sessions make: docs, dist, frozen executables
# Files a stage diff never shows.
DIFF_IGNORED = {'__pycache__', '.pytest_cache', 'screenshots'}


@nox.session
@nox.parametrize('stage', [*STAGES, 'final'], ids=[*STAGES, 'final'])
def tests(session: nox.Session, stage: str) -> None:
    """Test one stage, or final/: its own tests, then the black-box suite against its server."""
    session.env['UV_COMPILE_BYTECODE'] = '1'
    session.env['QT_QPA_PLATFORM'] = 'offscreen'
    session.install('-r', str(ROOT / 'tests' / 'requirements.txt'))
    if stage == 'final':
        test_final(session)
        return
    directory = LESSONS / stage
    if (directory / 'requirements.txt').is_file():
        session.install('-r', str(directory / 'requirements.txt'))
    if (directory / 'tests').is_dir():
        with session.chdir(directory):
            session.run('python', '-m', 'pytest', 'tests', *session.posargs)
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'tests', '--stage', stage, *session.posargs)


@nox.session
@nox.parametrize('stage', [*GUI_STAGES, 'final'], ids=[*GUI_STAGES, 'final'])
def screenshots(session: nox.Session, stage: str) -> None:
    """Save PNGs of a GUI stage's windows, drawn offscreen, into its screenshots/ folder.

    ``final`` draws the windows of final/ into the documentation's screenshots/ folder.
    """
    session.env['QT_QPA_PLATFORM'] = 'offscreen'
    if stage == 'final':
        install_final(session, extras='gui')
        directory = DOCS
    else:
        directory = LESSONS / stage
        session.install('-r', str(directory / 'requirements.txt'))
    with session.chdir(directory):
        session.run('python', 'screenshots.py', 'screenshots')


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx documentation of final/ into build/docs/html; a warning is an error."""
    install_final(session, extras='gui')
    session.install('-r', str(DOCS / 'requirements.txt'))
    session.run('sphinx-build', '-W', '--keep-going', '-q', '-b', 'html', str(DOCS),
                str(BUILD / 'docs' / 'html'))


@nox.session
def lint(session: nox.Session) -> None:
    """pylint on final/ and tests/ (settings in pyproject.toml), autopep8 on every Python file."""
    install_final(session, extras='gui,test')
    session.install('-r', str(ROOT / 'tests' / 'requirements.txt'), 'nox', 'pylint~=4.1',
                    'autopep8~=2.3')
    session.run('pylint', *LINTED, 'noxfile.py')
    session.run('autopep8', '--diff', '--exit-code', '--recursive', 'final', 'lessons', 'tests',
                'noxfile.py')


@nox.session
def bench(session: nox.Session) -> None:
    """Print performance figures of final/ (never a pass or fail on a time)."""
    install_final(session)
    for script in sorted((ROOT / 'final').glob('*/bench/*.py')):
        session.run('python', str(script))


def install_final(session: nox.Session, extras: str = '') -> None:
    """Install the final/ distributions (they depend on each other), editable, with extras."""
    session.env['UV_COMPILE_BYTECODE'] = '1'
    session.install(*[arg for name in FINAL for arg in ('-e', with_extras(name, extras))])


def with_extras(name: str, extras: str) -> str:
    """Return the path of a final/ distribution with those of the extras it declares."""
    pyproject = tomllib.loads((ROOT / name / 'pyproject.toml').read_text(encoding='utf-8'))
    declared = pyproject['project'].get('optional-dependencies', {})
    wanted = [extra for extra in extras.split(',') if extra in declared]
    return f'{ROOT / name}[{",".join(wanted)}]' if wanted else str(ROOT / name)


def test_final(session: nox.Session) -> None:
    """Install the final/ distributions together (they depend on each other), test each."""
    install_final(session, extras='test')
    for name in FINAL:
        session.run('python', '-m', 'pytest', str(ROOT / name / 'tests'), *session.posargs)
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'tests', '--stage', 'final', *session.posargs)


def stage_files(directory: Path) -> dict[str, Path]:
    """Return the files of a stage that git would keep, by their path inside it."""
    listed = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
                            cwd=directory, capture_output=True, text=True, check=True).stdout
    return {name: directory / name for name in sorted(listed.splitlines())
            if (directory / name).is_file() and not DIFF_IGNORED & set(Path(name).parts)}


@nox.session(venv_backend='none')
def diff(session: nox.Session) -> None:
    """Print the unified diff between two stages: ``nox -s diff -- OLD NEW``."""
    if len(session.posargs) != 2:
        session.error('usage: nox -s diff -- OLD_STAGE NEW_STAGE')
    old, new = (LESSONS / name for name in session.posargs)
    for directory in (old, new):
        if not directory.is_dir():
            session.error(f'no stage {directory.name}; stages: {", ".join(STAGES)}')
    old_files, new_files = stage_files(old), stage_files(new)
    for name in sorted(old_files.keys() | new_files.keys()):
        try:
            before = text_lines(old_files.get(name))
            after = text_lines(new_files.get(name))
        except UnicodeDecodeError:
            print(f'Binary files {old.name}/{name} and {new.name}/{name} differ')
            continue
        sys.stdout.writelines(difflib.unified_diff(
            before, after, f'{old.name}/{name}' if before else '/dev/null',
            f'{new.name}/{name}' if after else '/dev/null'))


def text_lines(path: Path | None) -> list[str]:
    """Return the lines of a text file (none for a missing one)."""
    return path.read_text(encoding='utf-8').splitlines(True) if path else []
