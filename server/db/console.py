"""Named reads and writes for the manager console."""

from __future__ import annotations

import json
import secrets
import sqlite3

from sqlite_utils import Database

from . import Conflict, NotFound, _one, _rows, transaction, utcnow

# -- secrets ---------------------------------------------------------------

def app_secret(db: Database, name: str) -> str:
    """A random secret created once and kept, so sessions survive a restart."""
    with transaction(db):
        row = _one(db.execute("SELECT value FROM app_secret WHERE name = ?", [name]))
        if row:
            return row["value"]
        value = secrets.token_hex(32)
        db.execute("INSERT INTO app_secret (name, value) VALUES (?, ?)", [name, value])
        return value


# -- managers --------------------------------------------------------------

def create_manager(db: Database, login_id: str, password_hash: str, pin_hash: str) -> int:
    try:
        cursor = db.execute(
            "INSERT INTO manager (login_id, password_hash, pin_hash, created_at) VALUES (?, ?, ?, ?)",
            [login_id, password_hash, pin_hash, utcnow()])
    except sqlite3.IntegrityError:
        raise Conflict(f"manager id {login_id!r} already exists") from None
    return cursor.lastrowid


def update_manager_secrets(db: Database, login_id: str, password_hash: str, pin_hash: str,
                           *, now: float) -> dict:
    """New password and PIN for a manager: every session of theirs ends (a
    cookie from before cannot be used again) and the lock-out on their id is
    lifted. Returns what was done: sessions ended, lock-outs lifted."""
    from .sessions import end_manager_sessions, lift_lockouts
    with transaction(db):
        row = _one(db.execute("SELECT id FROM manager WHERE login_id = ?", [login_id]))
        if row is None:
            raise NotFound(f"no manager {login_id!r}")
        db.execute("UPDATE manager SET password_hash = ?, pin_hash = ? WHERE id = ?",
                   [password_hash, pin_hash, row["id"]])
        ended = end_manager_sessions(db, row["id"], "password changed", now)
        lifted = lift_lockouts(db, [f"login_id:{login_id}"])
    return {"sessions_ended": ended, "lockouts_lifted": lifted}


def manager_by_login(db: Database, login_id: str) -> dict | None:
    return _one(db.execute("SELECT * FROM manager WHERE login_id = ?", [login_id]))


def manager_by_id(db: Database, manager_id: int) -> dict | None:
    return _one(db.execute("SELECT * FROM manager WHERE id = ?", [manager_id]))


def count_managers(db: Database) -> int:
    return db.execute("SELECT count(*) FROM manager").fetchone()[0]


# -- login failures and lock-outs ------------------------------------------

def record_login_failure(db: Database, at: float, address: str, login_id: str,
                         window_s: float) -> tuple[int, int]:
    """Store one failure; return failures within the window (by address, by id)."""
    with transaction(db):
        db.execute("DELETE FROM login_failure WHERE at < ?", [at - window_s])
        db.execute("INSERT INTO login_failure (at, address, login_id) VALUES (?, ?, ?)",
                   [at, address, login_id])
        by_address = db.execute(
            "SELECT count(*) FROM login_failure WHERE address = ? AND at >= ?",
            [address, at - window_s]).fetchone()[0]
        by_login = db.execute(
            "SELECT count(*) FROM login_failure WHERE login_id = ? AND at >= ?",
            [login_id, at - window_s]).fetchone()[0]
    return by_address, by_login


def clear_login_failures(db: Database, address: str, login_id: str) -> None:
    db.execute("DELETE FROM login_failure WHERE address = ? OR login_id = ?", [address, login_id])


def set_lockout(db: Database, key: str, until: float) -> None:
    db.execute("INSERT INTO lockout (key, until) VALUES (?, ?) "
               "ON CONFLICT(key) DO UPDATE SET until = max(until, excluded.until)", [key, until])


def lockout_until(db: Database, keys: list[str], now: float) -> float | None:
    marks = ",".join("?" * len(keys))
    row = db.execute(f"SELECT max(until) FROM lockout WHERE key IN ({marks}) AND until > ?",
                     [*keys, now]).fetchone()
    return row[0]


def active_lockouts(db: Database, now: float) -> list[dict]:
    return _rows(db.execute("SELECT key, until FROM lockout WHERE until > ? ORDER BY until", [now]))


def clear_lockout(db: Database, key: str) -> bool:
    return db.execute("DELETE FROM lockout WHERE key = ?", [key]).rowcount > 0


# -- audit log -------------------------------------------------------------

AUDIT_ACTIONS = (
    "login", "logout", "upload", "import", "delete", "export", "settings", "lockout", "unlock",
    "session", "backup", "restore", "cancel", "cleanup",
)


def audit(db: Database, action: str, *, actor: str | None = None, address: str | None = None,
          target: str | None = None, detail: dict | None = None, ok: bool = True) -> None:
    db.execute(
        "INSERT INTO audit_log (at, actor, address, action, target, detail, ok) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [utcnow(), actor, address, action, target,
         json.dumps(detail, ensure_ascii=False) if detail else None, int(ok)])


