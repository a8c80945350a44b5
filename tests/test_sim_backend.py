"""The sim telephony backend: seeded voters, forced outcomes, real DTMF audio,
agent handsets — driven through the same interface a real phone honours."""

from __future__ import annotations

import asyncio
import random
import wave
from pathlib import Path

import numpy as np
import pytest

from phone_agent import protocol
from phone_agent.audio import tones
from phone_agent.audio.dtmf import DtmfDetector
from phone_agent.telephony import create
from phone_agent.telephony.base import (ACTIVE, AGENT, ALERTING, DIALING, DISCONNECTED, INCOMING,
                                        VOTER, AudioError, InvalidNumber, NoActiveCall, Telephony)
from phone_agent.simulator.sim import SimAgentDesk, SimTelephony, wav_duration
from phone_agent.simulator.voter import BEHAVIOURS, SUFFIX_RULES, AgentModel, VoterModel

FAST = 200.0  # simulated seconds per wall second where audio does not matter


def write_wav(path: Path, seconds: float, seed: int = 1) -> Path:
    audio = tones.speech_like(seconds, np.random.default_rng(seed), level_dbfs=-20.0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(audio.astype("<i2").tobytes())
    return path


async def next_change(phone: Telephony, events=None, timeout: float = 5.0):
    events = events or phone.call_events()
    return await asyncio.wait_for(anext(events), timeout)


async def changes_until_end(phone: Telephony, leg: str = VOTER, timeout: float = 5.0) -> list[tuple]:
    """(state, cause) of ``leg`` until it disconnects, or until it is active."""
    seen = []
    events = phone.call_events()
    while True:
        change = await asyncio.wait_for(anext(events), timeout)
        if change.leg != leg:
            continue
        seen.append((change.state, change.cause))
        if change.state in (DISCONNECTED, ACTIVE):
            return seen


# -------------------------------------------------------------------- voter model

def test_a_voter_plan_depends_only_on_the_model_number_and_seed():
    model = VoterModel()
    numbers = [f"0105555{i:04d}" for i in range(200)]
    plans = [model.plan(n, random.Random(f"7:{n}")) for n in numbers]
    again = [model.plan(n, random.Random(f"7:{n}")) for n in numbers]
    other = [model.plan(n, random.Random(f"8:{n}")) for n in numbers]
    assert plans == again
    assert plans != other
    kinds = {p.behaviour for p in plans}
    assert {"busy", "no_answer", "listen", "press_1", "hang_up_in_intro"} <= kinds


def test_behaviour_shares_follow_the_probabilities():
    model = VoterModel(invalid_p=0.0, busy_p=0.5, answer_p=1.0, hang_up_in_intro_p=0.0,
                       press1_p=1.0, hang_up_after_press_p=0.0)
    rng = random.Random(1)
    counts = {b: 0 for b in BEHAVIOURS}
    for i in range(2000):
        counts[model.plan(f"0106666{i:04d}", rng).behaviour] += 1
    assert counts["busy"] == pytest.approx(1000, abs=100)
    assert counts["press_1"] == 2000 - counts["busy"]


def test_suffix_rules_and_overrides_force_the_outcome():
    model = VoterModel(overrides={"01012349995": "busy"})
    for suffix, behaviour in SUFFIX_RULES.items():
        for seed in range(5):
            plan = model.plan(f"0109876{suffix}", random.Random(seed))
            assert plan.behaviour == behaviour
            assert plan.ring_s == (model.no_answer_s if behaviour == "no_answer" else model.forced_ring_s)
    assert model.plan("01012349995", random.Random(0)).behaviour == "busy"  # override wins
    assert model.plan("0109876" + "9995", random.Random(0)).digit == "1"
    assert model.plan("0109876" + "9997", random.Random(0)).digit == "5"
    with pytest.raises(ValueError):
        VoterModel(overrides={"010": "dance"}).plan("010", random.Random(0))


# ------------------------------------------------------------------ call control

def test_the_sim_backend_is_created_by_name_and_honours_the_interface():
    async def main():
        phone = create("sim", seed=3, speed=FAST)
        assert isinstance(phone, Telephony) and phone.name == "sim"
        assert protocol.HEALTH(await phone.health(), "health")["call_state"] == "idle"
        protocol.DEVICE(await phone.device(), "device")
        await phone.close()

    asyncio.run(main())
    with pytest.raises(TypeError):
        create("adb")  # the adb backend needs the phone's serial
    assert create("adb", serial="127.0.0.1:5555").name == "adb"  # nothing is contacted until open()


def test_forced_outcomes_through_the_backend():
    async def outcome(number):
        phone = SimTelephony(1, speed=FAST)
        await phone.dial(number)
        seen = await changes_until_end(phone)
        await phone.hang_up()
        return seen

    async def main():
        return {suffix: await outcome(f"0101234{suffix}") for suffix in ("9990", "9991", "9992",
                                                                        "9993", "9996")}

    seen = asyncio.run(main())
    assert seen == {
        "9990": [(DIALING, None), (DISCONNECTED, "busy")],
        "9991": [(DIALING, None), (ALERTING, None), (DISCONNECTED, "no_answer")],
        "9992": [(DIALING, None), (DISCONNECTED, "invalid_number")],
        "9993": [(DIALING, None), (ALERTING, None), (DISCONNECTED, "rejected")],
        "9996": [(DIALING, None), (ALERTING, None), (ACTIVE, None)],
    }


def test_the_same_seed_gives_the_same_outcomes():
    numbers = [f"0104321{i:04d}" for i in range(40)]

    async def outcomes(voter_seed):
        phone = SimTelephony(99, speed=FAST, voter_seed=voter_seed)
        out = []
        for number in numbers:
            await phone.dial(number)
            out.append((await changes_until_end(phone))[-1])
            await phone.hang_up()
        return out

    first, again, other = (asyncio.run(outcomes(s)) for s in (5, 5, 6))
    assert first == again
    assert first != other
    assert {state for state, _ in first} == {ACTIVE, DISCONNECTED}


def test_hang_up_ends_the_call_and_a_bad_number_is_refused():
    async def main():
        phone = SimTelephony(1, speed=FAST)
        with pytest.raises(InvalidNumber):
            await phone.dial("call me")
        await phone.dial("01012349996")
        events = phone.call_events()
        assert (await next_change(phone, events)).state == DIALING
        await phone.hang_up()
        change = await next_change(phone, events)
        assert (change.leg, change.state, change.cause) == (VOTER, DISCONNECTED, "local_hangup")
        assert (await phone.health())["call_state"] == "idle"
        await phone.hang_up()  # nothing to hang up: no error

    asyncio.run(main())


def test_an_incoming_call_rings_and_is_answered():
    async def main():
        phone = SimTelephony(1, speed=FAST)
        with pytest.raises(NoActiveCall):
            await phone.answer()
        phone.ring_in("01099998888")
        events = phone.call_events()
        change = await next_change(phone, events)
        assert (change.state, change.number) == (INCOMING, "01099998888")
        assert (await phone.health())["call_state"] == "incoming"
        await phone.answer()
        assert (await next_change(phone, events)).state == ACTIVE
        await phone.hang_up()

    asyncio.run(main())


def test_dial_log_is_told_every_real_dial_and_nothing_else():
    async def main():
        phone = SimTelephony(1, speed=FAST)
        dialled = []
        phone.dial_log = dialled.append
        with pytest.raises(InvalidNumber):
            await phone.dial("12")
        await phone.dial("01012349996")
        await phone.hang_up()
        await phone.dial("01012349990")
        await phone.hang_up()
        await phone.close()
        return dialled

    assert asyncio.run(main()) == ["01012349996", "01012349990"]


# ------------------------------------------------------------------------- audio

def call_audio(number: str, intro: Path, speed: float, sim_seconds: float, **model) -> bytes:
    """The call audio of one answered call while the intro plays."""
    async def main():
        phone = SimTelephony(4, speed=speed, voters=VoterModel(**model))
        await phone.dial(number)
        assert (await changes_until_end(phone))[-1][0] == ACTIVE
        audio = bytearray()

        async def record():
            async for chunk in phone.frames():
                assert len(chunk) >= 1600  # ≥ 100 ms per chunk
                audio.extend(chunk)
                if len(audio) >= sim_seconds * 16000:
                    return

        await asyncio.gather(phone.play(intro), record())
        await phone.hang_up()
        return bytes(audio)

    return asyncio.run(main())


def test_a_voter_pressing_1_is_real_dtmf_audio_the_detector_finds(tmp_path):
    intro = write_wav(tmp_path / "intro.wav", 3.0)
    audio = call_audio("01012349995", intro, speed=20.0, sim_seconds=3.0)
    detector = DtmfDetector()
    events = detector.feed(audio) + detector.flush()
    assert [e.key for e in events] == ["1"]
    press = events[0]
    # the voter presses forced_act_after_s (1 s) after the intro starts
    assert 0.9 <= press.start_s <= 2.0
    samples = np.frombuffer(audio, "<i2")
    tone = samples[int(press.start_s * 8000) + 80:int(press.start_s * 8000) + 560]
    assert -26.0 <= tones.rms_dbfs(tone) <= -13.0  # −10…−20 dBFS peak key tone


def test_a_listening_voters_audio_is_noise_speech_and_echo_without_keys(tmp_path):
    intro = write_wav(tmp_path / "intro.wav", 6.0)
    audio = call_audio("01012349996", intro, speed=20.0, sim_seconds=6.0)
    samples = np.frombuffer(audio, "<i2")
    assert len(samples) >= 6 * 8000
    assert DtmfDetector().feed(audio) == []
    hello = samples[int(0.3 * 8000):int(0.9 * 8000)]
    assert tones.rms_dbfs(hello) > tones.rms_dbfs(samples[-8000:]) - 3  # the voter says hello
    assert -60.0 < tones.rms_dbfs(samples[-8000:]) < -35.0  # line noise + faint echo


def test_another_key_is_heard_as_that_key(tmp_path):
    intro = write_wav(tmp_path / "intro.wav", 3.0)
    audio = call_audio("01012349997", intro, speed=20.0, sim_seconds=3.0)
    assert [e.key for e in DtmfDetector().feed(audio)] == ["5"]


def test_play_waits_the_announcement_scaled_by_speed_and_can_be_stopped(tmp_path):
    intro = write_wav(tmp_path / "intro.wav", 4.0)
    assert wav_duration(intro) == pytest.approx(4.0)

    async def main():
        phone = SimTelephony(1, speed=40.0)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert await phone.play(intro) is True
        assert loop.time() - t0 >= 4.0 / 40.0 - 0.01
        playing = asyncio.create_task(phone.play(intro))
        await asyncio.sleep(0.01)
        await phone.stop()
        assert await playing is False
        with pytest.raises(AudioError):
            await phone.play(tmp_path / "missing.wav")
        (tmp_path / "junk.wav").write_bytes(b"not a wav at all")
        with pytest.raises(AudioError):
            await phone.play(tmp_path / "junk.wav")

    asyncio.run(main())


# ------------------------------------------------------------------------ agents

async def answered_call(phone: SimTelephony, events) -> None:
    await phone.dial("01012349996")
    while (await next_change(phone, events)).state != ACTIVE:
        pass


async def agent_changes(phone, events, until=(ACTIVE, DISCONNECTED), timeout=5.0):
    seen = []
    while True:
        change = await asyncio.wait_for(anext(events), timeout)
        if change.leg == AGENT:
            seen.append((change.state, change.cause))
            if change.state in until:
                return seen


def test_an_agent_who_answers_is_bridged_and_hangs_up_after_the_talk():
    async def main():
        desk = SimAgentDesk(1, agents={"1001": AgentModel(answer_p=1.0, answer_after_s=(1, 1),
                                                          talk_s=(5, 5))})
        phone = SimTelephony(1, speed=FAST, desk=desk)
        events = phone.call_events()
        with pytest.raises(NoActiveCall):
            await phone.ring_agent("1001")
        await answered_call(phone, events)
        with pytest.raises(NoActiveCall):
            await phone.bridge()  # no agent yet
        await phone.ring_agent("1001")
        assert await agent_changes(phone, events) == [(DIALING, None), (ALERTING, None), (ACTIVE, None)]
        await phone.bridge()
        assert await agent_changes(phone, events) == [(DISCONNECTED, "remote_hangup")]
        assert not desk.busy("1001")
        await phone.hang_up()

    asyncio.run(main())


def test_an_agent_who_does_not_answer_rings_until_dropped():
    async def main():
        desk = SimAgentDesk(1, agents={"1002": AgentModel(answer_p=0.0)})
        phone = SimTelephony(1, speed=FAST, desk=desk)
        events = phone.call_events()
        await answered_call(phone, events)
        await phone.ring_agent("1002")
        assert await agent_changes(phone, events, until=(ALERTING,)) == [(DIALING, None),
                                                                           (ALERTING, None)]
        with pytest.raises(asyncio.TimeoutError):
            await agent_changes(phone, events, timeout=60.0 / FAST)  # a minute of ringing
        await phone.drop_agent()
        assert await agent_changes(phone, events) == [(DISCONNECTED, "local_hangup")]
        assert (await phone.health())["call_state"] == "active"  # the voter is still there
        assert not desk.busy("1002")
        await phone.hang_up()

    asyncio.run(main())


def test_a_handset_in_a_call_is_busy_for_every_other_phone():
    async def main():
        desk = SimAgentDesk(1, agents={"1001": AgentModel(answer_p=1.0, answer_after_s=(1, 1),
                                                          talk_s=(600, 600))})
        first, second = SimTelephony(1, speed=FAST, desk=desk), SimTelephony(2, speed=FAST, desk=desk)
        ev1, ev2 = first.call_events(), second.call_events()
        await answered_call(first, ev1)
        await answered_call(second, ev2)
        await first.ring_agent("1001")
        assert (await agent_changes(first, ev1))[-1] == (ACTIVE, None)
        await second.ring_agent("1001")
        assert (await agent_changes(second, ev2))[-1] == (DISCONNECTED, "busy")
        await first.hang_up()  # the agent's call ends: the handset is free again
        await second.ring_agent("1001")
        assert (await agent_changes(second, ev2))[-1] == (ACTIVE, None)
        assert desk.stats["busy"] == 1 and desk.stats["rung:1001"] == 3
        await second.hang_up()

    asyncio.run(main())


def test_agent_answers_follow_the_desk_seed_and_probability():
    def answers(seed):
        desk = SimAgentDesk(seed, default=AgentModel(answer_p=0.5))
        out = []
        for _ in range(200):
            holder = object()
            out.append(desk.claim("1001", holder).answers)
            desk.release("1001", holder)
        return out

    assert answers(3) == answers(3)
    assert answers(3) != answers(4)
    assert sum(answers(3)) == pytest.approx(100, abs=25)


def test_the_public_surface_is_what_all_says():
    import phone_agent.telephony as telephony
    import phone_agent.telephony.base as base
    import phone_agent.simulator.sim as sim
    for module in (telephony, base, sim):
        assert all(hasattr(module, name) for name in module.__all__), module.__name__
    assert set(base.CAUSES) == {"busy", "no_answer", "rejected", "invalid_number", "failed",
                                "remote_hangup", "local_hangup"}
