"""Named reads and writes for the calling engine: phones, campaigns, leases, calls.

Every function that changes more than one row runs in one transaction, so a
lease claim or a call's final event is all there after a crash or not at all.
"""

from __future__ import annotations

import json
import sqlite3

from sqlite_utils import Database

from . import Conflict, NotFound, _one, _rows, transaction, utcnow
from .contacts import add_do_not_call

_JSON_PHONE_FIELDS = ("device", "health", "assets", "images")


def _phone(row: dict | None) -> dict | None:
    if row is None:
        return None
    for key in _JSON_PHONE_FIELDS:
        row[key] = json.loads(row[key]) if row.get(key) else None
    return row


# -- phones ----------------------------------------------------------------

def create_phone(db: Database, *, name: str, mode: str, token_sha256: str,
                 group_name: str | None = None) -> int:
    return db.execute(
        "INSERT INTO phone (name, mode, token_sha256, group_name, created_at) VALUES (?, ?, ?, ?, ?)",
        [name, mode, token_sha256, group_name, utcnow()]).lastrowid


def phone_by_token(db: Database, token_sha256: str) -> dict | None:
    return _phone(_one(db.execute("SELECT * FROM phone WHERE token_sha256 = ? AND deleted_at IS NULL",
                                  [token_sha256])))


def phone(db: Database, phone_id: int) -> dict:
    row = _phone(_one(db.execute("SELECT * FROM phone WHERE id = ? AND deleted_at IS NULL", [phone_id])))
    if row is None:
        raise NotFound(f"no phone {phone_id}")
    return row


def phones(db: Database) -> list[dict]:
    return [_phone(row) for row in _rows(db.execute("SELECT * FROM phone WHERE deleted_at IS NULL "
                                                    "ORDER BY id"))]


_PHONE_UPDATE_COLUMNS = ("name", "group_name", "enabled", "mode", "token_sha256")


def update_phone(db: Database, phone_id: int, **fields) -> None:
    """Change some of :data:`_PHONE_UPDATE_COLUMNS`; the UPDATE's text is built
    from that tuple, never from the caller's keys."""
    if not fields or set(fields) - set(_PHONE_UPDATE_COLUMNS):
        raise ValueError(f"cannot update phone fields {sorted(set(fields) - set(_PHONE_UPDATE_COLUMNS))}")
    columns = [column for column in _PHONE_UPDATE_COLUMNS if column in fields]
    sets = ", ".join(f"{column} = ?" for column in columns)
    if db.execute(f"UPDATE phone SET {sets} WHERE id = ? AND deleted_at IS NULL",
                  [*(fields[c] for c in columns), phone_id]).rowcount == 0:
        raise NotFound(f"no phone {phone_id}")


def delete_phone(db: Database, phone_id: int) -> dict:
    """Delete a phone: its token stops working and it leaves the console, but
    its row stays (without token or device details) so that its id is never
    given to another phone and its calls keep their phone's name."""
    with transaction(db):
        row = phone(db, phone_id)
        db.execute("UPDATE phone SET deleted_at = ?, token_sha256 = NULL, enabled = 0, health = NULL, "
                   "device = NULL, assets = NULL, images = NULL WHERE id = ?", [utcnow(), phone_id])
    return row


def record_phone_hello(db: Database, phone_id: int, *, device: dict, assets: list[str], at: float) -> None:
    db.execute("UPDATE phone SET device = ?, assets = ?, last_seen = ? WHERE id = ?",
               [json.dumps(device, ensure_ascii=False), json.dumps(assets), at, phone_id])


def record_phone_health(db: Database, phone_id: int, health: dict, at: float) -> None:
    db.execute("UPDATE phone SET health = ?, last_seen = ? WHERE id = ?",
               [json.dumps(health, ensure_ascii=False), at, phone_id])


def record_phone_assets(db: Database, phone_id: int, assets: list[str]) -> None:
    db.execute("UPDATE phone SET assets = ? WHERE id = ?", [json.dumps(assets), phone_id])


