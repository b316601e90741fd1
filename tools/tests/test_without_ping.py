"""Newcomer item 1: the stages' tests pass on a machine without the system ``ping``.

host_ping.py (Q2 L1 on) runs ``ping``; its tests bring a stand-in for it, and skip, saying why,
only the one test that needs the real command. Here they run with a PATH that holds no ping.
"""
import os
import subprocess
import sys

import pytest

from stages import load_stages

PINGING = [stage for stage in load_stages()
           if (stage.directory / 'tests' / 'test_host_ping.py').is_file()]


def test_the_stages_that_ping_are_found():
    assert [stage.name for stage in PINGING][:1] == ['q2_l01_launcher']


@pytest.mark.parametrize('stage', PINGING, ids=[stage.name for stage in PINGING])
def test_host_ping_tests_pass_without_ping(stage, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))        # an empty folder: no ping anywhere
    # As the stage READMEs run them; unittest needs none of the stage's other packages.
    done = subprocess.run([sys.executable, '-m', 'unittest', 'discover', '-s', 'tests', '-p',
                           'test_host_ping.py', '-v'], cwd=stage.directory, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert 'OK (skipped=1)' in done.stderr
    assert "skipped 'the system ping command is not installed" in done.stderr
