"""The engine's way to the database: one inline ``Writer``, and what a
storage fault means for calling.

A failed write (disk full, I/O error) becomes a retryable ``storage``
refusal, never a final one: the phone keeps the message and sends it again.
After a failure, and while the disk is nearly full, no new work is handed out.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Callable

from phone_agent import protocol as p

from .. import db
from ..jobs import Writer
from . import EngineError

log = logging.getLogger(__name__)

STORAGE_PAUSE_S = 5.0  # after a failed write, no new leases for this long


class GuardedStore:
    def __init__(self, database: str, *, disk=None, on_change: Callable[[], None] = lambda: None,
                 on_recovered: Callable[[], None] = lambda: None):
        # inline: no thread hop per statement, and no waiting on the file lock
        self.writer = Writer(lambda: db.connect(database, lock_wait_s=0), inline=True)
        self.disk = disk                      # server.disk.DiskGuard, or None (no check)
        self.on_change = on_change            # the dashboard's picture changed
        self.on_recovered = on_recovered      # writes work again after a failure
        self.error: str | None = None
        self.error_at = 0.0                   # time.monotonic() of the last failure
        self.pause_s = STORAGE_PAUSE_S

    def __call__(self, fn, *args, **kwargs):
        """Run a named database function; a failure raises ``EngineError(storage)``."""
        try:
            result = self.writer(fn, *args, **kwargs)
        except sqlite3.Error as exc:
            if self.error is None:
                log.error("database write failed: %s", exc)
            self.error, self.error_at = str(exc)[:200], time.monotonic()
            self.on_change()
            raise EngineError(p.STORAGE, f"the server could not store this ({exc}); send it again") from None
        if self.error is not None and self.paused_for() <= 0:
            log.warning("database writes work again")
            self.error = None
            self.on_recovered()
            self.on_change()
        return result

    def paused_for(self) -> float:
        """Seconds left of the pause after the last failure (0 or less: none)."""
        return self.pause_s - (time.monotonic() - self.error_at) if self.error is not None else 0.0

    def blocked(self) -> bool:
        """No new work while the disk is nearly full or the database just failed a write."""
        if self.paused_for() > 0:
            return True
        return bool(self.disk is not None and self.disk.low())

    def status(self) -> dict:
        status = dict(self.disk.status()) if self.disk is not None else {"low": False}
        status["error"] = self.error
        return status
