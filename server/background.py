"""Background loops of a running server: lease expiry and the dashboard feed.

Started by ``ars serve`` (not by ``create_app``, so tests drive ``sweep`` and
``dashboard_state`` directly). Both loops go through
``socketio.start_background_task`` / ``socketio.sleep`` so the async mode
stays a setting.
"""

from __future__ import annotations

import json
import logging

from . import db
from .console.dashboard import MANAGERS_ROOM
from .jobs import Writer

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 1.0
DASHBOARD_EVERY_S = 0.5      # at most two dashboard updates a second
COUNTERS_EVERY_S = 1.0


class Live:
    def __init__(self, socketio, engine, database: str, namespace=None):
        self.socketio = socketio
        self.engine = engine
        self.namespace = namespace
        self.reader = Writer(lambda: db.connect(database))   # its own connection, off the loop
        self.started = False
        self._counters: dict | None = None
        self._counters_at = 0.0

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.socketio.start_background_task(self._sweep_loop)
            self.socketio.start_background_task(self._dashboard_loop)

    def counters(self) -> dict | None:
        campaign = self.engine.campaign
        if campaign is None:
            return None
        return self.reader(db.campaign_counters, campaign["id"])

    def dashboard_state(self) -> dict:
        return dict(self.engine.snapshot(), counters=self.counters())

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
        last_version, last_counters, last_sent = None, None, 0.0
        while True:
            self.socketio.sleep(DASHBOARD_EVERY_S)
            try:
                now = self.engine.clock()
                if now - self._counters_at >= COUNTERS_EVERY_S:
                    self._counters, self._counters_at = self.counters(), now
                unchanged = self.engine.version == last_version and self._counters == last_counters
                if unchanged and now - last_sent < 5.0:   # still refresh "last seen" and offline marks
                    continue
                last_version, last_counters, last_sent = self.engine.version, self._counters, now
                state = dict(self.engine.snapshot(), counters=self._counters)
                self.socketio.emit("dashboard", state, namespace="/manager", to=MANAGERS_ROOM)
            except Exception:
                log.exception("dashboard update failed")
