"""Sessions of the course monorepo.

``nox -s tests`` tests every stage (one session per stage: ``nox -s "tests(q1_l03_jim)"``);
``nox -s diff -- q1_l07_select q1_l08_threads`` shows what one lesson adds (``--code``,
``--stat``);
``nox -s check -- PATH [--as STAGE]`` runs the black-box suite against a student's own server;
``nox -s fuzz`` fuzzes every server with 20,000 examples (``nox -s "fuzz(q2_l06_auth)"``);
``nox -s screenshots`` redraws the PNGs of every window that the GUI stages' READMEs show;
``nox -s bench`` prints the performance figures of final/.
"""
from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
# The manifests' reader, stages.py, lives in tests/, the stage diff in tools/: each is imported
# once its folder is on the path.
sys.path[:0] = [str(ROOT / 'tests'), str(ROOT / 'tools')]
# pylint: disable-next=wrong-import-position
from stages import LESSONS, load_stages  # noqa: E402
import stagediff  # noqa: E402  pylint: disable=wrong-import-position
from checkreport import check_arguments  # noqa: E402  pylint: disable=wrong-import-position

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
LINTED = ['noxfile.py', 'tests', 'tools', 'final/tests', 'final/docs', 'final/freeze',
          *[str(path.relative_to(ROOT)) for part in ('src', 'tests', 'bench')
            for path in sorted(ROOT.glob(f'final/*/{part}'))]]
BUILD = ROOT / 'build'          # everything sessions make: docs, dist, frozen executables
DIST = BUILD / 'dist'           # wheels and sdists of final/ (nox -s build)
FROZEN = BUILD / 'frozen'       # cx_Freeze executables (nox -s freeze)
# What `nox -s tests` checks besides the stages (see tests()).
CHECKS = ['final', 'docs', 'lint', 'packaging', 'tools']
# Tests that start a server each and mostly wait for it run on every core (pytest-xdist):
# the black-box suite, final/server's, and a stage's own where its manifest asks ([tests]
# parallel). ``-- -n 0`` runs them in one process.
PARALLEL = ['--numprocesses', 'auto', '--maxprocesses', '4']
# Examples the fuzzer sends each server in `nox -s fuzz` (`nox -s tests` sends 200).
FUZZ_EXAMPLES = 20_000


@nox.session
@nox.parametrize('stage', [*STAGES, *CHECKS], ids=[*STAGES, *CHECKS])
def tests(session: nox.Session, stage: str) -> None:
    """Test a stage (its tests, then the black-box suite), or final/ and the other checks.

    ``final``: the tests of each final/ distribution, then the black-box suite against it;
    ``docs``: the documentation builds without a warning; ``lint``: pylint, mypy and autopep8 are
    clean; ``packaging``: the built wheels, the frozen executables and a package index
    published to with ``nox -s publish`` each give a working messenger; ``tools``: the
    repository's own tools (tools/tests): the stage diff, and ``nox -s check``.
    """
    install_suite(session)
    if stage in CHECKS:
        RUN_CHECK[stage](session)
        return
    directory = LESSONS / stage
    install_stage(session, stage)
    if (directory / 'tests').is_dir():
        parallel = PARALLEL if own_tests_in_parallel(directory) else []
        with session.chdir(directory):
            session.run('python', '-m', 'pytest', 'tests', *parallel, *session.posargs)
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'tests', '--stage', stage, *PARALLEL,
                    *session.posargs)


@nox.session
@nox.parametrize('stage', [*STAGES, 'final'], ids=[*STAGES, 'final'])
def fuzz(session: nox.Session, stage: str) -> None:
    """Fuzz a stage's server (or final/'s) long: tests/test_fuzz.py with FUZZ_EXAMPLES examples.

    ``nox -s tests`` runs the same test with 200 examples.
    """
    install_suite(session)
    install_stage(session, stage)
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'tests/test_fuzz.py', '--stage', stage,
                    '--fuzz-examples', str(FUZZ_EXAMPLES), '--hypothesis-show-statistics',
                    *session.posargs)


def own_tests_in_parallel(directory: Path) -> bool:
    """Tell whether a stage's manifest asks for its own tests on every core ([tests] parallel)."""
    with open(directory / 'stage.toml', 'rb') as file:
        return bool(tomllib.load(file).get('tests', {}).get('parallel', False))


def install_suite(session: nox.Session) -> None:
    """Install what the black-box suite needs."""
    session.env['UV_COMPILE_BYTECODE'] = '1'
    session.env['QT_QPA_PLATFORM'] = 'offscreen'
    session.install('-r', str(ROOT / 'tests' / 'requirements.txt'))


