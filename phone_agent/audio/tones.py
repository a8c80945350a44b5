"""Generated call audio: DTMF key tones, silence, noise and speech-like sound.

Every function returns a numpy ``int16`` array of mono PCM (8 kHz unless
``sample_rate`` says otherwise). Anything random takes a
``numpy.random.Generator``, so a fixed seed gives the same audio every time.

Levels are in dBFS:

* ``dtmf_tone`` / ``sine``: *peak* level — at 0 dBFS the tone (for a key: the
  sum of its two sine amplitudes) just reaches full scale and never clips.
* ``white_noise`` / ``speech_like``: *RMS* level, AES17 convention — a
  full-scale sine is 0 dBFS (RMS 32767/√2). ``rms_dbfs`` measures on the same
  scale, so an SNR is ``rms_dbfs(tone) - rms_dbfs(noise)``.
"""

from __future__ import annotations

import math

import numpy as np

ROW_FREQS: tuple[float, ...] = (697.0, 770.0, 852.0, 941.0)
COL_FREQS: tuple[float, ...] = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD: tuple[str, ...] = ("123A", "456B", "789C", "*0#D")
KEYS = "".join(KEYPAD)

FULL_SCALE = 32767.0
_SINE_RMS_FS = FULL_SCALE / math.sqrt(2.0)


def key_frequencies(key: str) -> tuple[float, float]:
    """(row Hz, column Hz) of a keypad key ``0-9 * # A-D``."""
    k = key.upper()
    if len(k) != 1 or k not in KEYS:
        raise ValueError(f"not a DTMF key: {key!r}")
    i = KEYS.index(k)
    return ROW_FREQS[i // 4], COL_FREQS[i % 4]


def _n_samples(duration_s: float, sample_rate: int) -> int:
    if duration_s < 0:
        raise ValueError(f"negative duration: {duration_s}")
    return int(round(duration_s * sample_rate))


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def _phases(rng: np.random.Generator | None, n: int) -> np.ndarray:
    if rng is None:
        return np.zeros(n)
    return rng.uniform(0.0, 2.0 * math.pi, n)


def sine(
    freq_hz: float,
    duration_s: float,
    sample_rate: int = 8000,
    level_dbfs: float = -10.0,
    phase: float = 0.0,
) -> np.ndarray:
    """A single sine; ``level_dbfs`` is its peak level."""
    n = _n_samples(duration_s, sample_rate)
    amp = FULL_SCALE * 10.0 ** (level_dbfs / 20.0)
    t = np.arange(n) / sample_rate
    return _to_int16(amp * np.sin(2.0 * math.pi * freq_hz * t + phase))


def dtmf_tone(
    key: str,
    duration_s: float,
    sample_rate: int = 8000,
    level_dbfs: float = -10.0,
    twist_db: float = 0.0,
    freq_error: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """The two-sine tone of one key.

    ``level_dbfs`` is the peak level of the pair (row amplitude + column
    amplitude). ``twist_db`` > 0 makes the column (high group) tone that much
    louder than the row tone, < 0 the row tone louder. ``freq_error`` is a
    fractional offset applied to both frequencies (0.02 = +2 %). With ``rng``
    the two start phases are random, otherwise both start at 0.
    """
    f_row, f_col = key_frequencies(key)
    f_row *= 1.0 + freq_error
    f_col *= 1.0 + freq_error
    n = _n_samples(duration_s, sample_rate)
    peak = FULL_SCALE * 10.0 ** (level_dbfs / 20.0)
    col_over_row = 10.0 ** (twist_db / 20.0)
    a_row = peak / (1.0 + col_over_row)
    a_col = peak - a_row
    ph = _phases(rng, 2)
    t = np.arange(n) / sample_rate
    x = a_row * np.sin(2.0 * math.pi * f_row * t + ph[0])
    x += a_col * np.sin(2.0 * math.pi * f_col * t + ph[1])
    return _to_int16(x)


def silence(duration_s: float, sample_rate: int = 8000) -> np.ndarray:
    return np.zeros(_n_samples(duration_s, sample_rate), dtype=np.int16)


def white_noise(
    duration_s: float,
    level_dbfs: float,
    rng: np.random.Generator,
    sample_rate: int = 8000,
) -> np.ndarray:
    """Gaussian white noise at an RMS level (clipped at full scale)."""
    n = _n_samples(duration_s, sample_rate)
    rms = _SINE_RMS_FS * 10.0 ** (level_dbfs / 20.0)
    return _to_int16(rng.normal(0.0, rms, n))


def speech_like(
    duration_s: float,
    rng: np.random.Generator,
    sample_rate: int = 8000,
    level_dbfs: float = -20.0,
    f_lo: float = 200.0,
    f_hi: float = 3000.0,
    partials: tuple[int, int] = (4, 16),
    syllable_s: tuple[float, float] = (0.06, 0.25),
) -> np.ndarray:
    """A crude stand-in for speech: "syllables" of random length, each a sum
    of ``partials`` random sines between ``f_lo`` and ``f_hi`` Hz with random
    amplitudes, under a smooth envelope. Scaled to an RMS level.

    Used to check that a DTMF detector does not "talk off" on voice.
    """
    n = _n_samples(duration_s, sample_rate)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        seg = min(n - pos, max(1, int(rng.uniform(*syllable_s) * sample_rate)))
        k = int(rng.integers(partials[0], partials[1] + 1))
        freqs = rng.uniform(f_lo, f_hi, k)
        amps = rng.uniform(0.05, 1.0, k)
        ph = rng.uniform(0.0, 2.0 * math.pi, k)
        t = np.arange(seg) / sample_rate
        x = (amps[:, None] * np.sin(2.0 * math.pi * freqs[:, None] * t + ph[:, None])).sum(0)
        out[pos : pos + seg] = x * np.hanning(seg)
        pos += seg
    rms = float(np.sqrt(np.mean(out**2))) if n else 0.0
    if rms > 0:
        out *= _SINE_RMS_FS * 10.0 ** (level_dbfs / 20.0) / rms
    return _to_int16(out)


def mix(*arrays: np.ndarray) -> np.ndarray:
    """Sum int16 signals sample by sample (shorter ones padded with silence),
    clipping at full scale."""
    if not arrays:
        return np.zeros(0, dtype=np.int16)
    n = max(len(a) for a in arrays)
    acc = np.zeros(n, dtype=np.int32)
    for a in arrays:
        acc[: len(a)] += np.asarray(a, dtype=np.int32)
    return np.clip(acc, -32768, 32767).astype(np.int16)


def key_sequence(
    keys: str,
    tone_s: float = 0.1,
    gap_s: float = 0.1,
    sample_rate: int = 8000,
    level_dbfs: float = -10.0,
    twist_db: float = 0.0,
    freq_error: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Keys dialled one after another: each tone is followed by ``gap_s`` of
    silence (the sequence ends with a gap, like a real keypad release)."""
    parts: list[np.ndarray] = []
    for key in keys:
        parts.append(dtmf_tone(key, tone_s, sample_rate, level_dbfs, twist_db, freq_error, rng))
        parts.append(silence(gap_s, sample_rate))
    if not parts:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(parts)


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level in dBFS (a full-scale sine reads 0 dBFS); -inf for silence."""
    if len(x) == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))
    return 20.0 * math.log10(rms / _SINE_RMS_FS) if rms > 0 else -math.inf
