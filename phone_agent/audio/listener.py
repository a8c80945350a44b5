"""Key presses on call audio, with what the phone plays as a reference.

The call script runs one :class:`KeyListener` per call. It feeds the call
audio as it arrives, and tells the listener when the phone starts and stops
playing an announcement::

    keys = KeyListener()
    keys.play(announcement)      # int16 samples, as the phone plays them, from now on
    events = keys.feed(chunk)    # call audio (PCM16LE bytes or int16), 8 kHz mono
    keys.stop()                  # playback ended or was stopped

While an announcement plays, its echo is removed from the audio
(:class:`~phone_agent.audio.echo.EchoCanceller`) before the DTMF detector
(:class:`~phone_agent.audio.dtmf.DtmfDetector`) sees it, so a voter may
press during the announcement — the announcement invites exactly that.
The reference starts at the next sample fed after ``play``; the echo may
come up to ``max_delay_s`` (1 s) later — the canceller measures the lag —
but never earlier, so call ``play`` *before* the phone starts playing.

Two guards keep the removal from making keys of its own: a key under way is
left out of the canceller's fit (``EchoCanceller.exclude``), and a key is
refused when the echo removed at one of its frequencies was more than 6 dB
stronger than the tone found there (``_left_over``).

Without a reference (nothing played yet, or a call with no announcement) the
audio goes to the detector untouched: the detector behaves exactly as on its
own. Pure logic, no I/O.
"""

from __future__ import annotations

import numpy as np

from .dtmf import DtmfDetector, DtmfEvent
from .echo import EchoCanceller
from .tones import key_frequencies

__all__ = ["KeyListener"]

_MARGIN = 400  # samples (50 ms) around a key tone kept out of the echo path's fit
_RECENT = 8000  # samples of residual and removed echo kept to check a key against
_STANDS_OUT = 10 ** (-6 / 10)  # a key's tone may be up to 6 dB below the echo removed there


class KeyListener:
    """A DTMF detector with an echo canceller in front of it; see the module
    docstring. ``detector_options`` go to :class:`DtmfDetector`."""

    def __init__(self, sample_rate: int = 8000, *, max_delay_s: float = 1.0, **detector_options):
        self.sample_rate = sample_rate
        self.detector = DtmfDetector(sample_rate, **detector_options)
        self.canceller = EchoCanceller(sample_rate, max_delay_s=max_delay_s)
        self._ref: np.ndarray | None = None  # what is playing, from _ref_pos on
        self._ref_pos = 0
        self._referenced = False  # a reference was ever given in this stream
        self._odd_byte = b""
        self._fed = 0  # samples fed since the start (or flush)
        self._res = self._echo = np.zeros(0)  # the latest residual and echo removed (see _left_over)
        self._offset = 0  # samples fed before the canceller's first

    def play(self, samples) -> None:
        """The phone starts playing ``samples`` (int16, this sample rate) now:
        at the next sample fed. Replaces any reference still playing."""
        ref = np.asarray(samples).reshape(-1)
        if ref.size and not np.issubdtype(ref.dtype, np.integer):
            raise TypeError(f"expected int16 PCM samples, got dtype {ref.dtype}")
        self._ref = ref.astype(np.float64)
        self._ref_pos = 0
        if not self._referenced:
            self._offset = self._fed  # the canceller's first sample
        self._referenced = True

    def stop(self) -> None:
        """The phone stopped playing (the end of the file, or stopped early)."""
        self._ref = None

    def feed(self, samples) -> list[DtmfEvent]:
        """Process more call audio (PCM16LE bytes or an int16 array, any
        length); returns the key presses that became known."""
        mic = self._as_int16(samples)
        self._fed += mic.size
        if not self._referenced or mic.size == 0 or self.canceller.deaf:
            return self.detector.feed(mic)
        ref = np.zeros(mic.size)
        if self._ref is not None:
            part = self._ref[self._ref_pos : self._ref_pos + mic.size]
            ref[: part.size] = part
            self._ref_pos += mic.size
            if self._ref_pos >= self._ref.size:
                self._ref = None
        residual = self.canceller.cancel(mic, ref)
        self._keep_recent(residual, mic - residual)
        events = self.detector.feed(np.clip(np.rint(residual), -32768, 32767).astype(np.int16))
        since = self.detector.tone_since
        if since is not None:  # a key under way: keep it out of the echo path's fit
            self.canceller.exclude(since - _MARGIN - self._offset, self._fed + _MARGIN - self._offset)
        return [ev for ev in events if not self._left_over(ev)]

    def _keep_recent(self, residual: np.ndarray, echo: np.ndarray) -> None:
        n = _RECENT
        self._res = np.concatenate([self._res[-n:], residual])[-n:]
        self._echo = np.concatenate([self._echo[-n:], echo])[-n:]

    def _left_over(self, ev: DtmfEvent) -> bool:
        """Whether a key found after echo removal is only what the removal
        left of our own speech: a voiced sound whose harmonics sit on a row
        and a column frequency, removed less well there than elsewhere. Its
        "tones" are what is left of much stronger echo at those frequencies;
        a voter's key carries its own power, whatever our speech does. So a
        key is refused when, at one of its frequencies, the echo removed
        was more than 6 dB stronger than the tone found (in the bench's
        double talk, real keys stayed above -2 dB, left-overs below -10 dB).
        """
        fs = self.sample_rate
        first = self._fed - self._res.size  # sample index of the buffers' first sample
        a = max(0, int(round(ev.start_s * fs)) - first)
        b = min(self._res.size, a + max(int(round(ev.duration_s * fs)), int(0.03 * fs)))
        if b - a < int(0.02 * fs):
            return False
        t = np.arange(b - a) / fs
        w = np.hanning(b - a)
        for f in key_frequencies(ev.key):
            z = np.exp(-2j * np.pi * f * t) * w
            tone = abs(np.dot(self._res[a:b], z)) ** 2
            echo = abs(np.dot(self._echo[a:b], z)) ** 2
            if tone < echo * _STANDS_OUT:
                return True
        return False

    def flush(self) -> list[DtmfEvent]:
        """End of the call audio: report a press in progress, forget everything."""
        events = self.detector.flush()
        if self._referenced and not self.canceller.deaf:
            events = [ev for ev in events if not self._left_over(ev)]
        self.canceller.reset()
        self._res = self._echo = np.zeros(0)
        self._ref, self._ref_pos, self._referenced, self._odd_byte = None, 0, False, b""
        self._fed = self._offset = 0
        return events

    def _as_int16(self, samples) -> np.ndarray:
        if isinstance(samples, (bytes, bytearray, memoryview)):
            b = self._odd_byte + bytes(samples)
            self._odd_byte = b[len(b) & ~1 :]
            return np.frombuffer(b, dtype="<i2", count=len(b) // 2).astype(np.int16)
        a = np.asarray(samples).reshape(-1)
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"expected int16 PCM samples, got dtype {a.dtype}")
        return a
