"""The server's TLS certificate for internet mode (``ars serve --tls``).

Phones do not trust the certificate through a CA: they pin its SHA-256
(the digest of the certificate's DER bytes, the leaf only), which the
console puts in the phone registration QR code and the commands it shows
(docs/protocol.md "Enrolment"; docs/decisions.md #42). So by default the
server makes its own once, beside the database::

    <db dir>/tls/cert.pem   the self-signed certificate (0644)
    <db dir>/tls/key.pem    its EC P-256 private key (0600)

and uses it on every later start: the fingerprint stays the same until an
operator deletes the folder (then every phone needs the new one). An
operator's own certificate (``--tls-cert FILE --tls-key FILE``, e.g. one a
CA signed for the office's domain) is loaded as it is; its fingerprint is
pinned the same way.

Pure where it can be: :func:`make_self_signed` returns PEM bytes and
:func:`fingerprint` reads them; the file side is :func:`ensure_self_signed`
and :func:`load_operator`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

TLS_DIR = "tls"
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
# Ten years: the certificate is pinned, not trusted through a CA, so a short
# life would only force every phone to be given a new pin; replacing it is
# deleting the folder (decision 42).
VALIDITY_DAYS = 3650
# Always in the certificate, so the server PC itself (and ars serve
# --adb-phones's child) reach it by these names.
LOCAL_NAMES = ("127.0.0.1", "localhost")


class TlsError(Exception):
    """A certificate or key that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class ServerCertificate:
    """The certificate ``ars serve`` listens with."""

    cert_path: Path
    key_path: Path
    sha256: str               # 64 lower-case hex digits: SHA-256 of the leaf certificate's DER
    names: tuple[str, ...]    # its subjectAltName entries (DNS names and addresses)
    created: bool = False     # made on this start


def tls_dir(db_path: str | Path) -> Path:
    """Where the self-signed certificate of the server using ``db_path`` lives."""
    return Path(db_path).resolve().parent / TLS_DIR


def wanted_names(host: str | None, extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The certificate's names: the address the server listens on (not a
    wildcard like 0.0.0.0), the operator's ``--tls-name``s and the local names."""
    names: list[str] = []
    for name in [host or "", *extra, *LOCAL_NAMES]:
        name = name.strip().strip("[]")
        if name and name not in ("0.0.0.0", "::") and name not in names:
            names.append(name)
    return names


def check_name(name: str) -> str:
    """A certificate name: an IP address, or a DNS name of letters, digits,
    hyphens and dots (``*.`` first allowed). ValueError naming it otherwise."""
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        pass
    labels = name.lower().split(".")
    if labels and labels[0] == "*":
        labels = labels[1:]
    if (not labels or len(name) > 253
            or not all(label and len(label) <= 63 and label[0] != "-" and label[-1] != "-"
                       and all(c.isascii() and (c.isalnum() or c == "-") for c in label)
                       for label in labels)):
        raise ValueError(f"{name!r} is neither an IP address nor a host name (letters, digits, '-', '.')")
    return name.lower()


def make_self_signed(names: list[str], *, now: dt.datetime | None = None,
                     days: int = VALIDITY_DAYS) -> tuple[bytes, bytes]:
    """A new EC P-256 key and a self-signed certificate for ``names``
    (subjectAltName; the first is the common name): ``(cert_pem, key_pem)``."""
    names = [check_name(name) for name in names]
    if not names:
        raise ValueError("a certificate needs at least one name")
    now = now or dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mobile ARS"),
                         x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    alt = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # a day back: a phone whose clock is a little behind still accepts it
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the first (leaf) certificate in ``cert_pem``, in hex: what phones pin."""
    return _leaf(cert_pem, "certificate").fingerprint(hashes.SHA256()).hex()


def file_fingerprint(cert_path: str | Path) -> str:
    """:func:`fingerprint` of a PEM file; TlsError naming the file when it
    is missing or not a certificate."""
    cert_path = Path(cert_path)
    return _leaf(_read(cert_path, "certificate"), f"certificate {cert_path}").fingerprint(hashes.SHA256()).hex()


def display_fingerprint(sha256_hex: str) -> str:
    """``AB:CD:…``: the same digest as browsers show it."""
    return ":".join(sha256_hex[i:i + 2] for i in range(0, len(sha256_hex), 2)).upper()


def ensure_self_signed(directory: str | Path, names: list[str]) -> ServerCertificate:
    """The self-signed certificate in ``directory``, made there (once) when
    it has none. A certificate kept from before is used as it is, even when
    ``names`` asks for more (phones pin it; a browser would warn either way);
    a name it lacks is logged."""
    directory = Path(directory)
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    if cert_path.exists() or key_path.exists():
        cert = load_operator(cert_path, key_path)
        missing = [name for name in names if check_name(name) not in cert.names]
        if missing:
            log.warning("the TLS certificate %s was made without %s; phones pin it, so it stays "
                        "(delete %s to make a new one; every phone then needs the new fingerprint)",
                        cert_path, ", ".join(missing), directory)
        return cert
    cert_pem, key_pem = make_self_signed(names)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    _write_new(key_path, key_pem, 0o600)
    _write_new(cert_path, cert_pem, 0o644)
    cert = load_operator(cert_path, key_path)
    log.info("made a self-signed TLS certificate in %s for %s", directory, ", ".join(cert.names))
    return ServerCertificate(cert.cert_path, cert.key_path, cert.sha256, cert.names, created=True)


def load_operator(cert_path: str | Path, key_path: str | Path) -> ServerCertificate:
    """A certificate (PEM; a chain's first certificate is the server's) and
    its private key (PEM, unencrypted), checked to belong together."""
    cert_path, key_path = Path(cert_path), Path(key_path)
    cert_pem = _read(cert_path, "certificate")
    key_pem = _read(key_path, "private key")
    cert = _leaf(cert_pem, f"certificate {cert_path}")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsError(f"the private key {key_path} is encrypted: give it without a passphrase") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TlsError(f"{key_path} is not a PEM private key ({exc})") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, public)
            != cert.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise TlsError(f"the private key {key_path} does not belong to the certificate {cert_path}")
    if os.stat(key_path).st_mode & 0o077:
        log.warning("the TLS private key %s can be read by other users of this machine "
                    "(chmod 600 it)", key_path)
    return ServerCertificate(cert_path, key_path, cert.fingerprint(hashes.SHA256()).hex(), _names(cert))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsError(f"the TLS {what} {path} does not exist") from None
    except OSError as exc:
        raise TlsError(f"cannot read the TLS {what} {path}: {exc.strerror}") from None


def _leaf(cert_pem: bytes, what: str) -> x509.Certificate:
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise TlsError(f"{what} is not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    return chain[0]


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple([str(ip) for ip in alt.get_values_for_type(x509.IPAddress)]
                 + [name.lower() for name in alt.get_values_for_type(x509.DNSName)])


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, created with ``mode`` (never
    readable by others, not even for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)   # the umask may have taken bits away from a 0644 file