def record_phone_images(db: Database, phone_id: int, images: dict) -> None:
    db.execute("UPDATE phone SET images = ? WHERE id = ?", [json.dumps(images), phone_id])


# -- join requests ---------------------------------------------------------

def create_join_request(db: Database, *, request_id: str, poll_secret_sha256: str, name: str,
                        mode: str, device: dict, address: str, now: float, expires_at: float) -> None:
    db.execute(
        "INSERT INTO phone_join_request (id, poll_secret_sha256, name, mode, device, address, created_at, "
        "requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [request_id, poll_secret_sha256, name, mode, json.dumps(device, ensure_ascii=False),
         address, utcnow(), now, expires_at])


def expire_join_requests(db: Database, now: float) -> int:
    """Mark pending requests past their ``expires_at`` as ``expired`` (they
    can no longer be approved); the number marked."""
    return db.execute("UPDATE phone_join_request SET status = 'expired' "
                      "WHERE status = 'pending' AND expires_at <= ?", [now]).rowcount


def join_request_load(db: Database, address: str, *, since: float, now: float) -> dict:
    """What the join limits read: ``from_address`` (requests from ``address``
    made after ``since``, whatever became of them), ``oldest_from_address``
    (the first of those, epoch seconds, or None) and ``pending`` (requests
    waiting for the manager, not expired at ``now``)."""
    recent = db.execute("SELECT count(*), min(requested_at) FROM phone_join_request "
                        "WHERE address = ? AND requested_at > ?", [address, since]).fetchone()
    pending = db.execute("SELECT count(*) FROM phone_join_request WHERE status = 'pending' AND expires_at > ?",
                         [now]).fetchone()[0]
    return {"from_address": recent[0], "oldest_from_address": recent[1], "pending": pending}


def join_request(db: Database, request_id: str) -> dict | None:
    row = _one(db.execute("SELECT * FROM phone_join_request WHERE id = ?", [request_id]))
    if row:
        row["device"] = json.loads(row["device"] or "{}")
    return row


def join_requests(db: Database, status: str = "pending", *, now: float | None = None) -> list[dict]:
    """Requests in ``status``; with ``now``, pending ones only while not expired."""
    live = " AND expires_at > ?" if now is not None and status == "pending" else ""
    rows = _rows(db.execute(f"SELECT * FROM phone_join_request WHERE status = ?{live} ORDER BY requested_at",
                            [status] + ([now] if live else [])))
    for row in rows:
        row["device"] = json.loads(row["device"] or "{}")
    return rows


def approve_join_request(db: Database, request_id: str, *, token: str, token_sha256: str,
                         now: float) -> int:
    """Create the phone of a pending request; keep its token until fetched once.
    A request past its ``expires_at`` is not pending (NotFound)."""
    with transaction(db):
        row = join_request(db, request_id)
        if row is None or row["status"] != "pending" or row["expires_at"] <= now:
            raise NotFound(f"no pending join request {request_id}")
        phone_id = create_phone(db, name=row["name"], mode=row["mode"], token_sha256=token_sha256)
        db.execute("UPDATE phone SET device = ? WHERE id = ?",
                   [json.dumps(row["device"], ensure_ascii=False), phone_id])
        db.execute("UPDATE phone_join_request SET status = 'approved', phone_id = ?, token = ? WHERE id = ?",
                   [phone_id, token, request_id])
    return phone_id


def reject_join_request(db: Database, request_id: str, *, now: float) -> None:
    if db.execute("UPDATE phone_join_request SET status = 'rejected' "
                  "WHERE id = ? AND status = 'pending' AND expires_at > ?", [request_id, now]).rowcount == 0:
        raise NotFound(f"no pending join request {request_id}")


def deliver_join_token(db: Database, request_id: str) -> str | None:
    """The approved request's token, exactly once; afterwards it is forgotten."""
    with transaction(db):
        row = join_request(db, request_id)
        if row is None or row["status"] != "approved" or not row["token"]:
            return None
        db.execute("UPDATE phone_join_request SET status = 'delivered', token = NULL WHERE id = ?",
                   [request_id])
        return row["token"]


