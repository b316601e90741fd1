"""Tests of the repository's tools: the stage diff and ``nox -s check``.

Run them with ``nox -s "tests(tools)"`` (or ``pytest tools/tests`` with tests/requirements.txt
and lessons/q2_l06_auth/requirements.txt installed). The tools import the manifests' reader
from tests/ and each other from tools/.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / 'tests'), str(ROOT / 'tools')]
