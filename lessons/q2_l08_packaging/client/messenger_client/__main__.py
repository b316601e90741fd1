"""``python -m messenger_client``: the same as the ``messenger-client`` command (the console)."""
from .client import main

raise SystemExit(main())
