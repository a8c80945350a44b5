"""The database, behind one package.

A real SQLite file in WAL mode, opened through sqlite-utils. Connections are
in autocommit mode; every write that touches more than one row runs in
``transaction(db)`` (``BEGIN IMMEDIATE``, so two writers queue on the lock
instead of deadlocking on an upgrade). Views and commands call the named
functions here; SQL strings do not leave this package.

``console`` holds what the manager console reads and writes (managers,
log-in, audit, announcements, images, settings, agent lines), ``contacts``
the call lists and the do-not-call list (and the import's bulk insert),
``calling`` what the calling engine does (phones, campaigns, leases, call
records), ``reports`` what 통계 and the exports read, ``migrations`` the schema.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
from pathlib import Path

import click
from flask import current_app, g
from sqlite_utils import Database

from .migrations import migrations

log = logging.getLogger(__name__)

# The database holds the session secret, password hashes and voters' numbers:
# its file (and SQLite's -wal and -shm beside it, which SQLite creates with
# the database file's mode) is readable by its owner only.
FILE_MODE = 0o600
SIDE_FILES = ("", "-wal", "-shm", "-journal")


class NotFound(LookupError):
    """A row the caller named does not exist."""


class Conflict(ValueError):
    """A write would break a uniqueness rule (a list name already used, …).

    ``korean`` (formatted with ``values``) is the manager's message, shown
    through ``_()`` (server/i18n.py ``error_message``); the English text is
    for logs and the command line."""

    def __init__(self, message: str, korean: str | None = None, **values):
        super().__init__(message)
        self.korean, self.values = korean, values


def utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# -- connections -----------------------------------------------------------

def connect(path: str | Path, *, lock_wait_s: float = 30.0) -> Database:
    """Open the database file (creating its folder), with the project's pragmas.
    A statement that finds the file locked waits up to ``lock_wait_s``
    seconds (0: fails at once, for a caller that retries on its own)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _create_private(path)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           timeout=30)   # the pragmas below may wait; then lock_wait_s holds
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(lock_wait_s * 1000)}")
    return Database(conn)


def migrate(db: Database) -> list[str]:
    """Apply pending migrations; return the names applied."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


def _create_private(path: Path) -> None:
    """Create the database file, empty, with :data:`FILE_MODE` (SQLite would
    make it 0644 less the umask)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def tighten_file_modes(path: str | Path) -> list[str]:
    """Make the database file and SQLite's files beside it readable by their
    owner only, when an earlier version left them readable by others (one
    log line each, then they stay tightened). Returns the files changed."""
    changed = []
    for suffix in SIDE_FILES:
        side = Path(f"{path}{suffix}")
        try:
            mode = side.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(side, mode & 0o700)
                changed.append(str(side))
                log.warning("%s was readable by other users (%o); now by its owner only (%o)",
                            side, mode, mode & 0o700)
        except FileNotFoundError:
            continue
    return changed


def init_db(path: str | Path) -> list[str]:
    tighten_file_modes(path)
    db = connect(path)
    try:
        return migrate(db)
    finally:
        db.conn.close()


@contextlib.contextmanager
def transaction(db: Database):
    """One write transaction taken with BEGIN IMMEDIATE; rolled back on error."""
    if db.conn.in_transaction:
        yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


def get_db() -> Database:
    """The request's connection, opened on first use and closed on teardown."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


def init_app(app) -> None:
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)


@click.command("init-db")
def init_db_command():
    """Create or upgrade the database schema."""
    applied = init_db(current_app.config["DATABASE"])
    click.echo(f"applied {len(applied)} migration(s)")


def _rows(cursor) -> list[dict]:
    return [dict(row) for row in cursor.fetchall()]


def _one(cursor) -> dict | None:
    row = cursor.fetchone()
    return dict(row) if row is not None else None



from .console import *  # noqa: E402,F401,F403
from .contacts import *  # noqa: E402,F401,F403
from .calling import *  # noqa: E402,F401,F403
from .campaign_setup import *  # noqa: E402,F401,F403
from .reports import *  # noqa: E402,F401,F403
from .sessions import *  # noqa: E402,F401,F403
from .uploads import *  # noqa: E402,F401,F403
