"""Lesson Q2 L7: the documentation builds without a warning, and the linters find nothing.

Each runs as a student runs it (README, "Build the documentation and check the style"), from
the stage folder, with the settings kept in it (``pyproject.toml``, ``docs/conf.py``).
"""
import subprocess
import sys
from pathlib import Path

STAGE = Path(__file__).resolve().parent.parent


def run(*args):
    """Run ``python -m ARGS`` in the stage folder; return the finished process."""
    return subprocess.run([sys.executable, '-m', *args], cwd=STAGE, capture_output=True,
                          text=True, timeout=300, check=False)


def test_docs_build_without_a_warning(tmp_path):
    done = run('sphinx', '-W', '--keep-going', '-q', '-b', 'html',
               '-d', str(tmp_path / 'doctrees'), 'docs', str(tmp_path / 'html'))
    assert done.returncode == 0, done.stdout + done.stderr
    modules = (tmp_path / 'html' / 'modules.html').read_text(encoding='utf-8')
    for name in ('login_required', 'ChatClient', 'ServerStorage', 'derive_key'):
        assert name in modules, name


def test_pylint_finds_nothing():
    python_files = [*sorted(path.name for path in STAGE.glob('*.py')), 'docs/conf.py']
    done = run('pylint', '--score=n', *python_files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_autopep8_would_change_nothing():
    done = run('autopep8', '--diff', '--exit-code', '--recursive', '.')
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ''
