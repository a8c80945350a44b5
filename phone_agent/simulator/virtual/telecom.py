"""The virtual handset's Telecom: its calls, and the people on them.

:class:`Telecom` keeps the calls (:class:`Call`) as Android's CallsManager
does and plays the far ends out: voters from
:class:`~phone_agent.simulator.voter.VoterModel` (seeded per number exactly
as :class:`~phone_agent.simulator.sim.SimTelephony` seeds them) and agent
handsets from a shared :class:`~phone_agent.simulator.sim.SimAgentDesk`.
What the far ends send into a call (a voter's "여보세요", their key presses)
goes to :attr:`Telecom.sounds`, which the audio helper mixes into the
microphone.

Modelled as AOSP does it: a second outgoing call holds the first; ending the
foreground call locally resumes a held call
(CallsManager.maybeMoveHeldCallToForeground), a remote end does not; merge
joins an active and a held call into a conference (a new call whose children
they are); the registry keeps the last disconnect cause per SIM slot.
"""

from __future__ import annotations

import asyncio
import random
import re
import time

import numpy as np

from ..sim import SimAgentDesk
from ..sounds import RATE, hello, key_press
from ..voter import AGENT_SETUP_S, INCOMING_HANG_UP_S, INTRO_WAIT_S, AgentPlan, VoterModel, VoterPlan

__all__ = ["CAUSES", "Call", "Clock", "LINGER_S", "Telecom"]

HOLD_S = 0.2  # holding / resuming / merging take this long (simulated seconds)
LINGER_S = 0.4  # wall seconds a disconnected call stays visible (DISCONNECTED) in the dumps

# android.telephony.DisconnectCause / PreciseDisconnectCause / telecom code / reason / tone
CAUSES = {
    "busy": (4, 17, "BUSY", "BUSY", 17),
    "reject": (4, 21, "BUSY", "BUSY", 17),
    "invalid": (25, 1, "ERROR", "UNOBTAINABLE_NUMBER", 27),
    "no_answer": (2, 19, "REMOTE", "NORMAL", -1),
    "remote": (2, 16, "REMOTE", "NORMAL", -1),
    "local": (3, 16, "LOCAL", "LOCAL", -1),
    "incoming_rejected": (16, 16, "REJECTED", "INCOMING_REJECTED", -1),
    "missed": (1, 16, "MISSED", "INCOMING_MISSED", -1),
    "no_number": (7, 1, "ERROR", "INVALID_NUMBER", 27),
}


class Clock:
    """The handset's time: loop seconds, simulated seconds at ``speed``, and
    the audio clock (8 kHz samples since the first look at the clock)."""

    def __init__(self, speed: float):
        self.speed = speed
        self._t0: float | None = None  # loop time of the audio clock's sample 0

    def now(self) -> float:
        loop = asyncio.get_running_loop()
        if self._t0 is None:
            self._t0 = loop.time()
        return loop.time()

    def sample(self) -> int:
        return int((self.now() - self._t0) * self.speed * RATE)

    async def sleep(self, sim_s: float) -> None:
        await asyncio.sleep(max(0.0, sim_s) / self.speed)


class Call:
    """A Telecom call on the handset (voter, agent line, caller, conference)."""

    def __init__(self, seq: int, number: str, kind: str, slot: int, now_wall: float):
        self.id = f"TC@{seq}"
        self.number = number
        self.kind = kind  # voter | agent | caller | conference
        self.slot = slot
        self.incoming = kind == "caller"
        self.state = "CONNECTING"  # Telecom state name
        self.alerting = False  # the far end rings (precise state 4)
        self.parent: Call | None = None
        self.children: list[Call] = []
        self.created_wall = now_wall
        self.ended_wall: float | None = None
        self.cause: tuple | None = None  # CAUSES value
        self.plan: VoterPlan | None = None
        self.agent_plan: AgentPlan | None = None
        self.g: np.random.Generator | None = None
        self.intro_started = asyncio.Event()
        self.answered_sample: int | None = None
        self.events: list[tuple[float, str]] = []  # (wall time, "SET_ACTIVE (…)")
        self.task: asyncio.Task | None = None
        self.claimed_target: str | None = None
        self.local_end = False

    @property
    def live(self) -> bool:
        return self.state not in ("DISCONNECTED", "ABORTED")

    def precise(self) -> int:
        """PreciseCallState value of this call."""
        return {"CONNECTING": 3, "DIALING": 4 if self.alerting else 3, "ACTIVE": 1, "ON_HOLD": 2,
                "RINGING": 5, "DISCONNECTING": 8, "DISCONNECTED": 7,
                "SELECT_PHONE_ACCOUNT": 0}.get(self.state, 0)


