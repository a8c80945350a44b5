"""Announcements (안내멘트) converted to the phone format.

The phones play PCM WAV, 8000 Hz, 16-bit signed, mono, with the plain
44-byte RIFF header. :func:`convert_announcement` takes whatever the manager
uploaded and returns that format, with a list of what it changed (in Korean,
for the console) and warnings about problems that do not stop the upload
(a silent file, a clipped recording).

Input: WAV in any sample format libsndfile reads (8-bit unsigned, 16, 24 and
32-bit integer, 32/64-bit float, μ-law, A-law, ADPCM; WAVE_FORMAT_EXTENSIBLE,
RF64, W64), FLAC, Ogg Vorbis/Opus, AIFF, and MP3 when the libsndfile in use
can decode it (1.1 and later; see :data:`MP3_SUPPORTED`). The format is read
from the content; the file name's extension only has to be one of
:data:`ACCEPTED_EXTENSIONS` (or absent).

Conversion, in this order:

1. decode to floating point (full scale = ±1.0);
2. mix multichannel down to mono by averaging the channels;
3. resample with a polyphase filter (:func:`scipy.signal.resample_poly`,
   up/down from the gcd of the two rates) and our own Kaiser-windowed
   low-pass, flat to 3.4 kHz and 70 dB down from 4 kHz on, so content above
   4 kHz is removed rather than aliased into the band;
4. quantise to 16 bits: values that are already whole 16-bit steps (a
   16-bit or 8-bit source that was neither resampled nor averaged) are kept
   exactly; anything else gets TPDF dither (±1 LSB triangular, from a fixed
   seed so the same upload always gives the same bytes) and rounding, then
   clipping to the int16 range (never wrap-around).

A file already in the phone format comes back byte for byte when it is a
plain 44-byte-header WAV; otherwise (extra chunks, WAVE_FORMAT_EXTENSIBLE)
the same samples are re-wrapped in the plain header. Either way ``changes``
is empty.

Refusals raise :class:`AudioError` with one of these codes:

``empty_file``          zero bytes
``unsupported_format``  extension or content of a kind we do not take
                        (MP3 without decoder support, a sample rate outside
                        4–384 kHz, a PNG image, …)
``not_audio``           no audio format recognised
``corrupt``             looks like audio but cannot be decoded (truncated
                        header, broken stream, NaN/Inf samples)
``no_audio``            decodes to zero samples
``too_long``            longer than ``max_seconds`` (600 by default)
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from . import MediaError, exception_text

PHONE_SAMPLE_RATE = 8000
PHONE_CHANNELS = 1
PHONE_SUBTYPE = "PCM_16"
MAX_SECONDS = 600
MIN_SOURCE_RATE = 4000
MAX_SOURCE_RATE = 384_000
#: Peak below this level (dBFS) makes the file count as silent.
SILENCE_DBFS = -60.0
#: Anti-aliasing low-pass used when resampling: flat up to 3400 Hz (the top
#: of the 300–3400 Hz telephone band), at least this many dB down from the
#: output Nyquist frequency (4000 Hz) on, so nothing folds back into the
#: band. When a source below 8 kHz is upsampled, the same shape sits under
#: the source's own Nyquist frequency to remove the images.
RESAMPLE_STOPBAND_DB = 70.0
RESAMPLE_PASSBAND_FRACTION = 0.85
_MAX_FILTER_TAPS = 4_000_000

MP3_SUPPORTED = "MP3" in sf.available_formats()
OGG_SUPPORTED = "OGG" in sf.available_formats()

_EXTENSIONS = {".wav", ".wave", ".flac", ".aif", ".aiff"}
if MP3_SUPPORTED:
    _EXTENSIONS.add(".mp3")
if OGG_SUPPORTED:
    _EXTENSIONS.update({".ogg", ".oga", ".opus"})
#: File name extensions accepted (lower case). A name without one is
#: judged by content alone.
ACCEPTED_EXTENSIONS = frozenset(_EXTENSIONS)
#: libsndfile major formats accepted, by content.
ACCEPTED_FORMATS = frozenset(
    {"WAV", "WAVEX", "RF64", "W64", "FLAC", "AIFF"}
    | ({"MP3"} if MP3_SUPPORTED else set())
    | ({"OGG"} if OGG_SUPPORTED else set())
)
_WAV_FORMATS = {"WAV", "WAVEX", "RF64", "W64"}

_BLOCK_FRAMES = 1 << 16
_DITHER_SEED = 0x8000


class AudioError(MediaError):
    """An announcement that cannot be used; ``code`` is stable, ``message`` is for people."""


@dataclass(frozen=True)
class Announcement:
    """An announcement in the phone format, and what it took to get there."""

    wav: bytes
    duration_s: float
    source: str
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Peak level of the converted audio, dBFS (-120.0 for digital silence).
    peak_dbfs: float = -120.0
    sample_rate: int = PHONE_SAMPLE_RATE


# --------------------------------------------------------------------------- probing


def probe(data: bytes, filename: str = "") -> dict:
    """Describe an audio file from its header, without decoding it.

    Returns ``format``, ``subtype``, ``sample_rate``, ``channels``, ``frames``,
    ``duration_s``, ``source`` (as in :attr:`Announcement.source`) and
    ``phone_format`` (True when no conversion is needed). Raises
    :class:`AudioError` like :func:`convert_announcement` for files it cannot
    read or does not accept.
    """
    _check_name_and_bytes(data, filename)
    with _open(data, filename) as f:
        return _describe(f)


def _describe(f: sf.SoundFile) -> dict:
    rate, channels, frames = f.samplerate, f.channels, f.frames
    return {
        "format": f.format,
        "subtype": f.subtype,
        "sample_rate": rate,
        "channels": channels,
        "frames": frames,
        "duration_s": frames / rate if rate > 0 else 0.0,
        "source": f"{f.format} {rate} Hz, {channels} ch, {f.subtype}",
        "phone_format": (
            f.format in _WAV_FORMATS
            and f.subtype == PHONE_SUBTYPE
            and rate == PHONE_SAMPLE_RATE
            and channels == PHONE_CHANNELS
        ),
    }


def _check_name_and_bytes(data: bytes, filename: str) -> None:
    if not data:
        raise AudioError("empty_file", "빈 파일입니다 (empty file)")
    ext = os.path.splitext(filename or "")[1].lower()
    if ext and ext not in ACCEPTED_EXTENSIONS:
        if ext == ".mp3":
            raise AudioError(
                "unsupported_format",
                "이 서버의 오디오 라이브러리는 MP3를 읽을 수 없습니다. WAV로 저장해서 올려 주세요 "
                "(MP3 is not supported by this server's libsndfile; upload WAV)",
            )
        raise AudioError(
            "unsupported_format",
            f"지원하지 않는 파일 형식입니다 ({ext}). {_accepted_names()} 파일을 올려 주세요 "
            f"(unsupported file type {ext})",
        )


def _accepted_names() -> str:
    names = ["WAV"]
    if MP3_SUPPORTED:
        names.append("MP3")
    names += ["FLAC", "AIFF"]
    if OGG_SUPPORTED:
        names.append("OGG")
    return ", ".join(names)


_OTHER_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG 이미지"),
    (b"\xff\xd8\xff", "JPEG 이미지"),
    (b"GIF8", "GIF 이미지"),
    (b"%PDF", "PDF 문서"),
    (b"PK\x03\x04", "ZIP/엑셀(xlsx) 파일"),
    (b"\xd0\xcf\x11\xe0", "MS 오피스 문서"),
    (b"BM", "BMP 이미지"),
)


def _open(data: bytes, filename: str = "") -> sf.SoundFile:
    """Open with libsndfile, turning its failures into AudioError."""
    try:
        f = sf.SoundFile(io.BytesIO(data))
    except Exception as exc:  # libsndfile reports every failure the same way
        raise _open_failure(data, exc, filename) from None
    if f.format not in ACCEPTED_FORMATS:
        fmt = f.format
        f.close()
        raise AudioError(
            "unsupported_format",
            f"지원하지 않는 오디오 형식입니다 ({fmt}). {_accepted_names()} 파일을 올려 주세요 "
            f"(unsupported audio format {fmt})",
        )
    if not MIN_SOURCE_RATE <= f.samplerate <= MAX_SOURCE_RATE:
        rate = f.samplerate
        f.close()
        raise AudioError(
            "unsupported_format",
            f"샘플레이트 {rate} Hz는 지원하지 않습니다 ({MIN_SOURCE_RATE}–{MAX_SOURCE_RATE} Hz) "
            f"(unsupported sample rate {rate} Hz)",
        )
    return f


def _open_failure(data: bytes, exc: Exception, filename: str = "") -> AudioError:
    head = data[:16]
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") or head[:4] == b"FORM" or head[:4] == b"fLaC" \
            or head[:4] == b"OggS" or head[:3] == b"ID3":
        return AudioError(
            "corrupt",
            "오디오 파일이 손상되었거나 잘려 있어 읽을 수 없습니다 "
            f"(corrupt or truncated audio file: {_short(exc, filename)})",
        )
    for magic, what in _OTHER_SIGNATURES:
        if head.startswith(magic):
            return AudioError(
                "not_audio",
                f"오디오 파일이 아닙니다 — {what}입니다 (not an audio file)",
            )
    return AudioError("not_audio", "오디오 파일이 아닙니다 (not an audio file)")


def _short(exc: Exception, filename: str = "") -> str:
    text = exception_text(exc, filename)
    # libsndfile's "Error opening 'x.wav': " adds nothing to the reason after it
    return re.sub(r"^Error opening [^:]*: ", "", text) if filename else text


# --------------------------------------------------------------------------- conversion


def convert_announcement(data: bytes, filename: str = "", *, max_seconds: float = MAX_SECONDS) -> Announcement:
    """Convert an uploaded announcement to PCM WAV 8000 Hz 16-bit mono.

    ``filename`` is only used for its extension. Raises :class:`AudioError`.
    """
    _check_name_and_bytes(data, filename)
    with _open(data, filename) as f:
        info = _describe(f)
        rate, channels, subtype, fmt = f.samplerate, f.channels, f.subtype, f.format
        if info["duration_s"] > max_seconds:
            raise _too_long(info["duration_s"], max_seconds)
        mono, peak_in, clipped_runs = _decode_mono(f, max_frames=int(max_seconds * rate) + rate)

    if mono.size == 0:
        raise AudioError("no_audio", "소리 데이터가 없습니다 (길이 0) (no audio samples)")
    duration = mono.size / rate
    if duration > max_seconds:
        raise _too_long(duration, max_seconds)

    changes: list[str] = []
    warnings: list[str] = []
    riff = _riff_layout(data)
    if riff is not None and riff["truncated"]:
        warnings.append(
            "WAV 파일이 잘려 있습니다: 헤더에 적힌 길이보다 데이터가 짧아 있는 부분만 사용했습니다 "
            "(truncated WAV: header promises more data than the file holds)"
        )

    if info["phone_format"]:
        pcm = np.round(mono * 32768.0)
        samples = np.clip(pcm, -32768, 32767).astype("<i2")
        wav = data if riff is not None and riff["canonical"] else _wav_bytes(samples)
    else:
        changes.extend(_describe_changes(fmt, subtype, rate, channels))
        if rate != PHONE_SAMPLE_RATE:
            mono = _resample(mono, rate)
        samples, overs = _quantise(mono)
        wav = _wav_bytes(samples)
        if overs and not clipped_runs and peak_in <= 1.0:
            warnings.append(
                f"변환 중 {overs}개 샘플이 최대 음량을 넘어 잘렸습니다. 음량을 조금 낮춰 녹음하면 좋습니다 "
                f"({overs} samples clipped during conversion)"
            )

    if clipped_runs or peak_in > 1.0:
        warnings.append(
            "원본 녹음에 클리핑(최대 음량 초과로 소리가 찌그러짐)이 있습니다. 음량을 낮춰 다시 녹음하는 것을 "
            "권장합니다 (clipping detected in the source)"
        )
    peak_out = int(np.max(np.abs(samples.astype(np.int32)))) if samples.size else 0
    peak_dbfs = max(-120.0, 20 * math.log10(peak_out / 32768.0)) if peak_out else -120.0
    if peak_dbfs < SILENCE_DBFS:
        warnings.append(
            f"무음 파일입니다 (최대 음량 {peak_dbfs:.0f} dBFS). 올바른 파일인지 확인해 주세요 "
            "(silent file: peak below -60 dBFS)"
        )
    return Announcement(
        wav=wav,
        duration_s=samples.size / PHONE_SAMPLE_RATE,
        source=info["source"],
        changes=changes,
        warnings=warnings,
        peak_dbfs=round(peak_dbfs, 1),
    )


def _too_long(duration: float, max_seconds: float) -> AudioError:
    return AudioError(
        "too_long",
        f"안내멘트가 너무 깁니다: {_mmss(math.ceil(duration))} (최대 {_mmss(max_seconds)}) "
        f"(too long: {math.ceil(duration)} s, max {max_seconds:g} s)",
    )


def _mmss(seconds: float) -> str:
    s = int(round(seconds))
    m, s = divmod(s, 60)
    if m and s:
        return f"{m}분 {s}초"
    return f"{m}분" if m else f"{s}초"


def _decode_mono(f: sf.SoundFile, max_frames: int) -> tuple[np.ndarray, float, int]:
    """Read every frame as float32 and average channels; return (mono, peak, clip runs)."""
    full_scale = _full_scale(f.subtype)
    parts: list[np.ndarray] = []
    total = 0
    peak = 0.0
    clipped_runs = 0
    try:
        while True:
            block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            if not np.all(np.isfinite(block)):
                raise AudioError(
                    "corrupt",
                    "오디오 데이터에 잘못된 값(NaN/Inf)이 있어 변환할 수 없습니다 "
                    "(audio contains NaN or infinite samples)",
                )
            mag = np.abs(block)
            peak = max(peak, float(mag.max()))
            hot = mag >= full_scale
            if block.shape[0] >= 3 and hot.any():
                clipped_runs += int(np.count_nonzero(hot[:-2] & hot[1:-1] & hot[2:]))
            if block.shape[1] == 1:
                parts.append(block[:, 0].copy())
            else:  # the average of the channels; a matrix product is much faster than .mean(axis=1)
                parts.append(block @ np.full(block.shape[1], 1.0 / block.shape[1], dtype=np.float32))
            total += block.shape[0]
            if total > max_frames:
                break
    except AudioError:
        raise
    except Exception as exc:
        raise AudioError(
            "corrupt", f"오디오 데이터를 읽다가 오류가 났습니다 (decoding failed: {_short(exc)})"
        ) from None
    mono = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return mono, peak, clipped_runs


def _full_scale(subtype: str) -> float:
    """The magnitude a sample reaches when the recording hits the ceiling."""
    bits = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(subtype)
    if bits is None:
        return 0.9999
    return 1.0 - 1.0 / (1 << (bits - 1))


def _describe_changes(fmt: str, subtype: str, rate: int, channels: int) -> list[str]:
    changes = []
    if fmt not in _WAV_FORMATS:
        changes.append(f"{fmt} → WAV 변환")
    if rate != PHONE_SAMPLE_RATE:
        changes.append(f"{rate} Hz → {PHONE_SAMPLE_RATE} Hz 리샘플링")
    if channels == 2:
        changes.append("스테레오 → 모노 믹스다운")
    elif channels > 2:
        changes.append(f"{channels}채널 → 모노 믹스다운")
    depth = {
        "PCM_S8": "8비트 → 16비트",
        "PCM_U8": "8비트 → 16비트",
        "PCM_24": "24비트 → 16비트",
        "PCM_32": "32비트 정수 → 16비트",
        "FLOAT": "부동소수점 → 16비트 정수",
        "DOUBLE": "부동소수점 → 16비트 정수",
        "ULAW": "μ-law → 16비트 선형 PCM",
        "ALAW": "A-law → 16비트 선형 PCM",
    }.get(subtype)
    if depth is not None:
        changes.append(depth)
    elif subtype != PHONE_SUBTYPE and fmt in _WAV_FORMATS | {"AIFF"}:
        changes.append(f"{subtype} → 16비트 PCM")
    return changes


def _resample(mono: np.ndarray, rate: int) -> np.ndarray:
    """Polyphase resampling to 8000 Hz with an anti-aliasing (and anti-imaging) low-pass."""
    # Imported here: scipy.signal costs about a second, and every server start would pay it.
    from scipy.signal import firwin, kaiserord, resample_poly
    g = math.gcd(rate, PHONE_SAMPLE_RATE)
    up, down = PHONE_SAMPLE_RATE // g, rate // g
    fs_up = rate * up
    stop = min(rate, PHONE_SAMPLE_RATE) / 2
    passband = stop * RESAMPLE_PASSBAND_FRACTION
    numtaps, beta = kaiserord(RESAMPLE_STOPBAND_DB, (stop - passband) / (fs_up / 2))
    numtaps |= 1  # odd length: linear phase with a whole-sample delay, which resample_poly removes
    if numtaps > _MAX_FILTER_TAPS:
        raise AudioError(
            "unsupported_format",
            f"샘플레이트 {rate} Hz는 변환할 수 없습니다. 44100 Hz나 48000 Hz 같은 일반적인 "
            f"샘플레이트로 저장해서 올려 주세요 (unusual sample rate {rate} Hz)",
        )
    h = firwin(numtaps, (passband + stop) / 2, window=("kaiser", beta), fs=fs_up)
    # resample_poly scales the filter by ``up`` itself.
    return resample_poly(np.asarray(mono, dtype=np.float64), up, down, window=h)


def _quantise(mono: np.ndarray) -> tuple[np.ndarray, int]:
    """Float (full scale ±1) to int16: exact when possible, else TPDF dither; clip, never wrap."""
    scaled = np.asarray(mono, dtype=np.float64) * 32768.0
    if not np.array_equal(scaled, np.round(scaled)) and np.any(scaled):
        rng = np.random.default_rng(_DITHER_SEED)
        scaled = scaled + rng.random(scaled.size) - rng.random(scaled.size)
    rounded = np.round(scaled)
    overs = int(np.count_nonzero((rounded > 32767) | (rounded < -32768)))
    return np.clip(rounded, -32768, 32767).astype("<i2"), overs


def _wav_bytes(samples: np.ndarray) -> bytes:
    """Plain 44-byte-header PCM WAV, 8000 Hz 16-bit mono."""
    payload = np.asarray(samples, dtype="<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(payload), b"WAVE",
        b"fmt ", 16, 1, PHONE_CHANNELS, PHONE_SAMPLE_RATE,
        PHONE_SAMPLE_RATE * 2 * PHONE_CHANNELS, 2 * PHONE_CHANNELS, 16,
        b"data", len(payload),
    )
    return header + payload


def _riff_layout(data: bytes) -> dict | None:
    """Chunk layout of a RIFF/WAVE file: is it the plain 44-byte form, is it truncated."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    chunks = []
    pos = 12
    truncated = False
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        chunks.append((cid, pos + 8, size))
        if pos + 8 + size > len(data):
            # 0xFFFFFFFF (and 0) is what streaming writers leave when they cannot
            # seek back to fill the size in: unknown length, not a cut-off file.
            truncated = cid == b"data" and size not in (0, 0xFFFFFFFF)
            break
        pos += 8 + size + (size & 1)
    canonical = (
        len(data) >= 44
        and int.from_bytes(data[4:8], "little") == len(data) - 8
        and [(c, s) for c, _, s in chunks] == [(b"fmt ", 16), (b"data", len(data) - 44)]
        and data[20:36] == struct.pack("<HHIIHH", 1, 1, PHONE_SAMPLE_RATE, PHONE_SAMPLE_RATE * 2, 2, 16)
        and (len(data) - 44) % 2 == 0
    )
    return {"canonical": canonical, "truncated": truncated}
