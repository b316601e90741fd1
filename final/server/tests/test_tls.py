"""TLS: the server speaks it with --tls-cert/--tls-key; the client verifies the certificate."""
# pytest hands each fixture to the functions that name it as a parameter of that name.
# pylint: disable=redefined-outer-name
import datetime
import ipaddress
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jim_client.connection import Connection
from jim.messages import msg

from jim_server.cli import parse_args
from jim_server.engine import Server
from jim_server.settings import Settings
from jim_server.storage import Storage


def self_signed(folder):
    """Write a certificate for 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'jim test')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / 'cert.pem', folder / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    """Serve alice (password ``secret``) over TLS with a self-signed certificate."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    storage = Storage(f'sqlite:///{tmp_path}/s.db')
    storage.add_user('alice', 'secret', iterations=4096)
    server = Server(Settings('127.0.0.1', 0), storage, context)
    server.listen()
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield server, cert
    server.stop()
    thread.join(10)
    storage.close()


def test_login_and_message_over_tls(tls_server):
    server, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    with Connection(*server.address, tls=context) as conn:
        conn.login('alice', 'secret')
        response = conn.request(msg('alice', 'to myself, encrypted on the wire'))
        assert response['response'] == 200
        assert conn.receive()['message'] == 'to myself, encrypted on the wire'


def test_client_refuses_an_unknown_certificate(tls_server):
    server, _ = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        Connection(*server.address, tls=ssl.create_default_context())


def test_plain_client_on_a_tls_port_goes_nowhere(tls_server):
    server, cert = tls_server
    with Connection(*server.address, timeout=5) as plain:
        plain.send(msg('#all', 'hi'))
        with pytest.raises((ConnectionError, OSError)):
            plain.receive()
    context = ssl.create_default_context(cafile=str(cert))
    with Connection(*server.address, tls=context) as conn:      # the server goes on
        conn.login('alice', 'secret')


def test_a_key_without_a_certificate_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        parse_args(['--tls-key', 'key.pem'])
    assert stop.value.code == 2
    assert '--tls-key needs --tls-cert' in capsys.readouterr().err
