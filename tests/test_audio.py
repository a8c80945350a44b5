"""Announcement conversion to the phone format (PCM WAV 8000 Hz 16-bit mono).

Every input is generated here: sine waves written with soundfile in the
formats managers actually upload, and broken files made by hand.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from server.media import audio
from server.media.audio import Announcement, AudioError, convert_announcement, probe

# --------------------------------------------------------------------------- helpers


def tone(freq, sr, seconds, amp=0.5, channels=1, phase=0.0):
    t = np.arange(int(round(sr * seconds))) / sr
    x = amp * np.sin(2 * np.pi * freq * t + phase)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def encode(x, sr, subtype, fmt="WAV"):
    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def decode(wav: bytes):
    with sf.SoundFile(io.BytesIO(wav)) as f:
        assert (f.format, f.subtype, f.samplerate, f.channels) == ("WAV", "PCM_16", 8000, 1)
        return f.read(dtype="int16")


def level_db(samples, freq, ref=1.0, sr=8000):
    """Level of ``freq`` in ``samples`` (Hann-windowed FFT, peak of the nearby bins), dB re ``ref``."""
    x = np.asarray(samples, dtype=np.float64)
    x = x[len(x) // 10: len(x) - len(x) // 10]  # away from the edges
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    near = np.abs(freqs - freq) <= 3 * sr / len(x)
    return 20 * np.log10(max(spec[near].max(), 1e-12) / ref)


def peak_freq(samples, sr=8000):
    x = np.asarray(samples, dtype=np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)]


def canonical_header(n_bytes):
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + n_bytes, b"WAVE", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16,
        b"data", n_bytes,
    )


# --------------------------------------------------------------------------- conversions


def test_44k1_stereo_float_becomes_phone_format():
    data = encode(tone(1000, 44100, 2.0, channels=2), 44100, "FLOAT")
    result = convert_announcement(data, "intro.wav")

    assert isinstance(result, Announcement)
    samples = decode(result.wav)
    assert result.sample_rate == 8000
    assert abs(len(samples) / 8000 - 2.0) < 0.010
    assert abs(result.duration_s - 2.0) < 0.010
    assert abs(peak_freq(samples) - 1000) <= 2
    assert result.source == "WAV 44100 Hz, 2 ch, FLOAT"
    assert result.changes == ["44100 Hz → 8000 Hz 리샘플링", "스테레오 → 모노 믹스다운", "부동소수점 → 16비트 정수"]
    assert result.warnings == []
    # amplitude kept: 0.5 full scale is -6 dBFS
    assert -6.5 < result.peak_dbfs < -5.5
    # the plain 44-byte header the phones expect
    assert result.wav[:44] == canonical_header(len(samples) * 2)


def test_odd_duration_is_preserved_within_10_ms():
    data = encode(tone(440, 44100, 1.2345, channels=2), 44100, "FLOAT")
    result = convert_announcement(data, "a.wav")
    assert abs(len(decode(result.wav)) / 8000 - 1.2345) < 0.010


def test_6khz_does_not_alias_to_2khz():
    """6 kHz sampled at 8 kHz would fold to 2 kHz; the low-pass must remove it first."""
    ref = decode(convert_announcement(encode(tone(1000, 44100, 2.0, channels=2), 44100, "FLOAT"), "a.wav").wav)
    high = decode(convert_announcement(encode(tone(6000, 44100, 2.0, channels=2), 44100, "FLOAT"), "b.wav").wav)
    ref_level = 10 ** (level_db(ref, 1000) / 20)
    assert level_db(high, 2000, ref=ref_level) < -40
    # nothing else of it in the band either, once past the switch-on/off clicks at the ends
    assert np.abs(high[800:-800]).max() <= 4  # a few LSB of dither at most


def test_content_just_above_4khz_does_not_fold_into_the_band():
    ref = decode(convert_announcement(encode(tone(1000, 44100, 2.0), 44100, "FLOAT"), "a.wav").wav)
    near = decode(convert_announcement(encode(tone(4300, 44100, 2.0), 44100, "FLOAT"), "b.wav").wav)
    ref_level = 10 ** (level_db(ref, 1000) / 20)
    assert level_db(near, 3700, ref=ref_level) < -60


def test_telephone_band_is_kept():
    ref = decode(convert_announcement(encode(tone(1000, 44100, 2.0), 44100, "FLOAT"), "a.wav").wav)
    top = decode(convert_announcement(encode(tone(3300, 44100, 2.0), 44100, "FLOAT"), "b.wav").wav)
    assert abs(level_db(top, 3300) - level_db(ref, 1000)) < 1.0


def test_16k_24bit_mono():
    data = encode(tone(1000, 16000, 1.5, amp=0.7), 16000, "PCM_24")
    result = convert_announcement(data, "ment.wav")
    samples = decode(result.wav)
    assert result.source == "WAV 16000 Hz, 1 ch, PCM_24"
    assert result.changes == ["16000 Hz → 8000 Hz 리샘플링", "24비트 → 16비트"]
    assert abs(len(samples) / 8000 - 1.5) < 0.010
    assert abs(peak_freq(samples) - 1000) <= 2
    assert abs(np.abs(samples).max() / 32768 - 0.7) < 0.01


def test_8k_24bit_is_rounded_with_dither_not_truncated():
    x = tone(300, 8000, 1.0, amp=0.3)
    result = convert_announcement(encode(x, 8000, "PCM_24"), "a.wav")
    assert result.changes == ["24비트 → 16비트"]
    samples = decode(result.wav).astype(np.float64)
    exact = np.round(x * 2**23) / 2**23 * 32768  # what the 24-bit file holds, in 16-bit steps
    error = samples - exact
    assert np.abs(error).max() <= 1.5  # TPDF dither is at most ±1 LSB, plus rounding
    assert abs(error.mean()) < 0.05  # no truncation bias
    # deterministic: the same upload gives the same bytes (content hashes stay stable)
    assert convert_announcement(encode(x, 8000, "PCM_24"), "a.wav").wav == result.wav


def test_8bit_unsigned_is_widened_exactly():
    codes = (np.arange(8000) % 200 + 28).astype(np.uint8)  # raw 8-bit unsigned samples
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    data = b"RIFF" + struct.pack("<I", 36 + len(codes)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
    data += b"data" + struct.pack("<I", len(codes)) + codes.tobytes()
    assert sf.info(io.BytesIO(data)).subtype == "PCM_U8"

    result = convert_announcement(data, "old.wav")
    assert result.changes == ["8비트 → 16비트"]
    samples = decode(result.wav)
    np.testing.assert_array_equal(samples, (codes.astype(np.int32) - 128) * 256)


def test_8bit_unsigned_written_by_soundfile():
    data = encode(tone(1000, 22050, 1.0), 22050, "PCM_U8")
    result = convert_announcement(data, "a.wav")
    assert result.changes == ["22050 Hz → 8000 Hz 리샘플링", "8비트 → 16비트"]
    assert abs(peak_freq(decode(result.wav)) - 1000) <= 2


def test_32bit_int_48k_stereo():
    data = encode(tone(1000, 48000, 1.0, channels=2), 48000, "PCM_32")
    result = convert_announcement(data, "a.wav")
    assert result.changes == ["48000 Hz → 8000 Hz 리샘플링", "스테레오 → 모노 믹스다운", "32비트 정수 → 16비트"]
    samples = decode(result.wav)
    assert len(samples) == 8000
    assert abs(peak_freq(samples) - 1000) <= 2


def test_stereo_is_averaged():
    left = np.full(8000, 1000, dtype=np.int16)
    right = np.full(8000, 3000, dtype=np.int16)
    result = convert_announcement(encode(np.stack([left, right], axis=1), 8000, "PCM_16"), "a.wav")
    assert result.changes == ["스테레오 → 모노 믹스다운"]
    assert np.all(decode(result.wav) == 2000)  # exact average: kept exactly, no dither


def test_stereo_average_between_steps_is_dithered_without_bias():
    left = np.full(8000, 1000, dtype=np.int16)
    right = np.full(8000, -1001, dtype=np.int16)  # average -0.5: between two 16-bit steps
    samples = decode(convert_announcement(encode(np.stack([left, right], axis=1), 8000, "PCM_16"), "a.wav").wav)
    assert set(np.unique(samples)) <= {-1, 0}
    assert abs(samples.mean() + 0.5) < 0.05  # rounded on average to the true value, not truncated


def test_multichannel_is_averaged():
    x = np.zeros((8000, 6))
    x[:, 0] = 0.6
    result = convert_announcement(encode(x, 8000, "FLOAT"), "a.wav")
    assert "6채널 → 모노 믹스다운" in result.changes
    samples = decode(result.wav)
    assert np.all(np.abs(samples - 0.1 * 32768) <= 1.5)


def test_upsampling_from_6khz_removes_images():
    result = convert_announcement(encode(tone(1000, 6000, 2.0), 6000, "PCM_16"), "a.wav")
    assert result.changes == ["6000 Hz → 8000 Hz 리샘플링"]
    samples = decode(result.wav)
    assert abs(len(samples) / 8000 - 2.0) < 0.010
    assert abs(peak_freq(samples) - 1000) <= 2
    ref = 10 ** (level_db(samples, 1000) / 20)
    assert level_db(samples, 3000, ref=ref) < -60  # 1 kHz image folded from 5 kHz


def test_already_phone_format_comes_back_unchanged():
    samples = (tone(1000, 8000, 1.0) * 32767).astype(np.int16)
    data = encode(samples, 8000, "PCM_16")
    assert data[:44] == canonical_header(len(samples) * 2)
    result = convert_announcement(data, "ready.wav")
    assert result.wav == data
    assert result.changes == []
    assert result.warnings == []
    assert result.duration_s == 1.0


def test_phone_format_with_extra_chunks_is_rewrapped_with_the_same_samples():
    samples = (tone(1000, 8000, 0.5) * 20000).astype(np.int16)
    payload = samples.tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    info = b"INFOISFT" + struct.pack("<I", 6) + b"Lavf\x00\x00"
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", len(info)) + info
    body += b"data" + struct.pack("<I", len(payload)) + payload
    data = b"RIFF" + struct.pack("<I", len(body)) + body

    result = convert_announcement(data, "ready.wav")
    assert result.changes == []
    assert result.wav == canonical_header(len(payload)) + payload


def test_wavex_phone_format_is_rewrapped():
    samples = (tone(500, 8000, 0.5) * 20000).astype(np.int16)
    data = encode(samples, 8000, "PCM_16", fmt="WAVEX")
    result = convert_announcement(data, "ready.wav")
    assert result.changes == []
    assert result.wav == canonical_header(len(samples) * 2) + samples.tobytes()


def test_flac_is_decoded():
    samples = (tone(1000, 8000, 1.0) * 20000).astype(np.int16)
    result = convert_announcement(encode(samples, 8000, "PCM_16", fmt="FLAC"), "ment.flac")
    assert result.source == "FLAC 8000 Hz, 1 ch, PCM_16"
    assert result.changes == ["FLAC → WAV 변환"]
    np.testing.assert_array_equal(decode(result.wav), samples)


def test_mulaw_wav_is_expanded():
    result = convert_announcement(encode(tone(1000, 8000, 1.0), 8000, "ULAW"), "g711.wav")
    assert result.changes == ["μ-law → 16비트 선형 PCM"]
    assert abs(peak_freq(decode(result.wav)) - 1000) <= 2


@pytest.mark.skipif(not audio.MP3_SUPPORTED, reason="libsndfile without MP3")
def test_mp3_is_decoded():
    data = encode(tone(1000, 44100, 2.0, channels=2), 44100, "MPEG_LAYER_III", fmt="MP3")
    result = convert_announcement(data, "ment.mp3")
    assert result.source.startswith("MP3 44100 Hz, 2 ch")
    assert result.changes[:3] == ["MP3 → WAV 변환", "44100 Hz → 8000 Hz 리샘플링", "스테레오 → 모노 믹스다운"]
    samples = decode(result.wav)
    assert abs(peak_freq(samples) - 1000) <= 2
    assert abs(len(samples) / 8000 - 2.0) < 0.060  # MP3 frames pad the end a little


def test_mp3_refused_clearly_where_libsndfile_cannot_read_it(monkeypatch):
    """Builds of libsndfile before 1.1 have no MP3; the upload is then refused by name."""
    monkeypatch.setattr(audio, "ACCEPTED_EXTENSIONS", audio.ACCEPTED_EXTENSIONS - {".mp3"})
    with pytest.raises(AudioError) as err:
        convert_announcement(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(500), "ment.mp3")
    assert err.value.code == "unsupported_format"
    assert "MP3" in err.value.message and "WAV" in err.value.message


def test_clipping_never_wraps_around():
    x = tone(200, 44100, 1.0, amp=1.6)  # float source, far beyond full scale
    result = convert_announcement(encode(x, 44100, "FLOAT"), "loud.wav")
    samples = decode(result.wav).astype(np.int32)
    assert samples.max() == 32767
    assert samples.min() == -32768
    # where the source is strongly positive the output is too (wrap-around would flip the sign)
    src_at_out = np.sin(2 * np.pi * 200 * np.arange(len(samples)) / 8000)
    assert np.all(samples[src_at_out > 0.8] > 30000)
    assert np.all(samples[src_at_out < -0.8] < -30000)
    assert any("클리핑" in w for w in result.warnings)


def test_clipped_16bit_recording_is_warned_about():
    x = np.clip(tone(300, 8000, 1.0, amp=1.4) * 32767, -32768, 32767).astype(np.int16)
    result = convert_announcement(encode(x, 8000, "PCM_16"), "hot.wav")
    assert result.changes == []
    assert any("클리핑" in w and "clipping" in w for w in result.warnings)


def test_clean_full_scale_tone_is_not_called_clipped():
    x = (tone(300, 8000, 1.0, amp=0.99) * 32767).astype(np.int16)
    assert convert_announcement(encode(x, 8000, "PCM_16"), "a.wav").warnings == []


def test_silent_file_is_accepted_with_a_warning():
    result = convert_announcement(encode(np.zeros((44100, 2)), 44100, "FLOAT"), "silence.wav")
    assert result.warnings == ["무음 파일입니다 (최대 음량 -120 dBFS). 올바른 파일인지 확인해 주세요 "
                               "(silent file: peak below -60 dBFS)"]
    assert not decode(result.wav).any()  # digital silence stays silent (no dither noise)
    assert result.peak_dbfs == -120.0


def test_very_quiet_file_counts_as_silent():
    result = convert_announcement(encode(tone(1000, 8000, 1.0, amp=0.0005), 8000, "FLOAT"), "a.wav")
    assert any(w.startswith("무음 파일입니다") for w in result.warnings)
    result = convert_announcement(encode(tone(1000, 8000, 1.0, amp=0.01), 8000, "FLOAT"), "a.wav")
    assert result.warnings == []  # -40 dBFS is quiet, not silent


def test_truncated_data_is_used_with_a_warning():
    data = encode((tone(1000, 8000, 1.0) * 20000).astype(np.int16), 8000, "PCM_16")
    cut = data[: 44 + 8000]  # header promises 16000 bytes of samples, 8000 arrive
    result = convert_announcement(cut, "cut.wav")
    assert result.duration_s == 0.5
    assert any("잘려" in w and "truncated" in w for w in result.warnings)
    assert result.wav[:44] == canonical_header(8000)


def test_streamed_wav_with_unknown_length_is_not_called_truncated():
    """Writers on a pipe leave the RIFF and data sizes at 0xFFFFFFFF."""
    payload = (tone(1000, 8000, 1.0) * 10000).astype("<i2").tobytes()
    data = canonical_header(0)[:40].replace(struct.pack("<I", 36), struct.pack("<I", 0xFFFFFFFF), 1)
    data += struct.pack("<I", 0xFFFFFFFF) + payload
    result = convert_announcement(data, "pipe.wav")
    assert result.duration_s == 1.0
    assert result.warnings == []
    assert result.wav == canonical_header(len(payload)) + payload


def test_probe_reads_the_header_only():
    info = probe(encode(tone(1000, 44100, 3.0, channels=2), 44100, "PCM_24"), "x.wav")
    assert info["format"] == "WAV"
    assert info["subtype"] == "PCM_24"
    assert info["sample_rate"] == 44100
    assert info["channels"] == 2
    assert info["frames"] == 3 * 44100
    assert info["duration_s"] == 3.0
    assert info["phone_format"] is False
    assert probe(encode(np.zeros(800, dtype=np.int16), 8000, "PCM_16"))["phone_format"] is True


def test_extension_case_and_missing_extension_are_fine():
    data = encode(tone(1000, 16000, 0.5), 16000, "PCM_16")
    assert convert_announcement(data, "MENT.WAV").duration_s == 0.5
    assert convert_announcement(data, "").duration_s == 0.5
    assert convert_announcement(data, "녹음 파일").duration_s == 0.5


# --------------------------------------------------------------------------- refusals


def refused(data, filename="ment.wav", **kw) -> AudioError:
    with pytest.raises(AudioError) as err:
        convert_announcement(data, filename, **kw)
    e = err.value
    assert str(e) == e.message
    assert e.message and any("가" <= ch <= "힣" for ch in e.message), "message should be in Korean"
    return e


def test_empty_file_refused():
    e = refused(b"")
    assert e.code == "empty_file"
    assert "빈 파일" in e.message and "empty" in e.message


def test_random_bytes_refused():
    e = refused(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert e.code == "not_audio"
    assert "오디오 파일이 아닙니다" in e.message and "not an audio file" in e.message


def test_text_file_refused():
    e = refused("안녕하세요, 이것은 텍스트입니다\n".encode() * 50, "memo.wav")
    assert e.code == "not_audio"


def test_png_renamed_wav_refused():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
    e = refused(png, "poster.wav")
    assert e.code == "not_audio"
    assert "PNG" in e.message


def test_truncated_wav_header_refused():
    data = encode(tone(1000, 8000, 1.0), 8000, "PCM_16")
    for cut in (12, 20, 30):
        e = refused(data[:cut])
        assert e.code == "corrupt"
        assert "손상" in e.message and "corrupt" in e.message


def test_unsupported_extension_refused():
    data = encode(tone(1000, 8000, 0.5), 8000, "PCM_16")
    for name in ("ment.m4a", "ment.txt", "ment.wma"):
        e = refused(data, name)
        assert e.code == "unsupported_format"
        assert name[-4:] in e.message and "WAV" in e.message


def test_audio_format_we_do_not_take_refused():
    data = encode(tone(1000, 8000, 0.5), 8000, "PCM_16", fmt="AU")  # Sun .au under a .wav name
    e = refused(data)
    assert e.code == "unsupported_format"
    assert "AU" in e.message


def test_zero_length_audio_refused():
    e = refused(canonical_header(0))
    assert e.code == "no_audio"
    assert "소리 데이터가 없습니다" in e.message and "no audio" in e.message
    e = refused(encode(np.zeros((0, 2)), 44100, "FLOAT"))
    assert e.code == "no_audio"


def test_more_than_ten_minutes_refused():
    data = canonical_header(601 * 16000) + bytes(601 * 16000)
    e = refused(data, "long.wav")
    assert e.code == "too_long"
    assert "10분 1초" in e.message and "최대 10분" in e.message and "too long" in e.message
    # exactly ten minutes is fine
    ok = canonical_header(600 * 16000) + bytes(600 * 16000)
    assert convert_announcement(ok, "ten.wav").duration_s == 600.0


def test_max_seconds_is_configurable():
    data = encode(tone(1000, 44100, 3.0), 44100, "FLOAT")
    e = refused(data, max_seconds=2)
    assert e.code == "too_long"
    assert convert_announcement(data, "a.wav", max_seconds=3).duration_s == 3.0


def test_nan_samples_refused():
    x = tone(1000, 8000, 0.5)
    x[100] = np.nan
    e = refused(encode(x.astype(np.float32), 8000, "FLOAT"))
    assert e.code == "corrupt"
    assert "NaN" in e.message


def test_absurd_sample_rate_refused():
    e = refused(encode(tone(100, 1000, 1.0), 1000, "PCM_16"))
    assert e.code == "unsupported_format"
    assert "1000 Hz" in e.message


def test_probe_refuses_like_convert():
    with pytest.raises(AudioError) as err:
        probe(b"", "x.wav")
    assert err.value.code == "empty_file"
    with pytest.raises(AudioError) as err:
        probe(b"not audio at all" * 10, "x.wav")
    assert err.value.code == "not_audio"
