"""DTMF generation and detection (phone_agent.audio).

All audio is generated here, from fixed seeds: key tones with the level,
twist and frequency error under test, white noise at a given SNR, and
"speech-like" sums of random sines. The detector's limits are those of
ITU-T Q.24 as documented in phone_agent/audio/dtmf.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from phone_agent.audio import tones
from phone_agent.audio.dtmf import DtmfDetector, DtmfEvent, detect

FS = 8000
SEED = 20_240_601


def rng(n: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + n)


def padded(x: np.ndarray, before: float = 0.05, after: float = 0.15) -> np.ndarray:
    return np.concatenate([tones.silence(before), x, tones.silence(after)])


def noisy(x: np.ndarray, tone: np.ndarray, snr_db: float, g: np.random.Generator) -> np.ndarray:
    """x plus white noise snr_db below the RMS level of ``tone``."""
    return tones.mix(x, tones.white_noise(len(x) / FS, tones.rms_dbfs(tone) - snr_db, g))


def keys(events: list[DtmfEvent]) -> str:
    return "".join(e.key for e in events)


def press(key: str, duration: float, g: np.random.Generator, offset: int = 0, **tone) -> np.ndarray:
    """One key press with silence around it; ``offset`` shifts it by samples
    so that the tone starts at every position within the detector's blocks."""
    return padded(tones.dtmf_tone(key, duration, rng=g, **tone), before=0.05 + offset / FS)


# --------------------------------------------------------------------------- tones


def test_key_frequencies_cover_the_keypad():
    assert tones.key_frequencies("1") == (697.0, 1209.0)
    assert tones.key_frequencies("#") == (941.0, 1477.0)
    assert tones.key_frequencies("d") == (941.0, 1633.0)
    assert len({tones.key_frequencies(k) for k in tones.KEYS}) == 16
    with pytest.raises(ValueError):
        tones.key_frequencies("E")


def test_dtmf_tone_level_twist_and_frequency():
    x = tones.dtmf_tone("5", 1.0, level_dbfs=0.0, twist_db=4.0, freq_error=0.02)
    assert x.dtype == np.int16 and len(x) == FS
    assert 32000 <= np.abs(x.astype(int)).max() <= 32767  # 0 dBFS peak: full scale, no clipping
    t = np.arange(len(x)) / FS

    def amplitude(f: float) -> float:
        return 2.0 / len(x) * abs(np.sum(x * np.exp(-2j * np.pi * f * t)))

    row, col = amplitude(770 * 1.02), amplitude(1336 * 1.02)
    assert 20 * np.log10(col / row) == pytest.approx(4.0, abs=0.05)
    assert row + col == pytest.approx(32767, rel=0.01)
    assert amplitude(770) < 0.05 * row  # 2 % off is really off


def test_noise_mix_and_sequence_helpers():
    g = rng()
    n = tones.white_noise(2.0, -20.0, g)
    assert tones.rms_dbfs(n) == pytest.approx(-20.0, abs=0.2)
    assert np.array_equal(n, tones.white_noise(2.0, -20.0, rng()))  # seeded
    a = np.full(10, 16000, dtype=np.int16)
    assert tones.mix(a, a, np.full(5, -1000, dtype=np.int16)).tolist() == [31000] * 5 + [32000] * 5
    loud = np.array([30000, -30000], dtype=np.int16)
    assert tones.mix(loud, loud).tolist() == [32767, -32768]  # clipped, not wrapped
    seq = tones.key_sequence("12", tone_s=0.05, gap_s=0.02)
    assert len(seq) == 2 * (400 + 160) and not seq[400:560].any()
    s = tones.speech_like(1.0, g, level_dbfs=-15.0)
    assert tones.rms_dbfs(s) == pytest.approx(-15.0, abs=0.2)


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("snr_db", [15, 20])
@pytest.mark.parametrize("level", [0, -5, -10, -15, -20, -25])
def test_every_key_at_every_level_in_noise(level, snr_db):
    g = rng(level * 100 + snr_db)
    for key in tones.KEYS:
        tone = tones.dtmf_tone(key, 0.1, level_dbfs=level, rng=g)
        ev = detect(noisy(padded(tone), tone, snr_db, g))
        assert keys(ev) == key, (key, level, snr_db, ev)
        assert ev[0].start_s == pytest.approx(0.05, abs=0.003)
        assert 0.035 <= ev[0].duration_s <= 0.05  # reported once confirmed


def test_sequence_is_decoded_in_order():
    g = rng(1)
    seq = tones.key_sequence("1590#*", tone_s=0.1, gap_s=0.1, level_dbfs=-12, rng=g)
    ev = detect(noisy(padded(seq), seq, 20, g))
    assert keys(ev) == "1590#*"
    assert [round(e.start_s, 2) for e in ev] == [0.05, 0.25, 0.45, 0.65, 0.85, 1.05]


