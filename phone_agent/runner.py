"""One phone at work: link + call script + backend + heartbeat.

The runner dials leased calls one after another and never waits on the
server between two of them: it holds a small prefetch of leased calls
(``prefetch``, default 2) and asks for more (``lease``) in the background as
soon as the queue is down to ``refill_at``, so the next dial follows the
hang-up at once. When the server has nothing (``batch: null``) it waits
``retry_s`` (or until the campaign changes). When the campaign is paused or
stopped — or another campaign starts — it stops dialling after the call in
progress and ``release``\\ s the calls it has not dialled; a leased call too
close to its lease's expiry is released rather than dialled. It sends
``heartbeat`` every ``heartbeat_s`` (from the hello ack), answers incoming
calls between outgoing ones, and carries out the server's commands.

The phone itself may be down (adb offline, unauthorized, unplugged, or
lacking the audio helper): the runner asks ``backend.ready()`` before its
first call and whenever the backend reports itself unavailable or a call
ends with ``DeviceUnavailable``. While down it dials nothing, releases the
calls it holds, says so in every heartbeat (``device: unavailable`` and the
``problem``) and checks again with backoff (1 s doubling to 30 s).

It measures what the benchmarks need (:class:`PhoneMetrics`): idle gaps —
hang-up to next dial, for back-to-back calls (a gap during which the server
said it had nothing, or the campaign was not running, is not counted) — and,
per press of 1, the time from the ``dtmf`` event to the ``agent`` ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Protocol

from .backoff import Backoff
from .script import CallRecord, CallScript, ScriptConfig
from .telephony.base import Telephony, TelephonyError

log = logging.getLogger(__name__)

__all__ = ["PhoneLink", "PhoneMetrics", "Runner"]

EXPIRY_MARGIN_S = 3.0  # a leased call with less time than this left on its lease is released
DEVICE_RETRY_S = (1.0, 30.0)  # backoff while the phone is down: first wait, longest wait


class PhoneLink(Protocol):
    """What a runner needs of the server link (``phone_agent.link.Link``)."""

    campaign: dict | None
    heartbeat_s: float
    listener: object

    def report(self, event: dict) -> Awaitable[dict]: ...

    def claim(self, event: dict, timeout: float) -> Awaitable[dict]: ...

    def ask_agent(self, request: dict) -> Awaitable[dict]: ...

    async def lease(self, want: int) -> dict: ...

    def release(self, call_ids: list[str]) -> Awaitable[dict]: ...

    async def heartbeat(self, health: dict) -> dict | None: ...

    def asset_path(self, sha: str) -> Path | None: ...

    def assets_ready(self, campaign: dict | None = None) -> bool: ...

    async def fetch_assets(self, hashes: list[str]) -> list[str]: ...


@dataclass
class PhoneMetrics:
    """Per-phone counters and samples (seconds)."""

    name: str = "phone"
    calls: int = 0
    results: Counter = field(default_factory=Counter)
    idle_gaps: list[float] = field(default_factory=list)  # hang-up → next dial
    dtmf_to_agent_ack: list[float] = field(default_factory=list)  # per press of 1 routed
    agent_ack: list[float] = field(default_factory=list)  # per agent request
    leases: int = 0
    leased_calls: int = 0
    lease_empty: Counter = field(default_factory=Counter)  # reason -> times
    lease_errors: int = 0
    released: int = 0
    expired: int = 0  # leased calls released because their lease was about to expire
    not_dialled: Counter = field(default_factory=Counter)  # claims refused or unanswered, by code
    starved: int = 0  # idle gaps of 0.5 s or more (the queue ran dry)

    def as_dict(self) -> dict:
        return {"name": self.name, "calls": self.calls, "results": dict(self.results),
                "idle_gaps": list(self.idle_gaps), "dtmf_to_agent_ack": list(self.dtmf_to_agent_ack),
                "agent_ack": list(self.agent_ack), "leases": self.leases,
                "leased_calls": self.leased_calls, "lease_empty": dict(self.lease_empty),
                "lease_errors": self.lease_errors, "released": self.released,
                "expired": self.expired, "starved": self.starved, "not_dialled": dict(self.not_dialled)}


@dataclass
class _Leased:
    call: dict  # {"call_id", "number", "attempt"}
    campaign_id: int
    expires_at: float


class Runner:
    """Runs one phone until :meth:`stop`. The runner is the link's listener."""

    def __init__(self, link: PhoneLink, backend: Telephony, *, config: ScriptConfig | None = None,
                 prefetch: int = 2, refill_at: int = 1, name: str = "phone",
                 metrics: PhoneMetrics | None = None, lease_timeout: float = 10.0,
                 fallback_health: Callable[[], Awaitable[dict]] | None = None):
        self.link = link
        self.backend = backend
        self.fallback_health = fallback_health  # e.g. Termux:API when adb cannot read the phone
        self.script = CallScript(backend, link, link.asset_path, config,
                                 on_incoming=lambda number: self._changed.set())
        self.prefetch = max(1, prefetch)
        self.refill_at = max(0, min(refill_at, self.prefetch - 1))
        self.name = name
        self.metrics = metrics or PhoneMetrics(name)
        self.lease_timeout = lease_timeout
        self.queue: deque[_Leased] = deque()
        self.current: str | None = None
        self.records: deque[CallRecord] = deque(maxlen=50)  # the latest calls, for inspection
        link.listener = self
        self._changed = asyncio.Event()
        self._stopping = False
        self._lease_task: asyncio.Task | None = None
        self._retry_at = 0.0  # loop time before which no lease is asked
        self._gap_from: float | None = None  # monotonic time of the last hang-up
        self._gap_void = True  # the gap since then does not count (nothing to call)
        self._tasks: list[asyncio.Task] = []
        self._device_down = True  # until backend.ready() says otherwise
        self.problem: str | None = "not checked yet"  # why the phone cannot call, while down
        self._device_wait = 0.0  # how long to wait before the next readiness check
        self._device_backoff = Backoff(*DEVICE_RETRY_S)
        self._beat_now = asyncio.Event()  # the device went down or came back: tell the server now
        self._probing = False  # the audio probe runs: dial nothing

    # -------------------------------------------------------- link listener

    def campaign_changed(self, campaign: dict | None) -> None:
        running_id = campaign.get("id") if campaign and campaign.get("state") == "running" else None
        stale = [c for c in self.queue if c.campaign_id != running_id]
        if stale:
            self._release(stale, "campaign %s" % (campaign or {}).get("state", "gone"))
        self._retry_at = 0.0
        self._changed.set()

    async def command(self, command: dict) -> dict:
        kind, args = command.get("type"), command.get("args") or {}
        if kind == "hang_up":
            wanted = args.get("call_id")
            if wanted and wanted != self.current:
                return {"ok": False, "error": f"call {wanted} is not in progress"}
            return {"ok": True} if self.script.abort("hang_up_command") else {
                "ok": False, "error": "no call in progress"}
        if kind == "release_all":
            self._release(list(self.queue), "release_all command")
            self._retry_at = asyncio.get_running_loop().time() + float(args.get("pause_s", 0))
            return {"ok": True}
        if kind == "apply_images":
            return await self._apply_images(args)
        if kind == "probe_audio":
            return await self._probe_audio()
        return {"ok": False, "error": f"unknown command {kind!r}"}

    async def _probe_audio(self) -> dict:
        """The manager asked (폰 등록) to find this phone's audio path again:
        between calls only; the result goes out in a heartbeat at once."""
        if self.current:
            return {"ok": False, "error": "a call is in progress: probe again after it"}
        if self._probing:
            return {"ok": False, "error": "a probe is running already"}
        self._probing = True  # no call starts meanwhile (_may_dial)
        try:
            audio = await self.backend.probe_audio()
        except TelephonyError as exc:
            return {"ok": False, "error": str(exc)[:200]}
        finally:
            self._probing = False
            self._changed.set()
        if audio is None:
            return {"ok": False, "error": "this phone's audio is simulated: nothing to probe"}
        self._beat_now.set()
        return {"ok": True}

    async def _apply_images(self, args: dict) -> dict:
        images = {}
        for kind in ("outgoing", "callback"):
            sha = args.get(kind)
            if sha:
                path = self.link.asset_path(sha)
                if path is None:
                    return {"ok": False, "error": f"{kind} image {sha[:12]}… is not on this phone yet"}
                images[kind] = path
        try:
            await self.backend.apply_images(images)
        except TelephonyError as exc:
            return {"ok": False, "error": str(exc)[:200]}
        return {"ok": True}

    def held_calls(self) -> list[str]:
        calls = [c.call["call_id"] for c in self.queue]
        if self.current:
            calls.append(self.current)
        return calls

    # ----------------------------------------------------------------- run

    async def run(self) -> None:
        """Dial until stopped."""
        await self.script.start()
        self._tasks = [asyncio.create_task(self._heartbeats())]
        try:
            while not self._stopping:
                await self._step()
        finally:
            for task in [*self._tasks, self._lease_task]:
                if task is not None:
                    task.cancel()
            if self.queue:
                self._release(list(self.queue), "phone stopping")
            await self.script.close()

    def device_changed(self) -> None:
        """Someone saw the phone come back (the router-mode supervisor, from
        adb's device list): check it now rather than at the end of the backoff."""
        if self._device_down:
            self._device_wait = 0.0
            self._device_backoff.reset()
            self._changed.set()

    def stop(self) -> None:
        """Stop after the call in progress (cancel the run task to cut it short)."""
        self._stopping = True
        self._changed.set()

    async def _step(self) -> None:
        loop = asyncio.get_running_loop()
        campaign = self.link.campaign
        if not self.script.incoming.empty():
            await self._answer_incoming(campaign)
            return
        if not self._device_down and self.backend.available is False:
            self._went_down(self.backend.unavailable_reason or "unavailable")
        if self._device_down:
            await self._wait_for_device()
            return
        if not self._may_dial(campaign):
            self._gap_void = True
            await self._wait_change(1.0)
            return
        self._refill(campaign)
        if not self.queue:
            await self._wait_change(max(0.05, self._retry_at - loop.time()))
            return
        leased = self.queue.popleft()
        if leased.campaign_id != campaign["id"]:
            self._release([leased], "other campaign")
            return
        if leased.expires_at - time.time() < EXPIRY_MARGIN_S:
            self.metrics.expired += 1
            self._release([leased], "lease about to expire")
            return
        self._refill(campaign)
        self.current = leased.call["call_id"]
        try:
            record = await self.script.run(leased.call, campaign)
        finally:
            self.current = None
        if record.not_dialled is not None:
            self._not_dialled(record)
            return
        self._account(record)

    def _may_dial(self, campaign: dict | None) -> bool:
        return bool(campaign and campaign.get("state") == "running" and not self._probing
                    and self.link.assets_ready(campaign))

    async def _wait_change(self, timeout: float) -> None:
        self._changed.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def _not_dialled(self, record: CallRecord) -> None:
        """The server did not confirm the dial: nothing was dialled; give the
        call back (the server may have done so already: harmless) and, unless
        the number alone was refused, pause a moment before the next claim."""
        code = (record.not_dialled or "").partition(":")[0]
        self.metrics.not_dialled[code] += 1
        log.info("%s: call %s not dialled: %s", self.name, record.call_id, record.not_dialled)
        self.metrics.released += 1
        released = self.link.release([record.call_id])
        if asyncio.isfuture(released) or asyncio.iscoroutine(released):
            asyncio.ensure_future(released)
        self._gap_void = True
        if code != "do_not_call":
            self._retry_at = asyncio.get_running_loop().time() + 2.0
            self._release(list(self.queue), f"claim not confirmed ({code})")

    def _account(self, record: CallRecord) -> None:
        m = self.metrics
        m.calls += 1
        m.results[record.result] += 1
        if self._gap_from is not None and not self._gap_void and record.dial_started is not None:
            gap = record.dial_started - self._gap_from
            m.idle_gaps.append(gap)
            m.starved += gap >= 0.5
        m.agent_ack.extend(record.agent_ack_s)
        if record.dtmf_to_agent_ack_s is not None:
            m.dtmf_to_agent_ack.append(record.dtmf_to_agent_ack_s)
        self.records.append(record)
        if record.device_lost is not None:
            # The phone itself is gone: do not burn the leased calls on it.
            self._went_down(record.device_lost)
        log.info("%s: call %s: %s%s", self.name, record.call_id, record.result,
                 f" ({record.reason})" if record.reason else "")
        self._gap_from = record.finished
        # Backing off because the server had nothing to call: the wait is not idleness.
        self._gap_void = (not self.queue and self._lease_task is None
                          and asyncio.get_running_loop().time() < self._retry_at)

    def _went_down(self, problem: str) -> None:
        if not self._device_down:
            log.warning("%s: phone unavailable: %s", self.name, problem)
        self._device_down = True
        self.problem = problem
        self._device_wait = 0.0
        self._device_backoff.reset()
        self._beat_now.set()
        self._release(list(self.queue), "device unavailable")

    async def _wait_for_device(self) -> None:
        """One readiness check; on failure wait (backoff) before the next."""
        self._gap_void = True
        if self._device_wait:
            await self._wait_change(self._device_wait)
            if self._stopping or not self._device_down:
                return
        try:
            await self.backend.ready()
        except TelephonyError as exc:
            self._device_wait = self._device_backoff.next()
            problem = str(exc)
            if problem != self.problem:
                log.warning("%s: phone not ready: %s (checking again with backoff up to %.0f s)",
                            self.name, problem, self._device_backoff.longest)
            self.problem = problem
            return
        came_back = self.problem != "not checked yet"
        self._device_down = False
        self.problem = None
        self._device_wait = 0.0
        self._device_backoff.reset()
        if came_back:
            log.warning("%s: phone ready again", self.name)
            # The server refuses leases while it thinks the phone is down:
            # tell it before asking for one.
            await self.link.heartbeat(await self.health())

    async def _answer_incoming(self, campaign: dict | None) -> None:
        number = self.script.incoming.get_nowait()
        how = await self.script.answer_incoming(number, campaign)
        log.info("%s: incoming call: %s", self.name, how)
        self._gap_void = True

    # --------------------------------------------------------------- leases

    def _refill(self, campaign: dict) -> None:
        loop = asyncio.get_running_loop()
        if (self._lease_task is None and len(self.queue) <= self.refill_at
                and loop.time() >= self._retry_at and not self._stopping):
            want = self.prefetch - len(self.queue)
            self._lease_task = asyncio.create_task(self._lease(want, campaign["id"]))

    async def _lease(self, want: int, campaign_id: int) -> None:
        loop = asyncio.get_running_loop()
        m = self.metrics
        m.leases += 1
        try:
            ack = await self.link.lease(want)
        except (ConnectionError, asyncio.TimeoutError) as exc:
            m.lease_errors += 1
            log.info("%s: lease failed (%s)", self.name, type(exc).__name__)
            self._retry_at = loop.time() + 1.0
            return
        finally:
            self._lease_task = None
            self._changed.set()
        if not isinstance(ack, dict) or not ack.get("ok"):
            m.lease_errors += 1
            log.warning("%s: lease refused: %s", self.name, ack)
            self._retry_at = loop.time() + 2.0
            return
        batch = ack.get("batch")
        if not batch:
            reason = ack.get("reason") or "unknown"
            m.lease_empty[reason] += 1
            if not self.queue and self.current is None:
                self._gap_void = True
            self._retry_at = loop.time() + float(ack.get("retry_s") or 5.0)
            if reason == "assets_missing":
                campaign = self.link.campaign
                from .link import campaign_assets  # local: runners may use other links
                asyncio.ensure_future(self.link.fetch_assets(campaign_assets(campaign)))
            return
        calls = [_Leased(call, batch.get("campaign_id", campaign_id), float(batch["expires_at"]))
                 for call in batch.get("calls") or []]
        m.leased_calls += len(calls)
        campaign = self.link.campaign
        if self._stopping or not campaign or campaign.get("state") != "running":
            self._release(calls, "campaign no longer running")
            return
        if self._device_down:
            self._release(calls, "device unavailable")
            return
        if not calls:
            self._retry_at = loop.time() + 1.0
        self.queue.extend(calls)

    def _release(self, calls: list[_Leased], why: str) -> None:
        if not calls:
            return
        ids = {c.call["call_id"] for c in calls}
        self.queue = deque(c for c in self.queue if c.call["call_id"] not in ids)
        self.metrics.released += len(ids)
        log.info("%s: releasing %d call(s): %s", self.name, len(ids), why)
        released = self.link.release(sorted(ids))
        if asyncio.isfuture(released) or asyncio.iscoroutine(released):
            asyncio.ensure_future(released)

    # ------------------------------------------------------------- heartbeat

    async def health(self) -> dict:
        """The heartbeat: the backend's health, and whether the phone can call."""
        failure = None
        try:
            health = await self.backend.health()
        except TelephonyError as exc:
            failure = str(exc)
            health = {"call_state": "idle"}
            if self.fallback_health is not None:
                health.update(await self.fallback_health())
        # Read after the awaits: the phone may have come back meanwhile.
        if self._device_down:
            problem = self.problem or "unavailable"
        elif failure is not None:
            log.warning("%s: health: %s", self.name, failure)
            problem = failure
        else:
            return dict(health, device="ready")
        return dict(health, device="unavailable", problem=problem[:120])

    async def _heartbeats(self) -> None:
        # A random phase and +-10 % jitter: phones that started together must
        # not beat together (500 heartbeats in one instant are a burst the
        # server and a simulated fleet's event loop both feel).
        jitter = random.Random(self.name)
        with contextlib.suppress(asyncio.TimeoutError):  # news (a probe, the device) beats at once
            await asyncio.wait_for(self._beat_now.wait(), jitter.uniform(0.0, float(self.link.heartbeat_s or 5.0)))
        while True:
            self._beat_now.clear()
            await self.link.heartbeat(await self.health())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._beat_now.wait(), max(
                    0.5, float(self.link.heartbeat_s or 5.0) * jitter.uniform(0.9, 1.1)))
