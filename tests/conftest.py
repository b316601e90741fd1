"""Fixtures of the black-box suite: the stage under test and its server in a subprocess.

Run it for one stage: ``pytest tests --stage q1_l03_jim`` (nox does this for every stage), or
for any folder, a student's own: ``pytest tests --stage-dir PATH [--as q1_l08_threads]``
(``nox -s check`` does this, with the report of checkreport.py). Tests marked
``@pytest.mark.needs("feature", ...)`` are deselected, not skipped, for stages whose manifest
does not declare those features; tests marked ``repository`` (about the repository's stages,
not about a server) are not run for a folder given with ``--stage-dir``.
"""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from stages import FEATURES, FINAL, LESSONS, Stage, load_folder, load_stage
from servers import LOG_EXCERPT, ServerProcess
from wire import TEST_PASSWORD, TEST_USERS

# The report of `nox -s check`, off unless asked for with --report-features.
pytest_plugins = ['checkreport']
HYPOTHESIS_HOME = pytest.StashKey[tempfile.TemporaryDirectory]()
# Examples of the fuzzer (test_fuzz.py) per server in `nox -s tests`: 2 s a Q1 stage, 12 s Q2 L6.
FUZZ_EXAMPLES = 200


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--stage NAME``, ``--stage-dir PATH``, ``--as STAGE`` and ``--fuzz-examples N``."""
    parser.addoption('--stage', help='stage directory name under lessons/ to test (or final)')
    parser.addoption('--stage-dir', metavar='PATH',
                     help="any folder with a stage's server.py to test, a student's own")
    parser.addoption('--as', dest='as_stage', metavar='STAGE',
                     help="with --stage-dir: use this lesson's stage.toml (features, commands) "
                          "instead of the folder's own")
    parser.addoption('--fuzz-examples', type=int,
                     default=int(os.environ.get('FUZZ_EXAMPLES', FUZZ_EXAMPLES)),
                     help='examples the fuzzer sends each server (default: $FUZZ_EXAMPLES '
                          f'or {FUZZ_EXAMPLES})')


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``needs``, ``repository`` and ``uses_client`` markers; set up hypothesis
    for the fuzzer."""
    config.addinivalue_line('markers', 'needs(*features): run only for stages with these features')
    config.addinivalue_line('markers', 'repository: about the repository\'s stages; not run for '
                            'a folder given with --stage-dir')
    config.addinivalue_line('markers', 'uses_client: runs the stage\'s own client; not run for '
                            'a folder given with --stage-dir that has no client')
    # Hypothesis keeps caches in ./.hypothesis: a temporary folder, removed in
    # pytest_unconfigure, keeps the tree clean. pylint: disable-next=consider-using-with
    config.stash[HYPOTHESIS_HOME] = tempfile.TemporaryDirectory(prefix='hypothesis-')
    set_hypothesis_home_dir(config.stash[HYPOTHESIS_HOME].name)
    # The same examples every run (derandomize): a run that passed once passes again.
    settings.register_profile(
        'suite', max_examples=config.getoption('--fuzz-examples'), deadline=None,
        database=None, derandomize=True, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.load_profile('suite')


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove hypothesis's temporary folder."""
    if HYPOTHESIS_HOME in config.stash:
        config.stash[HYPOTHESIS_HOME].cleanup()


def selected_stage(config: pytest.Config) -> Stage:
    """Return the stage named by ``--stage``, or the folder given by ``--stage-dir``."""
    folder = config.getoption('--stage-dir')
    if folder:
        try:
            return load_folder(Path(folder), config.getoption('as_stage'))
        except ValueError as err:
            raise pytest.UsageError(str(err)) from None
    name = config.getoption('--stage')
    if not name:
        raise pytest.UsageError('name the stage to test: pytest tests --stage q1_l03_jim, '
                                'or a folder: pytest tests --stage-dir PATH')
    directory = FINAL if name == 'final' else LESSONS / name
    if not (directory / 'stage.toml').is_file():
        raise pytest.UsageError(f'no stage manifest at {directory}/stage.toml')
    return load_stage(directory)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests that need features the selected stage lacks.

    For a folder given with ``--stage-dir``, deselect too the tests of the repository, and those
    of the client when the folder has none.
    """
    stage = selected_stage(config)
    folder = bool(config.getoption('--stage-dir'))
    client = stage.run['client'][0]
    no_client = folder and client != '-m' and not (stage.directory / client).is_file()
    keep, drop = [], []
    for item in items:
        needed = [f for mark in item.iter_markers('needs') for f in mark.args]
        unknown = set(needed) - FEATURES.keys()
        if unknown:
            raise pytest.UsageError(f'{item.nodeid} needs unknown features {unknown}')
        left_out = (folder and item.get_closest_marker('repository')) or \
            (no_client and item.get_closest_marker('uses_client'))
        (keep if stage.has(*needed) and not left_out else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope='session')
def stage(pytestconfig: pytest.Config) -> Stage:
    """The stage under test."""
    return selected_stage(pytestconfig)


@pytest.fixture(scope='session')
def accounts(stage: Stage, tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """For stages with authentication: a folder with a database of TEST_USERS."""
    if not stage.has('auth') and not stage.has('scram'):
        return None
    folder = tmp_path_factory.mktemp('accounts')
    done = subprocess.run(stage.command('add_users') + TEST_USERS, cwd=folder, text=True,
                          input=f'{TEST_PASSWORD}\n' * len(TEST_USERS), capture_output=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def run_server(stage: Stage, workdir: Path, accounts: Path | None,
               faults_expected: bool = False):
    """Start a server, hand it out, then check that it stops cleanly on SIGTERM.

    Its output must hold no traceback, unless the test makes faults happen (a full disk):
    then the server logs each with its traceback, and goes on.
    """
    proc = ServerProcess(stage, workdir, accounts)
    proc.start()
    try:
        yield proc
    finally:
        code = proc.stop()
    log = proc.log()
    assert code == 0, f'server exited with {code} on SIGTERM:\n{log[-LOG_EXCERPT:]}'
    assert faults_expected or 'Traceback' not in log, excerpt(log, log.index('Traceback'))


def excerpt(log: str, where: int) -> str:
    """Return the part of a server's output around ``where`` (the output may be megabytes)."""
    return log[max(0, where - LOG_EXCERPT):where + LOG_EXCERPT]


@pytest.fixture
def server(stage: Stage, tmp_path: Path, accounts: Path | None):
    """A running server of the stage, for this test alone."""
    yield from run_server(stage, tmp_path, accounts)


@pytest.fixture
def unstarted_server(stage: Stage, tmp_path: Path) -> ServerProcess:
    """A server of the stage, not started yet (the test starts and stops it)."""
    return ServerProcess(stage, tmp_path)


@pytest.fixture
def faulty_server(stage: Stage, tmp_path: Path, accounts: Path | None):
    """A server of the stage for this test alone, whose output may hold the faults it survived."""
    yield from run_server(stage, tmp_path, accounts, faults_expected=True)


@pytest.fixture(scope='module')
def shared_server(stage: Stage, tmp_path_factory: pytest.TempPathFactory,
                  accounts: Path | None):
    """One server for every test of a module that leaves no state behind (hostile input)."""
    yield from run_server(stage, tmp_path_factory.mktemp('shared'), accounts)
