"""Tests of ClientStorage on an in-memory SQLite database."""
import unittest

from messenger_client.client_storage import ClientStorage


class TestClientStorage(unittest.TestCase):
    def setUp(self):
        self.storage = ClientStorage('sqlite://')

    def test_known_users_are_replaced(self):
        self.storage.set_known_users(['bob', 'alice', 'bob'])
        self.storage.set_known_users(['carol', 'alice'])
        self.assertEqual(self.storage.known_users(), ['alice', 'carol'])

    def test_contacts(self):
        self.storage.set_contacts(['bob'])
        self.storage.add_contact('carol')
        self.storage.add_contact('carol')
        self.assertEqual(self.storage.contacts(), ['bob', 'carol'])
        self.storage.remove_contact('bob')
        self.assertEqual(self.storage.contacts(), ['carol'])

    def test_history_in_order_and_by_peer(self):
        self.storage.save_message('bob', 'alice', True, 'hi bob')
        self.storage.save_message('#all', 'carol', False, 'hi all')
        self.storage.save_message('bob', 'bob', False, 'hi alice')
        self.assertEqual([row[1:] for row in self.storage.history()],
                         [('alice', 'bob', 'hi bob'), ('carol', '#all', 'hi all'),
                          ('bob', 'bob', 'hi alice')])
        self.assertEqual([row[3] for row in self.storage.history('bob')], ['hi bob', 'hi alice'])


if __name__ == '__main__':
    unittest.main()
