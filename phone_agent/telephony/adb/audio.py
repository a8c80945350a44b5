"""Where the adb backend plays announcements and hears the call:
:class:`AudioPath` and its two kinds.

Stock Android has no shell command that plays a file or records the
microphone. The speakerphone path uses a small helper run the way
scrcpy-server runs (``app_process`` as the shell user, which may record and
play audio): :data:`AUDIO_HELPER_JAR` pushed to ``/data/local/tmp``::

    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio record 8000
        → raw PCM16LE 8 kHz mono on stdout (AudioRecord, source MIC) until stdin closes
    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio play FILE
        → "playing <ms>", plays FILE on the loudspeaker (in-call speakerphone), "done";
          stops when stdin closes

each on an ``exec:`` stream (raw, no PTY: the bytes are exactly the PCM). The
jar is **not** part of this repository (it needs the Android SDK to build);
without it the backend's call control works and ``play``/``frames`` raise
:class:`~phone_agent.telephony.base.AudioError` naming the missing file.
The virtual handset serves both commands. The call is heard (``frames``)
through scrcpy-server instead (:mod:`.call_audio`, :mod:`.scrcpy`): the
helper's ``record`` is MIC only, which scrcpy-server's ``mic`` source
covers, beside the call's own sources. :class:`AnnouncementDeviceAudio`
marks where announcement device cards (멘트장비카드, a box on the phone's
audio jack) would plug in.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

import adbutils

from ..base import ACTIVE, VOTER, AudioError
from .call_audio import call_frames
from .transport import close_quietly

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["AUDIO_HELPER_CLASS", "AUDIO_HELPER_JAR", "RATE", "AnnouncementDeviceAudio", "AudioPath",
           "SpeakerphoneAudio"]

AUDIO_HELPER_JAR = "/data/local/tmp/mobile-ars-audio.jar"
AUDIO_HELPER_CLASS = "mobilears.Audio"
RATE = 8000


class AudioPath:
    """Where announcements are played and the call audio is heard."""

    async def play(self, backend: "AdbTelephony", path: Path) -> bool:
        raise NotImplementedError

    async def stop(self, backend: "AdbTelephony") -> None:
        raise NotImplementedError

    def frames(self, backend: "AdbTelephony") -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def check(self, backend: "AdbTelephony") -> None:
        """AudioError naming what the path lacks to play and listen now."""


class AnnouncementDeviceAudio(AudioPath):
    """Seed 000's announcement device cards (멘트장비카드, "9001…" on the router
    LAN): an external box on the phone's audio jack that plays announcements
    into the call and hears the voter's keys. Not modelled yet: the device's
    protocol is unknown. This is the place it plugs in — ``play`` sends the
    announcement to the card and returns when it finished, ``frames`` yields
    what the card hears (PCM16LE 8 kHz mono) or the card reports DTMF itself.
    """

    def __init__(self, address: str | None = None):
        self.address = address

    async def play(self, backend, path):
        raise NotImplementedError("announcement device cards (멘트장비카드) are not supported yet; "
                                  "use the speakerphone audio path")

    async def stop(self, backend):
        raise NotImplementedError("announcement device cards (멘트장비카드) are not supported yet")

    def frames(self, backend):
        raise NotImplementedError("announcement device cards (멘트장비카드) are not supported yet")

    async def check(self, backend):
        raise AudioError("announcement device cards (멘트장비카드) are not supported yet")


class SpeakerphoneAudio(AudioPath):
    """Play the announcement on the phone's loudspeaker and listen with its
    microphone, through the audio helper (see the module docstring).

    Limits: the voter hears the announcement through the air (speaker →
    microphone → the call), so quality depends on the handset and its echo
    canceller, and room noise reaches the voter; the microphone hears the
    voter's key tones as the phone's earpiece/speaker plays them (the
    network may also send keys out of band — RFC 4733 on VoLTE — in which
    case the far end's in-band tone is what the phone regenerates). Android
    10 cannot capture audio from the shell (scrcpy's experience: 11 needs the
    screen unlocked at start, 12+ works); and whether an app_process of the
    shell user is allowed the microphone during a cellular call (Android 10+
    silences ordinary apps then; the shell holds CAPTURE_AUDIO_OUTPUT, which
    exempts it) must be verified per handset.
    """

    def __init__(self, jar: str = AUDIO_HELPER_JAR, chunk_s: float = 0.1):
        self.jar = jar
        self.chunk_s = chunk_s
        self._play_conn: adbutils.AdbConnection | None = None
        self._play_lock = threading.Lock()

    def command(self, *args: str) -> str:
        return f"CLASSPATH={self.jar} app_process / {AUDIO_HELPER_CLASS} " + " ".join(args)

    async def check(self, backend: "AdbTelephony") -> None:
        await backend.require_audio_helper(self.jar)

    async def play(self, backend: "AdbTelephony", path: Path) -> bool:
        await backend.require_audio_helper(self.jar)
        remote = await backend.push_asset(path, scan=False)
        await self.stop(backend)
        conn = await backend.open_stream("exec:" + self.command("play", remote))
        sock = conn.conn
        with self._play_lock:
            self._play_conn = conn
        try:
            first = await self._line(backend, conn, sock, 15.0)
            if first is None:
                return False
            if not first.startswith("playing"):
                raise AudioError(f"the phone could not play {path.name}: {first.strip() or 'no answer'}")
            words = first.split()
            ms = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
            last = await self._line(backend, conn, sock, ms / 1000.0 + 15.0)
            return last is not None and last.strip() == "done"
        finally:
            with self._play_lock:
                if self._play_conn is conn:
                    self._play_conn = None
            await backend._run_blocking(close_quietly, conn)

    async def _line(self, backend, conn, sock, timeout: float) -> str | None:
        """The helper's next line; None when stop() closed the stream."""
        try:
            return await backend._run_blocking(_read_line, sock, timeout)
        except (OSError, EOFError, adbutils.AdbError) as exc:
            with self._play_lock:
                stopped = self._play_conn is not conn
            if stopped:
                return None
            raise backend._lost(exc) from None

    async def stop(self, backend: "AdbTelephony") -> None:
        with self._play_lock:
            conn, self._play_conn = self._play_conn, None
        if conn is not None:
            await backend._run_blocking(close_quietly, conn)

    async def frames(self, backend: "AdbTelephony") -> AsyncIterator[bytes]:
        """The call as the phone's capture source hears it, through scrcpy-server
        (:mod:`.call_audio`: the source the probe chose, checked in the call)."""
        leg = backend.tracker.live(VOTER)
        if leg is None or leg.state != ACTIVE:
            return
        async with contextlib.aclosing(call_frames(backend, self.chunk_s)) as chunks:
            async for chunk in chunks:
                yield chunk


def _read_line(sock: socket.socket, timeout: float) -> str:
    """One line from a raw stream ('' at its end)."""
    sock.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = sock.recv(1)
        except socket.timeout:
            raise AudioError(f"the phone's audio helper did not answer within {timeout:.0f} s") from None
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")
