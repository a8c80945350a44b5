"""Hand-seeded calls for the 통계 and export tests: a call list imported the
way the console imports it, a campaign over it, and calls written through
the same db functions and state machine the calling engine uses (lease,
then one stored event at a time), at times the test chooses."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from phone_agent.protocol.call_states import CallProgress, advance
from server import db, sample
from server.calling import policy
from server.contacts import importer
from server.operating import SEOUL
from server.security import token_sha256
from server.storage import UploadStore

_ids = itertools.count(1)


def seoul(day: str, hour: int, minute: int = 0, second: float = 0) -> float:
    """Epoch seconds of a Seoul wall-clock time."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), SEOUL).timestamp() + second


def seed_list(store, tmp_path: Path, numbers: list[str], *, name: str = "시험 명단") -> int:
    csv = sample.voters_csv(tmp_path / f"{name}.csv", len(numbers), numbers=numbers)
    return importer.import_file(store, UploadStore(tmp_path / "uploads"), csv, name=name).list_id


def seed_campaign(store, list_id: int, name: str = "시험 캠페인") -> int:
    campaign_id = db.create_campaign(store, name=name, list_id=list_id, settings={}, assets={}, kind="notice")
    db.set_campaign_state(store, campaign_id, "running", from_states=("ready",))
    return campaign_id


def seed_phone(store, name: str) -> int:
    return db.create_phone(store, name=name, mode="sim", token_sha256=token_sha256(f"token-{name}"))


def record_call(store, campaign_id: int, phone_id: int, at: float, events: list[tuple]) -> str:
    """Lease the campaign's next due contact to ``phone_id`` and store
    ``events`` — ``(event, data, seconds after at)`` — through the call
    state machine, as the engine does. Returns the call id."""
    call_ids = (f"call-{next(_ids):08d}" for _ in itertools.count())
    [claimed] = db.claim_contacts(store, campaign_id=campaign_id, phone_id=phone_id, want=1, now=at,
                                  lease_s=600, batch_id=f"batch-{next(_ids)}", call_ids=call_ids)
    progress = CallProgress()
    for seq, (event, data, offset) in enumerate(events, start=1):
        before = CallProgress(**{k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                                 for k, v in vars(progress).items()})
        when = at + offset
        after = advance(progress, event, data, when)
        finish = None
        if after.ended:
            finish = {"contact_status": "done", "next_at": 0, "result": after.result,
                      "callback": after.wants_callback}
        db.record_call_event(store, call_id=claimed["call_id"], campaign_contact_id=claimed["campaign_contact_id"],
                             seq=seq, event=event, at=when, data=data, received_at=when,
                             call_updates=policy.call_updates(event, data, when, seq, before, after, when + 600),
                             finish=finish)
        progress = after
    return claimed["call_id"]


# Scripts of whole calls: (event, data, seconds after the dial).
def no_answer(ring_s: float = 30) -> list[tuple]:
    return [("dialing", {}, 0), ("ringing", {}, 1), ("ended", {"result": "no_answer"}, ring_s)]


def busy() -> list[tuple]:
    return [("dialing", {}, 0), ("ended", {"result": "busy"}, 2)]


def listened(answer_s: float, end_s: float) -> list[tuple]:
    return [("dialing", {}, 0), ("ringing", {}, 1), ("answered", {}, answer_s), ("intro_started", {}, answer_s + 0.5),
            ("ended", {"result": "listened"}, end_s)]


def connected(answer_s: float, press_s: float, bridge_s: float, end_s: float, line_id: int,
              missed_lines: tuple = ()) -> list[tuple]:
    events = [("dialing", {}, 0), ("ringing", {}, 1), ("answered", {}, answer_s),
              ("intro_started", {}, answer_s + 0.5), ("dtmf", {"digit": "1"}, press_s)]
    t = press_s
    for missed in missed_lines:
        events += [("agent_ringing", {"line_id": missed}, t + 0.5), ("agent_no_answer", {"line_id": missed}, t + 5)]
        t += 5
    events += [("agent_ringing", {"line_id": line_id}, t + 0.5), ("bridged", {"line_id": line_id}, bridge_s),
               ("ended", {"result": "connected"}, end_s)]
    return events


def callback(answer_s: float, press_s: float, line_id: int) -> list[tuple]:
    return [("dialing", {}, 0), ("ringing", {}, 1), ("answered", {}, answer_s), ("intro_started", {}, answer_s + 0.5),
            ("dtmf", {"digit": "1"}, press_s), ("agent_ringing", {"line_id": line_id}, press_s + 0.5),
            ("agent_no_answer", {"line_id": line_id}, press_s + 20), ("promise_started", {}, press_s + 20.5),
            ("ended", {"result": "callback_requested"}, press_s + 25)]


def refused(answer_s: float, end_s: float) -> list[tuple]:
    return [("dialing", {}, 0), ("ringing", {}, 1), ("answered", {}, answer_s), ("intro_started", {}, answer_s + 0.5),
            ("dtmf", {"digit": "9"}, answer_s + 3), ("ended", {"result": "refused"}, end_s)]


def failed(reason: str, end_s: float = 3) -> list[tuple]:
    return [("dialing", {}, 0), ("ended", {"result": "failed", "reason": reason}, end_s)]
