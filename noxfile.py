"""Sessions of the course monorepo.

``nox -s tests`` tests every stage (one session per stage: ``nox -s "tests(q1_l03_jim)"``);
``nox -s diff -- q1_l07_select q1_l08_threads`` shows what one lesson adds;
``nox -s screenshots`` redraws the PNGs of every window that the GUI stages' READMEs show;
``nox -s bench`` prints the performance figures of final/.
"""
from __future__ import annotations

import difflib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
# The manifests' reader, stages.py, lives in tests/: it is imported once tests/ is on the path.
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
LINTED = ['noxfile.py', 'tests', 'final/tests', 'final/docs', 'final/freeze',
          *[str(path.relative_to(ROOT)) for part in ('src', 'tests', 'bench')
            for path in sorted(ROOT.glob(f'final/*/{part}'))]]
BUILD = ROOT / 'build'          # everything sessions make: docs, dist, frozen executables
DIST = BUILD / 'dist'           # wheels and sdists of final/ (nox -s build)
FROZEN = BUILD / 'frozen'       # cx_Freeze executables (nox -s freeze)
# What `nox -s tests` checks besides the stages (see tests()).
CHECKS = ['final', 'docs', 'lint', 'packaging']
# Files a stage diff never shows.
DIFF_IGNORED = {'__pycache__', '.pytest_cache', 'screenshots'}


@nox.session
@nox.parametrize('stage', [*STAGES, *CHECKS], ids=[*STAGES, *CHECKS])
def tests(session: nox.Session, stage: str) -> None:
    """Test a stage (its tests, then the black-box suite), or final/, docs, lint, packaging.

    ``final``: the tests of each final/ distribution, then the black-box suite against it;
    ``docs``: the documentation builds without a warning; ``lint``: pylint and autopep8 are
    clean; ``packaging``: the built wheels, the frozen executables and a package index
    published to with ``nox -s publish`` each give a working messenger.
    """
    session.env['UV_COMPILE_BYTECODE'] = '1'
    session.env['QT_QPA_PLATFORM'] = 'offscreen'
    session.install('-r', str(ROOT / 'tests' / 'requirements.txt'))
    if stage in CHECKS:
        RUN_CHECK[stage](session)
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
    build_docs(session)


def build_docs(session: nox.Session) -> None:
    """Build the documentation (Sphinx, warnings as errors)."""
    install_final(session, extras='gui')
    session.install('-r', str(DOCS / 'requirements.txt'))
    session.run('sphinx-build', '-W', '--keep-going', '-q', '-b', 'html', str(DOCS),
                str(BUILD / 'docs' / 'html'))


@nox.session
def lint(session: nox.Session) -> None:
    """pylint on final/ and tests/ (settings in pyproject.toml), autopep8 on every Python file."""
    run_lint(session)


def run_lint(session: nox.Session) -> None:
    """Run pylint and autopep8; either fails the session on a finding."""
    install_final(session, extras='gui,test')
    session.install('-r', str(ROOT / 'tests' / 'requirements.txt'), 'nox', 'pylint~=4.1',
                    'autopep8~=2.3', 'cx_Freeze~=8.0', *PACKAGING_TEST_REQUIREMENTS)
    session.run('pylint', *LINTED)
    session.run('autopep8', '--diff', '--exit-code', '--recursive', 'final', 'lessons', 'tests',
                'noxfile.py')


@nox.session
def build(session: nox.Session) -> None:
    """Build a wheel and an sdist of each final/ distribution into build/dist; twine check."""
    build_distributions(session)


@nox.session
def freeze(session: nox.Session) -> None:
    """Freeze the server and the clients, installed from build/dist, into build/frozen."""
    if not list(DIST.glob('*.whl')):
        build_distributions(session)
    freeze_executables(session)


@nox.session
def publish(session: nox.Session) -> None:
    """Upload build/dist with twine: ``nox -s publish -- URL [FOLDER]``.

    The account comes from TWINE_USERNAME and TWINE_PASSWORD (or twine asks).
    """
    if not 1 <= len(session.posargs) <= 2:
        session.error('usage: nox -s publish -- INDEX_UPLOAD_URL [FOLDER_OF_DISTRIBUTIONS]')
    folder = Path(session.posargs[1]) if len(session.posargs) == 2 else DIST
    files = sorted(str(path) for path in folder.glob('*') if path.suffix in ('.whl', '.gz'))
    if not files:
        session.error(f'nothing to upload in {folder}: run nox -s build first')
    session.install('twine')
    session.run('twine', 'upload', '--non-interactive', '--repository-url', session.posargs[0],
                *files)


@nox.session
def bench(session: nox.Session) -> None:
    """Print performance figures of final/ (never a pass or fail on a time)."""
    install_final(session)
    for script in sorted((ROOT / 'final').glob('*/bench/*.py')):
        session.run('python', str(script))


def build_distributions(session: nox.Session) -> None:
    """Build every final/ distribution (sdist, then the wheel from it) into DIST; check them."""
    session.install('build[uv]', 'twine')
    shutil.rmtree(DIST, ignore_errors=True)
    for name in FINAL:
        session.run('python', '-m', 'build', '--installer', 'uv', '--outdir', str(DIST),
                    str(ROOT / name))
    session.run('twine', 'check', '--strict', *sorted(str(path) for path in DIST.iterdir()))


def freeze_executables(session: nox.Session) -> None:
    """Install the built wheels (not the source tree) and freeze them into FROZEN."""
    wheels = {path.name.split('-')[0]: path for path in DIST.glob('*.whl')}
    session.install(str(wheels['jim_protocol']), str(wheels['jim_server']),
                    f'{wheels["jim_client"]}[gui]', 'cx_Freeze~=8.0')
    shutil.rmtree(FROZEN, ignore_errors=True)
    session.run('python', str(ROOT / 'final' / 'freeze' / 'freeze.py'), 'build_exe',
                '--build-exe', str(FROZEN), '--silent')


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


def test_packaging(session: nox.Session) -> None:
    """Build, freeze, then test the wheels, the executables and publishing (final/tests)."""
    build_distributions(session)
    freeze_executables(session)
    session.install(*PACKAGING_TEST_REQUIREMENTS)
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'final/tests', '--dist', str(DIST), '--frozen',
                    str(FROZEN), *session.posargs)


# What final/tests needs: a local package index, nox to publish to it, uv for fresh venvs.
PACKAGING_TEST_REQUIREMENTS = ['pytest>=8', 'pypiserver>=2', 'passlib>=1.7', 'nox', 'uv']
RUN_CHECK = {'final': test_final, 'docs': build_docs, 'lint': run_lint,
             'packaging': test_packaging}


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
