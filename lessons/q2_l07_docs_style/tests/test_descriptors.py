"""Tests of the Port descriptor."""
import unittest

from descriptors import Port


class Endpoint:
    """A class with a checked port."""

    port = Port()

    def __init__(self, port):
        self.port = port


class TestPort(unittest.TestCase):
    def test_valid_ports_are_kept(self):
        for port in (1024, 7777, 65535):
            with self.subTest(port=port):
                self.assertEqual(Endpoint(port).port, port)

    def test_ports_out_of_range_are_refused(self):
        for port in (-1, 0, 80, 1023, 65536):
            with self.subTest(port=port), self.assertRaisesRegex(ValueError, str(port)):
                Endpoint(port)

    def test_non_numbers_are_refused(self):
        for port in ('7777', 7777.0, True, None):
            with self.subTest(port=port), self.assertRaises(TypeError):
                Endpoint(port)

    def test_each_object_has_its_own_port(self):
        first, second = Endpoint(2000), Endpoint(3000)
        self.assertEqual((first.port, second.port), (2000, 3000))

    def test_class_access_returns_the_descriptor(self):
        self.assertIsInstance(Endpoint.port, Port)


if __name__ == '__main__':
    unittest.main()
