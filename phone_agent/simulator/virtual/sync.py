"""adbd's file sub-protocol: what a ``sync:`` stream speaks (AOSP
``file_sync_protocol.h``, ``daemon/file_sync_service.cpp``).

Requests are an id and a length (``<4sI``) then that many bytes (a path):
``SEND`` (``path,mode``) then ``DATA`` chunks of at most 64 KiB and ``DONE``
(carrying the mtime) → ``OKAY``; ``RECV`` → ``DATA`` … ``DONE``; ``STAT``
(v1, an lstat); ``STA2``/``LST2`` (answered although not advertised);
``LIST``/``LIS2`` (always empty: a behaviour has no directory listing);
``QUIT``. Errors answer ``FAIL`` with a message and end the stream. The
stream is parsed as bytes, so one WRTE may carry several requests and a
request may span WRTEs.

The files themselves are the behaviour's (``push``, ``pull``, ``stat`` of
:class:`~.behaviour.DeviceBehaviour`).
"""

from __future__ import annotations

import contextlib
import logging
import struct

from .behaviour import DeviceBehaviour, ShellIO

__all__ = ["SYNC_DATA_MAX", "SYNC_PATH_MAX", "serve_sync"]

log = logging.getLogger(__name__)

SYNC_DATA_MAX = 64 * 1024       # file_sync_protocol.h
SYNC_PATH_MAX = 1024
_STAT_V1 = struct.Struct("<4sIII")
_STAT_V2 = struct.Struct("<4sIQQIIIIQqqq")
_DENT_V1_SIZE = 20
_DENT_V2_SIZE = 76
_ENOENT = 2                     # errno on the wire is Linux's
_SHELL_UID = 2000


def _strtoul(text: str) -> int | None:
    """``strtoul(text, nullptr, 0)`` as adbd parses the SEND mode: 0x…, 0…, decimal."""
    text = text.strip()
    try:
        if text[:2].lower() == "0x":
            return int(text[2:], 16)
        if len(text) > 1 and text[0] == "0":
            return int(text[1:], 8)
        return int(text, 10)
    except ValueError:
        return None


class _ByteStream:
    """A stream's incoming bytes, read by exact counts across WRTE boundaries."""

    def __init__(self, stream: ShellIO):
        self.stream = stream
        self.buffer = bytearray()
        self.position = 0

    async def read_exactly(self, count: int) -> bytes:
        while len(self.buffer) - self.position < count:
            chunk = await self.stream.read()
            if not chunk:
                raise EOFError
            if self.position:
                del self.buffer[:self.position]
                self.position = 0
            self.buffer += chunk
        start = self.position
        self.position += count
        return bytes(self.buffer[start:self.position])


async def serve_sync(stream: ShellIO, behaviour: DeviceBehaviour, name: str) -> None:
    """Answer the requests of one ``sync:`` stream until QUIT, EOF or a FAIL
    (``name``: the connection, for the log)."""
    await _Sync(stream, behaviour, name).serve()


class _Sync:
    def __init__(self, stream: ShellIO, behaviour: DeviceBehaviour, name: str):
        self.stream = stream
        self.behaviour = behaviour
        self.name = name
        self.incoming = _ByteStream(stream)

    async def serve(self) -> None:
        incoming = self.incoming
        while True:
            try:
                ident, length = struct.unpack("<4sI", await incoming.read_exactly(8))
            except EOFError:
                return
            if ident == b"QUIT":
                log.debug("%s: sync QUIT", self.name)
                return
            if length > SYNC_PATH_MAX:
                await self._fail("path too long")
                return
            try:
                name = (await incoming.read_exactly(length)).decode("utf-8", "surrogateescape")
            except EOFError:
                return
            log.debug("%s: sync %s %r", self.name, ident.decode("latin-1"), name)
            try:
                if not await self._request(ident, name):
                    return
            except EOFError:
                return

    async def _request(self, ident: bytes, name: str) -> bool:
        behaviour, stream = self.behaviour, self.stream
        if ident == b"STAT":
            found = await behaviour.stat(name)
            mode, size, mtime = found or (0, 0, 0)
            await stream.write(_STAT_V1.pack(b"STAT", mode & 0xFFFFFFFF, size & 0xFFFFFFFF,
                                             mtime & 0xFFFFFFFF))
            return True
        if ident in (b"STA2", b"LST2"):
            found = await behaviour.stat(name)
            if found is None:
                reply = _STAT_V2.pack(ident, _ENOENT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            else:
                mode, size, mtime = found
                reply = _STAT_V2.pack(ident, 0, 0, 0, mode, 1, _SHELL_UID, _SHELL_UID, size,
                                      mtime, mtime, mtime)
            await stream.write(reply)
            return True
        if ident == b"LIST":
            await stream.write(b"DONE" + bytes(_DENT_V1_SIZE - 4))
            return True
        if ident == b"LIS2":
            await stream.write(b"DONE" + bytes(_DENT_V2_SIZE - 4))
            return True
        if ident == b"SEND":
            return await self._send(name)
        if ident == b"RECV":
            return await self._recv(name)
        await self._fail(f"unknown command {int.from_bytes(ident, 'little'):08x}")
        return False

    async def _send(self, spec: str) -> bool:
        path, comma, mode_text = spec.rpartition(",")
        if not comma:
            await self._fail("missing , in ID_SEND_V1")
            return False
        mode = _strtoul(mode_text)
        if mode is None:
            await self._fail("bad mode")
            return False
        chunks: list[bytes] = []
        while True:
            ident, size = struct.unpack("<4sI", await self.incoming.read_exactly(8))
            if ident == b"DATA":
                if size > SYNC_DATA_MAX:
                    await self._fail("oversize data message")
                    return False
                chunks.append(await self.incoming.read_exactly(size))
            elif ident == b"DONE":
                mtime = size
                break
            else:
                await self._fail("invalid data message")
                return False
        try:
            await self.behaviour.push(path, b"".join(chunks), mode, mtime)
        except OSError as exc:
            await self._fail(exc.strerror or str(exc) or "couldn't create file")
            return False
        except Exception as exc:  # noqa: BLE001 — the client gets a FAIL, the log the trace
            log.exception("%s: push to %r failed", self.name, path)
            await self._fail(f"couldn't create file: {exc}")
            return False
        await self.stream.write(b"OKAY" + bytes(4))
        return True

    async def _recv(self, path: str) -> bool:
        try:
            data = await self.behaviour.pull(path)
        except OSError as exc:
            await self._fail(f"open failed: {exc.strerror or exc}")
            return False
        if data is None:
            await self._fail("open failed: No such file or directory")
            return False
        reply = bytearray()
        view = memoryview(data)
        for offset in range(0, len(view), SYNC_DATA_MAX):
            chunk = view[offset:offset + SYNC_DATA_MAX]
            reply += b"DATA" + struct.pack("<I", len(chunk))
            reply += chunk
        reply += b"DONE" + bytes(4)
        await self.stream.write(bytes(reply))
        return True

    async def _fail(self, message: str) -> None:
        text = message.encode("utf-8", "replace")
        log.info("%s: sync FAIL %s", self.name, message)
        with contextlib.suppress(BrokenPipeError):
            await self.stream.write(b"FAIL" + struct.pack("<I", len(text)) + text)
