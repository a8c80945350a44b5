"""N simulated phones in one asyncio loop: ``ars sim``, demos, benchmarks.

Each phone is a :class:`~phone_agent.runner.Runner` with its own
:class:`~phone_agent.link.Link` (its own Socket.IO connection and token) and
a telephony backend:

* ``backend="sim"`` (default): :class:`~phone_agent.simulator.sim.SimTelephony`,
  seeded from ``seed`` and its index;
* ``backend="adb"``: the real :class:`~phone_agent.telephony.adb.AdbTelephony`
  driving a virtual handset (:class:`~phone_agent.simulator.virtual.rack.VirtualRack`)
  through a real adb server — a private one on a free loopback port
  (started and stopped with the fleet), or the one at ``adb_port``. The
  phones join as router-mode phones, as a rack on the router would.

All phones share one voter population (``voter_seed = seed``: a number
behaves the same whichever phone dials it), one agent desk (handsets 1001,
1002 … busy for everyone while in a call) and one asset cache.

Tokens: each phone enrols once through ``POST /api/phones/join`` with the
enrolment key; tokens are kept in a JSON state file per server URL, so the
next run is the same phones. A token the server refuses is replaced by
enrolling again.

From Python, in the running loop::

    fleet = Fleet("http://127.0.0.1:8000", 10, enrol_key=key, seed=1, speed=20)
    await fleet.start()          # enrolled, connected, dialling
    ...
    print(fleet.metrics())
    await fleet.stop()

or from a test or a benchmark in another thread::

    with Fleet.in_thread("http://127.0.0.1:8000", 500, enrol_key=key, speed=10) as fleet:
        time.sleep(60)
        report = fleet.metrics()

Dial log (sim backend, for the chaos benchmark): with ``dial_log=PATH``
every real dial appends one JSON line to PATH at once (one ``os.write`` on an
``O_APPEND`` descriptor, so the line survives a SIGKILL of the fleet)::

    {"t": 1760000000.123, "phone": "sim-003", "call_id": "…", "number": "010…", "attempt": 1}

``t`` is ``time.time()`` at the dial; ``call_id`` is the runner's current
call, ``attempt`` as the lease gave it (null if unknown).

``metrics()`` gives counts and percentiles (``idle_gap_s``: hang-up → next
dial; ``dtmf_to_agent_ack_s``: "1" reported → agent ack received), with
``raw=True`` every sample and every phone.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from ..enrol import EnrolmentError, TokenStore, enrol, ready_or_rejoin
from ..link import AssetStore, Link, ServerTrust
from ..runner import PhoneMetrics, Runner
from ..script import ScriptConfig
from ..telephony.base import Telephony
from .sim import SimAgentDesk, SimTelephony
from .voter import AgentModel, VoterModel

log = logging.getLogger(__name__)

__all__ = ["Fleet", "FleetThread", "summary"]


def summary(values: list[float]) -> dict:
    """count, mean, p50, p90, p99, max of samples (percentiles interpolated
    between the samples, ``statistics.quantiles`` method "inclusive")."""
    if not values:
        return {"count": 0}
    # quantiles() wants two points (before Python 3.13): one sample is every percentile.
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"count": len(values), "mean": statistics.fmean(values), "p50": cuts[49],
            "p90": cuts[89], "p99": cuts[98], "max": max(values)}


@dataclass
class FleetPhone:
    index: int
    name: str
    token: str | None = None
    phone_id: int | None = None
    backend: Telephony | None = None
    device: dict = field(default_factory=dict)
    link: Link | None = None
    runner: Runner | None = None
    task: asyncio.Task | None = None
    metrics: PhoneMetrics = field(default_factory=PhoneMetrics)
    attempts: dict = field(default_factory=dict)  # call_id → attempt, from leases (dial log only)


class Fleet:
    """Simulated phones; see the module docstring.

    ``speed`` divides every simulated duration (voters, agents, the
    script's waits). ``voters`` / ``agents`` tune the people (``agents``
    maps a dial target to its model; others get ``AgentModel()``).
    ``agent_model`` is the model of every agent handset not in ``agents``
    (sim backend). ``dial_log``: see the module docstring (sim backend).
    ``state_file`` caches tokens (``None``: enrol every run). ``backend``:
    ``"sim"`` or ``"adb"`` (virtual handsets behind a real adb server;
    ``adb_port``: use that adb server instead of a private one; ``adb_poll_s``:
    how often the backend reads the call state during a call). ``trust``:
    the server's pinned TLS certificate (:class:`~phone_agent.link.ServerTrust`),
    for every phone's requests and link.
    """

    def __init__(self, server: str, phones: int, *, enrol_key: str | None = None, seed: int = 0,
                 speed: float = 1.0, state_file: str | Path | None = None,
                 cache_dir: str | Path | None = None, voters: VoterModel | None = None,
                 agents: dict[str, AgentModel] | None = None, prefetch: int = 2,
                 transports: list[str] | None = ("websocket",), name_prefix: str = "sim",
                 script_config: ScriptConfig | None = None, connect_concurrency: int = 25,
                 join_mode: str | None = None, start_spread_s: float = 1.0,
                 backend: str = "sim", adb_port: int | None = None, adb_poll_s: float | None = None,
                 agent_model: AgentModel | None = None, dial_log: str | Path | None = None,
                 trust: ServerTrust | None = None):
        if backend not in ("sim", "adb"):
            raise ValueError(f"unknown fleet backend {backend!r} (sim or adb)")
        if backend != "sim" and (dial_log is not None or agent_model is not None):
            raise ValueError("dial_log and agent_model are for the sim backend")
        self.server = server.rstrip("/")
        self.trust = trust or ServerTrust(self.server)
        self.count = phones
        self.enrol_key = enrol_key
        self.seed = seed
        self.speed = speed
        self.state_file = Path(state_file) if state_file else None
        self.cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "mobile-ars-sim-assets"
        self.voters = voters or VoterModel()
        self.agents = agents or {}
        self.agent_model = agent_model
        self.dial_log = Path(dial_log) if dial_log else None
        self._dial_fd: int | None = None
        self.prefetch = prefetch
        self.transports = list(transports) if transports else None
        self.name_prefix = name_prefix
        self.script_config = script_config or ScriptConfig(speed=speed)
        self.connect_concurrency = connect_concurrency
        self.backend = backend
        self.link_mode = "router" if backend == "adb" else "sim"
        self.join_mode = join_mode or ("router" if backend == "adb" else "sim")
        self.adb_port = adb_port
        self.adb_poll_s = adb_poll_s if adb_poll_s is not None else max(0.02, 0.25 / speed)
        self.rack = None  # VirtualRack (backend "adb")
        self._adb_server = None  # the private AdbServer, when the fleet started one
        self._adb_client = None
        self._rack_live = False
        self.start_spread_s = start_spread_s  # phones start dialling spread over this (no stampede)
        self.phones: list[FleetPhone] = []
        self.desk: SimAgentDesk | None = None
        self.assets: AssetStore | None = None
        self.started_at: float | None = None
        self._gate: asyncio.Semaphore | None = None
        self._session: aiohttp.ClientSession | None = None

    # ----------------------------------------------------------- lifecycle

    async def start(self, ready_timeout: float = 60.0) -> None:
        """Enrol (or reuse tokens), connect every phone, start dialling.
        Returns once every phone is connected; raises if one cannot be."""
        self._gate = asyncio.Semaphore(self.connect_concurrency)
        self._session = self.trust.session(limit=32)
        self.assets = AssetStore(self.cache_dir)
        self.phones = [FleetPhone(i, f"{self.name_prefix}-{i:03d}") for i in range(self.count)]
        try:
            await self._backends()
            await self._tokens()
        except BaseException:
            await self.stop()
            raise
        for phone in self.phones:
            self._build(phone)
        await asyncio.gather(*(p.link.start() for p in self.phones))
        try:
            await asyncio.gather(*(self._ready(p, ready_timeout) for p in self.phones))
        except BaseException:
            await self.stop()
            raise
        spread = random.Random(f"spread:{self.seed}")
        for phone in self.phones:
            delay = spread.uniform(0.0, self.start_spread_s) if self.start_spread_s > 0 else 0.0
            phone.task = asyncio.create_task(self._run_phone(phone, delay), name=phone.name)
        self.started_at = time.monotonic()
        log.info("fleet: %d phones connected to %s", len(self.phones), self.server)

    async def _backends(self) -> None:
        """One telephony backend per phone, and what the phones share."""
        if self.backend == "sim":
            self.desk = SimAgentDesk(self.seed, default=self.agent_model, agents=self.agents)
            if self.dial_log is not None and self._dial_fd is None:
                self._dial_fd = os.open(self.dial_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            for phone in self.phones:
                phone.backend = SimTelephony(self.seed * 100_003 + phone.index, speed=self.speed,
                                             voters=self.voters, desk=self.desk, voter_seed=self.seed)
                phone.device = {"model": "Mobile ARS sim phone", "android": "14",
                                "serial": phone.name, "number": phone.backend.number}
                if self._dial_fd is not None:
                    phone.backend.dial_log = functools.partial(self._log_dial, phone)
            return
        import adbutils

        from ..telephony.adb import AdbTelephony
        from .virtual.adb_server import LOOPBACK, AdbServer
        from .virtual.rack import VirtualRack
        if self.adb_port is None:
            self._adb_server = await asyncio.to_thread(AdbServer().start)
            self._adb_client = self._adb_server.client()
        else:
            self._adb_client = adbutils.AdbClient(host=LOOPBACK, port=self.adb_port)
        self.rack = VirtualRack(self.count, seed=self.seed, speed=self.speed, voters=self.voters,
                                agents=self.agents)
        self.desk = self.rack.desk
        await self.rack.start()
        self._rack_live = True
        await asyncio.to_thread(self.rack.connect, self._adb_client)
        for phone, serial in zip(self.phones, self.rack.serials):
            phone.backend = AdbTelephony(serial, client=self._adb_client, poll_s=self.adb_poll_s,
                                         idle_poll_s=max(self.adb_poll_s, 1.0 / self.speed))

        async def device(phone: FleetPhone) -> None:
            await phone.backend.open()
            phone.device = await phone.backend.device()

        await asyncio.gather(*(device(p) for p in self.phones))

    def _build(self, phone: FleetPhone) -> None:
        phone.link = Link(self.server, phone.token, assets=self.assets, mode=self.link_mode,
                          backend=phone.backend.name, device=phone.device,
                          transports=self.transports, connect_gate=self._gate, name=phone.name,
                          trust=self.trust)
        phone.metrics = PhoneMetrics(phone.name)
        phone.runner = Runner(phone.link, phone.backend, config=self.script_config,
                              prefetch=self.prefetch, name=phone.name, metrics=phone.metrics)
        if self._dial_fd is not None:
            self._remember_attempts(phone)

    async def _ready(self, phone: FleetPhone, timeout: float) -> None:
        async def rejoin() -> Link:
            await self._enrol(phone)
            self._save_state()
            self._build(phone)
            await phone.link.start()
            return phone.link

        await ready_or_rejoin(phone.link, rejoin if self.enrol_key else None, timeout)

    # ------------------------------------------------------------ dial log

    def _log_dial(self, phone: FleetPhone, number: str) -> None:
        """SimTelephony.dial_log: one JSON line per real dial, written at once."""
        call_id = phone.runner.current if phone.runner is not None else None
        line = {"t": time.time(), "phone": phone.name, "call_id": call_id, "number": number,
                "attempt": phone.attempts.pop(call_id, None)}
        os.write(self._dial_fd, (json.dumps(line) + "\n").encode())

    @staticmethod
    def _remember_attempts(phone: FleetPhone) -> None:
        """Note each leased call's attempt (the runner keeps only the call id)."""
        lease = phone.link.lease

        async def lease_and_remember(*args, **kwargs):
            ack = await lease(*args, **kwargs)
            batch = ack.get("batch") if isinstance(ack, dict) else None
            for call in (batch or {}).get("calls") or []:
                phone.attempts[call.get("call_id")] = call.get("attempt")
            return ack

        phone.link.lease = lease_and_remember

    @staticmethod
    async def _run_phone(phone: FleetPhone, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await phone.runner.run()

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop dialling; with ``grace_s``, let calls in progress finish
        that long first; release undialled calls; disconnect."""
        for phone in self.phones:
            if phone.runner is not None:
                phone.runner.stop()
        tasks = [p.task for p in self.phones if p.task is not None and not p.task.done()]
        if tasks and grace_s > 0:
            await asyncio.wait(tasks, timeout=grace_s)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(p.link.close(flush_s=2.0) for p in self.phones if p.link is not None),
                             return_exceptions=True)
        await asyncio.gather(*(p.backend.close() for p in self.phones if p.backend is not None),
                             return_exceptions=True)
        await self._stop_adb()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._dial_fd is not None:
            os.close(self._dial_fd)
            self._dial_fd = None

    async def run(self, duration: float | None = None) -> dict:
        """Start, run for ``duration`` seconds (forever if None), stop; the metrics."""
        await self.start()
        try:
            if duration is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(duration)
        finally:
            await self.stop()
        return self.metrics()

    @property
    def adb_server_port(self) -> int | None:
        """The adb server the adb fleet's phones go through (None: sim fleet)."""
        if self._adb_server is not None:
            return self._adb_server.port
        return self.adb_port if self.backend == "adb" else None

    async def _stop_adb(self) -> None:
        rack, self._rack_live = self.rack if self._rack_live else None, False
        if rack is not None:
            await asyncio.to_thread(rack.disconnect, self._adb_client)
            await rack.stop()
        server, self._adb_server = self._adb_server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

    # --------------------------------------------------------------- tokens

    async def _tokens(self) -> None:
        known = TokenStore(self.state_file, self.server).all()
        todo = []
        for phone in self.phones:
            entry = known.get(phone.name)
            if entry and entry.get("token"):
                phone.token, phone.phone_id = entry["token"], entry.get("phone_id")
            else:
                todo.append(phone)
        if todo and not self.enrol_key:
            raise EnrolmentError(f"{len(todo)} phone(s) have no token and no enrolment key was given")
        gate = asyncio.Semaphore(16)

        async def one(phone):
            async with gate:
                await self._enrol(phone)

        await asyncio.gather(*(one(p) for p in todo))
        if todo:
            self._save_state()

    async def _enrol(self, phone: FleetPhone) -> None:
        device = phone.device
        try:
            answer = await enrol(self.server, phone.name, enrol_key=self.enrol_key,
                                 mode=self.join_mode, device=device, session=self._session,
                                 trust=self.trust)
        except EnrolmentError as exc:
            if self.join_mode == "sim" and exc.status == 400:
                # docs/protocol.md lists only router|internet for joining; a
                # sim phone connects out like an internet-mode phone.
                log.warning("%s: join with mode 'sim' refused; joining as 'internet'", phone.name)
                self.join_mode = "internet"
                answer = await enrol(self.server, phone.name, enrol_key=self.enrol_key,
                                     mode="internet", device=device, session=self._session,
                                     trust=self.trust)
            else:
                raise
        phone.token, phone.phone_id = answer["token"], answer.get("phone_id")

    def _save_state(self) -> None:
        TokenStore(self.state_file, self.server).update(
            {p.name: {"token": p.token, "phone_id": p.phone_id} for p in self.phones if p.token})

    # -------------------------------------------------------------- metrics

    def metrics(self, raw: bool = False) -> dict:
        """The fleet's numbers so far (safe to call from the fleet's loop;
        from another thread use FleetThread.metrics)."""
        per_phone = [p.metrics for p in self.phones]
        results: Counter = Counter()
        lease_empty: Counter = Counter()
        gaps, press, agent = [], [], []
        for m in per_phone:
            results.update(m.results)
            lease_empty.update(m.lease_empty)
            gaps.extend(m.idle_gaps)
            press.extend(m.dtmf_to_agent_ack)
            agent.extend(m.agent_ack)
        out = {
            "phones": len(self.phones),
            "ready": sum(1 for p in self.phones if p.link is not None and p.link.ready),
            "seconds": None if self.started_at is None else time.monotonic() - self.started_at,
            "speed": self.speed,
            "calls": sum(m.calls for m in per_phone),
            "in_call": sum(1 for p in self.phones if p.runner is not None and p.runner.current),
            "results": dict(results),
            "idle_gap_s": summary(gaps),
            "dtmf_to_agent_ack_s": summary(press),
            "agent_ack_s": summary(agent),
            "leases": sum(m.leases for m in per_phone),
            "lease_empty": dict(lease_empty),
            "lease_errors": sum(m.lease_errors for m in per_phone),
            "released": sum(m.released for m in per_phone),
            "expired": sum(m.expired for m in per_phone),
            "slow_gaps": sum(m.starved for m in per_phone),
            "refused_events": sum(p.link.refused_events for p in self.phones if p.link is not None),
            "reconnects": sum(max(0, p.link.connects - 1) for p in self.phones if p.link is not None),
            "agent_desk": dict(self.desk.stats) if self.desk is not None else {},
            "backend": self.backend,
        }
        if self.rack is not None:
            out["adb_commands"] = self.rack.commands()
        acks: dict[str, list[float]] = {}
        for p in self.phones:
            for key, samples in (p.link.ack_s.items() if p.link is not None else ()):
                acks.setdefault(key, []).extend(samples)
        out["ack_s"] = {key: summary(samples) for key, samples in sorted(acks.items())}
        if raw:
            out["raw"] = {"idle_gaps": gaps, "dtmf_to_agent_ack": press, "agent_ack": agent}
            out["per_phone"] = [dict(m.as_dict(), phone_id=p.phone_id)
                                for p, m in zip(self.phones, per_phone)]
        return out

    # ------------------------------------------------------------- threads

    @classmethod
    def in_thread(cls, server: str, phones: int, **options) -> "FleetThread":
        """A fleet started in a thread of its own (its own event loop)."""
        return FleetThread(cls(server, phones, **options)).start()


class FleetThread:
    """Runs a :class:`Fleet` in a background thread with its own event loop,
    for tests and benchmarks that drive a server from the main thread.
    ``start()`` returns once the phones are connected (or raises)."""

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 120.0) -> "FleetThread":
        self._thread = threading.Thread(target=self._main, name="sim-fleet", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"the fleet did not start within {timeout} s")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        async def main():
            self.loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                await self.fleet.start()
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                self._error = exc
                self._started.set()
                return
            self._started.set()
            await self._stop.wait()
            await self.fleet.stop(grace_s=self._grace)

        self._grace = 0.0
        asyncio.run(main())

    def call(self, fn, *args, timeout: float = 30.0):
        """Run ``fn(*args)`` in the fleet's loop (a coroutine function or a
        plain one) and return its result."""
        async def run():
            result = fn(*args)
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def metrics(self, raw: bool = False) -> dict:
        return self.call(self.fleet.metrics, raw)

    def stop(self, grace_s: float = 0.0, timeout: float = 60.0) -> dict:
        """Stop the fleet; returns the final metrics (with raw samples)."""
        if self._thread is None or not self._thread.is_alive():
            return self.fleet.metrics(raw=True)
        self._grace = grace_s
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        return self.fleet.metrics(raw=True)

    def __enter__(self) -> "FleetThread":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
