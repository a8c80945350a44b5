"""The capability probe's decisions (pure): which path a phone's sources
give it, why a phone has none, and what a call's finding changes. The probe
against phones is in tests/test_scrcpy_capture.py."""

from __future__ import annotations

import numpy as np
import pytest

from phone_agent import protocol
from phone_agent.telephony.adb.probe import SIGNAL_DBFS, choose, heard, level_dbfs, result, verdict

ALL = ("voice-call-downlink", "voice-call", "mic")


def sources(downlink, voice_call, mic):
    return dict(zip(ALL, (downlink, voice_call, mic)))


@pytest.mark.parametrize("found, path", [
    (sources("untested", "untested", "signal"), ("downlink", "voice-call-downlink")),
    (sources("silent", "untested", "signal"), ("voice_call", "voice-call")),
    (sources("refused", "refused", "signal"), ("speaker", "mic")),
    (sources("silent", "signal", "silent"), ("voice_call", "voice-call")),
    (sources("refused", "silent", "silent"), ("none", None)),
])
def test_the_first_source_neither_refused_nor_silent_is_the_path(found, path):
    assert choose(found) == path


def test_a_phone_without_a_path_says_why_in_at_most_120_characters():
    ten = result("10", sources("refused", "refused", "refused"), "plays", now=1.8e9)
    assert ten["path"] == "none" and ten["capture"] is None
    assert ten["problem"].startswith("audio capture impossible on Android 10")
    eleven = result("11", sources("refused", "refused", "refused"), "plays", now=1.8e9)
    assert "unlocked" in eleven["problem"]
    other = result("14", sources("silent", "refused", "silent"), "missing", now=1.8e9)
    assert other["problem"] == "no source hears the call: voice-call-downlink silent, voice-call refused, mic silent"
    fine = result("13", sources("untested", "untested", "signal"), "plays", now=1.8e9)
    assert fine["problem"] is None
    for r in (ten, eleven, other, fine):
        assert len(r["problem"] or "") <= 120
        assert protocol.HEALTH({"call_state": "idle", "audio": r}, "health")["audio"] == r


def test_the_heartbeat_refuses_an_audio_result_of_another_shape():
    bad = result("13", sources("untested", "untested", "signal"), "plays", now=1.8e9)
    with pytest.raises(protocol.ProtocolError, match="path"):
        protocol.HEALTH({"call_state": "idle", "audio": dict(bad, path="earpiece")}, "health")
    with pytest.raises(protocol.ProtocolError, match="sources"):
        protocol.HEALTH({"call_state": "idle", "audio": dict(bad, sources={"mic": "loud"})}, "health")


def test_a_silent_downlink_found_in_a_call_moves_the_phone_to_voice_call():
    joined = result("12", sources("untested", "untested", "signal"), "plays", now=1.8e9)
    after = heard(joined, "voice-call-downlink", "silent", now=1.8e9 + 60)
    assert (after["path"], after["capture"]) == ("voice_call", "voice-call")
    assert after["sources"] == sources("silent", "untested", "signal") and after["helper"] == "plays"
    last = heard(heard(after, "voice-call", "refused"), "mic", "silent")
    assert last["path"] == "none" and last["problem"].startswith("no source hears the call")


def test_digital_silence_is_silent_and_a_quiet_room_is_signal():
    assert level_dbfs(bytes(1600)) == float("-inf") and verdict(bytes(1600)) == "silent"
    room = (np.random.default_rng(1).normal(0, 10 ** ((SIGNAL_DBFS + 10) / 20) * 32768, 800)).astype("<i2")
    assert verdict(room.tobytes()) == "signal"
    assert verdict(np.ones(800, "<i2").tobytes()) == "silent"  # 1 LSB: dither, not a line
