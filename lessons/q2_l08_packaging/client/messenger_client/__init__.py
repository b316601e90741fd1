"""The JIM chat clients of lesson Q2 L8, as a package: ``messenger-client`` (console) runs
``client.main``, ``messenger-client-gui`` (window) ``client_gui.main``."""
