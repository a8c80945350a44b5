"""The live dashboard's Socket.IO namespace, ``/manager`` (read-only).

``server/background.py`` sends the dashboard's state to every socket in
:data:`MANAGERS_ROOM`. A connection is accepted only as a console page
would be: from an address the allow-list (접근관리) admits, with a console
session that may still be used (not ended, idle or too old, its manager
not disabled). Accepted sockets are registered under their session
(``session_sockets.py``) and closed when it ends.
"""

from __future__ import annotations

from flask import request
from flask_socketio import Namespace, join_room

from .. import db
from ..extensions import connection_refused
from ..security import address_allowed, parse_networks
from . import sessions

MANAGERS_ROOM = "managers"


class ManagerNamespace(Namespace):
    """/manager: the live dashboard of a logged-in manager (read-only)."""

    def __init__(self):
        super().__init__("/manager")

    def on_connect(self, auth=None):
        """Refused from a blocked address or without a usable console session."""
        address = request.remote_addr or "unknown"
        networks = parse_networks(db.get_setting(db.get_db(), "console_allow_networks", ""))
        if not address_allowed(address, networks):
            raise connection_refused("address", "this address may not open the console (접근관리)")
        key = sessions.current_key()
        row, _reason = sessions.check(key)
        if row is None:
            raise connection_refused("login", "log in to the console first")
        sessions.sockets().add(key, request.sid, address)
        join_room(MANAGERS_ROOM)

    def on_disconnect(self, reason=None):
        sessions.sockets().discard(request.sid)
