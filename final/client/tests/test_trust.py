"""The trust store: the first key seen is trusted, a different one is a change until accepted."""
import base64

from jim_client.e2e import KeyPair
from jim_client.trust import TrustStore, Verdict, fingerprint


def test_the_first_key_is_trusted_and_a_new_one_is_a_change_until_accepted(tmp_path):
    first, second = KeyPair.generate().public, KeyPair.generate().public
    store = TrustStore(tmp_path / 'trust' / 'alice@s1.json')
    assert store.check('bob', first) is Verdict.NEW
    assert store.check('bob', first) is Verdict.TRUSTED
    assert store.check('bob', second) is Verdict.CHANGED
    assert not store.trusted('bob', second)
    store.accept('bob', second)
    again = TrustStore(tmp_path / 'trust' / 'alice@s1.json')     # kept between runs
    assert again.check('bob', second) is Verdict.TRUSTED
    assert again.check('bob', first) is Verdict.TRUSTED          # accepted before: two devices
    assert again.known('bob') == [first, second]
    assert (tmp_path / 'trust' / 'alice@s1.json').stat().st_mode & 0o777 == 0o600


def test_no_key_where_one_was_accepted_is_a_change():
    store = TrustStore()
    assert store.check('carol', None) is Verdict.TRUSTED         # never had one: nothing lost
    store.check('bob', KeyPair.generate().public)
    assert store.check('bob', None) is Verdict.CHANGED
    store.accept('bob', None)                                    # the user agrees: forgotten
    assert not store.known('bob')


def test_a_fingerprint_is_the_sha256_of_the_raw_key_in_groups():
    key = base64.b64encode(bytes(32)).decode()
    assert fingerprint(key) == ('6668 7aad f862 bd77 6c8f c18b 8e9f 8e20 0897 1485 6ee2 33b3 '
                                '902a 591d 0d5f 2925')
