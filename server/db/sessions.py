"""Console sessions held on the server, and what ends them.

A row per log-in (``console_session``, migration m010), keyed by the SHA-256
of the random id the browser's cookie carries. Every function takes the
time from its caller (the app's injectable clock) and never decides a rule
itself: when a session has gone idle or too old is ``security.session_end_reason``.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from . import _one, _rows, transaction, utcnow

__all__ = [
    "start_session", "console_session", "touch_session", "end_session", "end_manager_sessions",
    "count_pin_failure", "open_sessions", "sessions_by_ids", "set_manager_disabled",
    "lift_lockouts", "lockout_keys",
]


def start_session(db: Database, key: str, manager_id: int, *, now: float, address: str,
                  user_agent: str | None) -> None:
    db.execute("INSERT INTO console_session (id, manager_id, created_at, last_seen, address, user_agent) "
               "VALUES (?, ?, ?, ?, ?, ?)", [key, manager_id, now, now, address, user_agent])


def console_session(db: Database, key: str) -> dict | None:
    """The session with its manager's id, login and whether the manager is disabled."""
    return _one(db.execute(
        "SELECT s.*, m.login_id, m.disabled_at FROM console_session s "
        "JOIN manager m ON m.id = s.manager_id WHERE s.id = ?", [key]))


def touch_session(db: Database, key: str, now: float, *, lock_wait_s: float = 0.2) -> bool:
    """Mark a session used now. Best effort: while another writer holds the
    database (an import storing a million rows holds it for seconds) the
    page must not wait for it — 취소 of that very import is such a page — so
    after ``lock_wait_s`` the mark is skipped (False) and the idle timer
    lags by that long."""
    previous = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute(f"PRAGMA busy_timeout={int(lock_wait_s * 1000)}")
    try:
        db.execute("UPDATE console_session SET last_seen = ? WHERE id = ? AND ended_at IS NULL", [now, key])
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return False
    finally:
        db.execute(f"PRAGMA busy_timeout={int(previous)}")


def end_session(db: Database, key: str, reason: str, now: float) -> bool:
    """End one session; False when it had already ended (or never existed)."""
    return db.execute("UPDATE console_session SET ended_at = ?, end_reason = ? "
                      "WHERE id = ? AND ended_at IS NULL", [now, reason, key]).rowcount > 0


def end_manager_sessions(db: Database, manager_id: int, reason: str, now: float) -> int:
    """End every open session of one manager; the number ended."""
    return db.execute("UPDATE console_session SET ended_at = ?, end_reason = ? "
                      "WHERE manager_id = ? AND ended_at IS NULL", [now, reason, manager_id]).rowcount


def count_pin_failure(db: Database, key: str) -> int:
    """Add one wrong admin PIN to the session; the session's count so far."""
    with transaction(db):
        db.execute("UPDATE console_session SET pin_failures = pin_failures + 1 WHERE id = ?", [key])
        row = db.execute("SELECT pin_failures FROM console_session WHERE id = ?", [key]).fetchone()
    return row[0] if row else 0


def open_sessions(db: Database, *, idle_since: float, created_since: float) -> list[dict]:
    """Sessions not ended, seen after ``idle_since`` and started after ``created_since``."""
    return _rows(db.execute(
        "SELECT s.*, m.login_id FROM console_session s JOIN manager m ON m.id = s.manager_id "
        "WHERE s.ended_at IS NULL AND s.last_seen >= ? AND s.created_at >= ? AND m.disabled_at IS NULL "
        "ORDER BY s.last_seen DESC", [idle_since, created_since]))


def sessions_by_ids(db: Database, keys: list[str]) -> list[dict]:
    """The rows (with the manager's disabled mark) of the given session keys that exist."""
    if not keys:
        return []
    marks = ",".join("?" * len(keys))
    return _rows(db.execute(
        f"SELECT s.*, m.login_id, m.disabled_at FROM console_session s "
        f"JOIN manager m ON m.id = s.manager_id WHERE s.id IN ({marks})", keys))


def set_manager_disabled(db: Database, login_id: str, disabled: bool, now: float) -> dict:
    """Disable (ending every session) or enable a manager; the manager's row.
    Raises LookupError naming the id when there is no such manager."""
    from . import NotFound
    with transaction(db):
        row = _one(db.execute("SELECT * FROM manager WHERE login_id = ?", [login_id]))
        if row is None:
            raise NotFound(f"no manager {login_id!r}")
        db.execute("UPDATE manager SET disabled_at = ? WHERE id = ?",
                   [utcnow() if disabled else None, row["id"]])
        if disabled:
            end_manager_sessions(db, row["id"], "manager disabled", now)
    return row


def lockout_keys(*, login_id: str | None = None, address: str | None = None) -> list[str]:
    keys = []
    if login_id is not None:
        keys.append(f"login_id:{login_id}")
    if address is not None:
        keys.append(f"address:{address}")
    return keys


def lift_lockouts(db: Database, keys: list[str] | None) -> list[str]:
    """Lift the lock-outs with these keys (None: all of them) and forget the
    failed logins that led to them, so the next mistake does not lock again
    at once. Returns the keys that were locked."""
    with transaction(db):
        if keys is None:
            lifted = [row[0] for row in db.execute("SELECT key FROM lockout ORDER BY key").fetchall()]
            db.execute("DELETE FROM lockout")
            db.execute("DELETE FROM login_failure")
            return lifted
        lifted = []
        for key in keys:
            if db.execute("DELETE FROM lockout WHERE key = ?", [key]).rowcount:
                lifted.append(key)
            kind, _, value = key.partition(":")
            if kind == "address":
                db.execute("DELETE FROM login_failure WHERE address = ?", [value])
            elif kind == "login_id":
                db.execute("DELETE FROM login_failure WHERE login_id = ?", [value])
    return lifted
