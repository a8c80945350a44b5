"""The call script: one leased call from dial to hang-up, on any backend.

::

    claim ─(refused, no answer, link down)→ not dialled: the runner gives the call back
      └→ dial ─┬→ ringing … → answered → intro (announcements in order,
                    │                          DTMF detector on the call audio)
                    │    ┌─ no "1" within press1_wait_s after the intro → hang up: listened
                    │    └─ "1" → connect_agent_after_intro?
                    │          yes: ask the server for an agent line → ring it (ring_s)
                    │               answered → bridge → … → connected
                    │               no answer / busy → drop it, ask again (after_line, outcome)
                    │               none left ──┐
                    │          no: ─────────────┴→ promise announcement → hang up: callback_requested
                    └→ no_answer | busy | rejected | invalid_number | failed
    the 수신거부 key (campaign setting refuse_key) during the intro →
        confirmation (the refusal announcement, else a built-in tone) → hang up: refused
    voter hangs up anywhere after answering → hung_up;  any backend error → failed (reason)

Claim before dial: the ``dialing`` event is not queued like the others but
sent as a request (:meth:`CallLink.claim`), and the phone dials only when
the server's acknowledgement says yes within ``claim_wait_s``. The server
checks then, not at lease time, that the campaign runs, that it is calling
time and that the number is not on 수신거부. Without that yes — refused,
no answer in time, link down — nothing is dialled and the call comes back
with ``not_dialled`` set; the runner releases it.

Every step is reported as a protocol ``call`` event with ``at`` (time.time())
and a per-call ``seq`` from 1. The script replays each event through
:func:`phone_agent.protocol.call_states.advance` *before* reporting it — the same
check the server makes — so it cannot report an impossible call.

Its dependencies are injected: a :class:`~phone_agent.telephony.base.Telephony`
backend, a :class:`CallLink` (the two requests the script makes of the
server) and a function from an asset's sha256 to its cached file.

``speed`` (``ScriptConfig``) divides every wait of the script — the ring
timeout, ``press1_wait_s``, an agent line's ``ring_s`` — so that a sim phone
running at ``speed`` keeps the proportions of a real call. Real phones use 1.

This module is longer than most (about 700 lines) on purpose: the script is
one sequence of awaits over one call's context (``_Ctx``: the number, the
legs, the event queue, the detector), and its steps — claim, dial, intro,
routing, promise, refusal, the incoming-call answer — read top to bottom as
the picture above. Split by step, every module would take and mutate the same
context, and the order of a call would no longer be visible in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Protocol

from . import protocol
from .audio.listener import KeyListener
from .audio.wavfile import AudioFileError, cached_8k_mono
from .protocol.call_states import CallProgress, RESULT_FROM, TransitionError, advance
from .telephony.base import (ACTIVE, ALERTING, DISCONNECTED, INCOMING, VOTER, AudioError,
                             CallFailed, CallStateChange, DeviceUnavailable, Telephony, TelephonyError)

log = logging.getLogger(__name__)

__all__ = ["CallLink", "CallRecord", "CallScript", "ScriptConfig"]


class CallLink(Protocol):
    """What the script asks of the server (``phone_agent.link.Link`` in
    production). Both return awaitables resolving to the server's ack; the
    script never awaits ``report`` (the link delivers in order, retrying)."""

    def report(self, event: dict) -> Awaitable[dict]:
        """Queue a protocol ``call`` event (CallEvent payload)."""

    def ask_agent(self, request: dict) -> Awaitable[dict]:
        """Send a protocol ``agent`` request; the ack holds ``line`` or null."""

    def claim(self, event: dict, timeout: float) -> Awaitable[dict]:
        """Send a call's ``dialing`` event at once and return the server's ack
        (raise ConnectionError / asyncio.TimeoutError when there is none). It
        is never queued or sent again: a claim is good only now."""


@dataclass
class ScriptConfig:
    speed: float = 1.0  # divides every wait below and the campaign's (sim runs)
    ring_timeout_s: float = 60.0  # the voter's phone rings at most this long: no_answer
    agent_wait_s: float = 10.0  # wall seconds to wait for the `agent` ack (not scaled)
    press1_wait_s: float = 5.0  # when the campaign's settings lack it
    settle_s: float = 2.0  # wall seconds to wait for a leg's "disconnected" after hanging up
    max_agent_attempts: int = 20
    claim_wait_s: float = 5.0  # wall seconds to wait for the server's yes to a dial (not scaled)


# Disconnect cause before the voter answered -> call result.
_EARLY_RESULT = {"busy": "busy", "no_answer": "no_answer", "rejected": "rejected",
                 "remote_hangup": "rejected", "invalid_number": "invalid_number"}
# Disconnect cause of a failed agent leg -> protocol agent outcome.
_AGENT_OUTCOME = {"busy": "busy", "no_answer": "no_answer", "rejected": "no_answer",
                  "remote_hangup": "no_answer"}


@dataclass
class CallRecord:
    """What happened on one call, as the phone saw it."""

    call_id: str
    number: str
    result: str | None = None
    reason: str | None = None
    events: list[dict] = field(default_factory=list)  # every event reported, in order
    digits: list[str] = field(default_factory=list)  # every key detected
    progress: CallProgress = field(default_factory=CallProgress)
    dial_started: float | None = None  # time.monotonic() when dial() was called
    finished: float | None = None  # time.monotonic() when the phone was idle again
    agent_ack_s: list[float] = field(default_factory=list)  # per `agent` request
    dtmf_to_agent_ack_s: float | None = None  # "1" reported → first agent ack received
    pressed_one_at: float | None = None  # ``at`` of the dtmf "1" event
    lines: list[int] = field(default_factory=list)  # agent lines rung
    not_dialled: str | None = None  # why the call was not dialled (claim refused or unanswered)
    device_lost: str | None = None  # the call failed because the phone itself went away: why

    @property
    def seq(self) -> int:
        return len(self.events)

    def times(self) -> dict[str, float]:
        """First ``at`` of each event (the step timestamps)."""
        out: dict[str, float] = {}
        for e in self.events:
            out.setdefault(e["event"], e["at"])
        return out


class _Ctx:
    """Live state of the call being run, fed by the event pump."""

    def __init__(self, number: str):
        self.number = number
        self.voter_q: asyncio.Queue[CallStateChange] = asyncio.Queue()
        self.voter_ended = asyncio.Event()
        self.voter_cause: str | None = None
        self.voter_seen = False
        self.agent_q: asyncio.Queue[CallStateChange] = asyncio.Queue()
        self.agent_target: str | None = None
        self.agent_ended = asyncio.Event()
        self.agent_cause: str | None = None
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.abort = asyncio.Event()
        self.abort_reason = "aborted"
        self.detector: asyncio.Task | None = None
        self.keys: KeyListener | None = None  # the detector's; told what the phone plays
        self.refuse_key = ""  # the 수신거부 key of the campaign ("" = none)
        self.device_lost: str | None = None  # the backend lost the phone during the call: why


class _Hangup(Exception):
    """The voter hung up (internal flow control)."""


class _Abort(Exception):
    """The call was aborted by a command (internal flow control)."""


class _NotDialled(Exception):
    """The server did not confirm the dial (internal flow control)."""


class CallScript:
    """Runs calls one after another on one backend. ``start()`` once, then
    ``run(call, campaign)`` per leased call; ``close()`` at the end."""

    def __init__(self, backend: Telephony, link: CallLink, asset_path: Callable[[str], Path | None],
                 config: ScriptConfig | None = None,
                 on_incoming: Callable[[str], None] | None = None):
        self.backend = backend
        self.on_incoming = on_incoming  # told when a call comes in while the phone is idle
        self.link = link
        self.asset_path = asset_path
        self.config = config or ScriptConfig()
        self._ctx: _Ctx | None = None
        self._pump: asyncio.Task | None = None
        self.incoming: asyncio.Queue[str] = asyncio.Queue()  # numbers calling us while idle

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._pump is None:
            self._pump = asyncio.create_task(self._pump_events())

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None

    def abort(self, reason: str = "hang_up_command") -> bool:
        """Hang up the call in progress (server ``hang_up`` command)."""
        ctx = self._ctx
        if ctx is None:
            return False
        ctx.abort_reason = reason
        ctx.abort.set()
        return True

    async def _pump_events(self) -> None:
        async for change in self.backend.call_events():
            ctx = self._ctx
            if change.leg == VOTER:
                if change.state == INCOMING:
                    if ctx is None:
                        self.incoming.put_nowait(change.number or "")
                        if self.on_incoming is not None:
                            self.on_incoming(change.number or "")
                    continue
                if ctx is None or not _same_number(change.number, ctx.number):
                    continue  # a late change of an earlier call
                ctx.voter_seen = True
                if change.state == DISCONNECTED:
                    ctx.voter_cause = change.cause
                    ctx.voter_ended.set()
                ctx.voter_q.put_nowait(change)
            elif ctx is not None and ctx.agent_target is not None and _same_number(
                    change.number, ctx.agent_target):
                if change.state == DISCONNECTED:
                    ctx.agent_cause = change.cause
                    ctx.agent_ended.set()
                ctx.agent_q.put_nowait(change)

    # -------------------------------------------------------------- one call

    async def run(self, call: dict, campaign: dict) -> CallRecord:
        """Dial ``call`` ({call_id, number, attempt}) for ``campaign`` (the
        protocol Campaign) and report every step; returns the record."""
        if self._pump is None:
            await self.start()
        rec = CallRecord(call["call_id"], call["number"])
        ctx = self._ctx = _Ctx(call["number"])
        result, reason = "failed", None
        try:
            result, reason = await self._call(ctx, rec, campaign)
        except _NotDialled as exc:
            rec.not_dialled = str(exc)
            rec.finished = time.monotonic()
            self._ctx = None
            return rec
        except _Abort:
            result, reason = "failed", ctx.abort_reason
        except TelephonyError as exc:
            # Every kind of unavailability is reported as DeviceUnavailable.
            kind = DeviceUnavailable if isinstance(exc, DeviceUnavailable) else type(exc)
            result, reason = "failed", f"{kind.__name__}: {exc}"
            if isinstance(exc, DeviceUnavailable):
                ctx.device_lost = str(exc) or "unavailable"
            # An operation that raced the voter hanging up (ring_agent just as
            # the voter left) is a hang-up, not a failure.
            if ctx.voter_seen and not ctx.voter_ended.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ctx.voter_ended.wait(), 0.2)
            if ctx.voter_ended.is_set() and ctx.voter_cause == "remote_hangup":
                result, reason, ctx.device_lost = "hung_up", None, None
        except asyncio.CancelledError:
            await self._finish(ctx, rec, "failed", "phone_agent_stopped")
            raise
        except Exception as exc:  # a bug: end the call properly, keep the phone going
            log.exception("call %s: script error", rec.call_id)
            result, reason = "failed", f"script error: {type(exc).__name__}"
        await self._finish(ctx, rec, result, reason)
        return rec

    async def _finish(self, ctx: _Ctx, rec: CallRecord, result: str, reason: str | None) -> None:
        if ctx.detector is not None:
            ctx.detector.cancel()
        with contextlib.suppress(TelephonyError):
            await self.backend.stop()
        with contextlib.suppress(TelephonyError):
            await self.backend.hang_up()
        # Let the pump hand this call's last changes to this call, not the next.
        waits = []
        if ctx.voter_seen:
            waits.append(ctx.voter_ended.wait())
        if ctx.agent_target is not None:
            waits.append(ctx.agent_ended.wait())
        if waits:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), self.config.settle_s)
        if rec.progress.state not in RESULT_FROM[result]:
            reason = f"{result} in state {rec.progress.state}" + (f": {reason}" if reason else "")
            result = "failed"
        data = {"result": result}
        if reason:
            data["reason"] = reason[:120]
        self._report(rec, "ended", data)
        rec.result, rec.reason = result, reason
        rec.device_lost = ctx.device_lost if result == "failed" else None
        rec.finished = time.monotonic()
        self._ctx = None

    async def _claim(self, rec: CallRecord) -> None:
        """Ask the server to confirm this dial now; _NotDialled unless it does."""
        at = time.time()
        payload = {"call_id": rec.call_id, "seq": 1, "event": "dialing", "at": at, "data": {}}
        try:
            ack = await asyncio.wait_for(asyncio.ensure_future(
                self.link.claim(payload, self.config.claim_wait_s)), self.config.claim_wait_s)
        except (ConnectionError, asyncio.TimeoutError) as exc:
            raise _NotDialled(f"no_confirmation: no answer from the server ({type(exc).__name__})") from None
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            error = (ack.get("error") if isinstance(ack, dict) else None) or {}
            raise _NotDialled(f"{error.get('code', 'refused')}: {error.get('message', '')}"[:160])
        advance(rec.progress, "dialing", {}, at)
        rec.events.append(payload)

    async def _call(self, ctx: _Ctx, rec: CallRecord, campaign: dict):
        cfg = self.config
        await self._claim(rec)
        rec.dial_started = time.monotonic()
        try:
            await self.backend.dial(rec.number)
        except CallFailed as exc:
            return _EARLY_RESULT.get(exc.cause, "failed"), f"{exc}"
        # ringing
        ringing = False
        deadline = asyncio.get_running_loop().time() + cfg.ring_timeout_s / cfg.speed
        while True:
            change = await self._next(ctx.voter_q, ctx, deadline)
            if change is None:
                return "no_answer", "ring timeout"
            if change.state == ALERTING and not ringing:
                ringing = True
                self._report(rec, "ringing")
            elif change.state == ACTIVE:
                break
            elif change.state == DISCONNECTED:
                result = _EARLY_RESULT.get(change.cause, "failed")
                return result, None if result != "failed" else self._dropped(f"disconnected: {change.cause}")
        self._report(rec, "answered")
        ctx.keys = KeyListener()  # before the first play, which tells it what plays
        ctx.detector = asyncio.create_task(self._detect(ctx, rec))
        try:
            return await self._answered(ctx, rec, campaign)
        except _Hangup:
            if ctx.voter_cause in (None, "remote_hangup"):
                return "hung_up", None
            return "failed", self._dropped(f"call dropped: {ctx.voter_cause}")

    def _dropped(self, what: str) -> str:
        """Why a call failed under us: the phone itself, when the backend lost it."""
        if self.backend.available is False:
            self._ctx.device_lost = self.backend.unavailable_reason or "unavailable"
            return f"{DeviceUnavailable.__name__}: {self._ctx.device_lost}"
        return what

    async def _answered(self, ctx: _Ctx, rec: CallRecord, campaign: dict) -> tuple[str, str | None]:
        cfg = self.config
        assets = campaign.get("assets") or {}
        settings = campaign.get("settings") or {}
        press1_wait = float(settings.get("press1_wait_s", cfg.press1_wait_s))
        ctx.refuse_key = str(settings.get("refuse_key") or "")
        outcome = "done"
        intro = list(assets.get("intro") or [])
        for sha in intro:
            path = self._path(sha)
            self._report(rec, "intro_started", {"sha256": sha})
            outcome = await self._listen(ctx, rec, asyncio.create_task(self._play(ctx, path)))
            if outcome != "done":
                break
        if outcome == "done":
            if intro:
                self._report(rec, "intro_finished")
            outcome = await self._listen(ctx, rec, None, press1_wait / cfg.speed)
        if outcome == "timeout":
            return "listened", None
        if outcome == "refuse":
            return await self._refused(ctx, rec, assets)
        # outcome == "one": the voter pressed 1 (state: routing)
        ctx.detector.cancel()
        if settings.get("connect_agent_after_intro", True):
            if await self._route(ctx, rec):
                return "connected", None
        self._report(rec, "promise_started")
        for sha in assets.get("promise") or []:
            await self._listen(ctx, rec, asyncio.create_task(self._play(ctx, self._path(sha))),
                               digits=False)
        return "callback_requested", None

    async def _refused(self, ctx: _Ctx, rec: CallRecord, assets: dict) -> tuple[str, str | None]:
        """The voter pressed the 수신거부 key: the server has put the number on
        the list (on the dtmf event); confirm politely and hang up."""
        ctx.detector.cancel()
        paths = [self.asset_path(sha) for sha in assets.get("refusal") or []]
        if not paths or not all(paths):
            paths = [refusal_tone()]
        for path in paths:
            await self._listen(ctx, rec, asyncio.create_task(self._play(ctx, path)), digits=False)
        return "refused", None

    # ---------------------------------------------------------------- routing

    async def _route(self, ctx: _Ctx, rec: CallRecord) -> bool:
        """Ring agent lines until one answers (True, after the bridged call
        ended) or the server has none left (False)."""
        cfg = self.config
        dtmf_at = rec.pressed_one_at or time.time()
        after_line, outcome = None, None
        for attempt in range(1, cfg.max_agent_attempts + 1):
            request = {"call_id": rec.call_id, "attempt": attempt, "after_line": after_line,
                       "outcome": outcome}
            t0 = time.monotonic()
            ack = await self._await(ctx, asyncio.ensure_future(self.link.ask_agent(request)),
                                    cfg.agent_wait_s)
            rec.agent_ack_s.append(time.monotonic() - t0)
            if rec.dtmf_to_agent_ack_s is None:
                rec.dtmf_to_agent_ack_s = time.time() - dtmf_at
            line = ack.get("line") if isinstance(ack, dict) and ack.get("ok") else None
            if not line:
                if isinstance(ack, dict) and not ack.get("ok"):
                    log.warning("call %s: agent request refused: %s", rec.call_id, ack.get("error"))
                return False
            line_id = int(line["id"])
            rec.lines.append(line_id)
            self._report(rec, "agent_ringing", {"line_id": line_id})
            outcome = await self._ring_agent(ctx, line)
            if outcome == "answered":
                await self.backend.bridge()
                self._report(rec, "bridged", {"line_id": line_id})
                await self._wait_any(ctx, ctx.voter_ended, ctx.agent_ended)
                return True
            self._report(rec, "agent_no_answer", {"line_id": line_id})
            after_line = line_id
        return False

    async def _ring_agent(self, ctx: _Ctx, line: dict) -> str:
        """'answered', or the agent outcome (no_answer, busy, failed) after
        dropping the agent leg. _Hangup / _Abort propagate (leg dropped)."""
        cfg = self.config
        ctx.agent_target = str(line["dial_target"])
        ctx.agent_q = asyncio.Queue()
        ctx.agent_ended = asyncio.Event()
        ctx.agent_cause = None
        try:
            await self.backend.ring_agent(ctx.agent_target)
        except CallFailed as exc:
            log.info("agent %s: %s", ctx.agent_target, exc)
            ctx.agent_target = None
            return "busy" if exc.cause == "busy" else "failed"
        except BaseException:
            ctx.agent_target = None
            raise
        deadline = asyncio.get_running_loop().time() + float(line.get("ring_s", 30)) / cfg.speed
        outcome = "no_answer"
        try:
            while True:
                change = await self._next(ctx.agent_q, ctx, deadline, voter=True)
                if change is None:
                    break
                if change.state == ACTIVE:
                    return "answered"
                if change.state == DISCONNECTED:
                    outcome = _AGENT_OUTCOME.get(change.cause, "failed")
                    break
        except (_Hangup, _Abort):
            await self._drop_agent(ctx)
            raise
        await self._drop_agent(ctx)
        return outcome

    async def _drop_agent(self, ctx: _Ctx) -> None:
        await self.backend.drop_agent()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ctx.agent_ended.wait(), self.config.settle_s)
        ctx.agent_target = None

    # ------------------------------------------------------------ listening

    async def _detect(self, ctx: _Ctx, rec: CallRecord) -> None:
        """Feed the call audio to a DTMF detector; keys go to ctx.digits.
        While an announcement plays (``_play``), the detector is given it as
        a reference and removes its echo first."""
        keys = ctx.keys
        if keys is None:
            keys = ctx.keys = KeyListener()
        try:
            async with contextlib.aclosing(self.backend.frames()) as frames:
                async for chunk in frames:
                    for event in keys.feed(chunk):
                        ctx.digits.put_nowait(event.key)
        except AudioError as exc:
            log.warning("call %s: no call audio: %s", rec.call_id, exc)

    async def _play(self, ctx: _Ctx, path: str | Path) -> bool:
        """``backend.play(path)``, telling the key listener what plays, from
        just before playback starts until it ends or is stopped, so that it
        can remove the announcement's echo from the call audio. A file the
        listener cannot read is still played; keys are then detected
        without a reference."""
        keys = ctx.keys
        if keys is not None:
            try:
                keys.play(cached_8k_mono(path))
            except (AudioFileError, OSError) as exc:
                log.info("no echo reference for %s: %s", path, exc)
                keys = None
        try:
            return await self.backend.play(path)
        finally:
            if keys is not None:
                keys.stop()

    async def _listen(self, ctx: _Ctx, rec: CallRecord, play: asyncio.Task | None,
                      timeout: float | None = None, digits: bool = True) -> str:
        """Wait for the play to finish ('done'), a "1" ('one'), or the
        timeout ('timeout'); other keys are reported and waiting goes on.
        Raises _Hangup / _Abort (after stopping the play)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            while True:
                waits = {asyncio.ensure_future(ctx.voter_ended.wait()),
                         asyncio.ensure_future(ctx.abort.wait())}
                get_digit = asyncio.ensure_future(ctx.digits.get()) if digits else None
                if get_digit is not None:
                    waits.add(get_digit)
                if play is not None:
                    waits.add(play)
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(waits, timeout=remaining,
                                             return_when=asyncio.FIRST_COMPLETED)
                for w in waits:
                    if w is not play and not w.done():
                        w.cancel()
                if get_digit is not None and get_digit in done:
                    key = get_digit.result()
                    rec.digits.append(key)
                    self._report(rec, "dtmf", {"digit": key})
                    if key == "1":
                        rec.pressed_one_at = rec.events[-1]["at"]
                        return "one"
                    if ctx.refuse_key and key == ctx.refuse_key:
                        return "refuse"
                    continue
                if ctx.voter_ended.is_set():
                    raise _Hangup()
                if ctx.abort.is_set():
                    raise _Abort()
                if play is not None and play in done:
                    play.result()  # an AudioError surfaces here
                    return "done"
                if not done:
                    return "timeout"
        finally:
            if play is not None and not play.done():
                with contextlib.suppress(TelephonyError):
                    await self.backend.stop()
                play.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelephonyError):
                    await play

    async def _next(self, queue: asyncio.Queue, ctx: _Ctx, deadline: float,
                    voter: bool = False) -> CallStateChange | None:
        """The next change from ``queue`` before ``deadline`` (None if none).
        With ``voter``, a voter hang-up raises _Hangup. An abort raises _Abort."""
        loop = asyncio.get_running_loop()
        get = asyncio.ensure_future(queue.get())
        waits = {get, asyncio.ensure_future(ctx.abort.wait())}
        if voter:
            waits.add(asyncio.ensure_future(ctx.voter_ended.wait()))
        try:
            done, _ = await asyncio.wait(waits, timeout=max(0.0, deadline - loop.time()),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                if not w.done():
                    w.cancel()
        if get in done:
            return get.result()
        if ctx.abort.is_set():
            raise _Abort()
        if voter and ctx.voter_ended.is_set():
            raise _Hangup()
        return None

    async def _await(self, ctx: _Ctx, future: asyncio.Future, timeout: float):
        """``future``'s result, None after ``timeout``; _Hangup / _Abort if
        the voter hangs up or the call is aborted first. The future itself
        is never cancelled (the link still delivers it)."""
        waits = {future, asyncio.ensure_future(ctx.voter_ended.wait()),
                 asyncio.ensure_future(ctx.abort.wait())}
        try:
            done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                if w is not future and not w.done():
                    w.cancel()
        if future in done:
            return future.result()
        if ctx.voter_ended.is_set():
            raise _Hangup()
        if ctx.abort.is_set():
            raise _Abort()
        log.warning("no answer to an agent request within %.1f s", timeout)
        return None

    async def _wait_any(self, ctx: _Ctx, *events: asyncio.Event) -> None:
        waits = {asyncio.ensure_future(e.wait()) for e in (*events, ctx.abort)}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    # ---------------------------------------------------------------- helpers

    def _path(self, sha: str) -> Path:
        path = self.asset_path(sha)
        if path is None:
            raise AudioError(f"announcement {sha[:12]}… is not on the phone")
        return path

    def _report(self, rec: CallRecord, event: str, data: dict | None = None) -> None:
        data = data or {}
        at = time.time()
        try:
            advance(rec.progress, event, data, at)
        except TransitionError:
            log.error("call %s: refusing to report %s in state %s", rec.call_id, event,
                      rec.progress.state)
            raise
        payload = {"call_id": rec.call_id, "seq": rec.seq + 1, "event": event, "at": at, "data": data}
        rec.events.append(payload)
        sent = self.link.report(payload)
        if asyncio.isfuture(sent) or asyncio.iscoroutine(sent):
            # Delivery is the link's job; keep a reference so it is not collected.
            asyncio.ensure_future(sent).add_done_callback(
                lambda done, ctx=self._ctx: self._event_refused(ctx, rec, done))

    def _event_refused(self, ctx: _Ctx | None, rec: CallRecord, done: asyncio.Future) -> None:
        """The server refused an event of the call in progress for good (it
        closed the call, or the phone was revoked): the call is no longer
        recorded, so it must not go on — hang up rather than, say, promise a
        callback nobody will see."""
        if ctx is None or ctx is not self._ctx or done.cancelled() or done.exception() is not None:
            return
        ack = done.result()
        if isinstance(ack, dict) and ack.get("ok") is False:
            code = (ack.get("error") or {}).get("code")
            if code in (protocol.UNKNOWN_CALL, protocol.BAD_TRANSITION, protocol.REVOKED):
                log.warning("call %s: the server refused its events (%s); hanging up", rec.call_id, code)
                self.abort(f"server_refused: {code}")

    # -------------------------------------------------------------- incoming

    async def answer_incoming(self, number: str, campaign: dict | None) -> str:
        """A voter called this phone back: answer, play the callback
        announcement(s), hang up. The protocol has no events for incoming
        calls yet, so nothing is reported. Returns how it ended."""
        ctx = self._ctx = _Ctx(number)
        rec = CallRecord("incoming", number)
        how, answered = "played", False
        callback = ((campaign or {}).get("assets") or {}).get("callback") or []
        try:
            if not callback or not all(self.asset_path(sha) for sha in callback):
                return "declined: no callback announcement"
            await self.backend.answer()
            answered = True
            for sha in callback:
                await self._listen(ctx, rec, asyncio.create_task(self._play(ctx, self._path(sha))),
                                   digits=False)
        except _Hangup:
            how = "hung_up"
        except (_Abort, TelephonyError) as exc:
            how = f"failed: {exc}"
        finally:
            with contextlib.suppress(TelephonyError):
                await self.backend.hang_up()
            if answered:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ctx.voter_ended.wait(), self.config.settle_s)
            self._ctx = None
        return how


