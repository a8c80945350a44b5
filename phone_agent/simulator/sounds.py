"""What the simulated people sound like on the line, shared by the sim
backend (:mod:`.sim`) and the virtual handsets (:mod:`.virtual`): line noise,
a voter's "여보세요", a key press (real DTMF tone audio with noise), the
announcement's echo, and the samples of a WAV being played. All of it 8 kHz
PCM16 mono, as :mod:`phone_agent.audio.tones` makes it.
"""

from __future__ import annotations

import wave
from typing import BinaryIO

import numpy as np

from ..audio import tones

__all__ = ["RATE", "echo", "hello", "key_press", "mix", "noise_bank", "wav_audio"]

RATE = 8000

_NOISE_BANK: dict[float, np.ndarray] = {}
_HELLO_BANK: dict[float, list[np.ndarray]] = {}


def noise_bank(level_dbfs: float) -> np.ndarray:
    """8 s of white noise at an RMS level, generated once per process and
    level (fixed seed): each chunk of line noise is a slice of it, at a
    random offset, so line noise costs a copy."""
    bank = _NOISE_BANK.get(level_dbfs)
    if bank is None:
        bank = _NOISE_BANK[level_dbfs] = tones.white_noise(8.0, level_dbfs, np.random.default_rng(8000))
    return bank


def hello(level_dbfs: float, variant: int) -> np.ndarray:
    """A voter's "여보세요": 0.6 s of speech-like audio, four variants."""
    bank = _HELLO_BANK.get(level_dbfs)
    if bank is None:
        bank = _HELLO_BANK[level_dbfs] = [
            tones.speech_like(0.6, np.random.default_rng(100 + i), level_dbfs=level_dbfs)
            for i in range(4)]
    return bank[variant % len(bank)]


def key_press(key: str, duration_s: float, level_dbfs: float, snr_db: float,
              g: np.random.Generator) -> np.ndarray:
    """A voter pressing ``key``: its DTMF tone with white noise ``snr_db`` below it."""
    tone = tones.dtmf_tone(key, duration_s, level_dbfs=level_dbfs, rng=g)
    noise = tones.white_noise(duration_s, tones.rms_dbfs(tone) - snr_db, g)
    return tones.mix(tone, noise)


def mix(noise: np.ndarray, start: int, sources: list[tuple[int, np.ndarray]]) -> bytes:
    """``noise`` (the line from sample ``start`` on) with each ``(start
    sample, audio)`` of ``sources`` added where it overlaps; PCM16LE bytes."""
    end = start + len(noise)
    x = noise.astype(np.int32)
    for s0, audio in sources:
        a, b = max(start, s0), min(end, s0 + len(audio))
        if a < b:
            x[a - start:b - start] += audio[a - s0:b - s0]
    np.clip(x, -32768, 32767, out=x)
    return x.astype("<i2").tobytes()


def echo(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """The announcement as the phone's microphone hears it back (scaled)."""
    return (samples * 10.0 ** (gain_db / 20.0)).astype(np.int16)


def wav_audio(source: str | BinaryIO) -> tuple[float, np.ndarray | None]:
    """(duration in seconds, samples if PCM16 8 kHz mono else None) of a WAV
    file or file object; raises ``wave.Error``, ``EOFError`` or ``OSError``."""
    with wave.open(source, "rb") as w:
        rate, n = w.getframerate(), w.getnframes()
        samples = None
        if rate == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2:
            samples = np.frombuffer(w.readframes(n), dtype="<i2").astype(np.int16)
    return (n / rate if rate else 0.0), samples
