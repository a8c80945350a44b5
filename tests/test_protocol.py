"""The shared protocol module: payload checks name the field and the problem."""

import pytest

from phone_agent import protocol as p


def test_valid_messages_pass_and_are_cleaned():
    assert p.validate(p.LEASE, {"want": 3}) == {"want": 3}
    hello = p.validate(p.HELLO, {"agent": "0.1", "mode": "router", "backend": "adb",
                                 "device": {"model": "SM-A515F"}, "assets": ["a" * 64]})
    assert hello["device"] == {"model": "SM-A515F"}
    event = p.validate(p.CALL, {"call_id": "abcdefgh12", "seq": 1, "event": "dtmf", "at": 1.8e9,
                                "data": {"digit": "1"}})
    assert event["data"] == {"digit": "1"}
    audio = {"path": "speaker", "capture": "mic", "helper": "plays", "android": "13", "problem": None,
             "sources": {"voice-call-downlink": "silent", "voice-call": "refused", "mic": "signal"},
             "probed_at": 1.8e9}
    assert p.validate(p.HEARTBEAT, {"call_state": "idle", "audio": audio})["audio"] == audio


@pytest.mark.parametrize("event,payload,message", [
    (p.LEASE, {"want": 51}, "lease.want: must be between 1 and 50"),
    (p.LEASE, {"want": True}, "lease.want: must be an integer"),
    (p.LEASE, {}, "lease: missing field 'want'"),
    (p.HELLO, {"agent": "x", "mode": "satellite", "backend": "sim"}, "hello.mode: must be one of"),
    (p.HEARTBEAT, {"call_state": "idle", "battery": -1}, "heartbeat.battery: must be between 0 and 100"),
    (p.HEARTBEAT, {"call_state": "idle", "audio": {"path": "loud"}}, "heartbeat.audio.path: must be one of"),
    (p.HEARTBEAT, {"call_state": "idle", "audio": {"path": "none", "sources": {"camcorder": "signal"}}},
     "heartbeat.audio.sources: unknown field(s) camcorder"),
    (p.HEARTBEAT, {"call_state": "idle", "audio": {"path": "none", "problem": "x" * 121}},
     "heartbeat.audio.problem"),
    (p.ASSETS, {"have": ["not-a-hash"]}, "assets.have[0]: has an unexpected format"),
    (p.CALL, {"call_id": "abcdefgh12", "seq": 1, "event": "dtmf", "at": 1.8e9, "data": {"digit": "11"}},
     "call.data.digit"),
    (p.CALL, {"call_id": "abcdefgh12", "seq": 1, "event": "ended", "at": 1.8e9, "data": {"result": "won"}},
     "call.data.result: must be one of"),
    (p.CALL, {"call_id": "../../etc", "seq": 1, "event": "dialing", "at": 1.8e9}, "call.call_id"),
    (p.CALL, {"call_id": "abcdefgh12", "seq": 1, "event": "dialing", "at": float("nan")}, "call.at: must be a number"),
    (p.AGENT, {"call_id": "abcdefgh12", "attempt": 1, "outcome": "maybe"}, "agent.outcome: must be one of"),
])
def test_bad_payloads_name_the_problem(event, payload, message):
    with pytest.raises(p.ProtocolError) as caught:
        p.validate(event, payload)
    assert caught.value.code == p.BAD_PAYLOAD
    assert message in caught.value.message


def test_unknown_events_are_refused():
    with pytest.raises(p.ProtocolError) as caught:
        p.validate("reboot", {})
    assert caught.value.code == p.UNKNOWN_EVENT
