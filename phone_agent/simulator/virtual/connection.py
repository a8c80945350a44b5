"""One TCP connection from the adb server to a virtual phone: ADB
messages, the handshake, authorisation, streams and the services they open
(the device side of AOSP ``adb/protocol.txt``). :class:`~.adbd.VirtualAdbd`
accepts the connections; this is what each one speaks.

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
    :meth:`~.adbd.VirtualAdbd.unauthorized` is on. Features: :data:`~.adbd.DEFAULT_FEATURES`
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
    sub-protocol of :mod:`.sync` (SEND, RECV, STAT, LIST, QUIT …).
    ``localabstract:<name>`` → the behaviour's ``abstract_socket(name)``: the
    process listening on that abstract socket (scrcpy-server); nobody
    listening (or a behaviour without the method) → CLSE with no OKAY, as
    adbd answers when its connect fails. Anything else → CLSE.

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

Robustness: a malformed message (bad magic, oversized or truncated payload,
bad CNXN) closes that TCP connection with a log line; a failing behaviour
closes only its stream.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import struct
from typing import TYPE_CHECKING, Callable

from .sync import serve_sync

if TYPE_CHECKING:
    from .adbd import VirtualAdbd

__all__ = [
    "A_SYNC", "A_CNXN", "A_AUTH", "A_OPEN", "A_OKAY", "A_CLSE", "A_WRTE", "A_STLS",
    "A_VERSION", "A_VERSION_MIN", "HEADER", "MAX_PAYLOAD", "MAX_PAYLOAD_V1", "ProtocolError",
    "pack_message", "Connection",
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

# How long a service may go on after the host closed its stream before it is
# cancelled (a process getting SIGHUP). Long enough to notice ``read() == b""``.
HANGUP_GRACE = 0.5

# The host may have one WRTE per stream waiting for our OKAY; a few more are
# tolerated, a flood closes the connection.
_MAX_UNACKED = 16


class ProtocolError(Exception):
    """The host sent something that is not ADB: the connection is closed."""


def pack_message(command: int, arg0: int, arg1: int, payload: bytes = b"") -> bytes:
    """One ADB message: header (with the payload's byte sum) and payload."""
    return HEADER.pack(command, arg0 & 0xFFFFFFFF, arg1 & 0xFFFFFFFF, len(payload),
                       sum(payload) & 0xFFFFFFFF, command ^ 0xFFFFFFFF) + payload


class _Stream:
    """One ADB stream on the device side; the ``ShellIO`` a service gets."""

    def __init__(self, conn: Connection, local_id: int, remote_id: int, service: str):
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


class Connection:
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
        if name == "localabstract" and not options:
            # adbd connects to the abstract socket first; nobody listening: CLSE, no OKAY
            find = getattr(self.adbd.behaviour, "abstract_socket", None)
            accept = find(argument) if find is not None and argument else None
            return None if accept is None else accept
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