# -- campaigns -------------------------------------------------------------

def _campaign(row: dict | None) -> dict | None:
    if row is not None:
        row["settings"] = json.loads(row["settings"])
        row["assets"] = json.loads(row["assets"])
    return row


def campaign(db: Database, campaign_id: int) -> dict:
    row = _campaign(_one(db.execute("SELECT * FROM campaign WHERE id = ?", [campaign_id])))
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return row


def campaigns(db: Database) -> list[dict]:
    return [_campaign(row) for row in _rows(db.execute(
        "SELECT c.*, l.name AS list_name FROM campaign c JOIN contact_list l ON l.id = c.list_id "
        "ORDER BY c.id DESC"))]


def active_campaign(db: Database) -> dict | None:
    """The campaign phones work on: running or paused (at most one)."""
    return _campaign(_one(db.execute(
        "SELECT * FROM campaign WHERE state IN ('running', 'paused') ORDER BY id LIMIT 1")))


def set_campaign_state(db: Database, campaign_id: int, state: str, *, from_states: tuple[str, ...]) -> None:
    with transaction(db):
        row = campaign(db, campaign_id)
        if row["state"] not in from_states:
            raise Conflict(f"campaign '{row['name']}' is {row['state']}; it cannot become {state}",
                           "캠페인 '{name}'은(는) 지금 상태에서 이 작업을 할 수 없습니다.", name=row["name"])
        if state == "running":
            other = db.execute("SELECT name FROM campaign WHERE state IN ('running', 'paused') AND id != ?",
                               [campaign_id]).fetchone()
            if other:
                raise Conflict(f"campaign '{other[0]}' is already active; stop it first",
                               "캠페인 '{name}'이(가) 이미 진행 중입니다. 먼저 중지하세요.", name=other[0])
        stamp = {"running": "started_at = coalesce(started_at, ?)",
                 "stopped": "ended_at = ?", "finished": "ended_at = ?"}.get(state)
        if stamp:
            db.execute(f"UPDATE campaign SET state = ?, {stamp} WHERE id = ?", [state, utcnow(), campaign_id])
        else:
            db.execute("UPDATE campaign SET state = ? WHERE id = ?", [state, campaign_id])


def campaign_counters(db: Database, campaign_id: int) -> dict:
    """The campaign's numbers, from the records themselves."""
    contacts = dict(db.execute(
        "SELECT status, count(*) FROM campaign_contact WHERE campaign_id = ? GROUP BY status",
        [campaign_id]).fetchall())
    calls = db.execute(
        "SELECT count(*) FILTER (WHERE result IS NULL AND dialed_at IS NULL), "
        "count(*) FILTER (WHERE dialed_at IS NOT NULL), "
        "count(*) FILTER (WHERE answered_at IS NOT NULL), "
        "count(*) FILTER (WHERE pressed_one = 1), "
        "count(*) FILTER (WHERE result = 'connected'), "
        "count(*) FILTER (WHERE result = 'callback_requested'), "
        "count(*) FILTER (WHERE result = 'failed'), "
        "count(*) FILTER (WHERE result IS NULL AND dialed_at IS NOT NULL), "
        "count(*) FILTER (WHERE result = 'refused'), "
        "count(*) FILTER (WHERE reason = 'phone_lost') "
        "FROM call WHERE campaign_id = ?", [campaign_id]).fetchone()
    skipped = db.execute("SELECT count(*) FROM campaign_contact WHERE campaign_id = ? AND status = 'done' "
                         "AND last_result = 'do_not_call'", [campaign_id]).fetchone()[0]
    excluded = db.execute("SELECT count(*) FROM campaign_contact WHERE campaign_id = ? AND status = 'done' "
                          "AND last_result = 'excluded'", [campaign_id]).fetchone()[0]
    callbacks = db.execute("SELECT count(*) FROM callback WHERE campaign_id = ?", [campaign_id]).fetchone()[0]
    total = sum(contacts.values())
    return {"total": total, "remaining": contacts.get("pending", 0) + contacts.get("leased", 0),
            "done": contacts.get("done", 0), "leased": calls[0], "dialled": calls[1],
            "answered": calls[2], "pressed_one": calls[3], "connected": calls[4],
            "callback": callbacks, "callback_requested": calls[5], "failed": calls[6],
            "in_progress": calls[7], "refused": calls[8], "lost": calls[9], "skipped_dnc": skipped,
            "excluded": excluded}


