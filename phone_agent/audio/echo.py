"""Echo cancellation against a known reference: the announcement the phone plays.

While the phone plays an announcement on its loudspeaker, its microphone
hears it back — delayed (the audio path's latency plus the flight from
loudspeaker to microphone) and filtered (the loudspeaker, the phone's body,
the room). A voter who presses a key *during* the announcement therefore
reaches the detector mixed with our own speech, often at the same level,
and a DTMF detector that guards against talk-off by the tones' share of the
energy (ours: 80 %) rejects the press. Knowing exactly what was played, we
subtract its echo first::

    ec = EchoCanceller()                    # 8 kHz
    residual = ec.cancel(mic, ref)          # equal-length int16/float arrays, in step

``ref[i]`` is what the phone was asked to play at the moment the microphone
sample ``mic[i]`` was captured — *no later* than its echo: the echo may lag
the reference by 0 to ``max_delay_s`` (1 s), and that lag is measured.

Method (and why not an adaptive filter)
---------------------------------------
Within one call the echo path does not change (the phone lies in its rack
slot), and the reference is known in full. So instead of *adapting* a
filter sample by sample (NLMS, or Speex's MDF), we *solve* for it:

1. Lag: the peak of the phase-transform cross-correlation (GCC-PHAT) of
   microphone and reference over the audio so far, searched within
   [0, ``max_delay_s``].
2. Echo path: the least-squares FIR of ``taps`` (1024 = 128 ms) taps from
   just before that lag — the Wiener–Hopf normal equations, whose matrix is
   Toeplitz, solved by Levinson recursion (``scipy.linalg.solve_toeplitz``).
3. Subtract the reference filtered by that FIR (``scipy.signal.oaconvolve``).

It is refitted on all the audio kept (``history_s``) every 0.25 s of
reference for the first 1.5 s, then after 2.25, 3.4, 5, ... s, so it is as
good as the data allow from about half a second in (the lag must be heard
for a quarter second first), and costs little once the path is known. A
least-squares fit is not pulled off course by the voter's own sound (a key,
speech, line noise): that is uncorrelated with the reference, so it only adds
variance that the growing history averages away — except a key tone, which
the reference could partly "explain" by chance and later play back as a
ghost key: the samples of a key under way are left out of the fit
(``exclude``; the :class:`~phone_agent.audio.listener.KeyListener` does it).

Compared on the same echo (tests/dtmf_audio.py: delayed, band-limited,
reverberant, slightly distorted; six echo paths, median echo removed per
half second of announcement): this canceller 2, 12, 16, 21, 18, then 23-39
dB; speexdsp's MDF canceller (through the ``pyaec`` wheel, 1024 taps,
10 ms frames) 8, 12, 13, 19, 15, then 17-26 dB. Speex starts earlier (it
needs no lag measurement), this one is ahead from the second half second
on, where nearly all presses fall. Decision 29 in docs/decisions.md.

When the microphone does not hear the reference at all (a phone whose
capture is the call's downlink, not the microphone), the fit explains none of
the microphone's energy and the canceller passes the audio through; after a
second of such audio it stops fitting for the rest of the call (``deaf``).

Pure logic: numpy/scipy arrays in and out, no I/O.
"""

from __future__ import annotations

import numpy as np
from scipy import fft
from scipy.linalg import solve_toeplitz
from scipy.signal import oaconvolve

__all__ = ["EchoCanceller"]

_PRE = 32  # taps kept before the measured lag (a filter's response may start early)
_SAMPLES_PER_TAP = 8  # data the least-squares fit needs per tap
_MIN_TAPS = 64
_MIN_OVERLAP_S = 0.25  # echo in the history needed to measure the lag
_MIN_GAIN = 0.05  # a fit that removes less than 5 % of the mic energy is no echo: pass through
_RIDGE = 1e-3
_STEADY_S = 1.5  # refit every first_fit_s until this much reference
_DEAF_AFTER_S = 1.0  # a fit over this much audio that finds no echo is believed ...
_LOUD_POWER = (32768.0 * 10 ** (-40 / 20)) ** 2 / 2  # ... if the reference's RMS is above -40 dBFS
_GROW = 1.5  # then (and while no echo is heard) when the reference has grown by this factor  # Tikhonov regularisation, relative to the reference's power


