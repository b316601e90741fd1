"""``python -m jim_server``."""
from jim_server.cli import main

raise SystemExit(main())
