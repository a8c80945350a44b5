"""Virtual adbd: the device side of ADB over TCP, so that the real ``adb``
server can drive virtual phones in tests, demos and benchmarks.

The real ``adb`` binary (``adb connect 127.0.0.1:PORT``) talks to a
:class:`VirtualAdbd` exactly as it talks to a handset with wireless debugging
on; what the phone answers is a :class:`~phone_agent.simulator.virtual.behaviour.DeviceBehaviour`.

Wire (AOSP ``adb/protocol.txt``, ``adb.cpp``, ``transport.cpp``)
    Every message is a 24-byte header of six little-endian u32 — command,
    arg0, arg1, payload length, payload byte sum, magic (command ^ 0xffffffff)
    — then the payload. Incoming byte sums are not checked (modern adb does
    not check them either); outgoing ones are always filled in, which is
    valid for both protocol versions.

Handshake
    Host ``CNXN(version, maxdata, "host::features=…")`` → device
    ``CNXN(0x01000001, min(maxdata, ours), "device::ro.product.name=…;
    ro.product.model=…;ro.product.device=…;features=…")``. No AUTH unless
    :meth:`VirtualAdbd.unauthorized` is on. Features: :data:`DEFAULT_FEATURES`
    — no ``shell_v2`` (clients use the legacy ``shell:``), no ``delayed_ack``
    (so ``OPEN`` must carry arg1 = 0), no ``stat_v2``/``ls_v2``/
    ``sendrecv_v2``; ``fixed_push_mkdir`` says the phone makes missing
    parent directories on push, as real adbd does.

Streams
    ``OPEN(host_id, 0, "service\\0")`` → ``OKAY(our_id, host_id)``, or
    ``CLSE(0, host_id)`` for a service we do not offer. One WRTE in flight per
    direction per stream: after a WRTE the sender waits for the peer's OKAY.
    We acknowledge a host WRTE when the service reads it (back-pressure like a
    pipe). Either side ends a stream with CLSE; we send ours exactly once,
    when the service ends. Any number of concurrent streams per connection.

Services
    ``shell:<cmd>``, ``shell:`` (interactive), ``shell,<opts>:<cmd>`` without
    ``v2``, ``exec:<cmd>`` → ``behaviour.shell``. ``sync:`` → the file
    sub-protocol of :mod:`.sync` (SEND, RECV, STAT, LIST, QUIT …). Anything
    else → CLSE.

What adb 36 actually sends (observed; adbutils 2.12 and the ``adb`` CLI)
    CNXN version 0x01000001, maxdata 1 MiB, host features without
    ``delayed_ack``. The server opens nothing by itself. ``shell:<cmd>``
    (arguments shell-quoted by the CLI: ``exec-out echo e`` →
    ``exec:echo 'e'``), ``shell:`` for adbutils ``shell("", stream=True)``
    and an interactive ``adb shell``. adbutils: one ``sync:`` stream per
    operation — ``STAT``; ``SEND`` + ``DATA`` (4 KiB) … + ``DONE``; ``RECV``;
    ``LIST`` — closed without ``QUIT``. CLI: ``STAT`` + ``SEND``…``DONE`` +
    ``QUIT`` (push), ``STAT`` + ``RECV`` + ``QUIT`` (pull), ``LIST`` +
    ``QUIT`` (ls), all on one stream. ``reboot:``/``root:`` get CLSE.

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
import collections
import concurrent.futures
import contextlib
import ipaddress
import logging
import os
import socket
import struct
import threading
from typing import Callable, Iterator

from .behaviour import DeviceBehaviour, EchoDevice
from .sync import serve_sync

__all__ = [
    "A_SYNC", "A_CNXN", "A_AUTH", "A_OPEN", "A_OKAY", "A_CLSE", "A_WRTE", "A_STLS",
    "A_VERSION", "A_VERSION_MIN", "MAX_PAYLOAD", "MAX_PAYLOAD_V1", "DEFAULT_FEATURES",
    "DEFAULT_BASE_PORT", "EMULATOR_PORTS", "ProtocolError", "VirtualAdbd", "VirtualPhoneSet",
    "LoopThread", "pack_message",
]

log = logging.getLogger(__name__)

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_AUTH = 0x48545541
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_STLS = 0x534C5453
_NAMES = {A_SYNC: "SYNC", A_CNXN: "CNXN", A_AUTH: "AUTH", A_OPEN: "OPEN", A_OKAY: "OKAY",
          A_CLSE: "CLSE", A_WRTE: "WRTE", A_STLS: "STLS"}

A_VERSION_MIN = 0x01000000
A_VERSION = 0x01000001          # "skip checksum" version, what adbd sends since Android 9
MAX_PAYLOAD_V1 = 4 * 1024       # CNXN/AUTH payloads stay within this
MAX_PAYLOAD = 1024 * 1024       # adbd's maximum since Android 9

AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
AUTH_TOKEN_SIZE = 20

HEADER = struct.Struct("<6I")

DEFAULT_FEATURES = ("fixed_push_mkdir",)

# The adb server scans 127.0.0.1 ports 5555, 5557 … 5585 (and the console
# port below each) for emulators: a virtual phone there would be adopted as
# "emulator-5554". (client/transport_emulator.cpp, DEFAULT_ADB_LOCAL_TRANSPORT_PORT
# + 16 * 2 - 1.)
EMULATOR_PORTS = range(5554, 5586)
DEFAULT_BASE_PORT = 15555

# How long a service may go on after the host closed its stream before it is
# cancelled (a process getting SIGHUP). Long enough to notice ``read() == b""``.
HANGUP_GRACE = 0.5

# The host may have one WRTE per stream waiting for our OKAY; a few more are
# tolerated, a flood closes the connection.
_MAX_UNACKED = 16

_BANNER_KEYS = ("ro.product.name", "ro.product.model", "ro.product.device")


class ProtocolError(Exception):
    """The host sent something that is not ADB: the connection is closed."""


def pack_message(command: int, arg0: int, arg1: int, payload: bytes = b"") -> bytes:
    """One ADB message: header (with the payload's byte sum) and payload."""
    return HEADER.pack(command, arg0 & 0xFFFFFFFF, arg1 & 0xFFFFFFFF, len(payload),
                       sum(payload) & 0xFFFFFFFF, command ^ 0xFFFFFFFF) + payload


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


class _Stream:
    """One ADB stream on the device side; the ``ShellIO`` a service gets."""

    def __init__(self, conn: _Connection, local_id: int, remote_id: int, service: str):
        self.conn = conn
        self.local_id = local_id
        self.remote_id = remote_id
        self.service = service
        self.task: asyncio.Task | None = None
        self.host_closed = False
        self._sent_close = False
        self._inbox: collections.deque[bytes] = collections.deque()
        self._readable = asyncio.Event()
        self._acked = asyncio.Event()
        self._write_lock = asyncio.Lock()

    # -- ShellIO ---------------------------------------------------------
    async def read(self) -> bytes:
        while not self._inbox:
            if self.host_closed:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = self._inbox.popleft()
        if not self.host_closed:
            self.conn.send(A_OKAY, self.local_id, self.remote_id)
        return data

    async def write(self, data: bytes) -> None:
        view = memoryview(data).cast("B")
        step = self.conn.max_payload
        async with self._write_lock:
            for offset in range(0, len(view), step):
                if self.host_closed or self._sent_close:
                    raise BrokenPipeError(f"stream {self.service!r} closed by the host")
                self._acked.clear()
                self.conn.send(A_WRTE, self.local_id, self.remote_id,
                               bytes(view[offset:offset + step]))
                await self._acked.wait()
            if self.host_closed:
                raise BrokenPipeError(f"stream {self.service!r} closed by the host")

    # -- events from the host ---------------------------------------------
    def received(self, payload: bytes) -> None:
        if self.host_closed:
            return
        if len(self._inbox) >= _MAX_UNACKED:
            raise ProtocolError(f"host ignores flow control on {self.service!r} "
                                f"({len(self._inbox)} WRTEs without our OKAY)")
        self._inbox.append(payload)
        self._readable.set()

    def acked(self) -> None:
        self._acked.set()

    def hangup(self) -> None:
        """The host closed the stream, or the connection is gone."""
        if self.host_closed:
            return
        self.host_closed = True
        self._readable.set()
        self._acked.set()
        if self.task is not None and not self.task.done():
            asyncio.get_running_loop().call_later(HANGUP_GRACE, self.task.cancel)

    def close(self) -> None:
        """The service ended: CLSE once, forget the stream."""
        self.conn.streams.pop(self.local_id, None)
        if not self._sent_close:
            self._sent_close = True
            self.conn.send(A_CLSE, self.local_id, self.remote_id)


class _Connection:
    """One TCP connection from the adb server to a virtual phone."""

    def __init__(self, adbd: VirtualAdbd, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter):
        self.adbd = adbd
        self.reader = reader
        self.writer = writer
        self.peer = writer.get_extra_info("peername")
        self.version = A_VERSION_MIN
        self.max_payload = MAX_PAYLOAD_V1
        self.online = False
        self.auth_pending = False
        self.closed = False
        self.streams: dict[int, _Stream] = {}
        self.host_banner = ""
        self._next_id = 1
        self._outbox: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._serve_task: asyncio.Task | None = None
        self._sender: asyncio.Task | None = None

    @property
    def name(self) -> str:
        return f"{self.adbd.serial} (host {self.peer[0]}:{self.peer[1]})" if self.peer else \
            self.adbd.serial

    # -- sending -----------------------------------------------------------
    def send(self, command: int, arg0: int, arg1: int, payload: bytes = b"") -> None:
        if self.closed:
            return
        due = asyncio.get_running_loop().time() + self.adbd._delay
        self._outbox.put_nowait((due, pack_message(command, arg0, arg1, payload)))

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, packet = await self._outbox.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.writer.write(packet)
                await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            log.debug("%s: send failed: %s", self.name, exc)
            self.abort()

    # -- life --------------------------------------------------------------
    async def serve(self) -> None:
        self._serve_task = asyncio.current_task()
        self._sender = asyncio.create_task(self._send_loop(), name=f"adbd-send {self.name}")
        try:
            # An offline phone accepts TCP and never answers: wait here.
            await self.adbd._online.wait()
            while True:
                command, arg0, arg1, payload = await self._read_message()
                self._handle(command, arg0, arg1, payload)
        except asyncio.IncompleteReadError:
            log.debug("%s: connection closed by the host", self.name)
        except (ConnectionError, OSError) as exc:
            log.debug("%s: connection lost: %s", self.name, exc)
        except ProtocolError as exc:
            log.warning("%s: %s; closing the connection", self.name, exc)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 — one bad connection must not take the phone down
            log.exception("%s: unexpected error; closing the connection", self.name)
        finally:
            await self._teardown()

    def abort(self) -> None:
        """Close the TCP connection now, without goodbye (RST)."""
        transport = self.writer.transport
        sock = transport.get_extra_info("socket")
        if sock is not None and not transport.is_closing():
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        if self._serve_task is not None and not self._serve_task.done():
            self._serve_task.cancel()

    async def _teardown(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.online = False
        self.adbd._connections.discard(self)
        for stream in list(self.streams.values()):
            stream.hangup()
        tasks = list(self._tasks)
        if self._sender is not None:
            tasks.append(self._sender)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.writer.transport.abort()
        self.streams.clear()

    async def _read_message(self) -> tuple[int, int, int, bytes]:
        header = await self.reader.readexactly(HEADER.size)
        command, arg0, arg1, length, _check, magic = HEADER.unpack(header)
        if magic != command ^ 0xFFFFFFFF:
            raise ProtocolError(f"bad magic {magic:#010x} for command {command:#010x}")
        if length > self.adbd.max_payload:
            raise ProtocolError(f"{_NAMES.get(command, hex(command))} payload of {length} bytes "
                                f"exceeds the maximum {self.adbd.max_payload}")
        payload = await self.reader.readexactly(length) if length else b""
        return command, arg0, arg1, payload

    # -- dispatch ------------------------------------------------------------
    def _handle(self, command: int, arg0: int, arg1: int, payload: bytes) -> None:
        if command == A_CNXN:
            self._on_connect(arg0, arg1, payload)
        elif command == A_AUTH:
            self._on_auth(arg0, payload)
        elif command not in _NAMES:
            # adb.cpp handle_packet: "what is %08x?!" and carries on.
            log.warning("%s: unknown command %#010x ignored", self.name, command)
        elif not self.online:
            log.debug("%s: %s before the handshake ignored", self.name, _NAMES[command])
        elif command == A_OPEN:
            self._on_open(arg0, arg1, payload)
        elif command == A_OKAY:
            stream = self.streams.get(arg1)
            if stream is not None and stream.remote_id == arg0:
                stream.acked()
        elif command == A_WRTE:
            stream = self.streams.get(arg1)
            if stream is not None and stream.remote_id == arg0:
                stream.received(payload)
        elif command == A_CLSE:
            stream = self.streams.get(arg1)
            if stream is not None and arg0 in (0, stream.remote_id):
                stream.hangup()
        else:  # SYNC (obsolete), STLS (only ever an answer to ours: we never offer TLS)
            log.debug("%s: %s ignored", self.name, _NAMES[command])

    def _on_connect(self, version: int, max_data: int, payload: bytes) -> None:
        if version < A_VERSION_MIN or (version >> 24) != 0x01:
            raise ProtocolError(f"CNXN with unknown protocol version {version:#010x}")
        if max_data < 1:
            raise ProtocolError("CNXN with a maximum payload of 0")
        # A new CNXN on a live connection starts over (adbd: handle_offline).
        for stream in list(self.streams.values()):
            stream.hangup()
        self.online = False
        self.version = min(version, A_VERSION)
        self.max_payload = min(max_data, self.adbd.max_payload)
        self.host_banner = payload.rstrip(b"\0").decode("utf-8", "replace")
        log.debug("%s: CNXN version=%#010x maxdata=%d banner=%r", self.name, version, max_data,
                  self.host_banner)
        if self.adbd._unauthorized:
            self._request_auth()
        else:
            self.accept()

    def _request_auth(self) -> None:
        self.auth_pending = True
        self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(AUTH_TOKEN_SIZE))

    def accept(self) -> None:
        """Complete the handshake: CNXN with our banner; the phone is ``device``."""
        self.auth_pending = False
        self.online = True
        banner = self.adbd.banner_string().encode()
        self.send(A_CNXN, A_VERSION, self.max_payload, banner)

    def _on_auth(self, kind: int, payload: bytes) -> None:
        if self.online or not self.auth_pending:
            log.debug("%s: AUTH %d out of turn ignored", self.name, kind)
        elif not self.adbd._unauthorized:
            self.accept()       # the user tapped "Allow" in between
        elif kind == AUTH_SIGNATURE:
            self._request_auth()    # no key of ours: another token (daemon/auth.cpp)
        elif kind == AUTH_RSAPUBLICKEY:
            log.info("%s: host offered its public key; the user never taps Allow", self.name)
        else:
            log.warning("%s: AUTH of unknown type %d ignored", self.name, kind)

    def _on_open(self, remote_id: int, send_bytes: int, payload: bytes) -> None:
        if remote_id == 0:
            return
        if send_bytes != 0:
            # delayed_ack is not negotiated: adbd closes such an OPEN.
            log.warning("%s: OPEN with arg1=%d without delayed_ack", self.name, send_bytes)
            self.send(A_CLSE, 0, remote_id)
            return
        service = payload.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        runner = self._service(service)
        if runner is None:
            log.info("%s: service %r not offered", self.name, service)
            self.send(A_CLSE, 0, remote_id)
            return
        local_id = self._next_id
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        stream = _Stream(self, local_id, remote_id, service)
        self.streams[local_id] = stream
        self.send(A_OKAY, local_id, remote_id)
        task = asyncio.create_task(self._run_service(stream, runner),
                                   name=f"adbd {self.adbd.serial} {service[:40]}")
        stream.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _service(self, service: str) -> Callable[[_Stream], object] | None:
        log.debug("%s: OPEN %r", self.name, service)
        kind, sep, argument = service.partition(":")
        if not sep:
            return None
        name, *options = kind.split(",")
        if name == "shell" and "v2" not in options:
            return lambda stream: self._shell(stream, argument)
        if name == "exec" and not options:
            return lambda stream: self._shell(stream, argument)
        if name == "sync":          # adbd: starts_with("sync:")
            return lambda stream: serve_sync(stream, self.adbd.behaviour, self.name)
        return None

    async def _run_service(self, stream: _Stream, runner) -> None:
        try:
            await runner(stream)
        except asyncio.CancelledError:
            log.debug("%s: %r cancelled", self.name, stream.service)
        except BrokenPipeError:
            log.debug("%s: %r: host went away", self.name, stream.service)
        except Exception:  # noqa: BLE001 — a failing behaviour closes only its stream
            log.exception("%s: service %r failed", self.name, stream.service)
        finally:
            stream.close()

    # -- services ------------------------------------------------------------
    async def _shell(self, stream: _Stream, command: str) -> None:
        code = await self.adbd.behaviour.shell(command, stream)
        log.debug("%s: %r exited with %s", self.name, stream.service, code)

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
        self._connections: set[_Connection] = set()
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
        conn = _Connection(self, reader, writer)
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
