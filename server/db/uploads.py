"""Which uploaded files the database refers to, and what a backup records of it.

``referenced_upload_hashes`` is the one answer to "which files under
``<uploads>/sha256/`` does any row still need": a backup copies exactly
these, and a clean-up of unreferenced files (``ars gc``, the server's
start, ``server/upload_gc.py``) must keep exactly these.
"""

from __future__ import annotations

import json
import re

from sqlite_utils import Database

from . import _one, transaction

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# The tables whose row counts a backup's manifest records (the manager's
# data; phones' live state and log-in failures are left out of the summary).
BACKUP_COUNTED_TABLES = ("contact_list", "contact", "do_not_call", "ment", "image", "agent_line",
                         "phone", "campaign", "campaign_contact", "call", "call_event", "callback",
                         "manager", "audit_log")


def _hashes_in(value) -> set[str]:
    """Every sha256 hex string inside a decoded JSON value (lists, dicts, strings)."""
    if isinstance(value, str):
        return {value} if _SHA256.match(value) else set()
    if isinstance(value, list):
        return set().union(*(_hashes_in(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(_hashes_in(v) for v in value.values())) if value else set()
    return set()


def referenced_upload_hashes(db: Database) -> set[str]:
    """The sha256 of every upload some row refers to: announcements (``ment``),
    images and their originals (``image``), call lists' source files and old
    rejects files (``contact_list``), and every announcement and image a
    campaign took in its snapshot (``campaign.assets``), even one deleted from
    the console since (its phones may still fetch it)."""
    found: set[str] = set()
    queries = ("SELECT sha256 FROM ment",
               "SELECT sha256 FROM image UNION SELECT original_sha256 FROM image",
               "SELECT source_sha256 FROM contact_list UNION SELECT rejects_sha256 FROM contact_list")
    for query in queries:
        found.update(row[0] for row in db.execute(query).fetchall() if row[0] and _SHA256.match(row[0]))
    for (assets,) in db.execute("SELECT assets FROM campaign").fetchall():
        try:
            found |= _hashes_in(json.loads(assets or "null"))
        except ValueError:
            continue
    return found


def sha256_in_use(db: Database, sha256: str) -> bool:
    """Does any row still name this file (a list, an announcement, an image,
    a campaign's snapshot)? Asked before one file is removed with its row."""
    return sha256.lower() in referenced_upload_hashes(db)


def backup_row_counts(db: Database) -> dict[str, int]:
    """Rows of each main table, for a backup's manifest (tables this schema lacks are left out)."""
    present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    return {table: db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
            for table in BACKUP_COUNTED_TABLES if table in present}


def backup_campaign_summary(db: Database) -> dict | None:
    """The campaign a backup is about: the active one, else the newest."""
    row = _one(db.execute("SELECT id, name, state FROM campaign ORDER BY state IN ('running', 'paused') DESC, "
                          "id DESC LIMIT 1"))
    if row is None:
        return None
    done = db.execute("SELECT count(*) FROM call WHERE campaign_id = ? AND result IS NOT NULL",
                      [row["id"]]).fetchone()[0]
    return dict(row, calls_recorded=done)


def applied_migrations(db: Database, migration_set: str = "mobile-ars") -> list[str]:
    """Names of the schema migrations applied to this database, in order."""
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
                        ).fetchone()
    if not exists:
        return []
    return [row[0] for row in db.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ? "
                                         "ORDER BY rowid", [migration_set]).fetchall()]


def pause_running_campaigns(db: Database) -> list[str]:
    """Pause every running campaign (a restored copy's); return their names."""
    with transaction(db):
        names = [row[0] for row in db.execute("SELECT name FROM campaign WHERE state = 'running'").fetchall()]
        db.execute("UPDATE campaign SET state = 'paused' WHERE state = 'running'")
    return names
