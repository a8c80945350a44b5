"""Named reads and writes of campaigns as the manager shapes them: creating
one (and leaving out voters reached in earlier campaigns), changing a live
campaign's settings with its audit row, their history, and the campaign's
queue as the lease sees it (for why nothing dials).
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from . import Conflict, NotFound, _rows, transaction, utcnow
from .calling import campaign
from .console import audit

# What "reached in an earlier campaign" may mean: the manager picks any of
# these when creating a campaign (all four together: answered in any way).
REACHED_KINDS = ("listened", "connected", "callback", "refused")
_REACHED_WHERE = {
    "listened": "(c.answered_at IS NOT NULL AND coalesce(c.result, '') NOT IN "
                "('connected', 'callback_requested', 'refused') AND cb.id IS NULL)",
    "connected": "c.result = 'connected'",
    "callback": "(c.result = 'callback_requested' OR cb.id IS NOT NULL)",
    "refused": "c.result = 'refused'",
}


def _reached_numbers_sql(kinds) -> str:
    """SELECT of the numbers reached (as ``kinds`` say) in any campaign so far."""
    unknown = set(kinds) - set(REACHED_KINDS)
    if unknown or not kinds:
        raise ValueError(f"unknown or no kinds of reached voters: {sorted(unknown)}")
    where = " OR ".join(_REACHED_WHERE[kind] for kind in REACHED_KINDS if kind in kinds)
    return f"SELECT c.number FROM call c LEFT JOIN callback cb ON cb.call_id = c.id WHERE {where}"


def reached_in_list(db: Database, list_id: int, kinds) -> int:
    """How many voters of a call list a new campaign would exclude as reached
    (``kinds``) in earlier campaigns (numbers on 수신거부 are left out anyway)."""
    row = db.execute("SELECT first_contact_id, last_contact_id FROM contact_list WHERE id = ?",
                     [list_id]).fetchone()
    if row is None:
        raise NotFound(f"no call list {list_id}")
    return db.execute(
        "SELECT count(*) FROM contact WHERE id BETWEEN ? AND ? "
        "AND phone NOT IN (SELECT phone FROM do_not_call) "
        f"AND phone IN ({_reached_numbers_sql(kinds)})", [row[0] or 0, row[1] or -1]).fetchone()[0]


def create_campaign(db: Database, *, name: str, list_id: int, settings: dict, assets: dict,
                    kind: str = "election", exclude_reached=()) -> int:
    """A campaign over every contact of a call list (copied as campaign
    contacts). With ``exclude_reached`` (kinds of ``REACHED_KINDS``), voters
    reached so in an earlier campaign are recorded closed: status ``done``,
    ``last_result = 'excluded'``, never leased."""
    with transaction(db):
        row = db.execute("SELECT first_contact_id, last_contact_id FROM contact_list WHERE id = ?",
                         [list_id]).fetchone()
        if row is None:
            raise NotFound(f"no call list {list_id}")
        reached = _reached_numbers_sql(exclude_reached) if exclude_reached else None
        campaign_id = db.execute(
            "INSERT INTO campaign (name, list_id, settings, assets, kind, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [name, list_id, json.dumps(settings), json.dumps(assets), kind, utcnow()]).lastrowid
        db.execute(
            "INSERT INTO campaign_contact (campaign_id, contact_id, number) "
            "SELECT ?, id, phone FROM contact WHERE id BETWEEN ? AND ? "
            "AND phone NOT IN (SELECT phone FROM do_not_call) ORDER BY id",
            [campaign_id, row[0] or 0, row[1] or -1])
        if reached:
            db.execute("UPDATE campaign_contact SET status = 'done', last_result = 'excluded' "
                       f"WHERE campaign_id = ? AND number IN ({reached})", [campaign_id])
    return campaign_id


def change_campaign_settings(db: Database, campaign_id: int, settings: dict, *, audit_row: dict) -> None:
    """Replace a live campaign's settings and write the audit row (old -> new)
    in one transaction; a campaign that is stopped or finished is refused."""
    with transaction(db):
        row = campaign(db, campaign_id)
        if row["state"] not in ("ready", "running", "paused"):
            raise Conflict(f"campaign '{row['name']}' is {row['state']}; its settings cannot change")
        db.execute("UPDATE campaign SET settings = ? WHERE id = ?", [json.dumps(settings), campaign_id])
        audit(db, "settings", **audit_row)


def campaign_settings_history(db: Database, campaign_id: int) -> list[dict]:
    """The changes made to a campaign's settings after its creation, newest
    first, from the audit log: ``{at, actor, changes: {field: [old, new]}}``."""
    rows = _rows(db.execute(
        "SELECT at, actor, detail FROM audit_log WHERE action = 'settings' AND target = ? AND ok = 1 "
        "AND json_extract(detail, '$.settings_changed') IS NOT NULL ORDER BY id DESC",
        [f"campaign {campaign_id}"]))
    return [{"at": r["at"], "actor": r["actor"], "changes": json.loads(r["detail"])["settings_changed"]}
            for r in rows]


def campaign_queue(db: Database, campaign_id: int, now: float) -> dict:
    """The campaign's voters as the lease sees them at ``now``: due, waiting
    for a retry (and when the first is due), leased."""
    row = db.execute(
        "SELECT count(*) FILTER (WHERE status = 'pending' AND next_at <= ?), "
        "count(*) FILTER (WHERE status = 'pending' AND next_at > ?), "
        "min(next_at) FILTER (WHERE status = 'pending' AND next_at > ?), "
        "count(*) FILTER (WHERE status = 'leased') "
        "FROM campaign_contact WHERE campaign_id = ?", [now, now, now, campaign_id]).fetchone()
    return {"due": row[0], "waiting": row[1], "next_at": row[2], "leased": row[3]}
