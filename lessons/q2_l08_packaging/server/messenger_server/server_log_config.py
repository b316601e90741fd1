"""Logging of the server: a file in the working directory, rotated at midnight, and the console."""
import logging.config

LOG_FORMAT = '%(asctime)s %(levelname)-8s %(module)s %(message)s'
LOG_FILE = 'server.log'


def configure(directory='.'):
    """Send every record to ``directory/server.log`` (a new file daily), INFO up to stderr."""
    logging.config.dictConfig({
        'version': 1,
        'disable_existing_loggers': False,
        'formatters': {'standard': {'format': LOG_FORMAT}},
        'handlers': {
            'file': {
                'class': 'logging.handlers.TimedRotatingFileHandler',
                'filename': f'{directory}/{LOG_FILE}',
                'when': 'midnight',
                'backupCount': 7,
                'encoding': 'utf-8',
                'formatter': 'standard',
                'level': 'DEBUG',
            },
            'console': {
                'class': 'logging.StreamHandler',
                'formatter': 'standard',
                'level': 'INFO',
            },
        },
        'root': {'handlers': ['file', 'console'], 'level': 'DEBUG'},
    })
