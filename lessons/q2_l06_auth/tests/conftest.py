"""Qt draws offscreen in tests: no display is needed (pytest-qt has no setting for this)."""
import os

os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
