"""The virtual handset's audio helper: the speakerphone path of
:mod:`phone_agent.telephony.adb`, answered as the pushed helper jar would::

    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio record 8000
    CLASSPATH=… app_process / mobilears.Audio play FILE

``record`` streams the microphone as raw PCM16LE 8 kHz mono until stdin
closes — the voter's line noise, their "여보세요", their key presses as real
DTMF tone audio with noise (the material of the sim backend, from
:mod:`phone_agent.simulator.sounds`) and a faint echo of the announcement —,
paced in real time at the handset's speed. ``play`` prints ``playing <ms>``,
plays a pushed WAV, prints ``done``, and stops early when stdin closes; it
is the moment the active voter's first announcement starts counting. The
helper only runs if its jar is on the phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import io as _io
import re
import wave
from typing import Awaitable, Callable

import numpy as np

from ..sounds import RATE, echo, mix, noise_bank, wav_audio
from ..voter import VoterModel
from .shell import Storage
from .telecom import Call, Clock, Telecom

__all__ = ["AUDIO_HELPER_CLASS", "AUDIO_HELPER_JAR", "AudioHelper"]

AUDIO_HELPER_JAR = "/data/local/tmp/mobile-ars-audio.jar"
AUDIO_HELPER_CLASS = "mobilears.Audio"

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
        self._plays: list[tuple[int, np.ndarray, Call]] = []  # announcement echo

    def command(self, command: str) -> Handler | None:
        """The handler of an ``app_process`` command line (None: not one)."""
        m = _COMMAND.match(command)
        if not m:
            return None
        jar, cls, rest = m.groups()
        if jar not in self.storage.files or cls != AUDIO_HELPER_CLASS:
            async def missing(io):
                await io.write(f"Error: Could not find class '{cls}' in {jar}\n".encode())
                return 1
            return missing
        words = rest.split()
        if words[:1] == ["record"]:
            rate = int(words[1]) if len(words) > 1 and words[1].isdigit() else RATE
            return lambda io: self._record(io, rate)
        if words[:1] == ["play"] and len(words) >= 2:
            return lambda io: self._play(io, " ".join(words[1:]))

        async def usage(io):
            await io.write(b"usage: mobilears.Audio record RATE | play FILE\n")
            return 2
        return usage

    async def _record(self, io, rate: int) -> int:
        """The microphone as PCM16LE mono at 8 kHz, paced in real time."""
        if rate != RATE:
            await io.write(f"error: only {RATE} Hz is supported\n".encode())
            return 2
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

    async def _play(self, io, path: str) -> int:
        data = self.storage.file(path)
        if data is None:
            await io.write(f"error: {path}: No such file or directory\n".encode())
            return 1
        try:
            duration, samples = wav_audio(_io.BytesIO(data))
        except (wave.Error, EOFError) as exc:
            await io.write(f"error: {path}: not a playable WAV ({exc})\n".encode())
            return 1
        await io.write(f"playing {int(duration * 1000)}\n".encode())
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
