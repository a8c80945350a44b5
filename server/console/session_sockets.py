"""Which live dashboard sockets (``/manager``) belong to which console session.

A socket is registered when its connection is accepted and forgotten when it
closes. Ending a session drops its sockets at once (:meth:`drop`); sessions
that end elsewhere (``ars create-manager --update`` in another process) or by
the clock are found by :meth:`sweep`, which the dashboard loop runs before
every update it sends (server/background.py), so no update reaches a socket
whose session has ended.
"""

from __future__ import annotations

import logging

from ..security import address_allowed, session_end_reason

log = logging.getLogger(__name__)

NAMESPACE = "/manager"


class SessionSockets:
    def __init__(self, socketio):
        self.socketio = socketio
        self._by_key: dict[str, set[str]] = {}
        self._socket: dict[str, tuple[str, str]] = {}     # sid -> (session key, address)

    def add(self, key: str, sid: str, address: str) -> None:
        self._by_key.setdefault(key, set()).add(sid)
        self._socket[sid] = (key, address)

    def discard(self, sid: str) -> None:
        key, _address = self._socket.pop(sid, (None, None))
        if key is not None:
            sids = self._by_key.get(key, set())
            sids.discard(sid)
            if not sids:
                self._by_key.pop(key, None)

    def keys(self) -> list[str]:
        return list(self._by_key)

    def sids(self, key: str) -> set[str]:
        return set(self._by_key.get(key, ()))

    def drop(self, key: str) -> int:
        """Close every socket of one session; how many were open."""
        sids = self._by_key.pop(key, set())
        for sid in sids:
            self._socket.pop(sid, None)
            self._disconnect(sid)
        return len(sids)

    def drop_outside(self, networks) -> int:
        """Close every socket whose address the allow-list no longer admits."""
        outside = [sid for sid, (_key, address) in self._socket.items()
                   if not address_allowed(address, networks)]
        for sid in outside:
            self.discard(sid)
            self._disconnect(sid)
        return len(outside)

    def sweep(self, rows: list[dict], now: float, *, idle_s: float, max_s: float) -> dict[str, str]:
        """Given the stored rows of :meth:`keys` (``rows``; a key without a row
        has gone), drop the sockets of every session that may no longer be
        used; return {key: reason} of those still open in the database (the
        caller marks them ended)."""
        by_key = {row["id"]: row for row in rows}
        newly_ended = {}
        for key in self.keys():
            row = by_key.get(key)
            reason = session_end_reason(row, now, idle_s=idle_s, max_s=max_s)
            if reason is None:
                continue
            if row is not None and row.get("ended_at") is None:
                newly_ended[key] = reason
            dropped = self.drop(key)
            log.info("console session %s… ended (%s): %d dashboard socket(s) closed", key[:8], reason, dropped)
        return newly_ended

    def _disconnect(self, sid: str) -> None:
        try:
            self.socketio.server.disconnect(sid, namespace=NAMESPACE)
        except Exception:   # already gone: nothing left to close
            log.debug("socket %s was already closed", sid, exc_info=True)
