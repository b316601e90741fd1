"""The server's settings file (``server_<folder>.ini``): what the settings window saves for
next time."""
import configparser

SECTION = 'server'


def load_settings(path):
    """Return the settings saved at ``path`` as a dict of strings (empty when there is none)."""
    parser = configparser.ConfigParser()
    parser.read(path, encoding='utf-8')
    return dict(parser[SECTION]) if parser.has_section(SECTION) else {}


def save_settings(path, settings):
    """Save ``settings`` (a dict of strings) at ``path``."""
    parser = configparser.ConfigParser()
    parser[SECTION] = settings
    with open(path, 'w', encoding='utf-8') as file:
        parser.write(file)
