"""The ``sim`` backend: a simulated phone, the voter it calls, and the agent
handsets it rings — for demos, tests and benchmarks.

It honours :class:`~phone_agent.telephony.base.Telephony` exactly as a real
phone would, and nothing more is needed to drive it: the call script finds
the voter's "1" by running :class:`~phone_agent.audio.dtmf.DtmfDetector`
over ``frames()``, which carry real DTMF tone audio
(:func:`~phone_agent.audio.tones.dtmf_tone`, 80–150 ms, −10…−20 dBFS) with
noise ~20 dB below it, line noise, the voter's "여보세요" (speech-like audio)
on answering and a faint echo of the announcement being played.

Time: every simulated duration is divided by ``speed`` (``speed=20``: a 30 s
call takes 1.5 s). Audio stays 8 kHz — ``frames()`` delivers ``frame_s``
seconds of audio every ``frame_s / speed`` seconds of wall time; by default
``frame_s`` grows with the speed (0.2 s at speed 1, up to 2 s from speed 10)
so 500 listening phones cost the same number of detector calls at any speed.

Voters follow :class:`~phone_agent.simulator.voter.VoterModel` (see
``phone_agent/simulator/voter.py`` for the knobs and the number-suffix rules that force
outcomes). The plan for a number depends only on ``voter_seed``, the number
and how many times this phone dialled it before, so the same seed gives the
same outcomes. Agent handsets live in a :class:`SimAgentDesk` shared by all
sim phones of a process: a handset already ringing or in a call answers busy.

Sim-only helpers (not part of the interface, for tests, demos and benchmarks):
``ring_in(number)`` makes a voter call this phone; ``dial_log``, when set to a
callable, is called with the number on every real dial (after the checks,
as the call is placed) — the fleet's ``--dial-log`` writes it down.
"""

from __future__ import annotations

import asyncio
import random
import re
import wave
from collections import Counter, OrderedDict
from pathlib import Path
from typing import AsyncIterator, Callable

import numpy as np

from ..telephony.base import (ACTIVE, AGENT, ALERTING, DIALING, DISCONNECTED, INCOMING, VOTER,
                              AudioError, CallFailed, CallStateChange, InvalidNumber, NoActiveCall,
                              Telephony)
from .sounds import RATE, echo, hello, key_press, mix, noise_bank, wav_audio
from .voter import (AGENT_SETUP_S, INCOMING_HANG_UP_S, INTRO_WAIT_S, AgentModel, AgentPlan,
                    VoterModel, VoterPlan)

__all__ = ["SimTelephony", "SimAgentDesk", "wav_duration"]

_DIALLABLE = re.compile(r"\+?[0-9*#]{3,20}")


# -- played announcements ---------------------------------------------------------

_WAVS: OrderedDict[tuple[str, float], tuple[float, np.ndarray | None]] = OrderedDict()


def _read_wav(path: str | Path) -> tuple[float, np.ndarray | None]:
    """(duration in seconds, samples if PCM16 8 kHz mono else None), cached."""
    p = Path(path)
    try:
        key = (str(p), p.stat().st_mtime)
    except OSError as exc:
        raise AudioError(f"cannot play {p.name}: {exc.strerror or exc}") from None
    hit = _WAVS.get(key)
    if hit is not None:
        _WAVS.move_to_end(key)
        return hit
    try:
        duration, samples = wav_audio(str(p))
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"cannot play {p.name}: not a readable WAV ({exc})") from None
    _WAVS[key] = (duration, samples)
    while len(_WAVS) > 64:
        _WAVS.popitem(last=False)
    return duration, samples


