"""Router mode (공유기접속): every phone on the call server's Wi-Fi, driven from
the server machine over adb.

:class:`AdbSupervisor` runs next to the server (``ars phones adb``, or
``ars serve --adb-phones``) and turns whatever the adb server can reach into
working phones:

* **scan** — every ``scan_every_s`` it ``adb connect``\\ s each address of the
  scan list that the adb server does not list yet, a bounded pool of threads
  at a time. An address that does not answer is tried again later and later
  (``scan_every_s`` doubling up to ``max_backoff_s``), so a /24 with a few
  phones costs little once the empty addresses have backed off.
* **watch** — a thread follows ``host:track-devices``: phones connected by
  the scan, ``adb connect``-ed by hand or attached by USB all show up there,
  and every state change (``device``, ``offline``, ``unauthorized``, gone)
  arrives at once. If tracking fails, the scan's ``host:devices`` listing
  stands in for it until tracking works again.
* **drive** — each phone that shows ``device`` gets one
  :class:`~phone_agent.runner.Runner` with an
  :class:`~phone_agent.telephony.adb.AdbTelephony` and a
  :class:`~phone_agent.link.Link` (``mode="router"``, ``backend="adb"``). It
  joins the server with the enrolment key the first time (name
  ``router-<address>``); its token is kept per adb serial in ``state_file``
  and replaced by joining again when the server refuses it (``bad_token``).
  A phone that goes offline, unauthorized or away keeps its runner: the
  backend and the runner handle a phone that cannot call (they dial nothing,
  release what they hold and check again); the supervisor says what happened,
  once, in the log and in :meth:`AdbSupervisor.status`.

Each phone starts in a task of its own and a failure (the phone not
answering, the server refusing the join) is retried with backoff, so one
phone never holds up the others. Logs name phones by adb serial; voters'
numbers never appear here.

::

    supervisor = AdbSupervisor("http://127.0.0.1:8000", adbutils.AdbClient(),
                               parse_scan("172.16.0.20-99"), enrol_key=key,
                               state_file="var/adb-phones.json", cache_dir="var/adb-assets")
    await supervisor.run()          # until cancelled; stops every phone cleanly
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import adbutils
import aiohttp

from ..backoff import Backoff
from ..enrol import EnrolmentError, TokenStore, enrol, ready_or_rejoin, token_for
from ..link import AssetStore, Link, LinkRefused, ServerTrust
from ..runner import Runner
from ..script import ScriptConfig
from ..telephony.adb import AdbTelephony
from ..telephony.base import DeviceUnavailable
from .scan import ADB_ERRORS, DeviceTracker, list_devices, phone_name

log = logging.getLogger(__name__)

__all__ = ["AdbSupervisor"]

GONE = "gone"  # status of a serial the adb server no longer lists
START_RETRY_S = (2.0, 60.0)  # backoff of a phone that could not start: first wait, longest


# -- the supervisor --------------------------------------------------------------------------

@dataclass
class _Address:
    """Scan bookkeeping of one address."""

    backoff: Backoff  # how long after a failed connect it is tried again
    next_try: float = 0.0  # monotonic time of the next connect attempt

    @property
    def failures(self) -> int:
        """Connects failed in a row."""
        return self.backoff.failures


@dataclass
class _Phone:
    """One adb serial and what drives it."""

    serial: str
    adb_state: str
    since: float = field(default_factory=time.time)  # when adb_state last changed
    # waiting (for adb to show it as device) | starting | joining | connecting | running
    # | retrying | stopped
    stage: str = "waiting"
    problem: str | None = None  # why it is not running, while retrying
    name: str | None = None
    phone_id: int | None = None
    backend: AdbTelephony | None = None
    link: Link | None = None
    runner: Runner | None = None
    task: asyncio.Task | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class AdbSupervisor:
    """Finds phones over adb and runs one :class:`Runner` each; see the module docstring.

    ``client``: the adb server (``adbutils.AdbClient(host, port)``).
    ``addresses``: ``host:port`` strings to keep connected (:func:`parse_scan`).
    ``enrol_key``: joins without the manager's approval (``None``: each new
    phone waits on 폰 등록 until a manager approves it). ``state_file``:
    token cache. ``cache_dir``: announcements and images, shared by the
    phones. ``backend_options`` go to every :class:`AdbTelephony`. ``trust``:
    the server's pinned TLS certificate (``ars serve --tls``), for every
    phone's join, assets and link.
    """

    def __init__(self, server: str, client: adbutils.AdbClient, addresses: Iterable[str] = (), *,
                 enrol_key: str | None = None, state_file: str | Path | None = None,
                 cache_dir: str | Path, script_config: ScriptConfig | None = None,
                 prefetch: int = 2, scan_every_s: float = 30.0, max_backoff_s: float = 300.0,
                 scan_workers: int = 32, connect_timeout_s: float = 12.0,
                 backend_options: dict | None = None, trust: ServerTrust | None = None):
        self.server = server.rstrip("/")
        self.trust = trust or ServerTrust(self.server)
        self.client = client
        self.addresses = {address: _Address(Backoff(scan_every_s, max_backoff_s))
                          for address in addresses}
        self.enrol_key = enrol_key
        self.tokens = TokenStore(state_file, self.server)
        self.cache_dir = Path(cache_dir)
        self.script_config = script_config or ScriptConfig()
        self.prefetch = prefetch
        self.scan_every_s = scan_every_s
        self.max_backoff_s = max_backoff_s
        self.scan_workers = scan_workers
        self.connect_timeout_s = connect_timeout_s
        self.backend_options = dict(backend_options or {})
        self.phones: dict[str, _Phone] = {}
        self.assets: AssetStore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._scan_task: asyncio.Task | None = None
        self._tracker: DeviceTracker | None = None
        self._adb_error: str | None = None  # the adb server's last failure, logged once
        self._stopping = False

    # ----------------------------------------------------------------- life

    async def start(self) -> None:
        """Start watching the adb server and scanning; returns at once."""
        self._loop = asyncio.get_running_loop()
        self.assets = AssetStore(self.cache_dir)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.scan_workers, thread_name_prefix="adb-scan")
        self._tracker = DeviceTracker(self.client, self._from_thread)
        self._tracker.start()
        self._scan_task = asyncio.create_task(self._scan_loop(), name="adb-scan")
        log.info("router phones: scanning %d address(es) every %.0f s for %s",
                 len(self.addresses), self.scan_every_s, self.server)

    async def run(self) -> None:
        """Start, then supervise until cancelled; every phone is stopped cleanly."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop scanning and every phone: calls in progress are hung up,
        held calls released, links and backends closed."""
        self._stopping = True
        if self._tracker is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._tracker.stop)
        if self._scan_task is not None:
            self._scan_task.cancel()
            await asyncio.gather(self._scan_task, return_exceptions=True)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        phones = list(self.phones.values())
        for phone in phones:
            if phone.runner is not None:
                phone.runner.stop()
        tasks = [p.task for p in phones if p.task is not None and not p.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(self._teardown(p) for p in phones), return_exceptions=True)
        for phone in phones:
            phone.stage = "stopped"
        log.info("router phones: stopped %d phone(s)", len(phones))

    # --------------------------------------------------------------- status

    def status(self) -> dict[str, dict]:
        """Per adb serial: adb's state (``device``, ``offline``,
        ``unauthorized``, ``gone``…), the supervisor's stage, the phone's
        name and id, calls made, and why it cannot call when it cannot."""
        out = {}
        for serial, phone in sorted(self.phones.items()):
            runner = phone.runner
            problem = phone.problem
            if runner is not None and phone.stage == "running":
                problem = runner.problem
            out[serial] = {"adb": phone.adb_state, "since": phone.since, "stage": phone.stage,
                           "name": phone.name, "phone_id": phone.phone_id,
                           "online": bool(phone.link is not None and phone.link.ready),
                           "calls": runner.metrics.calls if runner is not None else 0,
                           "problem": problem}
        return out

    def summary(self) -> str:
        """One line for the log: how many phones are in which state."""
        counts: dict[str, int] = {}
        status = self.status()
        for entry in status.values():
            key = entry["stage"] if entry["adb"] == "device" else entry["adb"]
            counts[key] = counts.get(key, 0) + 1
        calls = sum(entry["calls"] for entry in status.values())
        states = ", ".join(f"{count} {key}" for key, count in sorted(counts.items())) or "none"
        return f"router phones: {states}; {calls} call(s) made"

    # ------------------------------------------------------- devices (watch)

    def _from_thread(self, states: dict[str, str] | None, error: str | None) -> None:
        """The tracker thread's news, handed to the event loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopping:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._tracked, states, error)

    def _tracked(self, states: dict[str, str] | None, error: str | None) -> None:
        if error is not None:
            self._adb_down(error)
            return
        self._adb_up()
        self._devices(states or {})

    def _devices(self, states: dict[str, str]) -> None:
        """The adb server's device list changed: note every change, start
        a runner for each new phone in state ``device``."""
        if self._stopping:
            return
        for serial, state in states.items():
            phone = self.phones.get(serial)
            if phone is None:
                phone = self.phones[serial] = _Phone(serial, state)
                self._state_changed(phone, None)
            elif phone.adb_state != state:
                before, phone.adb_state, phone.since = phone.adb_state, state, time.time()
                self._state_changed(phone, before)
            if state == "device":
                self._drive(phone)
        for serial in self.phones.keys() - states.keys():
            phone = self.phones[serial]
            if phone.adb_state != GONE:
                before, phone.adb_state, phone.since = phone.adb_state, GONE, time.time()
                self._state_changed(phone, before)

    @staticmethod
    def _state_changed(phone: _Phone, before: str | None) -> None:
        serial, state = phone.serial, phone.adb_state
        if state == "offline" and before != "device":
            log.info("%s: connecting (adb lists it offline until the phone answers)", serial)
        elif state == "device":
            log.info("%s: connected%s", serial, f" (was {before})" if before else "")
        elif state == "unauthorized":
            log.warning("%s: unauthorized: accept the 'Allow USB debugging?' prompt on the phone "
                        "(tick 'Always allow from this computer')", serial)
        elif state == "offline":
            log.warning("%s: offline (adb lost the phone; it dials nothing until it is back)", serial)
        elif state == GONE:
            log.warning("%s: gone from adb (switched off, off the Wi-Fi or unplugged)%s", serial,
                        "; the scan connects it again when it answers" if ":" in serial else "")
        else:
            log.info("%s: %s", serial, state)

    def _drive(self, phone: _Phone) -> None:
        """Make sure a task drives the phone (wake it if it waits to retry)."""
        if phone.task is None or phone.task.done():
            phone.task = asyncio.create_task(self._phone_main(phone), name=f"phone-{phone.serial}")
        elif phone.stage == "retrying":
            phone.wake.set()
        elif phone.runner is not None:
            phone.runner.device_changed()

    # -------------------------------------------------------- phones (drive)

    async def _phone_main(self, phone: _Phone) -> None:
        """Start the phone and run it; after a failure, start it again with
        backoff (sooner when adb shows it ``device`` again)."""
        backoff = Backoff(*START_RETRY_S)
        while not self._stopping:
            try:
                await self._start_phone(phone)
                phone.stage, phone.problem = "running", None
                log.info("%s: calling as %s (phone %s)", phone.serial, phone.name, phone.phone_id)
                await phone.runner.run()
                return
            except asyncio.CancelledError:
                raise
            except (DeviceUnavailable, EnrolmentError, LinkRefused, aiohttp.ClientError, OSError,
                    asyncio.TimeoutError) as exc:
                problem = str(exc) or type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - one phone's bug must not stop the others
                log.exception("%s: stopped by an unexpected error", phone.serial)
                problem = f"{type(exc).__name__}: {exc}"
            if problem != phone.problem:
                log.warning("%s: cannot start: %s (trying again, backing off up to %.0f s)",
                            phone.serial, problem, backoff.longest)
            phone.stage, phone.problem = "retrying", problem
            await self._teardown(phone)
            phone.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(phone.wake.wait(), backoff.next())

    async def _start_phone(self, phone: _Phone) -> None:
        """Open the phone, get its token (joining if need be), connect its
        link; afterwards ``phone.runner`` is ready to run."""
        phone.stage = "starting"
        phone.backend = AdbTelephony(phone.serial, client=self.client, **self.backend_options)
        await phone.backend.open()
        device = await phone.backend.device()
        phone.name = phone_name(phone.serial)
        await self._connect(phone, await self._token(phone, device), device)
        phone.stage = "connecting"

        async def rejoin() -> Link:
            self.tokens.drop(phone.serial)
            await self._connect(phone, await self._token(phone, device), device)
            return phone.link

        await ready_or_rejoin(phone.link, rejoin)

    async def _connect(self, phone: _Phone, token: str, device: dict) -> None:
        phone.link = Link(self.server, token, assets=self.assets, mode="router", backend="adb",
                          device=device, name=phone.serial, trust=self.trust)
        phone.runner = Runner(phone.link, phone.backend, config=self.script_config,
                              prefetch=self.prefetch, name=phone.serial)
        await phone.link.start()

    async def _token(self, phone: _Phone, device: dict) -> str:
        """The kept token, or a new one from joining the server."""

        async def join() -> dict:
            phone.stage = "joining"
            if self.enrol_key is None:
                log.warning("%s: asking to join as %s: approve it on the console (폰 등록)",
                            phone.serial, phone.name)
            answer = await enrol(self.server, phone.name, enrol_key=self.enrol_key, mode="router",
                                 device=device, trust=self.trust)
            log.info("%s: joined the server as %s (phone %s)", phone.serial, phone.name,
                     answer.get("phone_id"))
            return answer

        entry = await token_for(self.tokens, phone.serial, join, name=phone.name)
        phone.phone_id = entry.get("phone_id")
        return entry["token"]

    @staticmethod
    async def _teardown(phone: _Phone) -> None:
        """Close what a phone holds (its runner is stopped or never ran)."""
        link, backend = phone.link, phone.backend
        phone.link = phone.backend = phone.runner = None
        if link is not None:
            await link.close(flush_s=2.0)
        if backend is not None:
            await backend.close()

    # ------------------------------------------------------------------ scan

    async def _scan_loop(self) -> None:
        while True:
            started = time.monotonic()
            await self.scan()
            await asyncio.sleep(max(0.0, self.scan_every_s - (time.monotonic() - started)))

    async def scan(self) -> None:
        """One round: list the adb server's devices, ``adb connect`` every
        address not listed whose backoff has passed."""
        loop = asyncio.get_running_loop()
        try:
            listed = await loop.run_in_executor(self._pool, list_devices, self.client)
        except ADB_ERRORS as exc:
            self._adb_down(f"{type(exc).__name__}: {exc}")
            return
        self._adb_up()
        if not self._tracker.tracking:
            self._devices(listed)  # tracking is down: the listing stands in for it
        now = time.monotonic()
        due = [address for address, entry in self.addresses.items()
               if address not in listed and entry.next_try <= now]
        if not due:
            return
        answers = await asyncio.gather(*(loop.run_in_executor(self._pool, self._connect_one, address)
                                         for address in due))
        joined = [address for address, ok in zip(due, answers) if ok]
        if joined:
            log.info("scan: %d of %d address(es) answered: %s", len(joined), len(due),
                     ", ".join(joined))
        else:
            log.debug("scan: none of %d address(es) answered", len(due))

    def _connect_one(self, address: str) -> bool:
        """``adb connect`` one address (in a scan thread); backoff bookkeeping."""
        entry = self.addresses[address]
        try:
            answer = self.client.connect(address, timeout=self.connect_timeout_s).strip()
        except ADB_ERRORS as exc:
            answer = f"{type(exc).__name__}: {exc}"
        ok = answer.startswith(("connected to", "already connected"))
        if ok:
            entry.backoff.reset()
        else:
            entry.next_try = time.monotonic() + entry.backoff.next()
            log.debug("%s: %s", address, answer)  # a phone that asks for authorisation is listed
        return ok

    def _adb_down(self, error: str) -> None:
        if error != self._adb_error:
            log.error("adb server %s:%s: %s (trying again)", self.client.host, self.client.port, error)
        self._adb_error = error

    def _adb_up(self) -> None:
        if self._adb_error is not None:
            log.info("adb server %s:%s answers again", self.client.host, self.client.port)
        self._adb_error = None
