"""The frozen ``jim-client``."""
from jim_client.console import main

raise SystemExit(main())