class EchoCanceller:
    """Subtracts the echo of a reference signal from microphone audio; see
    the module docstring. One per call (the echo path it learns is that
    call's); not thread-safe.

    ``sample_rate``: of both signals. ``taps``: length of the echo path
    modelled after the lag (default 128 ms). ``max_delay_s``: the largest lag
    of the echo behind the reference. ``history_s``: how much audio the fit
    uses (the latest).
    """

    def __init__(self, sample_rate: int = 8000, *, taps: int | None = None, max_delay_s: float = 1.0,
                 history_s: float = 6.0, first_fit_s: float = 0.25):
        if sample_rate <= 0:
            raise ValueError(f"bad sample rate {sample_rate}")
        self.sample_rate = sample_rate
        self.taps = taps or int(0.128 * sample_rate)
        self.max_delay = int(max_delay_s * sample_rate)
        self._keep = int(history_s * sample_rate) + self.max_delay + self.taps
        self._first_fit = int(first_fit_s * sample_rate)
        self._steady = int(_STEADY_S * sample_rate)
        self._min_overlap = int(_MIN_OVERLAP_S * sample_rate)
        self.reset()

    def reset(self) -> None:
        """Forget the echo path and the history (a new call)."""
        # History: rows reference, microphone and the exclusion mask (see
        # exclude); the latest _keep samples of _len.
        self._buf = np.zeros((3, 2 * self._keep))
        self._len = 0
        self._n = 0  # samples fed so far: the history ends at this index
        self._excl_until = 0  # samples before this index are excluded as they arrive
        self._ref_seen = 0  # samples of non-silent reference so far
        self._next_fit = self._first_fit
        self.h: np.ndarray | None = None  # FIR from reference to echo, starting at `delay`
        self.delay = 0  # lag of h[0] behind the reference, in samples
        self.erle_db = 0.0  # echo removed by the last fit over its own data (dB)
        self.deaf = False  # a second of reference brought no echo: no more fits this call

    @property
    def active(self) -> bool:
        """Whether an echo path has been found and is being cancelled."""
        return self.h is not None

    def cancel(self, mic, ref) -> np.ndarray:
        """The microphone audio with the reference's echo removed, as float64
        samples on mic's scale. ``mic`` and ``ref`` have the same length and
        are in step (see the module docstring)."""
        y = np.asarray(mic, dtype=np.float64).reshape(-1)
        x = np.asarray(ref, dtype=np.float64).reshape(-1)
        if y.shape != x.shape:
            raise ValueError(f"mic and reference differ in length ({y.size} and {x.size} samples)")
        n = y.size
        if n == 0 or self.deaf:
            self._n += n
            return y
        # Fit on the audio before this chunk: a key pressed in this chunk
        # must not be partly "explained" by the reference and taken away.
        if self._ref_seen >= self._next_fit:
            self._fit()
            # Every first_fit_s while the path is being learnt; then, and
            # while no echo is heard, at growing intervals.
            grow = _GROW if self.h is None or self._ref_seen >= self._steady else 1.0
            self._next_fit = max(self._ref_seen + self._first_fit, int(self._ref_seen * grow))
        echo = self._echo(x, n)
        mask = np.zeros(n)
        if self._excl_until > self._n:  # the voter's key goes on
            mask[: min(n, self._excl_until - self._n)] = 1.0
        self._append(x, y, mask)
        self._n += n
        if np.any(x):
            self._ref_seen += n
        return y - echo

    def exclude(self, start: int, end: int) -> None:
        """Leave samples ``start`` to ``end`` (indices counted from the first
        sample fed; ``end`` may lie ahead) out of later fits: a key is being
        pressed there. A least-squares fit would otherwise explain a little
        of the key's tone with the reference, and play it back later — as a
        ghost key — wherever the reference has energy at those frequencies.
        In the fit their place is taken by the echo the latest fit predicts
        there (so each fit moves toward the least-squares fit of the rest)."""
        m = self._m
        lo = max(start, self._n - m.size)
        if lo < min(end, self._n):
            m[lo - self._n + m.size : min(end, self._n) - self._n + m.size] = 1.0
        self._excl_until = max(self._excl_until, end)

    @property
    def _x(self) -> np.ndarray:
        return self._buf[0, max(0, self._len - self._keep) : self._len]

    @property
    def _y(self) -> np.ndarray:
        return self._buf[1, max(0, self._len - self._keep) : self._len]

    @property
    def _m(self) -> np.ndarray:  # 1 where a key was pressed (see exclude)
        return self._buf[2, max(0, self._len - self._keep) : self._len]

    def _append(self, *rows: np.ndarray) -> None:
        n = rows[0].size
        if self._len + n > self._buf.shape[1]:  # move the latest _keep samples to the front
            keep = min(self._len, self._keep)
            if keep + n > self._buf.shape[1]:
                self._buf = np.concatenate([self._buf, np.zeros((3, keep + n - self._buf.shape[1]))], axis=1)
            self._buf[:, :keep] = self._buf[:, self._len - keep : self._len]
            self._len = keep
        self._buf[:, self._len : self._len + n] = rows
        self._len += n

    def _echo(self, x: np.ndarray, n: int) -> np.ndarray:
        """The echo estimate for the chunk whose reference is x."""
        if self.h is None:
            return np.zeros(n)
        # Echo of this chunk: the reference from delay + taps - 1 back.
        span = self.delay + self.h.size - 1 + n
        xs = np.concatenate([self._x[-span:], x])[-span:]
        if xs.size < span:
            xs = np.concatenate([np.zeros(span - xs.size), xs])
        xs = xs[: xs.size - self.delay]  # ends `delay` samples before the chunk's end
        if not np.any(xs):
            return np.zeros(n)
        return oaconvolve(xs, self.h, mode="valid")

    def _fit(self) -> None:
        x, y = self._x, self._y
        n = x.size
        m = self._m
        if m.any():  # keys pressed: the latest fit's prediction stands in for them
            y = y.copy()
            hit = m > 0
            if self.h is None:
                y[hit] = 0.0
            else:
                pred = oaconvolve(x, self.h)[: max(0, n - self.delay)]
                y[hit] = np.concatenate([np.zeros(n - pred.size), pred])[hit]
        nz = np.flatnonzero(x)
        if nz.size == 0:
            return
        span = n - int(nz[0])  # samples since the reference began (within the history)
        max_lag = min(self.max_delay, span - self._min_overlap)
        if max_lag < 0:
            return
        nfft = fft.next_fast_len(n + self.max_delay + self.taps, real=True)
        X = fft.rfft(x, nfft)
        Y = fft.rfft(y, nfft)
        cross = Y * np.conj(X)
        # 1. the lag: GCC-PHAT peak in [0, max_lag] (lags that leave enough
        # of the echo inside the history to measure)
        mag = np.abs(cross)
        g = fft.irfft(cross / (mag + 1e-12 * mag.max() + 1e-30), nfft)
        lag = int(np.argmax(np.abs(g[: max_lag + 1])))
        d = max(0, lag - _PRE)
        # 2. the echo path: least squares over lags d .. d + taps - 1, with
        # no more taps than the data can fix (an overfitted filter would
        # "explain" noise and add it back)
        overlap = span - d
        taps = min(self.taps, overlap // _SAMPLES_PER_TAP)
        if taps < _MIN_TAPS:
            return
        # Reference autocorrelation over the reference whose echo is in the
        # microphone history: its last d samples are heard only later.
        xt = fft.rfft(x[: n - d], nfft) if d else X
        r = fft.irfft(xt * np.conj(xt), nfft)[:taps]
        c = fft.irfft(cross, nfft)[d : d + taps]  # mic-reference cross-correlation
        if r[0] <= 0:
            return
        r = r.copy()
        r[0] *= 1.0 + _RIDGE
        h = solve_toeplitz(r, c)
        explained = float(h @ c)  # energy of the fitted echo over the history
        total = float(y[-overlap:] @ y[-overlap:])
        # By chance alone a fit explains about taps/overlap of pure noise.
        if total <= 0 or explained < max(_MIN_GAIN, 3.0 * taps / overlap) * total:
            self.h = None  # the microphone does not hear the reference
            self.erle_db = 0.0
            # Believed only over a second of real sound (not a quiet lead-in).
            loud = float(x[-span:] @ x[-span:]) / span >= _LOUD_POWER
            self.deaf = loud and overlap >= _DEAF_AFTER_S * self.sample_rate
            return
        self.h, self.delay = h, d
        self.erle_db = float(-10.0 * np.log10(max(1e-12, 1.0 - min(1.0, explained / total))))
