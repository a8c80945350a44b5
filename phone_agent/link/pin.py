"""Which server a phone trusts: the server's URL and, for ``https://``, the
SHA-256 of its TLS certificate (the pin, ``--cert-sha256``).

A server run with ``ars serve --tls`` has a self-signed certificate: no CA
vouches for it, so the phone compares the certificate the server presents
with the fingerprint the manager gave it (폰 등록: the QR code, the commands
shown there, ``ars tls-fingerprint``) and talks to no other. Every HTTP
request (joining, assets) and the Socket.IO link go through one
:meth:`ServerTrust.session`, whose connector carries
``aiohttp.Fingerprint``: aiohttp then skips CA and host-name checks and
compares the SHA-256 of the leaf certificate's DER bytes right after the
TLS handshake, before a single byte of the request (token, enrolment key)
is written. A certificate that differs — an impostor's, valid or not, or
the server's own after it was replaced — ends the connection with
:class:`CertificateRefused`, which names both fingerprints.

``https://`` without a pin trusts the CAs as usual (an operator's
CA-signed certificate); ``http://`` (router mode on the office Wi-Fi, tests
on loopback) is unchanged and takes no pin.

:func:`read_pairing` reads the QR code's text (docs/protocol.md
"Enrolment"): ``{"server", "token", "cert_sha256"?}``.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import aiohttp

from .. import protocol

__all__ = ["CertificateRefused", "PinError", "ServerTrust", "parse_pin", "read_pairing"]

_HEX_PAIRS = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}")
_HEX = re.compile(r"[0-9A-Fa-f]{64}")


class PinError(ValueError):
    """A server URL or certificate fingerprint that cannot be used (the message says why)."""


class CertificateRefused(ConnectionError):
    """The server's certificate is not the one this phone trusts: nothing was sent to it."""

    def __init__(self, message: str, *, expected: str | None = None, got: str | None = None):
        super().__init__(message)
        self.expected = expected
        self.got = got


def parse_pin(text: str, source: str = "--cert-sha256") -> str:
    """A certificate's SHA-256 as 64 lower-case hex digits. Accepts the
    plain 64 digits and the ``AB:CD:…`` form browsers and openssl print."""
    if not isinstance(text, str):
        raise PinError(f"{source}: a SHA-256 fingerprint is text, not {type(text).__name__}")
    value = text.strip()
    if _HEX.fullmatch(value) or _HEX_PAIRS.fullmatch(value):
        return value.replace(":", "").lower()
    shown = value if len(value) <= 100 else value[:100] + "…"
    raise PinError(f"{source}: {shown!r} is not a SHA-256 fingerprint: expected 64 hex digits "
                   f"(or 32 pairs separated by ':'), as 폰 등록 and `ars tls-fingerprint` show it")


def _check_server(server: str, source: str) -> str:
    if not isinstance(server, str):
        raise PinError(f"{source}: the server is a URL, not {type(server).__name__}")
    try:
        parts = urlsplit(server.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise PinError(f"{source}: {server!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PinError(f"{source}: {server!r} must be http://HOST:PORT or https://HOST:PORT")
    return server.strip().rstrip("/")


class ServerTrust:
    """The server a phone talks to and how it checks it (see the module docstring)."""

    def __init__(self, server: str, cert_sha256: str | None = None, *, source: str = "--cert-sha256"):
        self.server = _check_server(server, "--server")
        self.https = self.server.startswith("https://")
        self.cert_sha256 = parse_pin(cert_sha256, source) if cert_sha256 else None
        if self.cert_sha256 and not self.https:
            raise PinError(f"{source} is for an https:// server: {self.server} is plain http, "
                           "has no certificate to compare and is not encrypted")
        # the last certificate refusal seen by a session of this trust (set by its trace)
        self.refusal: CertificateRefused | None = None

    @property
    def ssl(self) -> aiohttp.Fingerprint | bool:
        """What aiohttp's connector is given: the pin, or the default CA checks."""
        return aiohttp.Fingerprint(bytes.fromhex(self.cert_sha256)) if self.cert_sha256 else True

    def session(self, **connector_options) -> aiohttp.ClientSession:
        """A session whose every connection checks the server as this trust
        says; a certificate refusal on any request is kept in :attr:`refusal`
        (python-socketio reports it only as "Connection error")."""
        trace = aiohttp.TraceConfig()

        async def on_exception(_session, _context, params) -> None:
            refused = self.refused(params.exception)
            if refused is not None:
                self.refusal = refused

        trace.on_request_exception.append(on_exception)
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ssl, **connector_options),
                                     trace_configs=[trace])

    def refused(self, exc: BaseException) -> CertificateRefused | None:
        """The :class:`CertificateRefused` an aiohttp error amounts to, or None."""
        if isinstance(exc, CertificateRefused):
            return exc
        if isinstance(exc, aiohttp.ServerFingerprintMismatch):
            got = exc.got.hex()
            return CertificateRefused(
                f"the server at {exc.host}:{exc.port} presented a TLS certificate with SHA-256 {got}, "
                f"but this phone is pinned to {self.cert_sha256} (--cert-sha256): refused, nothing "
                "was sent to it. If the server's certificate was replaced, give the phone the new "
                "fingerprint (폰 등록 page, `ars tls-fingerprint`)",
                expected=self.cert_sha256, got=got)
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return CertificateRefused(
                f"the server {self.server} presented a TLS certificate no CA vouches for "
                f"({exc.certificate_error}): refused. A server run with `ars serve --tls` is "
                "trusted by its fingerprint: give --cert-sha256 (폰 등록 page, `ars tls-fingerprint`)")
        return None


def read_pairing(text: str) -> dict:
    """The QR code of 폰 등록 (JSON ``{"server", "token", "cert_sha256"?}``),
    checked: ``{"server", "token", "cert_sha256"}`` (the last None for
    http). PinError naming the field that is wrong."""
    try:
        payload = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise PinError(f"--pairing: not the QR code's JSON text ({exc})") from None
    try:
        payload = protocol.PAIRING(payload, "pairing")
    except protocol.ProtocolError as exc:
        raise PinError(f"--pairing: {exc.message}") from None
    trust = ServerTrust(payload["server"], payload.get("cert_sha256"), source="pairing.cert_sha256")
    return {"server": trust.server, "token": payload["token"], "cert_sha256": trust.cert_sha256}
