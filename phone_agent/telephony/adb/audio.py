"""Where the adb backend plays announcements and hears the call:
:class:`AudioPath` and its two kinds.

Stock Android has no shell command that plays a file or records the
microphone. The speakerphone path uses a small helper run the way
scrcpy-server runs (``app_process`` as the shell user, which may record and
play audio): :data:`AUDIO_HELPER_JAR` on the phone, built in this
repository from smali sources (:mod:`phone_agent.android`,
``scripts/build-helper``) and pushed by the backend when the phone lacks it
or holds another file there (:mod:`.helper`)::

    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio version
        → "mobile-ars-audio 1"
    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio record 8000
        → raw PCM16LE 8 kHz mono on stdout (AudioRecord, source MIC) until stdin closes
    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio play FILE \
            [--volume 0..100] [--stream voice_call|music]
        → "warning: …" lines (the speakerphone or the volume could not be set; it plays anyway),
          "playing <ms>", plays FILE (a PCM16 WAV) with AudioTrack on the speakerphone,
          "done"; stops, without "done", when stdin closes

A failure prints one line ``Error: …``; a jar app_process cannot load makes
the shell print ``Aborted``. Each runs on an ``exec:`` stream (raw, no PTY:
the bytes are exactly the PCM). Without the built jar the backend's call
control works and ``check``/``play`` raise
:class:`~phone_agent.telephony.base.AudioError` saying how to build it.
The virtual handset serves the same commands for exactly the built jar.
The call is heard (``frames``) through scrcpy-server instead
(:mod:`.call_audio`, :mod:`.scrcpy`): the helper's ``record`` is MIC only,
which scrcpy-server's ``mic`` source covers, beside the call's own sources.
:class:`AnnouncementDeviceAudio` marks where announcement device cards
(멘트장비카드, a box on the phone's audio jack) would plug in.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

import adbutils

from ...android import HELPER_CLASS, PHONE_PATH
from ..base import ACTIVE, VOTER, AudioError
from .call_audio import call_frames
from .helper import helper_command
from .transport import close_quietly

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["AUDIO_HELPER_CLASS", "AUDIO_HELPER_JAR", "RATE", "AnnouncementDeviceAudio", "AudioPath",
           "SpeakerphoneAudio"]

log = logging.getLogger(__name__)

AUDIO_HELPER_JAR = PHONE_PATH
AUDIO_HELPER_CLASS = HELPER_CLASS
STREAMS = ("voice_call", "music")
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
    """Play the announcement on the phone's loudspeaker through the audio
    helper, and hear the call through scrcpy-server from the source the
    phone's probe chose (the voter's side, the whole call, or the microphone).

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

    def __init__(self, jar: str = AUDIO_HELPER_JAR, chunk_s: float = 0.1, *, local_jar: Path | None = None,
                 volume: int | None = 80, stream: str = "voice_call"):
        if volume is not None and not 0 <= volume <= 100:
            raise ValueError(f"volume must be 0..100, not {volume}")
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {', '.join(STREAMS)}, not {stream!r}")
        self.jar = jar
        self.chunk_s = chunk_s
        self.local_jar = local_jar  # None: the built jar (phone_agent.android.built_jar)
        self.volume = volume  # the stream's volume, % of its maximum; None: leave it
        self.stream = stream
        self._play_conn: adbutils.AdbConnection | None = None
        self._play_lock = threading.Lock()

    def command(self, *args: str) -> str:
        return helper_command(self.jar, *args)

    def play_command(self, remote: str) -> str:
        options = ["--stream", self.stream] + (["--volume", str(self.volume)] if self.volume is not None else [])
        return self.command("play", remote, *options)

    async def check(self, backend: "AdbTelephony") -> None:
        await backend.require_audio_helper(self.jar, self.local_jar)

    async def play(self, backend: "AdbTelephony", path: Path) -> bool:
        await backend.require_audio_helper(self.jar, self.local_jar)
        remote = await backend.push_asset(path, scan=False)
        await self.stop(backend)
        conn = await backend.open_stream("exec:" + self.play_command(remote))
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
            close_quietly(conn)  # never blocks: no await to be cut short

    async def _line(self, backend, conn, sock, timeout: float) -> str | None:
        """The helper's next line but its warnings (logged); None when stop()
        closed the stream."""
        try:
            while True:
                line = await backend._run_blocking(_read_line, sock, timeout)
                if not line.startswith("warning:"):
                    return line
                log.warning("%s: audio helper: %s", backend.serial, line.strip()[9:])
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
            close_quietly(conn)  # never blocks: no await to be cut short

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
