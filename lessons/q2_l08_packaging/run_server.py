"""Run the server from this folder without installing it: ``python run_server.py -p 7777``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / 'server'))

from messenger_server.server import main  # noqa: E402  pylint: disable=wrong-import-position

raise SystemExit(main())
