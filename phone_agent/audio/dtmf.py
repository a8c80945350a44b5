"""Streaming DTMF detector (Goertzel-style DFT bins, ITU-T Q.24 limits).

(Over 600 lines: a fifth of them is this account of the method and its
limits, which belongs next to the code that keeps them.)

Feed it call audio as it arrives — numpy ``int16`` arrays or PCM16LE bytes, in
chunks of any size — and it returns one :class:`DtmfEvent` per key press::

    det = DtmfDetector()            # 8 kHz
    for chunk in audio:
        for ev in det.feed(chunk):
            ...                     # ev.key == "1": put the voter through
    det.flush()                     # end of the call

When a key is reported
----------------------
``emit="confirm"`` (default): as soon as the press is *accepted* — it has
lasted ``min_duration_s`` (35 ms) as a steady, valid tone. The call script
wants the key as early as it is reliable, so it does not wait for the
release; a key is typically reported 35–45 ms after its tone starts, and the
same press is never reported again, however long it lasts. ``duration_s`` of
such an event is the duration measured at acceptance, not the whole press.
``emit="release"``: when the press ends (about 25–35 ms after the tone stops,
or at ``flush``), with the whole duration.

A break in the tone of up to ``max_gap_s`` (20 ms, measured) is bridged: it is
the same press. A longer pause ends the press; the same key after it is a new
press.

Limits (ITU-T Q.24 as summarised in ``notes/android-adb-dtmf.md``)
------------------------------------------------------------------
* Frequency: accept ≤ 1.5 % off, reject ≥ 3.5 % off. Each tone's frequency is
  *measured* (below) and must be within ``max_freq_error`` = 2.5 %, the
  midpoint, for a press to start.
* Duration: accept ≥ 40 ms, never accept < 23 ms. A press is accepted at a
  measured 35 ms; durations are measured to within about ±3 ms, so 38 ms and longer
  is always accepted and 30 ms and shorter never.
* Breaks: ≤ 10 ms must be bridged, ≥ 40 ms is a pause between presses;
  bridged up to 20 ms.
* Twist: Q.24 asks to accept the row (low group) tone up to 8 dB louder than
  the column tone, and the column up to 4 dB louder than the row. The limits
  here are 9 dB and 5 dB (``max_row_over_col_db``, ``max_col_over_row_db``):
  1 dB for the measurement error of a 12.75 ms window at 15 dB SNR. Asterisk's
  ``dsp.c`` has the same Q.24 values written as power ratios —
  ``DEF_DTMF_NORMAL_TWIST 6.31`` is 8.0 dB row over column and
  ``DEF_DTMF_REVERSE_TWIST 2.51`` is 4.0 dB column over row. Which of the two
  is "normal" and which "reverse" twist differs between sources, so the
  parameters here say which group is the louder one.
* Relative peak: the other three rows (and the other three columns) at least
  ``relative_peak_db`` = 8 dB below the strongest.
* Share of energy: the two tones carry at least ``min_energy_ratio`` = 80 % of
  the window's (AC) energy — Asterisk's and spandsp's ``DTMF_TO_TOTAL_ENERGY``
  work out to the same ~0.82. This is the main guard against noise and
  speech. Keys are still found at 10 dB SNR with the worst twist and
  frequency error, and at 6 dB SNR when centred and level.
* Level: each tone at least ``min_tone_dbfs`` = -50 dBFS (0 dBFS: a full-scale
  sine).
* No second-harmonic check (optional in Q.24 practice): the steadiness checks
  below reject talk-off the tests could produce more effectively.

How it works
------------
The audio is cut into half-blocks of ``block_size // 2`` samples (51 at
8 kHz, 6.375 ms). One matrix product per batch of half-blocks gives, for the
8 DTMF frequencies, each half-block's DFT under the rising and under the
falling half of a Hann window (the rectangular DFT is their sum), and the
window-weighted sum and energy. From these, every half-block (hop 6.375 ms):

* a Hann window over the last two half-blocks (``block_size`` = 102 samples,
  Asterisk's block) gives the tone powers, hence twist and share of energy.
  Hann sidelobes are > 40 dB down at the ≥ 268 Hz row-to-column spacing, so a
  loud tone does not leak into the quiet one and the twist reads true.
* Frequency: the phase of a bin advances from one window to the next (51
  samples later) by 2π·Δf·51/fs, where Δf is the tone's offset from the bin.
  That measures each tone's frequency to about ±1 Hz at 15 dB SNR,
  unambiguously within ±78 Hz. With N = 102 the bins alone are far too wide
  to reject 3.5 % (−0.7 dB at 697 Hz); this is exact and costs one complex
  product per tone, where extra probe bins would add 16 bins and a longer
  N = 205 window would halve the time resolution. The measured offset also
  corrects the power for the window's loss off-centre.
* Relative peak: a rectangular window over the last four half-blocks (204
  samples, the classic ~205-sample block): its 39 Hz bins separate rows 73 Hz
  apart by ≥ 14 dB even 1.5 % off, where a 102-sample window would let a loud
  row tone's sidelobes fail the column test on every other window.

A window that passes every check is *valid* for its key. A press starts at a
valid window and follows its key. Its timing comes not from counting windows
but from the tone amplitude in each 51-sample half-block, compared with the
press's median: a DFT's magnitude is proportional to the number of tone
samples in it, so an edge half-block tells how much of it the tone fills.
Start, end, breaks and durations are thus measured to about a millisecond
(3 ms at worst) rather than to the 6.375 ms hop.

A press is accepted when it has lasted ``min_duration_s`` and is *steady*:
* it started with a step — silence (≤ 20 % of the tone amplitude), at most
  three partly filled half-blocks, then the full tone. A press that did not
  (speech right before it, say) must last twice as long;
* every inner half-block holds the press's amplitude (70–140 % of the
  median), except that the first three full ones may reach 250 % and one
  may sag to 50 %;
* at most one real break was bridged.
DTMF is a steady pair of tones; sines fading in and out, or clusters of nearby
sines beating against each other (speech, music) are not. The allowances are
for speech codecs, which build a tone up over a 20 ms frame, overshoot it and
let it sag: through GSM 06.10, 195 of 200 presses (60 ms, 10 dB SNR) are
found where the strict shape (one partial half-block, 70–140 % throughout)
found 144. Until a press is
accepted every window must pass the limits above; after that it goes on
through windows that pass relaxed limits (hysteresis: +2 dB twist, -2 dB
relative peak, 75 % of the energy share, +0.5 % frequency, -6 dB level), so
a marginal tone is not chopped into several presses by noise.

Known limits: a few sines that happen to sit within 2.5 % of a row and a
column frequency and carry 80 % of the energy, steadily, for 35 ms are a key
by every Q.24 measure (``tones.speech_like`` random-sine "speech": 2 false
keys in 20 minutes, 15 through GSM, where the strict shape gave 0 and 7; real
speech from espeak-ng: none in 17 minutes, as is or through GSM). A tone
shorter than 70 ms that starts while the other party is still talking at
about the same level may be missed — or, for our own announcement, found
once its echo is removed (:mod:`.listener`). ``python -m
phone_agent.audio.dtmf RECORDING`` prints the keys in a file (:mod:`.cli`).

Speed (one core, 60 s of audio): 1000–2000× real time fed in long chunks;
fed in 20 ms chunks, about 300× for ordinary call audio and 100× for keys
pressed back to back. Most of the cost is numpy call overhead per feed, so
feed 100 ms or more at a time where throughput matters; audio with no
candidate tone stops after a cheap power screen. With OpenBLAS, set
``OPENBLAS_NUM_THREADS=1`` where many detectors share a machine: threaded
products this small only contend for the cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tones import COL_FREQS, KEYS, ROW_FREQS

__all__ = ["DtmfDetector", "DtmfEvent", "detect"]

_BACK = 6  # half-blocks looked back from a press's first valid window
_HIST = _BACK + 1  # half-blocks of spectra kept from earlier chunks (windows need 3)
_REF_N = 32  # half-blocks used for a press's reference amplitude
_MAX_PENDING = 96  # half-blocks (0.6 s) a press may stay unaccepted
_KEEP = 16  # half-blocks kept of an accepted press

# A half-block is "full" of the press's tone at >= _FULL of the reference
# amplitude, "silent" at <= _SILENT. Inner half-blocks of a steady tone stay
# within [_STEADY_LO, _STEADY_HI] of the reference.
_FULL = 0.75
_SILENT = 0.2
_STEADY_LO = 0.7
_STEADY_HI = 1.4
# Speech codecs (GSM 06.10, AMR) build a tone up over a frame and overshoot
# it, then let it sag now and then: a step may rise through up to _RAMP
# partly filled half-blocks; the first _OVERSHOOT full half-blocks may reach
# _OVERSHOOT_HI of the reference; one inner half-block may dip to _DIP_LO.
_RAMP = 3
_OVERSHOOT = 3
_OVERSHOOT_HI = 2.5
_DIPS = 1
_DIP_LO = 0.5
_MAX_BREAKS = 1  # real breaks bridged before a press is accepted
_UNSURE = 2.0  # times min_duration_s a press must last if it did not start with a step

# Hysteresis: how far an accepted press may fall short of the strict limits.
_HOLD_LEVEL_DB = 6.0
_HOLD_TWIST_DB = 2.0
_HOLD_PEAK_DB = 2.0
_HOLD_RATIO = 0.75
_HOLD_FREQ = 0.005

_GROUP_BASE = np.array([0, 4])  # first bin of the row and of the column group
_TINY = 1e-30  # keeps divisions by a zero power (digital silence) quiet


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """One key press: ``key`` in ``0-9 * # A-D``; ``start_s`` counted from
    the first sample fed (since construction, ``reset`` or ``flush``);
    ``duration_s`` as measured when the event was reported."""

    key: str
    start_s: float
    duration_s: float


def _hann_gain2(delta: np.ndarray) -> np.ndarray:
    """Power response of a Hann window to a tone ``delta`` bins off centre
    (1 at 0), for |delta| <= 0.9 (farther off, the frequency check rejects the
    window anyway)."""
    d = np.minimum(np.abs(delta), 0.9)
    return (np.sinc(d) / (1.0 - d * d)) ** 2


class _Limits:
    """The window checks as bounds on five measures per window (samples
    scaled to ±1.0, powers as A²/2): weaker tone's power; column-to-row power
    ratio (twist); two tones' share of the window's energy; strongest other
    bin relative to the chosen one (relative peak, row or column group);
    fractional frequency error (the larger of the two tones)."""

    def __init__(self, *, min_tone_dbfs, row_over_col_db, col_over_row_db, relative_peak_db, min_ratio,
                 max_freq_error):
        self.lo = np.array([0.5 * 10.0 ** (min_tone_dbfs / 10.0), 10.0 ** (-row_over_col_db / 10.0),
                            min_ratio, -np.inf, -np.inf])
        self.hi = np.array([np.inf, 10.0 ** (col_over_row_db / 10.0), np.inf,
                            10.0 ** (-relative_peak_db / 10.0), max_freq_error])

    def check(self, measures: np.ndarray) -> np.ndarray:
        return ((measures >= self.lo) & (measures <= self.hi)).all(axis=1)


class _Press:
    """A key press being tracked, in half-block units: ``amps[i]`` is the
    amplitude of the press's two tones in half-block ``k0 + i``."""

    __slots__ = ("key", "k0", "amps", "first", "last", "ref", "ref_at", "breaks", "exempt", "accepted", "start")

    def __init__(self, key: int, k0: int, amps: list[float], first: int):
        self.key = key
        self.k0 = k0
        self.amps = amps
        self.first = first  # last half-block of the first valid window
        self.last = first  # ... of the latest valid window
        self.ref = 0.0
        self.ref_at = -1  # pr.last when ref was computed
        self.breaks = 0
        self.exempt: list[tuple[int, int]] = []  # half-blocks around bridged breaks
        self.accepted = False
        self.start: float | None = None  # frozen once accepted


