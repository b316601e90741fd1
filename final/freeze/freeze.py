"""Freeze the messenger with cx_Freeze into executables that need no Python installed.

Run with the final/ distributions and cx_Freeze installed (``nox -s freeze`` installs the
built wheels, so what is frozen is what users install)::

    python freeze.py build_exe --build-exe DIR

``DIR`` then holds ``jim-server``, ``jim-client`` and ``jim-client-gui`` and the ``lib``
folder they share. Each launcher here is the console script of the same name.
"""
from pathlib import Path

from cx_Freeze import Executable, setup

import jim_server

HERE = Path(__file__).resolve().parent

setup(
    name='jim-messenger',
    version=jim_server.__version__,
    description='The JIM messenger: server, console client and window',
    executables=[
        Executable(HERE / 'launch_server.py', target_name='jim-server'),
        Executable(HERE / 'launch_client.py', target_name='jim-client'),
        Executable(HERE / 'launch_client_gui.py', base='gui', target_name='jim-client-gui'),
    ],
    options={'build_exe': {
        # Imported by name at run time, where cx_Freeze's import tracing cannot see them.
        'packages': ['jim', 'jim_server', 'jim_client', 'sqlalchemy.dialects.sqlite'],
        'excludes': ['tkinter', 'unittest', 'pytest', 'hypothesis', 'setuptools'],
        'include_msvcr': True,
    }},
)
