"""The adb telephony backend against virtual phones through the real adb.

Everything between the backend and the phone is real: adbutils talks to the
real ``adb`` server (the binary the adbutils wheel ships, on a private
loopback port — tests/adb_fixtures.py), which connects over TCP to virtual
phones (phone_agent.simulator.virtual: VirtualAdbd speaking the device side of ADB,
VirtualHandset answering as an Android 10–14 handset with the sim backend's
seeded voters and agent handsets). The backend dials, follows the call
through one long-lived interactive shell, hears the voter's "1" as DTMF tone
audio, pushes announcements, reads the phone's health, and is hurt the ways
real phones hurt: a dropped connection mid-call, an offline or unauthorized
phone, a dump layout it does not know.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest

from phone_agent import protocol
from phone_agent.audio.dtmf import DtmfDetector
from phone_agent.script import CallScript, ScriptConfig
from phone_agent.telephony import create
from phone_agent.telephony.adb import ASSET_DIR, POLL_REGISTRY, AdbTelephony
from phone_agent.telephony.base import (ACTIVE, AGENT, ALERTING, DIALING, DISCONNECTED, INCOMING,
                                        VOTER, ConnectionLost, DeviceOffline, DeviceUnauthorized,
                                        DeviceUnavailable, NoActiveCall, Telephony)
from phone_agent.simulator.sim import SimAgentDesk
from phone_agent.simulator.virtual.handset import PROFILES, VirtualHandset
from phone_agent.simulator.voter import AgentModel, VoterModel
from tests.adb_fixtures import adb_server, virtual_phones  # noqa: F401  (fixtures)
from tests.test_call_script import INTRO, NEVER, InMemoryServer, campaign
from tests.test_call_script import assets  # noqa: F401  (fixture: the intro and promise WAVs)

pytestmark = pytest.mark.slow

SPEED = 4.0  # simulated seconds per wall second on the handsets and in the script
LINES = [{"id": 1, "extension": "1001", "dial_target": "1001", "ring_s": 8.0},
         {"id": 2, "extension": "1002", "dial_target": "1002", "ring_s": 8.0}]
ANSWERS = AgentModel(answer_p=1.0, answer_after_s=(2.0, 2.0), talk_s=(4.0, 4.0))


@pytest.fixture
def phone(adb_server, virtual_phones):
    """``phone(**handset_options)`` → (serial, handset, virtual adbd, backend factory)."""

    def start(profile="a14-galaxy-s23", **options):
        options.setdefault("speed", SPEED)
        handsets = []

        def make(serial):
            handsets.append(VirtualHandset(serial, profile=profile, **options))
            return handsets[-1]
        phones = virtual_phones(1, make)
        serial = phones.serials[0]

        def backend(**kwargs):
            kwargs.setdefault("poll_s", 0.1)
            made.append(AdbTelephony(serial, adb_port=adb_server.port, **kwargs))
            return made[-1]
        return serial, handsets[0], phones, backend

    made: list[AdbTelephony] = []
    yield start
    for backend in made:  # a test that failed half-way leaves its shell open
        if backend._session is not None:
            backend._session.close()
        backend._shell_thread.shutdown(wait=True)


def run(coro, timeout: float = 90):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def changes(backend: Telephony, until, timeout: float = 15.0) -> list:
    """Changes of ``backend`` up to and including the one ``until`` accepts."""
    events = backend.call_events()
    seen = []
    while True:
        change = await asyncio.wait_for(anext(events), timeout)
        seen.append(change)
        if until(change):
            return seen


def ended(leg=VOTER):
    return lambda c: c.leg == leg and c.state == DISCONNECTED


def states(seen, leg=VOTER):
    return [(c.state, c.cause) for c in seen if c.leg == leg]


# -- one call, every release -------------------------------------------------------------

@pytest.mark.parametrize("profile", sorted(k for k, p in PROFILES.items() if p.sdk >= 30))
def test_a_call_is_dialed_followed_heard_and_hung_up_through_one_shell(phone, assets, profile):
    # (Android 10 cannot capture call audio from the shell: tests/test_scrcpy_capture.py)
    serial, handset, _, backend = phone(profile)

    async def main():
        t = backend()
        device = protocol.DEVICE(await t.device(), "device")
        before = protocol.HEALTH(await t.health(), "health")
        await t.dial("01012349995")  # answers, presses 1 a second into the intro
        answered = await changes(t, lambda c: c.state in (ACTIVE, DISCONNECTED))
        detector, keys = DtmfDetector(), []

        async def listen():
            async for chunk in t.frames():
                keys.extend(e.key for e in detector.feed(chunk))
                if keys:
                    return
        listening = asyncio.create_task(listen())
        played = await t.play(assets[INTRO[0]])
        await asyncio.wait_for(listening, 10)
        during = await t.health()
        await t.hang_up()
        end = await changes(t, ended())
        after = await t.health()
        await t.close()
        return device, before, answered, keys, played, during, end, after

    device, before, answered, keys, played, during, end, after = run(main())
    p = PROFILES[profile]
    assert device["android"] == p.release and p.model in device["model"]
    assert device["number"] == handset.number
    assert before["call_state"] == "idle" and before["sim"] == "ready" and before["charging"]
    assert before["battery"] == handset.battery and before["signal"] == handset.signal
    assert before["network"] == ("5g" if p.sdk >= 31 else "lte")
    assert states(answered) == [(DIALING, None), (ALERTING, None), (ACTIVE, None)]
    assert keys == ["1"] and played is True
    assert during["call_state"] == "active"
    assert states(end) == [(DISCONNECTED, "local_hangup")] and after["call_state"] == "idle"
    # one long-lived shell carried every command; one watch stream pushed the call's states
    assert handset.interactive_sessions == 1 and handset.watch.runs == 1
    assert not any(POLL_REGISTRY in c for c in handset.commands)  # nothing was polled


@pytest.mark.parametrize("number, cause", [
    ("01012349990", "busy"),
    ("01012349992", "invalid_number"),
    ("01012349993", "rejected"),
    ("01012349991", "no_answer"),
])
def test_calls_the_voter_never_answers_end_with_the_networks_cause(phone, number, cause):
    _, _, _, backend = phone("a11-galaxy-a52", voters=VoterModel(no_answer_s=4.0))

    async def main():
        t = backend()
        await t.dial(number)
        seen = await changes(t, ended())
        await t.close()
        return seen

    assert states(run(main()))[-1] == (DISCONNECTED, cause)


def test_an_incoming_call_shows_the_callers_number_and_is_answered(phone):
    _, handset, phones, backend = phone("a13-pixel7", voice_slot=1)

    async def main():
        t = backend()
        await t.open()
        phones.loop_thread.call(handset.ring_in, "01098765432")
        incoming = await changes(t, lambda c: c.state == INCOMING)
        health = await t.health()
        await t.answer()
        active = await changes(t, lambda c: c.state == ACTIVE)
        with pytest.raises(NoActiveCall):
            await t.answer()
        await t.hang_up()
        end = await changes(t, ended())
        await t.close()
        return incoming, health, active, end

    incoming, health, active, end = run(main())
    assert incoming[-1].number == "01098765432"
    assert health["call_state"] == "incoming"
    assert states(active)[-1] == (ACTIVE, None)
    assert states(end)[-1] == (DISCONNECTED, "local_hangup")


# -- the call script over adb ----------------------------------------------------------------

def run_script(backend_factory, assets, numbers, timeout=120):
    server = InMemoryServer(LINES)

    async def main():
        backend = backend_factory()
        script = CallScript(backend, server, assets.get, ScriptConfig(speed=SPEED))
        await script.start()
        records = []
        for i, number in enumerate(numbers):
            call = {"call_id": f"call-{i:05d}-{number}", "number": number, "attempt": 1}
            records.append(await script.run(call, campaign()))
        await script.close()
        await backend.close()
        return records

    records = run(main(), timeout)
    assert server.errors == []
    return records, server


def test_the_call_script_runs_calls_back_to_back_over_adb(phone, assets):
    desk = SimAgentDesk(1, agents={"1001": ANSWERS, "1002": ANSWERS})
    _, handset, _, backend = phone("a14-galaxy-s23", desk=desk)
    numbers = ["01012349995", "01012349996", "01012349994", "01012349990", "01012349998"]
    records, server = run_script(backend, assets, numbers)
    assert [(r.result, r.reason) for r in records] == [
        ("connected", None), ("listened", None), ("hung_up", None), ("busy", None), ("hung_up", None)]
    assert server.names(records[0].call_id) == ["dialing", "ringing", "answered", "intro_started", "dtmf",
                                                "agent_ringing", "bridged", "ended"]
    assert handset.interactive_sessions == 1


def test_an_agent_who_does_not_answer_is_dropped_and_the_next_is_bridged(phone, assets):
    desk = SimAgentDesk(1, agents={"1001": NEVER, "1002": ANSWERS})
    _, _, _, backend = phone("a13-pixel7", desk=desk)  # English in-call screen
    records, server = run_script(backend, assets, ["01012349995"])
    assert records[0].result == "connected", (records[0].reason, server.names(records[0].call_id))
    assert server.names(records[0].call_id)[5:] == ["agent_ringing", "agent_no_answer", "agent_ringing",
                                                    "bridged", "ended"]


def test_after_a_busy_agent_line_the_held_voter_is_resumed_on_the_screen(phone, assets):
    desk = SimAgentDesk(1, agents={"1002": ANSWERS})
    desk.claim("1001", object())  # the first agent handset is busy with another call
    _, handset, _, backend = phone("a12-galaxy-s21", desk=desk)
    records, server = run_script(backend, assets, ["01012349995"])
    assert records[0].result == "connected", records[0].reason
    assert any(c.startswith('echo "__BEGIN_') and "input tap" in c for c in handset.commands)  # Resume, Merge


def test_a_phone_that_cannot_merge_fails_the_call_with_a_clear_reason(phone, assets):
    desk = SimAgentDesk(1, agents={"1001": ANSWERS})
    _, _, _, backend = phone("a14-galaxy-s23", desk=desk, conference=False)
    records, _ = run_script(backend, assets, ["01012349995"])
    assert records[0].result == "failed"
    assert records[0].reason.startswith("MergeUnavailable: this phone's in-call screen offers no Merge")


# -- assets -------------------------------------------------------------------------------

def test_assets_are_pushed_once_verified_by_size_and_sha256_and_media_scanned(phone, assets):
    _, handset, _, backend = phone("a12-galaxy-s21")
    path = assets[INTRO[1]]
    sha = hashlib.sha256(path.read_bytes()).hexdigest()

    async def main():
        t = backend()
        remote = await t.push_asset(path)
        again = await t.push_asset(path)
        held = await t.assets()
        fresh = backend()  # a new backend finds the file already there and verified
        await fresh.push_asset(path)
        await t.close()
        await fresh.close()
        return remote, again, held

    remote, again, held = run(main())
    assert remote == again == f"{ASSET_DIR}/{sha}.wav"
    assert handset.file(remote) == path.read_bytes()
    assert held == [sha]
    sent = [c for c in handset.commands if "sha256sum" in c]
    assert len(sent) == 3  # before and after the push, then once by the fresh backend
    assert any("MEDIA_SCANNER_SCAN_FILE" in c and f"file://{remote}" in c for c in handset.commands)


# -- the phone hurts ----------------------------------------------------------------------

def test_a_dropped_connection_mid_call_fails_the_call_and_the_phone_comes_back(phone, adb_server):
    serial, handset, phones, backend = phone("a14-galaxy-s23")

    async def main():
        t = backend(retry_s=60.0)
        await t.dial("01012349996")  # answers and listens
        await changes(t, lambda c: c.state == ACTIVE)
        phones[0].drop()  # the TCP connection resets mid-call
        lost = await changes(t, ended(), timeout=10)
        assert not t.available and t.unavailable_reason.startswith("connection lost")
        with pytest.raises(ConnectionLost):
            await t.hang_up()
        with pytest.raises(ConnectionLost):
            await t.dial("01012349996")
        await asyncio.get_running_loop().run_in_executor(None, adb_server.wait_for, serial, "device")
        t.retry_s = 0.0
        health = await t.health()  # reconnects; the call it lost is ended on the phone
        left_over = [c for c in handset.calls if c.live]
        await t.dial("01012349990")
        again = await changes(t, ended())
        await t.close()
        return lost, health, left_over, again

    lost, health, left_over, again = run(main())
    assert states(lost)[-1] == (DISCONNECTED, "failed")
    assert health["call_state"] == "idle" and left_over == []
    assert states(again)[-1] == (DISCONNECTED, "busy")


def test_a_call_that_dies_with_the_phone_fails_and_the_backend_says_why(phone, assets):
    serial, _, phones, backend = phone("a12-galaxy-s21")
    server = InMemoryServer(LINES)

    async def main():
        t = backend(retry_s=60.0)
        script = CallScript(t, server, assets.get, ScriptConfig(speed=SPEED))
        await script.start()
        call = {"call_id": "call-00001-01012349996", "number": "01012349996", "attempt": 1}
        task = asyncio.create_task(script.run(call, campaign()))
        while t.tracker.call_state != "active":  # the script's pump reads the events
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        phones[0].drop()
        record = await asyncio.wait_for(task, 30)
        state = t.available, t.unavailable_reason
        await script.close()
        await t.close()
        return record, state

    record, (available, reason) = run(main())
    assert record.result == "failed"
    # The call names the phone's loss, whether it noticed through the voter leg's end or
    # through an operation in flight; the backend says why.
    assert record.reason.startswith("DeviceUnavailable: ") and (
        "connection lost" in record.reason or "offline" in record.reason)  # as the adb server saw it first
    # What the backend says now: the lost connection, or — when a later look (the
    # watch stream's restart) already asked the adb server — "offline", as adb shows it.
    assert not available and reason.startswith(("connection lost", "offline"))


def test_an_offline_phone_is_unavailable_with_the_reason(phone, adb_server):
    serial, _, phones, backend = phone("a10-pixel3")
    phones[0].go_offline()
    adb_server.wait_for(serial, "offline", timeout=15)

    async def main():
        with pytest.raises(DeviceOffline) as caught:
            await backend().health()
        return str(caught.value)

    try:
        assert "offline" in run(main())
    finally:
        phones[0].go_online()


def test_an_unauthorized_phone_says_so(phone, adb_server):
    serial, _, phones, backend = phone("a13-pixel7")
    phones[0].unauthorized(True)
    adb_server.wait_for(serial, "unauthorized", timeout=15)

    async def main():
        t = backend()
        with pytest.raises(DeviceUnauthorized) as caught:
            await t.device()
        return str(caught.value), t.available, t.unavailable_reason

    try:
        message, available, reason = run(main())
    finally:
        phones[0].unauthorized(False)
    assert "unauthorized" in message and not available and reason.startswith("unauthorized")


def test_a_dump_layout_the_parser_does_not_know_makes_the_phone_unavailable_not_a_crash(phone):
    _, _, _, backend = phone("a14-galaxy-s23", dumpsys_layout="unknown")

    async def main():
        t = backend()
        with pytest.raises(DeviceUnavailable, match="cannot read the call state.*'Phone Id='"):
            await t.dial("01012349996")
        reason = t.unavailable_reason
        await t.close()
        return reason

    assert "dumpsys telephony.registry: unknown layout" in run(main())


def test_a_slow_phone_is_followed_all_the_same(phone):
    _, _, _, backend = phone("a11-galaxy-a52", answer_delay_s=0.15)

    async def main():
        t = backend()
        started = time.monotonic()
        await t.dial("01012349990")
        seen = await changes(t, ended())
        await t.close()
        return seen, time.monotonic() - started

    seen, took = run(main())
    assert states(seen)[-1] == (DISCONNECTED, "busy") and took > 0.3


def test_the_backend_is_created_by_name(phone):
    serial, _, _, _ = phone("a12-galaxy-s21")
    backend = create("adb", serial=serial, adb_port=0)
    assert isinstance(backend, AdbTelephony) and backend.name == "adb" and backend.serial == serial
    assert backend.connect  # host:port serials are `adb connect`ed


def test_nothing_is_touched_before_asked_and_bad_numbers_never_reach_the_phone(phone):
    _, handset, _, backend = phone("a14-galaxy-s23")

    async def main():
        t = backend()
        from phone_agent.telephony.base import InvalidNumber
        with pytest.raises(InvalidNumber):
            await t.dial("010-1234")
        with pytest.raises(NoActiveCall):
            await t.ring_agent("1001")
        await t.close()

    run(main())
    assert not any("am start" in c for c in handset.commands)


def test_agent_leg_events_are_tagged_and_drop_agent_keeps_the_voter(phone):
    desk = SimAgentDesk(1, agents={"1001": NEVER})
    _, handset, _, backend = phone("a14-galaxy-s23", desk=desk)

    async def main():
        t = backend()
        await t.dial("01012349996")
        await changes(t, lambda c: c.state == ACTIVE)
        await t.ring_agent("1001")
        ringing = await changes(t, lambda c: c.leg == AGENT and c.state == ALERTING)
        await t.drop_agent()
        dropped = await changes(t, ended(AGENT))
        health = await t.health()
        voter = [c.state for c in handset.calls if c.live]
        await t.hang_up()
        end = await changes(t, ended())
        await t.close()
        return ringing, dropped, health, voter, end

    ringing, dropped, health, voter, end = run(main())
    assert states(ringing, AGENT) == [(DIALING, None), (ALERTING, None)]
    assert states(dropped, AGENT)[-1] == (DISCONNECTED, "local_hangup")
    assert health["call_state"] == "active" and voter == ["ACTIVE"]  # Telecom resumed the voter
    assert states(end) == [(DISCONNECTED, "local_hangup")]


# -- the runner and an adb phone that cannot call ------------------------------------------

def test_a_phone_without_the_audio_helper_gets_the_built_one_pushed_and_plays_on_the_speakerphone(phone, assets):
    """A fresh phone holds an old file at the helper's path: the backend's
    readiness check replaces it with the built jar (verified by size and
    SHA-256), runs it once, and the announcement plays with the speakerphone
    on at the set volume. A second check pushes nothing."""
    from phone_agent.android import BUILT_JAR
    from phone_agent.telephony.adb import AUDIO_HELPER_JAR, SpeakerphoneAudio

    _, handset, _, backend = phone("a11-galaxy-a52", audio_helper=False)
    handset.files[AUDIO_HELPER_JAR] = (b"PK\x03\x04 an older helper", 0o100644, int(time.time()))

    async def main():
        t = backend(audio=SpeakerphoneAudio(volume=70))
        await t.ready()
        pushed = handset.files[AUDIO_HELPER_JAR][0]
        count = handset.command_count
        await t.ready()
        again = handset.command_count - count
        await t.dial("01012349994")
        await changes(t, lambda c: c.state in (ACTIVE, DISCONNECTED))
        played = await t.play(assets[INTRO[0]])
        await t.hang_up()
        await t.close()
        return pushed, again, played

    pushed, again, played = run(main())
    assert pushed == BUILT_JAR.read_bytes()
    assert again == 0  # verified once per connection
    assert played is True
    assert handset.audio.speakerphone and handset.audio.volumes == {0: 70}  # voice-call stream at 70 %
    assert any(" play " in c and "--stream voice_call --volume 70" in c for c in handset.commands)


def test_a_phone_that_refuses_the_speakerphone_still_plays_and_the_refusal_is_logged(phone, assets, caplog):
    """The helper reports what Android refused as a warning before "playing";
    the backend logs it and the announcement plays to its end."""
    _, handset, _, backend = phone("a12-galaxy-s21")
    refusal = "java.lang.SecurityException: Modifying audio settings requires MODIFY_AUDIO_SETTINGS"
    handset.audio.speakerphone_refused = refusal

    async def main():
        t = backend()
        await t.dial("01012349994")
        await changes(t, lambda c: c.state in (ACTIVE, DISCONNECTED))
        played = await t.play(assets[INTRO[0]])
        await t.hang_up()
        await t.close()
        return played

    with caplog.at_level("WARNING", logger="phone_agent.telephony.adb.audio"):
        played = run(main())
    assert played is True and handset.audio.speakerphone is False
    assert f"audio helper: could not turn the speakerphone on: {refusal}" in caplog.text


def test_a_phone_whose_audio_helper_does_not_run_gets_no_calls_and_says_why(phone, assets, tmp_path):
    """No voter is burnt on a phone that could not play the announcement:
    here the jar the backend holds is not the helper (a stale or foreign
    build), so the phone aborts it; the runner leases nothing and every
    heartbeat says the phone is not ready, naming the jar and Android's answer."""
    import zipfile

    from phone_agent.runner import Runner
    from phone_agent.telephony.adb import SpeakerphoneAudio

    foreign = tmp_path / "mobile-ars-audio.jar"
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("classes.dex", b"dex\n035\0 not the helper")
    _, handset, _, backend = phone("a13-pixel7", audio_helper=False)
    server = InMemoryServer(LINES, campaign())
    server.assets = assets
    server.heartbeat_s = 0.5

    async def main():
        t = backend(audio=SpeakerphoneAudio(local_jar=foreign))
        runner = Runner(server, t, config=ScriptConfig(speed=SPEED), prefetch=2)
        task = asyncio.create_task(runner.run())
        while len(server.heartbeats) < 3:
            await asyncio.sleep(0.05)
        runner.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await t.close()
        return list(server.leases), list(server.heartbeats), runner.problem

    leases, heartbeats, problem = run(main(), timeout=60)
    assert leases == []  # nothing was leased while the phone could not call
    assert all(h["device"] == "unavailable" for h in heartbeats)
    assert "not ready: audio helper does not run: Aborted" in heartbeats[-1]["problem"]
    assert f"/data/local/tmp/mobile-ars-audio.jar, sha256 {hashlib.sha256(foreign.read_bytes()).hexdigest()[:12]}" \
        in problem and str(foreign) in problem
    assert handset.files["/data/local/tmp/mobile-ars-audio.jar"][0] == foreign.read_bytes()  # pushed, then refused


def test_the_campaign_images_are_applied_to_the_phone_with_a_status(phone, tmp_path):
    from PIL import Image

    from phone_agent.runner import Runner

    _, handset, _, backend = phone("a12-galaxy-s21")
    poster = tmp_path / "poster.jpg"
    Image.new("RGB", (72, 128), "navy").save(poster, "JPEG")
    sha = hashlib.sha256(poster.read_bytes()).hexdigest()
    server = InMemoryServer(LINES, campaign())
    server.assets = {sha: poster}

    async def main():
        t = backend()
        runner = Runner(server, t, config=ScriptConfig(speed=SPEED))
        applied = await runner.command({"type": "apply_images", "args": {"outgoing": sha}})
        missing = await runner.command({"type": "apply_images", "args": {"callback": "d" * 64}})
        await t.close()
        return applied, missing

    applied, missing = run(main())
    assert applied == {"ok": True}
    assert handset.files[f"{ASSET_DIR}/{sha}.jpg".replace("/sdcard", "/storage/emulated/0")][0] == poster.read_bytes()
    assert any("MEDIA_SCANNER_SCAN_FILE" in c and sha in c for c in handset.commands)
    assert missing["ok"] is False and "callback image dddddddddddd" in missing["error"]
