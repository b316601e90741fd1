"""The built wheels, installed into a fresh environment, make a working messenger."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from messenger import chat_each_way, venv

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def installed(dist, tmp_path_factory):
    """The bin folder of a fresh environment with the three wheels (not the source tree)."""
    wheels = sorted(str(path) for path in dist.glob('*.whl'))
    assert len(wheels) == 3, wheels
    return venv(tmp_path_factory.mktemp('venv') / 'env', *wheels)


def test_installed_from_the_wheels_not_the_source(installed):
    where = subprocess.run([installed / 'python', '-c',
                            'import jim, jim_server, jim_client; '
                            'print(jim.__file__, jim_server.__file__, jim_client.__file__)'],
                           capture_output=True, text=True, check=True).stdout.split()
    assert len(where) == 3
    assert all('site-packages' in path for path in where), where


def test_commands_have_help_and_one_version(installed):
    for command in ('jim-server', 'jim-client'):
        done = subprocess.run([installed / command, '--help'], capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0 and 'usage:' in done.stdout, done.stderr
    versions = {subprocess.run([installed / command, '--version'], capture_output=True,
                               text=True, check=True).stdout.split()[-1]
                for command in ('jim-server', 'jim-client')}
    assert len(versions) == 1, versions


def test_installed_server_and_two_clients_chat(installed, tmp_path):
    chat_each_way(installed / 'jim-server', installed / 'jim-client', tmp_path)


def test_the_three_distributions_share_one_version(dist):
    versions = {path.name.split('-')[1].removesuffix('.tar.gz') for path in dist.iterdir()}
    assert len(versions) == 1, versions


def test_every_wheel_and_sdist_carries_the_license(dist):
    license_text = (ROOT / 'LICENSE').read_bytes()
    for path in sorted(dist.iterdir()):
        if path.suffix == '.whl':
            with zipfile.ZipFile(path) as wheel:
                found = [name for name in wheel.namelist() if name.endswith('/LICENSE')]
                assert found and wheel.read(found[0]) == license_text, path.name
        else:
            with tarfile.open(path) as sdist:
                found = [m for m in sdist.getmembers() if m.name.count('/') == 1
                         and m.name.endswith('/LICENSE')]
                assert found and sdist.extractfile(found[0]).read() == license_text, path.name


def test_the_server_and_the_client_pin_the_protocol_they_were_built_with(dist):
    version = next(dist.glob('jim_protocol-*.whl')).name.split('-')[1]
    for wheel_path in dist.glob('jim_[sc]*.whl'):
        with zipfile.ZipFile(wheel_path) as wheel:
            metadata = next(name for name in wheel.namelist() if name.endswith('/METADATA'))
            requires = [line for line in wheel.read(metadata).decode().splitlines()
                        if line.startswith('Requires-Dist: jim-protocol')]
        assert requires == [f'Requires-Dist: jim-protocol=={version}'], wheel_path.name