_ECHOES: OrderedDict[tuple[str, float], tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _echo(path, samples: np.ndarray, gain_db: float) -> np.ndarray:
    """The announcement's echo (:func:`.sounds.echo`), cached per file."""
    key = (str(path), gain_db)
    hit = _ECHOES.get(key)
    if hit is None or hit[0] is not samples:
        hit = _ECHOES[key] = (samples, echo(samples, gain_db))
        while len(_ECHOES) > 16:
            _ECHOES.popitem(last=False)
    return hit[1]


def wav_duration(path: str | Path) -> float:
    """Seconds of audio in a WAV file, from its header."""
    return _read_wav(path)[0]


# -- agent handsets ---------------------------------------------------------------

class SimAgentDesk:
    """The agent handsets (1001, 1002, …) every sim phone of a process rings.

    ``agents`` maps a dial target (as the server's agent line gives it) to
    its :class:`~phone_agent.simulator.voter.AgentModel`; any other target gets
    ``default``. A handset rung while it rings or talks for another call is
    busy. Decisions come from one ``random.Random(seed)``.
    """

    def __init__(self, seed: int = 0, default: AgentModel | None = None,
                 agents: dict[str, AgentModel] | None = None):
        self.rng = random.Random(f"desk:{seed}")
        self.default = default or AgentModel()
        self.agents: dict[str, AgentModel] = dict(agents or {})
        self._holder: dict[str, object] = {}
        self.stats: Counter = Counter()  # rung, busy, answered, no_answer (per target: "rung:1001")

    def model(self, target: str) -> AgentModel:
        return self.agents.get(target, self.default)

    def busy(self, target: str) -> bool:
        return target in self._holder

    def claim(self, target: str, holder: object) -> AgentPlan | None:
        """Ring ``target`` for ``holder``: its plan, or None if it is busy."""
        self.stats["rung"] += 1
        self.stats[f"rung:{target}"] += 1
        if target in self._holder:
            self.stats["busy"] += 1
            return None
        self._holder[target] = holder
        plan = self.model(target).plan(self.rng)
        self.stats["answered" if plan.answers else "no_answer"] += 1
        return plan

    def release(self, target: str, holder: object) -> None:
        if self._holder.get(target) is holder:
            del self._holder[target]


# -- the phone --------------------------------------------------------------------

class _Leg:
    """One call leg on the sim phone."""

    def __init__(self, kind: str, number: str):
        self.kind = kind
        self.number = number
        self.state = DIALING
        self.task: asyncio.Task | None = None
        self.answered_at: float | None = None  # loop time
        self.bridged = False
        # voter
        self.plan: VoterPlan | None = None
        self.g: np.random.Generator | None = None
        self.intro_started = asyncio.Event()
        self.sounds: list[tuple[int, np.ndarray]] = []  # (start sample, int16 audio)
        self.rendered = 0  # samples of frames() delivered so far
        # agent
        self.target: str | None = None
        self.claimed = False


class SimTelephony(Telephony):
    """A simulated phone; see the module docstring.

    ``seed`` seeds this phone (its health readings); ``voter_seed`` (default
    ``seed``) the voters it calls — give every phone of a fleet the same
    ``voter_seed`` and a number behaves the same whichever phone dials it.
    """

    name = "sim"

    def __init__(self, seed: int = 0, *, speed: float = 1.0, voters: VoterModel | None = None,
                 desk: SimAgentDesk | None = None, voter_seed: int | None = None,
                 number: str | None = None, frame_s: float | None = None):
        super().__init__()
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.seed = seed
        self.speed = float(speed)
        self.voters = voters or VoterModel()
        self.desk = desk if desk is not None else SimAgentDesk(seed)
        self.voter_seed = seed if voter_seed is None else voter_seed
        self.frame_s = frame_s if frame_s is not None else min(2.0, max(0.2, 0.2 * self.speed))
        rng = random.Random(f"phone:{seed}")
        self.number = number or f"010{rng.randrange(10**8):08d}"
        self._battery = rng.randint(55, 100)
        self._signal = rng.choice((3, 4, 4))
        self._voter: _Leg | None = None
        self._agent: _Leg | None = None
        self._dialled: Counter = Counter()
        self._stop_play: asyncio.Event | None = None
        self._playback: tuple[_Leg, int, np.ndarray] | None = None
        self._closed = False
        self.calls = 0
        self.dial_log: Callable[[str], None] | None = None  # told the number of every real dial

    # ---------------------------------------------------------------- timing

    async def _sleep(self, sim_s: float) -> None:
        await asyncio.sleep(max(0.0, sim_s) / self.speed)

    def _now_sample(self, leg: _Leg) -> int:
        if leg.answered_at is None:
            return 0
        loop = asyncio.get_running_loop()
        return int((loop.time() - leg.answered_at) * self.speed * RATE)

    # ---------------------------------------------------------- call control

    async def dial(self, number: str) -> None:
        if self._closed:
            raise CallFailed("the phone is closed")
        if not _DIALLABLE.fullmatch(number or ""):
            raise InvalidNumber(f"cannot dial {number!r}")
        if self._voter is not None and self._voter.state != DISCONNECTED:
            raise CallFailed("a call is already in progress")
        if self.dial_log is not None:
            self.dial_log(number)
        k = self._dialled[number]
        self._dialled[number] += 1
        self.calls += 1
        plan = self.voters.plan(number, random.Random(f"voter:{self.voter_seed}:{number}:{k}"))
        leg = self._voter = _Leg(VOTER, number)
        leg.plan = plan
        leg.g = np.random.default_rng(plan.audio_seed)
        self._emit(CallStateChange(VOTER, DIALING, number=number))
        leg.task = asyncio.create_task(self._run_voter(leg))

    async def _run_voter(self, leg: _Leg) -> None:
        plan = leg.plan
        await self._sleep(plan.setup_s)
        if plan.behaviour == "invalid":
            return self._end(leg, "invalid_number")
        if plan.behaviour == "busy":
            return self._end(leg, "busy")
        self._set(leg, ALERTING)
        await self._sleep(plan.ring_s)
        if not plan.answers:
            return self._end(leg, "rejected" if plan.behaviour == "reject" else "no_answer")
        self._answered(leg)
        await self._voter_listens(leg)

    def _answered(self, leg: _Leg) -> None:
        leg.answered_at = asyncio.get_running_loop().time()
        if self.voters.hello_dbfs is not None:
            greeting = hello(self.voters.hello_dbfs, int(leg.g.integers(4)))
            leg.sounds.append((int(0.3 * RATE), greeting))
        self._set(leg, ACTIVE)

    async def _voter_listens(self, leg: _Leg) -> None:
        """The answered voter's plan, counted from the start of the intro."""
        plan = leg.plan
        try:
            await asyncio.wait_for(leg.intro_started.wait(), INTRO_WAIT_S / self.speed)
        except asyncio.TimeoutError:
            pass
        if plan.behaviour == "hang_up_in_intro":
            await self._sleep(plan.act_after_s)
            return self._end(leg, "remote_hangup")
        if plan.digit is None:
            return  # listens until the phone hangs up
        await self._sleep(plan.act_after_s)
        self._press(leg, plan.digit)
        if plan.hang_up_after_s is not None:
            await self._sleep(plan.hang_up_after_s)
            if not leg.bridged:
                self._end(leg, "remote_hangup")

    def _press(self, leg: _Leg, key: str) -> None:
        """The voter presses ``key``: its tone, with noise ``snr_db`` below
        it, goes into the call audio from now."""
        plan = leg.plan
        start = max(self._now_sample(leg), leg.rendered)
        leg.sounds.append((start, key_press(key, plan.tone_s, plan.tone_dbfs, self.voters.snr_db, leg.g)))

    async def hang_up(self) -> None:
        await self.stop()
        for leg in (self._agent, self._voter):
            if leg is not None and leg.state != DISCONNECTED:
                self._cancel(leg)
                self._end(leg, "local_hangup")

    async def answer(self) -> None:
        leg = self._voter
        if leg is None or leg.state != INCOMING:
            raise NoActiveCall("no incoming call to answer")
        leg.plan = self.voters.plan(leg.number, random.Random(f"caller:{self.voter_seed}:{leg.number}"))
        leg.g = np.random.default_rng(leg.plan.audio_seed)
        self._answered(leg)
        leg.task = asyncio.create_task(self._caller_hangs_up(leg))

    async def _caller_hangs_up(self, leg: _Leg) -> None:
        await self._sleep(INCOMING_HANG_UP_S)
        self._end(leg, "remote_hangup")

    def ring_in(self, number: str) -> None:
        """Sim only: a voter calls this phone (``incoming``)."""
        if self._voter is not None and self._voter.state != DISCONNECTED:
            raise CallFailed("the phone is in a call")
        leg = self._voter = _Leg(VOTER, number)
        leg.state = INCOMING
        self._emit(CallStateChange(VOTER, INCOMING, number=number))

    # ----------------------------------------------------------- agent leg

    async def ring_agent(self, dial_target: str) -> None:
        voter = self._voter
        if voter is None or voter.state != ACTIVE:
            raise NoActiveCall("no active voter call to add an agent to")
        if self._agent is not None and self._agent.state != DISCONNECTED:
            raise CallFailed("an agent leg is already up")
        if not _DIALLABLE.fullmatch(dial_target or ""):
            raise InvalidNumber(f"cannot dial agent target {dial_target!r}")
        leg = self._agent = _Leg(AGENT, dial_target)
        leg.target = dial_target
        self._emit(CallStateChange(AGENT, DIALING, number=dial_target))
        leg.task = asyncio.create_task(self._run_agent(leg))

    async def _run_agent(self, leg: _Leg) -> None:
        await self._sleep(AGENT_SETUP_S)
        plan = self.desk.claim(leg.target, leg)
        if plan is None:
            return self._end(leg, "busy")
        leg.claimed = True
        self._set(leg, ALERTING)
        if not plan.answers:
            await asyncio.Event().wait()  # rings until dropped
        await self._sleep(plan.answer_after_s)
        leg.answered_at = asyncio.get_running_loop().time()
        self._set(leg, ACTIVE)
        await self._sleep(plan.talk_s)
        self._end(leg, "remote_hangup")

    async def bridge(self) -> None:
        voter, agent = self._voter, self._agent
        if voter is None or voter.state != ACTIVE:
            raise NoActiveCall("the voter call is not active")
        if agent is None or agent.state != ACTIVE:
            raise NoActiveCall("the agent has not answered")
        voter.bridged = agent.bridged = True

    async def drop_agent(self) -> None:
        leg = self._agent
        if leg is not None and leg.state != DISCONNECTED:
            self._cancel(leg)
            self._end(leg, "local_hangup")

    # ----------------------------------------------------------------- audio

    async def play(self, path: str | Path) -> bool:
        duration, samples = _read_wav(path)
        await self.stop()
        stop = self._stop_play = asyncio.Event()
        voter = self._voter
        if voter is not None and voter.state == ACTIVE:
            voter.intro_started.set()
            if samples is not None and self.voters.echo_db is not None:
                self._playback = (voter, max(self._now_sample(voter), voter.rendered),
                                  _echo(path, samples, self.voters.echo_db))
        try:
            await asyncio.wait_for(stop.wait(), duration / self.speed)
            return False
        except asyncio.TimeoutError:
            return True
        finally:
            if self._stop_play is stop:
                self._stop_play = None
                self._playback = None

    async def stop(self) -> None:
        if self._stop_play is not None:
            self._stop_play.set()
            self._stop_play = None
            self._playback = None

    async def frames(self) -> AsyncIterator[bytes]:
        leg = self._voter
        if leg is None or leg.state != ACTIVE:
            return
        loop = asyncio.get_running_loop()
        n = max(1, int(round(self.frame_s * RATE)))
        pos = max(self._now_sample(leg), leg.rendered)
        while leg.state == ACTIVE:
            end = pos + n
            await asyncio.sleep(max(0.0, leg.answered_at + end / RATE / self.speed - loop.time()))
            if leg.state != ACTIVE:
                return
            chunk = self._render(leg, pos, end)
            leg.rendered = pos = end
            yield chunk

    def _render(self, leg: _Leg, start: int, end: int) -> bytes:
        n = end - start
        bank = noise_bank(self.voters.noise_dbfs)
        if n > len(bank):
            bank = np.resize(bank, n)
        off = int(leg.g.integers(0, len(bank) - n + 1))
        sources = [(s0, a) for s0, a in leg.sounds if s0 < end and s0 + len(a) > start]
        if self._playback is not None and self._playback[0] is leg:
            s0, a = self._playback[1:]
            if s0 < end and s0 + len(a) > start:
                sources.append((s0, a))
        if not sources:
            return bank[off:off + n].tobytes()
        leg.sounds = [(s0, a) for s0, a in leg.sounds if s0 + len(a) > end]
        return mix(bank[off:off + n], start, sources)

    # ---------------------------------------------------------------- device

    async def health(self) -> dict:
        state = "idle"
        leg = self._voter
        if leg is not None:
            state = {DIALING: "dialing", ALERTING: "ringing", ACTIVE: "active",
                     INCOMING: "incoming"}.get(leg.state, "idle")
        return {"battery": self._battery, "charging": True, "signal": self._signal,
                "network": "lte", "sim": "ready", "call_state": state}

    async def device(self) -> dict:
        return {"model": "Mobile ARS sim phone", "android": "14", "serial": f"sim-{self.seed}",
                "number": self.number}

    async def close(self) -> None:
        await self.hang_up()
        self._closed = True

    # --------------------------------------------------------------- helpers

    def _set(self, leg: _Leg, state: str) -> None:
        leg.state = state
        self._emit(CallStateChange(leg.kind, state, number=leg.number))

    def _end(self, leg: _Leg, cause: str) -> None:
        if leg.state == DISCONNECTED:
            return
        leg.state = DISCONNECTED
        if leg.kind == AGENT and leg.claimed:
            self.desk.release(leg.target, leg)
        if self._playback is not None and self._playback[0] is leg:
            self._playback = None
        self._emit(CallStateChange(leg.kind, DISCONNECTED, cause=cause, number=leg.number))

    @staticmethod
    def _cancel(leg: _Leg) -> None:
        task = leg.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