def campaign_results(db: Database, campaign_id: int) -> dict[str, int]:
    return dict(db.execute("SELECT result, count(*) FROM call WHERE campaign_id = ? AND result IS NOT NULL "
                           "GROUP BY result", [campaign_id]).fetchall())


# -- leases ------------------------------------------------------------------

def claim_contacts(db: Database, *, campaign_id: int, phone_id: int, want: int, now: float,
                   lease_s: float, batch_id: str, call_ids) -> list[dict]:
    """Lease up to ``want`` due contacts to a phone: one transaction, each
    contact to one phone only. ``call_ids`` yields a fresh id per call.
    Contacts whose number is on 수신거부 now are closed as skipped on the way
    (``last_result = 'do_not_call'``), never leased."""
    with transaction(db):
        claimed = []
        while len(claimed) < want:
            asked = want - len(claimed)
            rows = _rows(db.execute(
                "SELECT id, number, attempts, EXISTS(SELECT 1 FROM do_not_call d WHERE d.phone = number) "
                "AS refused FROM campaign_contact "
                "WHERE campaign_id = ? AND status = 'pending' AND next_at <= ? "
                "ORDER BY next_at, id LIMIT ?", [campaign_id, now, asked]))
            for row in rows:   # each row leaves 'pending' here, so the next SELECT skips it
                if row["refused"]:
                    db.execute("UPDATE campaign_contact SET status = 'done', last_result = 'do_not_call' "
                               "WHERE id = ?", [row["id"]])
                    continue
                call_id = next(call_ids)
                db.execute("UPDATE campaign_contact SET status = 'leased', call_id = ? WHERE id = ?",
                           [call_id, row["id"]])
                db.execute(
                    "INSERT INTO call (id, campaign_id, campaign_contact_id, phone_id, batch_id, attempt, number, "
                    "leased_at, lease_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [call_id, campaign_id, row["id"], phone_id, batch_id, row["attempts"] + 1, row["number"],
                     now, now + lease_s])
                claimed.append({"call_id": call_id, "number": row["number"], "attempt": row["attempts"] + 1,
                                "campaign_contact_id": row["id"]})
            if len(rows) < asked:
                break
    return claimed


def next_due_at(db: Database, campaign_id: int) -> float | None:
    row = db.execute("SELECT min(next_at) FROM campaign_contact WHERE campaign_id = ? AND status = 'pending'",
                     [campaign_id]).fetchone()
    return row[0]


def has_unfinished(db: Database, campaign_id: int) -> bool:
    return db.execute("SELECT EXISTS(SELECT 1 FROM campaign_contact WHERE campaign_id = ? "
                      "AND status != 'done')", [campaign_id]).fetchone()[0] == 1


def call(db: Database, call_id: str) -> dict | None:
    return _one(db.execute("SELECT * FROM call WHERE id = ?", [call_id]))


def release_call(db: Database, call_id: str, *, undo_claim: bool = False) -> bool:
    """Give back a leased call that was never dialled: the contact is due again.

    ``undo_claim``: the call's dial was confirmed (its ``dialing`` event is
    stored) but the phone says it never dialled (the confirmation did not
    reach it in time); only a call with no event after ``dialing``."""
    with transaction(db):
        row = call(db, call_id)
        if row is None or row["result"] is not None:
            return False
        if row["dialed_at"] is not None and not (undo_claim and row["last_seq"] == 1):
            return False
        db.execute("DELETE FROM call_event WHERE call_id = ?", [call_id])
        db.execute("DELETE FROM call WHERE id = ?", [call_id])
        db.execute("UPDATE campaign_contact SET status = 'pending', call_id = NULL, "
                   "attempts = attempts - (? IS NOT NULL) WHERE id = ? AND call_id = ?",
                   [row["dialed_at"], row["campaign_contact_id"], call_id])  # by primary key
    return True


