"""scrcpy-server v3.3.4's audio socket, read (pure: bytes in, PCM out).

The format, as the server writes it (scrcpy ``doc/develop.md`` "Protocol";
``DesktopConnection.java``, ``Streamer.java``, ``AudioRawRecorder.java``,
``AudioConfig.java`` at tag v3.3.4), for ``video=false control=false
audio=true audio_codec=raw tunnel_forward=true``, where the audio socket is
the first and only one::

    1 byte     dummy byte 0x00 (first socket of a forward tunnel: the client
               knows the server is really there)
    64 bytes   device name, UTF-8, NUL padded (first socket; send_device_meta)
    4 bytes    codec id, u32 big-endian: 0x00726177 "raw"; 0 = the server
               disabled audio (it could not capture: Android 10 and older, a
               refused AudioRecord, Android 11 with the screen locked);
               1 = configuration error (scrcpy must stop)
    then packets, each: u64 big-endian PTS in µs, bit 63 = config packet,
               bit 62 = key frame; u32 big-endian size; size bytes.
               raw: PCM s16le, 48 kHz, 2 channels, one AudioRecord read of
               at most 1024 frames (4096 bytes); no config packet.

Every byte comes from the phone and is untrusted: a wrong dummy byte, an
unknown codec, a packet bigger than the server can write, are
:class:`ScrcpyWireError` naming what came; nothing buffers more than one
packet. :class:`Downsampler` turns the 48 kHz stereo into what the DTMF
detector reads, PCM16LE 8 kHz mono (channels averaged, then
``scipy.signal.resample_poly(x, 1, 6)`` over a sliding window so that the
stream comes out exactly as one long resampling would, 7.5 ms late).
"""

from __future__ import annotations

import struct

import numpy as np
from scipy.signal import resample_poly

from ..base import AudioError

__all__ = ["CODEC_CONFIG_ERROR", "CODEC_DISABLED", "CODEC_RAW", "CaptureConfigError", "CaptureRefused",
           "DEVICE_NAME_LENGTH", "Downsampler", "MAX_RAW_PACKET", "PACKET_HEADER", "ScrcpyWireError",
           "AudioStreamParser"]

CODEC_RAW = 0x00726177
CODEC_DISABLED = 0
CODEC_CONFIG_ERROR = 1
DEVICE_NAME_LENGTH = 64
PACKET_HEADER = struct.Struct(">QI")
FLAG_CONFIG = 1 << 63
FLAG_KEY_FRAME = 1 << 62
RATE_IN = 48_000
CHANNELS = 2
FRAME_BYTES = CHANNELS * 2
MAX_RAW_PACKET = 1024 * FRAME_BYTES  # AudioConfig.MAX_READ_SIZE
MAX_CONFIG_PACKET = 4096             # raw sends none; other codecs' config packets are tiny


class ScrcpyWireError(AudioError):
    """The audio socket carried something scrcpy-server v3.3.4 does not send."""


class CaptureRefused(AudioError):
    """Codec id 0: the server could not capture this source on this phone."""


class CaptureConfigError(AudioError):
    """Codec id 1: the server stopped on a configuration error."""


