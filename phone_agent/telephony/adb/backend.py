"""The ``adb`` backend: a real Android phone driven from the adb shell.

One backend for both placements:

* **router mode** — the phone is on the call server's Wi-Fi with ADB over TCP
  on; the runner on the server machine drives ``"172.16.0.23:5555"`` through
  the server machine's adb server (``adb connect`` is done here);
* **internet mode** — ``phone_agent`` runs on the phone itself (Termux) and
  drives the phone's own adbd on ``"127.0.0.1:<port>"`` (Android 11+
  Wireless debugging, paired once with ``adb pair``; the port changes each
  time Wireless debugging is switched on, so it is configuration).

Everything goes through :mod:`adbutils` (a synchronous library: every
blocking call runs in a worker thread; one single-thread executor per phone
serialises the shell). The backend opens its own service streams on adbutils'
``AdbConnection`` so that a refused request ("device offline") never leaks a
socket, and writes its own ``sync:`` push (adbutils' leaks on failure too).

Call control (the shell user holds CALL_PHONE, READ_PRECISE_PHONE_STATE,
INJECT_EVENTS, DUMP, START_ACTIVITIES_FROM_BACKGROUND)
----------------------------------------------------------------------------
=========================  ==================================================  ==========
what                       shell command                                        Android
=========================  ==================================================  ==========
dial                       ``am start -a android.intent.action.CALL -d tel:N``   all (``#`` sent as ``%23``)
follow the call            ``dumpsys telephony.registry | grep -E '…'``          10–14
(second leg, conference)   ``dumpsys telecom | grep -E '…'``                     10–14
hang up (foreground call)  ``input keyevent KEYCODE_ENDCALL``                    all
answer a ringing call      ``input keyevent KEYCODE_CALL``                       all
merge / resume held call   ``uiautomator dump`` + ``input tap X Y``              all, per in-call app
device                     ``getprop``, ``dumpsys battery``,                     all
                           ``content query --uri content://telephony/siminfo``   own number: where readable
assets                     ``sync:`` push, ``stat -c %s``, ``sha256sum``,          8+ (toybox)
                           ``am broadcast -a …MEDIA_SCANNER_SCAN_FILE -d file://``
=========================  ==================================================  ==========

The call is followed through **one long-lived interactive shell per phone**
(``shell:`` with a PTY, as ``adb shell`` opens it): each command is sent as
one line framed by ``echo "__BEGIN_""n__"`` / ``echo "__END_""n__ $?"`` and
the answer is what lies between the two markers (the PTY's echo of the line
cannot match: the quotes split the markers). Every other shell command of
this backend goes through the same session; only pushes (``sync:``) and the
audio streams (``exec:``) use streams of their own. The monitor polls every
``poll_s`` (0.25 s) while a call is up and every ``idle_poll_s`` (1 s)
otherwise — the idle poll is what notices an incoming call. Telecom's dump
is read once before each dial and with every poll until the new call shows
in the registry: a call that ends between two polls (a fast busy) is then
still found, by its new Telecom id, with its own cause in Telecom's history.
Its cost is one ``dumpsys telecom`` (grepped on the phone) per call.

What the dumps can tell: ``telephony.registry`` gives, per SIM slot, idle /
ringing / off-hook, the *precise* foreground state (dialing 3, alerting 4,
active 1 — only it tells the far end ringing from dialing), the held call,
the caller's number while ringing and the last disconnect cause
(``mCallDisconnectCause`` + the network's ``mCallPreciseDisconnectCause``).
Telecom's dump lists each call with its own state, which is what tells the
voter leg from the agent leg (by Telecom id: on user builds it masks every
number, ``tel:***********``) and shows a conference (``childs(2)``).

The agent leg and the bridge — what the shell can and cannot do
---------------------------------------------------------------
* ``ring_agent``: a second ``am start … CALL`` while the voter call is active.
  Telecom puts the voter **on hold** first (the voter hears the network's
  hold tone, not silence) and dials the agent line.
* ``drop_agent``: ``KEYCODE_ENDCALL`` ends the foreground call — the agent
  leg. After a *local* end Telecom resumes the held voter by itself
  (CallsManager.maybeMoveHeldCallToForeground). After a *remote* end (agent
  busy, no answer, agent hung up) it does **not**: the voter stays on hold
  and nothing in ``am``/``input``/``cmd telecom`` resumes a call, so the
  backend presses the in-call screen's "Resume" button (``uiautomator dump``,
  find the label, ``input tap``).
* ``bridge``: there is no shell command that merges calls (``cmd telecom``
  has none; ``service call phone`` codes change per release). The honest
  approximation is the in-call screen's "Merge" button, found by its label
  (:data:`MERGE_LABELS`, English and Korean, extendable per phone) and
  tapped; the merge is then confirmed from Telecom's dump (a call with
  ``childs(2)``). A phone whose in-call screen shows no merge (carrier
  without 3-way calling, or an in-call app with other labels) raises
  :class:`MergeUnavailable`; the agent stays on the separate leg. On IMS
  (VoLTE) conferences the merged calls may be replaced by the conference's
  own participants, so after a merge the backend can only tell *that*
  someone left, not always *who*: it reports the agent leg ended first and
  the voter when the conference is gone — the call script ends the call in
  both cases.

Audio (the speakerphone path) — see :class:`SpeakerphoneAudio`
-------------------------------------------------------------
Stock Android has no shell command that plays a file or records the
microphone. The speakerphone path uses a small helper run the way
scrcpy-server runs (``app_process`` as the shell user, which may record and
play audio): :data:`AUDIO_HELPER_JAR` pushed to ``/data/local/tmp``::

    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio record 8000
        → raw PCM16LE 8 kHz mono on stdout (AudioRecord, source MIC) until stdin closes
    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio play FILE
        → "playing <ms>", plays FILE on the loudspeaker (in-call speakerphone), "done";
          stops when stdin closes

each on an ``exec:`` stream (raw, no PTY: the bytes are exactly the PCM). The
jar is **not** part of this repository (it needs the Android SDK to build);
without it the backend's call control works and ``play``/``frames`` raise
:class:`~phone_agent.telephony.base.AudioError` naming the missing file.
The virtual handset serves both commands. :class:`AnnouncementDeviceAudio`
marks where announcement device cards (멘트장비카드, a box on the phone's
audio jack) would plug in.

Errors and availability
-----------------------
Every adbutils/adb/socket error goes through one place
(:meth:`AdbTelephony._lost`): it is logged once, the shell is closed, the
phone is marked unavailable (:attr:`AdbTelephony.available`,
:attr:`AdbTelephony.unavailable_reason`: ``offline``, ``unauthorized …``,
``not connected``, ``connection lost …``), live call legs end as
``disconnected`` with cause ``failed``, and the caller gets
:class:`~phone_agent.telephony.base.DeviceUnavailable`. The next call to the
backend (``health()`` is the cheap one) tries to reconnect, at most once per
``retry_s`` (1 s); backing off further and giving up are the runner's business.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import logging
import re
import socket
import stat as stat_module
import struct
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable

import adbutils

from ..base import (ACTIVE, AGENT, ALERTING, DIALING, DISCONNECTED, INCOMING, VOTER, AudioError,
                   CallFailed, CallStateChange, DeviceUnavailable, InvalidNumber, NoActiveCall,
                   Telephony, TelephonyError)
from ..dumpsys import (DumpsysFormatError, SlotState, TelecomCall, network_kind, parse_battery,
                      parse_getprop, parse_network_types, parse_sim_states,
                      parse_telecom_calls, parse_telephony_registry)

__all__ = ["AdbTelephony", "CallTracker", "SpeakerphoneAudio", "AnnouncementDeviceAudio",
           "AudioPath", "MergeUnavailable", "ASSET_DIR", "AUDIO_HELPER_JAR", "MERGE_LABELS",
           "RESUME_LABELS", "classify_disconnect", "dial_uri"]

log = logging.getLogger(__name__)

ASSET_DIR = "/sdcard/MobileARS"  # announcements and images, named <sha256>.<ext>
AUDIO_HELPER_JAR = "/data/local/tmp/mobile-ars-audio.jar"
AUDIO_HELPER_CLASS = "mobilears.Audio"
MERGE_LABELS = ("Merge", "Merge calls", "병합", "통화 병합", "통화 합치기")
RESUME_LABELS = ("Resume", "Resume call", "Unhold", "통화 재개", "대기 해제", "보류 해제")
RATE = 8000

_REGISTRY_FIELDS = ("Phone Id=|mCallState=|mRingingCallState=|mForegroundCallState=|"
                    "mBackgroundCallState=|mPreciseCallState=|mCallDisconnectCause=|"
                    "mCallPreciseDisconnectCause=|mCallIncomingNumber=")
POLL_REGISTRY = f"dumpsys telephony.registry | grep -E '{_REGISTRY_FIELDS}'"
POLL_TELECOM = ("dumpsys telecom | grep -E '\\[Call id=|\\[TC@|mCalls:|Historical Events|"
                "Call TC@|SET_DISCONNECTED'")
_SEP = "__MOBILE_ARS_SEP__"
_DIALLABLE = re.compile(r"\+?[0-9*#]{3,20}")

# What adbutils and sockets raise when the phone or the adb server goes away.
_TRANSPORT_ERRORS = (adbutils.AdbError, OSError, EOFError)


class MergeUnavailable(TelephonyError):
    """The phone cannot merge the voter and agent legs from the shell (no
    Merge on its in-call screen, or the merge did not happen)."""


class _SessionBroken(ConnectionError):
    """The long-lived shell stopped answering (timeout or closed)."""


def dial_uri(number: str) -> str:
    """``tel:`` URI for ``am start``: ``#`` must travel as ``%23`` (else it
    starts the URI fragment and is lost), ``*`` and ``+`` are safe."""
    return "tel:" + number.replace("#", "%23")


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


# -- the blocking side: one phone's adb streams ----------------------------------------------

class _Link:
    """Blocking adb access to one phone (runs in worker threads)."""

    def __init__(self, client: adbutils.AdbClient, serial: str, timeout_s: float):
        self.client = client
        self.serial = serial
        self.timeout_s = timeout_s

    def open(self, service: str, timeout: float | None = None) -> adbutils.AdbConnection:
        """A stream to ``service`` on the phone; closed again on any failure."""
        conn = self.client.make_connection(timeout=timeout or self.timeout_s)
        try:
            conn.send_command(f"host:transport:{self.serial}")
            conn.check_okay()
            conn.send_command(service)
            conn.check_okay()
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def state(self) -> str:
        with self.client.make_connection(timeout=self.timeout_s) as conn:
            conn.send_command(f"host-serial:{self.serial}:get-state")
            conn.check_okay()
            return conn.read_string_block()

    def push(self, data: bytes, remote: str, mode: int = 0o644) -> None:
        conn = self.open("sync:", timeout=max(self.timeout_s, 30.0))
        try:
            spec = f"{remote},{stat_module.S_IFREG | mode}".encode()
            sock = conn.conn
            sock.sendall(b"SEND" + struct.pack("<I", len(spec)) + spec)
            for i in range(0, len(data), 64 * 1024):
                chunk = data[i:i + 64 * 1024]
                sock.sendall(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
            sock.sendall(b"DONE" + struct.pack("<I", int(time.time())))
            head = conn.read_exact(8)
            ident, length = head[:4], struct.unpack("<I", head[4:])[0]
            if ident == b"FAIL":
                raise AudioError(f"push of {remote} failed: {conn.read_exact(length).decode(errors='replace')}")
            if ident != b"OKAY":
                raise adbutils.AdbError(f"unexpected sync answer {head!r}")
            sock.sendall(b"QUIT" + struct.pack("<I", 0))
        finally:
            _close_quietly(conn)


class _Session:
    """The long-lived interactive shell (``shell:`` with a PTY)."""

    def __init__(self, link: _Link):
        self.link = link
        self.conn: adbutils.AdbConnection | None = None
        self.n = 0
        self.buffer = b""

    def start(self) -> None:
        self.conn = self.link.open("shell:")
        self.conn.conn.settimeout(self.link.timeout_s)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        _close_quietly(conn)

    def run(self, command: str, timeout: float) -> tuple[str, int]:
        if self.conn is None:
            raise _SessionBroken("shell closed")
        self.n += 1
        n = self.n
        line = f'echo "__BEGIN_""{n}__"; {command}; echo "__END_""{n}__ $?"\n'
        sock = self.conn.conn
        try:
            sock.sendall(line.encode())
        except OSError as exc:
            self.close()
            raise _SessionBroken(f"shell closed: {exc}") from None
        begin = re.compile(rb"__BEGIN_%d__\r?\n" % n)
        end = re.compile(rb"__END_%d__ (\d+)\r?\n" % n)
        deadline = time.monotonic() + timeout
        while True:
            m_end = end.search(self.buffer)
            if m_end:
                m_begin = begin.search(self.buffer, 0, m_end.start())
                body = self.buffer[m_begin.end() if m_begin else 0:m_end.start()]
                self.buffer = self.buffer[m_end.end():]
                text = body.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "")
                return text, int(m_end.group(1))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise _SessionBroken(f"no answer to {command.split()[0]!r} within {timeout:.0f} s")
            sock.settimeout(min(remaining, 5.0))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as exc:
                self.close()
                raise _SessionBroken(f"shell closed: {exc}") from None
            if not chunk:
                self.close()
                raise _SessionBroken("shell closed by the phone")
            self.buffer += chunk
            if len(self.buffer) > 8 << 20:
                self.buffer = self.buffer[-(4 << 20):]


# -- audio paths -----------------------------------------------------------------------------

class AudioPath:
    """Where announcements are played and the call audio is heard."""

    async def play(self, backend: "AdbTelephony", path: Path) -> bool:
        raise NotImplementedError

    async def stop(self, backend: "AdbTelephony") -> None:
        raise NotImplementedError

    def frames(self, backend: "AdbTelephony") -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def check(self, backend: "AdbTelephony") -> None:
        """AudioError naming what the path lacks to play and listen now."""


class AnnouncementDeviceAudio(AudioPath):
    """Seed 000's announcement device cards (멘트장비카드, "9001…" on the router
    LAN): an external box on the phone's audio jack that plays announcements
    into the call and hears the voter's keys. Not modelled yet: the device's
    protocol is unknown. This is the place it plugs in — ``play`` sends the
    announcement to the card and returns when it finished, ``frames`` yields
    what the card hears (PCM16LE 8 kHz mono) or the card reports DTMF itself.
    """

    def __init__(self, address: str | None = None):
        self.address = address

    async def play(self, backend, path):
        raise NotImplementedError("announcement device cards (멘트장비카드) are not supported yet; "
                                  "use the speakerphone audio path")

    async def stop(self, backend):
        raise NotImplementedError("announcement device cards (멘트장비카드) are not supported yet")

    def frames(self, backend):
        raise NotImplementedError("announcement device cards (멘트장비카드) are not supported yet")

    async def check(self, backend):
        raise AudioError("announcement device cards (멘트장비카드) are not supported yet")


class SpeakerphoneAudio(AudioPath):
    """Play the announcement on the phone's loudspeaker and listen with its
    microphone, through the audio helper (see the module docstring).

    Limits: the voter hears the announcement through the air (speaker →
    microphone → the call), so quality depends on the handset and its echo
    canceller, and room noise reaches the voter; the microphone hears the
    voter's key tones as the phone's earpiece/speaker plays them (the
    network may also send keys out of band — RFC 4733 on VoLTE — in which
    case the far end's in-band tone is what the phone regenerates). Android
    10 cannot capture audio from the shell (scrcpy's experience: 11 needs the
    screen unlocked at start, 12+ works); and whether an app_process of the
    shell user is allowed the microphone during a cellular call (Android 10+
    silences ordinary apps then; the shell holds CAPTURE_AUDIO_OUTPUT, which
    exempts it) must be verified per handset.
    """

    def __init__(self, jar: str = AUDIO_HELPER_JAR, chunk_s: float = 0.1):
        self.jar = jar
        self.chunk_s = chunk_s
        self._play_conn: adbutils.AdbConnection | None = None
        self._play_lock = threading.Lock()

    def command(self, *args: str) -> str:
        return f"CLASSPATH={self.jar} app_process / {AUDIO_HELPER_CLASS} " + " ".join(args)

    async def check(self, backend: "AdbTelephony") -> None:
        await backend.require_audio_helper(self.jar)

    async def play(self, backend: "AdbTelephony", path: Path) -> bool:
        await backend.require_audio_helper(self.jar)
        remote = await backend.push_asset(path, scan=False)
        await self.stop(backend)
        conn = await backend.open_stream("exec:" + self.command("play", remote))
        sock = conn.conn
        with self._play_lock:
            self._play_conn = conn
        try:
            first = await self._line(backend, conn, sock, 15.0)
            if first is None:
                return False
            if not first.startswith("playing"):
                raise AudioError(f"the phone could not play {path.name}: {first.strip() or 'no answer'}")
            words = first.split()
            ms = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
            last = await self._line(backend, conn, sock, ms / 1000.0 + 15.0)
            return last is not None and last.strip() == "done"
        finally:
            with self._play_lock:
                if self._play_conn is conn:
                    self._play_conn = None
            await backend._run_blocking(_close_quietly, conn)

    async def _line(self, backend, conn, sock, timeout: float) -> str | None:
        """The helper's next line; None when stop() closed the stream."""
        try:
            return await backend._run_blocking(_read_line, sock, timeout)
        except (OSError, EOFError, adbutils.AdbError) as exc:
            with self._play_lock:
                stopped = self._play_conn is not conn
            if stopped:
                return None
            raise backend._lost(exc) from None

    async def stop(self, backend: "AdbTelephony") -> None:
        with self._play_lock:
            conn, self._play_conn = self._play_conn, None
        if conn is not None:
            await backend._run_blocking(_close_quietly, conn)

    async def frames(self, backend: "AdbTelephony") -> AsyncIterator[bytes]:
        leg = backend.tracker.live(VOTER)
        if leg is None or leg.state != ACTIVE:
            return
        await backend.require_audio_helper(self.jar)
        loop = asyncio.get_running_loop()
        try:
            conn = await backend.open_stream("exec:" + self.command("record", str(RATE)))
        except DeviceUnavailable as exc:
            raise AudioError(f"no call audio: {exc}") from None
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        sock = conn.conn

        def reader():
            try:
                sock.settimeout(1.0)
                while not stop.is_set():
                    try:
                        chunk = sock.recv(16384)
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except (OSError, adbutils.AdbError) as exc:
                if not stop.is_set():
                    loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        thread = threading.Thread(target=reader, name=f"mic-{backend.serial}", daemon=True)
        thread.start()
        want = int(self.chunk_s * RATE) * 2
        pending = b""
        try:
            while True:
                item = await queue.get()
                if item is None:
                    if backend.tracker.live(VOTER) is not None and not stop.is_set():
                        raise AudioError("the phone's microphone stream ended")
                    return
                if isinstance(item, BaseException):
                    raise AudioError(f"call audio lost: {item}")
                if pending == b"" and item.startswith(b"Error"):
                    raise AudioError(f"the phone could not record: {item.decode(errors='replace').strip()}")
                pending += item
                if len(pending) >= want:
                    cut = len(pending) - len(pending) % 2
                    chunk, pending = pending[:cut], pending[cut:]
                    yield chunk
                leg = backend.tracker.live(VOTER)
                if leg is None or leg.state != ACTIVE:
                    return
        finally:
            stop.set()
            await backend._run_blocking(_close_quietly, conn)


_CLOSE_LOCK = threading.Lock()


def _close_quietly(conn: adbutils.AdbConnection | None) -> None:
    """Close a stream from any thread, once: shut the socket down first (that,
    unlike close(), wakes a thread blocked in recv on it). adbutils' own
    close() is not safe to call twice at the same time."""
    if conn is None:
        return
    with _CLOSE_LOCK:
        if conn.closed:
            return
        with contextlib.suppress(Exception):
            conn.conn.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            conn.close()


def _read_line(sock: socket.socket, timeout: float) -> str:
    """One line from a raw stream ('' at its end)."""
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = sock.recv(1)
        except socket.timeout:
            raise AudioError(f"the phone's audio helper did not answer within {timeout:.0f} s") from None
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


# -- the backend ----------------------------------------------------------------------------

class AdbTelephony(Telephony):
    """A real phone over adb; see the module docstring.

    ``serial``: what adb calls the phone — ``"172.16.0.23:5555"`` (router
    mode), ``"127.0.0.1:37215"`` (internet mode, Wireless debugging), or a USB
    serial. ``host:port`` serials are ``adb connect``-ed (``connect=None``
    decides by the form). ``adb_host``/``adb_port``: the adb server (default:
    ``ANDROID_ADB_SERVER_PORT`` or 5037; tests use a private port).
    ``audio``: :class:`SpeakerphoneAudio` (default) or another
    :class:`AudioPath`. ``voice_slot``: the SIM slot to follow (``None``: the
    one showing the call). ``merge_labels`` / ``resume_labels``: texts of the
    in-call screen's buttons.
    """

    name = "adb"

    def __init__(self, serial: str, *, adb_host: str | None = None, adb_port: int | None = None,
                 client: adbutils.AdbClient | None = None, connect: bool | None = None,
                 audio: AudioPath | None = None, voice_slot: int | None = None,
                 poll_s: float = 0.25, idle_poll_s: float = 1.0, command_timeout_s: float = 10.0,
                 start_timeout_s: float = 15.0, retry_s: float = 1.0, asset_dir: str = ASSET_DIR,
                 merge_labels: Iterable[str] = MERGE_LABELS,
                 resume_labels: Iterable[str] = RESUME_LABELS, monitor: bool = True):
        super().__init__()
        self.serial = serial
        self.client = client or adbutils.AdbClient(host=adb_host, port=adb_port)
        self.connect = (":" in serial) if connect is None else connect
        self.audio = audio if audio is not None else SpeakerphoneAudio()
        self.poll_s = poll_s
        self.idle_poll_s = idle_poll_s
        self.command_timeout_s = command_timeout_s
        self.retry_s = retry_s
        self.asset_dir = asset_dir.rstrip("/")
        self.merge_labels = tuple(merge_labels)
        self.resume_labels = tuple(resume_labels)
        self.tracker = CallTracker(voice_slot=voice_slot, start_timeout_s=start_timeout_s)
        self._link = _Link(self.client, serial, command_timeout_s)
        self._session: _Session | None = None
        self._shell_thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"adb-shell-{serial}")
        self._session_lock = threading.Lock()
        # Streams: a play's lines, opening exec:/sync:, closing them; made as needed.
        self._io_threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix=f"adb-io-{serial}")
        self._monitor_enabled = monitor
        self._monitor: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._open_lock = asyncio.Lock()
        self._closed = False
        self.available = False
        self.unavailable_reason: str | None = "not opened yet"
        self.last_error: BaseException | None = None
        self._last_attempt = -1e9
        self.props: dict[str, str] = {}
        self._own_number: str | None = None
        self._pushed: dict[str, str] = {}  # sha256 -> remote path verified this session
        self._hash_cache: dict[tuple[str, float, int], str] = {}
        self._helper_ok: set[str] = set()
        self._orphaned = False  # legs ended as "failed" by a lost connection

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect (if needed), open the long-lived shell, read the phone's
        properties and start following calls. Raises DeviceUnavailable."""
        async with self._open_lock:
            if self.available or self._closed:
                if self._closed:
                    raise DeviceUnavailable(f"{self.serial}: the backend is closed")
                return
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._last_attempt = time.monotonic()
            try:
                await self._run_blocking(self._open_blocking)
            except (TelephonyError, *_TRANSPORT_ERRORS) as exc:
                reason = _reason(exc)
                self.unavailable_reason = reason
                self.last_error = exc
                raise DeviceUnavailable(f"{self.serial}: {reason}") from None
            self.available = True
            self.unavailable_reason = None
            if self._orphaned:
                # A call we lost track of when the phone went away: end it.
                self._orphaned = False
                with contextlib.suppress(TelephonyError):
                    await self._end_everything()
            log.info("%s: open (%s, Android %s)", self.serial, self.props.get("ro.product.model"),
                     self.props.get("ro.build.version.release"))
            if self._monitor_enabled and (self._monitor is None or self._monitor.done()):
                self._monitor = asyncio.create_task(self._follow(), name=f"adb-monitor-{self.serial}")

    def _open_blocking(self) -> None:
        answer = ""
        if self.connect:
            answer = self.client.connect(self.serial, timeout=self.command_timeout_s).strip()
            if answer.startswith(("connected to", "already connected")):
                answer = ""
        try:
            state = self._link.state()
        except adbutils.AdbError as exc:
            if answer:
                raise DeviceUnavailable(f"adb connect: {answer}") from None
            raise DeviceUnavailable(_reason(exc)) from None
        if state == "unauthorized":
            raise DeviceUnavailable("unauthorized: accept the debugging prompt on the phone")
        if state != "device":
            raise DeviceUnavailable(state if not answer else f"{state} (adb connect: {answer})")
        session = _Session(self._link)
        session.start()
        try:
            text, _ = session.run("getprop", self.command_timeout_s)
        except BaseException:
            session.close()
            raise
        self.props = parse_getprop(text)
        with self._session_lock:  # close() may have run while this thread connected
            if self._closed:
                session.close()
                raise DeviceUnavailable("the backend is closed")
            if self._session is not None:
                self._session.close()
            self._session = session

    async def _ensure_open(self) -> None:
        if self.available:
            return
        if self._closed:
            raise DeviceUnavailable(f"{self.serial}: the backend is closed")
        if time.monotonic() - self._last_attempt < self.retry_s and self.last_error is not None:
            raise DeviceUnavailable(f"{self.serial}: {self.unavailable_reason}")
        await self.open()

    async def reopen(self) -> None:
        """Forget the current connection and connect again now."""
        self._mark_down("reconnecting", None, emit=False)
        self._last_attempt = -1e9
        await self.open()

    async def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(TelephonyError):
            if self.available:
                await self.hang_up()
        self._closed = True
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._monitor
        with contextlib.suppress(Exception):
            await self.audio.stop(self)
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            await asyncio.get_running_loop().run_in_executor(self._shell_thread, session.close)
        self._shell_thread.shutdown(wait=False)
        self._io_threads.shutdown(wait=False)
        self.available = False
        self.unavailable_reason = "closed"

    # -------------------------------------------------------- errors in one place

    def _mark_down(self, reason: str, exc: BaseException | None, emit: bool = True) -> None:
        if self.available:
            log.warning("%s: phone unavailable: %s", self.serial, reason)
        self.available = False
        self.unavailable_reason = reason
        self.last_error = exc
        self._last_attempt = time.monotonic()
        self._pushed.clear()  # the phone may come back rebooted or wiped: verify again
        self._helper_ok.clear()
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            self._shell_thread.submit(session.close)
        if emit:
            changes = self.tracker.device_lost(reason)
            self._orphaned = self._orphaned or bool(changes)
            for change in changes:
                self._emit(change)
        self._wake.set()

    def _lost(self, exc: BaseException) -> DeviceUnavailable:
        reason = _reason(exc)
        self._mark_down(reason, exc)
        return DeviceUnavailable(f"{self.serial}: {reason}")

    async def _run_blocking(self, fn: Callable, *args, executor=None):
        """``fn(*args)`` in a thread: the shell's own, or this phone's I/O pool
        (never the loop's default pool, which a rack's long reads — an
        announcement waits for "done" — would fill: every phone would then
        wait for the others to stop a play or open a stream)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args)
        try:
            return await loop.run_in_executor(executor or self._io_threads, call)
        except RuntimeError as exc:  # closing a stream after close(): the pool is gone
            if not self._closed or "after shutdown" not in str(exc):
                raise
            return await loop.run_in_executor(None, call)

    async def blocking(self, fn: Callable, *args, executor=None):
        """Run a blocking adb call in a worker thread; transport errors mark
        the phone unavailable and become DeviceUnavailable."""
        try:
            return await self._run_blocking(fn, *args, executor=executor)
        except _TRANSPORT_ERRORS as exc:
            raise self._lost(exc) from None

    async def open_stream(self, service: str) -> adbutils.AdbConnection:
        """A service stream of its own (``exec:``…). Cancelled while it opens
        (the call ended), the stream is closed when the open completes rather
        than left to the garbage collector."""
        opening = asyncio.ensure_future(self.blocking(self._link.open, service))
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(
                lambda done: done.cancelled() or done.exception() or _close_quietly(done.result()))
            raise

    async def shell(self, command: str, timeout: float | None = None) -> tuple[str, int]:
        """Run ``command`` through the long-lived shell; (output, exit code)."""
        await self._ensure_open()
        session = self._session
        if session is None:
            raise DeviceUnavailable(f"{self.serial}: {self.unavailable_reason}")
        return await self.blocking(session.run, command, timeout or self.command_timeout_s,
                                   executor=self._shell_thread)

    # ---------------------------------------------------------------- monitor

    async def _follow(self) -> None:
        while not self._closed and self.available:
            try:
                changes = await self._poll()
            except DeviceUnavailable:
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: keep the phone usable, say so
                log.exception("%s: monitor error", self.serial)
                changes = []
            for change in changes:
                if change.cause == "failed" and self.tracker.failure:
                    log.warning("%s: %s call failed: %s", self.serial, change.leg, self.tracker.failure)
                self._emit(change)
            interval = self.poll_s if self.tracker.busy else self.idle_poll_s
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    async def _poll(self) -> list[CallStateChange]:
        slots, calls = await self._snapshot(self.tracker.needs_telecom)
        return self.tracker.update(slots, calls, time.monotonic())

    async def _snapshot(self, with_telecom: bool) -> tuple[list[SlotState], list[TelecomCall] | None]:
        command = POLL_REGISTRY
        if with_telecom:
            command += f"; echo {_SEP}; {POLL_TELECOM}"
        text, _ = await self.shell(command)
        registry, _, telecom = text.partition(_SEP + "\n")
        try:
            slots = parse_telephony_registry(registry)
            calls = parse_telecom_calls(telecom) if with_telecom and telecom.strip() else (
                [] if with_telecom else None)
        except DumpsysFormatError as exc:
            self._mark_down(f"cannot read the call state: {exc}", exc)
            raise DeviceUnavailable(f"{self.serial}: cannot read the call state: {exc}") from None
        return slots, calls

    async def _telecom_calls(self) -> list[TelecomCall]:
        text, _ = await self.shell(POLL_TELECOM)
        if not text.strip():
            return []
        try:
            return parse_telecom_calls(text)
        except DumpsysFormatError as exc:
            self._mark_down(f"cannot read Telecom's calls: {exc}", exc)
            raise DeviceUnavailable(f"{self.serial}: cannot read Telecom's calls: {exc}") from None

    async def _settle(self, until: Callable[[], bool], timeout: float) -> bool:
        """Poll now and again until ``until()`` holds (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            for change in await self._poll():
                self._emit(change)
            if until():
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(self.poll_s)

    # ---------------------------------------------------------- call control

    async def dial(self, number: str) -> None:
        if not _DIALLABLE.fullmatch(number or ""):
            raise InvalidNumber(f"cannot dial {number!r}")
        await self._ensure_open()
        if self.tracker.live(VOTER) is not None:
            raise CallFailed("a call is already in progress")
        # A fresh look first, so the tracker knows the last cause (baseline).
        slots, _ = await self._snapshot(False)
        for change in self.tracker.update(slots, None, time.monotonic()):
            self._emit(change)
        if any(s.in_call for s in slots):
            raise CallFailed("the phone is already in a call")
        calls = await self._place_call(number, "the phone refused to dial")
        self._emit(self.tracker.dialing(number, time.monotonic(), calls))
        self._wake.set()

    async def _place_call(self, target: str, refused: str) -> list[TelecomCall]:
        """``am start … CALL``; Telecom's calls as they were just before (so
        the new one is told from them); CallFailed with Android's error."""
        calls = await self._telecom_calls()
        out, _ = await self.shell(f"am start -a android.intent.action.CALL -d {dial_uri(target)}")
        if "Error" in out or "Exception" in out:
            raise CallFailed(f"{refused}: {_first_error(out)}")
        return calls

    async def hang_up(self) -> None:
        await self._ensure_open()
        self.tracker.ending(self.tracker.voter)
        self.tracker.ending(self.tracker.agent)
        await self._end_everything()

    async def _end_everything(self) -> None:
        """ENDCALL until the phone shows no call (each ends the foreground
        call; a held one comes forward). Never sent to an idle phone: there,
        ENDCALL puts it to sleep."""
        for _ in range(4):
            slots, _ = await self._snapshot(False)
            if not any(s.in_call or s.background_call_state == 2 for s in slots):
                break
            await self.shell("input keyevent KEYCODE_ENDCALL")
            await asyncio.sleep(self.poll_s)
        self._wake.set()

    async def answer(self) -> None:
        await self._ensure_open()
        leg = self.tracker.voter
        if leg is None or leg.state != INCOMING:
            raise NoActiveCall("no incoming call to answer")
        await self.shell("input keyevent KEYCODE_CALL")
        if not await self._settle(lambda: leg.state != INCOMING, 5.0):
            raise CallFailed("the phone did not answer the incoming call")
        if leg.state != ACTIVE:
            raise NoActiveCall("the caller hung up before the call was answered")

    async def ring_agent(self, dial_target: str) -> None:
        await self._ensure_open()
        voter = self.tracker.live(VOTER)
        if voter is None or voter.state != ACTIVE:
            raise NoActiveCall("no active voter call to add an agent to")
        if self.tracker.live(AGENT) is not None:
            raise CallFailed("an agent leg is already up")
        if not _DIALLABLE.fullmatch(dial_target or ""):
            raise InvalidNumber(f"cannot dial agent target {dial_target!r}")
        calls = await self._place_call(dial_target, "the phone refused to dial the agent")
        self._emit(self.tracker.agent_dialing(dial_target, time.monotonic(), calls))
        self._wake.set()

    async def drop_agent(self) -> None:
        await self._ensure_open()
        agent = self.tracker.live(AGENT)
        if agent is not None:
            self.tracker.ending(agent)
            await self._settle(lambda: agent.tc_id is not None or agent.state == DISCONNECTED,
                               min(2.0, self.tracker.start_timeout_s))
            calls = await self._telecom_calls()
            up = [c for c in calls if c.live and c.state not in ("DISCONNECTED", "DISCONNECTING", "ABORTED")
                  and not c.conference and not c.has_parent]
            # ENDCALL ends the foreground call — and, with only the held voter
            # left, the voter. Send it only while the agent's call is up.
            if any(c.call_id == agent.tc_id for c in up) or (agent.tc_id is None and len(up) > 1):
                await self.shell("input keyevent KEYCODE_ENDCALL")
            if not await self._settle(lambda: agent.state == DISCONNECTED, 5.0):
                log.warning("%s: the agent leg did not end after KEYCODE_ENDCALL", self.serial)
        await self._resume_voter()

    async def _resume_voter(self) -> None:
        """After a remote end of the agent leg the voter stays on hold: press Resume."""
        voter = self.tracker.live(VOTER)
        if voter is None or voter.tc_id is None:
            return
        for _ in range(3):
            calls = await self._telecom_calls()
            held = next((c for c in calls if c.live and c.call_id == voter.tc_id), None)
            if held is None or held.state != "ON_HOLD":
                return
            if not await self._press(self.resume_labels, "resume"):
                raise CallFailed("the voter is on hold and the in-call screen shows no Resume button")
            await asyncio.sleep(max(self.poll_s, 0.3))
        raise CallFailed("the voter stayed on hold after pressing Resume")

    async def bridge(self) -> None:
        await self._ensure_open()
        voter, agent = self.tracker.live(VOTER), self.tracker.live(AGENT)
        if voter is None or voter.state != ACTIVE:
            raise NoActiveCall("the voter call is not active")
        if agent is None or agent.state != ACTIVE:
            raise NoActiveCall("the agent has not answered")
        if self.tracker.bridged:
            return
        if not await self._press(self.merge_labels, "merge"):
            raise MergeUnavailable(
                "this phone's in-call screen offers no Merge (the carrier may not support "
                "3-way calling, or the in-call app labels it differently: see merge_labels); "
                "the agent stays on a separate leg")
        if not await self._settle(lambda: self.tracker.bridged or self.tracker.live(AGENT) is None, 6.0):
            raise MergeUnavailable("Merge was pressed but the phone did not join the calls")
        if not self.tracker.bridged:
            raise NoActiveCall("a leg ended while merging")

    async def _press(self, labels: tuple[str, ...], what: str) -> bool:
        """Find a button by its label on the screen (uiautomator) and tap it."""
        out, _ = await self.shell("uiautomator dump /sdcard/window_dump.xml >/dev/null && "
                                  "cat /sdcard/window_dump.xml", timeout=max(20.0, self.command_timeout_s))
        point = find_button(out, labels)
        if point is None:
            log.info("%s: no %s button on the screen", self.serial, what)
            return False
        await self.shell(f"input tap {point[0]} {point[1]}")
        return True

    # ----------------------------------------------------------------- audio

    async def play(self, path: str | Path) -> bool:
        p = Path(path)
        if not p.is_file():
            raise AudioError(f"cannot play {p.name}: no such file")
        await self._ensure_open()
        try:
            return await self.audio.play(self, p)
        except NotImplementedError as exc:
            raise AudioError(str(exc)) from None

    async def stop(self) -> None:
        with contextlib.suppress(NotImplementedError):
            await self.audio.stop(self)

    async def frames(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.audio.frames(self):
                yield chunk
        except NotImplementedError as exc:
            raise AudioError(str(exc)) from None

    async def ready(self) -> None:
        """Connected, and the audio path has what it needs on the phone
        (the speakerphone path: the helper jar). A phone that cannot play
        the announcement gets no calls rather than burning voters."""
        await self._ensure_open()
        try:
            await self.audio.check(self)
        except AudioError as exc:
            raise DeviceUnavailable(f"{self.serial}: not ready: {exc}") from None

    async def require_audio_helper(self, jar: str) -> None:
        if jar in self._helper_ok:
            return
        out, code = await self.shell(f"stat -c %s {jar}")
        if code != 0 or not out.strip().isdigit():
            raise AudioError(f"audio helper missing: {jar} is not on the phone "
                             "(README, 'Audio on a real phone')")
        self._helper_ok.add(jar)

    # ---------------------------------------------------------------- assets

    def _sha256(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_mtime, st.st_size)
        sha = self._hash_cache.get(key)
        if sha is None:
            sha = self._hash_cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        return sha

    async def push_asset(self, path: str | Path, *, sha256: str | None = None, scan: bool = True) -> str:
        """Put a file (announcement, image) in :data:`ASSET_DIR` as
        ``<sha256><suffix>``, verify its size and sha256 on the phone, and
        media-scan it. Returns the path on the phone; already-verified files
        are not sent again."""
        p = Path(path)
        sha = sha256 or await asyncio.get_running_loop().run_in_executor(None, self._sha256, p)
        remote = f"{self.asset_dir}/{sha}{p.suffix.lower()}"
        if self._pushed.get(sha) == remote:
            return remote
        await self._ensure_open()
        size = p.stat().st_size
        if not await self._verify(remote, size, sha):
            data = await asyncio.get_running_loop().run_in_executor(None, p.read_bytes)
            await self.blocking(self._link.push, data, remote)
            if not await self._verify(remote, size, sha):
                raise AudioError(f"{p.name} arrived damaged on the phone (size or sha256 differ)")
        if scan:
            with contextlib.suppress(TelephonyError):
                await self.shell("am broadcast -a android.intent.action.MEDIA_SCANNER_SCAN_FILE "
                                 f"-d file://{remote}")
        self._pushed[sha] = remote
        return remote

    async def _verify(self, remote: str, size: int, sha: str) -> bool:
        out, code = await self.shell(f"stat -c %s {remote} && sha256sum {remote}")
        lines = out.split()
        return code == 0 and len(lines) >= 2 and lines[0] == str(size) and lines[1].lower() == sha

    async def apply_images(self, images: dict[str, Path]) -> None:
        """The outgoing poster and the callback image, pushed, verified and
        media-scanned into :data:`ASSET_DIR` (so they are in the phone's
        gallery). The shell has no way to put a picture on the in-call
        screen of the phone's own 전화 app; that needs an in-call screen app
        of our own (not built), so "applied" means "on the phone"."""
        for path in images.values():
            await self.push_asset(path)

    async def assets(self) -> list[str]:
        """sha256 of every asset file in :data:`ASSET_DIR` on the phone (by name)."""
        out, code = await self.shell(f"ls {self.asset_dir}")
        if code != 0:
            return []
        return sorted({m.group(1) for m in re.finditer(r"\b([0-9a-f]{64})\b", out)})

    # ---------------------------------------------------------------- device

    async def health(self) -> dict:
        await self._ensure_open()
        text, _ = await self.shell(
            f"dumpsys battery; echo {_SEP}; dumpsys telephony.registry | grep -E "
            f"'Phone Id=|mCallState=|mServiceState=|mSignalStrength=|mNetworkType='; echo {_SEP}; "
            "getprop gsm.sim.state; getprop gsm.network.type")
        parts = text.split(_SEP + "\n")
        health: dict = {"call_state": self.tracker.call_state}
        with contextlib.suppress(DumpsysFormatError, IndexError):
            battery = parse_battery(parts[0])
            health["battery"], health["charging"] = battery.level, battery.charging
        slot = None
        with contextlib.suppress(DumpsysFormatError, IndexError):
            slots = parse_telephony_registry(parts[1])
            wanted = self.tracker.voice_slot
            in_service = [s for s in slots if s.voice_reg_state == 0]
            slot = next((s for s in slots if s.slot == wanted), None) if wanted is not None else \
                (in_service[0] if in_service else slots[0])
        props = parts[2].splitlines() if len(parts) > 2 else []
        sims = parse_sim_states(props[0]) if props else []
        nets = parse_network_types(props[1]) if len(props) > 1 else []
        index = slot.slot if slot is not None else 0
        if sims:
            health["sim"] = sims[index] if index < len(sims) else sims[0]
        if slot is not None:
            if slot.signal_level is not None:
                health["signal"] = slot.signal_level
            rat = slot.network or (nets[index] if index < len(nets) else None)
            health["network"] = network_kind(rat, slot.voice_reg_state)
        elif nets:
            health["network"] = network_kind(nets[0])
        return health

    async def device(self) -> dict:
        await self._ensure_open()
        p = self.props
        out = {"model": " ".join(x for x in (p.get("ro.product.manufacturer", "").capitalize(),
                                             p.get("ro.product.model", "")) if x).strip() or None,
               "android": p.get("ro.build.version.release"),
               "serial": p.get("ro.serialno") or self.serial}
        if self._own_number is None:
            with contextlib.suppress(TelephonyError):
                text, code = await self.shell("content query --uri content://telephony/siminfo "
                                              "--projection sim_id:number")
                self._own_number = own_number(text, self.tracker.voice_slot) if code == 0 else ""
        if self._own_number:
            out["number"] = self._own_number
        return {k: v for k, v in out.items() if v}


# -- small pure helpers ------------------------------------------------------------------------

def find_button(xml_text: str, labels: Iterable[str]) -> tuple[int, int] | None:
    """Centre of the first clickable node whose text or content-desc is one
    of ``labels`` (case-insensitive) in a ``uiautomator dump``."""
    start = xml_text.find("<?xml")
    if start < 0:
        start = xml_text.find("<hierarchy")
    if start < 0:
        return None
    end = xml_text.rfind("</hierarchy>")
    try:
        root = ET.fromstring(xml_text[start:end + len("</hierarchy>")] if end >= 0 else xml_text[start:])
    except ET.ParseError:
        return None
    wanted = {label.casefold() for label in labels}
    parents = {child: parent for parent in root.iter() for child in parent}
    for node in root.iter("node"):
        names = {(node.get("text") or "").strip().casefold(),
                 (node.get("content-desc") or "").strip().casefold()}
        if not names & wanted:
            continue
        target = node
        while target is not None and target.get("clickable") != "true":
            target = parents.get(target)
        m = re.match(r"\[(\d+),(\d+)\]\[(\d+),(\d+)\]", (target if target is not None else node).get("bounds", ""))
        if m:
            x1, y1, x2, y2 = map(int, m.groups())
            return (x1 + x2) // 2, (y1 + y2) // 2
    return None


def own_number(text: str, slot: int | None = None) -> str:
    """The phone's own number from ``content query … siminfo`` rows (the
    given SIM slot's, else the first with a number); '' when unreadable."""
    best = ""
    for line in text.splitlines():
        if not line.startswith("Row:"):
            continue
        fields = dict(re.findall(r"(\w+)=([^,]*)", line))
        number = fields.get("number", "").strip()
        if not number or number.upper() == "NULL":
            continue
        if slot is not None and fields.get("sim_id") == str(slot):
            return number
        best = best or number
    return best


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "Error" in line or "Exception" in line:
            return line.strip()
    return text.strip()[:200]


def _reason(exc: BaseException) -> str:
    """A short, honest reason for a transport failure."""
    if isinstance(exc, TelephonyError):
        return str(exc)
    text = str(exc).strip()
    low = text.lower()
    if "unauthorized" in low:
        return "unauthorized: accept the debugging prompt on the phone"
    if "offline" in low:
        return "offline"
    if "not found" in low and "device" in low:
        return "not connected"
    if isinstance(exc, adbutils.AdbTimeout) or isinstance(exc, socket.timeout):
        return f"not answering ({text or 'timeout'})"
    if "connect to adb server" in low:
        return f"adb server unreachable ({text})"
    if isinstance(exc, _SessionBroken):
        return f"connection lost ({text})"
    if isinstance(exc, (ConnectionError, EOFError)):
        return f"connection lost ({text or type(exc).__name__})"
    return text or type(exc).__name__
