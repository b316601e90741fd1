"""The command line: flags made from Limits, private files, clear errors."""
import dataclasses
import io
import re
import signal
import stat
import threading
from pathlib import Path

import pytest

from jim_server import cli
from jim_server.engine import Server
from jim_server.settings import Limits, Settings
from jim_server.storage import NewMessage, Storage


def mode(path):
    """Return the permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_every_limit_is_a_flag_with_its_default_and_help(capsys):
    args = cli.parse_args(['--max-connections', '7', '--idle-timeout', '1.5'])
    limits = cli.limits_of(args)
    assert (limits.max_connections, limits.idle_timeout) == (7, 1.5)
    assert limits.request_burst == Limits().request_burst
    with pytest.raises(SystemExit):
        cli.parse_args(['--help'])
    text = capsys.readouterr().out
    for name in ('--max-output-bytes', '--login-timeout', '--stall-timeout',
                 '--connections-per-address', '--throttle-entries'):
        assert name in text


def test_a_limit_of_zero_is_refused(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(['--max-connections', '0'])
    assert 'must be more than 0' in capsys.readouterr().err


def test_the_data_folder_and_the_database_are_private(tmp_path, monkeypatch):
    database = tmp_path / 'data' / 'server.db'
    monkeypatch.setattr('sys.stdin', io.StringIO('pw\n'))
    assert cli.main(['--db', str(database), '--iterations', '4096', '--add-user', 'alice']) == 0
    assert mode(database.parent) == 0o700 and mode(database) == 0o600
    storage = Storage(f'sqlite:///{database}')          # WAL files while it is open
    try:
        storage.store([NewMessage(1.0, 'alice', '#all', 'hi')], {})
        journals = list(database.parent.glob('server.db-*'))
        assert journals and all(mode(path) == 0o600 for path in journals)
    finally:
        storage.close()


def test_the_guide_lists_every_limit_with_its_flag_and_default():
    guide = (Path(__file__).parents[2] / 'docs' / 'guide.rst').read_text(encoding='utf-8')
    for item in dataclasses.fields(Limits):
        flag = '--' + item.name.replace('_', '-')
        row = re.search(rf'\* - ``{flag} [A-Z]+``\n +- ([0-9.]+)\n', guide)
        assert row, f'{flag} is not in the Limits table of guide.rst'
        assert row.group(1) == str(item.default), f'{flag}: the guide says {row.group(1)}'


def test_a_signal_wakes_the_loop_before_its_handler_runs(tmp_path):
    # A handler runs between two bytecodes: for a signal that comes as the loop enters select,
    # only after select returns. Here the handler does nothing, as if it had not run yet: the
    # byte that Python writes when the signal comes must stop the loop.
    storage = Storage(f'sqlite:///{tmp_path}/server.db')
    server = Server(Settings('127.0.0.1', 0), storage)
    server.listen()
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        cli.stop_on_signals(server)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        loop = threading.Thread(target=server.serve_forever)
        loop.start()
        signal.raise_signal(signal.SIGTERM)
        loop.join(5)
        stopped = not loop.is_alive()
        if not stopped:
            server.stop()
            loop.join(5)
    finally:
        signal.set_wakeup_fd(-1)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        storage.close()
    assert stopped, 'the signal did not wake the loop'
