"""The virtual handset's audio helper: the speakerphone path of
:mod:`phone_agent.telephony.adb`, answered as the helper jar built from
:mod:`phone_agent.android` answers on a phone::

    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio version
    CLASSPATH=… app_process / mobilears.Audio record 8000
    CLASSPATH=… app_process / mobilears.Audio play FILE [--volume 0..100] [--stream voice_call|music]

It runs only for exactly the jar that was built (by SHA-256, the file at
``CLASSPATH`` against :func:`phone_agent.android.built_jar`): with no file
there, another file, or another class name, the phone answers as Android
does when app_process finds no class — the shell prints ``Aborted``
(SIGABRT, exit code 134; the reason goes to logcat). ``version`` prints the
helper's version line. ``record`` streams the microphone as raw PCM16LE
8 kHz mono until stdin closes — the voter's line noise, their "여보세요",
their key presses as real DTMF tone audio with noise (the material of the
sim backend, from :mod:`phone_agent.simulator.sounds`) and a faint echo of
the announcement —, paced in real time at the handset's speed. ``play``
checks its options and the WAV as the real helper does (same ``Error: …``
lines), prints ``playing <ms>``, plays, prints ``done``, and stops early
when stdin closes; it is the moment the active voter's first announcement
starts counting. Both turn the speakerphone on (:attr:`AudioHelper.speakerphone`);
``play --volume`` sets the stream's volume (:attr:`AudioHelper.volumes`).
With :attr:`AudioHelper.speakerphone_refused` set, the phone's audio service
refuses the speakerphone: ``play`` prints the helper's ``warning: …`` line
before ``playing`` and plays anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io as _io
import re
import wave
from typing import Awaitable, Callable

import numpy as np

from ...android import HELPER_CLASS, PHONE_PATH, VERSION_LINE, HelperNotBuilt, built_jar, jar_digest
from ..sounds import RATE, echo, mix, noise_bank, wav_audio
from ..voter import VoterModel
from .shell import Storage
from .telecom import Call, Clock, Telecom

__all__ = ["AUDIO_HELPER_CLASS", "AUDIO_HELPER_JAR", "AudioHelper"]

AUDIO_HELPER_JAR = PHONE_PATH
AUDIO_HELPER_CLASS = HELPER_CLASS
USAGE = ("Error: usage: mobilears.Audio version | play FILE [--volume 0..100] "
         "[--stream voice_call|music] | record RATE\n")
STREAMS = {"voice_call": 0, "music": 3}  # AudioManager's stream numbers

_COMMAND = re.compile(r"^\s*CLASSPATH=(\S+)\s+(?:exec\s+)?app_process\s+\S+\s+(\S+)\s+(.*)$")

Handler = Callable[[object], Awaitable[int]]


class AudioHelper:
    """The helper's two commands over a handset's calls and files."""

    def __init__(self, clock: Clock, telecom: Telecom, storage: Storage, voters: VoterModel,
                 frame_s: float):
        self.clock = clock
        self.telecom = telecom
        self.storage = storage
        self.voters = voters
        self.frame_s = frame_s
        self.mic_streams = 0  # record streams open now
        self.speakerphone = False  # turned on by the helper's play or record
        self.volumes: dict[int, int] = {}  # stream -> volume in % set by play --volume
        # A phone whose audio service refuses the shell's speakerphone request:
        # the exception the helper reports (it warns and plays anyway).
        self.speakerphone_refused: str | None = None
        self._plays: list[tuple[int, np.ndarray, Call]] = []  # announcement echo

    def command(self, command: str) -> Handler | None:
        """The handler of an ``app_process`` command line (None: not one)."""
        m = _COMMAND.match(command)
        if not m:
            return None
        jar, cls, rest = m.groups()
        if cls != AUDIO_HELPER_CLASS or not self.runs(jar):
            return _aborted
        words = rest.split()
        if words == ["version"]:
            return lambda io: _say(io, VERSION_LINE + "\n", 0)
        if words[:1] == ["record"]:
            rate = int(words[1]) if len(words) == 2 and words[1].isdigit() else 0
            if not 8000 <= rate <= 48000:
                return lambda io: _say(io, "Error: record needs RATE, 8000..48000\n", 1)
            return lambda io: self._record(io, rate)
        if words[:1] == ["play"]:
            try:
                path, stream, volume = play_options(words[1:])
            except ValueError as exc:
                message = f"Error: {exc}\n"
                return lambda io: _say(io, message, 1)
            return lambda io: self._play(io, path, stream, volume)
        return lambda io: _say(io, USAGE, 2)

    def runs(self, jar: str) -> bool:
        """Whether the file at ``jar`` is the helper that was built."""
        data = self.storage.file(jar)
        if data is None:
            return False
        try:
            size, sha = jar_digest(built_jar())
        except (HelperNotBuilt, OSError):
            return False
        return len(data) == size and hashlib.sha256(data).hexdigest() == sha

    async def _record(self, io, rate: int) -> int:
        """The microphone as PCM16LE mono at 8 kHz, paced in real time."""
        if rate != RATE:
            await io.write(f"Error: the virtual microphone records {RATE} Hz only\n".encode())
            return 1
        self.speakerphone = self.speakerphone or not self.speakerphone_refused
        self.mic_streams += 1
        loop = asyncio.get_running_loop()
        closed = asyncio.Event()

        async def watch_stdin():
            with contextlib.suppress(Exception):
                while await io.read():
                    pass
            closed.set()

        watcher = loop.create_task(watch_stdin())
        n = max(1, int(round(self.frame_s * RATE)))
        pos = self.clock.sample()
        start_wall, start_pos = loop.time(), pos
        try:
            while not closed.is_set():
                end = pos + n
                due = start_wall + (end - start_pos) / RATE / self.clock.speed
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(closed.wait(), max(0.0, due - loop.time()))
                if closed.is_set():
                    break
                try:
                    await io.write(self._render(pos, end))
                except (BrokenPipeError, ConnectionError):
                    break
                pos = end
        finally:
            watcher.cancel()
            self.mic_streams -= 1
        return 0

    def _render(self, start: int, end: int) -> bytes:
        n = end - start
        bank = noise_bank(self.voters.noise_dbfs)
        if n > len(bank):
            bank = np.resize(bank, n)
        off = (start * 7919) % (len(bank) - n + 1)
        telecom = self.telecom
        telecom.sounds = [s for s in telecom.sounds if s[0] + len(s[1]) > start - RATE]
        self._plays = [s for s in self._plays if s[0] + len(s[1]) > start - RATE]
        return mix(bank[off:off + n], start, [(s0, audio) for s0, audio, call in telecom.sounds + self._plays
                                             if self._audible(call)])

    @staticmethod
    def _audible(call: Call) -> bool:
        node = call.parent or call
        return call.live and node.state == "ACTIVE" and call.state in ("ACTIVE",)

    async def _play(self, io, path: str, stream: int, volume: int | None) -> int:
        data = self.storage.file(path)
        if data is None:
            await io.write(f"Error: {path}: open failed: ENOENT (No such file or directory)\n".encode())
            return 1
        problem = wav_problem(data)
        if problem is not None:
            await io.write(f"Error: {path}: {problem}\n".encode())
            return 1
        try:
            duration, samples = wav_audio(_io.BytesIO(data))
        except (wave.Error, EOFError) as exc:
            await io.write(f"Error: {path}: not a complete WAV file ({exc})\n".encode())
            return 1
        if self.speakerphone_refused:
            await io.write(f"warning: could not turn the speakerphone on: {self.speakerphone_refused}\n".encode())
        else:
            self.speakerphone = True
        if volume is not None:
            self.volumes[stream] = volume
        with wave.open(_io.BytesIO(data)) as w:
            frames, rate = w.getnframes(), w.getframerate()
        await io.write(f"playing {frames // rate * 1000 + frames % rate * 1000 // rate}\n".encode())
        voter = next((c for c in self.telecom.calls
                      if c.kind in ("voter", "caller") and c.state == "ACTIVE"), None)
        entry = None
        if voter is not None:
            voter.intro_started.set()
            if samples is not None and self.voters.echo_db is not None:
                entry = (self.clock.sample(), echo(samples, self.voters.echo_db), voter)
                self._plays.append(entry)
        loop = asyncio.get_running_loop()
        closed = loop.create_task(io.read())
        try:
            await asyncio.wait_for(asyncio.shield(closed), duration / self.clock.speed)
        except asyncio.TimeoutError:
            with contextlib.suppress(BrokenPipeError, ConnectionError):
                await io.write(b"done\n")
            return 0
        finally:
            closed.cancel()
            if entry in self._plays:
                self._plays.remove(entry)
        return 0  # stopped: stdin closed


def play_options(words: list[str]) -> tuple[str, int, int | None]:
    """``play``'s arguments as the helper reads them: (file, stream, volume);
    ValueError with the helper's own message."""
    path, stream, volume = None, STREAMS["voice_call"], None
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("--volume", "--stream"):
            i += 1
            if i >= len(words):
                raise ValueError(f"{word} needs a value")
            value = words[i]
            if word == "--volume":
                if not (value.lstrip("-").isdigit() and 0 <= int(value) <= 100):
                    raise ValueError(f"--volume must be 0..100, not {value}")
                volume = int(value)
            elif value in STREAMS:
                stream = STREAMS[value]
            else:
                raise ValueError(f"--stream must be voice_call or music, not {value}")
        elif path is None:
            path = word
        else:
            raise ValueError(f"unexpected argument: {word}")
        i += 1
    if path is None:
        raise ValueError("play needs a FILE")
    return path, stream, volume


