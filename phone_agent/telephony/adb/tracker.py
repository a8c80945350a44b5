"""Who is on the line: the adb backend's call tracker, pure (no I/O).

:class:`CallTracker` turns successive snapshots of the phone — the
``telephony.registry`` slots, and Telecom's calls while a second leg is in
play — into :class:`~phone_agent.telephony.base.CallStateChange` events;
:func:`classify_disconnect` names who ended a call from Android's causes.

What the dumps can tell: ``telephony.registry`` gives, per SIM slot, idle /
ringing / off-hook, the *precise* foreground state (dialing 3, alerting 4,
active 1 — only it tells the far end ringing from dialing), the held call,
the caller's number while ringing and the last disconnect cause
(``mCallDisconnectCause`` + the network's ``mCallPreciseDisconnectCause``).
Telecom's dump lists each call with its own state, which is what tells the
voter leg from the agent leg (by Telecom id: on user builds it masks every
number, ``tel:***********``) and shows a conference (``childs(2)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..base import ACTIVE, AGENT, ALERTING, DIALING, DISCONNECTED, INCOMING, VOTER, CallStateChange
from ..dumpsys import SlotState, TelecomCall

__all__ = ["CallTracker", "classify_disconnect"]


# -- who ended a call, from the registry's causes -----------------------------------------

def classify_disconnect(cause: int | None, precise: int | None, *, answered: bool,
                        local: bool) -> str:
    """One of base.CAUSES from android.telephony.DisconnectCause (``cause``) and
    the network's PreciseDisconnectCause (``precise``).

    Many networks report a declined call as plain busy (17); only a network
    that sends 21 (call rejected) makes ``rejected`` distinguishable."""
    if local and cause in (None, -1, 0, 2, 3) and precise in (None, -1, 0, 16, 31):
        return "local_hangup"
    if precise in (18, 19) or cause == 13:
        return "no_answer"
    if precise == 21 or cause == 16:
        return "rejected"
    if cause == 4 or precise == 17:
        return "busy"
    if cause in (7, 8, 25, 38) or precise in (1, 22, 28):
        return "invalid_number"
    if cause == 3:
        return "local_hangup"
    if cause == 2 or precise in (16, 31):
        return "remote_hangup" if answered else "rejected"
    if local:
        return "local_hangup"
    if cause in (None, -1, 0):
        return "remote_hangup" if answered else "failed"
    return "failed"


_REASONS = {"BUSY": "busy", "INVALID_NUMBER": "invalid_number",
            "UNOBTAINABLE_NUMBER": "invalid_number", "NUMBER_UNREACHABLE": "invalid_number",
            "INCOMING_REJECTED": "rejected", "TIMED_OUT": "no_answer", "LOCAL": "local_hangup"}


# -- the call tracker (pure) ----------------------------------------------------------------

@dataclass
class _Leg:
    kind: str  # VOTER | AGENT
    number: str
    state: str  # DIALING | ALERTING | ACTIVE | INCOMING | DISCONNECTED
    since: float  # when we asked for it (dial) or saw it (incoming)
    started: bool = False  # the phone showed the call
    answered: bool = False
    local: bool = False  # we ended it
    tc_id: str | None = None  # Telecom id, once known
    end_seen: float | None = None  # first snapshot that showed it gone (cause grace)
    baseline: tuple = (None, None)  # registry causes when it started


class CallTracker:
    """Turns successive snapshots of the phone (registry slots, and Telecom's
    calls while a second leg is in play) into :class:`CallStateChange` events.

    Pure logic: the backend feeds it what it polled and the time; tests feed
    it fixture texts. ``voice_slot`` pins the SIM slot followed (``None``:
    whichever slot shows a call).
    """

    def __init__(self, *, voice_slot: int | None = None, start_timeout_s: float = 15.0,
                 cause_grace_s: float = 0.6):
        self.voice_slot = voice_slot
        self.start_timeout_s = start_timeout_s
        self.cause_grace_s = cause_grace_s
        self.voter: _Leg | None = None
        self.agent: _Leg | None = None
        self.bridged = False
        self.conference_id: str | None = None
        self._known_ids: set[str] = set()
        self._telecom_known = False
        self._slot: int | None = voice_slot
        self._last: SlotState | None = None
        self.failure: str | None = None  # why the last leg ended as "failed"

    # -- what the backend did -------------------------------------------------
    def dialing(self, number: str, now: float, calls: list[TelecomCall] | None = None) -> CallStateChange:
        """We placed the voter call; ``calls``: Telecom's calls just before
        (so the new call is recognised by its id, even if it is already over
        when first seen)."""
        self.voter = _Leg(VOTER, number, DIALING, now, baseline=self._causes())
        self.agent, self.bridged, self.conference_id = None, False, None
        self._known_ids = {c.call_id for c in calls or ()}
        self._telecom_known = calls is not None
        return CallStateChange(VOTER, DIALING, number=number)

    def agent_dialing(self, target: str, now: float, calls: list[TelecomCall]) -> CallStateChange:
        live = [c for c in calls if c.live and c.state != "DISCONNECTED"]
        self._known_ids = {c.call_id for c in calls}
        if self.voter is not None and self.voter.tc_id is None:
            voters = [c for c in live if not c.conference and not c.has_parent]
            if len(voters) == 1:
                self.voter.tc_id = voters[0].call_id
        self.agent = _Leg(AGENT, target, DIALING, now, baseline=self._causes())
        return CallStateChange(AGENT, DIALING, number=target)

    def ending(self, leg: _Leg | None) -> None:
        if leg is not None and leg.state != DISCONNECTED:
            leg.local = True

    @property
    def busy(self) -> bool:
        """A leg is up (poll fast)."""
        return any(leg is not None and leg.state != DISCONNECTED for leg in (self.voter, self.agent))

    @property
    def needs_telecom(self) -> bool:
        """Telecom's dump is needed: to tell legs apart (second leg in play),
        or to find a call placed but not yet seen in the registry."""
        if self.agent is not None and self.busy:
            return True
        leg = self.voter
        return leg is not None and leg.state != DISCONNECTED and not leg.started and self._telecom_known

    @property
    def call_state(self) -> str:
        """The protocol Health ``call_state``."""
        leg = self.voter
        if leg is None or leg.state == DISCONNECTED:
            return "idle"
        return {DIALING: "dialing", ALERTING: "ringing", ACTIVE: "active",
                INCOMING: "incoming"}[leg.state]

    def live(self, kind: str) -> _Leg | None:
        leg = self.voter if kind == VOTER else self.agent
        return leg if leg is not None and leg.state != DISCONNECTED else None

    # -- what the phone showed -------------------------------------------------
    def update(self, slots: list[SlotState], calls: list[TelecomCall] | None,
               now: float) -> list[CallStateChange]:
        slot = self._pick(slots)
        self._last = slot
        out: list[CallStateChange] = []
        if slot is None:
            return out
        if not self.busy:
            self._incoming(slot, now, out)
            return out
        if calls is not None and self.agent is not None:
            self._two_legs(slot, calls, now, out)
        elif self.voter is not None and self.voter.state != DISCONNECTED:
            self._one_leg(self.voter, slot, now, out, calls)
        if self.agent is not None and self.agent.state != DISCONNECTED and calls is None \
                and slot.call_state == 0 and slot.background_call_state in (None, 0, -1):
            self._end(self.agent, slot, now, out, force=True)
        return out

    def device_lost(self, reason: str) -> list[CallStateChange]:
        out = []
        for leg in (self.agent, self.voter):
            if leg is not None and leg.state != DISCONNECTED:
                leg.state = DISCONNECTED
                self.failure = reason
                out.append(CallStateChange(leg.kind, DISCONNECTED, cause="failed", number=leg.number))
        return out

    # -- internals ---------------------------------------------------------------
    def _causes(self) -> tuple:
        s = self._last
        return (None, None) if s is None else (s.disconnect_cause, s.precise_disconnect_cause)

    def _pick(self, slots: list[SlotState]) -> SlotState | None:
        if not slots:
            return None
        if self.voice_slot is not None:
            return next((s for s in slots if s.slot == self.voice_slot), slots[0])
        active = [s for s in slots if s.in_call or (s.foreground_call_state or 0) not in (0, -1)]
        if self._slot is not None:
            same = next((s for s in slots if s.slot == self._slot), None)
            if same is not None and (same.in_call or not active):
                return same
        chosen = active[0] if active else next((s for s in slots if s.slot == self._slot), slots[0])
        if active:
            self._slot = chosen.slot
        return chosen

    def _incoming(self, slot: SlotState, now: float, out: list) -> None:
        ringing = slot.call_state == 1 or slot.ringing_call_state in (5, 6)
        if ringing and slot.foreground_call_state in (None, 0, -1, 7):
            leg = self.voter = _Leg(VOTER, slot.incoming_number, INCOMING, now, started=True,
                                    baseline=(slot.disconnect_cause, slot.precise_disconnect_cause))
            self.agent, self.bridged = None, False
            out.append(CallStateChange(VOTER, INCOMING, number=leg.number or None))

    def _one_leg(self, leg: _Leg, slot: SlotState, now: float, out: list,
                 calls: list[TelecomCall] | None = None) -> None:
        fg = slot.foreground_call_state
        if not leg.started and leg.state != INCOMING and calls is not None and self._telecom_known:
            fresh = sorted((c for c in calls if c.call_id not in self._known_ids and not c.conference
                            and c.incoming is not True), key=lambda c: c.seq)
            if fresh:
                call = fresh[0]
                leg.tc_id = call.call_id
                if call.state == "SELECT_PHONE_ACCOUNT":
                    self.failure = ("the phone asks which SIM to call from: set a default SIM for "
                                    "calls in its settings")
                    self._finish(leg, "failed", out)
                    return
                leg.started = True
                if not call.live or call.state in ("DISCONNECTED", "ABORTED"):
                    # It came and went between two looks: Telecom's history has its cause.
                    self._end(leg, slot, now, out, telecom=call, force=True)
                    return
        if leg.state == INCOMING:
            if fg == 1:
                self._set(leg, ACTIVE, out)
                leg.answered = True
            elif slot.call_state == 0 and slot.ringing_call_state in (None, 0, -1, 7):
                self._end(leg, slot, now, out)
            return
        showing = slot.call_state == 2 or fg in (1, 2, 3, 4, 8)
        if not leg.started:
            if showing:
                leg.started = True
            elif now - leg.since > self.start_timeout_s:
                self.failure = "the call did not start"
                self._finish(leg, "failed", out)
                return
            else:
                return
        # Without a precise state (a dump that lacks it) off-hook alone cannot
        # tell answered from dialing: the leg then stays DIALING until it ends.
        if fg == 4 and leg.state == DIALING:
            self._set(leg, ALERTING, out)
        elif fg == 1 and leg.state in (DIALING, ALERTING):
            leg.answered = True
            self._set(leg, ACTIVE, out)
        if slot.call_state == 0 and fg in (None, 0, 7, -1):
            self._end(leg, slot, now, out)
        else:
            leg.end_seen = None
            leg.baseline = (slot.disconnect_cause, slot.precise_disconnect_cause)

    def _two_legs(self, slot: SlotState, calls: list[TelecomCall], now: float, out: list) -> None:
        voter, agent = self.voter, self.agent
        live = {c.call_id: c for c in calls if c.live and c.state not in ("DISCONNECTED", "ABORTED")}
        history = {c.call_id: c for c in calls}
        conference = next((c for c in live.values() if c.conference), None)
        if agent.tc_id is None:
            # The first call Telecom numbered after we dialled the agent: it may
            # already be over (a busy line ends within a fraction of a second).
            fresh = sorted((c for c in calls if c.call_id not in self._known_ids and not c.conference
                            and c.call_id != voter.tc_id and c.incoming is not True),
                           key=lambda c: c.seq)
            if fresh:
                agent.tc_id = fresh[0].call_id
                agent.started = True
            elif agent.state != DISCONNECTED and now - agent.since > self.start_timeout_s:
                self.failure = "the agent call did not start"
                self._finish(agent, "failed", out)
        if conference is not None:
            if not self.bridged:
                self.bridged = True
                self.conference_id = conference.call_id
        # the agent leg
        if agent.state != DISCONNECTED and agent.tc_id is not None:
            call = live.get(agent.tc_id)
            if call is None:
                if self.bridged and conference is not None and conference.children >= 2:
                    pass  # merged into an IMS conference: the participants replaced it
                else:
                    self._end(agent, slot, now, out, telecom=history.get(agent.tc_id), force=True)
            elif call.state in ("DIALING", "CONNECTING") and agent.state == DIALING \
                    and slot.foreground_call_state == 4:
                self._set(agent, ALERTING, out)
            elif call.state == "ACTIVE" and agent.state in (DIALING, ALERTING):
                agent.answered = True
                self._set(agent, ACTIVE, out)
        elif self.bridged and agent.state != DISCONNECTED and conference is None:
            self._end(agent, slot, now, out, force=True)
        if self.bridged and agent.state != DISCONNECTED and conference is not None \
                and conference.children < 2:
            self._end(agent, slot, now, out, force=True)
        # the voter leg
        all_idle = slot.call_state == 0 and not live
        if voter.state != DISCONNECTED:
            vcall = live.get(voter.tc_id) if voter.tc_id else None
            gone = voter.tc_id is not None and vcall is None and not (self.bridged and conference)
            if gone or all_idle:
                self._end(voter, slot, now, out, telecom=history.get(voter.tc_id or ""), force=True)
        if agent.state != DISCONNECTED and all_idle:
            self._end(agent, slot, now, out, telecom=history.get(agent.tc_id or ""), force=True)

    def _set(self, leg: _Leg, state: str, out: list) -> None:
        leg.state = state
        out.append(CallStateChange(leg.kind, state, number=leg.number))

    def _end(self, leg: _Leg, slot: SlotState, now: float, out: list, *,
             telecom: TelecomCall | None = None, force: bool = False) -> None:
        if leg.state == DISCONNECTED:
            return
        causes = (slot.disconnect_cause, slot.precise_disconnect_cause)
        fresh = causes != leg.baseline
        if not fresh and not force and telecom is None:
            # The registry may report the cause a moment after the idle state.
            if leg.end_seen is None:
                leg.end_seen = now
            if now - leg.end_seen < self.cause_grace_s:
                return
        cause = None
        if telecom is not None and telecom.disconnect_reason:
            cause = _REASONS.get(telecom.disconnect_reason)
            if cause is None and telecom.disconnect_code in ("REMOTE", "OTHER"):
                cause = "remote_hangup" if leg.answered else "rejected"
        if fresh and (cause is None or cause in ("remote_hangup", "rejected", "busy")):
            # The registry's network cause is finer (no answer, call rejected).
            registry = classify_disconnect(causes[0], causes[1], answered=leg.answered, local=leg.local)
            if cause is None or registry in ("no_answer", "rejected"):
                cause = registry
        if cause is None:
            cause = classify_disconnect(None, None, answered=leg.answered, local=leg.local)
        if leg.local and cause in ("remote_hangup", "rejected", "failed"):
            cause = "local_hangup"
        if leg.state == INCOMING and cause == "rejected" and not leg.local:
            cause = "remote_hangup"  # the caller gave up
        self._finish(leg, cause, out)

    def _finish(self, leg: _Leg, cause: str, out: list) -> None:
        leg.state = DISCONNECTED
        out.append(CallStateChange(leg.kind, DISCONNECTED, cause=cause, number=leg.number or None))
