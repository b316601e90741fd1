"""``python -m messenger_server``: the same as the ``messenger-server`` command."""
from .server import main

raise SystemExit(main())
