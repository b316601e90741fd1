"""The stage's place in the repository: manifest, predecessor, README, no lost features."""
import socket
import subprocess

import pytest

from servers import IN_USE
from stages import (FEATURES, LESSONS, ROOT, features_table, load_stage, load_stages,
                    readme_table)

# About the repository's stages: not run against a student's folder (nox -s check).
pytestmark = pytest.mark.repository


def test_manifest_names_known_features(stage):
    assert stage.features, 'a stage supports at least one feature'
    assert stage.features <= FEATURES.keys()
    assert stage.name == 'final' or stage.name.split('_')[0] in ('q1', 'q2')


def test_stage_keeps_every_feature_of_its_predecessor(stage):
    if stage.predecessor:
        before = load_stage(LESSONS / stage.predecessor)
        lost = before.features - stage.features
        assert not lost, f'{stage.name} dropped {sorted(lost)} that {before.name} had'


def script_of(stage, which):
    """Return the start of a command's argv: the interpreter and its script or module."""
    argv = stage.command(which, host='h', port='1', name='n')
    return argv[:3] if argv[1] == '-m' else argv[:2]


def test_stage_has_a_readme_and_its_commands(stage):
    assert (stage.directory / 'README.md').is_file()
    for which, template in stage.run.items():
        if template[0] != '-m':
            assert (stage.directory / template[0]).is_file(), which


def test_root_readme_table_matches_the_manifests():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert readme_table(load_stages()) in readme, \
        'regenerate the table with: python tests/stages.py --update'


def test_tests_readme_feature_table_matches_the_manifests():
    readme = (ROOT / 'tests' / 'README.md').read_text(encoding='utf-8')
    assert features_table(load_stages()) in readme, \
        'regenerate the table with: python tests/stages.py --update'


def test_help_works(stage, tmp_path):
    # In a folder of its own: from Q2 L4 the server sets up its log file before it reads --help.
    for which in stage.run:
        done = subprocess.run(script_of(stage, which) + ['--help'], capture_output=True,
                              text=True, timeout=30, check=False, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert 'usage' in done.stdout.lower()


def test_a_server_whose_port_was_taken_is_started_on_another(unstarted_server):
    # As when an outgoing connection of another test got the free port as its own.
    proc = unstarted_server
    with socket.socket() as taker:
        taker.bind(proc.address)                    # bound, not listening: nothing answers
        taken = proc.address
        proc.start()
        try:
            assert proc.address != taken
            assert IN_USE in proc.log()
        finally:
            proc.stop()