def undo_lost_claim(db: Database, call_id: str, *, phone_id: int) -> bool:
    """A call closed as ``phone_lost`` in its dialing step (its only event is
    ``dialing``) whose phone now says it never dialled it: the confirmation
    reached the phone after its own wait ran out (it was frozen, or the link
    stalled), so it gave the call back instead of dialling. The call is
    forgotten as if released undialled: the attempt is not counted, and a
    contact the loss closed or put off is due again at once. A newer lease
    of the contact, or 수신거부 since, is left as it is; so is a campaign
    no longer running or paused."""
    with transaction(db):
        row = call(db, call_id)
        if (row is None or row["phone_id"] != phone_id or row["reason"] != "phone_lost"
                or row["last_seq"] != 1):
            return False
        campaign = db.execute("SELECT state FROM campaign WHERE id = ?", [row["campaign_id"]]).fetchone()
        if campaign is None or campaign[0] not in ("running", "paused"):
            return False     # a finished or stopped campaign is not reopened for one voter
        contact = _one(db.execute("SELECT status, call_id, last_result FROM campaign_contact WHERE id = ?",
                                  [row["campaign_contact_id"]]))
        db.execute("DELETE FROM call_event WHERE call_id = ?", [call_id])
        db.execute("DELETE FROM call WHERE id = ?", [call_id])
        if contact is None:
            return True
        if contact["call_id"] == call_id or (contact["status"] == "pending" and contact["call_id"] is None):
            # Closed by the loss (done, still naming this call), or put off for a retry.
            db.execute("UPDATE campaign_contact SET status = 'pending', call_id = NULL, next_at = 0, "
                       "last_result = NULL, attempts = max(0, attempts - 1) WHERE id = ?",
                       [row["campaign_contact_id"]])
        elif contact["last_result"] != "do_not_call":
            db.execute("UPDATE campaign_contact SET attempts = max(0, attempts - 1) WHERE id = ?",
                       [row["campaign_contact_id"]])
    return True


def skip_do_not_call(db: Database, call_id: str) -> bool:
    """A leased call whose number went on 수신거부 before it was dialled: no
    call is recorded, the contact is closed as skipped."""
    with transaction(db):
        row = call(db, call_id)
        if row is None or row["result"] is not None or row["dialed_at"] is not None:
            return False
        db.execute("DELETE FROM call_event WHERE call_id = ?", [call_id])
        db.execute("DELETE FROM call WHERE id = ?", [call_id])
        db.execute("UPDATE campaign_contact SET status = 'done', last_result = 'do_not_call' "
                   "WHERE id = ? AND call_id = ?", [row["campaign_contact_id"], call_id])
    return True


def on_do_not_call(db: Database, number: str) -> bool:
    return db.execute("SELECT EXISTS(SELECT 1 FROM do_not_call WHERE phone = ?)", [number]).fetchone()[0] == 1


def call_event_name(db: Database, call_id: str, seq: int) -> str | None:
    row = db.execute("SELECT event FROM call_event WHERE call_id = ? AND seq = ?", [call_id, seq]).fetchone()
    return row[0] if row else None


def open_calls(db: Database, *, phone_id: int | None = None, expired_before: float | None = None) -> list[dict]:
    where, params = ["result IS NULL"], []
    if phone_id is not None:
        where.append("phone_id = ?"); params.append(phone_id)
    if expired_before is not None:
        where.append("lease_expires < ?"); params.append(expired_before)
    return _rows(db.execute(f"SELECT * FROM call WHERE {' AND '.join(where)}", params))


def call_events(db: Database, call_id: str) -> list[dict]:
    rows = _rows(db.execute("SELECT * FROM call_event WHERE call_id = ? ORDER BY seq", [call_id]))
    for row in rows:
        row["data"] = json.loads(row["data"]) if row["data"] else {}
    return rows


