"""The stage diff (tools/stagediff.py) that ``nox -s diff`` and the course book both use."""
# pytest hands each fixture to the functions that name it. pylint: disable=redefined-outer-name
import contextlib
import io
import re
import subprocess

import pytest

import stagediff
from stagediff import compare, kind, main, render_diff, render_stat, stage_files
from stages import LESSONS, ROOT, load_stages


def write(folder, files):
    """Write ``{relative name: text or bytes}`` under ``folder``."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding='utf-8')


def run(argv):
    """Run the command line; return its exit status and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue() + err.getvalue()


@pytest.fixture
def repository(tmp_path):
    """A git work tree with an old and a new stage, some files ignored, some not yet added."""
    subprocess.run(['git', 'init', '-q', str(tmp_path)], check=True)
    write(tmp_path, {'.gitignore': '*.log\nserver.out\n'})
    write(tmp_path / 'old', {
        'server.py': 'import socket\n\nPORT = 7777\n',
        'README.md': '# Old\n',
        'tests/test_server.py': 'def test_port():\n    assert True\n',
        'stage.toml': '[stage]\n',
        'screenshots/window.png': b'\x89PNG\r\n\x1a\n\x00\xff',
    })
    write(tmp_path / 'new', {
        'server.py': 'import selectors\nimport socket\n\nPORT = 8888\n',
        'client.py': 'print("hi")\n',
        'README.md': '# New\n\nMore.\n',
        'tests/test_server.py': 'def test_port():\n    assert True\n',
        'tests/test_client.py': 'def test_client():\n    assert True\n',
        'stage.toml': '[stage]\n',
        'icon.bin': b'\x00\xff\xfe',
    })
    subprocess.run(['git', 'add', '.'], cwd=tmp_path, check=True)
    # Made after `git add`: not tracked; the first two are ignored, the third would be tracked.
    write(tmp_path / 'new', {'server.log': 'x\n', 'server.out': 'x\n', 'notes.txt': 'draft\n',
                             '__pycache__/server.cpython-311.pyc': b'\x00\x01'})
    return tmp_path


def test_kinds():
    assert [kind(name) for name in ('server.py', 'tests/test_server.py', 'tests/fakes.py',
                                    'README.md', 'docs/conf.py', 'stage.toml',
                                    'requirements.txt')] == \
        ['code', 'tests', 'tests', 'docs', 'docs', 'other', 'other']


def test_files_are_those_git_tracks_or_would_track(repository):
    assert sorted(stage_files(repository / 'new')) == [
        'README.md', 'client.py', 'icon.bin', 'notes.txt', 'server.py', 'stage.toml',
        'tests/test_client.py', 'tests/test_server.py']


def test_outside_git_every_file_but_caches_counts(tmp_path):
    write(tmp_path, {'server.py': '', 'server.log': '', '__pycache__/x.pyc': b'',
                     'screenshots/a.png': b''})
    assert sorted(stage_files(tmp_path)) == ['server.log', 'server.py']


def test_code_comes_first_then_settings_readme_and_tests(repository):
    changes = compare(repository / 'old', repository / 'new')
    assert [(change.kind, change.name, change.status) for change in changes] == [
        ('code', 'client.py', 'added'), ('code', 'server.py', 'changed'),
        ('other', 'icon.bin', 'changed'), ('other', 'notes.txt', 'added'),
        ('docs', 'README.md', 'changed'), ('tests', 'tests/test_client.py', 'added')]
    assert changes[2].binary


def test_code_only(repository):
    changes = compare(repository / 'old', repository / 'new', code_only=True)
    assert [change.name for change in changes] == ['client.py', 'server.py']


def test_diff_is_labelled_with_the_stages(repository):
    text = render_diff(compare(repository / 'old', repository / 'new', code_only=True),
                       'old', 'new')
    assert text.startswith('--- /dev/null\n+++ new/client.py\n@@ -0,0 +1 @@\n+print("hi")\n')
    assert '--- old/server.py\n+++ new/server.py\n' in text
    assert '-PORT = 7777\n+PORT = 8888\n' in text


def test_stat_counts_what_the_diff_shows(repository):
    changes = compare(repository / 'old', repository / 'new')
    diff = render_diff(changes, 'old', 'new').splitlines()
    plus = sum(1 for line in diff if line.startswith('+') and not line.startswith('+++'))
    minus = sum(1 for line in diff if line.startswith('-') and not line.startswith('---'))
    stat = render_stat(changes).splitlines()
    assert stat[-1] == f' 6 files changed, {plus} insertions(+), {minus} deletions(-)'
    assert (plus, minus) == (9, 2)
    assert ' server.py            | 3 ++-' in stat
    assert ' icon.bin             | Bin' in stat


def test_stat_of_no_change():
    assert render_stat([]) == '0 files changed\n'


def test_every_consecutive_pair_of_stages_lists_its_changes_code_first():
    stages = load_stages()
    for before, after in zip(stages, stages[1:]):
        changes = compare(before.directory, after.directory)
        kinds = [stagediff.KINDS.index(change.kind) for change in changes]
        assert kinds == sorted(kinds), (before.name, after.name)


def test_command_line_code_and_stat():
    status, out = run(['--code', '--stat', 'q1_l07_select', 'q1_l08_threads'])
    assert status == 0
    names = [line.split('|')[0].strip() for line in out.splitlines()[:-1]]
    assert names and all(name.endswith('.py') and not name.startswith('tests/')
                         for name in names)
    assert 'README.md' not in out and 'changed' in out.splitlines()[-1]


def test_command_line_unknown_stage_names_the_stages():
    status, out = run(['q1_l07_select', 'q9_nothing'])
    assert status == 2
    assert 'no stage q9_nothing' in out