def audit_entries(db: Database, *, action: str | None = None, actor: str | None = None,
                  ok: bool | None = None, since: str | None = None, until: str | None = None,
                  text: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    where, params = [], []
    if action:
        where.append("action = ?"); params.append(action)
    if actor:
        where.append("actor = ?"); params.append(actor)
    if ok is not None:
        where.append("ok = ?"); params.append(int(ok))
    if since:
        where.append("at >= ?"); params.append(since)
    if until:
        where.append("at < ?"); params.append(until)
    if text:
        where.append("(target LIKE ? OR detail LIKE ? OR address LIKE ?)")
        params += [f"%{text}%"] * 3
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    total = db.execute(f"SELECT count(*) FROM audit_log {clause}", params).fetchone()[0]
    rows = _rows(db.execute(f"SELECT * FROM audit_log {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                            [*params, limit, offset]))
    return rows, total


# -- announcements (ment) --------------------------------------------------

def add_ment(db: Database, *, sha256: str, original_name: str, title: str, duration_s: float,
             source: str, changes: list[str]) -> int:
    with transaction(db):
        position = db.execute("SELECT coalesce(max(position), 0) + 1 FROM ment").fetchone()[0]
        return db.execute(
            "INSERT INTO ment (sha256, original_name, title, position, duration_s, source, changes, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [sha256, original_name, title, position, duration_s, source,
             json.dumps(changes, ensure_ascii=False), utcnow()]).lastrowid


def _with_changes(row: dict) -> dict:
    """An announcement or image row with its list of conversion changes decoded."""
    row["changes"] = json.loads(row["changes"] or "[]")
    return row


def ments(db: Database) -> list[dict]:
    return [_with_changes(row) for row in _rows(db.execute("SELECT * FROM ment ORDER BY position, id"))]


def ment(db: Database, ment_id: int) -> dict:
    row = _one(db.execute("SELECT * FROM ment WHERE id = ?", [ment_id]))
    if row is None:
        raise NotFound(f"no announcement {ment_id}")
    return _with_changes(row)


def set_ment_role(db: Database, ment_id: int, kind: str | None, position: int) -> None:
    with transaction(db):
        ment(db, ment_id)
        db.execute("UPDATE ment SET kind = ?, position = ? WHERE id = ?", [kind, position, ment_id])


def delete_ment(db: Database, ment_id: int) -> dict:
    with transaction(db):
        row = ment(db, ment_id)
        db.execute("DELETE FROM ment WHERE id = ?", [ment_id])
    return row


# -- images ----------------------------------------------------------------

def add_image(db: Database, *, kind: str, sha256: str, original_sha256: str, original_name: str,
              width: int, height: int, size: int, source: str, changes: list[str]) -> int:
    """Store an image and make it the active one of its kind."""
    with transaction(db):
        db.execute("UPDATE image SET active = 0 WHERE kind = ?", [kind])
        return db.execute(
            "INSERT INTO image (kind, sha256, original_sha256, original_name, width, height, bytes, "
            "source, changes, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            [kind, sha256, original_sha256, original_name, width, height, size, source,
             json.dumps(changes, ensure_ascii=False), utcnow()]).lastrowid


def images(db: Database, kind: str | None = None) -> list[dict]:
    if kind:
        cursor = db.execute("SELECT * FROM image WHERE kind = ? ORDER BY id DESC", [kind])
    else:
        cursor = db.execute("SELECT * FROM image ORDER BY kind, id DESC")
    return [_with_changes(row) for row in _rows(cursor)]


def image(db: Database, image_id: int) -> dict:
    row = _one(db.execute("SELECT * FROM image WHERE id = ?", [image_id]))
    if row is None:
        raise NotFound(f"no image {image_id}")
    return _with_changes(row)


def activate_image(db: Database, image_id: int) -> None:
    with transaction(db):
        row = image(db, image_id)
        db.execute("UPDATE image SET active = 0 WHERE kind = ?", [row["kind"]])
        db.execute("UPDATE image SET active = 1 WHERE id = ?", [image_id])


def delete_image(db: Database, image_id: int) -> dict:
    with transaction(db):
        row = image(db, image_id)
        db.execute("DELETE FROM image WHERE id = ?", [image_id])
    return row


# -- settings and agent lines ----------------------------------------------

def get_setting(db: Database, key: str, default=None):
    row = db.execute("SELECT value FROM setting WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else default


def put_setting(db: Database, key: str, value) -> None:
    db.execute("INSERT INTO setting (key, value) VALUES (?, ?) "
               "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [key, json.dumps(value, ensure_ascii=False)])


def agent_lines(db: Database) -> list[dict]:
    return _rows(db.execute("SELECT * FROM agent_line ORDER BY position, extension"))


def agent_line(db: Database, line_id: int) -> dict:
    row = _one(db.execute("SELECT * FROM agent_line WHERE id = ?", [line_id]))
    if row is None:
        raise NotFound(f"no agent line {line_id}")
    return row


def save_agent_line(db: Database, *, line_id: int | None, extension: str, name: str,
                    dial_target: str, position: int, enabled: bool) -> int:
    with transaction(db):
        clash = db.execute("SELECT id FROM agent_line WHERE extension = ? AND id IS NOT ?",
                           [extension, line_id]).fetchone()
        if clash:
            raise Conflict(f"extension {extension} is already used by another agent line",
                           "내선번호 {extension}은(는) 다른 상담원이 이미 쓰고 있습니다.", extension=extension)
        if line_id is None:
            return db.execute(
                "INSERT INTO agent_line (extension, name, dial_target, position, enabled) "
                "VALUES (?, ?, ?, ?, ?)", [extension, name, dial_target, position, int(enabled)]
            ).lastrowid
        agent_line(db, line_id)
        db.execute("UPDATE agent_line SET extension = ?, name = ?, dial_target = ?, position = ?, "
                   "enabled = ? WHERE id = ?",
                   [extension, name, dial_target, position, int(enabled), line_id])
        return line_id


def delete_agent_line(db: Database, line_id: int) -> dict:
    with transaction(db):
        row = agent_line(db, line_id)
        db.execute("DELETE FROM agent_line WHERE id = ?", [line_id])
    return row
