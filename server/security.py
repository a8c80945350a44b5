"""Password and PIN hashing, phone tokens, the login lock-out rule, and the console allow-list.

Pure logic: no Flask and no database here, so the rules are tested with
plain values and an injected clock.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, RFC 9106 second recommended profile (t=3, 64 MiB)


def use_fast_hashing() -> None:
    """Cheap argon2 parameters, for the test suite only: hashes made after this
    call verify in about a millisecond. Stored hashes carry their own
    parameters, so verification of older hashes is unaffected."""
    global _hasher
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hash_secret(secret: str) -> str:
    """A slow salted hash (argon2id) of a password or an admin PIN."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A phone's secret token (shown once; only its SHA-256 is stored)."""
    return secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_new_credentials(login_id: str, password: str, pin: str) -> list[str]:
    """Problems with a new manager's credentials, in words a manager understands."""
    problems = []
    if not login_id or len(login_id) > 64 or not login_id.isprintable() or " " in login_id:
        problems.append("manager id must be 1-64 visible characters without spaces")
    if len(password) < 8:
        problems.append("password must be at least 8 characters")
    if not (4 <= len(pin) <= 12 and pin.isdigit()):
        problems.append("admin PIN must be 4-12 digits")
    return problems


@dataclass(frozen=True)
class LockoutPolicy:
    """After ``max_failures`` failed logins within ``window_s`` seconds, from one
    address or for one manager id, refuse logins from that address and for that
    id for ``ban_s`` seconds (defaults 3 / 600 s / 86,400 s, as IP-PBX appliances do)."""

    max_failures: int = 3
    window_s: float = 600
    ban_s: float = 86_400

    def ban_until(self, now: float, failures_by_address: int, failures_by_login: int) -> float | None:
        """Given the failure counts in the window (including the one just made),
        the time the ban ends, or None when no ban is due."""
        if max(failures_by_address, failures_by_login) >= self.max_failures:
            return now + self.ban_s
        return None

    @staticmethod
    def keys(address: str, login_id: str) -> list[str]:
        return [f"address:{address}", f"login_id:{login_id}"]


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Parse an allow-list: CIDR blocks or single addresses, one per line or
    comma-separated. Raises ValueError naming the first bad entry."""
    networks = []
    for raw in text.replace(",", "\n").splitlines():
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"'{entry}' is not an IP address or network (e.g. 172.16.0.0/24)") from None
    return networks


def address_allowed(address: str | None, networks) -> bool:
    """True when the allow-list is empty, the address is loopback (the server
    PC itself can always reach its own console), or it is inside a network."""
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    return any(ip.version == net.version and ip in net for net in networks)


# -- console sessions -------------------------------------------------------------

def new_session_id() -> str:
    """A console session's id for the signed cookie: 256 random bits."""
    return secrets.token_urlsafe(32)


def session_key(session_id: str) -> str:
    """What the server stores for a session id: its SHA-256 (a copy of the
    database holds no cookie that could be replayed)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_end_reason(row: dict | None, now: float, *, idle_s: float, max_s: float) -> str | None:
    """Why a stored session may not be used at ``now``, or None while it is
    valid: ended before (its reason), manager disabled, idle for more than
    ``idle_s`` seconds, or more than ``max_s`` seconds since the log-in."""
    if row is None:
        return "unknown"
    if row.get("ended_at") is not None:
        return row.get("end_reason") or "ended"
    if row.get("disabled_at"):
        return "manager disabled"
    if now - row["created_at"] > max_s:
        return "expired"
    if now - row["last_seen"] > idle_s:
        return "idle"
    return None


def user_agent_summary(user_agent: str | None) -> str:
    """A browser and system in a few words ("Chrome / Windows"), for the list
    of open sessions; never the whole header (untrusted, unbounded)."""
    text = user_agent or ""
    browser = next((name for token, name in (("Edg/", "Edge"), ("Whale/", "Whale"), ("SamsungBrowser", "Samsung"),
                                             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
                                             ("Safari/", "Safari")) if token in text), "")
    system = next((name for token, name in (("Windows", "Windows"), ("Android", "Android"),
                                            ("iPhone", "iOS"), ("iPad", "iOS"), ("Mac OS", "macOS"),
                                            ("Linux", "Linux")) if token in text), "")
    summary = " / ".join(part for part in (browser, system) if part)
    return summary or (text[:40].encode("ascii", "replace").decode() if text else "?")