class DtmfDetector:
    """Streaming DTMF detector; see the module docstring for the method and
    the limits.

    ``block_size``: the Hann analysis window (even; the hop is half of it),
    by default 12.75 ms = 102 samples at 8 kHz, 204 at 16 kHz.
    ``emit``: ``"confirm"`` reports a key as soon as it is accepted,
    ``"release"`` when the press ends, with its whole duration.
    One detector per audio stream; not thread-safe.
    """

    def __init__(
        self,
        sample_rate: int = 8000,
        block_size: int | None = None,
        *,
        emit: str = "confirm",
        min_duration_s: float = 0.035,
        max_gap_s: float = 0.020,
        max_freq_error: float = 0.025,
        max_row_over_col_db: float = 9.0,
        max_col_over_row_db: float = 5.0,
        relative_peak_db: float = 8.0,
        min_energy_ratio: float = 0.8,
        min_tone_dbfs: float = -50.0,
    ):
        if sample_rate <= 0:
            raise ValueError(f"bad sample rate {sample_rate}")
        if block_size is None:
            block_size = 2 * round(0.006375 * sample_rate)
        if block_size < 8 or block_size % 2:
            raise ValueError(f"block_size must be even and >= 8, got {block_size}")
        if 2.0 * COL_FREQS[-1] * (1 + max_freq_error) >= sample_rate:
            raise ValueError(f"sample rate {sample_rate} is too low for DTMF")
        if emit not in ("confirm", "release"):
            raise ValueError(f"emit must be 'confirm' or 'release', got {emit!r}")
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.emit = emit
        self.min_duration_s = min_duration_s
        self.max_gap_s = max_gap_s

        n = block_size
        h = self._h = n // 2
        freqs = np.array(ROW_FREQS + COL_FREQS)
        i = np.arange(h)
        w_rise = np.sin(np.pi * i / n) ** 2  # periodic Hann, first half
        w_fall = np.cos(np.pi * i / n) ** 2  # second half; w_rise + w_fall == 1
        # One product per half-block gives the DFT at the 8 frequencies under
        # the rising and under the falling half of the Hann window, and the
        # Hann-weighted sums (for the DC level); a second the weighted energy.
        # Samples stay in int16 units; the scale to ±1.0 is folded in here.
        dft = np.exp(-2j * np.pi * np.outer(i, freqs) / sample_rate)  # (h, 8)
        wr, wf = w_rise[:, None], w_fall[:, None]
        cols = np.hstack([wr * dft, wf * dft, wr + 0j, wf + 0j]) / 32768.0  # (h, 18) complex
        # As a real matrix with (re, im) column pairs: a real product whose
        # result is viewed as complex, without converting the samples.
        self._basis = np.ascontiguousarray(cols.view(np.float64))  # (h, 36)
        self._wpow = np.stack([w_rise, w_fall], axis=1) / 32768.0**2  # (h, 2)
        self._rot = np.exp(-2j * np.pi * freqs * h / sample_rate)  # phase of one half-block
        self._wsum = n / 2.0  # sum of the Hann window
        self._strict = _Limits(
            min_tone_dbfs=min_tone_dbfs, row_over_col_db=max_row_over_col_db,
            col_over_row_db=max_col_over_row_db, relative_peak_db=relative_peak_db,
            min_ratio=min_energy_ratio, max_freq_error=max_freq_error,
        )
        self._hold = _Limits(
            min_tone_dbfs=min_tone_dbfs - _HOLD_LEVEL_DB, row_over_col_db=max_row_over_col_db + _HOLD_TWIST_DB,
            col_over_row_db=max_col_over_row_db + _HOLD_TWIST_DB, relative_peak_db=relative_peak_db - _HOLD_PEAK_DB,
            min_ratio=min_energy_ratio * _HOLD_RATIO, max_freq_error=max_freq_error + _HOLD_FREQ,
        )
        self._unit = 2.0 * np.pi * freqs * h / sample_rate  # phase drift per half-block of a 100 % error
        # Screen for the common case (no press, no tone): an upper bound of
        # the strict power and energy-ratio checks, before the correction for
        # an off-centre tone (at most the loss at the largest accepted offset).
        gmin = float(_hann_gain2(np.array(max_freq_error * COL_FREQS[-1] * block_size / sample_rate)))
        self._screen_power = self._strict.lo[0] * gmin
        self._screen_ratio = self._strict.lo[2] * gmin
        self._min_samples = min_duration_s * sample_rate
        self._max_gap = max_gap_s * sample_rate
        self.reset()

    # ------------------------------------------------------------------ API

    def reset(self) -> None:
        """Forget everything; the next sample fed is t = 0."""
        self._buf = np.zeros(0)
        self._odd_byte = b""
        self._m = 0  # half-blocks processed
        self._yh = np.zeros((_HIST, self._basis.shape[1] // 2), dtype=complex)
        self._eh = np.zeros((_HIST, 2))
        self._press: _Press | None = None

    def feed(self, samples) -> list[DtmfEvent]:
        """Process more audio: a numpy integer array (int16 range) or PCM16LE
        bytes, of any length (a partial block, or even a partial sample, is
        kept for the next call). Returns the events that became known."""
        x = self._as_float(samples)
        if self._buf.size:
            x = np.concatenate([self._buf, x])
        h = self._h
        m = x.size // h
        self._buf = x[m * h :].copy()
        if m == 0:
            return []
        events: list[DtmfEvent] = []
        self._process(x[: m * h].reshape(m, h), events)
        return events

    @property
    def tone_since(self) -> int | None:
        """While a key tone is being tracked (before and after it is
        reported): a sample index, counted like ``start_s``, at or a little
        before its start; else None."""
        pr = self._press
        return None if pr is None else max(0, pr.k0 * self._h)

    def flush(self) -> list[DtmfEvent]:
        """End of stream: process what is buffered, report a press still in
        progress (if it qualifies and was not reported yet) and reset."""
        events: list[DtmfEvent] = []
        if self._buf.size or self._press is not None:
            pad = (-self._buf.size) % self._h + 2 * self._h
            events = self.feed(np.zeros(pad, dtype=np.int16))
        if self._press is not None:
            self._finish(events)
        self.reset()
        return events

    # ------------------------------------------------------------- analysis

    def _as_float(self, samples) -> np.ndarray:
        if isinstance(samples, (bytes, bytearray, memoryview)):
            b = self._odd_byte + bytes(samples)
            self._odd_byte = b[len(b) & ~1 :]
            a = np.frombuffer(b, dtype="<i2", count=len(b) // 2)
        else:
            a = np.asarray(samples).reshape(-1)
            if a.dtype != np.int16 and a.size and not np.issubdtype(a.dtype, np.integer):
                raise TypeError(f"expected int16 PCM samples, got dtype {a.dtype}")
        return a.astype(np.float64)

    def _process(self, blocks: np.ndarray, events: list[DtmfEvent]) -> None:
        """Analyse m new half-blocks. Window j ends with half-block j: Hann
        over j-1..j, rectangular over j-3..j, frequency from j-2..j."""
        m = blocks.shape[0]
        y = np.concatenate((self._yh, (blocks @ self._basis).view(complex)))  # (H+m, 18): half-blocks m0-H ..
        e2 = np.concatenate((self._eh, np.square(blocks) @ self._wpow))
        self._yh, self._eh = y[-_HIST:], e2[-_HIST:]
        m0 = self._m
        self._m += m
        o = _HIST  # row of the first new half-block
        rot = self._rot
        hr, hf = y[:, :8], y[:, 8:16]  # DFT under the rising / falling half of the Hann window
        vw = hr[o - 1 : -1] + rot * hf[o:]  # Hann window over half-blocks (j-1, j)
        p = (8.0 / self.block_size**2) * (vw.real**2 + vw.imag**2)  # tone power (A²/2)
        ws = self._wsum
        mean = (y[o - 1 : -1, 16].real + y[o:, 17].real) / ws
        energy = (e2[o - 1 : -1, 0] + e2[o:, 1]) / ws - mean * mean  # AC power of the window
        if self._press is None:
            prm, pcm = p[:, :4].max(axis=1), p[:, 4:].max(axis=1)
            sp = self._screen_power
            if not ((prm >= sp) & (pcm >= sp) & (prm + pcm >= self._screen_ratio * energy)).any():
                return

        # Strongest row and column bin of each window: (m, 2) indices.
        best = p.reshape(m, 2, 4).argmax(axis=2) + _GROUP_BASE
        ri = np.arange(m)[:, None]
        ps = p[ri, best]
        # Their frequency offsets: how far each bin's phase drifts from the
        # previous window, h samples earlier (radians per half-block).
        vp = hr[o - 2 : -2] + rot * hf[o - 1 : -1]
        z = rot[best] * vw[ri, best] * np.conj(vp[ri, best])
        drift = np.abs(np.angle(z))
        # Undo the Hann window's loss for a tone that far off the bin centre
        # (offset in bins of the N-point window = drift / pi).
        ps = ps / _hann_gain2(drift / np.pi)
        hl = hr + hf  # plain (rectangular) DFT of each half-block
        rect = ((hl[o:] * rot + hl[o - 1 : -1]) * rot + hl[o - 2 : -2]) * rot + hl[o - 3 : -3]
        q = rect.real**2 + rect.imag**2
        q_best = q[ri, best]
        q[ri, best] = 0.0
        q_other = q.reshape(m, 2, 4).max(axis=2)
        measures = np.column_stack((
            ps.min(axis=1),
            ps[:, 1] / (ps[:, 0] + _TINY),
            ps.sum(axis=1) / (energy + _TINY),
            (q_other / (q_best + _TINY)).max(axis=1),
            (drift / self._unit[best]).max(axis=1),
        ))
        strict = self._strict.check(measures)
        if self._press is None and not strict.any():
            return
        hold = self._hold.check(measures) | strict
        key = best[:, 0] * 4 + (best[:, 1] - 4)
        amp = np.abs(hl)  # tone amplitude per half-block, rows as in y
        self._track(strict, hold, key, amp, m0, events)

    # --------------------------------------------------------- press tracker

    def _track(self, strict, hold, key, amp, m0: int, events: list[DtmfEvent]) -> None:
        starts = np.flatnonzero(strict)
        pos, n = 0, strict.size
        while pos < n:
            pr = self._press
            if pr is None:
                i = int(np.searchsorted(starts, pos))
                if i == starts.size:
                    return
                pos = int(starts[i])
                self._begin(int(key[pos]), m0 + pos, amp, m0, events)
                pos += 1
                continue
            j = m0 + pos
            r, c = divmod(pr.key, 4)
            row = amp[j - m0 + _HIST]
            pr.amps.append(float(row[r] + row[4 + c]))
            kk = int(key[pos])
            if kk == pr.key and (strict[pos] or pr.accepted and hold[pos]):
                self._extend(pr, j, bool(strict[pos]), amp, m0, events)
            elif strict[pos]:  # another key, without a break
                self._finish(events)
                self._begin(kk, j, amp, m0, events)
            else:
                # Any later piece of tone starts at or after half-block j.
                if j * self._h - self._fwd(pr, pr.last, j) > self._max_gap:
                    self._finish(events)
            if self._press is pr:
                if not pr.accepted:
                    if len(pr.amps) > _MAX_PENDING:
                        self._press = None  # never steady: not a key
                elif j - pr.last > _MAX_PENDING:
                    self._finish(events)  # the tone lingers, but its windows fail
                elif len(pr.amps) > 2 * _KEEP:
                    drop = min(len(pr.amps) - _KEEP, pr.last - 2 - pr.k0)
                    if drop > 0:
                        del pr.amps[:drop]
                        pr.k0 += drop
            pos += 1

    def _begin(self, key: int, j: int, amp, m0: int, events: list[DtmfEvent]) -> None:
        r, c = divmod(key, 4)
        base = j - _BACK - m0 + _HIST
        a = amp[base : base + _BACK + 1]
        self._press = _Press(key, j - _BACK, list(map(float, a[:, r] + a[:, 4 + c])), j)
        self._check(self._press, events)

    def _extend(self, pr: _Press, j: int, strict: bool, amp, m0: int, events: list[DtmfEvent]) -> None:
        if j > pr.last + 1:  # after invalid windows: a break, or only a flicker?
            gap = self._back(pr, j, pr.last) - self._fwd(pr, pr.last, j)
            if gap > self._max_gap:
                self._finish(events)
                if strict:
                    self._begin(pr.key, j, amp, m0, events)
                return
            if gap > 0:
                pr.breaks += 1
                pr.exempt.append((pr.last, j))
        pr.last = j
        self._check(pr, events)

    # Half-block arithmetic. Times are in samples; half-block k spans
    # [k*h, (k+1)*h). occ() is the fraction of a half-block the tone fills.

    def _occ(self, pr: _Press, k: int) -> float:
        if not pr.accepted and pr.ref_at != pr.last:
            # Reference: median amplitude over the valid windows so far.
            lo = pr.first - 1 - pr.k0
            v = sorted(pr.amps[lo : min(pr.last - pr.k0 + 1, lo + _REF_N)])
            pr.ref = 0.5 * (v[(len(v) - 1) // 2] + v[len(v) // 2])  # median
            pr.ref_at = pr.last
        return min(1.0, pr.amps[k - pr.k0] / pr.ref) if pr.ref > 0 else 0.0

    def _fwd(self, pr: _Press, k: int, hi: int) -> float:
        """End of the tone that fills half-block k, looking no further than hi."""
        if self._occ(pr, k) < _FULL:
            return (k + self._occ(pr, k)) * self._h
        while k + 1 <= hi and self._occ(pr, k + 1) >= _FULL:
            k += 1
        if k + 1 > hi:
            return (k + 1) * self._h
        return (k + 1 + self._occ(pr, k + 1)) * self._h

    def _back(self, pr: _Press, k: int, lo: int) -> float:
        """Start of the tone that fills half-block k, looking no further back than lo."""
        if self._occ(pr, k) < _FULL:
            return (k + 1 - self._occ(pr, k)) * self._h
        while k - 1 >= lo and self._occ(pr, k - 1) >= _FULL:
            k -= 1
        if k - 1 < lo:
            return k * self._h
        return (k - self._occ(pr, k - 1)) * self._h

    def _onset(self, pr: _Press) -> tuple[float, bool]:
        """Start of the press, and whether it began with a step (silence, at
        most one partly filled half-block, then the full tone)."""
        k = pr.first
        if self._occ(pr, k) < _FULL:
            return (k + 1 - self._occ(pr, k)) * self._h, False
        while k - 1 >= pr.k0 and self._occ(pr, k - 1) >= _FULL:
            k -= 1
        p = k - 1  # partly filled (or silent) half-block before the tone
        if p - 1 < pr.k0:  # full all the way back: the tone came before its windows passed
            return k * self._h, False
        step = self._occ(pr, p - 1) <= _SILENT
        q = p - 1  # a codec may build the tone up over a few half-blocks: a rising ramp
        while not step and q - 1 >= pr.k0 and p - q < _RAMP and self._occ(pr, q) > _SILENT:
            step = self._occ(pr, q - 1) <= _SILENT
            q -= 1
        return (k - self._occ(pr, p)) * self._h, step

    def _steady(self, pr: _Press) -> bool:
        """A key tone is steady: apart from its edges and those of at most one
        bridged break, every half-block holds the press's amplitude. Sines
        fading in and out, or clusters of nearby sines beating (speech,
        music), are not. (How it starts is judged by ``_onset``.)"""
        if pr.breaks > _MAX_BREAKS:
            return False
        k = pr.first
        while k - 1 >= pr.k0 and self._occ(pr, k - 1) >= _FULL:
            k -= 1
        ref = pr.ref
        inner = dips = 0
        for kk in range(k, pr.last):  # the last one may be the tail
            if any(a <= kk <= b for a, b in pr.exempt):
                continue
            amp = pr.amps[kk - pr.k0]
            hi = _OVERSHOOT_HI if kk - k < _OVERSHOOT else _STEADY_HI
            if not _STEADY_LO * ref <= amp <= hi * ref:
                if dips < _DIPS and _DIP_LO * ref <= amp <= hi * ref:
                    dips += 1
                else:
                    return False
            inner += 1
        return inner >= 3

    def _check(self, pr: _Press, events: list[DtmfEvent], final: bool = False) -> None:
        """Accept the press once it is long enough and steady."""
        if pr.accepted:
            return
        start, step = self._onset(pr)
        end = self._fwd(pr, pr.last, pr.k0 + len(pr.amps) - 1 if final else pr.last)
        need = self._min_samples if step else self._min_samples * _UNSURE
        if end - start >= need and self._steady(pr):
            pr.accepted = True
            pr.start = start
            if self.emit == "confirm":
                events.append(self._event(pr, start, end))

    def _finish(self, events: list[DtmfEvent]) -> None:
        pr = self._press
        self._press = None
        if pr is None:
            return
        self._check(pr, events, final=True)
        if pr.accepted and self.emit == "release":
            end = self._fwd(pr, pr.last, pr.k0 + len(pr.amps) - 1)
            events.append(self._event(pr, pr.start, end))

    def _event(self, pr: _Press, start: float, end: float) -> DtmfEvent:
        fs = self.sample_rate
        start = max(0.0, start)
        return DtmfEvent(KEYS[pr.key], start / fs, (end - start) / fs)


def detect(samples, sample_rate: int = 8000, **options) -> list[DtmfEvent]:
    """All key presses in a complete recording (``feed`` + ``flush``)."""
    det = DtmfDetector(sample_rate, **options)
    return det.feed(samples) + det.flush()


if __name__ == "__main__":  # python -m phone_agent.audio.dtmf RECORDING [--reference ANNOUNCEMENT]
    from .cli import main

    raise SystemExit(main())
