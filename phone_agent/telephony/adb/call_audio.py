"""The call's audio for the DTMF detector: PCM16LE 8 kHz mono from the
source the probe chose (:mod:`.probe`), through scrcpy-server
(:mod:`.scrcpy`), checked in the call and replaced when it fails.

Without a probe result yet (the backend used before ``ready()``) every
source starts as ``untested``: a call has no time for the whole probe.
A source not yet known to carry a call is judged on its first
:data:`~.probe.VERIFY_S` seconds in it: if it delivers digital silence
(a HAL that does not route the call to capture) or refuses to start, the
probe's result records it and the next source (voice-call-downlink →
voice-call → mic) takes over in the same call, so the voter's "1" is still
heard. With no source left the phone's path is ``none``: ``AudioError``,
and the backend's ``ready()`` keeps the phone from further calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING, AsyncIterator

import adbutils

from ..base import ACTIVE, VOTER, AudioError, DeviceUnavailable
from .probe import RATE, VERIFY_S, heard, result, verdict
from .scrcpy import SOURCES, Capture
from .server_file import ServerFileError

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["call_frames"]


async def call_frames(backend: "AdbTelephony", chunk_s: float = 0.1) -> AsyncIterator[bytes]:
    """Yield the active voter call's audio until the call ends (see the module docstring)."""
    probe = backend.audio_probe
    if probe is None:  # never probed: no time for it in a call; judge each source as it comes
        android = backend.props.get("ro.build.version.release", "") or "unknown"
        probe = backend.audio_probe = result(android, {s: "untested" for s in SOURCES}, "untested")
    while True:
        if probe["path"] == "none":
            raise AudioError(f"no call audio: {probe['problem']}")
        source = probe["capture"]
        capture = Capture(backend, source)
        try:
            await capture.start()
        except DeviceUnavailable as exc:
            raise AudioError(f"no call audio: {exc}") from None
        except ServerFileError:
            raise
        except AudioError:  # codec 0, or the server did not start: the next source
            probe = backend.audio_probe = heard(probe, source, "refused")
            continue
        judged = probe["sources"][source] == "signal"
        first = b""
        silent = False
        try:
            async with contextlib.aclosing(_pump(backend, capture, chunk_s)) as chunks:
                async for chunk in chunks:
                    yield chunk
                    if not judged:
                        first += chunk
                        if len(first) >= VERIFY_S * RATE * 2:
                            judged = True
                            what = verdict(first)
                            probe = backend.audio_probe = heard(probe, source, what)
                            silent = what == "silent"
                            if silent:
                                break  # the next source, same call
                    leg = backend.tracker.live(VOTER)
                    if leg is None or leg.state != ACTIVE:
                        return
        finally:
            await capture.close()
        if not silent:
            return


async def _pump(backend: "AdbTelephony", capture: Capture, chunk_s: float) -> AsyncIterator[bytes]:
    """``capture.read()`` in a thread of its own, in chunks of at least ``chunk_s``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                chunk = capture.read()
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
                if not chunk:
                    return
        except (OSError, EOFError, adbutils.AdbError, AudioError) as exc:
            if not stop.is_set():
                loop.call_soon_threadsafe(queue.put_nowait, exc)

    thread = threading.Thread(target=reader, name=f"scrcpy-{backend.serial}", daemon=True)
    thread.start()
    want = int(chunk_s * RATE) * 2
    pending = b""
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise AudioError(f"call audio lost: {item}")
            if not item:
                leg = backend.tracker.live(VOTER)
                if leg is not None and leg.state == ACTIVE:
                    raise AudioError(f"scrcpy-server stopped sending the call's audio: "
                                     f"{capture.messages() or 'no message'}")
                return
            pending += item
            if len(pending) >= want:
                chunk, pending = pending, b""
                yield chunk
    finally:
        stop.set()