def test_against_final_a_map_of_files_and_sizes():
    status, out = run(['q2_l06_auth', 'final'])
    assert status == 0
    assert 'not one lesson apart' in out
    for name in stage_files(LESSONS / 'q2_l06_auth'):
        if kind(name) == 'code':
            assert f'  {name} ' in out, name
    engine = len((ROOT / 'final/server/src/jim_server/engine.py').read_text().splitlines())
    assert re.search(rf'  server\.py +\d+ +final/server/src/jim_server/engine\.py +{engine}\n',
                     out)
    # The header names the chapter that explains the map, and the chapter is there.
    assert '"From the course to final/"' in out
    chapter = ROOT / stagediff.CHAPTER.split(',', maxsplit=1)[0]
    assert chapter.is_file()
    assert 'From the course to ``final/``' in chapter.read_text(encoding='utf-8')


def test_against_final_any_stage_even_one_split_into_distributions(tmp_path, monkeypatch):
    # The course's last stage (q2_l08_packaging) has a server and a client distribution: its
    # files are matched by their own names, each in its own side of final/.
    write(tmp_path / 'q2_l08_packaging', {
        'server/setup.py': 'setup()\n',
        'server/server/__init__.py': '',
        'server/server/server.py': 'x = 1\n' * 7,
        'server/server/server_storage.py': 'y = 1\n',
        'client/client/__init__.py': '',
        'client/client/protocol.py': 'z = 1\n',
        'README.md': '# Q2 L8\n',
    })
    monkeypatch.setattr(stagediff, 'LESSONS', tmp_path)
    status, out = run(['q2_l08_packaging', 'final'])
    assert status == 0
    assert out.startswith('q2_l08_packaging/ and final/ are not one lesson apart')
    assert '"From the course to final/"' in out
    assert re.search(r'  server/server/server\.py +7 +final/server/src/jim_server/engine\.py ',
                     out)
    assert re.search(r'  server/server/server_storage\.py +1 +'
                     r'final/server/src/jim_server/storage\.py ', out)
    assert re.search(r'  client/client/protocol\.py +1 +final/protocol/src/jim/framing\.py ', out)
    assert re.search(r'  client/client/__init__\.py +0 +final/client/src/jim_client/__init__\.py',
                     out)
    # Each __init__.py maps to its own side's only (it would match all three by name).
    assert out.count('final/server/src/jim_server/__init__.py') == 1
    assert out.count('final/client/src/jim_client/__init__.py') == 1
    assert re.search(r'  server/setup\.py +1 +\(not in final/\)', out)


def test_what_running_a_stage_leaves_is_ignored():
    # Newcomer item 4: the launcher's output, the server window's settings, logs, databases.
    left = ['lessons/q2_l01_launcher/server.out', 'lessons/q2_l01_launcher/client1.out',
            'lessons/q2_l04_contacts_gui/server.ini', 'server.ini', 'lessons/x/server.log',
            'lessons/q2_l03_orm/server.db', 'client_alice.db', 'final/docs/book/q1/index.md',
            'server_q2_l06_auth.ini', 'server_q2_l03_orm.db', 'client_q2_l05_client_gui_bob.db']
    done = subprocess.run(['git', 'check-ignore', '--no-index', *left], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert sorted(done.stdout.split()) == sorted(left)
    kept = subprocess.run(['git', 'check-ignore', '--no-index', 'lessons/q1_l03_jim/server.py'],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert kept.returncode == 1


def test_a_moved_file_is_diffed_against_where_it_was(tmp_path):
    # Q2 L8 moves the modules into packages and copies the shared ones into both.
    shared = 'PORT = 7777\nNAME = "jim"\n'
    write(tmp_path / 'old', {'server.py': 'import socket\nfrom protocol import PORT\n',
                             'protocol.py': shared})
    write(tmp_path / 'new', {'server/pkg/server.py': 'import socket\nfrom .protocol import PORT\n',
                             'server/pkg/protocol.py': shared, 'client/pkg/protocol.py': shared,
                             'run_server.py': 'print("run")\n'})
    changes = compare(tmp_path / 'old', tmp_path / 'new')
    assert [(change.label, change.status) for change in changes] == [
        ('protocol.py +> client/pkg/protocol.py', 'copied'), ('run_server.py', 'added'),
        ('protocol.py => server/pkg/protocol.py', 'moved'),
        ('server.py => server/pkg/server.py', 'moved')]
    text = render_diff(changes, 'old', 'new')
    assert '--- old/server.py\n+++ new/server/pkg/server.py\n' in text
    assert '-from protocol import PORT\n+from .protocol import PORT\n' in text
    assert 'moved unchanged: old/protocol.py -> new/server/pkg/protocol.py\n' in text
    assert 'copied unchanged: old/protocol.py -> new/client/pkg/protocol.py\n' in text
    assert render_stat(changes).splitlines()[-1] == \
        ' 4 files changed, 2 insertions(+), 1 deletion(-)'


def test_a_removed_file_unlike_the_added_one_of_its_name_is_not_moved(tmp_path):
    write(tmp_path / 'old', {'server.py': 'import socket\n' * 5})
    write(tmp_path / 'new', {'server/server.py': 'import selectors\n' * 5})
    assert [change.status for change in compare(tmp_path / 'old', tmp_path / 'new')] == \
        ['removed', 'added']


def test_against_final_the_modules_of_a_package_are_mapped_by_name():
    status, out = run(['q2_l08_packaging', 'final'])
    assert status == 0
    assert re.search(r'  server/messenger_server/server\.py +\d+ +'
                     r'final/server/src/jim_server/engine\.py', out)
    assert re.search(r'  client/messenger_client/__init__\.py +\d+ +'
                     r'final/client/src/jim_client/__init__\.py', out)