def install_stage(session: nox.Session, stage: str) -> None:
    """Install what a stage's server needs: its requirements, or the final/ distributions."""
    if stage == 'final':
        install_final(session)
    elif (LESSONS / stage / 'requirements.txt').is_file():
        session.install('-r', str(LESSONS / stage / 'requirements.txt'))


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
def check(session: nox.Session) -> None:
    """Check your own server with the black-box suite: ``nox -s check -- PATH [--as STAGE]``.

    PATH is your stage folder: its server.py, and a stage.toml copied from the lesson you follow
    (or name that lesson with ``--as STAGE`` and its manifest is used). The report says, per
    protocol feature, what passed and what failed, with the messages sent and received. Any
    other argument goes to pytest (``-k "words of a test name"``).
    """
    args = list(session.posargs)
    as_stage = None
    if '--as' in args:
        at = args.index('--as')
        if at + 1 >= len(args):
            session.error('--as needs the name of a lesson, e.g. --as q1_l08_threads')
        as_stage = args.pop(at + 1)
        args.pop(at)
    # The folder: the first argument that is neither an option nor the value of -k or -m.
    paths = [at for at, arg in enumerate(args)
             if not arg.startswith('-') and (at == 0 or args[at - 1] not in ('-k', '-m'))]
    if not paths:
        session.error('usage: nox -s check -- PATH_TO_YOUR_STAGE_FOLDER [--as STAGE]')
    folder = (Path(session.invoked_from) / args.pop(paths[0])).resolve()
    install_suite(session)
    for requirements in (folder / 'requirements.txt',
                         LESSONS / (as_stage or '-') / 'requirements.txt'):
        if requirements.is_file():
            session.install('-r', str(requirements))
            break
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'tests', *check_arguments(folder, as_stage), *args)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx documentation of final/ into build/docs/html; a warning is an error."""
    build_docs(session)


def build_docs(session: nox.Session) -> None:
    """Build the documentation (Sphinx, warnings as errors)."""
    install_final(session, extras='gui,postgresql')
    session.install('-r', str(DOCS / 'requirements.txt'))
    session.run('sphinx-build', '-W', '--keep-going', '-q', '-b', 'html', str(DOCS),
                str(BUILD / 'docs' / 'html'))


@nox.session
def lint(session: nox.Session) -> None:
    """pylint on final/, tests/ and tools/ (settings in pyproject.toml), mypy --strict on
    final/'s sources, autopep8 on all Python."""
    run_lint(session)


def run_lint(session: nox.Session) -> None:
    """Run pylint, mypy and autopep8; any of them fails the session on a finding."""
    install_final(session, extras='gui,postgresql', group='test')
    session.install('-r', str(ROOT / 'tests' / 'requirements.txt'), 'nox', 'pylint~=4.1',
                    'autopep8~=2.3', 'cx_Freeze~=8.0', 'mypy~=1.15', *PACKAGING_TEST_REQUIREMENTS)
    session.run('pylint', '--jobs', '2', *LINTED)
    session.run('mypy', '--strict', *[str(path) for path in sorted(ROOT.glob('final/*/src'))])
    session.run('autopep8', '--diff', '--exit-code', '--recursive', 'final', 'lessons', 'tests',
                'tools', 'noxfile.py')


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
def delivery(session: nox.Session) -> None:
    """Count lost and duplicated messages over many runs: ``nox -s delivery -- [RUNS]``.

    Each run kills the server under load (SIGKILL, SIGTERM), a recipient between receive
    and display, fills a backlog of 12x the output limit, and stalls a reader until it is cut
    off; every run prints what was acknowledged, shown, lost and shown twice (default 20).
    """
    install_final(session, group='test')
    session.env['JIM_DELIVERY_RUNS'] = session.posargs[0] if session.posargs else '20'
    session.run('python', '-m', 'pytest', '-q', '-s',
                str(ROOT / 'final' / 'client' / 'tests' / 'test_delivery.py'))


@nox.session
def cluster(session: nox.Session) -> None:
    """Run the cluster tests that count many times: ``nox -s cluster -- [RUNS]`` (20).

    Several jim-server nodes on the machine's PostgreSQL (final/server/tests/
    test_cluster.py): a login during a flood from another node, and two nodes writing to
    one user, each run counting that everything arrived once, in order.
    """
    install_final(session, extras='postgresql', group='test')
    session.env['JIM_CLUSTER_RUNS'] = session.posargs[0] if session.posargs else '20'
    session.run('python', '-m', 'pytest', '-q', '-k', 'flood or two_nodes_to_one',
                str(ROOT / 'final' / 'server' / 'tests' / 'test_cluster.py'))


