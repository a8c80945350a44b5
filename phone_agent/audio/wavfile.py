"""Reading audio files as the detector wants them: 8 kHz mono int16.

The one module of ``phone_agent.audio`` that touches files. Any format and
layout libsndfile reads (WAV of any sample rate, bit depth and channel count,
FLAC, ...) is mixed down to mono and resampled to 8 kHz with a polyphase
filter (``scipy.signal.resample_poly``).
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

__all__ = ["AudioFileError", "read_8k_mono", "cached_8k_mono"]

RATE = 8000


class AudioFileError(ValueError):
    """An audio file that cannot be used; the message names the file and why."""


def read_8k_mono(path: str | os.PathLike) -> np.ndarray:
    """The file's audio as int16 samples, 8 kHz, mono; AudioFileError if it
    is missing, not audio libsndfile can read, or empty."""
    p = Path(path)
    if not p.is_file():
        raise AudioFileError(f"{p}: no such file")
    try:
        x, rate = soundfile.read(str(p), dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(f"{p}: not an audio file this tool can read ({exc})") from None
    if x.shape[0] == 0:
        raise AudioFileError(f"{p}: the file holds no audio samples")
    x = x.mean(axis=1)
    if rate != RATE:
        g = math.gcd(int(rate), RATE)
        x = resample_poly(x, RATE // g, int(rate) // g)
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


@functools.lru_cache(maxsize=32)
def _cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    samples = read_8k_mono(path)
    samples.setflags(write=False)
    return samples


def cached_8k_mono(path: str | os.PathLike) -> np.ndarray:
    """``read_8k_mono``, remembered while the file is unchanged (the same
    announcements are played call after call). Read-only array."""
    st = os.stat(path)
    return _cached(str(path), st.st_mtime_ns, st.st_size)
