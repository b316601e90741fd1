"""Tests of passwords.py: slow salted keys and challenge-response proofs."""
import hashlib
import unittest

from messenger_server.passwords import check_proof, derive_key, make_proof, new_nonce, new_salt


class TestPasswords(unittest.TestCase):
    def test_key_is_pbkdf2_sha256_of_the_salted_password(self):
        expected = hashlib.pbkdf2_hmac('sha256', 'пароль'.encode(), bytes.fromhex('00ff'), 1000)
        self.assertEqual(derive_key('пароль', '00ff', 1000), expected)

    def test_salts_and_nonces_are_random(self):
        self.assertNotEqual(new_salt(), new_salt())
        self.assertNotEqual(new_nonce(), new_nonce())
        self.assertEqual(len(bytes.fromhex(new_salt())), 16)

    def test_same_password_different_salt_different_key(self):
        self.assertNotEqual(derive_key('pw', new_salt(), 1000), derive_key('pw', new_salt(), 1000))

    def test_right_proof_is_accepted(self):
        key, nonce = derive_key('pw', new_salt(), 1000), new_nonce()
        self.assertTrue(check_proof(key, nonce, make_proof(key, nonce)))

    def test_proof_for_another_nonce_or_key_is_refused(self):
        key, nonce = derive_key('pw', '00', 1000), new_nonce()
        self.assertFalse(check_proof(key, new_nonce(), make_proof(key, nonce)))
        self.assertFalse(check_proof(derive_key('other', '00', 1000), nonce,
                                     make_proof(key, nonce)))

    def test_malformed_proofs_are_refused(self):
        key, nonce = derive_key('pw', '00', 1000), new_nonce()
        for proof in (None, 42, '', 'zz', 'Ж' * 64):
            with self.subTest(proof=proof):
                self.assertFalse(check_proof(key, nonce, proof))


if __name__ == '__main__':
    unittest.main()
