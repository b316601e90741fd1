"""``python -m jim_client``."""
from jim_client.console import main

raise SystemExit(main())
