"""Hearing a call through scrcpy-server v3.3.4 (the host side).

Android gives ordinary apps no way to record a call. The adb shell user is
not an ordinary app: it holds CAPTURE_AUDIO_OUTPUT, and a program it starts
with ``app_process`` may open ``AudioRecord`` on the call's sources. scrcpy-
server (Apache-2.0, Genymobile) is such a program, and it can send one
source as raw PCM. :class:`Capture` is one run of it for one source:

1. the pinned file (:mod:`.server_file`) is pushed to :data:`SERVER_REMOTE`
   over ``sync:`` and verified on the phone by size and SHA-256, once per
   connection, as the backend pushes announcements;
2. the server starts on an ``exec:`` stream (raw, no PTY) with
   :func:`server_command`: audio only, ``audio_codec=raw``,
   ``tunnel_forward=true`` (the phone listens), ``log_level=warn`` (the
   stream carries only warnings and errors, which become our error
   messages), ``cleanup=false`` (no clean-up process, and the verified jar
   is not unlinked, so the next call does not push it again);
3. the backend opens ``localabstract:scrcpy_<scid>`` on the phone through the
   adb server — the same service stream ``adb forward`` would open for each
   connection, without a host port to allocate and remove (decision 28) —
   retrying while the server is not listening yet, and stopping early if the
   server already ended;
4. :class:`~.scrcpy_wire.AudioStreamParser` reads the dummy byte, the device
   name, the codec id (0: :class:`CaptureRefused`) and the packets;
   :class:`~.scrcpy_wire.Downsampler` makes PCM16LE 8 kHz mono of them.

Stopping closes the audio stream (the server's next write fails and it
exits, as it does when scrcpy's client goes) and then the ``exec:`` stream
(adbd hangs the process up if it is still there). Every read has a
timeout; what the phone sends is bounded by the parser.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING

import adbutils

from ..base import AudioError, DeviceUnavailable
from .errors import adb_error
from .scrcpy_wire import AudioStreamParser, CaptureRefused, Downsampler
from .server_file import SERVER_SHA256, SERVER_SIZE, SERVER_VERSION, load
from .transport import close_quietly

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["Capture", "SERVER_REMOTE", "SOURCES", "ensure_server", "server_command"]

SERVER_REMOTE = f"/data/local/tmp/scrcpy-server-v{SERVER_VERSION}.jar"
SERVER_CLASS = "com.genymobile.scrcpy.Server"
SOURCES = ("voice-call-downlink", "voice-call", "mic")  # the order they are tried in
_LOG_LIMIT = 4096  # bytes of the server's messages kept


def server_command(scid: int, source: str) -> str:
    """The ``exec:`` command line that starts the server for ``source``."""
    if source not in SOURCES:
        raise ValueError(f"unknown capture source {source!r} (one of {', '.join(SOURCES)})")
    if not 0 <= scid < 1 << 31:
        raise ValueError("scid must be a 31-bit number")
    return (f"CLASSPATH={SERVER_REMOTE} app_process / {SERVER_CLASS} {SERVER_VERSION} scid={scid:08x} "
            f"log_level=warn video=false control=false audio=true audio_codec=raw "
            f"audio_source={source} tunnel_forward=true cleanup=false")


async def ensure_server(backend: "AdbTelephony") -> None:
    """The pinned server on the phone, verified by size and SHA-256."""
    if backend.asset_store.pushed.get(SERVER_SHA256) == SERVER_REMOTE:
        return
    data = await asyncio.get_running_loop().run_in_executor(None, load, backend.scrcpy_server)
    if not await backend.asset_store.verify(SERVER_REMOTE, SERVER_SIZE, SERVER_SHA256):
        await backend.blocking(backend._link.push, data, SERVER_REMOTE)
        if not await backend.asset_store.verify(SERVER_REMOTE, SERVER_SIZE, SERVER_SHA256):
            raise AudioError("scrcpy-server arrived damaged on the phone (size or sha256 differ)")
    backend.asset_store.pushed[SERVER_SHA256] = SERVER_REMOTE


class Capture:
    """One scrcpy-server run capturing ``source``; see the module docstring.

    ``await Capture(backend, source).start()`` raises :class:`CaptureRefused`
    (codec id 0: this phone cannot capture that source now) or
    :class:`AudioError` (the server did not start, or spoke wrongly); after
    it, :meth:`read` gives PCM16LE 8 kHz mono, ``b""`` at the end.
    """

    def __init__(self, backend: "AdbTelephony", source: str, *, start_timeout_s: float = 10.0,
                 read_timeout_s: float = 5.0):
        self.backend = backend
        self.source = source
        self.start_timeout_s = start_timeout_s
        self.read_timeout_s = read_timeout_s
        self.scid = secrets.randbits(31)
        self.parser = AudioStreamParser()
        self.downsampler = Downsampler()
        self._exec: adbutils.AdbConnection | None = None
        self._audio: adbutils.AdbConnection | None = None
        self._log = bytearray()
        self._exited = threading.Event()
        self._closed = threading.Event()
        self._pending: list[bytes] = []

    @property
    def socket_name(self) -> str:
        return f"scrcpy_{self.scid:08x}"

    def messages(self) -> str:
        """What the server printed (warnings and errors), one line."""
        lines = [line.strip() for line in self._log.decode("utf-8", "replace").splitlines()]
        lines = [line.removeprefix("[server] ") for line in lines
                 if line and not line.startswith(("at ", "\tat ", "..."))]
        return "; ".join(lines)[:200]

    async def start(self) -> "Capture":
        backend = self.backend
        await ensure_server(backend)
        command = server_command(self.scid, self.source)
        self._exec = await backend.open_stream("exec:" + command)
        threading.Thread(target=self._read_log, name=f"scrcpy-log-{backend.serial}", daemon=True).start()
        try:
            await backend._run_blocking(self._connect)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, DeviceUnavailable):
                raise backend._lost(exc) from None  # the phone went away, not the server
            if isinstance(exc, (OSError, EOFError, adbutils.AdbError)):
                raise AudioError(f"scrcpy-server's audio socket failed: {exc}") from None
            raise
        return self

    def _read_log(self) -> None:
        sock = self._exec.conn
        try:
            sock.settimeout(0.5)
            while not self._closed.is_set():
                try:
                    chunk = sock.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                if len(self._log) < _LOG_LIMIT:
                    self._log += chunk[:_LOG_LIMIT - len(self._log)]
        except OSError:
            pass
        finally:
            self._exited.set()

    def _connect(self) -> None:
        """Open the server's socket (retrying until it listens) and read its header."""
        deadline = time.monotonic() + self.start_timeout_s
        link = self.backend._link
        while True:
            if self._exited.is_set():
                time.sleep(0.05)  # let the last message arrive
                raise AudioError(f"scrcpy-server ended before listening: {self.messages() or 'no message'}")
            try:
                self._audio = link.open(f"localabstract:{self.socket_name}", timeout=self.read_timeout_s)
                if self._closed.is_set():  # closed (the call ended) while this thread was opening it
                    close_quietly(self._audio)
                    raise AudioError("the capture was closed while it started")
                break
            except adbutils.AdbError as exc:
                error = adb_error(exc)
                if type(error) is not DeviceUnavailable:  # offline, unauthorized, gone: not "nobody listens"
                    raise error from None
            if time.monotonic() > deadline:
                raise AudioError(f"scrcpy-server did not listen on {self.socket_name} within "
                                 f"{self.start_timeout_s:.0f} s: {self.messages() or 'no message'}")
            time.sleep(0.05)
        sock = self._audio.conn
        while not self.parser.started:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                raise AudioError(f"scrcpy-server sent no audio header within {self.start_timeout_s:.0f} s") \
                    from None
            if not chunk:
                time.sleep(0.1)  # its last words, if any
                raise AudioError(f"scrcpy-server closed the audio socket: {self.messages() or 'no message'}")
            try:
                self._pending = self.parser.feed(chunk)
            except CaptureRefused:
                self._exited.wait(1.0)
                why = self.messages()
                raise CaptureRefused(f"{self.source}: the phone could not capture it"
                                     + (f" ({why})" if why else "")) from None

    def read(self) -> bytes:
        """The next PCM16LE 8 kHz mono (blocking; ``b""`` when the server ended)."""
        if self._pending:
            pcm, self._pending = b"".join(self._pending), []
            return self.downsampler.feed(pcm)
        sock = self._audio.conn
        sock.settimeout(self.read_timeout_s)
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                raise AudioError(f"scrcpy-server sent no audio for {self.read_timeout_s:.0f} s") from None
            if not chunk:
                return b""
            out = self.downsampler.feed(b"".join(self.parser.feed(chunk)))
            if out:
                return out

    async def close(self) -> None:
        self._closed.set()
        # On the loop, without an await: a close cut short by a second
        # cancellation would leave the sockets to the garbage collector.
        # (close_quietly only shuts the sockets down: it never blocks.)
        for conn in (self._audio, self._exec):  # the audio first: the server then exits by itself
            close_quietly(conn)