def test_release_mode_reports_whole_presses():
    g = rng(2)
    seq = tones.key_sequence("73", tone_s=0.12, gap_s=0.08, rng=g)
    ev = detect(padded(seq), emit="release")
    assert keys(ev) == "73"
    assert [e.duration_s for e in ev] == pytest.approx([0.12, 0.12], abs=0.003)


def test_random_chunk_sizes_give_the_same_events_as_one_chunk():
    g = rng(3)
    seq = tones.key_sequence("1590#*ABCD", tone_s=0.07, gap_s=0.06, rng=g)
    x = np.concatenate([tones.speech_like(0.5, g), seq, tones.speech_like(0.5, g)])
    x = tones.mix(x, tones.white_noise(len(x) / FS, -30, g))
    whole = detect(x)
    assert keys(whole) == "1590#*ABCD"
    for trial in range(4):
        det, got, i = DtmfDetector(), [], 0
        data = x if trial % 2 == 0 else x.astype("<i2").tobytes()  # bytes split mid-sample too
        while i < len(data):
            n = int(g.integers(1, 501))
            got += det.feed(data[i : i + n])
            i += n
        got += det.flush()
        assert keys(got) == keys(whole)
        for a, b in zip(got, whole):
            assert a.start_s == pytest.approx(b.start_s, abs=1e-9)
            assert a.duration_s == pytest.approx(b.duration_s, abs=1e-9)


def test_key_reported_as_soon_as_confirmed_and_only_once():
    g = rng(4)
    x = padded(tones.dtmf_tone("1", 0.5, rng=g), before=0.1)
    det, arrivals = DtmfDetector(), []
    for i in range(0, len(x), 80):  # 10 ms chunks
        for ev in det.feed(x[i : i + 80]):
            arrivals.append(((i + 80) / FS, ev))
    arrivals += [(len(x) / FS, ev) for ev in det.flush()]
    assert len(arrivals) == 1
    at, ev = arrivals[0]
    assert ev.key == "1"
    assert 0.1 + 0.035 <= at <= 0.1 + 0.06  # 35 ms of tone, plus at most one block and one chunk


def test_tone_at_end_of_stream_is_reported_by_flush():
    x = np.concatenate([tones.silence(0.05), tones.dtmf_tone("9", 0.045)])  # the stream ends in the tone
    det = DtmfDetector(emit="release")
    assert det.feed(x) == []  # not released yet
    ev = det.flush()
    assert keys(ev) == "9"
    assert ev[0].start_s == pytest.approx(0.05, abs=0.002) and ev[0].duration_s == pytest.approx(0.045, abs=0.003)
    assert det.flush() == []  # flushed means reset
    det = DtmfDetector()
    assert keys(det.feed(x) + det.flush()) == "9"  # confirmed once, not again at the end


# --------------------------------------------------------------------------- duration


@pytest.mark.parametrize("duration", [0.020, 0.023, 0.030])
def test_short_tones_are_rejected(duration):
    g = rng(5)
    for offset in range(0, 51, 5):
        for key in "1D":
            assert detect(press(key, duration, g, offset)) == []
            tone = tones.dtmf_tone(key, duration, rng=g)
            assert detect(noisy(padded(tone), tone, 20, g)) == []


@pytest.mark.parametrize("duration", [0.040, 0.045])
def test_tones_of_40ms_and_more_are_accepted(duration):
    g = rng(6)
    for offset in range(0, 51, 5):
        for key in "1D":
            ev = detect(press(key, duration, g, offset), emit="release")
            assert keys(ev) == key
            assert ev[0].duration_s == pytest.approx(duration, abs=0.003)


def test_short_break_is_bridged_into_one_press():
    g = rng(7)
    for offset in (0, 17, 33):
        x = tones.dtmf_tone("5", 0.21, rng=g)
        x[800 + offset : 880 + offset] = 0  # 10 ms drop-out inside a 200 ms press
        x = padded(x)
        assert keys(detect(x)) == "5"
        ev = detect(noisy(x, x, 20, g), emit="release")
        assert keys(ev) == "5" and ev[0].duration_s == pytest.approx(0.21, abs=0.003)


def test_same_key_after_a_pause_is_a_new_press():
    g = rng(8)
    one = tones.dtmf_tone("1", 0.1, rng=g)
    x = padded(np.concatenate([one, tones.silence(0.06), tones.dtmf_tone("1", 0.1, rng=g)]))
    ev = detect(x)
    assert keys(ev) == "11"
    assert ev[1].start_s - ev[0].start_s == pytest.approx(0.16, abs=0.003)
    assert keys(detect(noisy(x, x, 20, g))) == "11"


# --------------------------------------------------------------------------- frequency and twist


@pytest.mark.parametrize("error", [-0.015, 0.015])
def test_frequency_off_by_1_5_percent_is_accepted(error):
    g = rng(9)
    for key in tones.KEYS:
        tone = tones.dtmf_tone(key, 0.1, freq_error=error, rng=g)
        assert keys(detect(padded(tone))) == key
        assert keys(detect(noisy(padded(tone), tone, 20, g))) == key


