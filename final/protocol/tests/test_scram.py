"""SCRAM-SHA-256 against RFC 7677's example, then both sides against each other."""
import base64

import pytest

from jim.scram import (ScramClient, ScramError, ScramServer, escape_username, fake_verifier,
                       make_verifier, unescape_username)

# RFC 7677, section 3.
CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO'
SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0'
SALT = 'W22ZaJ0SNY7soEsUEjb6gQ=='
SERVER_FIRST = f'r={CLIENT_NONCE}{SERVER_NONCE},s={SALT},i=4096'
CLIENT_FINAL = (f'c=biws,r={CLIENT_NONCE}{SERVER_NONCE},'
                'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=')
SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='


def test_client_matches_rfc_7677():
    client = ScramClient('user', 'pencil', nonce=CLIENT_NONCE)
    assert client.first_message() == f'n,,n=user,r={CLIENT_NONCE}'
    assert client.final_message(SERVER_FIRST) == CLIENT_FINAL
    client.verify_server(SERVER_FINAL)


def test_server_matches_rfc_7677():
    server = ScramServer(nonce=SERVER_NONCE)
    assert server.read_first(f'n,,n=user,r={CLIENT_NONCE}') == 'user'
    verifier = make_verifier('pencil', 4096, base64.b64decode(SALT))
    assert server.challenge(verifier) == SERVER_FIRST
    assert server.finish(CLIENT_FINAL) == SERVER_FINAL


def login(password_stored, password_typed, name='алиса'):
    """Run a whole SCRAM exchange; raise ScramError where either side refuses."""
    client, server = ScramClient(name, password_typed), ScramServer()
    assert server.read_first(client.first_message()) == name
    final = client.final_message(server.challenge(make_verifier(password_stored, 4096)))
    client.verify_server(server.finish(final))


def test_round_trip_with_unicode_name_and_password():
    login('пароль, с запятой=', 'пароль, с запятой=')


def test_wrong_password_fails_on_the_server():
    with pytest.raises(ScramError, match='wrong proof'):
        login('right', 'wrong')


def test_unknown_user_gets_a_steady_challenge_and_fails():
    secret = b'k' * 32

    def challenge_salt_and_count(nonce):
        server = ScramServer()
        server.read_first(f'n,,n=ghost,r={nonce}')
        fields = dict(part.split('=', 1) for part in
                      server.challenge(fake_verifier('ghost', secret, 4096)).split(','))
        return fields['s'], fields['i']

    assert challenge_salt_and_count('abc') == challenge_salt_and_count('def')
    assert challenge_salt_and_count('abc')[1] == '4096'      # what real accounts get
    client = ScramClient('ghost', 'anything', nonce='abc')
    client.first_message()
    server = ScramServer()
    server.read_first('n,,n=ghost,r=abc')
    with pytest.raises(ScramError):
        server.finish(client.final_message(server.challenge(fake_verifier('ghost', secret,
                                                                          4096))))


def test_unknown_names_get_other_salts_under_another_secret():
    assert fake_verifier('ghost', b'a' * 32, 4096).salt != \
        fake_verifier('ghost', b'b' * 32, 4096).salt


def test_client_rejects_a_forged_server_signature():
    client, server = ScramClient('alice', 'pw'), ScramServer()
    server.read_first(client.first_message())
    client.final_message(server.challenge(make_verifier('pw', 4096)))
    with pytest.raises(ScramError, match='signature'):
        client.verify_server('v=' + base64.b64encode(b'\0' * 32).decode())


def test_client_refuses_absurd_iterations_and_foreign_nonces():
    client = ScramClient('alice', 'pw', nonce='abc')
    client.first_message()
    with pytest.raises(ScramError, match='iterations'):
        client.final_message('r=abcdef,s=AAAA,i=1000000000')
    with pytest.raises(ScramError, match='nonce'):
        client.final_message('r=xyz,s=AAAA,i=4096')


def test_a_proof_works_once():
    client, server = ScramClient('alice', 'pw'), ScramServer()
    server.read_first(client.first_message())
    final = client.final_message(server.challenge(make_verifier('pw', 4096)))
    server.finish(final)
    with pytest.raises(ScramError):
        server.finish(final)


@pytest.mark.parametrize('message', ['', 'n,,', 'y,,n=a,r=b', 'n,,r=b,n=a', 'n,,n=a=b,r=c',
                                     'n,,n=a,r='])
def test_malformed_client_first_is_refused(message):
    with pytest.raises(ScramError):
        ScramServer().read_first(message)


def test_verifier_holds_no_password_and_differs_per_salt():
    one, two = make_verifier('secret', 4096), make_verifier('secret', 4096)
    assert one.salt != two.salt and one.stored_key != two.stored_key
    assert b'secret' not in one.stored_key + one.server_key


def test_username_escaping_round_trips():
    assert escape_username('a=b,c') == 'a=3Db=2Cc'
    assert unescape_username('a=3Db=2Cc') == 'a=b,c'
