"""The call script (phone_agent.script) on the real sim backend.

The script's one injected dependency, the server link, is an in-memory
stand-in with the same small interface (``report``, ``ask_agent``, ``lease``)
that checks what the real server checks: every payload against the protocol
schema, every call's events through ``call_states.advance`` in ``seq``
order. Voters are forced with the number-suffix rules of phone_agent.simulator.voter;
their "1" reaches the script only as DTMF tone audio through the detector.
Simulated time runs ``SPEED`` times faster than the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import wave
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from phone_agent import protocol
from phone_agent.audio import tones
from phone_agent.protocol.call_states import CallProgress, TransitionError, advance
from phone_agent.runner import Runner
from phone_agent.script import CallScript, ScriptConfig
from phone_agent.simulator.sim import SimAgentDesk, SimTelephony
from phone_agent.simulator.voter import AgentModel, VoterModel

SPEED = 40.0
INTRO = ("a" * 64, "b" * 64)
PROMISE = "c" * 64
LINES = [{"id": 1, "extension": "1001", "dial_target": "1001", "ring_s": 10.0},
         {"id": 2, "extension": "1002", "dial_target": "1002", "ring_s": 10.0}]
ANSWERS = AgentModel(answer_p=1.0, answer_after_s=(2.0, 2.0), talk_s=(5.0, 5.0))
NEVER = AgentModel(answer_p=0.0)


class InMemoryServer:
    """The server as the call script sees it, in memory."""

    def __init__(self, lines=(), campaign=None):
        self.lines = list(lines)
        self.campaign = campaign
        self.events: dict[str, list[dict]] = defaultdict(list)
        self.progress: dict[str, CallProgress] = defaultdict(CallProgress)
        self.agent_requests: list[dict] = []
        self.errors: list[str] = []
        self.leases: list[int] = []
        self.released: list[str] = []
        self.heartbeats: list[dict] = []
        self._next_call = 0
        self.refuse_claims: str | None = None
        self.claims_refused: list[str] = []
        self.silent = False

    def _ack(self, ack: dict) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        future.set_result(ack)
        return future

    def report(self, event: dict) -> asyncio.Future:
        try:
            cleaned = protocol.validate(protocol.CALL, event)
            call_id = cleaned["call_id"]
            assert cleaned["seq"] == len(self.events[call_id]) + 1, "seq out of order"
            advance(self.progress[call_id], cleaned["event"], cleaned["data"], cleaned["at"])
        except (protocol.ProtocolError, TransitionError, AssertionError) as exc:
            self.errors.append(f"{event}: {exc}")
            return self._ack(protocol.error_ack(protocol.BAD_TRANSITION, str(exc)))
        self.events[call_id].append(cleaned)
        return self._ack(protocol.ok_ack(duplicate=False))

    async def claim(self, event: dict, timeout: float) -> dict:
        """The dial confirmation: refused with ``self.refuse_claims`` (an error
        code), never answered while ``self.silent`` (the link is down)."""
        if self.silent:
            await asyncio.sleep(timeout + 1)
        if self.refuse_claims:
            self.claims_refused.append(event["call_id"])
            return protocol.error_ack(self.refuse_claims, "refused by the test")
        return await self.report(event)

    def ask_agent(self, request: dict) -> asyncio.Future:
        cleaned = protocol.validate(protocol.AGENT, request)
        self.agent_requests.append(cleaned)
        progress = self.progress[cleaned["call_id"]]
        if progress.state != "routing":
            self.errors.append(f"agent request in state {progress.state}")
        line = next((line for line in self.lines if line["id"] not in progress.lines_tried), None)
        return self._ack(protocol.ok_ack(line=line))

    # -- what a runner needs besides (phone_agent.runner.PhoneLink) -------------
    heartbeat_s = 5.0
    listener = None
    assets: dict = {}
    numbers = ("01012349996",)

    async def lease(self, want: int) -> dict:
        protocol.validate(protocol.LEASE, {"want": want})
        self.leases.append(want)
        if not self.campaign or self.campaign["state"] != "running":
            return protocol.ok_ack(batch=None, retry_s=0.05, reason="paused")
        calls = []
        for _ in range(want):
            self._next_call += 1
            number = self.numbers[self._next_call % len(self.numbers)]
            calls.append({"call_id": f"call-{self._next_call:05d}", "number": number, "attempt": 1})
        return protocol.ok_ack(batch={"id": f"b{len(self.leases)}", "campaign_id": 1,
                                      "expires_at": 4e9, "calls": calls})

    def release(self, call_ids: list[str]) -> asyncio.Future:
        protocol.validate(protocol.RELEASE, {"call_ids": call_ids})
        self.released.extend(call_ids)
        return self._ack(protocol.ok_ack(released=len(call_ids)))

    async def heartbeat(self, health: dict) -> dict:
        self.heartbeats.append(protocol.validate(protocol.HEARTBEAT, health))
        return protocol.ok_ack()

    def asset_path(self, sha: str):
        return self.assets.get(sha)

    def assets_ready(self, campaign=None) -> bool:
        return True

    async def fetch_assets(self, hashes) -> list:
        return []

    def set_campaign_state(self, state: str) -> None:
        self.campaign = dict(self.campaign, state=state)
        self.listener.campaign_changed(self.campaign)

    def names(self, call_id: str) -> list[str]:
        return [e["event"] for e in self.events[call_id]]


def write_wav(path: Path, seconds: float, seed: int) -> Path:
    audio = tones.speech_like(seconds, np.random.default_rng(seed), level_dbfs=-20.0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(audio.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    return {INTRO[0]: write_wav(root / "intro1.wav", 2.0, 1),
            INTRO[1]: write_wav(root / "intro2.wav", 2.0, 2),
            PROMISE: write_wav(root / "promise.wav", 1.5, 3)}


def campaign(connect_agent: bool = True, press1_wait_s: int = 5, refuse_key: str = "") -> dict:
    return {"id": 1, "state": "running",
            "assets": {"intro": list(INTRO), "promise": [PROMISE], "callback": [],
                       "outgoing_image": None, "callback_image": None},
            "settings": {"connect_agent_after_intro": connect_agent, "agent_ring_repeats": 4,
                         "agent_ring_cycle_s": 5, "press1_wait_s": press1_wait_s,
                         "refuse_key": refuse_key}}


def run_calls(assets, numbers, *, lines=LINES, agents=None, connect_agent=True, voters=None,
              seed=1, abort_after_s=None, phones=1, refuse_key=""):
    """Dial the numbers on ``phones`` sim phones sharing one agent desk, each
    phone taking every ``phones``-th number in turn; (records in number
    order, server)."""
    server = InMemoryServer(lines)

    async def one_phone(k, desk):
        phone = SimTelephony(seed + k, speed=SPEED, desk=desk, voters=voters, voter_seed=seed)
        script = CallScript(phone, server, assets.get, ScriptConfig(speed=SPEED))
        await script.start()
        records = []
        for i in range(k, len(numbers), phones):
            call = {"call_id": f"call-{i:05d}-{numbers[i]}", "number": numbers[i], "attempt": 1}
            if abort_after_s is not None:
                asyncio.get_running_loop().call_later(abort_after_s, script.abort)
            records.append((i, await asyncio.wait_for(
                script.run(call, campaign(connect_agent, refuse_key=refuse_key)), 30)))
        await script.close()
        await phone.close()
        return records

    async def main():
        desk = SimAgentDesk(seed, agents=agents or {"1001": ANSWERS, "1002": ANSWERS})
        done = await asyncio.gather(*(one_phone(k, desk) for k in range(phones)))
        return [rec for _, rec in sorted(pair for records in done for pair in records)]

    records = asyncio.run(main())
    assert server.errors == []
    for rec in records:  # the script's own view agrees with the server's
        assert [e["event"] for e in rec.events] == server.names(rec.call_id)
        assert [e["seq"] for e in rec.events] == list(range(1, len(rec.events) + 1))
        assert server.progress[rec.call_id].result == rec.result
    return records, server


def from_the_key(names: list[str]) -> list[str]:
    """A call's steps from the voter's 1 on, after an announcement had begun
    (the press may land in the first announcement or, on a busy machine, in
    the second)."""
    assert names[:4] == ["dialing", "ringing", "answered", "intro_started"], names
    return names[names.index("dtmf"):]


def test_no_answer_busy_invalid_and_rejected_end_before_the_voter_answers(assets):
    records, server = run_calls(assets, ["01012349991", "01012349990", "01012349992",
                                         "01012349993"])
    assert [(r.result, server.names(r.call_id)) for r in records] == [
        ("no_answer", ["dialing", "ringing", "ended"]),
        ("busy", ["dialing", "ended"]),
        ("invalid_number", ["dialing", "ended"]),
        ("rejected", ["dialing", "ringing", "ended"]),
    ]
    assert server.agent_requests == []


def test_a_voter_who_listens_hears_every_intro_in_order_and_the_phone_hangs_up(assets):
    (rec,), server = run_calls(assets, ["01012349996"])
    assert rec.result == "listened"
    assert server.names(rec.call_id) == ["dialing", "ringing", "answered", "intro_started",
                                         "intro_started", "intro_finished", "ended"]
    started = [e["data"]["sha256"] for e in rec.events if e["event"] == "intro_started"]
    assert started == list(INTRO)
    times = [e["at"] for e in rec.events]
    assert times == sorted(times)
    assert rec.digits == []


def test_a_voter_who_hangs_up_during_the_intro_ends_hung_up(assets):
    (rec,), server = run_calls(assets, ["01012349994"])
    assert rec.result == "hung_up"
    assert server.progress[rec.call_id].hung_up_in == "intro"
    assert "intro_finished" not in server.names(rec.call_id)


def test_pressing_1_puts_the_voter_through_to_an_agent(assets):
    (rec,), server = run_calls(assets, ["01012349995"])
    assert rec.result == "connected"
    assert server.names(rec.call_id) == ["dialing", "ringing", "answered", "intro_started",
                                         "dtmf", "agent_ringing", "bridged", "ended"]
    assert rec.digits == ["1"]
    assert server.progress[rec.call_id].agent_line_id == 1
    assert server.agent_requests == [{"call_id": rec.call_id, "attempt": 1, "after_line": None,
                                      "outcome": None}]
    assert rec.dtmf_to_agent_ack_s is not None and rec.dtmf_to_agent_ack_s >= 0


def test_when_the_first_agent_does_not_answer_the_next_one_is_rung(assets):
    (rec,), server = run_calls(assets, ["01012349995"], agents={"1001": NEVER, "1002": ANSWERS})
    assert rec.result == "connected"
    assert from_the_key(server.names(rec.call_id)) == ["dtmf", "agent_ringing", "agent_no_answer",
                                             "agent_ringing", "bridged", "ended"]
    assert server.progress[rec.call_id].lines_tried == [1, 2]
    assert [(r["attempt"], r["after_line"], r["outcome"]) for r in server.agent_requests] == [
        (1, None, None), (2, 1, "no_answer")]


def test_a_busy_agent_handset_counts_as_busy_and_the_next_is_rung(assets):
    async def main():
        server = InMemoryServer(LINES)
        desk = SimAgentDesk(1, agents={"1001": ANSWERS, "1002": ANSWERS})
        desk.claim("1001", object())  # 1001 is on another call
        phone = SimTelephony(1, speed=SPEED, desk=desk)
        script = CallScript(phone, server, assets.get, ScriptConfig(speed=SPEED))
        rec = await script.run({"call_id": "call-busy-agent", "number": "01012349995",
                                "attempt": 1}, campaign())
        await script.close()
        return rec, server

    rec, server = asyncio.run(main())
    assert server.errors == []
    assert rec.result == "connected"
    assert [(r["attempt"], r["after_line"], r["outcome"]) for r in server.agent_requests] == [
        (1, None, None), (2, 1, "busy")]


def test_when_no_agent_answers_the_promise_plays_and_a_callback_is_requested(assets):
    (rec, rec2), server = run_calls(assets, ["01012349995", "01012349995"],
                                    agents={"1001": NEVER, "1002": NEVER})
    assert rec.result == "callback_requested"
    assert from_the_key(server.names(rec.call_id)) == ["dtmf", "agent_ringing", "agent_no_answer",
                                             "agent_ringing", "agent_no_answer",
                                             "promise_started", "ended"]
    assert server.progress[rec.call_id].wants_callback
    assert rec2.result == "callback_requested"


def test_with_no_agent_line_at_all_the_promise_plays(assets):
    (rec,), server = run_calls(assets, ["01012349995"], lines=[])
    assert rec.result == "callback_requested"
    assert from_the_key(server.names(rec.call_id)) == ["dtmf", "promise_started", "ended"]
    assert len(server.agent_requests) == 1


def test_without_connect_agent_after_intro_a_1_goes_straight_to_the_promise(assets):
    (rec,), server = run_calls(assets, ["01012349995"], connect_agent=False)
    assert rec.result == "callback_requested"
    assert from_the_key(server.names(rec.call_id)) == ["dtmf", "promise_started", "ended"]
    assert server.agent_requests == []


def test_other_keys_are_reported_and_change_nothing(assets):
    (rec,), server = run_calls(assets, ["01012349997"])
    assert rec.result == "listened"
    assert rec.digits == ["5"]
    assert [e["data"] for e in rec.events if e["event"] == "dtmf"] == [{"digit": "5"}]
    assert server.agent_requests == []


def test_the_refusal_key_ends_the_call_politely_as_refused(assets):
    (rec,), server = run_calls(assets, ["01012349989"], refuse_key="9")
    assert rec.result == "refused" and rec.digits == ["9"]
    assert server.names(rec.call_id)[-2:] == ["dtmf", "ended"]
    assert server.agent_requests == []
    # Without a refusal key set, 9 is just another key.
    (rec,), _server = run_calls(assets, ["01012349989"])
    assert rec.result == "listened"


def test_the_built_in_refusal_tone_is_a_short_telephone_wav():
    from phone_agent.script import refusal_tone
    with wave.open(str(refusal_tone())) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert 0.5 < w.getnframes() / 8000 < 3.0


def run_runner_until_claimed(assets, server, claims: int):
    """A runner on a sim phone until ``claims`` claims were made; (runner, phone)."""
    async def main():
        phone = SimTelephony(1, speed=SPEED, desk=SimAgentDesk(1, agents={}))
        runner = Runner(server, phone, config=ScriptConfig(speed=SPEED, claim_wait_s=0.2), prefetch=2)
        task = asyncio.create_task(runner.run())
        deadline = asyncio.get_running_loop().time() + 20
        while sum(runner.metrics.not_dialled.values()) < claims:
            assert asyncio.get_running_loop().time() < deadline, runner.metrics.as_dict()
            await asyncio.sleep(0.01)
        runner.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return runner, phone
    return asyncio.run(main())


def test_a_refused_claim_dials_nothing_and_gives_the_call_back(assets):
    server = InMemoryServer(LINES, campaign())
    server.assets = assets
    server.refuse_claims = protocol.DO_NOT_CALL
    runner, phone = run_runner_until_claimed(assets, server, claims=3)
    assert phone.calls == 0                                    # nothing reached the network
    assert runner.metrics.calls == 0 and runner.metrics.not_dialled[protocol.DO_NOT_CALL] >= 3
    assert set(server.claims_refused) <= set(server.released)  # each refused call given back
    assert not any(server.events.values())                     # no event of those calls was stored


def test_without_the_servers_answer_the_phone_does_not_dial(assets):
    """The link is down or the server frozen: the claim gets no answer in
    time, so the phone dials nothing and gives its calls back."""
    server = InMemoryServer(LINES, campaign())
    server.assets = assets
    server.silent = True
    runner, phone = run_runner_until_claimed(assets, server, claims=1)
    assert phone.calls == 0 and runner.metrics.calls == 0
    assert runner.metrics.not_dialled["no_confirmation"] == 1
    assert server.released and not any(server.events.values())


def test_a_voter_who_gives_up_while_the_agent_rings_ends_hung_up(assets):
    (rec,), server = run_calls(assets, ["01012349998"], agents={"1001": NEVER, "1002": NEVER})
    assert rec.result == "hung_up"
    assert server.progress[rec.call_id].hung_up_in in ("routing", "agent_ringing")


def test_a_missing_announcement_fails_the_call_with_a_reason(assets):
    (rec,), server = run_calls({}, ["01012349996"])
    assert rec.result == "failed"
    assert "not on the phone" in rec.reason
    assert server.progress[rec.call_id].state == "ended"


def test_a_hang_up_command_ends_the_call_in_progress(assets):
    (rec,), server = run_calls(assets, ["01012349996"], abort_after_s=2.5 / SPEED)
    assert rec.result == "failed" and rec.reason == "hang_up_command"


def test_random_voters_only_ever_produce_valid_event_sequences(assets):
    voters = VoterModel(invalid_p=0.1, busy_p=0.1, answer_p=0.7, reject_p=0.1,
                        hang_up_in_intro_p=0.2, press1_p=0.5, other_key_p=0.1,
                        hang_up_after_press_p=0.2, ring_s=(1.0, 5.0), no_answer_s=10.0,
                        press_after_s=(0.5, 6.0), hang_up_after_s=(0.5, 5.0), patience_s=15.0)
    numbers = [f"0107777{i:04d}" for i in range(16)]
    agent = AgentModel(answer_p=0.5, answer_after_s=(1, 15), talk_s=(1, 5))
    records, server = run_calls(assets, numbers, voters=voters, phones=8,
                                agents={"1001": agent, "1002": agent})
    results = {r.result for r in records}
    assert len(results) >= 5, results  # the mix really covers several paths
    assert all(server.progress[r.call_id].state == "ended" for r in records)


def test_a_runner_dials_leased_calls_back_to_back_and_stops_when_paused(assets):
    """The runner keeps two leased calls in hand, dials them one after the
    other, and on pause finishes the call in progress and gives the rest back."""
    server = InMemoryServer(LINES, campaign())
    server.assets = assets
    server.numbers = ("01012349996", "01012349990", "01012349992", "01012349995")

    async def main():
        desk = SimAgentDesk(1, agents={"1001": ANSWERS, "1002": ANSWERS})
        phone = SimTelephony(1, speed=SPEED, desk=desk)
        runner = Runner(server, phone, config=ScriptConfig(speed=SPEED), prefetch=2)
        assert server.listener is runner
        task = asyncio.create_task(runner.run())
        while runner.metrics.calls < 8:
            await asyncio.sleep(0.01)
        held = set(runner.held_calls())
        server.set_campaign_state("paused")
        await asyncio.sleep(0.3)
        calls_at_pause = runner.metrics.calls
        await asyncio.sleep(0.3)
        assert runner.metrics.calls == calls_at_pause  # no more dialling while paused
        runner.stop()
        await asyncio.wait_for(task, 5)
        return runner, held

    runner, held = asyncio.run(main())
    assert server.errors == []
    dialled = [cid for cid, events in server.events.items() if events]
    assert len(dialled) == len(set(dialled)) == runner.metrics.calls
    assert all(server.progress[cid].state == "ended" for cid in dialled)
    assert held - set(dialled) <= set(server.released)  # what it held undialled went back
    assert not set(server.released) & set(dialled)  # given back, never dialled
    assert all(1 <= want <= 2 for want in server.leases)
    m = runner.metrics
    assert m.results["busy"] >= 2 and m.results["invalid_number"] >= 2
    assert m.results["listened"] >= 2 and m.results["connected"] >= 1
    assert len(m.dtmf_to_agent_ack) == m.results["connected"]
    assert len(m.idle_gaps) >= m.calls - 2 and max(m.idle_gaps) < 0.5


def test_a_voter_calling_back_hears_the_callback_announcement(assets):
    async def main():
        phone = SimTelephony(1, speed=SPEED)
        rang = []
        script = CallScript(phone, InMemoryServer(), assets.get, ScriptConfig(speed=SPEED),
                            on_incoming=rang.append)
        await script.start()
        phone.ring_in("01055554444")
        number = await asyncio.wait_for(script.incoming.get(), 5)
        with_callback = dict(campaign(), assets=dict(campaign()["assets"], callback=[PROMISE]))
        how = await script.answer_incoming(number, with_callback)
        declined_without_announcement = await script.answer_incoming(number, campaign())
        state = (await phone.health())["call_state"]
        await script.close()
        return number, rang, how, declined_without_announcement, state

    number, rang, how, declined, state = asyncio.run(main())
    assert number == "01055554444" and rang == [number]
    assert how == "played"
    assert declined.startswith("declined")
    assert state == "idle"


def test_the_audio_probe_command_runs_between_calls_and_the_result_goes_out_at_once():
    """폰 등록's 오디오 점검 reaches the runner as the probe_audio command: a
    phone with a probe runs it and beats at once with the result; a sim phone
    says it has nothing to probe; during a call the probe waits for later."""
    server = InMemoryServer(LINES, None)

    class ProbedPhone(SimTelephony):
        audio = None

        async def probe_audio(self):
            self.audio = {"path": "speaker", "capture": "mic", "probed_at": 1.8e9}
            return self.audio

        async def health(self):
            health = await super().health()
            return dict(health, audio=self.audio) if self.audio else health

    async def main():
        sim = Runner(server, SimTelephony(1, speed=SPEED), config=ScriptConfig(speed=SPEED))
        simulated = await sim.command({"type": "probe_audio", "args": {}})
        probed = Runner(server, ProbedPhone(2, speed=SPEED), config=ScriptConfig(speed=SPEED))
        task = asyncio.create_task(probed.run())
        await asyncio.sleep(0.05)
        beats_before = len(server.heartbeats)
        probed.current = "abcdefgh12"  # as while a call is in progress
        during_call = await probed.command({"type": "probe_audio", "args": {}})
        probed.current = None
        done = await probed.command({"type": "probe_audio", "args": {}})
        for _ in range(100):
            if any(beat.get("audio") for beat in server.heartbeats[beats_before:]):
                break
            await asyncio.sleep(0.01)
        probed.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return simulated, during_call, done, server.heartbeats[beats_before:]

    simulated, during_call, done, beats = asyncio.run(main())
    assert simulated == {"ok": False, "error": "this phone's audio is simulated: nothing to probe"}
    assert during_call == {"ok": False, "error": "a call is in progress: probe again after it"}
    assert done == {"ok": True}
    assert beats[-1]["audio"]["path"] == "speaker" and beats[-1]["device"] == "ready"
