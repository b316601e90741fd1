"""The stage's place in the repository: manifest, predecessor, README, no lost features."""
import subprocess
import sys

from stages import FEATURES, LESSONS, ROOT, load_stage, load_stages, readme_table


def test_manifest_names_known_features(stage):
    assert stage.features, 'a stage supports at least one feature'
    assert stage.features <= FEATURES.keys()
    assert stage.name.split('_')[0] in ('q1', 'q2')


def test_stage_keeps_every_feature_of_its_predecessor(stage):
    if stage.predecessor:
        before = load_stage(LESSONS / stage.predecessor)
        lost = before.features - stage.features
        assert not lost, f'{stage.name} dropped {sorted(lost)} that {before.name} had'


def test_stage_has_a_readme_and_its_commands(stage):
    assert (stage.directory / 'README.md').is_file()
    for template in stage.run.values():
        assert (stage.directory / template[0]).is_file(), template


def test_root_readme_table_matches_the_manifests(stage):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert readme_table(load_stages()) in readme, \
        'regenerate the table with: python tests/stages.py --update'


def test_help_works(stage):
    for template in stage.run.values():
        script = stage.directory / template[0]
        done = subprocess.run([sys.executable, str(script), '--help'], capture_output=True,
                              text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        assert 'usage' in done.stdout.lower()
