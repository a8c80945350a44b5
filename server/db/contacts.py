"""Named reads and writes for call lists (호출자료) and the do-not-call list (수신거부).

The call-list import writes here: :func:`import_contact_list` creates a list
and bulk-inserts its contacts (:func:`store_contacts`) in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from itertools import islice, repeat
from typing import Callable, Sequence

from sqlite_utils import Database

from . import Conflict, NotFound, _one, _rows, transaction, utcnow

Progress = Callable[[str, float], None]
# row numbers, phones, names, addresses, extra (JSON text or None): equally long
ContactColumns = Sequence[Sequence]


def _noop(stage: str, fraction: float) -> None:
    pass


# -- contact lists ---------------------------------------------------------

def import_contact_list(db: Database, *, name: str, source_filename: str, source_sha256: str,
                        counts: dict, columns: dict, rejects: list[tuple] | None,
                        contacts: ContactColumns, progress: Progress | None = None) -> int:
    """Create a list and fill it in one transaction: all rows or none.

    ``contacts`` are the rows to store (see :func:`store_contacts`); they
    are written inside the transaction opened here, which holds the write
    lock, so the list's contact ids are one contiguous range (recorded on the
    list row; every read of a list goes through it). ``rejects`` are
    ``(row_number, value, reason, message)`` tuples.

    Foreign-key checks are off for the bulk insert (they cost ~0.7 s per
    million rows): every row's list_id is the list created in the same
    transaction, so the reference holds by construction.
    """
    foreign_keys = db.execute("PRAGMA foreign_keys").fetchone()[0]
    if not db.conn.in_transaction:
        db.execute("PRAGMA foreign_keys = OFF")
    try:
        return _import_contact_list(db, name=name, source_filename=source_filename,
                                    source_sha256=source_sha256, counts=counts, columns=columns,
                                    rejects=rejects, contacts=contacts, progress=progress)
    finally:
        if not db.conn.in_transaction:
            db.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")


def _import_contact_list(db: Database, *, name, source_filename, source_sha256, counts, columns,
                         rejects, contacts, progress) -> int:
    with transaction(db):
        if db.execute("SELECT 1 FROM contact_list WHERE name = ?", [name]).fetchone():
            raise Conflict(f"a call list named {name!r} already exists")
        list_id = db.execute(
            "INSERT INTO contact_list (name, created_at, source_filename, source_sha256, rows, "
            "imported, invalid, duplicates, do_not_call, columns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [name, utcnow(), source_filename, source_sha256, counts["rows"], counts["imported"],
             counts["invalid"], counts["duplicates"], counts["do_not_call"],
             json.dumps(columns, ensure_ascii=False)]).lastrowid
        before = db.execute("SELECT coalesce(max(id), 0) FROM contact").fetchone()[0]
        store_contacts(db.conn, list_id, contacts, progress=progress)
        after = db.execute("SELECT coalesce(max(id), 0) FROM contact").fetchone()[0]
        if after > before:
            db.execute("UPDATE contact_list SET first_contact_id = ?, last_contact_id = ? WHERE id = ?",
                       [before + 1, after, list_id])
        if rejects:
            db.conn.executemany("INSERT INTO contact_reject (list_id, row_number, value, reason, message) "
                                "VALUES (?, ?, ?, ?, ?)", [(list_id, *r) for r in rejects])
    return list_id


def _id_range(db: Database, list_id: int) -> tuple[int, int]:
    row = db.execute("SELECT coalesce(first_contact_id, 0), coalesce(last_contact_id, -1) "
                     "FROM contact_list WHERE id = ?", [list_id]).fetchone()
    if row is None:
        raise NotFound(f"no call list {list_id}")
    return row[0], row[1]


def contact_rejects(db: Database, list_id: int) -> list[dict]:
    return _rows(db.execute("SELECT row_number, value, reason, message FROM contact_reject "
                            "WHERE list_id = ? ORDER BY row_number", [list_id]))


def contact_list_name_taken(db: Database, name: str) -> bool:
    return db.execute("SELECT 1 FROM contact_list WHERE name = ?", [name]).fetchone() is not None


def contact_lists(db: Database) -> list[dict]:
    return _rows(db.execute("SELECT * FROM contact_list ORDER BY id DESC"))


def contact_list(db: Database, list_id: int) -> dict:
    row = _one(db.execute("SELECT * FROM contact_list WHERE id = ?", [list_id]))
    if row is None:
        raise NotFound(f"no call list {list_id}")
    return row


def contacts_page(db: Database, list_id: int, *, search: str | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    first, last = _id_range(db, list_id)
    where, params = ["id BETWEEN ? AND ?"], [first, last]
    if search:
        digits = "".join(ch for ch in search if ch.isdigit())
        if digits and len(digits) >= 3 and len(digits) >= len(search.replace("-", "").strip()):
            where.append("phone LIKE ?"); params.append(f"%{digits}%")
        else:
            where.append("(name LIKE ? OR address LIKE ?)"); params += [f"%{search}%"] * 2
    clause = " AND ".join(where)
    if search:
        total = db.execute(f"SELECT count(*) FROM contact WHERE {clause}", params).fetchone()[0]
    else:
        total = max(0, last - first + 1)
    rows = _rows(db.execute(f"SELECT * FROM contact WHERE {clause} ORDER BY id LIMIT ? OFFSET ?",
                            [*params, limit, offset]))
    return rows, total


def delete_contact_list(db: Database, list_id: int) -> dict:
    with transaction(db):
        row = contact_list(db, list_id)
        if db.execute("SELECT 1 FROM campaign WHERE list_id = ?", [list_id]).fetchone():
            raise Conflict(f"call list '{row['name']}' is used by a campaign",
                           "호출자료 '{name}'은(는) 캠페인에서 쓰고 있어 삭제할 수 없습니다.", name=row["name"])
        first, last = _id_range(db, list_id)
        db.execute("DELETE FROM contact WHERE id BETWEEN ? AND ?", [first, last])
        db.execute("DELETE FROM contact_reject WHERE list_id = ?", [list_id])
        db.execute("DELETE FROM contact_list WHERE id = ?", [list_id])
    return row


def contact_totals(db: Database) -> dict:
    row = db.execute("SELECT (SELECT count(*) FROM contact_list), "
                     "(SELECT coalesce(sum(imported), 0) FROM contact_list), "
                     "(SELECT count(*) FROM do_not_call)").fetchone()
    return {"lists": row[0], "contacts": row[1], "do_not_call": row[2]}


# -- do-not-call (수신거부) ---------------------------------------------------

def do_not_call_numbers(db: Database) -> set[str]:
    return {row[0] for row in db.execute("SELECT phone FROM do_not_call")}


def add_do_not_call(db: Database, phones: list[str], note: str | None = None) -> int:
    """Add numbers (already normalised); return how many were new.

    수신거부 takes effect at once: in the same transaction every contact of a
    campaign not yet finished that has these numbers and is waiting to be
    called is closed as skipped (``last_result = 'do_not_call'``). A contact
    leased to a phone but not dialled is stopped when the phone claims it
    (the server checks the list again before every dial)."""
    with transaction(db):
        before = db.execute("SELECT count(*) FROM do_not_call").fetchone()[0]
        db.conn.executemany(
            "INSERT OR IGNORE INTO do_not_call (phone, note, created_at) VALUES (?, ?, ?)",
            [(p, note, utcnow()) for p in phones])
        after = db.execute("SELECT count(*) FROM do_not_call").fetchone()[0]
        # One pass over the waiting contacts (no index on number: campaigns
        # of a million contacts are created faster without one).
        db.conn.execute(
            "UPDATE campaign_contact SET status = 'done', last_result = 'do_not_call' "
            "WHERE status = 'pending' AND campaign_id IN "
            "(SELECT id FROM campaign WHERE state IN ('ready', 'running', 'paused')) "
            "AND number IN (SELECT value FROM json_each(?))", [json.dumps(list(phones))])
    return after - before


def remove_do_not_call(db: Database, phone: str) -> bool:
    return db.execute("DELETE FROM do_not_call WHERE phone = ?", [phone]).rowcount > 0


def do_not_call_page(db: Database, *, search: str | None = None, limit: int = 50,
                     offset: int = 0) -> tuple[list[dict], int]:
    params = []
    clause = ""
    if search:
        clause = "WHERE phone LIKE ? OR note LIKE ?"
        digits = "".join(ch for ch in search if ch.isdigit()) or search
        params = [f"%{digits}%", f"%{search}%"]
    total = db.execute(f"SELECT count(*) FROM do_not_call {clause}", params).fetchone()[0]
    rows = _rows(db.execute(f"SELECT * FROM do_not_call {clause} ORDER BY created_at DESC, phone "
                            "LIMIT ? OFFSET ?", [*params, limit, offset]))
    return rows, total


# -- the bulk insert of an import -------------------------------------------

_INSERT = "INSERT INTO contact (list_id, row_number, phone, name, address, extra) VALUES (?, ?, ?, ?, ?, ?)"


def store_contacts(
    conn: sqlite3.Connection,
    list_id: int,
    contacts: ContactColumns,
    progress: Progress | None = None,
    chunk_size: int = 50_000,
) -> int:
    """Insert ``contacts`` as contacts of ``list_id``; all or nothing.

    ``contacts`` are five equally long columns, in file order: row numbers,
    phones, names, addresses and extra fields (JSON text or None), as
    ``ImportPlan.contact_columns()`` gives them.

    Starts and commits its own transaction when the connection has none open;
    inside the caller's transaction it uses a savepoint, rolls back to it on
    failure, and leaves the commit to the caller. Calls ``progress("store", f)``.
    Returns the number of rows inserted.
    """
    progress = progress or _noop
    n = len(contacts[0])
    if n == 0:
        progress("store", 1.0)
        return 0
    rows = zip(repeat(int(list_id), n), *contacts)

    # A large list outgrows SQLite's default 2 MB page cache while it is
    # written; raise the cache for this import, then put it back.
    old_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    want_kib = min(1 << 20, max(2048, n * 320 // 1024))  # ~320 bytes a row (table, index, slack), at most 1 GiB
    old_kib = -old_cache if old_cache < 0 else old_cache * _page_size(conn) // 1024
    if want_kib > old_kib:
        conn.execute(f"PRAGMA cache_size = -{want_kib}")

    own = not conn.in_transaction
    conn.execute("BEGIN" if own else "SAVEPOINT store_contacts")
    try:
        done = 0
        progress("store", 0.0)
        while done < n:
            chunk = list(islice(rows, chunk_size))
            conn.executemany(_INSERT, chunk)
            done += len(chunk)
            progress("store", done / n)
        conn.execute("COMMIT" if own else "RELEASE store_contacts")
    except BaseException:
        if own:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        else:
            conn.execute("ROLLBACK TO store_contacts")
            conn.execute("RELEASE store_contacts")
        raise
    finally:
        if want_kib > old_kib:
            conn.execute(f"PRAGMA cache_size = {old_cache}")
    return n


def _page_size(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA page_size").fetchone()[0])
