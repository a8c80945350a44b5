"""Background loops of a running server: lease expiry and the dashboard feed.

Before each dashboard update the loop closes the sockets of console sessions
that have ended (``session_sweep``): logged out elsewhere, a password changed
by ``ars create-manager --update``, idle or too old, or an address the
allow-list no longer admits.

Started by ``ars serve`` (not by ``create_app``, so tests drive ``sweep`` and
``dashboard_state`` directly). Both loops go through
``socketio.start_background_task`` / ``socketio.sleep`` so the async mode
stays a setting.
"""

from __future__ import annotations

import json
import logging

from . import db
from .calling import counters as campaign_counters
from .console.dashboard import MANAGERS_ROOM
from .jobs import Writer
from .security import parse_networks

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 1.0
DASHBOARD_EVERY_S = 0.5      # at most two dashboard updates a second
COUNTERS_EVERY_S = 1.0


class Live:
    def __init__(self, socketio, engine, database: str, namespace=None, *, sessions=None,
                 config: dict | None = None):
        self.socketio = socketio
        self.engine = engine
        self.namespace = namespace
        self.sessions = sessions            # console.session_sockets.SessionSockets
        self.idle_s = (config or {}).get("SESSION_IDLE_S", 1800)
        self.max_s = (config or {}).get("SESSION_MAX_S", 86_400)
        self.reader = Writer(lambda: db.connect(database))   # its own connection, off the loop
        self.started = False
        self._counters: dict | None = None
        self._idle: list[dict] = []
        self._counters_at = 0.0

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.socketio.start_background_task(self._sweep_loop)
            self.socketio.start_background_task(self._dashboard_loop)

    def counters(self) -> dict | None:
        """The active campaign's numbers (``calling/counters.py``, as the campaign page shows them)."""
        campaign = self.engine.campaign
        if campaign is None:
            return None
        return campaign_counters.summary(self.reader(db.campaign_counters, campaign["id"]))

    def idle(self) -> list[dict]:
        """Why the active campaign dials nothing now (``calling/idle_reason.py``)."""
        campaign = self.engine.campaign
        if campaign is None:
            return []
        queue = self.reader(db.campaign_queue, campaign["id"], self.engine.clock())
        return self.engine.idle_reasons(campaign, queue)

    def _state(self, counters: dict | None, idle: list[dict]) -> dict:
        state = self.engine.snapshot()
        if state["campaign"] is not None:
            state["campaign"] = dict(state["campaign"], idle=idle)
        return dict(state, counters=counters)

    def dashboard_state(self) -> dict:
        return self._state(self.counters(), self.idle())

    def session_sweep(self) -> None:
        """Close the dashboard sockets of sessions that may no longer be used
        and mark the ones that just expired as ended."""
        if self.sessions is None:
            return
        keys = self.sessions.keys()
        if not keys:
            return
        rows, networks = self.reader(_sessions_and_allow_list, keys)
        now = self.engine.clock()
        expired = self.sessions.sweep(rows, now, idle_s=self.idle_s, max_s=self.max_s)
        if expired:
            self.reader(_end_sessions, expired, now)
        self.sessions.drop_outside(parse_networks(networks))

    def _sweep_loop(self) -> None:
        ticks = 0
        while True:
            self.socketio.sleep(SWEEP_EVERY_S)
            ticks += 1
            try:
                self.engine.sweep()
                if ticks % 30 == 0 and self.namespace is not None:
                    log.info("phone event handling: %s", json.dumps(self.namespace.handling_summary()))
            except Exception:
                log.exception("lease sweep failed")

    def _dashboard_loop(self) -> None:
        last_version, last_counters, last_idle, last_sent = None, None, None, 0.0
        while True:
            self.socketio.sleep(DASHBOARD_EVERY_S)
            try:
                self.session_sweep()
            except Exception:
                log.exception("console session sweep failed")
            try:
                now = self.engine.clock()
                if now - self._counters_at >= COUNTERS_EVERY_S:
                    self._counters, self._idle, self._counters_at = self.counters(), self.idle(), now
                unchanged = (self.engine.version == last_version and self._counters == last_counters
                             and self._idle == last_idle)
                if unchanged and now - last_sent < 5.0:   # still refresh "last seen" and offline marks
                    continue
                last_version, last_counters, last_idle, last_sent = (self.engine.version, self._counters,
                                                                     self._idle, now)
                state = self._state(self._counters, self._idle)
                self.socketio.emit("dashboard", state, namespace="/manager", to=MANAGERS_ROOM)
            except Exception:
                log.exception("dashboard update failed")


def _sessions_and_allow_list(store, keys: list[str]) -> tuple[list[dict], str]:
    return db.sessions_by_ids(store, keys), db.get_setting(store, "console_allow_networks", "") or ""


def _end_sessions(store, reasons: dict[str, str], now: float) -> None:
    for key, reason in reasons.items():
        db.end_session(store, key, reason, now)
