"""The cx_Freeze executables run without Python: a frozen server, frozen clients."""
import subprocess

from messenger import chat_each_way, user_env


def test_frozen_server_and_clients_chat(frozen, tmp_path):
    chat_each_way(frozen / 'jim-server', frozen / 'jim-client', tmp_path)


def test_frozen_window_starts(frozen, tmp_path):
    # --help answers after the module, and so PyQt5, has been imported from the frozen lib.
    done = subprocess.run([frozen / 'jim-client-gui', '--help'], capture_output=True, text=True,
                          env=user_env(tmp_path), timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert 'usage: jim-client-gui' in done.stdout
