"""``ars serve --tls`` for real: a server process on loopback, phones pinned
to its certificate (real Socket.IO over TLS), pip checking the install
line's hash. (Which certificate ``ars serve`` picks — its own or an
operator's — is tests/test_tls.py.)"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import re
import socket
import ssl
import subprocess
import sys

import pytest
from phone_agent.enrol import enrol
from phone_agent.link import AssetStore, CertificateRefused, Link, LinkRefused, ServerTrust
from click.testing import CliRunner

from server import db
from server.cli import cli

from .test_tls import mode, tls_connections_closed
from .conftest import LiveServer

pytestmark = pytest.mark.slow

ENROL_KEY = "tls-test-key"


def presented_sha256(port: int) -> str:
    """The SHA-256 of the certificate the server sends in the TLS handshake."""
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def https_get(port: int, path: str) -> tuple[int, str, str]:
    """Status, Set-Cookie and body of a GET over https (the certificate is
    checked by :func:`presented_sha256`, not here)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Set-Cookie") or "", response.read().decode()
    finally:
        connection.close()


def seed_enrol_key(path, _uploads):
    store = db.connect(path)
    try:
        db.put_setting(store, "phone_enrol_key", ENROL_KEY)
    finally:
        store.conn.close()


def phones_in(server) -> int:
    store = server.store()
    try:
        return len(db.phones(store))
    finally:
        store.conn.close()


async def join_and_beat(url: str, pin: str, tmp_path) -> tuple[dict, dict]:
    """A phone joins with the enrolment key, connects its link and sends a heartbeat."""
    trust = ServerTrust(url, pin)
    joined = await enrol(url, "rack-07", enrol_key=ENROL_KEY, mode="internet", trust=trust)
    link = Link(url, joined["token"], assets=AssetStore(tmp_path / "assets"), mode="internet", trust=trust)
    await link.start()
    try:
        await link.wait_ready(20)
        beat = await link.heartbeat({"call_state": "idle", "battery": 81})
    finally:
        await link.close()
    return joined, beat


async def refused_everywhere(url: str, pin: str, token: str, tmp_path) -> tuple[str, str]:
    trust = ServerTrust(url, pin)
    with pytest.raises(CertificateRefused) as joined:
        await enrol(url, "impostor-bait", enrol_key=ENROL_KEY, mode="internet", trust=trust)
    link = Link(url, token, assets=AssetStore(tmp_path / "assets"), trust=trust, connect_timeout=3)
    await link.start()
    try:
        with pytest.raises(LinkRefused) as linked:
            await link.wait_ready(20)
    finally:
        await link.close()
    await tls_connections_closed()
    return str(joined.value), linked.value.message


def test_ars_serve_tls_makes_its_certificate_once_and_pinned_phones_work_over_it(tmp_path):
    server = LiveServer(tmp_path, seed=seed_enrol_key, args=("--tls",))
    try:
        fingerprint = presented_sha256(server.port)
        printed = CliRunner().invoke(cli, ["tls-fingerprint", "--db", server.db])
        assert printed.output.strip() == fingerprint
        assert f"for the phones (--cert-sha256): {fingerprint}" in server.log_path.read_text()
        assert mode(server.db) == 0o600 and mode(tmp_path / "tls" / "key.pem") == 0o600

        status, cookie, _body = https_get(server.port, "/login")
        assert status == 200 and "; Secure" in cookie
        # the console is not served in clear on the same port
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as plain:
            plain.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" not in plain.recv(4096)

        # A phone pinned to this certificate joins, connects and beats.
        joined, beat = asyncio.run(join_and_beat(server.url, fingerprint, tmp_path))
        assert beat == {"ok": True} and phones_in(server) == 1

        # Pinned to another certificate, it sends neither key nor token.
        other = hashlib.sha256(b"another certificate").hexdigest()
        join_error, link_error = asyncio.run(refused_everywhere(server.url, other, joined["token"], tmp_path))
        for message in (join_error, link_error):
            assert f"SHA-256 {fingerprint}, but this phone is pinned to {other}" in message
        assert phones_in(server) == 1
        log = server.log_path.read_text()
        assert log.count("phone 1 connected") == 1 and "Traceback" not in log

        # pip refuses a package whose hash is not the one the install line carries.
        page = https_get(server.port, "/phone-agent/")[2]
        line = re.search(r"pip install --trusted-host (\S+) (\S+)#sha256=([0-9a-f]{64})", page)
        assert line.group(1) == f"127.0.0.1:{server.port}"
        tampered = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-index", "--disable-pip-version-check",
             "-d", str(tmp_path / "dl"), "--trusted-host", line.group(1), f"{line.group(2)}#sha256={'0' * 64}"],
            capture_output=True, text=True, timeout=120)
        assert tampered.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in tampered.stderr
        assert f"Got        {line.group(3)}" in tampered.stderr     # what the server serves is the line's hash

        # A second start uses the same certificate: the phones' pin still holds.
        server.stop()
        server.start()
        assert presented_sha256(server.port) == fingerprint
        assert server.log_path.read_text().count("(made now)") == 1
    finally:
        server.stop()
