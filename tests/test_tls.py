"""Internet mode on TLS, in process: the server's certificate (made once,
its key private), the database's file modes, the console over https (the
QR code, the commands, the Secure cookie), and the phone's pin — checked
against a TLS server the test runs, which stands for an impostor.

The real ``ars serve --tls`` with real phones is tests/test_tls_serve.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import html
import logging
import os
import re
import ssl
import stat

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from phone_agent import cli as phone_cli
from phone_agent.enrol import enrol
from phone_agent.link import (AssetStore, CertificateRefused, Link, LinkRefused, PinError, ServerTrust,
                              parse_pin, read_pairing)
from server import config, db, tls
from server.cli import cli

from .conftest import page_text


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- the server's certificate --------------------------------------------------

def test_the_first_tls_start_makes_a_certificate_and_the_next_reuses_it(tmp_path):
    folder = tls.tls_dir(tmp_path / "ars.db")
    names = tls.wanted_names("203.0.113.7", ["ars.example.org"])
    first = tls.ensure_self_signed(folder, names)
    again = tls.ensure_self_signed(folder, names)
    assert first.created and not again.created
    assert again.sha256 == first.sha256 == tls.file_fingerprint(folder / "cert.pem")
    assert set(first.names) == {"203.0.113.7", "ars.example.org", "127.0.0.1", "localhost"}
    assert mode(first.key_path) == 0o600 and mode(folder) == 0o700
    cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
    life = cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(days=3640) < life < dt.timedelta(days=3651)      # pinned, not CA-trusted: 10 years
    # The pin is the SHA-256 of the certificate's DER bytes, as TLS sends it.
    assert first.sha256 == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def test_a_wildcard_listen_address_is_not_a_certificate_name_and_a_bad_name_is_refused(tmp_path):
    assert tls.wanted_names("0.0.0.0", []) == ["127.0.0.1", "localhost"]
    with pytest.raises(ValueError, match="neither an IP address nor a host name"):
        tls.check_name("ars office!")
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "a.db"), "--tls", "--tls-name", "a b"])
    assert result.exit_code == 2 and "neither an IP address nor a host name" in result.output
    assert not (tmp_path / "tls").exists()


def test_an_operator_certificate_with_someone_elses_key_is_refused(tmp_path):
    cert_pem, _key = tls.make_self_signed(["ars.example.org"])
    _other_cert, other_key = tls.make_self_signed(["ars.example.org"])
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(other_key)
    with pytest.raises(tls.TlsError, match="does not belong to the certificate"):
        tls.load_operator(tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "key.pem").write_text("not a key")
    with pytest.raises(tls.TlsError, match="key.pem is not a PEM private key"):
        tls.load_operator(tmp_path / "cert.pem", tmp_path / "key.pem")
    with pytest.raises(tls.TlsError, match="nope.pem does not exist"):
        tls.load_operator(tmp_path / "nope.pem", tmp_path / "key.pem")


def operator_certificate(tmp_path) -> tuple[str, str, str]:
    """An RSA-2048 certificate as an operator would bring (from its own CA, say)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ars.example.org")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("ars.example.org")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "office-cert.pem", tmp_path / "office-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return str(cert_path), str(key_path), cert.fingerprint(hashes.SHA256()).hex()


def test_serve_uses_the_operators_own_certificate_and_makes_none(tmp_path):
    from server.cli import _server_certificate
    cert_path, key_path, fingerprint = operator_certificate(tmp_path)
    settings = config.load({"ARS_DB": str(tmp_path / "ars.db")})
    chosen = _server_certificate(settings, "127.0.0.1", None, cert_path, key_path, ())
    assert (str(chosen.cert_path), str(chosen.key_path), chosen.sha256) == (cert_path, key_path, fingerprint)
    from_config = config.load({"ARS_DB": str(tmp_path / "ars.db"), "ARS_TLS_CERT": cert_path,
                               "ARS_TLS_KEY": key_path})
    assert _server_certificate(from_config, "127.0.0.1", None, None, None, ()).sha256 == fingerprint
    assert not (tmp_path / "tls").exists()
    assert _server_certificate(settings, "127.0.0.1", None, None, None, ()) is None     # plain http


def test_serve_refuses_half_a_certificate_and_the_fingerprint_command_says_what_is_missing(tmp_path):
    runner = CliRunner()
    half = runner.invoke(cli, ["serve", "--db", str(tmp_path / "a.db"), "--tls-cert", str(tmp_path / "c.pem")])
    assert half.exit_code == 2 and "--tls-cert and --tls-key go together" in half.output
    none_yet = runner.invoke(cli, ["tls-fingerprint", "--db", str(tmp_path / "a.db")])
    assert none_yet.exit_code == 1 and "does not exist" in none_yet.output and "ars serve --tls" in none_yet.output
    made = tls.ensure_self_signed(tls.tls_dir(tmp_path / "a.db"), ["127.0.0.1"])
    printed = runner.invoke(cli, ["tls-fingerprint", "--db", str(tmp_path / "a.db")])
    assert printed.exit_code == 0 and printed.output.strip() == made.sha256


