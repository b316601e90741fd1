"""Run the console client without installing it: ``python run_client.py 127.0.0.1 7777 -n bob``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / 'client'))

from messenger_client.client import main  # noqa: E402  pylint: disable=wrong-import-position

raise SystemExit(main())
