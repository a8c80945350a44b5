"""The phones the server knows, and which connection each one has now.

A phone proves itself with its token when it connects; a newer connection
of the same phone replaces the older one; a disabled, deleted or re-tokened
phone is revoked (the engine then gives back what it held undialled).
"""

from __future__ import annotations

from typing import Callable

from phone_agent import protocol as p

from ..security import token_sha256
from . import EngineError
from .live import LivePhone


class PhoneRoster:
    def __init__(self, clock: Callable[[], float], on_change: Callable[[], None]):
        self.clock = clock
        self.on_change = on_change          # the dashboard's picture changed
        self.phones: dict[int, LivePhone] = {}

    def load(self, rows: list[dict], now: float) -> None:
        """At start-up. Nobody is connected yet: a phone that does not come
        back within the grace gives back what it held undialled."""
        for row in rows:
            self.phones[row["id"]] = LivePhone.from_row(row)
            self.phones[row["id"]].disconnected_at = now

    def authenticate(self, auth, phone_by_token: Callable[[str], dict | None]) -> LivePhone:
        """The phone whose token ``auth`` carries (``{"token", "protocol"}``)."""
        if not isinstance(auth, dict) or not isinstance(auth.get("token"), str):
            raise EngineError("bad_token", "a phone token is required")
        if auth.get("protocol") != p.PROTOCOL_VERSION:
            raise EngineError("protocol", f"this server speaks protocol {p.PROTOCOL_VERSION}")
        row = phone_by_token(token_sha256(auth["token"][:200]))
        if row is None:
            raise EngineError("bad_token", "unknown phone token")
        if not row["enabled"]:
            raise EngineError("disabled", "this phone is disabled on the server")
        live = self.phones.get(row["id"])
        if live is None:
            live = self.phones[row["id"]] = LivePhone.from_row(row)
        live.token_sha256, live.enabled = row["token_sha256"], True
        return live

    def connected(self, phone: LivePhone, sid: str) -> str | None:
        """Returns the sid of an older connection of the same phone, to be closed."""
        older = phone.sid if phone.sid != sid else None
        phone.sid, phone.said_hello, phone.last_seen = sid, False, self.clock()
        phone.disconnected_at = None
        self.on_change()
        return older

    def disconnected(self, phone_id: int, sid: str) -> None:
        phone = self.phones.get(phone_id)
        if phone and phone.sid == sid:
            phone.sid, phone.said_hello = None, False
            phone.disconnected_at = self.clock()
            self.on_change()

    def connection_valid(self, phone_id: int, sid: str) -> bool:
        """Whether ``sid`` is the phone's current connection and the phone may work."""
        phone = self.phones.get(phone_id)
        return phone is not None and phone.enabled and phone.sid == sid

    def working(self, phone_id: int, *, hello_needed: bool = True) -> LivePhone:
        """The phone a message came from, if it may work; it was seen now."""
        phone = self.phones.get(phone_id)
        if phone is None or not phone.enabled:
            raise EngineError(p.REVOKED, "this phone was disabled or deleted on the server")
        if hello_needed and not phone.said_hello:
            raise EngineError(p.NOT_HELLO, "send hello first")
        phone.last_seen = self.clock()
        return phone

    def update(self, phone_id: int, row: dict | None) -> tuple[LivePhone | None, str | None]:
        """The console changed a phone (``row``; None: deleted). Returns the
        phone to revoke and why (deleted, disabled, given a new token), or
        (None, None)."""
        live = self.phones.get(phone_id)
        if row is None:
            self.phones.pop(phone_id, None)
            return (live, "deleted") if live is not None else (None, None)
        if live is None:
            self.phones[phone_id] = LivePhone.from_row(row)
            return None, None
        live.name, live.mode, live.group_name = row["name"], row["mode"], row["group_name"]
        live.enabled = bool(row["enabled"])
        retokened = live.token_sha256 != row["token_sha256"]
        live.token_sha256 = row["token_sha256"]
        if not live.enabled or retokened:
            return live, "disabled" if not live.enabled else "given a new token"
        return None, None

    def revoked(self, phone: LivePhone) -> str | None:
        """Cut the phone's connection in the roster; returns its sid to close."""
        sid, phone.sid, phone.said_hello = phone.sid, None, False
        phone.disconnected_at = None
        return sid
