"""Qt draws offscreen in the admin window's tests: no display is needed."""
import os

# pytest-qt has no setting for the platform: Qt reads it when the application starts.
os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