def record_call_event(db: Database, *, call_id: str, campaign_contact_id: int, seq: int, event: str,
                      at: float, data: dict, received_at: float, call_updates: dict,
                      finish: dict | None = None, do_not_call: dict | None = None) -> bool:
    """Store one call event and its effects in one transaction.

    ``call_updates`` are columns of the call row; ``finish`` (for the final
    event) says what becomes of the contact: ``{"contact_status", "next_at",
    "result", "dialled": bool, "callback": {…} | None}``; ``do_not_call``
    (``{"number", "note"}``) puts the voter on 수신거부 in the same
    transaction (a refusal by keypad). Returns False, changing nothing, when
    (call_id, seq) was stored before (a resent event).

    ``call_updates`` may name only :data:`CALL_UPDATE_COLUMNS`; the UPDATE's
    text is built from that tuple, never from the caller's keys."""
    unknown = set(call_updates) - set(CALL_UPDATE_COLUMNS)
    if unknown:
        raise ValueError(f"cannot update call columns {sorted(unknown)}")
    conn = db.conn  # the hot path: plain sqlite3, every statement by primary key
    with transaction(db):
        try:
            conn.execute("INSERT INTO call_event (call_id, seq, event, at, received_at, data) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         [call_id, seq, event, at, received_at,
                          json.dumps(data, ensure_ascii=False) if data else None])
        except sqlite3.IntegrityError:
            return False
        updates = dict(call_updates, last_seq=max(seq, call_updates.get("last_seq", 0)))
        columns = [column for column in CALL_UPDATE_COLUMNS if column in updates]
        sets = ", ".join(f"{column} = ?" for column in columns)
        conn.execute(f"UPDATE call SET {sets} WHERE id = ?", [*(updates[c] for c in columns), call_id])
        if event == "dialing":
            conn.execute("UPDATE campaign_contact SET attempts = attempts + 1 WHERE id = ?",
                         [campaign_contact_id])
        if finish is not None:
            _finish_contact(db, call_id, campaign_contact_id, finish)
        if do_not_call is not None:
            add_do_not_call(db, [do_not_call["number"]], do_not_call.get("note"))
    return True


# The call columns a call event may set (``record_call_event``).
CALL_UPDATE_COLUMNS = ("state", "last_seq", "dialed_at", "answered_at", "bridged_at", "pressed_one",
                       "agent_line_id", "lease_expires", "result", "hung_up_in", "reason", "ended_at")


def _finish_contact(db: Database, call_id: str, campaign_contact_id: int, finish: dict) -> None:
    db.conn.execute("UPDATE campaign_contact SET status = ?, next_at = ?, last_result = ?, "
                    "call_id = CASE WHEN ? = 'done' THEN call_id ELSE NULL END WHERE id = ? AND call_id = ?",
                    [finish["contact_status"], finish.get("next_at", 0), finish["result"],
                     finish["contact_status"], campaign_contact_id, call_id])
    callback = finish.get("callback")
    if callback:
        now = utcnow()
        db.conn.execute(
            "INSERT OR IGNORE INTO callback (call_id, campaign_id, contact_id, number, name, created_at, "
            "updated_at) SELECT ?, c.campaign_id, cc.contact_id, c.number, ct.name, ?, ? "
            "FROM call c JOIN campaign_contact cc ON cc.id = c.campaign_contact_id "
            "LEFT JOIN contact ct ON ct.id = cc.contact_id WHERE c.id = ?",
            [call_id, now, now, call_id])


def close_lost_call(db: Database, call_id: str, *, state: str, ended_at: float, finish: dict,
                    reason: str = "phone_lost") -> bool:
    """End a dialled call whose phone went away (result failed, reason
    phone_lost); ``finish`` says whether the contact is tried again."""
    with transaction(db):
        row = call(db, call_id)
        if row is None or row["result"] is not None:
            return False
        db.execute("UPDATE call SET result = 'failed', reason = ?, state = 'ended', ended_at = ? "
                   "WHERE id = ?", [reason, ended_at, call_id])
        _finish_contact(db, call_id, row["campaign_contact_id"], finish)
    return True


