"""Tests of the two logging configurations."""
import logging
import logging.handlers
import os
import re

import client_log_config
import server_log_config
from logs import InTemporaryDirectory

RECORD = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) +(\w+) (.*)$')


class TestServerLogConfig(InTemporaryDirectory):
    def test_file_rotates_daily(self):
        server_log_config.configure()
        handlers = [h for h in logging.getLogger().handlers
                    if isinstance(h, logging.handlers.TimedRotatingFileHandler)]
        self.assertEqual(len(handlers), 1)
        self.assertEqual(handlers[0].when, 'MIDNIGHT')

    def test_record_has_time_level_module_and_message(self):
        server_log_config.configure()
        logging.getLogger('server').warning('disk is %s', 'full')
        with open(os.path.join(self.directory, 'server.log'), encoding='utf-8') as file:
            line = file.read().strip()
        self.assertEqual(RECORD.match(line).groups(),
                         ('WARNING', 'test_log_config', 'disk is full'))


class TestClientLogConfig(InTemporaryDirectory):
    def test_record_goes_to_client_log(self):
        client_log_config.configure()
        logging.getLogger('client').debug('Привет')
        with open(os.path.join(self.directory, 'client.log'), encoding='utf-8') as file:
            line = file.read().strip()
        self.assertEqual(RECORD.match(line).groups(), ('DEBUG', 'test_log_config', 'Привет'))