class AudioStreamParser:
    """Feed the audio socket's bytes in any pieces; get the raw packets' PCM.

    ``device_name`` and ``codec`` are known once read. :meth:`feed` raises
    :class:`CaptureRefused` / :class:`CaptureConfigError` for codec ids 0 / 1
    and :class:`ScrcpyWireError` for anything malformed.
    """

    def __init__(self, dummy_byte: bool = True, device_meta: bool = True):
        self._need: list[str] = (["dummy"] if dummy_byte else []) + (["meta"] if device_meta else []) + ["codec"]
        self._buffer = bytearray()
        self._packet: tuple[int, int] | None = None  # (size, pts_flags) of the packet being read
        self.device_name: str | None = None
        self.codec: int | None = None
        self.packets = 0
        self.last_pts: int | None = None

    @property
    def started(self) -> bool:
        """The header is read: PCM packets follow."""
        return not self._need

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        out: list[bytes] = []
        while True:
            if self._need:
                if not self._header_step():
                    return out
                continue
            if self._packet is None:
                if len(self._buffer) < PACKET_HEADER.size:
                    return out
                pts_flags, size = PACKET_HEADER.unpack_from(self._buffer)
                config = bool(pts_flags & FLAG_CONFIG)
                limit = MAX_CONFIG_PACKET if config else MAX_RAW_PACKET
                if size > limit:
                    raise ScrcpyWireError(
                        f"scrcpy audio packet of {size} bytes (at most {limit} for a raw "
                        f"{'config' if config else 'PCM'} packet)")
                del self._buffer[:PACKET_HEADER.size]
                self._packet = (size, pts_flags)
            size, pts_flags = self._packet
            if len(self._buffer) < size:
                return out
            payload = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._packet = None
            if pts_flags & FLAG_CONFIG:
                continue
            self.packets += 1
            self.last_pts = pts_flags & ~(FLAG_CONFIG | FLAG_KEY_FRAME)
            out.append(payload)

    def _header_step(self) -> bool:
        step = self._need[0]
        if step == "dummy":
            if not self._buffer:
                return False
            if self._buffer[0] != 0:
                raise ScrcpyWireError(f"scrcpy-server sent {bytes(self._buffer[:8])!r} where its "
                                      "dummy byte 0x00 belongs (not scrcpy-server v3.3.4 on that socket?)")
            del self._buffer[:1]
        elif step == "meta":
            if len(self._buffer) < DEVICE_NAME_LENGTH:
                return False
            name = bytes(self._buffer[:DEVICE_NAME_LENGTH]).split(b"\0", 1)[0]
            self.device_name = name.decode("utf-8", "replace")
            del self._buffer[:DEVICE_NAME_LENGTH]
        else:
            if len(self._buffer) < 4:
                return False
            (codec,) = struct.unpack_from(">I", self._buffer)
            del self._buffer[:4]
            self.codec = codec
            if codec == CODEC_DISABLED:
                raise CaptureRefused("the phone could not capture this audio source (scrcpy codec id 0)")
            if codec == CODEC_CONFIG_ERROR:
                raise CaptureConfigError("scrcpy-server stopped on a configuration error (codec id 1)")
            if codec != CODEC_RAW:
                text = codec.to_bytes(4, "big").decode("ascii", "replace").strip("\0")
                raise ScrcpyWireError(f"scrcpy-server answered codec {codec:#010x} ({text!r}) where raw "
                                      "PCM was asked")
        self._need.pop(0)
        return True


class Downsampler:
    """PCM s16le 48 kHz stereo (any byte pieces) → PCM16LE 8 kHz mono bytes.

    Channels are averaged, then resampled by ``resample_poly(x, 1, 6)`` over
    a window that keeps :data:`PAD` input samples of context on each side,
    so the output equals a single resampling of the whole stream (its
    default filter reaches 60 input samples either way)."""

    FACTOR = RATE_IN // 8000
    PAD = 120  # input samples, a multiple of FACTOR, ≥ the filter's half length (60)

    def __init__(self):
        self._partial = b""
        # PAD zeros ahead: the first outputs see the zeros one resampling pads with.
        self._window = np.zeros(self.PAD, dtype=np.float64)

    def feed(self, pcm: bytes) -> bytes:
        data = self._partial + pcm
        cut = len(data) - len(data) % FRAME_BYTES
        self._partial = data[cut:]
        if cut:
            stereo = np.frombuffer(data[:cut], dtype="<i2").reshape(-1, CHANNELS).astype(np.float64)
            self._window = np.concatenate((self._window, stereo.mean(axis=1)))
        first = self.PAD // self.FACTOR
        last = (len(self._window) - self.PAD) // self.FACTOR
        if last <= first:
            return b""
        out = resample_poly(self._window, 1, self.FACTOR)[first:last]
        self._window = self._window[last * self.FACTOR - self.PAD:]
        return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()
