"""When file descriptors or the disk run out, a server answers what it can and goes on.

Limits are lowered on the running server with prlimit(2); its CPU time is read from /proc.
The files a server makes are for its owner's eyes only.
"""
from __future__ import annotations

import contextlib
import errno
import os
import resource
import socket
import stat
import time
from collections.abc import Callable, Iterator

import pytest

from wire import msg, presence

CROWD = 1100                 # connections at once: past select's FD_SETSIZE (1024)
PENDING = 3                  # connections left in the backlog while the server is out of fds
MEASURE = 1.0                # seconds over which the server's CPU time is measured
MAX_CPU_SHARE = 0.25         # of MEASURE: a server that waits uses next to nothing
MAX_NOTICES_PER_SECOND = 10  # lines the server writes about it: one per pause, not a flood
SAY_TIMEOUT = 15.0           # seconds the server has to say it cannot accept (a loaded machine)
POLL = 0.05                  # seconds between two looks at the server's output
# What accept(2) fails with then, in the words of the operating system (and of every server).
EMFILE_TEXT = os.strerror(errno.EMFILE)


def cpu_seconds(pid: int) -> float:
    """Return the CPU time, user and system, that process ``pid`` has used."""
    with open(f'/proc/{pid}/stat', encoding='ascii') as file:
        fields = file.read().rsplit(')', 1)[1].split()     # the name may hold spaces
    # After the name come the fields from the third on: utime and stime are the 14th and 15th.
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def lowest_free_descriptor(pid: int) -> int:
    """Return the lowest file descriptor number that process ``pid`` could open next."""
    taken = {int(name) for name in os.listdir(f'/proc/{pid}/fd')}
    return min(set(range(len(taken) + 1)) - taken)


@contextlib.contextmanager
def lowered(pid: int, which: int, soft: int) -> Iterator[None]:
    """Lower the soft limit ``which`` of process ``pid`` to ``soft`` during the block."""
    before = resource.prlimit(pid, which, (soft, resource.prlimit(pid, which)[1]))
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):      # a server that died: its failure
            resource.prlimit(pid, which, before)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'{what} within {timeout} s'
        time.sleep(POLL)


@contextlib.contextmanager
def out_of_descriptors(server) -> Iterator[list[str]]:
    """Leave the server no file descriptor to spare, and clients waiting in its backlog.

    Yield the list of lines in which the server says so, filled in when the block ends.
    """
    assert server.process is not None
    pid = server.process.pid
    said: list[str] = []
    start = len(server.log())
    with lowered(pid, resource.RLIMIT_NOFILE, lowest_free_descriptor(pid)):
        # Each sends a request at once: a server blocked in accept() had its next descriptor
        # reserved before the limit fell, takes one client with it, and must not wait for it.
        pending = [server.connect() for _ in range(PENDING)]
        try:
            for number, conn in enumerate(pending):
                conn.send(presence(f'user{number}'))
            wait_for(lambda: EMFILE_TEXT in server.log()[start:], SAY_TIMEOUT,
                     f'the server says "{EMFILE_TEXT}"')
            yield said
            said += [line for line in server.log()[start:].splitlines() if EMFILE_TEXT in line]
        finally:
            for conn in pending:
                conn.close()


def test_out_of_descriptors_the_server_waits_without_spinning_and_recovers(faulty_server):
    # A faulty_server: a request that needs a descriptor (the database's) may fail then,
    # logged with its traceback.
    server = faulty_server
    assert server.process is not None
    began = time.monotonic()
    with out_of_descriptors(server) as said:
        before = cpu_seconds(server.process.pid)
        time.sleep(MEASURE)         # measuring what the server does meanwhile
        used = cpu_seconds(server.process.pid) - before
        assert server.process.poll() is None, server.log()[-2000:]
    elapsed = time.monotonic() - began
    assert used < MAX_CPU_SHARE * MEASURE, f'{used:.2f} s of CPU in {MEASURE} s: it spins'
    assert 1 <= len(said) <= 1 + MAX_NOTICES_PER_SECOND * elapsed, \
        f'{len(said)} lines in {elapsed:.1f} s: {said[:3]}'
    server.assert_serving()


@pytest.mark.needs('concurrent', 'chat')
def test_out_of_descriptors_connected_clients_are_served(faulty_server):
    server = faulty_server
    with server.join('alice') as alice, server.join('bob') as bob:
        with out_of_descriptors(server):
            assert alice.request(msg('#all', 'still here'))['response'] == 200
            assert bob.next_pushed()['message'] == 'still here'
    server.assert_serving()


def answered(code: int) -> bool:
    """Tell whether ``code`` answers a request on a full disk: done, refused, or 500."""
    return 200 <= code < 300 or 400 <= code < 500 or code == 500


@pytest.mark.needs('database')
def test_full_disk_gets_answers_and_the_server_goes_on(faulty_server):
    server = faulty_server
    assert server.process is not None
    with server.join('alice') as alice, server.join('bob') as bob:
        # No file of the server may grow past a byte: writes fail with EFBIG, which SQLite
        # reports as a full disk (CPython ignores SIGXFSZ).
        with lowered(server.process.pid, resource.RLIMIT_FSIZE, 1):
            codes = [alice.request(msg('#all', 'is the disk full?'))['response'],
                     alice.request(msg('bob', 'are you there?'))['response'],
                     alice.request(presence('alice'))['response']]
            if server.stage.has('contacts'):
                for action in ('add_contact', 'get_contacts', 'del_contact'):
                    codes.append(alice.request({'action': action, 'time': time.time(),
                                                'user_id': 'bob'})['response'])
            with server.connect() as carol:          # a login writes to the database
                codes.append(server.introduce(carol, 'carol')['response'])
            bob.close()                              # and so does a logout
            codes.append(alice.request(msg('#all', 'anyone?'))['response'])
            assert server.process.poll() is None, server.log()[-2000:]
        assert all(answered(code) for code in codes), codes
        with server.join('carol') as carol:
            assert alice.request(msg('#all', 'room again'))['response'] == 200
            assert carol.next_pushed()['message'] == 'room again'


def test_server_files_are_for_their_owner_only(stage, server):
    with server.join('alice') as alice:
        if stage.has('chat'):
            assert alice.request(msg('#all', 'leave a trace'))['response'] == 200
    made = [path for path in server.workdir.iterdir() if path != server.output]
    if stage.has('database'):
        assert made, 'no database file'
    loose = {path.name: stat.filemode(path.stat().st_mode) for path in made
             if path.stat().st_mode & 0o077}
    assert not loose, f'readable by others than their owner: {loose}'


@pytest.mark.needs('concurrent')
def test_a_crowd_past_what_select_can_watch_stops_nothing(server):
    # select.select() cannot watch a descriptor numbered 1024 or more: a server must refuse
    # connections before its descriptors get there, not stop. Each newcomer waits for the
    # answer to a bad request (or a close) before the next comes: then it was taken.
    crowd: list[socket.socket] = []
    try:
        for _ in range(CROWD):
            sock = socket.create_connection(server.address, timeout=SAY_TIMEOUT)
            crowd.append(sock)
            sock.sendall(b'{}\n')
            try:
                sock.recv(1)                     # the 400 begins, or b'' for a close
            except ConnectionResetError:
                pass                             # closed with the request unread
    finally:
        for sock in crowd:
            sock.close()
    server.assert_serving()
