"""Tests of what final/ ships: the built wheels, the frozen executables, publishing.

They need what ``nox -s build`` and ``nox -s freeze`` make; ``nox -s "tests(packaging)"``
makes both and runs them: ``pytest final/tests --distributions build/dist --frozen build/frozen``.
"""
from pathlib import Path

import pytest

pytest.register_assert_rewrite('messenger')


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--distributions`` and ``--frozen``."""
    parser.addoption('--distributions', type=Path, help='folder of the built wheels and sdists')
    parser.addoption('--frozen', type=Path, help='folder of the cx_Freeze executables')


def folder(config: pytest.Config, option: str, pattern: str) -> Path:
    """Return the folder given by ``option``; stop the run if it does not hold ``pattern``."""
    path = config.getoption(option)
    if path is None or not list(path.glob(pattern)):
        raise pytest.UsageError(f'{option} must name a folder with {pattern} in it; '
                                'nox -s "tests(packaging)" builds and passes them')
    return path.resolve()


@pytest.fixture(scope='session')
def dist(pytestconfig: pytest.Config) -> Path:
    """The folder of the built distributions."""
    return folder(pytestconfig, '--distributions', '*.whl')


@pytest.fixture(scope='session')
def frozen(pytestconfig: pytest.Config) -> Path:
    """The folder of the frozen executables."""
    return folder(pytestconfig, '--frozen', 'jim-server*')