def wav_problem(data: bytes) -> str | None:
    """What the helper refuses in a WAV file (its own words), or None."""
    if data[:4] != b"RIFF":
        return "not a WAV file (no RIFF header)"
    if data[8:12] != b"WAVE":
        return "not a WAV file (no WAVE tag)"
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt " and len(body) >= 16:
            fmt = (int.from_bytes(body[0:2], "little"), int.from_bytes(body[2:4], "little"),
                   int.from_bytes(body[4:8], "little"), int.from_bytes(body[14:16], "little"))
        elif cid == b"data":
            if fmt is None or fmt[2] == 0:
                return "no fmt chunk before the data"
            tag, channels, rate, bits = fmt
            if tag != 1 or bits != 16:
                return f"not 16-bit PCM (format {tag}, {bits} bits)"
            if channels not in (1, 2):
                return f"{channels} channels (1 or 2 are played)"
            if not 4000 <= rate <= 48000:
                return f"{rate} Hz (4000..48000 are played)"
            return None
        pos += 8 + size + (size & 1)
    return "not a complete WAV file (no data chunk)"


async def _say(io, text: str, code: int) -> int:
    await io.write(text.encode())
    return code


async def _aborted(io) -> int:
    """Android's answer when app_process finds no such class in the jar:
    the runtime aborts (the reason goes to logcat) and the shell says so."""
    await io.write(b"Aborted\n")
    return 134