@pytest.mark.parametrize("error", [-0.035, 0.035, -0.05, 0.05])
def test_frequency_off_by_3_5_percent_is_rejected(error):
    g = rng(10)
    for key in tones.KEYS:
        tone = tones.dtmf_tone(key, 0.2, freq_error=error, rng=g)
        assert detect(padded(tone)) == []
        assert detect(noisy(padded(tone), tone, 20, g)) == []


# Q.24: accept the row 8 dB above the column and the column 4 dB above the
# row. The detector allows 9 dB and 5 dB (1 dB for measurement error).
@pytest.mark.parametrize("twist", [-8.0, -4.0, 2.0, 4.0])
def test_twist_within_limits_is_accepted(twist):
    g = rng(11)
    for key in tones.KEYS:
        tone = tones.dtmf_tone(key, 0.1, twist_db=twist, rng=g)
        assert keys(detect(padded(tone))) == key
        assert keys(detect(noisy(padded(tone), tone, 15, g))) == key


@pytest.mark.parametrize("twist", [-11.0, -14.0, 7.0, 10.0])
def test_twist_beyond_limits_is_rejected(twist):
    g = rng(12)
    for key in tones.KEYS:
        tone = tones.dtmf_tone(key, 0.2, twist_db=twist, rng=g)
        assert detect(padded(tone)) == []
        assert detect(noisy(padded(tone), tone, 20, g)) == []


def test_worst_case_twist_and_frequency_error_together():
    g = rng(13)
    for twist, error in [(-8, 0.015), (-8, -0.015), (4, 0.015), (4, -0.015)]:
        for key in tones.KEYS:
            tone = tones.dtmf_tone(key, 0.06, level_dbfs=-20, twist_db=twist, freq_error=error, rng=g)
            assert keys(detect(noisy(padded(tone), tone, 15, g))) == key, (twist, error, key)


# --------------------------------------------------------------------------- talk-off


@pytest.mark.parametrize("level", [-30, -10, -1])
def test_single_1khz_tone_is_not_a_key(level):
    assert detect(tones.sine(1000.0, 2.0, level_dbfs=level)) == []


def test_single_tones_across_the_band_are_not_keys():
    for f in range(300, 3400, 37):  # passes over and between every DTMF frequency
        assert detect(tones.sine(float(f), 0.3, level_dbfs=-10)) == [], f


def test_each_group_alone_is_not_a_key():
    for f in tones.ROW_FREQS + tones.COL_FREQS:
        assert detect(tones.sine(f, 0.3)) == [], f
    # two rows, or two columns, at once
    two_rows = tones.mix(tones.sine(697, 0.3, level_dbfs=-16), tones.sine(852, 0.3, level_dbfs=-16))
    two_cols = tones.mix(tones.sine(1209, 0.3, level_dbfs=-16), tones.sine(1477, 0.3, level_dbfs=-16))
    assert detect(two_rows) == [] and detect(two_cols) == []


@pytest.mark.parametrize("level", [-40, -20, -6])
def test_white_noise_is_not_a_key(level):
    assert detect(tones.white_noise(20.0, level, rng(14))) == []


def test_speech_like_sound_is_not_a_key():
    g = rng(15)
    x = np.concatenate([tones.speech_like(10.0, g, level_dbfs=lvl) for lvl in (-30, -15, -5)])
    assert detect(x) == []
    # ... and keys pressed while it goes on, 15 dB below the tones, are still found
    seq = tones.key_sequence("0123456789*#", tone_s=0.1, gap_s=0.1, level_dbfs=-10, rng=g)
    talk = tones.speech_like(len(seq) / FS, g, level_dbfs=tones.rms_dbfs(seq[:800]) - 15)
    assert keys(detect(tones.mix(seq, talk))) == "0123456789*#"


# --------------------------------------------------------------------------- input handling


def test_dc_offset_does_not_hide_a_key():
    tone = tones.dtmf_tone("8", 0.1, level_dbfs=-12)
    x = np.clip(padded(tone).astype(int) + 4000, -32768, 32767).astype(np.int16)
    assert keys(detect(x)) == "8"


def test_input_types():
    det = DtmfDetector()
    with pytest.raises(TypeError):
        det.feed(np.zeros(100))  # float samples: ambiguous scale
    assert det.feed(b"") == [] and det.feed(np.zeros(0, dtype=np.int16)) == []
    x = padded(tones.dtmf_tone("4", 0.1)).astype(np.int32)  # any integer dtype in int16 range
    assert keys(detect(x)) == "4"
    with pytest.raises(ValueError):
        DtmfDetector(block_size=101)
    with pytest.raises(ValueError):
        DtmfDetector(emit="sometimes")


def test_other_sample_rate():
    fs = 16000
    seq = tones.key_sequence("42#", tone_s=0.08, gap_s=0.08, sample_rate=fs)
    assert DtmfDetector(fs).block_size == 204
    assert keys(detect(np.concatenate([tones.silence(0.05, fs), seq]), sample_rate=fs)) == "42#"