def reopen_lost_call(db: Database, call_id: str, *, phone_id: int, lease_expires: float) -> dict | None:
    """A call closed as ``phone_lost`` whose phone turns out to be alive (it
    was frozen, or cut off from the server, past its lease): open it again
    so its true outcome is recorded and the voter is not called again for
    it. Not possible once the contact has been dialled by another call; a
    newer lease of the contact that was not dialled yet is voided. Returns
    ``{"voided": call_id | None}``, or None when the call stays closed."""
    with transaction(db):
        row = call(db, call_id)
        if row is None or row["phone_id"] != phone_id or row["reason"] != "phone_lost":
            return None
        contact = _one(db.execute("SELECT status, call_id FROM campaign_contact WHERE id = ?",
                                  [row["campaign_contact_id"]]))
        voided = None
        if contact is None:
            return None
        if contact["call_id"] not in (None, call_id):
            other = call(db, contact["call_id"])
            if other is not None and (other["dialed_at"] is not None or other["result"] is not None):
                return None
            voided = contact["call_id"]
            db.execute("DELETE FROM call_event WHERE call_id = ?", [voided])
            db.execute("DELETE FROM call WHERE id = ?", [voided])
        elif contact["status"] == "done" and contact["call_id"] is None:
            return None          # closed for another reason since (수신거부)
        db.execute("UPDATE call SET result = NULL, reason = NULL, ended_at = NULL, lease_expires = ? "
                   "WHERE id = ?", [lease_expires, call_id])
        db.execute("UPDATE campaign_contact SET status = 'leased', call_id = ?, next_at = 0, last_result = NULL "
                   "WHERE id = ?", [call_id, row["campaign_contact_id"]])
        db.execute("DELETE FROM callback WHERE call_id = ? AND status = 'requested'", [call_id])
    return {"voided": voided}


def extend_lease(db: Database, call_id: str, until: float) -> None:
    db.execute("UPDATE call SET lease_expires = max(lease_expires, ?) WHERE id = ? AND result IS NULL",
               [until, call_id])


def extend_open_leases(db: Database, until: float) -> int:
    return db.execute("UPDATE call SET lease_expires = max(lease_expires, ?) WHERE result IS NULL",
                      [until]).rowcount


def calls_dialled_since(db: Database, since: float) -> dict[int, int]:
    return dict(db.execute("SELECT phone_id, count(*) FROM call WHERE dialed_at >= ? GROUP BY phone_id",
                           [since]).fetchall())


def recent_calls(db: Database, limit: int = 20, campaign_id: int | None = None) -> list[dict]:
    where = "WHERE c.result IS NOT NULL" + (" AND c.campaign_id = ?" if campaign_id else "")
    params = [campaign_id] if campaign_id else []
    return _rows(db.execute(
        "SELECT c.id, c.campaign_id, c.phone_id, p.name AS phone_name, c.number, c.result, c.hung_up_in, "
        "c.reason, c.agent_line_id, c.dialed_at, c.answered_at, c.ended_at, c.attempt "
        f"FROM call c LEFT JOIN phone p ON p.id = c.phone_id {where} "
        "ORDER BY c.ended_at DESC LIMIT ?", [*params, limit]))


def calls_filter(*, campaign_id: int | None = None, result: str | None = None,
                 search: str | None = None) -> tuple[str, list]:
    """The WHERE clause (over ``call c``) of the 통화 기록 filters, shared by
    the page and its export. Only calls that were dialled: a lease the phone
    never dialled (``dialed_at`` NULL) is not a call."""
    where, params = ["c.dialed_at IS NOT NULL"], []
    if campaign_id:
        where.append("c.campaign_id = ?"); params.append(campaign_id)
    if result:
        where.append("c.result = ?"); params.append(result)
    if search:
        where.append("c.number LIKE ?"); params.append(f"%{''.join(ch for ch in search if ch.isdigit())}%")
    return " AND ".join(where), params


