"""Virtual adbd: the device side of ADB over TCP, so that the real ``adb``
server can drive virtual phones in tests, demos and benchmarks.

The real ``adb`` binary (``adb connect 127.0.0.1:PORT``) talks to a
:class:`VirtualAdbd` exactly as it talks to a handset with wireless debugging
on; what the phone answers is a :class:`~phone_agent.simulator.virtual.behaviour.DeviceBehaviour`.
Each TCP connection speaks the wire of :mod:`.connection` (messages,
handshake, streams, services), files go over ``sync:`` (:mod:`.sync`).

Misbehaviour on demand (``adb devices -l`` as seen from the real adb 36)
    :meth:`~VirtualAdbd.drop`
        TCP connections reset now (mid-call, mid-push). The adb server keeps
        the transport and reconnects 250 ms later: ``offline`` for a moment,
        then ``device`` again (a fresh handshake).
    :meth:`~VirtualAdbd.go_offline` ``(seconds)``
        Connections reset and the phone stops answering: it accepts TCP but
        reads nothing, so the server's reconnect hangs in the handshake and
        the phone shows ``offline`` (commands fail with "device offline"; a
        fresh ``adb connect`` waits 10 s and answers "failed to connect to …",
        leaving the phone listed ``offline``). After ``seconds`` (or
        :meth:`~VirtualAdbd.go_online`) the pending handshake is answered and
        it is ``device`` again, without a new ``adb connect``.
    :meth:`~VirtualAdbd.unauthorized` ``(True)``
        Handshakes are answered with ``AUTH(TOKEN)``, signatures refused and
        the host's public key left waiting for a user who never taps
        "Allow": ``unauthorized`` (``adb connect`` answers "failed to
        authenticate to …", commands fail with "device unauthorized", ``-l``
        shows no product/model). Turning it on resets current connections;
        ``unauthorized(False)`` is the user tapping "Allow": waiting
        connections get their CNXN and show ``device``.
    :meth:`~VirtualAdbd.delay` ``(seconds)``
        Every message the phone sends leaves ``seconds`` late (a slow link,
        order kept): still ``device``, every answer slower (a shell command
        costs two delays: the OKAY to its OPEN, then its output).
    :meth:`~VirtualAdbd.stop`
        The phone is switched off: ``offline`` while the adb server retries
        (20 attempts, 3 s apart), then gone from the list.

Robustness: a malformed message (bad magic, oversized or truncated payload,
bad CNXN) closes that TCP connection with a log line; a failing behaviour
closes only its stream; one phone's failure never touches another's.

Threading: everything runs on one asyncio loop. Synchronous callers (tests,
scripts) use :class:`LoopThread` or :meth:`VirtualPhoneSet.in_thread`; the
misbehaviour knobs may be called from any thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import logging
import socket
import threading
from typing import Callable, Iterator

from .behaviour import DeviceBehaviour, EchoDevice
from .connection import MAX_PAYLOAD, MAX_PAYLOAD_V1, Connection

__all__ = ["DEFAULT_FEATURES", "DEFAULT_BASE_PORT", "EMULATOR_PORTS", "VirtualAdbd", "VirtualPhoneSet",
           "LoopThread"]

log = logging.getLogger(__name__)

DEFAULT_FEATURES = ("fixed_push_mkdir",)

# The adb server scans 127.0.0.1 ports 5555, 5557 … 5585 (and the console
# port below each) for emulators: a virtual phone there would be adopted as
# "emulator-5554". (client/transport_emulator.cpp, DEFAULT_ADB_LOCAL_TRANSPORT_PORT
# + 16 * 2 - 1.)
EMULATOR_PORTS = range(5554, 5586)
DEFAULT_BASE_PORT = 15555

_BANNER_KEYS = ("ro.product.name", "ro.product.model", "ro.product.device")


def _banner_value(value: object) -> str:
    text = str(value)
    return "".join("_" if ch in ";:=\0" else ch for ch in text)


def _is_scanned_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "0.0.0.0", "::1", "::", "")


def _check_port(host: str, port: int) -> None:
    if port in EMULATOR_PORTS and _is_scanned_loopback(host):
        raise ValueError(f"port {port} on {host} is in the adb server's emulator scan range "
                         f"{EMULATOR_PORTS.start}-{EMULATOR_PORTS.stop - 1}: pick another port, "
                         "or another loopback address such as 127.0.0.2")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class VirtualAdbd:
    """A virtual phone's adbd: an asyncio TCP server speaking the device side of ADB.

    ``VirtualAdbd(behaviour)`` listens on the address in ``behaviour.serial``;
    ``host``/``port`` override it, ``port=0`` takes any free port (bound at
    once, and written back to ``behaviour.serial``). ``features`` and
    ``max_payload`` are what the phone advertises in its CNXN.
    """

    def __init__(self, behaviour: DeviceBehaviour, host: str | None = None,
                 port: int | None = None, *, features: tuple[str, ...] = DEFAULT_FEATURES,
                 max_payload: int = MAX_PAYLOAD, sock: socket.socket | None = None):
        if host is None or port is None:
            serial_host, _, serial_port = (behaviour.serial or "").rpartition(":")
            if host is None:
                host = serial_host or "127.0.0.1"
            if port is None:
                if not serial_port.isdigit():
                    raise ValueError(f"no port given and none in serial {behaviour.serial!r}")
                port = int(serial_port)
        if sock is None and port == 0:
            sock = _bind(host, 0)
        if sock is not None:
            port = sock.getsockname()[1]
        _check_port(host, port)
        if not 1 <= max_payload <= MAX_PAYLOAD:
            raise ValueError(f"max_payload must be 1..{MAX_PAYLOAD}")
        self.behaviour = behaviour
        self.host = host
        self.port = port
        self.features = tuple(features)
        self.max_payload = max_payload
        self._sock = sock
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections: set[Connection] = set()
        self._online: asyncio.Event | None = None
        self._offline_timer: asyncio.TimerHandle | None = None
        self._unauthorized = False
        self._delay = 0.0
        if behaviour.serial != self.serial:
            behaviour.serial = self.serial

    def __repr__(self) -> str:
        return f"<VirtualAdbd {self.serial} {type(self.behaviour).__name__}>"

    @property
    def serial(self) -> str:
        """What ``adb devices`` lists for this phone: ``host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def banner_string(self) -> str:
        properties = self.behaviour.banner()
        fields = [f"{key}={_banner_value(properties.get(key, ''))}" for key in _BANNER_KEYS]
        fields.append("features=" + ",".join(self.features))
        banner = "device::" + ";".join(fields)
        if len(banner.encode()) > MAX_PAYLOAD_V1:
            raise ValueError(f"{self.serial}: banner longer than {MAX_PAYLOAD_V1} bytes")
        return banner

    @property
    def connections(self) -> int:
        """Open TCP connections (normally one: the adb server's)."""
        return len(self._connections)

    @property
    def handshaken(self) -> int:
        """Connections that completed CNXN (the host sees ``device``)."""
        return sum(1 for conn in self._connections if conn.online)

    # -- life --------------------------------------------------------------
    async def start(self) -> None:
        if self._server is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._online = asyncio.Event()
        self._online.set()
        if self._sock is not None:
            sock, self._sock = self._sock, None
            self._server = await asyncio.start_server(self._accept, sock=sock)
        else:
            self._server = await asyncio.start_server(self._accept, self.host, self.port)
        log.info("virtual phone %s listening (%s)", self.serial, type(self.behaviour).__name__)

    async def stop(self) -> None:
        """Stop listening and drop every connection (the phone is switched off)."""
        if self._server is None and self._sock is None:
            return
        if self._offline_timer is not None:
            self._offline_timer.cancel()
            self._offline_timer = None
        if self._server is not None:
            self._server.close()
        connections = list(self._connections)
        for conn in connections:
            conn.abort()
        serving = [conn._serve_task for conn in connections if conn._serve_task is not None]
        if serving:
            await asyncio.gather(*serving, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        log.info("virtual phone %s stopped", self.serial)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self, reader, writer)
        self._connections.add(conn)
        log.debug("%s: TCP connection accepted", conn.name)
        await conn.serve()

    # -- misbehaviour knobs (callable from any thread) -------------------------
    def drop(self) -> None:
        """Reset every TCP connection now; the adb server reconnects in ~250 ms."""
        self._on_loop(self._drop)

    def go_offline(self, seconds: float | None = None) -> None:
        """Stop answering for ``seconds`` (``None``: until :meth:`go_online`)."""
        self._on_loop(self._go_offline, seconds)

    def go_online(self) -> None:
        """Answer again; a handshake the adb server left waiting completes."""
        self._on_loop(self._go_online)

    def unauthorized(self, on: bool = True) -> None:
        """Refuse the host's keys (``unauthorized``); ``False``: the user taps Allow."""
        self._on_loop(self._set_unauthorized, on)

    def delay(self, seconds: float) -> None:
        """Send every message ``seconds`` late (0 to stop)."""
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        self._delay = float(seconds)

    def _drop(self) -> None:
        log.info("virtual phone %s: dropping %d connection(s)", self.serial, len(self._connections))
        for conn in list(self._connections):
            conn.abort()

    def _go_offline(self, seconds: float | None) -> None:
        log.info("virtual phone %s: offline for %s s", self.serial, seconds)
        if self._offline_timer is not None:
            self._offline_timer.cancel()
            self._offline_timer = None
        if self._online is not None:
            self._online.clear()
        self._drop()
        if seconds is not None and self._loop is not None:
            self._offline_timer = self._loop.call_later(seconds, self._go_online)

    def _go_online(self) -> None:
        if self._offline_timer is not None:
            self._offline_timer.cancel()
            self._offline_timer = None
        if self._online is not None and not self._online.is_set():
            log.info("virtual phone %s: online again", self.serial)
            self._online.set()

    def _set_unauthorized(self, on: bool) -> None:
        was, self._unauthorized = self._unauthorized, bool(on)
        if on and not was:
            # Revoking authorisations kicks the host; its reconnect meets AUTH.
            for conn in list(self._connections):
                if conn.online:
                    conn.abort()
        elif not on:
            for conn in list(self._connections):
                if conn.auth_pending and not conn.closed:
                    conn.accept()

    def _on_loop(self, fn: Callable, *args):
        """Run ``fn`` on the phone's loop and return its result, from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return fn(*args)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return fn(*args)
        done: concurrent.futures.Future = concurrent.futures.Future()

        def call() -> None:
            try:
                done.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 — handed to the caller
                done.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return done.result(timeout=10)


class VirtualPhoneSet:
    """N virtual phones on consecutive ports (or consecutive loopback addresses).

    ``VirtualPhoneSet(3)`` runs three :class:`EchoDevice` phones on
    127.0.0.1:15555–15557. ``make_behaviour(serial)`` builds each phone's
    behaviour. ``base_port=0`` takes any free ports (not consecutive: for
    tests that must not collide). ``vary="host"`` puts phone *i* on the
    address ``host + i`` and the same ``base_port`` — ``host="127.0.0.2",
    base_port=5555`` gives handset-like serials 127.0.0.2:5555, 127.0.0.3:5555…
    Extra keyword arguments go to each :class:`VirtualAdbd`.
    """

    def __init__(self, count: int, make_behaviour: Callable[[str], DeviceBehaviour] = EchoDevice,
                 *, host: str = "127.0.0.1", base_port: int = DEFAULT_BASE_PORT,
                 vary: str = "port", **adbd_options):
        if count < 0:
            raise ValueError("count must be >= 0")
        if vary not in ("port", "host"):
            raise ValueError("vary must be 'port' or 'host'")
        if vary == "host" and base_port == 0:
            raise ValueError("vary='host' needs a fixed base_port")
        addresses: list[tuple[str, int]] = []
        for index in range(count):
            if vary == "host":
                addresses.append((str(ipaddress.ip_address(host) + index), base_port))
            else:
                addresses.append((host, base_port + index if base_port else 0))
        for address_host, port in addresses:
            if port:
                _check_port(address_host, port)
        self.phones: list[VirtualAdbd] = []
        sockets: list[socket.socket] = []
        try:
            for address_host, port in addresses:
                sock = _bind(address_host, 0) if port == 0 else None
                if sock is not None:
                    sockets.append(sock)
                    port = sock.getsockname()[1]
                serial = f"{address_host}:{port}"
                self.phones.append(VirtualAdbd(make_behaviour(serial), address_host, port,
                                               sock=sock, **adbd_options))
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        self.loop_thread: LoopThread | None = None

    def __len__(self) -> int:
        return len(self.phones)

    def __iter__(self) -> Iterator[VirtualAdbd]:
        return iter(self.phones)

    def __getitem__(self, key: int | str) -> VirtualAdbd:
        if isinstance(key, str):
            for phone in self.phones:
                if phone.serial == key:
                    return phone
            raise KeyError(key)
        return self.phones[key]

    @property
    def serials(self) -> list[str]:
        return [phone.serial for phone in self.phones]

    @property
    def behaviours(self) -> list[DeviceBehaviour]:
        return [phone.behaviour for phone in self.phones]

    async def start(self) -> None:
        started: list[VirtualAdbd] = []
        try:
            for phone in self.phones:
                await phone.start()
                started.append(phone)
        except BaseException:
            for phone in started:
                await phone.stop()
            raise

    async def stop(self) -> None:
        results = await asyncio.gather(*(phone.stop() for phone in self.phones),
                                       return_exceptions=True)
        for phone, result in zip(self.phones, results):
            if isinstance(result, BaseException):
                log.error("virtual phone %s did not stop cleanly: %r", phone.serial, result)

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[VirtualPhoneSet]:
        """Run the phones on their own event loop thread (for synchronous callers)."""
        with LoopThread(name="virtual-phones") as loop_thread:
            loop_thread.run(self.start())
            self.loop_thread = loop_thread
            try:
                yield self
            finally:
                self.loop_thread = None
                loop_thread.run(self.stop(), timeout=30)


class LoopThread:
    """An asyncio event loop on a daemon thread, driven from synchronous code."""

    def __init__(self, name: str = "asyncio-loop"):
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> LoopThread:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def run(self, coro, timeout: float | None = None):
        """Run a coroutine on the loop and wait for its result."""
        if self.loop is None:
            raise RuntimeError("LoopThread not started")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable, *args, timeout: float | None = 10):
        """Run a plain function on the loop thread and wait for its result."""
        async def wrapper():
            return fn(*args)
        return self.run(wrapper(), timeout)

    def stop(self) -> None:
        if self._thread is None or self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> LoopThread:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
