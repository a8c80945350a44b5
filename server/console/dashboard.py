"""The live dashboard's Socket.IO namespace, ``/manager`` (read-only).

``server/background.py`` sends the dashboard's state to every logged-in
manager in :data:`MANAGERS_ROOM`.
"""

from __future__ import annotations

from flask import session
from flask_socketio import Namespace, join_room

from ..extensions import connection_refused

MANAGERS_ROOM = "managers"


class ManagerNamespace(Namespace):
    """/manager: the live dashboard of a logged-in manager (read-only)."""

    def __init__(self):
        super().__init__("/manager")

    def on_connect(self, auth=None):
        """Refused unless the browser's console session is logged in."""
        if not session.get("manager_id"):
            raise connection_refused("login", "log in to the console first")
        join_room(MANAGERS_ROOM)