class Telecom:
    """The calls of one handset; see the module docstring.

    ``asks_for_sim``: an outgoing call waits in SELECT_PHONE_ACCOUNT (dual
    SIM without a default calling SIM).
    """

    def __init__(self, clock: Clock, *, slots: int, voice_slot: int, voters: VoterModel,
                 voter_seed: int, desk: SimAgentDesk, asks_for_sim: bool = False):
        self.clock = clock
        self.voice_slot = voice_slot
        self.voters = voters
        self.voter_seed = voter_seed
        self.desk = desk
        self.asks_for_sim = asks_for_sim
        self.calls: list[Call] = []  # live and lingering calls, creation order
        self.history: list[Call] = []  # the last calls, for Telecom's historical events
        self.sounds: list[tuple[int, np.ndarray, Call]] = []  # (start sample, audio, call) from far ends
        self.last_cause: dict[int, tuple[int, int]] = {s: (-1, -1) for s in range(slots)}
        self.last_fg_end: dict[int, float] = {}  # slot → loop time its foreground call ended
        self._seq = 0
        self._dialled: dict[str, int] = {}

    # ------------------------------------------------------------- looking

    def live_calls(self) -> list[Call]:
        return [c for c in self.calls if c.live]

    def foreground(self) -> Call | None:
        live = [c for c in self.calls if c.live and c.parent is None]
        for c in reversed(live):
            if c.state in ("ACTIVE", "DIALING", "CONNECTING", "DISCONNECTING"):
                return c
        return None

    def close(self) -> None:
        """Cancel the people's timers (end of a test)."""
        for call in self.calls:
            if call.task is not None and not call.task.done():
                call.task.cancel()

    # ------------------------------------------------------ what the user does

    def ring_in(self, number: str, slot: int | None = None) -> Call:
        """A voter calls this phone."""
        self.clock.now()
        call = self._new_call(number, "caller", self.voice_slot if slot is None else slot)
        call.state = "RINGING"
        call.events.append((time.time(), "SET_RINGING (successful incoming call)"))
        call.plan = self.voters.plan(number, random.Random(f"caller:{self.voter_seed}:{number}"))
        call.g = np.random.default_rng(call.plan.audio_seed)
        call.task = asyncio.get_running_loop().create_task(self._caller_gives_up(call))
        return call

    def place_call(self, number: str) -> None:
        """ACTION_CALL to ``number``: a voter, or an agent line while a call is active."""
        live = [c for c in self.calls if c.live and c.kind != "conference"]
        holdable = [c for c in live if c.state == "ACTIVE" and c.parent is None]
        if any(c.state == "ON_HOLD" for c in live) and holdable or len(live) >= 2:
            return  # Telecom cannot make room for a third call: nothing happens
        if any(c.state in ("CONNECTING", "DIALING", "RINGING") for c in live):
            return
        kind = "agent" if holdable else "voter"
        call = self._new_call(number, kind, self.voice_slot)
        loop = asyncio.get_running_loop()
        if self.asks_for_sim:
            call.state = "SELECT_PHONE_ACCOUNT"
            call.events.append((time.time(), "SET_SELECT_PHONE_ACCOUNT"))
            return
        call.events.append((time.time(), "SET_CONNECTING"))
        if holdable:
            for c in holdable:
                loop.create_task(self.hold(c))
        if not re.search(r"[0-9]", number):
            loop.call_later(0.05, self.end, call, "no_number")
            return
        if kind == "voter":
            k = self._dialled.get(number, 0)
            self._dialled[number] = k + 1
            call.plan = self.voters.plan(number, random.Random(f"voter:{self.voter_seed}:{number}:{k}"))
            call.g = np.random.default_rng(call.plan.audio_seed)
            call.task = loop.create_task(self._run_voter(call))
        else:
            call.task = loop.create_task(self._run_agent(call))

    def answer(self) -> None:
        """KEYCODE_CALL: answer the ringing call (holding the active one)."""
        live = [c for c in self.calls if c.live]
        ringing = [c for c in live if c.state == "RINGING"]
        if ringing:
            call = ringing[0]
            for c in live:
                if c is not call and c.state == "ACTIVE" and c.parent is None:
                    c.state = "ON_HOLD"
            self._answered(call)
            if call.task is None or call.task.done():
                call.task = asyncio.get_running_loop().create_task(self._caller_gives_up(call))

    def end_call(self) -> bool:
        """KEYCODE_ENDCALL (TelecomManager.endCall()): end the foreground call,
        else reject the ringing one, else end any; False if there was no call."""
        live = [c for c in self.calls if c.live]
        target = self.foreground()
        if target is None:
            target = next((c for c in live if c.state == "RINGING"), None)
        if target is None:
            target = next((c for c in live if c.parent is None), None)
        if target is None:
            return False
        self.end(target, "incoming_rejected" if target.state == "RINGING" else "local")
        return True

    async def hold(self, call: Call) -> None:
        await self.clock.sleep(HOLD_S)
        if call.live and call.state == "ACTIVE":
            call.state = "ON_HOLD"
            call.events.append((time.time(), "SET_HOLD"))

    async def resume(self, call: Call) -> None:
        await self.clock.sleep(HOLD_S)
        if call.live and call.state == "ON_HOLD":
            call.state = "ACTIVE"
            call.events.append((time.time(), "SET_ACTIVE (unheld)"))

    async def merge(self) -> None:
        active = [c for c in self.calls if c.live and c.state == "ACTIVE" and c.parent is None
                  and c.kind != "conference"]
        held = [c for c in self.calls if c.live and c.state == "ON_HOLD" and c.parent is None]
        if not (active and held):
            return
        await self.clock.sleep(HOLD_S)
        members = [m for m in (held[0], active[0]) if m.live]
        if len(members) < 2:
            return
        conf = self._new_call("", "conference", members[0].slot)
        conf.state = "ACTIVE"
        conf.events.append((time.time(), "SET_ACTIVE (conference)"))
        for m in members:
            m.state = "ACTIVE"
            m.parent = conf
            m.events.append((time.time(), f"SET_PARENT (RecordEntry {conf.id})"))
        conf.children = members

    def end(self, call: Call, why: str) -> None:
        """The call disconnects (``why``: a key of :data:`CAUSES`)."""
        if not call.live:
            return
        cause = CAUSES[why]
        was_foreground = call.state != "ON_HOLD"
        call.state = "DISCONNECTED"
        call.alerting = False
        call.cause = cause
        call.local_end = why in ("local", "incoming_rejected")
        call.ended_wall = time.time()
        call.events.append((call.ended_wall, "SET_DISCONNECTED (DisconnectCause [ Code: (%s) Label: () "
                            "Description: () Reason: (%s) Tone: (%d) ])" % (cause[2], cause[3], cause[4])))
        self.last_cause[call.slot] = (cause[0], cause[1])
        if was_foreground:
            self.last_fg_end[call.slot] = self.clock.now()
        if call.claimed_target is not None:
            self.desk.release(call.claimed_target, call)
        if call.task is not None and not call.task.done() and call.task is not asyncio.current_task():
            call.task.cancel()
        parent = call.parent
        if parent is not None:
            parent.children.remove(call)
            call.parent = None
            if len(parent.children) <= 1 and parent.live:
                for child in parent.children:
                    child.parent = None
                parent.children = []
                parent.state = "DISCONNECTED"
                parent.cause = CAUSES["remote"]
                parent.ended_wall = time.time()
                parent.events.append((parent.ended_wall, "SET_DISCONNECTED (DisconnectCause [ Code: "
                                      "(REMOTE) Label: () Description: () Reason: () Tone: (-1) ])"))
        for child in list(call.children):
            self.end(child, why)
        # Telecom resumes a held call only after a *local* disconnect
        # (CallsManager.maybeMoveHeldCallToForeground).
        if call.local_end and was_foreground:
            held = [c for c in self.calls if c.live and c.state == "ON_HOLD"]
            if len(held) == 1:
                asyncio.get_running_loop().create_task(self.resume(held[0]))
        asyncio.get_running_loop().call_later(LINGER_S, self._forget, call)

    # ------------------------------------------------------------ the people

    def _new_call(self, number: str, kind: str, slot: int) -> Call:
        self._seq += 1
        call = Call(self._seq, number, kind, slot, time.time())
        call.events.append((time.time(), "CREATED"))
        self.calls.append(call)
        self.history.append(call)
        del self.history[:-10]
        return call

    def _forget(self, call: Call) -> None:
        if call in self.calls and not call.live:
            self.calls.remove(call)

    def _dialing(self, call: Call) -> None:
        if call.live:
            call.state = "DIALING"
            call.events.append((time.time(), "SET_DIALING (successful outgoing call)"))

    def _answered(self, call: Call) -> None:
        call.state = "ACTIVE"
        call.alerting = False
        call.answered_sample = self.clock.sample()
        call.events.append((time.time(), "SET_ACTIVE (active set explicitly)"))

    async def _run_voter(self, call: Call) -> None:
        plan = call.plan
        await self.clock.sleep(0.1)
        self._dialing(call)
        await self.clock.sleep(plan.setup_s)
        if plan.behaviour == "invalid":
            return self.end(call, "invalid")
        if plan.behaviour == "busy":
            return self.end(call, "busy")
        call.alerting = True
        await self.clock.sleep(plan.ring_s)
        if not plan.answers:
            return self.end(call, "reject" if plan.behaviour == "reject" else "no_answer")
        self._answered(call)
        if self.voters.hello_dbfs is not None:
            greeting = hello(self.voters.hello_dbfs, int(call.g.integers(4)))
            self.sounds.append((call.answered_sample + int(0.3 * RATE), greeting, call))
        try:
            await asyncio.wait_for(call.intro_started.wait(), INTRO_WAIT_S / self.clock.speed)
        except asyncio.TimeoutError:
            pass
        if plan.behaviour == "hang_up_in_intro":
            await self.clock.sleep(plan.act_after_s)
            return self.end(call, "remote")
        if plan.digit is None:
            return
        await self.clock.sleep(plan.act_after_s)
        self._press(call, plan.digit)
        if plan.hang_up_after_s is not None:
            await self.clock.sleep(plan.hang_up_after_s)
            if call.parent is None:
                self.end(call, "remote")

    def _press(self, call: Call, key: str) -> None:
        """The voter presses ``key``: its tone, with noise ``snr_db`` below it
        (exactly as the sim backend makes it), goes into the call audio."""
        plan = call.plan
        audio = key_press(key, plan.tone_s, plan.tone_dbfs, self.voters.snr_db, call.g)
        self.sounds.append((self.clock.sample(), audio, call))
        call.events.append((time.time(), f"DTMF_RECEIVED ({key})"))  # not a real event: for tests

    async def _run_agent(self, call: Call) -> None:
        await self.clock.sleep(0.1)
        self._dialing(call)
        await self.clock.sleep(AGENT_SETUP_S)
        plan = self.desk.claim(call.number, call)
        if plan is None:
            return self.end(call, "busy")
        call.claimed_target = call.number
        call.agent_plan = plan
        call.alerting = True
        if not plan.answers:
            await asyncio.Event().wait()  # rings until dropped
        await self.clock.sleep(plan.answer_after_s)
        self._answered(call)
        await self.clock.sleep(plan.talk_s)
        self.end(call, "remote")

    async def _caller_gives_up(self, call: Call) -> None:
        await self.clock.sleep(INCOMING_HANG_UP_S)
        if call.state == "RINGING":
            self.end(call, "missed")
        elif call.live:
            self.end(call, "remote")