def test_tls_settings_come_from_the_config_file_or_environment(tmp_path):
    assert config.load({"ARS_TLS": "1"})["tls"] is True
    assert config.load({"ARS_TLS": "off"})["tls"] is False
    with pytest.raises(config.ConfigError, match="tls must be true or false"):
        config.load({"ARS_TLS": "maybe"})
    with pytest.raises(config.ConfigError, match="tls_cert and tls_key go together"):
        config.load({"ARS_TLS_CERT": "/etc/ars/cert.pem"})
    both = config.load({"ARS_TLS_CERT": "/etc/ars/cert.pem", "ARS_TLS_KEY": "/etc/ars/key.pem"})
    assert both["tls"] is True
    toml = tmp_path / "ars.toml"
    toml.write_text('tls = true\ntls_names = ["ars.example.org"]\n')
    assert config.load({"ARS_CONFIG": str(toml)})["tls_names"] == ["ars.example.org"]


# -- the database's file modes ---------------------------------------------------

def test_the_database_and_sqlite_files_beside_it_are_readable_by_their_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        store = db.connect(tmp_path / "var" / "ars.db")
        db.migrate(store)
        db.app_secret(store, "session")      # the session secret lives here
        files = sorted(p.name for p in (tmp_path / "var").iterdir())
        modes = {name: mode(tmp_path / "var" / name) for name in files}
        store.conn.close()
    finally:
        os.umask(old)
    assert files == ["ars.db", "ars.db-shm", "ars.db-wal"]
    assert modes == {name: 0o600 for name in files}


def test_a_database_left_readable_by_others_is_tightened_at_start_once(tmp_path, caplog):
    path = tmp_path / "ars.db"
    db.init_db(path)
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="server.db"):
        db.init_db(path)
        db.init_db(path)
    assert mode(path) == 0o600
    assert [r.getMessage() for r in caplog.records].count(
        f"{path} was readable by other users (644); now by its owner only (600)") == 1


# -- the console over TLS ------------------------------------------------------------

FINGERPRINT = hashlib.sha256(b"the server's certificate").hexdigest()


@pytest.fixture
def app_overrides():
    # the test client's requests go to https://localhost
    return {"TLS_CERT_SHA256": FINGERPRINT, "PREFERRED_URL_SCHEME": "https"}


@pytest.fixture
def client(app):
    """The browser on https://localhost: it sends a same-origin Referer, as
    browsers do (Flask-WTF checks it on https)."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = "https://localhost/login"
    return client


def test_over_tls_the_session_cookie_is_never_sent_in_clear(manager):
    response = manager.login()
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "; Secure" in cookie


def test_the_qr_code_a_phone_scans_carries_the_certificate_it_must_pin(logged_in):
    response = logged_in.post("/phones/register", {"name": "rack-07", "mode": "internet"})
    body = response.get_data(as_text=True)
    payload = re.search(r'<code id="pairing-payload">([^<]+)</code>', body).group(1)
    token = re.search(r'<code id="issued-token">([^<]+)</code>', body).group(1)
    paired = read_pairing(html.unescape(payload))        # what the phone reads from the QR code
    assert paired == {"server": "https://localhost", "token": token, "cert_sha256": FINGERPRINT}
    assert f"--server https://localhost --cert-sha256 {FINGERPRINT} --token {token}" in page_text(response)


def test_the_install_line_makes_pip_check_the_package_and_accept_this_host_only(client):
    page = page_text(client.get("/phone-agent/"))
    line = re.search(r"pip install \S+ \S+ \S+", page).group(0)
    match = re.fullmatch(r"pip install --trusted-host localhost (https://localhost/phone-agent/\S+\.tar\.gz)"
                         r"#sha256=([0-9a-f]{64})", line)
    assert match, line
    package = client.get(match.group(1).replace("https://localhost", ""))
    assert hashlib.sha256(package.data).hexdigest() == match.group(2)    # pip refuses any other file
    assert FINGERPRINT in page


# -- the phone's pin ------------------------------------------------------------------

def test_a_fingerprint_is_64_hex_digits_or_the_pairs_a_browser_shows():
    assert parse_pin(FINGERPRINT.upper()) == FINGERPRINT
    assert parse_pin(tls.display_fingerprint(FINGERPRINT)) == FINGERPRINT
    for bad in ("", "abc", FINGERPRINT[:-1], FINGERPRINT + "0", "g" * 64, FINGERPRINT[:62] + ":" + FINGERPRINT[62:]):
        with pytest.raises(PinError, match="is not a SHA-256 fingerprint: expected 64 hex digits"):
            parse_pin(bad)
    with pytest.raises(PinError, match="is for an https:// server: http://172.16.0.100:8000 is plain http"):
        ServerTrust("http://172.16.0.100:8000", FINGERPRINT)
    with pytest.raises(PinError, match="must be http://HOST:PORT or https://HOST:PORT"):
        ServerTrust("ftp://172.16.0.100", None)


@pytest.mark.parametrize("payload, problem", [
    ("not json", "not the QR code's JSON text"),
    ('{"server": "https://203.0.113.7:8443"}', "missing field 'token'"),
    ('{"server": "https://203.0.113.7:8443", "token": "t", "cert_sha256": "12:34"}',
     "pairing.cert_sha256: '12:34' is not a SHA-256 fingerprint"),
    ('{"server": "https://203.0.113.7:8443", "token": "t", "cert_sha256": 7}', "pairing.cert_sha256: must be a string"),
    ('{"server": "javascript:alert(1)", "token": "t"}', "must be http://HOST:PORT or https://HOST:PORT"),
])
def test_a_bad_qr_code_is_refused_naming_the_problem(payload, problem, capsys):
    with pytest.raises(PinError, match=re.escape(problem)):
        read_pairing(payload)
    assert phone_cli.main(["run", "--pairing", payload]) == 2
    assert problem in capsys.readouterr().err


def _open_tls_sockets() -> list:
    from asyncio import selector_events, sslproto
    return [obj for obj in gc.get_objects()
            if isinstance(obj, selector_events._SelectorSocketTransport) and obj._sock is not None
            and isinstance(obj._protocol, sslproto.SSLProtocol)]


async def tls_connections_closed(wait_s: float = 3.0) -> None:
    """aiohttp closes a refused TLS connection by starting TLS's closing
    exchange, which needs the event loop until the peer answers: without
    that the socket is left to the garbage collector (a ResourceWarning in a
    later test). Wait for the exchanges to finish (a busy server answers
    late), then abort what is left: the test is not about a polite close."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while _open_tls_sockets() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    for transport in _open_tls_sockets():
        if transport._loop.is_closed():
            # Left by an earlier asyncio.run: its loop cannot close it any more.
            transport._sock.close()
            transport._sock = None
        else:
            transport.abort()
    await asyncio.sleep(0)      # connection_lost closes the socket


