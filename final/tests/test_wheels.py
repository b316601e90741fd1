"""The built wheels, installed into a fresh environment, make a working messenger."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import subprocess

import pytest

from messenger import chat_each_way, venv


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
