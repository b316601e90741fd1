"""The frozen ``jim-server``."""
from jim_server.cli import main

raise SystemExit(main())