def calls_page(db: Database, *, campaign_id: int | None = None, result: str | None = None,
               search: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    clause, params = calls_filter(campaign_id=campaign_id, result=result, search=search)
    total = db.execute(f"SELECT count(*) FROM call c WHERE {clause}", params).fetchone()[0]
    rows = _rows(db.execute(
        "SELECT c.*, p.name AS phone_name, a.extension AS agent_extension FROM call c "
        "LEFT JOIN phone p ON p.id = c.phone_id LEFT JOIN agent_line a ON a.id = c.agent_line_id "
        f"WHERE {clause} ORDER BY c.dialed_at DESC, c.id DESC LIMIT ? OFFSET ?", [*params, limit, offset]))
    return rows, total


def call_view(db: Database, call_id: str) -> dict | None:
    """One call as its page shows it: the call row with the phone's name,
    the voter's name, the call list, the campaign and the agent line."""
    return _one(db.execute(
        "SELECT c.*, p.name AS phone_name, m.name AS campaign_name, ct.name AS voter_name, "
        "l.name AS list_name, a.extension AS agent_extension, a.name AS agent_name FROM call c "
        "LEFT JOIN phone p ON p.id = c.phone_id LEFT JOIN campaign m ON m.id = c.campaign_id "
        "LEFT JOIN campaign_contact cc ON cc.id = c.campaign_contact_id "
        "LEFT JOIN contact ct ON ct.id = cc.contact_id LEFT JOIN contact_list l ON l.id = m.list_id "
        "LEFT JOIN agent_line a ON a.id = c.agent_line_id WHERE c.id = ?", [call_id]))


def ment_titles(db: Database, hashes) -> dict[str, str]:
    """The title of each announcement named by its sha256 (those still held)."""
    hashes = sorted(set(hashes))
    if not hashes:
        return {}
    marks = ", ".join("?" * len(hashes))
    return {sha: title for sha, title in db.execute(
        f"SELECT sha256, title FROM ment WHERE sha256 IN ({marks}) ORDER BY id", hashes).fetchall()}


def agent_lines_by_id(db: Database) -> dict[int, dict]:
    return {row["id"]: row for row in _rows(db.execute("SELECT id, extension, name FROM agent_line"))}


# -- callbacks (콜백 요청) -----------------------------------------------------

CALLBACK_STATUSES = ("requested", "done", "deleted", "failed")


def callbacks_page(db: Database, *, status: str | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[dict], int]:
    clause, params = ("WHERE status = ?", [status]) if status else ("", [])
    total = db.execute(f"SELECT count(*) FROM callback {clause}", params).fetchone()[0]
    rows = _rows(db.execute(f"SELECT * FROM callback {clause} ORDER BY created_at DESC, id DESC "
                            "LIMIT ? OFFSET ?", [*params, limit, offset]))
    return rows, total


def set_callback_status(db: Database, callback_id: int, status: str, note: str | None = None) -> dict:
    if status not in CALLBACK_STATUSES:
        raise ValueError(f"unknown callback status '{status}'")
    with transaction(db):
        row = _one(db.execute("SELECT * FROM callback WHERE id = ?", [callback_id]))
        if row is None:
            raise NotFound(f"no callback request {callback_id}")
        db.execute("UPDATE callback SET status = ?, note = coalesce(?, note), updated_at = ? WHERE id = ?",
                   [status, note, utcnow(), callback_id])
    return row


def record_phone_problems(db: Database, phone_id: int, kinds, at: float) -> None:
    """Problems a phone's heartbeat shows that its previous one did not."""
    db.conn.executemany("INSERT INTO phone_problem (phone_id, at, kind) VALUES (?, ?, ?)",
                        [(phone_id, at, kind) for kind in sorted(kinds)])


def set_agent_line_away(db: Database, line_id: int, away: bool) -> None:
    if db.execute("UPDATE agent_line SET away = ? WHERE id = ?", [int(away), line_id]).rowcount == 0:
        raise NotFound(f"no agent line {line_id}")
