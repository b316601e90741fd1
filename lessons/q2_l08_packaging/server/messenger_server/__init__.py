"""The JIM chat server of lesson Q2 L8, as a package: ``messenger-server`` runs ``server.main``."""
