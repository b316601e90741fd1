"""Publishing rehearsed for real: ``nox -s publish`` to a local index, then install from it."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from passlib.apache import HtpasswdFile

from messenger import TIMEOUT, chat_each_way, free_port, venv

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = 'publisher', 'publish-secret'


@pytest.fixture(scope='module')
def index(tmp_path_factory):
    """Yield the URL of a package index on 127.0.0.1 that only ``USER`` may upload to."""
    folder = tmp_path_factory.mktemp('index')
    (folder / 'packages').mkdir()
    passwords = HtpasswdFile(str(folder / 'htpasswd'), new=True)
    passwords.set_password(USER, PASSWORD)
    passwords.save()
    port = free_port()
    # No fallback to pypi.org: a name this index lacks is not found here, not redirected.
    argv = [sys.executable, '-m', 'pypiserver', 'run', '--host', '127.0.0.1', '--port',
            str(port), '--authenticate', 'update', '--passwords', str(folder / 'htpasswd'),
            '--disable-fallback', str(folder / 'packages')]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        url = f'http://127.0.0.1:{port}/'
        wait_serving(server, url)
        yield url
        server.terminate()


def wait_serving(server: subprocess.Popen, url: str) -> None:
    """Wait until the index answers."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, f'pypiserver exited with {server.returncode}'
        try:
            with urllib.request.urlopen(url + 'simple/', timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)       # polling for the index to start, with a deadline
    raise AssertionError(f'no index at {url} within {TIMEOUT} s')


def publish(url: str, dist: Path, password: str) -> subprocess.CompletedProcess:
    """Run ``nox -s publish -- URL DIST`` as a maintainer does."""
    env = {'TWINE_USERNAME': USER, 'TWINE_PASSWORD': password}
    return subprocess.run([sys.executable, '-m', 'nox', '--noxfile', str(ROOT / 'noxfile.py'),
                           '-s', 'publish', '--', url, str(dist)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env}, check=False)


def listed(url: str, name: str) -> str:
    """Return the index's page of the distribution ``name`` ('' when it has none)."""
    try:
        with urllib.request.urlopen(f'{url}simple/{name}/', timeout=10) as page:
            return page.read().decode()
    except urllib.error.HTTPError:
        return ''


def test_wrong_password_uploads_nothing(index, dist):
    before = listed(index, 'jim-server')
    done = publish(index, dist, 'not-the-password')
    assert done.returncode != 0
    assert '403 Forbidden' in done.stdout + done.stderr
    assert listed(index, 'jim-server') == before


def test_publish_then_install_from_the_index(index, dist, tmp_path):
    done = publish(index, dist, PASSWORD)
    assert done.returncode == 0, done.stdout + done.stderr
    for path in dist.iterdir():
        assert path.name in listed(index, path.name.split('-')[0].replace('_', '-')), path.name
    # The index comes before PyPI for our names: PyPI has other projects called
    # jim-server and jim-client.
    installed = venv(tmp_path / 'env', 'jim-server', 'jim-client', extra_index=index + 'simple/')
    version = next(dist.glob('jim_server-*.whl')).name.split('-')[1]
    shown = subprocess.run([installed / 'jim-server', '--version'], capture_output=True,
                           text=True, check=True).stdout
    assert shown.split()[-1] == version
    chat_each_way(installed / 'jim-server', installed / 'jim-client', tmp_path)
