"""The virtual handset's scrcpy-server v3.3.4: what the phone does when the
adb backend starts the real server to hear a call.

Started as scrcpy's client starts it (on an ``exec:`` stream)::

    CLASSPATH=/data/local/tmp/scrcpy-server-v3.3.4.jar app_process / com.genymobile.scrcpy.Server 3.3.4 \
        scid=0a1b2c3d log_level=warn video=false control=false audio=true audio_codec=raw \
        audio_source=voice-call-downlink tunnel_forward=true cleanup=false

it behaves as the real server does (``Server.java``, ``Options.java``,
``DesktopConnection.java``, ``Streamer.java``, ``audio/*`` at v3.3.4):

* the file at ``CLASSPATH`` must be the pinned server, checked by SHA-256;
  any other file answers as a jar without the class does (``Error: Could not
  find class …``, exit 1); a first argument other than ``3.3.4`` or a bad
  option is the server's ``[server] ERROR: …`` and exit 1;
* it listens on the abstract socket ``scrcpy_<scid as %08x>`` (a name in
  use: "Address already in use"), accepts one connection (the audio
  socket, the only one with video and control off) and stops listening;
* on that socket: the dummy byte 0, the 64-byte device name, the codec id —
  0 ("could not capture") when the phone cannot capture that source, else
  ``raw`` — then packets with 12-byte headers (PTS in µs, size), PCM s16le
  48 kHz stereo, at most 1024 frames each, paced in real time at the
  handset's speed;
* it ends when the audio socket closes (the write fails, as the real
  server's broken pipe) or when its ``exec:`` stream closes (SIGHUP).

What each source hears comes from the handset's :class:`AndroidProfile`
(``call_capture``) and its state:

=================  ====================================================================
Android 10         every source: codec 0 ("Audio disabled: it is not supported before
                   Android 11")
Android 11         codec 0 unless the screen is on and unlocked when capture starts
``"downlink"``     voice-call-downlink: the far end (the voter's line noise, voice and
                   keys); voice-call: that and our announcement; mic: the room
``"voice_call"``   voice-call-downlink starts but records digital silence (a HAL that
                   does not route the downlink to capture); voice-call and mic work
``"mic"``          both voice-call sources refused (codec 0); only mic works
=================  ====================================================================

The mic hears the room: quiet noise, and during a call the voter as the
earpiece/speaker plays them (6 dB down) and the announcement loud. Outside
a call the voice-call sources deliver digital silence (there is no call to
hear). Other sources (``output``, ``playback`` …) are not imitated: codec 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import struct
from typing import TYPE_CHECKING, Awaitable, Callable

import numpy as np

from ...telephony.adb.server_file import SERVER_SHA256, SERVER_VERSION
from ..sounds import RATE, mix, noise_bank

if TYPE_CHECKING:
    from .handset import VirtualHandset

__all__ = ["SCRCPY_CLASS", "ScrcpyServer"]

SCRCPY_CLASS = "com.genymobile.scrcpy.Server"
CODEC_RAW = 0x00726177
FRAMES_PER_PACKET = 1024
UPSAMPLE = 48_000 // RATE
IMITATED_SOURCES = ("voice-call-downlink", "voice-call", "mic")
_KNOWN_SOURCES = IMITATED_SOURCES + ("output", "playback", "mic-unprocessed", "mic-camcorder",
                                     "mic-voice-recognition", "mic-voice-communication",
                                     "voice-call-uplink", "voice-performance")
_KNOWN_OPTIONS = {"scid", "log_level", "video", "audio", "video_codec", "audio_codec", "video_source",
                  "audio_source", "audio_dup", "max_size", "video_bit_rate", "audio_bit_rate", "max_fps",
                  "angle", "tunnel_forward", "crop", "control", "display_id", "show_touches",
                  "stay_awake", "screen_off_timeout", "power_off_on_close", "clipboard_autosync",
                  "downsize_on_error", "cleanup", "power_on", "send_device_meta", "send_frame_meta",
                  "send_dummy_byte", "send_codec_meta", "raw_stream"}
_COMMAND = re.compile(r"^\s*CLASSPATH=(\S+)\s+(?:exec\s+)?app_process\s+\S+\s+(\S+)\s*(.*)$")
_LEVELS = ("verbose", "debug", "info", "warn", "error")

Handler = Callable[[object], Awaitable[int]]


class _Refuse(Exception):
    """The server ends with an error line (exit 1)."""


class ScrcpyServer:
    """scrcpy-server on one virtual handset; see the module docstring."""

    def __init__(self, handset: "VirtualHandset"):
        self.handset = handset
        self.sockets: dict[str, Callable[[object], Awaitable[None]]] = {}  # abstract name -> accept
        self.started: list[str] = []  # audio_source of every server started (tests read it)
        self.running = 0

    # -- the exec: stream ---------------------------------------------------------

    def command(self, command: str) -> Handler | None:
        """The handler of an ``app_process`` line naming scrcpy's class (None: not scrcpy's)."""
        m = _COMMAND.match(command)
        if not m or m.group(2) != SCRCPY_CLASS:
            return None
        jar, _cls, rest = m.groups()
        data = self.handset.storage.file(jar)
        if data is None or hashlib.sha256(data).hexdigest() != SERVER_SHA256:
            async def broken(io):
                await io.write(f"Error: Could not find class '{SCRCPY_CLASS}'\n".encode())
                return 1
            return broken
        return lambda io: self._run(io, rest.split())

    async def _run(self, io, args: list[str]) -> int:
        try:
            options, warnings = _parse(args)
        except _Refuse as exc:
            await _say(io, f"[server] ERROR: {exc}\n")
            return 1
        level = options.get("log_level", "debug")
        for line in warnings:
            await _log(io, level, "warn", line)
        p = self.handset.profile
        await _log(io, level, "info", f"Device: [{p.manufacturer}] {p.brand} {p.model} (Android {p.release})")
        if not (options.get("tunnel_forward") == "true" and options.get("video") == "false"
                and options.get("control") == "false" and options.get("audio", "true") == "true"
                and options.get("audio_codec") == "raw"):
            await _say(io, "[server] ERROR: this virtual handset imitates scrcpy-server only with "
                           "tunnel_forward=true video=false control=false audio=true audio_codec=raw\n")
            return 1
        scid = options.get("scid", "-1")
        name = "scrcpy" if scid == "-1" else f"scrcpy_{int(scid, 16):08x}"
        if name in self.sockets:
            await _say(io, "[server] ERROR: java.io.IOException: Address already in use\n")
            return 1
        source = options.get("audio_source", "output")
        self.started.append(source)
        connected: asyncio.Future = asyncio.get_running_loop().create_future()

        async def accept(sock):
            self.sockets.pop(name, None)  # LocalServerSocket closed after the accepts
            done = asyncio.get_running_loop().create_future()
            if not connected.done():
                connected.set_result((sock, done))
            await done
        self.sockets[name] = accept
        self.running += 1
        hangup = asyncio.ensure_future(_until_closed(io))
        try:
            await asyncio.wait({hangup, connected}, return_when=asyncio.FIRST_COMPLETED)
            if not connected.done():
                return 0  # killed before anyone connected
            sock, done = connected.result()
            try:
                stream = asyncio.ensure_future(self._stream(sock, source, options, io, level))
                await asyncio.wait({hangup, stream}, return_when=asyncio.FIRST_COMPLETED)
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError, BrokenPipeError, ConnectionError):
                    await stream
            finally:
                done.set_result(None)
            return 0
        finally:
            self.running -= 1
            self.sockets.pop(name, None)
            hangup.cancel()

    # -- the audio socket -----------------------------------------------------------

    async def _stream(self, sock, source: str, options: dict[str, str], io, level: str) -> None:
        handset = self.handset
        head = b""
        if options.get("send_dummy_byte", "true") == "true":
            head += b"\0"
        if options.get("send_device_meta", "true") == "true":
            head += handset.profile.model.encode()[:63].ljust(64, b"\0")
        refusal = self._refusal(source)
        if refusal:
            await _log(io, level, *refusal)
            await sock.write(head + bytes(4))  # codec id 0: audio disabled, could not capture
            return
        if options.get("send_codec_meta", "true") == "true":
            head += struct.pack(">I", CODEC_RAW)
        await sock.write(head)
        frame_meta = options.get("send_frame_meta", "true") == "true"
        clock = handset.clock
        loop = asyncio.get_running_loop()
        n = max(1, int(round(handset.audio.frame_s * RATE)))
        pos = clock.sample()
        start_wall, start_pos = loop.time(), pos
        previous = 0.0
        while True:
            end = pos + n
            due = start_wall + (end - start_pos) / RATE / clock.speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            mono = self._render(source, pos, end)
            # 8 kHz → 48 kHz by linear interpolation (the host's filter removes the images)
            grid = np.arange(1, len(mono) * UPSAMPLE + 1) / UPSAMPLE
            up = np.interp(grid, np.arange(len(mono) + 1), np.concatenate(([previous], mono)))
            previous = float(mono[-1])
            pcm = np.repeat(np.round(up).astype("<i2"), 2)  # stereo: the call is mono, both channels
            out = bytearray()
            pts0 = pos * 1_000_000 // RATE  # µs of the handset's audio clock
            for i in range(0, len(up), FRAMES_PER_PACKET):
                frames = pcm[2 * i:2 * (i + FRAMES_PER_PACKET)].tobytes()
                pts = pts0 + i * 1_000_000 // 48_000
                if frame_meta:
                    out += struct.pack(">QI", pts, len(frames))
                out += frames
            await sock.write(bytes(out))
            pos = end

    def _refusal(self, source: str) -> tuple[str, str] | None:
        """(level, log line) when this source cannot be captured now; None when it can."""
        handset, p = self.handset, self.handset.profile
        if p.sdk < 30:
            return "warn", "Audio disabled: it is not supported before Android 11"
        if p.sdk == 30 and (handset.locked or not handset.screen.on):
            return "error", ("Failed to start audio capture\n[server] ERROR: On Android 11, audio capture "
                             "must be started in the foreground, make sure that the device is unlocked when "
                             "starting scrcpy.")
        if source not in IMITATED_SOURCES or (p.call_capture == "mic" and source != "mic"):
            return "error", "Audio recording error\njava.lang.UnsupportedOperationException: startRecording() " \
                            "called on an uninitialized AudioRecord."
        return None

    def _render(self, source: str, start: int, end: int) -> np.ndarray:
        """What ``source`` hears from 8 kHz sample ``start`` to ``end`` (int16 mono)."""
        handset = self.handset
        n = end - start
        voter = next((c for c in handset.telecom.calls
                      if c.kind in ("voter", "caller") and c.live and c.state == "ACTIVE"), None)
        if source == "mic":
            bank = noise_bank(handset.voters.noise_dbfs - 12.0)  # the room
            sources: list[tuple[int, np.ndarray]] = []
            if voter is not None:
                sources = [(s0, (a * 0.5).astype(np.int16)) for s0, a, call in handset.telecom.sounds
                           if call is voter] + [(s0, (a * 8.0).clip(-32768, 32767).astype(np.int16))
                                                for s0, a in self._announcement()]
        else:
            if voter is None or (source == "voice-call-downlink" and handset.profile.call_capture != "downlink"):
                return np.zeros(n, dtype=np.int16)
            bank = noise_bank(handset.voters.noise_dbfs)  # the line
            sources = [(s0, a) for s0, a, call in handset.telecom.sounds if call is voter]
            if source == "voice-call":
                sources += [(s0, (a * 2.0).clip(-32768, 32767).astype(np.int16))
                            for s0, a in self._announcement()]
        if n > len(bank):
            bank = np.resize(bank, n)
        off = (start * 7919) % (len(bank) - n + 1)
        return np.frombuffer(mix(bank[off:off + n], start, sources), dtype="<i2")

    def _announcement(self) -> list[tuple[int, np.ndarray]]:
        """The announcement playing now, as the handset's audio helper keeps it
        (its echo level: scaled up by the callers for louder paths)."""
        return [(s0, a) for s0, a, _call in getattr(self.handset.audio, "_plays", [])]


def _parse(args: list[str]) -> tuple[dict[str, str], list[str]]:
    if not args:
        raise _Refuse("Missing client version")
    if args[0] != SERVER_VERSION:
        raise _Refuse(f"The server version ({SERVER_VERSION}) does not match the client ({args[0]})")
    options: dict[str, str] = {}
    warnings = []
    for arg in args[1:]:
        key, sep, value = arg.partition("=")
        if not sep:
            raise _Refuse(f'Invalid key=value pair: "{arg}"')
        if key not in _KNOWN_OPTIONS:
            warnings.append(f"Unknown server option: {key}")
            continue
        if key == "scid" and not re.fullmatch(r"-1|[0-9a-fA-F]{1,8}", value):
            raise _Refuse(f'For input string: "{value}"')
        if key == "audio_source" and value not in _KNOWN_SOURCES:
            raise _Refuse(f"Audio source {value} not supported")
        if key == "audio_codec" and value not in ("opus", "aac", "flac", "raw"):
            raise _Refuse(f"Audio codec {value} not supported")
        if key == "log_level" and value.lower() not in _LEVELS:
            raise _Refuse(f"No enum constant com.genymobile.scrcpy.util.Ln.Level.{value.upper()}")
        options[key] = value.lower() if key == "log_level" else value
    if options.get("raw_stream") == "true":
        options.update(send_device_meta="false", send_frame_meta="false", send_dummy_byte="false",
                       send_codec_meta="false")
    return options, warnings


async def _say(io, text: str) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionError):
        await io.write(text.encode())


async def _log(io, threshold: str, level: str, message: str) -> None:
    if _LEVELS.index(level) >= _LEVELS.index(threshold):
        await _say(io, f"[server] {level.upper()}: {message}\n")


async def _until_closed(io) -> None:
    with contextlib.suppress(Exception):
        while await io.read():
            pass
