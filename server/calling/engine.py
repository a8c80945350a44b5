"""The calling engine: what the server does while phones call.

It holds the live picture (connected phones, open calls and their progress,
agent lines, the active campaign) and applies what phones report, after the
protocol module has checked the shape of each message. The rules it follows
are pure decisions in ``policy.py``; the engine gathers their inputs from
the live picture, applies their answers to it and stores them. Every change
that must survive a restart is written through one ``Writer`` before the
phone's acknowledgement is sent; the in-memory picture is rebuilt from the
database at start (open calls from their stored events).

Transport lives elsewhere (``server/phones/namespace.py``): the engine is
given a ``notify(phone_id | None, event, payload, on_reply=None)`` callable
for the few messages it sends to phones, a ``disconnect(sid)`` callable to
cut off a revoked phone, and a clock.

Everything that reads or changes the live picture stays in this one class,
under the same per-call lock (claims, leases, lost phones, revocation,
storage faults, the commands it sends to phones): that is why the module is
somewhat over 600 lines — split, the halves would share the lock and every
field of the picture.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import threading
import time
from collections import defaultdict
from typing import Callable

from phone_agent import protocol as p
from phone_agent.protocol.call_states import (AGENT_RINGING, BRIDGED, DIALING, QUEUED, CallProgress,
                                              TransitionError, advance)

from .. import db, operating
from ..contacts.phone_numbers import mask
from . import EngineError, idle_reason, policy
from .live import (RECENT_KEPT, LivePhone, OpenCall, campaign_for_dashboard, campaign_for_phones, copy_progress,
                   replay)
from .roster import PhoneRoster
from .routing import AgentRouter
from .storage import GuardedStore

log = logging.getLogger(__name__)


def new_call_ids():
    while True:
        yield secrets.token_urlsafe(12)


STALL_S = 5.0          # a sweep this late means the server itself was stalled (frozen, swapping)


class CallingEngine:
    def __init__(self, database: str, *, clock: Callable[[], float] = time.time,
                 notify: Callable[..., None] | None = None,
                 disconnect: Callable[[str], None] | None = None,
                 lease_base_s: float = 60.0, lease_per_call_s: float = 60.0,
                 heartbeat_s: float = 5.0, offline_after_s: float | None = None,
                 lease_max_held: int = 5, reconnect_grace_s: float = 15.0,
                 max_call_s: float = 3 * 3600.0, disk=None):
        self.clock = clock
        self.notify = notify or (lambda phone_id, event, payload, on_reply=None: None)
        self.disconnect = disconnect or (lambda sid: None)   # close one phone connection
        # Phones could not record their calls' progress while writes failed:
        # their silence is not theirs, so no lease runs out for it.
        self.storage = GuardedStore(
            database, disk=disk, on_change=self._changed,
            on_recovered=lambda: self._extend_all_leases(self.clock() + self._lease_s()))
        self.writer = self.storage.writer     # reads at start-up and from the console, unguarded
        self.lease_base_s = lease_base_s
        self.lease_per_call_s = lease_per_call_s
        self.heartbeat_s = heartbeat_s
        self.offline_after_s = offline_after_s or heartbeat_s * 3
        self.lease_max_held = lease_max_held
        self.reconnect_grace_s = reconnect_grace_s
        self.max_call_s = max_call_s
        self.router = AgentRouter()
        self.roster = PhoneRoster(clock, on_change=self._changed)
        self.phones = self.roster.phones      # the same dict, never rebound
        self.calls: dict[str, OpenCall] = {}
        self.campaign: dict | None = None
        self.settings = operating.OperatingSettings()
        self._call_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._day = None
        self._last_sweep: float | None = None   # time.monotonic() of the last sweep
        self.version = 0          # bumped on every change the dashboard shows
        self.recent: list[dict] = []

    def _changed(self) -> None:
        self.version += 1

    def storage_blocked(self) -> bool:
        return self.storage.blocked()

    def _lease_s(self, calls: int = 1) -> float:
        return self.lease_base_s + self.lease_per_call_s * calls

    # -- start-up ---------------------------------------------------------------
    def start(self) -> None:
        """Load the picture from the database (also after a restart)."""
        now = self.clock()
        self.roster.load(self.writer(db.phones), now)
        self.reload_agent_lines()
        self.campaign = self.writer(db.active_campaign)
        if self.campaign:
            self.settings = operating.from_stored(self.campaign["settings"])
        # Phones could not report (and so extend their leases) while the server
        # was down: give every open call a full lease from now, so a restart
        # does not count the downtime against them.
        self.writer(db.extend_open_leases, now + self._lease_s())
        for row in self.writer(db.open_calls):
            self._restore_call(row)
        self._roll_day(now)
        log.info("engine started: %d phones, %d open calls, campaign %s", len(self.phones),
                 len(self.calls), self.campaign and self.campaign["id"])

    def _restore_call(self, row: dict) -> None:
        progress, replayed = replay(self.writer(db.call_events, row["id"]))
        if not replayed:
            log.warning("stored events of call %s do not replay", row["id"])
        self.calls[row["id"]] = OpenCall.from_row(row, progress)
        phone = self.phones.get(row["phone_id"])
        if phone is not None:
            phone.held.add(row["id"])
            if progress.state != QUEUED:
                phone.current_call, phone.current_state = row["id"], progress.state
        # Who each agent is talking to survives a restart: the open call says.
        if progress.state in (AGENT_RINGING, BRIDGED) and progress.agent_line_id is not None:
            ring_s = float(self.settings.agent_ring_repeats * self.settings.agent_ring_cycle_s)
            self.router.restore(progress.agent_line_id, row["id"], progress.state, self.clock(), ring_s)

    def reload_agent_lines(self) -> None:
        self.router.load(self.writer(db.agent_lines), self.clock())
        self.version += 1

    def reload_phone(self, phone_id: int) -> None:
        """After the console changed a phone (rename, disable, group, new token,
        delete). Disabling, deleting or a new token revokes the phone at once:
        its connection is closed and the calls it holds undialled go back."""
        try:
            row = self.writer(db.phone, phone_id)
        except db.NotFound:
            row = None
        phone, why = self.roster.update(phone_id, row)
        if phone is not None:
            self._revoke(phone, why)
        self.version += 1

    def _revoke(self, phone: LivePhone, why: str) -> None:
        sid = self.roster.revoked(phone)
        for call_id in list(phone.held):
            open_call = self.calls.get(call_id)
            if open_call is not None and open_call.progress.state == QUEUED:
                with self._call_locks[call_id]:
                    self._abandon(call_id, reason=f"phone {why}")
        log.warning("phone %s %s: connection closed", phone.id, why)
        if sid is not None:
            self.disconnect(sid)
        self.version += 1

    def authenticate(self, auth) -> LivePhone:
        return self.roster.authenticate(auth, lambda sha256: self.writer(db.phone_by_token, sha256))

    # -- phone events ------------------------------------------------------------
    def hello(self, phone_id: int, msg: dict) -> dict:
        phone = self.roster.working(phone_id, hello_needed=False)
        phone.backend = msg["backend"]
        phone.device = msg.get("device", {})
        phone.assets = set(msg.get("assets", []))
        self.storage(db.record_phone_hello, phone_id, device=phone.device, assets=sorted(phone.assets),
                 at=phone.last_seen)
        phone.said_hello = True
        # Calls the server thinks this phone holds but the phone does not: give them back.
        held = set(msg.get("calls", []))
        for call_id in list(phone.held):
            if call_id not in held and call_id in self.calls:
                with self._call_locks[call_id]:
                    self._abandon(call_id, reason="phone_forgot")
        self.version += 1
        self._maybe_apply_images(phone)
        return p.ok_ack(phone={"id": phone.id, "name": phone.name}, heartbeat_s=self.heartbeat_s,
                        campaign=self.campaign_info())

    def heartbeat(self, phone_id: int, msg: dict) -> dict:
        """Health is live state; it is stored when it changes in a way the
        manager cares about, or once a minute (for the phone list after a restart).
        A beat also says the phone is alive: the calls it is in keep their lease
        (an agent conversation may last any length of time)."""
        phone = self.roster.working(phone_id)
        before, phone.health = phone.health, msg
        until = phone.last_seen + self._lease_s()
        for call_id in phone.held:
            open_call = self.calls.get(call_id)
            if open_call is not None and open_call.progress.state != QUEUED:
                open_call.lease_expires = max(open_call.lease_expires, until)
        started = policy.health_problems(msg) - policy.health_problems(before)
        if started:
            self.storage(db.record_phone_problems, phone_id, started, phone.last_seen)
        if policy.health_worth_storing(before, msg, phone.health_stored_at, phone.last_seen):
            self.storage(db.record_phone_health, phone_id, msg, phone.last_seen)
            phone.health_stored_at = phone.last_seen
        self.version += 1
        return p.ok_ack()

    def assets(self, phone_id: int, msg: dict) -> dict:
        phone = self.roster.working(phone_id)
        phone.assets = set(msg["have"])
        self.storage(db.record_phone_assets, phone_id, sorted(phone.assets))
        self._maybe_apply_images(phone)
        return p.ok_ack(missing=sorted(self.campaign_assets() - phone.assets))

    def _queued_held(self, phone: LivePhone) -> int:
        return sum(1 for call_id in phone.held
                   if (c := self.calls.get(call_id)) is not None and c.progress.state == QUEUED)

    def lease(self, phone_id: int, msg: dict) -> dict:
        phone = self.roster.working(phone_id)
        now = self.clock()
        self._roll_day(now)
        facts = policy.PhoneFacts(device_unavailable=phone.device_unavailable,
                                  dialled_today=phone.dialled_today, assets=phone.assets,
                                  queued_held=self._queued_held(phone))
        decision = policy.lease_decision(self.campaign, self.settings, facts, msg["want"],
                                         max_held=self.lease_max_held, storage_blocked=self.storage_blocked(),
                                         now=now)
        if decision.reason:
            return p.ok_ack(batch=None, retry_s=decision.retry_s, reason=decision.reason)
        want = decision.size
        batch_id = secrets.token_urlsafe(9)
        lease_s = self._lease_s(want)
        claimed = self.storage(db.claim_contacts, campaign_id=self.campaign["id"], phone_id=phone_id,
                           want=want, now=now, lease_s=lease_s, batch_id=batch_id,
                           call_ids=new_call_ids())
        if not claimed:
            return self._nothing_due(now)
        for item in claimed:
            contact_id = item.pop("campaign_contact_id")  # the phone needs only call_id, number, attempt
            self.calls[item["call_id"]] = OpenCall(item["call_id"], phone_id, self.campaign["id"],
                                                   CallProgress(),
                                                   campaign_contact_id=contact_id,
                                                   attempt=item["attempt"],
                                                   number=item["number"], lease_expires=now + lease_s)
            phone.held.add(item["call_id"])
        self.version += 1
        return p.ok_ack(batch={"id": batch_id, "campaign_id": self.campaign["id"],
                               "expires_at": now + lease_s, "calls": claimed})

    def _nothing_due(self, now: float) -> dict:
        next_at = self.storage(db.next_due_at, self.campaign["id"])
        if next_at is None and not self.storage(db.has_unfinished, self.campaign["id"]):
            self._finish_campaign()
        reason, retry_s = policy.nothing_due(next_at, now)
        return p.ok_ack(batch=None, retry_s=retry_s, reason=reason)

    def call_event(self, phone_id: int, msg: dict) -> dict:
        phone = self.roster.working(phone_id)
        call_id = msg["call_id"]
        with self._call_locks[call_id]:
            open_call = self.calls.get(call_id)
            if open_call is None or open_call.phone_id != phone_id:
                return self._late_event(phone_id, msg)
            return self._apply_event(phone, open_call, msg)

    def _late_event(self, phone_id: int, msg: dict) -> dict:
        """An event for a call that is not open: a resend of one stored before
        (acknowledged as a duplicate), or refused with the reason."""
        row = self.storage(db.call, msg["call_id"])
        if row is None or row["phone_id"] != phone_id:
            raise EngineError(p.UNKNOWN_CALL, "no such call for this phone (released, expired or "
                                              "never leased to it); do not dial it")
        if msg["seq"] <= row["last_seq"]:
            return self._resent(msg)
        if row["reason"] == "phone_lost" and msg["seq"] == row["last_seq"] + 1:
            open_call = self._reopen(row)
            if open_call is not None:
                return self._apply_event(self.phones[phone_id], open_call, msg)
        reason = f" ({row['reason']})" if row["reason"] else ""
        raise EngineError(p.BAD_TRANSITION, f"call already ended ({row['result']}{reason}); "
                                            f"'{msg['event']}' refused")

    def _reopen(self, row: dict) -> OpenCall | None:
        """The phone of a call closed as lost reports on: it was alive all
        along (frozen, or cut off past its lease). Open the call again, so
        its outcome is recorded and its voter not called again for it."""
        reopened = self.storage(db.reopen_lost_call, row["id"], phone_id=row["phone_id"],
                            lease_expires=self.clock() + self._lease_s())
        if reopened is None:
            return None
        voided = self.calls.get(reopened["voided"]) if reopened["voided"] else None
        if voided is not None:
            self._forget(voided)
        self._restore_call(self.storage(db.call, row["id"]))
        log.warning("call %s: its phone reported again after the call was closed as lost; open again%s",
                    row["id"], f" (the contact's new lease {reopened['voided']} is void)" if reopened["voided"] else "")
        self.version += 1
        return self.calls[row["id"]]

    def _resent(self, msg: dict) -> dict:
        """An event whose seq was applied before: a duplicate only if it is the same event."""
        stored = self.storage(db.call_event_name, msg["call_id"], msg["seq"])
        if stored == msg["event"]:
            return p.ok_ack(duplicate=True)
        raise EngineError(p.SEQ_CONFLICT, f"event {msg['seq']} of this call was '{stored}', not "
                                          f"'{msg['event']}'; nothing stored")

    def _apply_event(self, phone: LivePhone, open_call: OpenCall, msg: dict) -> dict:
        event, data, at, seq = msg["event"], msg["data"], msg["at"], msg["seq"]
        if seq <= open_call.last_seq:
            return self._resent(msg)
        if seq > open_call.last_seq + 1:
            raise EngineError(p.SEQ_GAP, f"event {seq} came before event {open_call.last_seq + 1} of "
                                         "this call; send the earlier one first")
        now = self.clock()
        if event == "dialing":
            self._confirm_claim(phone, open_call, now)
        if event in ("agent_ringing", "bridged") and data["line_id"] not in open_call.lines_given:
            raise EngineError(p.UNKNOWN_LINE, f"agent line {data['line_id']} was not given to this call")
        progress = copy_progress(open_call.progress)
        try:
            advance(progress, event, data, at)
        except TransitionError as exc:
            raise EngineError(p.BAD_TRANSITION, str(exc)) from None
        lease_expires = now + self._lease_s()
        updates = policy.call_updates(event, data, at, seq, open_call.progress, progress, lease_expires)
        finish = (policy.finish(progress, open_call.attempt, self.settings, now)
                  if event == "ended" else None)
        ours = self.campaign is not None and self.campaign["id"] == open_call.campaign_id
        refusal = policy.keypad_refusal(event, data, progress, open_call.number,
                                        self.settings.refuse_key if ours else "",
                                        self.campaign["name"] if ours else "")
        stored = self.storage(db.record_call_event, call_id=open_call.call_id,
                          campaign_contact_id=open_call.campaign_contact_id, seq=seq, event=event,
                          at=at, data=data, received_at=now, call_updates=updates, finish=finish,
                          do_not_call=refusal)
        if not stored:
            return self._resent(msg)
        open_call.progress, open_call.last_seq = progress, seq
        open_call.lease_expires = max(open_call.lease_expires, lease_expires)
        if event == "dialing":
            open_call.dialed_at = now
        if refusal:
            log.info("call %s: the voter refused further calls by keypad (%s)", open_call.call_id,
                     mask(open_call.number))
        self._after_event(phone, open_call, event, data, now)
        return p.ok_ack(duplicate=False)

    def _confirm_claim(self, phone: LivePhone, open_call: OpenCall, now: float) -> None:
        """The phone asks to dial (its ``dialing`` event): allowed only if the
        campaign still runs, it is calling time, and the number is not on
        수신거부 as the list is now. Refused: the phone must not dial; the
        call is given back (or closed as skipped, for 수신거부)."""
        refusal = policy.claim_refusal(self.campaign, open_call.campaign_id, self.settings, now)
        if refusal is not None:
            self.storage(db.release_call, open_call.call_id)
            self._forget(open_call)
            raise EngineError(*refusal)
        if self.storage_blocked():
            raise EngineError(p.STORAGE, "the server cannot store calls now (disk); do not dial")
        if self.storage(db.on_do_not_call, open_call.number):
            self.storage(db.skip_do_not_call, open_call.call_id)
            self._forget(open_call)
            log.info("call %s skipped: the number is on 수신거부 (%s)", open_call.call_id,
                     mask(open_call.number))
            raise EngineError(p.DO_NOT_CALL, "the number is on 수신거부 now; do not dial")

    def _after_event(self, phone: LivePhone, open_call: OpenCall, event: str, data: dict, now: float) -> None:
        call_id = open_call.call_id
        phone.current_call, phone.current_state = call_id, open_call.progress.state
        if event == "dialing":
            phone.dialled_today += 1
        elif event == "bridged":
            self.router.answered(data["line_id"], call_id, now)
        elif event == "agent_no_answer":
            self.router.no_answer(data["line_id"], call_id, now)
        elif event == "ended":
            self.router.call_ended(call_id, now)
            self._forget(open_call)
            self.recent.insert(0, open_call.recent_entry(phone.name, now))
            del self.recent[RECENT_KEPT:]
        self.version += 1

    def _forget(self, open_call: OpenCall) -> None:
        """The call is no longer open: drop it from the live picture."""
        call_id = open_call.call_id
        self.calls.pop(call_id, None)
        self._call_locks.pop(call_id, None)
        phone = self.phones.get(open_call.phone_id)
        if phone is not None:
            phone.held.discard(call_id)
            if phone.current_call == call_id:
                phone.current_call, phone.current_state = None, None
        self.version += 1

    def agent(self, phone_id: int, msg: dict, now: float | None = None) -> dict:
        """A voter pressed 1: name the agent line to ring, or None."""
        self.roster.working(phone_id)
        now = self.clock() if now is None else now
        call_id = msg["call_id"]
        open_call = self.calls.get(call_id)
        if open_call is None or open_call.phone_id != phone_id:
            raise EngineError(p.UNKNOWN_CALL, "no such call for this phone")
        if open_call.progress.state not in ("routing", "agent_ringing"):
            raise EngineError(p.BAD_TRANSITION,
                              f"an agent is asked for in state {open_call.progress.state}")
        earlier = open_call.agent_answers.get(msg["attempt"])
        if earlier is not None:
            return earlier  # a resent request (after a reconnect): the same answer, not a second line
        tried = set(open_call.progress.lines_tried)
        if msg.get("after_line"):
            tried.add(msg["after_line"])
            if msg.get("outcome") in ("no_answer", "busy", "failed"):
                self.router.no_answer(msg["after_line"], call_id, now)
        ring_s = float(self.settings.agent_ring_repeats * self.settings.agent_ring_cycle_s)
        line = self.router.pick(call_id, now, ring_s, tried)
        if line is not None:
            open_call.lines_given.add(line.id)
        self.version += 1
        answer = p.ok_ack(line=None if line is None else {
            "id": line.id, "extension": line.extension, "dial_target": line.dial_target, "ring_s": ring_s})
        open_call.agent_answers[msg["attempt"]] = answer
        return answer

    def release(self, phone_id: int, msg: dict) -> dict:
        """The phone gives back calls it has not dialled: leased ones, and ones
        whose dial was confirmed too late to reach it (it did not dial them)."""
        self.roster.working(phone_id)
        released = 0
        for call_id in msg["call_ids"]:
            with self._call_locks[call_id]:
                open_call = self.calls.get(call_id)
                if open_call is None:
                    if self._undo_lost_claim(phone_id, call_id):
                        released += 1
                    continue
                if open_call.phone_id != phone_id:
                    continue
                state = open_call.progress.state
                if state == QUEUED or (state == DIALING and open_call.last_seq == 1):
                    if self.storage(db.release_call, call_id, undo_claim=True):
                        if state == DIALING:
                            phone = self.phones.get(phone_id)
                            if phone is not None:
                                phone.dialled_today = max(0, phone.dialled_today - 1)
                            log.info("call %s: the phone did not dial it after all; back to the pool", call_id)
                        self._forget(open_call)
                        released += 1
        self.version += 1
        return p.ok_ack(released=released)

    def _undo_lost_claim(self, phone_id: int, call_id: str) -> bool:
        """A released call the sweep closed as lost while its phone was silent
        between the dial's confirmation and the dial (frozen, link stalled):
        the phone never dialled it, so its voter is due again rather than
        lost (only a call whose one event is ``dialing``; db.undo_lost_claim)."""
        row = self.storage(db.call, call_id)      # a read first: most such ids were simply released
        if (row is None or row["phone_id"] != phone_id or row["reason"] != "phone_lost"
                or row["last_seq"] != 1):
            return False
        if not self.storage(db.undo_lost_claim, call_id, phone_id=phone_id):
            return False
        phone = self.phones.get(phone_id)
        if phone is not None:
            phone.dialled_today = max(0, phone.dialled_today - 1)
        log.info("call %s: closed as lost, but its phone never dialled it; the voter is due again", call_id)
        return True

    # -- housekeeping --------------------------------------------------------------
    def sweep(self) -> None:
        """Called every second or so: expire leases of vanished phones, give
        back at once what a disconnected phone had not dialled, and close
        calls that outlived any real call."""
        now = self.clock()
        mono = time.monotonic()
        if self._last_sweep is not None and mono - self._last_sweep > STALL_S:
            # The server itself was stalled (frozen, swapping, a long lock):
            # phones could not be heard meanwhile, so their silence says nothing.
            log.warning("the server was stalled for %.1f s; every open call keeps its lease",
                        mono - self._last_sweep)
            self._extend_all_leases(now + self._lease_s())
            with contextlib.suppress(EngineError):
                self.storage(db.extend_open_leases, now + self._lease_s())
        self._last_sweep = mono
        if self.storage.error is not None:
            if self.storage.paused_for() <= 0:
                with contextlib.suppress(EngineError):   # a write that works clears the error
                    self.storage(db.extend_open_leases, now + self._lease_s())
            if self.storage.error is not None:
                return   # nothing can be closed or given back now; phones cannot record either
        try:
            self._expire(now)
        except EngineError as exc:        # storage failed mid-sweep: the next sweep goes on
            log.info("lease sweep stopped: %s", exc.message)
            return
        self._roll_day(now)

    def _extend_all_leases(self, until: float) -> None:
        for open_call in self.calls.values():
            open_call.lease_expires = max(open_call.lease_expires, until)

    def _expire(self, now: float) -> None:
        for call_id, open_call in list(self.calls.items()):
            too_long = open_call.dialed_at is not None and now - open_call.dialed_at > self.max_call_s
            if open_call.lease_expires < now or too_long:
                with self._call_locks[call_id]:
                    if call_id in self.calls:
                        self._abandon(call_id, reason="too_long" if too_long else "lease_expired")
        for phone in self.phones.values():
            if (phone.sid is None and phone.disconnected_at is not None
                    and now - phone.disconnected_at >= self.reconnect_grace_s):
                phone.disconnected_at = None
                for call_id in list(phone.held):
                    open_call = self.calls.get(call_id)
                    if open_call is not None and open_call.progress.state == QUEUED:
                        with self._call_locks[call_id]:
                            self._abandon(call_id, reason="phone_disconnected")

    def _abandon(self, call_id: str, reason: str) -> None:
        """A call its phone no longer holds: undialled → back to the pool;
        dialled but not answered → tried again under the no-answer rule
        (the voter may not have heard a thing); answered → closed, never
        dialled again (the voter heard us). Either way the call is recorded
        ``failed`` with the reason ``phone_lost``."""
        open_call = self.calls.get(call_id)
        if open_call is None:
            return
        now = self.clock()
        state = open_call.progress.state
        if state == QUEUED:
            if self.storage(db.release_call, call_id):
                log.info("call %s returned to the pool (%s)", call_id, reason)
        else:
            finish = policy.lost_finish(state, open_call.attempt, open_call.progress.pressed_one,
                                        self.settings, now)
            if self.storage(db.close_lost_call, call_id, state=state, ended_at=now, finish=finish,
                        reason="call_too_long" if reason == "too_long" else "phone_lost"):
                log.info("call %s ended as failed: phone lost in state %s (%s)%s", call_id, state, reason,
                         "; it will be tried again" if finish["contact_status"] == "pending" else "")
            self.router.call_ended(call_id, now)
        self._forget(open_call)

    def _roll_day(self, now: float) -> None:
        day = dt.datetime.fromtimestamp(now, operating.SEOUL).date()
        if day != self._day:
            self._day = day
            midnight = dt.datetime.combine(day, dt.time(), operating.SEOUL).timestamp()
            counts = self.writer(db.calls_dialled_since, midnight)
            for phone in self.phones.values():
                phone.dialled_today = counts.get(phone.id, 0)

    # -- campaigns -------------------------------------------------------------------
    def campaign_assets(self) -> set[str]:
        return policy.campaign_assets(self.campaign)

    def campaign_info(self) -> dict | None:
        return campaign_for_phones(self.campaign, self.settings)

    def set_campaign_state(self, campaign_id: int, state: str) -> None:
        """start / pause / resume / stop, from the console."""
        from_states = {"running": ("ready", "paused"), "paused": ("running",),
                       "stopped": ("ready", "running", "paused")}[state]
        self.writer(db.set_campaign_state, campaign_id, state, from_states=from_states)
        self.campaign = self.writer(db.active_campaign)
        self.settings = operating.from_stored(self.campaign["settings"]) if self.campaign else self.settings
        self.version += 1
        self.notify(None, p.CAMPAIGN, {"campaign": self.campaign_info()})
        for phone in self.phones.values():
            self._maybe_apply_images(phone)

    def reload_campaign_settings(self, campaign_id: int) -> None:
        """After the console changed a live campaign's settings: the engine
        uses them from the next lease, claim, retry and agent request on, and
        phones are told the ones they use (ring, agent connection)."""
        if self.campaign is None or self.campaign["id"] != campaign_id:
            return
        self.campaign = self.writer(db.active_campaign)
        self.settings = operating.from_stored(self.campaign["settings"]) if self.campaign else self.settings
        self.version += 1
        self.notify(None, p.CAMPAIGN, {"campaign": self.campaign_info()})

    def _finish_campaign(self) -> None:
        campaign = self.campaign
        try:
            self.storage(db.set_campaign_state, campaign["id"], "finished", from_states=("running", "paused"))
        except db.Conflict:
            return
        log.info("campaign %s finished", campaign["id"])
        self.campaign = None
        self.version += 1
        self.notify(None, p.CAMPAIGN, {"campaign": None})

    def _maybe_apply_images(self, phone: LivePhone) -> None:
        """Tell a phone to apply the campaign's images once it holds them."""
        if not phone.connected or not phone.said_hello:
            return
        wanted = policy.images_to_apply(self.campaign, phone.assets, phone.images)
        if wanted is None:
            return
        phone.images = dict(wanted, status="sent", at=self.clock())
        self.storage(db.record_phone_images, phone.id, phone.images)

        def on_reply(ok: bool, error: str | None, phone_id: int = phone.id) -> None:
            self.images_applied(phone_id, ok, error)
        self.notify(phone.id, p.COMMAND, {"id": secrets.token_urlsafe(9), "type": "apply_images",
                                          "args": wanted}, on_reply=on_reply)

    def probe_audio(self, phone_id: int) -> bool:
        """Ask a connected phone to probe its audio path again (폰 등록's
        오디오 점검); False when it is not connected. The result comes in
        its next heartbeat; a refusal (a call in progress, a sim phone) is
        kept in ``phone.probe`` for the page."""
        phone = self.phones.get(phone_id)
        if phone is None or not phone.connected or not phone.said_hello:
            return False
        phone.probe = {"status": "sent", "at": self.clock()}

        def on_reply(ok: bool, error: str | None, phone_id: int = phone.id) -> None:
            target = self.phones.get(phone_id)
            if target is not None:
                target.probe = {"status": "done" if ok else "failed", "error": error, "at": self.clock()}
                self.version += 1
        self.notify(phone.id, p.COMMAND, {"id": secrets.token_urlsafe(9), "type": "probe_audio", "args": {}},
                    on_reply=on_reply)
        self.version += 1
        return True

    def images_applied(self, phone_id: int, ok: bool, error: str | None = None) -> None:
        phone = self.phones.get(phone_id)
        if phone is None:
            return
        phone.images = dict(phone.images, status="applied" if ok else "failed", error=error,
                            at=self.clock())
        self.storage(db.record_phone_images, phone_id, phone.images)
        self.version += 1

    # -- the dashboard's picture ---------------------------------------------------
    def idle_reasons(self, campaign: dict, queue: dict) -> list[dict]:
        """Why ``campaign`` dials nothing now (``idle_reason``), from the live
        phones and ``queue`` (``db.campaign_queue``); the active campaign is
        judged with the settings the engine uses."""
        now = self.clock()
        settings = (self.settings if self.campaign is not None and self.campaign["id"] == campaign["id"]
                    else operating.from_stored(campaign["settings"]))
        phones = [idle_reason.PhoneState(online=ph.connected and now - ph.last_seen <= self.offline_after_s,
                                         unavailable=ph.device_unavailable, dialled_today=ph.dialled_today)
                  for ph in self.phones.values() if ph.enabled]
        found = idle_reason.reasons(campaign, settings, now, phones=phones, queue=idle_reason.Queue(**queue),
                                    storage=self.storage.status())
        return [reason.as_dict(now) for reason in found]

    def snapshot(self) -> dict:
        now = self.clock()
        campaign = self.campaign and campaign_for_dashboard(self.campaign)
        return {"phones": [phone.as_dict(now, self.offline_after_s)
                           for phone in sorted(self.phones.values(), key=lambda ph: ph.id)],
                "agents": self.router.snapshot(now),
                "campaign": campaign,
                "storage": self.storage.status(),
                "recent": self.recent[:20]}