class Impostor:
    """A TLS server on loopback with a valid certificate of its own: it
    records every byte a client sends it after the handshake."""

    def __init__(self, tmp_path):
        cert_pem, key_pem = tls.make_self_signed(["127.0.0.1"])
        (tmp_path / "i-cert.pem").write_bytes(cert_pem)
        (tmp_path / "i-key.pem").write_bytes(key_pem)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(tmp_path / "i-cert.pem", tmp_path / "i-key.pem")
        self.sha256 = tls.fingerprint(cert_pem)
        self.received = b""
        self.handshakes = 0

    async def __aenter__(self):
        async def handle(reader, writer):
            self.handshakes += 1
            try:
                while data := await reader.read(65536):
                    self.received += data
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    await writer.drain()
                    break
            except (ConnectionError, ssl.SSLError):
                pass
            writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=self.context)
        self.url = f"https://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()


def test_a_phone_pinned_to_another_certificate_sends_the_impostor_nothing(tmp_path):
    """An impostor with a perfectly valid certificate of its own stands where
    the server should be: the phone learns nothing was its server and sends
    neither its enrolment key nor its token."""
    async def scenario():
        async with Impostor(tmp_path) as impostor:
            trust = ServerTrust(impostor.url, FINGERPRINT)
            with pytest.raises(CertificateRefused) as joined:
                await enrol(impostor.url, "rack-07", enrol_key="the-office-key", mode="internet", trust=trust)
            link = Link(impostor.url, "the-phone-token", assets=AssetStore(tmp_path / "assets"), trust=trust,
                        connect_timeout=3)
            await link.start()
            try:
                with pytest.raises(LinkRefused) as linked:
                    await link.wait_ready(10)
            finally:
                await link.close()
            # the pin that matches is let through: the same impostor now gets a request
            async with ServerTrust(impostor.url, impostor.sha256).session() as session:
                async with session.get(impostor.url + "/phone-agent/") as answer:
                    assert answer.status == 404
            await tls_connections_closed()
            return impostor, joined.value, linked.value

    impostor, joined, linked = asyncio.run(scenario())
    for message in (str(joined), linked.message):
        assert f"presented a TLS certificate with SHA-256 {impostor.sha256}" in message
        assert f"pinned to {FINGERPRINT}" in message
    assert linked.code == "certificate"
    assert impostor.handshakes >= 3
    assert impostor.received.startswith(b"GET /phone-agent/ ")     # only the request of the right pin
    assert b"the-office-key" not in impostor.received and b"the-phone-token" not in impostor.received


def test_a_phone_without_a_pin_refuses_a_self_signed_server_and_says_to_pin_it(tmp_path):
    async def scenario():
        async with Impostor(tmp_path) as impostor:
            with pytest.raises(CertificateRefused) as refused:
                await enrol(impostor.url, "rack-07", enrol_key="the-office-key", mode="internet")
            await tls_connections_closed()
            return impostor, refused.value

    impostor, refused = asyncio.run(scenario())
    assert "no CA vouches for" in str(refused) and "--cert-sha256" in str(refused)
    assert impostor.received == b""
