"""Issue item 2: stages run one after another from one folder keep their files apart.

Started from the repository root as the root README shows, Q2 L3-L5 used to leave server.db,
server.ini and client_<name>.db there; Q2 L5's window then showed Q2 L4's history and Q2 L6
stopped on Q2 L5's database (``no such column: users.salt``). Here Q2 L3 to Q2 L8 run in turn
in one folder, each as its manifest starts it, with a login, a message to #all and a client
that keeps its history; each must stop cleanly and leave a database of its own.
"""
import subprocess

from servers import ServerProcess
from stages import LESSONS, load_stage
from wire import TEST_PASSWORD, authenticate, msg, presence

SEQUENCE = ['q2_l03_orm', 'q2_l04_contacts_gui', 'q2_l05_client_gui', 'q2_l06_auth',
            'q2_l07_docs_style', 'q2_l08_packaging']


def run_stage(stage, folder, log):
    """Start the stage's server in ``folder``, chat once on it, stop it; return its exit code."""
    if stage.has('auth'):
        done = subprocess.run([*stage.command('add_users'), 'alice', 'bob'], cwd=folder,
                              input=f'{TEST_PASSWORD}\n' * 2, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, f'{stage.name} --add-user:\n{done.stdout}{done.stderr}'
        assert 'Traceback' not in done.stderr, done.stderr
    server = ServerProcess(stage, folder, output=log)
    server.start()
    try:
        with server.connect() as conn:
            login = authenticate(conn, 'alice') if stage.has('auth') else \
                conn.request(presence('alice'))
            assert login['response'] == 200, (stage.name, login)
            assert conn.request(msg('#all', f'hello from {stage.name}'))['response'] == 200
        if stage.has('contacts'):       # a client with a database of its own: its history
            stdin = f'{TEST_PASSWORD}\n' if stage.has('auth') else ''
            host, port = server.address
            argv = stage.command('chat_client', host=host, port=port, name='bob')
            done = subprocess.run(argv, cwd=folder, input=f'{stdin}hi\n', capture_output=True,
                                  text=True, timeout=30, check=False)
            assert done.returncode == 0, f'{stage.name} client:\n{done.stdout}{done.stderr}'
            assert 'Traceback' not in done.stderr, done.stderr
    finally:
        code = server.stop()
    return code


def test_stages_run_one_after_another_from_one_folder_keep_their_files_apart(tmp_path):
    folder = tmp_path / 'root'      # where the user stands, as the root README's commands do
    folder.mkdir()
    for name in SEQUENCE:
        stage = load_stage(LESSONS / name)
        log = tmp_path / f'{name}.out'
        code = run_stage(stage, folder, log)
        output = log.read_text(errors='replace')
        assert code == 0, f'{name} exited with {code} on SIGTERM:\n{output}'
        assert 'Traceback' not in output, f'{name}:\n{output}'
    files = sorted(path.name for path in folder.iterdir())
    servers = [name for name in files if name.startswith('server') and name.endswith('.db')]
    clients = [name for name in files if name.startswith('client') and name.endswith('.db')]
    # One database per stage for the server, one per stage with a client database (Q2 L4 on).
    assert len(servers) == len(SEQUENCE), files
    assert all(any(stage in name for name in servers) for stage in SEQUENCE), files
    assert len(clients) == len(SEQUENCE) - 1, files