@nox.session
def bench(session: nox.Session) -> None:
    """Print performance figures of final/ (never a pass or fail on a time).

    jim-server is measured beside a bare relay and miniircd (the ``bench`` group of
    final/server); the table also goes to build/bench.md. Arguments go to
    bench_server.py: ``nox -s bench -- --rounds 2``. With ``--nodes 1,2,3``, the cluster
    is measured instead (bench_nodes.py: one to three nodes on PostgreSQL).
    """
    install_final(session, extras='postgresql', group='bench')
    bench_folder = ROOT / 'final' / 'server' / 'bench'
    if '--nodes' in ' '.join(session.posargs):
        session.run('python', str(bench_folder / 'bench_nodes.py'), *session.posargs)
        return
    session.run('python', str(ROOT / 'final' / 'protocol' / 'bench' / 'bench_framing.py'))
    session.run('python', str(bench_folder / 'bench_server.py'), *session.posargs)


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


def install_final(session: nox.Session, extras: str = '', group: str = '') -> None:
    """Install the final/ distributions (they depend on each other), editable, with extras,
    and a dependency group of each (``test``)."""
    session.env['UV_COMPILE_BYTECODE'] = '1'
    groups = [arg for name in FINAL if group in declared(name, 'dependency-groups')
              for arg in ('--group', f'{ROOT / name}/pyproject.toml:{group}')]
    session.install(*[arg for name in FINAL for arg in ('-e', with_extras(name, extras))],
                    *groups)


def declared(name: str, table: str) -> dict[str, list[str]]:
    """Return the extras (``optional-dependencies``) or the ``dependency-groups`` that the
    pyproject.toml of a final/ distribution declares."""
    pyproject = tomllib.loads((ROOT / name / 'pyproject.toml').read_text(encoding='utf-8'))
    if table == 'dependency-groups':
        return dict(pyproject.get(table, {}))
    return dict(pyproject['project'].get(table, {}))


def with_extras(name: str, extras: str) -> str:
    """Return the path of a final/ distribution with those of the extras it declares."""
    wanted = [extra for extra in extras.split(',')
              if extra in declared(name, 'optional-dependencies')]
    return f'{ROOT / name}[{",".join(wanted)}]' if wanted else str(ROOT / name)


def test_final(session: nox.Session) -> None:
    """Install the final/ distributions together (they depend on each other), test each."""
    install_final(session, group='test')
    for name in FINAL:
        # The server's tests start servers and databases and wait for them, as the black-box
        # suite does; the clients' count deliveries against time-outs and run alone.
        parallel = PARALLEL if name == 'final/server' else []
        session.run('python', '-m', 'pytest', str(ROOT / name / 'tests'), *parallel,
                    *session.posargs)
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'tests', '--stage', 'final', *PARALLEL,
                    *session.posargs)


def test_packaging(session: nox.Session) -> None:
    """Build, freeze, then test the wheels, the executables and publishing (final/tests)."""
    build_distributions(session)
    freeze_executables(session)
    session.install(*PACKAGING_TEST_REQUIREMENTS)
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'final/tests', '--distributions', str(DIST),
                    '--frozen', str(FROZEN), *session.posargs)


def test_tools(session: nox.Session) -> None:
    """Test the repository's tools (tools/tests): the stage diff, the book, ``nox -s check``.

    They also run the host_ping tests of the stages without ``ping``, which need tabulate, and
    the servers of Q2 L3 to Q2 L8 one after another in one folder, which need SQLAlchemy: the
    requirements of Q2 L6 hold both.
    """
    session.install('-r', str(LESSONS / 'q2_l06_auth' / 'requirements.txt'))
    with session.chdir(ROOT):
        session.run('python', '-m', 'pytest', 'tools/tests', *session.posargs)


# What final/tests needs: a local package index, nox to publish to it, uv for fresh venvs.
PACKAGING_TEST_REQUIREMENTS = ['pytest>=8', 'pypiserver>=2', 'passlib>=1.7', 'nox', 'uv']
RUN_CHECK = {'final': test_final, 'docs': build_docs, 'lint': run_lint,
             'packaging': test_packaging, 'tools': test_tools}


@nox.session(venv_backend='none')
def diff(session: nox.Session) -> None:
    """Print what a lesson changes: ``nox -s diff -- [--code] [--stat] OLD NEW``.

    ``--code``: the Python code alone, no README and no tests; ``--stat``: the files changed,
    with their +/- line counts and a total. Against ``final``, a map of final/'s files.
    """
    try:
        status = stagediff.main(session.posargs, known=STAGES)
    except SystemExit as usage:     # argparse has said what is wrong
        status = usage.code
    if status:
        session.error('usage: nox -s diff -- [--code] [--stat] OLD_STAGE NEW_STAGE')
