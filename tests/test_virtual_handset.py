"""The virtual Android handset (phone_agent.simulator.virtual.handset), driven through
its DeviceBehaviour interface with an in-memory ShellIO — what the virtual
adbd would carry. Its dumps are read with the real parsers, its call audio
with the real DTMF detector, and its people are the sim backend's."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from phone_agent.audio import tones
from phone_agent.audio.dtmf import DtmfDetector
from phone_agent.telephony import dumpsys as d
from phone_agent.telephony.adb import find_button
from phone_agent.simulator.sim import SimAgentDesk, SimTelephony
from phone_agent.simulator.virtual.behaviour import DeviceBehaviour
from phone_agent.simulator.virtual.handset import AUDIO_HELPER_JAR, PROFILES, VirtualHandset
from phone_agent.simulator.voter import AgentModel, VoterModel

FIXTURES = Path(d.__file__).parent / "fixtures"
FAST = 50.0
PLAY = f"CLASSPATH={AUDIO_HELPER_JAR} app_process / mobilears.Audio play "
RECORD = f"CLASSPATH={AUDIO_HELPER_JAR} app_process / mobilears.Audio record 8000"


class MemoryIO:
    """One shell stream in memory: what the host writes, what the phone answers."""

    def __init__(self):
        self.stdin: asyncio.Queue[bytes] = asyncio.Queue()
        self.out = bytearray()
        self.closed = False

    async def read(self) -> bytes:
        return await self.stdin.get()

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise BrokenPipeError
        self.out += data

    def send(self, text: str) -> None:
        self.stdin.put_nowait(text.encode())

    def close(self) -> None:
        self.stdin.put_nowait(b"")

    def text(self) -> str:
        return self.out.decode(errors="replace")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def sh(phone: VirtualHandset, command: str) -> str:
    io = MemoryIO()
    await phone.shell(command, io)
    return io.text()


async def registry(phone: VirtualHandset, slot: int = 0) -> d.SlotState:
    return d.parse_telephony_registry(await sh(phone, "dumpsys telephony.registry"))[slot]


async def until(predicate, timeout: float = 10.0, step: float = 0.01):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(step)


def wav_bytes(seconds: float, seed: int = 1) -> bytes:
    import io
    audio = tones.speech_like(seconds, np.random.default_rng(seed), level_dbfs=-20.0)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(audio.astype("<i2").tobytes())
    return buf.getvalue()


async def dial(phone: VirtualHandset, number: str) -> str:
    return await sh(phone, f"am start -a android.intent.action.CALL -d tel:{number}")


async def ended(phone: VirtualHandset) -> d.SlotState:
    """Wait for the phone to be idle again (a call placed with ``am start``
    shows at once); the registry then."""
    return await until(lambda: _idle(phone))


async def _in_call(phone):
    return (await registry(phone)).call_state != 0


async def _settled(phone):
    """The voter answered (foreground active) or the call is over."""
    s = await registry(phone)
    return s if s.foreground_call_state == 1 or s.call_state == 0 else None


# -- the interface and the shell -------------------------------------------------------------

def test_it_is_a_device_behaviour_with_the_imitated_phones_banner():
    phone = VirtualHandset("127.0.0.9:5555", profile="a12-galaxy-s21")
    assert isinstance(phone, DeviceBehaviour)
    assert phone.banner() == {"ro.product.name": "o1sksx", "ro.product.model": "SM-G991N",
                              "ro.product.device": "o1s"}


def test_an_interactive_shell_has_a_pty_prompt_echo_and_crlf_and_runs_one_command_per_line():
    async def main():
        phone = VirtualHandset(profile="a14-galaxy-s23")
        io = MemoryIO()
        session = asyncio.create_task(phone.shell("", io))
        io.send('echo "__BEGIN_""1__"; getprop ro.product.model; echo "__END_""1__ $?"\n')
        await until(lambda: _has(io, "__END_1__ 0\r\n"))
        io.send("getprop no.such.prop; nosuchcommand\n")
        await until(lambda: _has(io, "inaccessible or not found"))
        io.send("exit\n")
        assert await session == 0
        return io.text()

    out = run(main())
    assert out.startswith("dm1q:/ $ ")
    # the PTY echoes the line as sent; the markers only appear whole in the output
    assert 'echo "__BEGIN_""1__"; getprop ro.product.model; echo "__END_""1__ $?"\r\n' in out
    assert "__BEGIN_1__\r\nSM-S911N\r\n__END_1__ 0\r\ndm1q:/ $ " in out
    assert "/system/bin/sh: nosuchcommand: inaccessible or not found\r\n" in out


async def _has(io, text):
    return text in io.text()


def test_enough_shell_for_the_backend_pipes_lists_and_exit_codes():
    async def main():
        phone = VirtualHandset(profile="a13-pixel7")
        grepped = await sh(phone, "dumpsys telephony.registry | grep -E 'Phone Id=|mCallState='")
        head = await sh(phone, "getprop | head -n 2")
        chained = await sh(phone, "true && echo yes || echo no; nosuch && echo never; echo $?")
        return grepped, head, chained

    grepped, head, chained = run(main())
    assert grepped.splitlines() == ["  Phone Id=0", "    mCallState=0", "  Phone Id=1", "    mCallState=0"]
    assert len(head.splitlines()) == 2 and head.startswith("[")
    assert chained.splitlines()[0] == "yes" and chained.splitlines()[-1] == "127"


# -- dumps in the layouts real releases print -------------------------------------------------

_SAMPLES = {"a10-pixel3": "registry_a10_pixel3_idle.txt",
            "a11-galaxy-a52": "registry_a11_galaxy_a52_dual_dialing.txt",
            "a12-galaxy-s21": "registry_a12_galaxy_s21_active.txt",
            "a13-pixel7": "registry_a13_pixel7_dual_ringing.txt",
            "a14-galaxy-s23": "registry_a14_galaxy_s23_busy.txt"}


def _keys(text: str) -> tuple[list[str], list[str]]:
    """(per-slot field names of the first slot, global field names), in order."""
    slot, glob, inside = [], [], False
    for line in text.splitlines():
        if line.strip().startswith("local logs:"):
            break
        if line.strip().startswith("Phone Id="):
            inside = not slot
            continue
        m = re.match(r"^( +)(m[A-Za-z]+)=", line)
        if m and len(m.group(1)) == 4 and inside:
            slot.append(m.group(2))
        elif m and len(m.group(1)) == 2:
            glob.append(m.group(2))
    return slot, glob


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_registry_prints_the_fields_of_its_release_in_the_order_of_the_sample(profile):
    async def main():
        return await sh(VirtualHandset(profile=profile), "dumpsys telephony.registry")

    out = run(main())
    sample = (FIXTURES / _SAMPLES[profile]).read_text()
    assert _keys(out) == _keys(sample)
    slots = d.parse_telephony_registry(out)
    assert len(slots) == PROFILES[profile].slots
    assert slots[0].call_state == 0 and slots[0].signal_level in (3, 4)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_battery_getprop_and_telecom_parse_for_every_release(profile):
    async def main():
        phone = VirtualHandset(profile=profile, seed=4, battery=77)
        return [await sh(phone, c) for c in ("dumpsys battery", "getprop", "dumpsys telecom")]

    battery, getprop, telecom = run(main())
    assert d.parse_battery(battery).level == 77 and d.parse_battery(battery).charging
    assert ("Dock powered" in battery) == (PROFILES[profile].sdk >= 34)
    props = d.parse_getprop(getprop)
    assert props["ro.build.version.release"] == PROFILES[profile].release
    sims = d.parse_sim_states(props["gsm.sim.state"])
    assert len(sims) == PROFILES[profile].slots and sims[0] == "ready"
    assert d.parse_telecom_calls(telecom) == []


def test_misbehaviour_an_unknown_layout_and_a_slow_phone():
    async def main():
        odd = VirtualHandset(dumpsys_layout="unknown")
        slow = VirtualHandset(answer_delay_s=0.3)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await sh(slow, "getprop ro.product.model")
        return await sh(odd, "dumpsys telephony.registry"), loop.time() - t0

    text, took = run(main())
    with pytest.raises(d.DumpsysFormatError, match="Phone Id="):
        d.parse_telephony_registry(text)
    assert took >= 0.3


def test_a_phone_is_seeded():
    a, b, c = VirtualHandset(seed=7), VirtualHandset(seed=7), VirtualHandset(seed=8)
    assert (a.number, a.battery, a.signal) == (b.number, b.battery, b.signal)
    assert (a.number, a.battery) != (c.number, c.battery)


# -- calls follow the sim backend's people -----------------------------------------------------

def test_the_voter_on_a_virtual_handset_is_the_sim_backends_voter():
    numbers = [f"0105555{i:04d}" for i in range(30)] + ["01012349995", "01012349990"]

    async def main():
        plans = []
        for number in numbers:
            handset = VirtualHandset(seed=3, voter_seed=11, speed=FAST)
            sim = SimTelephony(3, voter_seed=11, speed=FAST)
            await dial(handset, number)
            await sim.dial(number)
            plans.append((handset.calls[0].plan, sim._voter.plan))
            handset.close()
            await sim.close()
        return plans

    for handset_plan, sim_plan in run(main()):
        assert handset_plan == sim_plan


def test_a_voter_who_presses_1_goes_dialing_alerting_active_and_the_1_is_real_dtmf_audio():
    async def main():
        phone = VirtualHandset(profile="a12-galaxy-s21", speed=4.0)
        await phone.push("/sdcard/MobileARS/intro.wav", wav_bytes(3.0), 0o100644, 0)
        started = await dial(phone, "01012349995")
        seen = []

        async def active():
            s = await registry(phone)
            calls = d.parse_telecom_calls(await sh(phone, "dumpsys telecom"))
            step = (s.call_state, s.foreground_call_state, [c.state for c in calls if c.live])
            if not seen or seen[-1] != step:
                seen.append(step)
            return s.foreground_call_state == 1
        await until(active)
        mic, player = MemoryIO(), MemoryIO()
        recording = asyncio.create_task(phone.shell(RECORD, mic))
        playing = asyncio.create_task(phone.shell(PLAY + "/sdcard/MobileARS/intro.wav", player))
        detector = DtmfDetector()
        keys: list[str] = []
        fed = 0

        async def heard():
            nonlocal fed
            chunk = bytes(mic.out[fed:])
            fed += len(chunk) - len(chunk) % 2
            keys.extend(e.key for e in detector.feed(chunk[:len(chunk) - len(chunk) % 2]))
            return keys
        await until(heard)
        mic.close()
        assert await recording == 0
        assert await playing == 0
        phone.close()
        return started, seen, keys, player.text(), len(mic.out)

    started, seen, keys, played, recorded = run(main())
    assert "dat=tel:xxxxxxxxxxx" in started  # am prints the number masked
    assert seen[0][:2] in ((2, 3), (2, 4)) and seen[-1] == (2, 1, ["ACTIVE"])
    assert (2, 4, ["DIALING"]) in seen  # alerting: only the registry tells it from dialing
    assert keys == ["1"]
    assert played.startswith("playing 3000\n") and played.endswith("done\n")
    assert recorded > 8000  # at least half a second of PCM16 8 kHz


@pytest.mark.parametrize("number, cause, precise, telecom_reason", [
    ("01012349990", 4, 17, "BUSY"),  # busy
    ("01012349992", 25, 1, "UNOBTAINABLE_NUMBER"),  # invalid number
    ("01012349993", 4, 21, "BUSY"),  # declines (the network says 21, call rejected)
    ("01012349991", 2, 19, "NORMAL"),  # nobody answers: the network gives up
])
def test_voters_who_never_answer_leave_the_networks_cause_in_the_registry(number, cause, precise, telecom_reason):
    async def main():
        phone = VirtualHandset(speed=FAST, voters=VoterModel(no_answer_s=3.0))
        await dial(phone, number)
        slot = await ended(phone)
        history = d.parse_telecom_calls(await sh(phone, "dumpsys telecom"))
        phone.close()
        return slot, history

    slot, history = run(main())
    assert (slot.disconnect_cause, slot.precise_disconnect_cause) == (cause, precise)
    assert history[-1].disconnect_reason == telecom_reason


def test_a_voter_who_hangs_up_in_the_intro_and_a_local_hang_up():
    async def main():
        phone = VirtualHandset(speed=FAST)
        await phone.push("/sdcard/a.wav", wav_bytes(2.0), 0o100644, 0)
        await dial(phone, "01012349994")
        await until(lambda: _active(phone))
        await sh(phone, PLAY + "/sdcard/a.wav")
        remote = await until(lambda: _idle(phone))
        await asyncio.sleep(0.45)  # the disconnected call leaves the dumps
        await dial(phone, "01012349996")
        await until(lambda: _active(phone))
        await sh(phone, "input keyevent KEYCODE_ENDCALL")
        local = await ended(phone)
        await sh(phone, "input keyevent 6")  # no call: the phone only goes to sleep
        phone.close()
        return remote, local, phone.screen_on, len(phone.history)

    remote, local, screen_on, calls = run(main())
    assert (remote.disconnect_cause, remote.precise_disconnect_cause) == (2, 16)
    assert (local.disconnect_cause, local.precise_disconnect_cause) == (3, 16)
    assert not screen_on and calls == 2


async def _active(phone):
    return (await registry(phone)).foreground_call_state == 1


def test_a_hash_in_the_number_travels_as_percent_23():
    async def main():
        phone = VirtualHandset(speed=FAST)
        await dial(phone, "*123%23")
        number = phone.calls[0].number
        phone.close()
        return number

    assert run(main()) == "*123#"


def test_an_incoming_call_shows_the_callers_number_and_keycode_call_answers_it():
    async def main():
        phone = VirtualHandset(profile="a13-pixel7", speed=FAST, voice_slot=1)
        phone.ring_in("01098765432")
        ringing = await registry(phone, slot=1)
        telecom = d.parse_telecom_calls(await sh(phone, "dumpsys telecom"))
        await sh(phone, "input keyevent KEYCODE_CALL")
        answered = await registry(phone, slot=1)
        await sh(phone, "input keyevent KEYCODE_ENDCALL")
        phone.ring_in("01011112222", slot=1)
        await sh(phone, "input keyevent KEYCODE_ENDCALL")  # while ringing: declines
        declined = await until(lambda: _idle(phone, 1))
        phone.close()
        return ringing, telecom, answered, declined

    ringing, telecom, answered, declined = run(main())
    assert (ringing.call_state, ringing.ringing_call_state, ringing.incoming_number) == (1, 5, "01098765432")
    assert telecom[0].state == "RINGING" and telecom[0].incoming
    assert (answered.call_state, answered.foreground_call_state, answered.incoming_number) == (2, 1, "")
    assert declined.disconnect_cause == 16  # INCOMING_REJECTED


async def _idle(phone, slot=0):
    s = await registry(phone, slot)
    return s if s.call_state == 0 else None


# -- the agent leg: hold, resume, merge -------------------------------------------------------

def test_a_second_call_holds_the_voter_and_merge_on_the_screen_makes_a_conference():
    async def main():
        desk = SimAgentDesk(1, agents={"1001": AgentModel(answer_p=1.0, answer_after_s=(1, 1), talk_s=(60, 60))})
        phone = VirtualHandset(profile="a14-galaxy-s23", speed=FAST, desk=desk)
        await dial(phone, "01012349996")
        await until(lambda: _active(phone))
        await dial(phone, "1001")

        async def two_legs():
            calls = [c for c in d.parse_telecom_calls(await sh(phone, "dumpsys telecom")) if c.live]
            return calls if [c.state for c in calls] == ["ON_HOLD", "ACTIVE"] else None
        legs = await until(two_legs)
        held = await registry(phone)
        screen = await sh(phone, "uiautomator dump /sdcard/window_dump.xml && cat /sdcard/window_dump.xml")
        x, y = find_button(screen, ("통화 병합",))
        await sh(phone, f"input tap {x} {y}")

        async def conference():
            calls = [c for c in d.parse_telecom_calls(await sh(phone, "dumpsys telecom")) if c.live]
            return calls if any(c.conference for c in calls) else None
        merged = await until(conference)
        after = await registry(phone)
        phone.close()
        return legs, held, screen, merged, after

    legs, held, screen, merged, after = run(main())
    assert [c.call_id for c in legs] == ["TC@1", "TC@2"]
    assert (held.background_call_state, held.foreground_call_state) == (2, 1)
    assert screen.startswith("UI hierchary dumped to: /sdcard/window_dump.xml\n<?xml")
    conf = next(c for c in merged if c.conference)
    assert conf.children == 2 and {c.call_id for c in merged if c.has_parent} == {"TC@1", "TC@2"}
    assert (after.foreground_call_state, after.background_call_state) == (1, 0)


def test_after_a_local_end_the_held_voter_resumes_after_a_remote_end_it_needs_resume():
    async def main():
        desk = SimAgentDesk(1, agents={"1001": AgentModel(answer_p=0.0)})
        desk.claim("1002", object())  # 1002 is busy with another call
        phone = VirtualHandset(profile="a13-pixel7", speed=FAST, desk=desk)
        await dial(phone, "01012349996")
        await until(lambda: _active(phone))
        await dial(phone, "1001")  # rings and rings
        await until(lambda: _state(phone, 4, 2))
        await sh(phone, "input keyevent KEYCODE_ENDCALL")  # our end: Telecom resumes the voter
        resumed = await until(lambda: _state(phone, 1, 0))
        await dial(phone, "1002")  # busy: the network ends it
        await until(lambda: _state(phone, 0, 2))
        screen = await sh(phone, "uiautomator dump /sdcard/d.xml && cat /sdcard/d.xml")
        x, y = find_button(screen, ("Resume",))
        await sh(phone, f"input tap {x} {y}")
        back = await until(lambda: _state(phone, 1, 0))
        phone.close()
        return resumed, screen, back

    resumed, screen, back = run(main())
    assert resumed and back
    assert "Merge" not in screen


async def _state(phone, fg, bg):
    s = await registry(phone)
    return s if (s.foreground_call_state, s.background_call_state) == (fg, bg) else None


# -- files ------------------------------------------------------------------------------------

def test_pushed_files_are_kept_and_verifiable_from_the_shell():
    async def main():
        phone = VirtualHandset()
        data = wav_bytes(0.5)
        await phone.push("/sdcard/MobileARS/x.wav", data, 0o100644, 1_700_000_000)
        out = await sh(phone, "stat -c %s /sdcard/MobileARS/x.wav && sha256sum /sdcard/MobileARS/x.wav")
        scan = await sh(phone, "am broadcast -a android.intent.action.MEDIA_SCANNER_SCAN_FILE "
                               "-d file:///sdcard/MobileARS/x.wav")
        listing = await sh(phone, "ls /sdcard/MobileARS")
        with pytest.raises(OSError, match="Read-only"):
            await phone.push("/system/bin/x", b"", 0o100644, 0)
        return (data, out, scan, listing, await phone.stat("/storage/emulated/0/MobileARS/x.wav"),
                await phone.pull("/sdcard/MobileARS/x.wav"), await phone.stat("/sdcard/MobileARS"),
                await phone.stat("/sdcard/nothing"))

    data, out, scan, listing, st, pulled, folder, missing = run(main())
    assert out == f"{len(data)}\n{hashlib.sha256(data).hexdigest()}  /sdcard/MobileARS/x.wav\n"
    assert "Broadcast completed: result=0" in scan and listing == "x.wav\n"
    assert st == (0o100644, len(data), 1_700_000_000) and pulled == data
    assert folder[0] & 0o170000 == 0o040000 and missing is None


def test_the_audio_helper_runs_only_as_the_jar_that_was_built():
    """No jar, or any other file at its path, and Android's app_process finds
    no class: the shell prints "Aborted" (exit 134). The built jar answers."""
    from phone_agent.android import BUILT_JAR, VERSION_LINE

    version = f"CLASSPATH={AUDIO_HELPER_JAR} app_process / mobilears.Audio version"

    async def main():
        phone = VirtualHandset(audio_helper=False)
        answers = []
        for content in (None, b"PK\x03\x04 not the helper", BUILT_JAR.read_bytes()[:-1], BUILT_JAR.read_bytes()):
            if content is not None:
                phone.files[AUDIO_HELPER_JAR] = (content, 0o100644, 1_700_000_000)
            for line in (RECORD, version) if content != BUILT_JAR.read_bytes() else (version,):
                io = MemoryIO()
                answers.append((await phone.shell(line, io), io.text()))
        return answers

    answers = run(main())
    assert answers[:6] == [(134, "Aborted\n")] * 6  # missing, foreign, truncated
    assert answers[6:] == [(0, VERSION_LINE + "\n")]


def test_a_dual_sim_phone_without_a_default_sim_waits_for_a_choice():
    async def main():
        phone = VirtualHandset(profile="a13-pixel7", ask_sim=True, speed=FAST)
        await dial(phone, "01012349996")
        await asyncio.sleep(0.1)
        slots = d.parse_telephony_registry(await sh(phone, "dumpsys telephony.registry"))
        calls = d.parse_telecom_calls(await sh(phone, "dumpsys telecom"))
        return slots, calls

    slots, calls = run(main())
    assert all(s.call_state == 0 for s in slots)
    assert [c.state for c in calls if c.live] == ["SELECT_PHONE_ACCOUNT"]


@pytest.mark.slow
def test_random_voters_only_leave_known_causes():
    async def main():
        phone = VirtualHandset(speed=200.0, voters=VoterModel(no_answer_s=3.0), seed=5)
        phone.files["/sdcard/a.wav"] = (wav_bytes(1.0), 0o100644, 0)
        causes = []
        for i in range(12):
            await dial(phone, f"0107777{random.Random(i).randrange(10**4):04d}")
            settled = await until(lambda: _settled(phone))
            if settled.foreground_call_state == 1:
                await sh(phone, PLAY + "/sdcard/a.wav")
                await sh(phone, "input keyevent KEYCODE_ENDCALL")
            slot = await ended(phone)
            causes.append((slot.disconnect_cause, slot.precise_disconnect_cause))
            await asyncio.sleep(0.45)  # the disconnected call leaves the dumps
        phone.close()
        return causes

    for cause in run(main()):
        assert cause in {(4, 17), (25, 1), (4, 21), (2, 19), (2, 16), (3, 16)}
