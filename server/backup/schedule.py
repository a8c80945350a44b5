"""Automatic backups: every N minutes while a campaign runs, the last K kept.

The settings (``backup_auto`` in the setting table: ``every_min``, default
30, from 5 to 1440; ``keep``, default 10, from 1 to 100) are edited on the
백업 page. ``AutoBackup.tick`` decides and does one step; ``ars serve``
runs it every 30 s as a background task, the archive itself written in a
real thread (``jobs.run_blocking``) so the event loop never waits on it. A
failure is kept (the page and every console page show it), logged and
audited, and never touches calling.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import db
from ..jobs import run_blocking
from . import BackupError, listing
from .archive import create_backup

log = logging.getLogger(__name__)

SETTING_KEY = "backup_auto"
DEFAULTS = {"every_min": 30, "keep": 10}
LIMITS = {"every_min": (5, 1440), "keep": (1, 100)}
CHECK_EVERY_S = 30.0


def settings_from(stored) -> dict:
    """The stored settings, anything missing or out of range at its default."""
    values = dict(DEFAULTS)
    if isinstance(stored, dict):
        for key, (low, high) in LIMITS.items():
            value = stored.get(key)
            if type(value) is int and low <= value <= high:
                values[key] = value
    return values


def parse_settings(form) -> tuple[dict, dict[str, str]]:
    """Settings from the page's form: (values, {field: Korean error})."""
    values, errors = {}, {}
    for key, (low, high) in LIMITS.items():
        text = str(form.get(key, "")).strip()
        if not text.isdigit() or not low <= int(text) <= high:
            errors[key] = f"{low}–{high}"
        else:
            values[key] = int(text)
    return values, errors


@dataclass
class Status:
    last_at: float | None = None      # clock time of the last automatic archive (ok)
    last_name: str | None = None
    error: str | None = None          # the last attempt's failure, until one succeeds
    error_at: float | None = None


class AutoBackup:
    def __init__(self, database: str, uploads: str, directory: str | Path, *, clock: Callable[[], float],
                 room=None):
        self.database, self.uploads, self.directory = database, uploads, Path(directory)
        self.room = room
        self.clock = clock
        self.status = Status()
        listing.remove_stale_temporaries(self.directory, older_than_s=3600)
        newest = listing.archives(self.directory, "auto")
        if newest:
            self.status.last_at = listing.created_at(newest[-1].name).timestamp()
            self.status.last_name = newest[-1].name
        self.started = False

    def _state(self) -> tuple[dict, dict | None]:
        store = db.connect(self.database)
        try:
            return settings_from(db.get_setting(store, SETTING_KEY)), db.active_campaign(store)
        finally:
            store.conn.close()

    def tick(self) -> str | None:
        """Take an archive if a campaign runs and the last one is ``every_min``
        old; keep the newest ``keep``. Returns the new archive's name. Never raises."""
        now = self.clock()
        try:
            settings, campaign = self._state()
            if campaign is None or campaign["state"] != "running":
                return None
            if self.status.last_at is not None and now - self.status.last_at < settings["every_min"] * 60:
                return None
            written = create_backup(self.database, self.uploads, self.directory, kind="auto", now=now,
                                    room=self.room)
            removed = listing.prune(self.directory, settings["keep"], "auto")
        except Exception as exc:  # shown and audited; calling goes on
            return self._failed(now, exc)
        self.status.last_at, self.status.last_name = now, written.path.name
        self.status.error = self.status.error_at = None
        self._audit(True, written.path.name, {"kind": "auto", "size": written.path.stat().st_size,
                                               "removed": removed})
        return written.path.name

    def _failed(self, now: float, exc: Exception) -> None:
        message = exc.user_message if isinstance(exc, BackupError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, BackupError):
            log.exception("automatic backup failed")
        else:
            log.error("automatic backup failed: %s", exc.code)
        self.status.error, self.status.error_at = message, now
        self._audit(False, None, {"kind": "auto", "error": getattr(exc, "code", type(exc).__name__)})
        return None

    def _audit(self, ok: bool, name: str | None, detail: dict) -> None:
        try:
            store = db.connect(self.database)
            try:
                db.audit(store, "backup", actor="auto", target=f"backup {name}" if name else "backup",
                         detail=detail, ok=ok)
            finally:
                store.conn.close()
        except Exception:
            log.exception("automatic backup: the audit entry could not be written")

    def start(self, socketio) -> None:
        """Run ``tick`` every 30 s in the server's background (``ars serve``)."""
        if self.started:
            return
        self.started = True

        def loop():
            while True:
                socketio.sleep(CHECK_EVERY_S)
                run_blocking(self.tick)

        socketio.start_background_task(loop)
