"""The frozen ``jim-client-gui``."""
from jim_client.gui import main

raise SystemExit(main())
