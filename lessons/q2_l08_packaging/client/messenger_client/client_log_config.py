"""Logging of the client: a file in the working directory (the console is for the chat)."""
import logging.config

LOG_FORMAT = '%(asctime)s %(levelname)-8s %(module)s %(message)s'
LOG_FILE = 'client.log'


def configure(directory='.'):
    """Send every record to ``directory/client.log``."""
    logging.config.dictConfig({
        'version': 1,
        'disable_existing_loggers': False,
        'formatters': {'standard': {'format': LOG_FORMAT}},
        'handlers': {
            'file': {
                'class': 'logging.FileHandler',
                'filename': f'{directory}/{LOG_FILE}',
                'encoding': 'utf-8',
                'formatter': 'standard',
                'level': 'DEBUG',
            },
        },
        'root': {'handlers': ['file'], 'level': 'DEBUG'},
    })
