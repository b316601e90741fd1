"""``nox -s check`` catches broken servers: the black-box suite run against broken copies.

A suite that cannot fail is a defect. Each case copies a stage with the common chat and direct
messages to a temporary folder, breaks its server in one small way, runs the check on it (the
same pytest command as ``nox -s check``) and expects the feature it broke to fail; the copy
left whole must pass. The copies run two at a time, to keep within ``nox -s tests``'s budget.
"""
# pytest hands each fixture to the functions that name it. pylint: disable=redefined-outer-name
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from checkreport import check_arguments
from stages import LESSONS, ROOT, load_stage

STAGE = 'q1_l08_threads'
# The slow-reader test takes 10 s on its own and is run for every stage in its session.
SKIPPED = 'not never_reads'
TIMEOUT = 300
# Seconds the suite waits for an answer from a broken server, whose answers may never come
# (the whole copy keeps the default, 5).
REPLY_TIMEOUT = '1.5'

# name: (feature it breaks, file, text in it, text to put instead): each is one small mistake
# that course solutions make. The text must be there: a stage that changed fails this loudly.
BREAKAGES = {
    'answers 200 instead of 400': (
        'presence', 'server.py', 'make_response(BAD_REQUEST,', 'make_response(OK,'),
    'relays #all to the sender too': (
        'chat', 'server.py', 'if client is not sender and client.name]', 'if client.name]'),
    'believes the from of the sender': (
        'chat', 'server.py', 'make_chat_message(sender.name, to,',
        "make_chat_message(message.get('from', sender.name), to,"),
    'reads one recv as one message': (
        'framing', 'protocol.py', '    return reader.feed(data)\n',
        '    try:\n        return [decode_message(data)]\n'
        '    except ProtocolError as err:\n        return [err]\n'),
    'drops the second of two messages in one packet': (
        'framing', 'protocol.py', '    return reader.feed(data)\n',
        '    return reader.feed(data)[:1]\n'),
    'sends direct messages to everyone': (
        'direct', 'server.py', 'if client.name == to]', 'if client.name]'),
}


def broken_copy(folder: Path, name: str | None) -> list[str]:
    """Copy the stage into ``folder``, break it as BREAKAGES[name] says; return check's args.

    The unbroken copy keeps its stage.toml; the broken ones are checked ``--as`` the stage.
    """
    shutil.copytree(LESSONS / STAGE, folder, ignore=shutil.ignore_patterns('__pycache__'))
    if name is None:
        return check_arguments(folder)
    _, filename, wrong, instead = BREAKAGES[name]
    path = folder / filename
    text = path.read_text(encoding='utf-8')
    assert wrong in text, f'{STAGE}/{filename} no longer has {wrong!r}: update BREAKAGES'
    path.write_text(text.replace(wrong, instead), encoding='utf-8')
    (folder / 'stage.toml').unlink()
    return check_arguments(folder, STAGE)


def run_check(folder: Path, name: str | None) -> tuple[int, str, dict]:
    """Run the check on one copy; return its exit code, its output and its JSON report."""
    report = folder.with_suffix('.json')
    done = subprocess.run(
        [sys.executable, '-m', 'pytest', 'tests', *broken_copy(folder, name), '-k', SKIPPED,
         '--report-json', str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        env=dict(os.environ, JIM_REPLY_TIMEOUT=REPLY_TIMEOUT) if name else None)
    output = done.stdout + done.stderr
    assert report.is_file(), output
    return done.returncode, output, json.loads(report.read_text(encoding='utf-8'))


@pytest.fixture(scope='module')
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every copy, whole and broken, checked: {name or None: (exit code, output, report)}."""
    root = tmp_path_factory.mktemp('copies')
    names = [None, *BREAKAGES]
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(lambda pair: run_check(root / f'copy{pair[0]}', pair[1]),
                        enumerate(names))
        return dict(zip(names, runs))


def failed_features(report: dict) -> set[str]:
    """Return the features with at least one failed test."""
    return {feature for feature, outcomes in report.items() if outcomes['failed']}


def test_the_whole_copy_passes_every_feature_it_declares(checked):
    code, output, report = checked[None]
    assert code == 0, output
    assert failed_features(report) == set()
    assert set(report) == load_stage(LESSONS / STAGE).features
    assert all(outcomes['passed'] for outcomes in report.values())
    assert 'Passes: presence, persistent, framing, concurrent, chat, direct' in output


@pytest.mark.parametrize('name', BREAKAGES)
def test_a_broken_copy_fails_the_feature_it_breaks(checked, name):
    code, output, report = checked[name]
    feature = BREAKAGES[name][0]
    assert code == 1, output
    assert feature in failed_features(report), output
    assert f'{feature} (' in output.split('Fails:')[-1]


def test_the_report_shows_the_request_and_the_answer(checked):
    _, output, report = checked['answers 200 instead of 400']
    assert 'bad request gets 400 and server goes on (missing user)' in report['presence']['failed']
    block = output[output.index('FAIL bad request gets 400 and server goes on (missing user)'):]
    block = block[:block.index('\n  ok ') if '\n  ok ' in block else len(block)]
    assert 'What went wrong:' in block
    assert '-> sent {"action": "presence"' in block and '"time": ' in block
    assert '<- got {"response": 200' in block