_REFUSAL_TONE: Path | None = None


def refusal_tone() -> Path:
    """The built-in confirmation after a keypad refusal, when the campaign has
    no 수신거부 안내멘트: three short 1 kHz beeps (PCM 8 kHz 16-bit mono WAV),
    written once per process to the temporary folder."""
    global _REFUSAL_TONE
    if _REFUSAL_TONE is None or not _REFUSAL_TONE.exists():
        import tempfile
        import wave

        import numpy as np

        from .audio.tones import silence, sine
        beep, gap = sine(1000.0, 0.25, level_dbfs=-12.0), silence(0.2)
        samples = np.concatenate([beep, gap, beep, gap, beep]).astype("<i2")
        path = Path(tempfile.gettempdir()) / "mobile-ars-refusal-tone.wav"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(samples.tobytes())
        os.replace(tmp, path)
        _REFUSAL_TONE = path
    return _REFUSAL_TONE


def _same_number(a: str | None, b: str | None) -> bool:
    """Whether a backend's rendering of a number (``010-1234-5678``,
    ``+821012345678``) is the number dialled; unknown numbers match."""
    if not a or not b:
        return True
    da, db = "".join(c for c in a if c.isdigit()), "".join(c for c in b if c.isdigit())
    return da[-8:] == db[-8:] if da and db else a == b


# The protocol module is the single source of event names; keep the script honest.
assert set(protocol.CALL_EVENTS) >= {"dialing", "ringing", "answered", "intro_started",
                                     "intro_finished", "dtmf", "agent_ringing", "agent_no_answer",
                                     "bridged", "promise_started", "ended"}
