"""Named reads for 통계 and the exports.

Export reads return ``(count, rows)`` where ``rows`` is a generator over
the cursor: a million-row export never sits in memory. Each export reads in
one read transaction, so its count and its rows agree even while phones
write (WAL: the reader sees one snapshot).
"""

from __future__ import annotations

import json
from typing import Iterator

from sqlite_utils import Database

from . import NotFound
from .calling import calls_filter


def _campaign_clause(campaign_id: int | None, column: str = "c.campaign_id") -> tuple[str, list]:
    return (f" AND {column} = ?", [campaign_id]) if campaign_id else ("", [])


# -- statistics ------------------------------------------------------------------

def report_call_facts(db: Database, *, start: float, end: float,
                      campaign_id: int | None = None) -> Iterator[dict]:
    """Every call dialled in [start, end) (epoch seconds), with what the
    statistics need: its times, result, reason, press of 1 (the first dtmf
    "1" event's time) and whether a callback request was recorded."""
    extra, params = _campaign_clause(campaign_id)
    cursor = db.execute(
        "SELECT c.phone_id, c.dialed_at, c.answered_at, c.bridged_at, c.ended_at, c.result, c.reason, "
        "c.pressed_one, c.agent_line_id, "
        "CASE WHEN c.pressed_one THEN (SELECT min(e.at) FROM call_event e WHERE e.call_id = c.id "
        "  AND e.event = 'dtmf' AND json_extract(e.data, '$.digit') = '1') END AS press_at, "
        "EXISTS(SELECT 1 FROM callback b WHERE b.call_id = c.id) AS has_callback "
        f"FROM call c WHERE c.dialed_at >= ? AND c.dialed_at < ?{extra}", [start, end, *params])
    for row in cursor:
        yield dict(row)


def report_agent_events(db: Database, *, start: float, end: float,
                        campaign_id: int | None = None) -> dict[tuple[int, str], int]:
    """``{(line_id, event): count}`` of agent_ringing, bridged and
    agent_no_answer events of the calls dialled in [start, end)."""
    extra, params = _campaign_clause(campaign_id)
    rows = db.execute(
        "SELECT json_extract(e.data, '$.line_id'), e.event, count(*) FROM call c "
        "JOIN call_event e ON e.call_id = c.id "
        "WHERE e.event IN ('agent_ringing', 'bridged', 'agent_no_answer') "
        f"AND c.dialed_at >= ? AND c.dialed_at < ?{extra} GROUP BY 1, 2", [start, end, *params]).fetchall()
    return {(row[0], row[1]): row[2] for row in rows if isinstance(row[0], int)}


def report_skipped_dnc(db: Database, campaign_id: int | None = None) -> int:
    """Voters closed without a call because their number was on 수신거부."""
    extra, params = _campaign_clause(campaign_id, "campaign_id")
    return db.execute("SELECT count(*) FROM campaign_contact WHERE status = 'done' "
                      f"AND last_result = 'do_not_call'{extra}", params).fetchone()[0]


def report_phone_names(db: Database) -> dict[int, str]:
    """Every phone's name, deleted ones included (their calls keep them)."""
    return dict(db.execute("SELECT id, name FROM phone").fetchall())


def report_phone_problems(db: Database, *, start: float, end: float) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    for phone_id, kind, count in db.execute(
            "SELECT phone_id, kind, count(*) FROM phone_problem WHERE at >= ? AND at < ? GROUP BY 1, 2",
            [start, end]).fetchall():
        found.setdefault(phone_id, {})[kind] = count
    return found


# -- exports ---------------------------------------------------------------------------

def _stream(db: Database, sql: str, params: list) -> Iterator[dict]:
    for row in db.execute(sql, params):
        yield dict(row)


def export_calls(db: Database, *, campaign_id: int | None = None, result: str | None = None,
                 search: str | None = None) -> tuple[int, Iterator[dict]]:
    """The 통화 기록 rows under the page's own filters (dialled calls only),
    oldest dial first."""
    clause, params = calls_filter(campaign_id=campaign_id, result=result, search=search)
    total = db.execute(f"SELECT count(*) FROM call c WHERE {clause}", params).fetchone()[0]
    return total, _stream(db, (
        "SELECT c.id, m.name AS campaign_name, coalesce(p.name, '#' || c.phone_id) AS phone_name, c.number, "
        "c.attempt, c.state, c.leased_at, c.dialed_at, c.answered_at, c.bridged_at, c.ended_at, c.result, "
        "c.hung_up_in, c.reason, c.pressed_one, a.extension AS agent_extension FROM call c "
        "LEFT JOIN campaign m ON m.id = c.campaign_id LEFT JOIN phone p ON p.id = c.phone_id "
        f"LEFT JOIN agent_line a ON a.id = c.agent_line_id WHERE {clause} ORDER BY c.dialed_at, c.id"), params)


def export_callbacks(db: Database, *, status: str | None = None) -> tuple[int, Iterator[dict]]:
    clause, params = ("WHERE b.status = ?", [status]) if status else ("", [])
    total = db.execute(f"SELECT count(*) FROM callback b {clause}", params).fetchone()[0]
    return total, _stream(db, (
        "SELECT b.id, b.created_at, b.updated_at, m.name AS campaign_name, b.name, b.number, b.status, b.note "
        f"FROM callback b LEFT JOIN campaign m ON m.id = b.campaign_id {clause} "
        "ORDER BY b.created_at, b.id"), params)


def export_campaign_results(db: Database, campaign_id: int) -> tuple[int, Iterator[dict]]:
    """One row per voter of the campaign with the final result (or the
    state while it runs) and the time of the call that closed it."""
    if db.execute("SELECT 1 FROM campaign WHERE id = ?", [campaign_id]).fetchone() is None:
        raise NotFound(f"no campaign {campaign_id}")
    total = db.execute("SELECT count(*) FROM campaign_contact WHERE campaign_id = ?",
                       [campaign_id]).fetchone()[0]
    return total, _stream(db, (
        "SELECT ct.row_number, ct.name, cc.number, ct.address, cc.attempts, cc.status, cc.last_result, "
        "c.ended_at AS last_call_at, c.hung_up_in, "
        "(SELECT b.status FROM callback b WHERE b.campaign_id = cc.campaign_id AND b.contact_id = cc.contact_id "
        " ORDER BY b.id DESC LIMIT 1) AS callback_status "
        "FROM campaign_contact cc LEFT JOIN contact ct ON ct.id = cc.contact_id "
        "LEFT JOIN call c ON c.id = cc.call_id AND cc.status = 'done' "
        "WHERE cc.campaign_id = ? ORDER BY cc.id"), [campaign_id])


def export_contacts(db: Database, list_id: int) -> tuple[int, Iterator[dict]]:
    """An imported call list as it was stored (row number, number, name,
    address, the other columns)."""
    row = db.execute("SELECT coalesce(first_contact_id, 0), coalesce(last_contact_id, -1) "
                     "FROM contact_list WHERE id = ?", [list_id]).fetchone()
    if row is None:
        raise NotFound(f"no call list {list_id}")
    first, last = row
    total = max(0, last - first + 1)

    def rows():
        for item in db.execute("SELECT row_number, phone, name, address, extra FROM contact "
                               "WHERE id BETWEEN ? AND ? ORDER BY id", [first, last]):
            item = dict(item)
            try:
                extra = json.loads(item["extra"]) if item["extra"] else {}
            except ValueError:
                extra = {}
            item["extra"] = "; ".join(f"{k}: {v}" for k, v in extra.items()) if isinstance(extra, dict) \
                else str(extra)
            yield item
    return total, rows()

