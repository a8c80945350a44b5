"""Call audio through scrcpy-server, and the capability probe, against
virtual handsets through the real adb binary.

The backend pushes the real scrcpy-server v3.3.4 file (fetched by the
set-up) to the virtual handset, starts it with ``app_process`` on an
``exec:`` stream and opens its ``localabstract:scrcpy_<scid>`` socket
through the real adb server; the handset answers as the real server does
for its Android release and model (phone_agent/simulator/virtual/scrcpy.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import time

import pytest

from phone_agent import protocol
from phone_agent.audio.dtmf import DtmfDetector
from phone_agent.script import ScriptConfig
from phone_agent.simulator.virtual.handset import PROFILES, VirtualHandset
from phone_agent.telephony.adb import AdbTelephony
from phone_agent.telephony.adb.scrcpy import SERVER_REMOTE, server_command
from phone_agent.telephony.adb.server_file import SERVER_SHA256, load
from phone_agent.telephony.adb.transport import Transport, close_quietly
from phone_agent.telephony.base import ACTIVE, DISCONNECTED, VOTER, DeviceUnavailable
from tests.adb_fixtures import adb_client, adb_server, expect_adb_error, virtual_phones  # noqa: F401
from tests.test_call_script import INTRO, InMemoryServer, campaign
from tests.test_call_script import assets  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

SPEED = 4.0
PRESSES_1 = "01012349995"  # answers, presses 1 a second into the announcement


@pytest.fixture
def phone(adb_server, virtual_phones):
    """``phone(profile, **handset_options)`` → (handset, backend factory)."""
    made: list[AdbTelephony] = []

    def start(profile="a14-galaxy-s23", **options):
        options.setdefault("speed", SPEED)
        handsets = []

        def make(serial):
            handsets.append(VirtualHandset(serial, profile=profile, **options))
            return handsets[-1]
        serial = virtual_phones(1, make).serials[0]

        def backend(**kwargs):
            kwargs.setdefault("poll_s", 0.1)
            made.append(AdbTelephony(serial, adb_port=adb_server.port, **kwargs))
            return made[-1]
        return handsets[0], backend

    yield start
    for backend in made:
        if backend._session is not None:
            backend._session.close()
        backend._shell_thread.shutdown(wait=True)


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def call_and_listen(t: AdbTelephony, intro) -> list[str]:
    """Dial the voter who presses 1, play the announcement, return the keys heard."""
    await t.dial(PRESSES_1)
    while (leg := t.tracker.live(VOTER)) is None or leg.state != ACTIVE:
        assert leg is None or leg.state != DISCONNECTED, "the voter never answered"
        await asyncio.sleep(0.05)
    detector, keys = DtmfDetector(), []

    async def listen():
        async for chunk in t.frames():
            keys.extend(e.key for e in detector.feed(chunk))
            if keys:
                return
    listening = asyncio.create_task(listen())
    playing = asyncio.create_task(t.play(intro))
    try:
        await asyncio.wait_for(listening, 15)
    finally:
        playing.cancel()
        await asyncio.gather(playing, return_exceptions=True)
        await t.stop()
        await t.hang_up()
    return keys


def test_a_pixel_7_hears_the_voters_1_on_the_downlink_and_says_so_in_its_heartbeat(phone, assets):
    handset, backend = phone("a13-pixel7")

    async def main():
        t = backend()
        await t.ready()  # joining: the probe runs
        joined = await t.health()
        keys = await call_and_listen(t, assets[INTRO[0]])
        after = await t.health()
        for _ in range(50):  # the server ends when its stream closes
            if not handset.scrcpy.running:
                break
            await asyncio.sleep(0.05)
        await t.close()
        return joined, keys, after

    joined, keys, after = run(main())
    audio = protocol.HEALTH(joined, "health")["audio"]
    assert audio["path"] == "downlink" and audio["capture"] == "voice-call-downlink"
    # idle, the call sources start but have no call to hear; the mic hears the room
    assert audio["sources"] == {"voice-call-downlink": "untested", "voice-call": "untested", "mic": "signal"}
    assert audio["helper"] == "plays" and audio["android"] == "13" and audio["problem"] is None
    assert time.time() - 60 < audio["probed_at"] <= time.time()
    assert keys == ["1"]
    assert after["audio"]["sources"]["voice-call-downlink"] == "signal"  # the call confirmed it
    assert handset.scrcpy.started == ["voice-call-downlink", "voice-call", "mic", "voice-call-downlink"]
    assert handset.scrcpy.running == 0 and handset.scrcpy.sockets == {}
    pushed = handset.file(SERVER_REMOTE)
    assert pushed == load()  # the pinned file, verified on the phone


def test_an_android_10_phone_probes_none_and_gets_no_calls(phone, assets):
    from phone_agent.runner import Runner

    handset, backend = phone("a10-pixel3")
    server = InMemoryServer([], campaign())
    server.assets = assets
    server.heartbeat_s = 0.3

    async def main():
        t = backend()
        with pytest.raises(DeviceUnavailable, match=r"not ready: audio capture impossible on Android 10"):
            await t.ready()
        runner = Runner(server, t, config=ScriptConfig(speed=SPEED), prefetch=2)
        task = asyncio.create_task(runner.run())
        while len(server.heartbeats) < 3:
            await asyncio.sleep(0.05)
        runner.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await t.close()
        return t.audio_probe

    probe = run(main())
    assert probe["path"] == "none" and probe["capture"] is None
    assert probe["sources"] == {"voice-call-downlink": "refused", "voice-call": "refused", "mic": "refused"}
    assert server.leases == []
    beat = protocol.HEALTH(server.heartbeats[-1], "heartbeat")
    assert beat["device"] == "unavailable" and "audio capture impossible on Android 10" in beat["problem"]
    assert beat["audio"]["path"] == "none"
    assert handset.telecom.calls == []  # no voter was rung


def test_a_phone_whose_downlink_records_silence_falls_back_to_voice_call_in_the_same_call(phone, assets):
    handset, backend = phone("a12-galaxy-s21")  # call_capture="voice_call"

    async def main():
        t = backend()
        await t.ready()
        before = dict(t.audio_probe)
        first = await call_and_listen(t, assets[INTRO[0]])
        started = len(handset.scrcpy.started)
        await asyncio.sleep(0.5)
        second = await call_and_listen(t, assets[INTRO[0]])
        await t.close()
        return before, first, started, second, t.audio_probe

    before, first, started, second, after = run(main(), 90)
    assert before["path"] == "downlink"  # idle, nothing told the downlink was silent
    assert first == ["1"] and second == ["1"]
    assert after["path"] == "voice_call" and after["capture"] == "voice-call"
    assert after["sources"]["voice-call-downlink"] == "silent"
    # first call: downlink, judged silent, then voice-call; the second call starts on voice-call
    assert handset.scrcpy.started[3:] == ["voice-call-downlink", "voice-call", "voice-call"]
    assert started == 5


def test_a_phone_that_captures_only_its_microphone_uses_the_speakerphone(phone, assets):
    mic_only = dataclasses.replace(PROFILES["a14-galaxy-s23"], key="a14-mic-only", call_capture="mic")
    handset, backend = phone(mic_only)

    async def main():
        t = backend()
        await t.ready()
        probed = dict(t.audio_probe)
        keys = await call_and_listen(t, assets[INTRO[0]])
        await t.close()
        return probed, keys

    probed, keys = run(main())
    assert probed["sources"] == {"voice-call-downlink": "refused", "voice-call": "refused", "mic": "signal"}
    assert probed["path"] == "speaker" and probed["capture"] == "mic"
    assert keys == ["1"]  # the voter's key as the loudspeaker plays it into the room


def test_android_11_captures_only_with_the_screen_unlocked(phone):
    handset, backend = phone("a11-galaxy-a52", locked=True)

    async def main():
        t = backend()
        with pytest.raises(DeviceUnavailable, match="screen is on and unlocked"):
            await t.ready()
        locked = dict(t.audio_probe)
        handset.locked = False  # the operator unlocks the phone
        unlocked = await t.probe_audio()
        await t.ready()
        await t.close()
        return locked, unlocked

    locked, unlocked = run(main())
    assert locked["path"] == "none" and set(locked["sources"].values()) == {"refused"}
    assert unlocked["path"] == "downlink" and unlocked["sources"]["mic"] == "signal"


def test_a_wrong_server_file_is_refused_here_and_replaced_on_the_phone(phone, tmp_path):
    handset, backend = phone("a14-galaxy-s23")
    wrong = tmp_path / "scrcpy-server-v3.3.4"
    wrong.write_bytes(load()[:-10])
    handset.files[SERVER_REMOTE] = (b"PK\x03\x04 an older scrcpy-server", 0o100644, int(time.time()))

    async def main():
        t = backend(scrcpy_server=wrong)
        with pytest.raises(DeviceUnavailable, match=r"not ready: the scrcpy-server file on this computer "
                                                     r"is not v3\.3\.4 \(size or sha256 differ\): refused"):
            await t.ready()
        on_phone_then = handset.file(SERVER_REMOTE)
        await t.close()
        good = backend()
        probe = await good.probe_audio()
        await good.close()
        return on_phone_then, probe

    on_phone_then, probe = run(main())
    assert on_phone_then == b"PK\x03\x04 an older scrcpy-server"  # nothing was pushed from the wrong file
    assert probe["path"] == "downlink"
    assert handset.file(SERVER_REMOTE) == load()  # the phone's other jar was replaced, verified


def test_the_virtual_server_speaks_the_v3_3_4_socket_and_refuses_what_the_real_one_would(
        phone, adb_client):
    handset, _ = phone("a14-galaxy-s23")
    serial = handset.serial
    link = Transport(adb_client, serial, 10.0)
    device = adb_client.device(serial)
    # a jar that is not the pinned server answers as a jar without the class
    handset.files[SERVER_REMOTE] = (b"PK\x03\x04 not scrcpy", 0o100644, 0)
    assert device.shell(server_command(0x1234, "mic"), timeout=10) == \
        "Error: Could not find class 'com.genymobile.scrcpy.Server'"
    handset.files[SERVER_REMOTE] = (load(), 0o100644, 0)
    wrong_version = server_command(0x1234, "mic").replace(" 3.3.4 ", " 3.3.3 ")
    assert device.shell(wrong_version, timeout=10) == \
        "[server] ERROR: The server version (3.3.4) does not match the client (3.3.3)"
    # nobody listens on that name: adbd closes the stream it was asked to open
    expect_adb_error(lambda: link.open("localabstract:scrcpy_00001234"))

    server = link.open("exec:" + server_command(0x1234, "mic"))
    audio = None
    try:
        for _ in range(100):
            try:
                audio = link.open("localabstract:scrcpy_00001234")
                break
            except Exception:  # noqa: BLE001 — not listening yet
                time.sleep(0.05)
        assert audio is not None
        head = audio.read_exact(1 + 64 + 4)
        assert head[0] == 0 and head[1:65] == b"SM-S911N".ljust(64, b"\0")
        assert struct.unpack(">I", head[65:]) == (0x00726177,)  # "raw"
        sizes = []
        for _ in range(6):
            pts, size = struct.unpack(">QI", audio.read_exact(12))
            assert pts >> 62 == 0  # neither config nor key frame
            audio.read_exact(size)
            sizes.append(size)
        assert all(0 < s <= 4096 and s % 4 == 0 for s in sizes)  # ≤ 1024 stereo s16 frames
        # the server accepted its one connection and stopped listening
        expect_adb_error(lambda: link.open("localabstract:scrcpy_00001234"))
    finally:
        close_quietly(audio)
    # the audio socket closed: the server's next write fails and it exits
    assert server.read_until_close() == ""
    close_quietly(server)
    assert handset.scrcpy.running == 0
    assert SERVER_SHA256 == "8588238c9a5a00aa542906b6ec7e6d5541d9ffb9b5d0f6e1bc0e365e2303079e"
