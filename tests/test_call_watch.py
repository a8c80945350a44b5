"""Calls followed by the phone's watch stream (decision 30), end to end:
the adb backend against virtual handsets through the real ``adb`` server,
as in tests/test_adb_backend.py. The states come pushed, with no command
line sent while nothing happens; a phone where the loop cannot run is
polled; a loop killed mid-call is started again without losing a change."""

from __future__ import annotations

import asyncio

import pytest

from phone_agent.simulator.voter import VoterModel
from phone_agent.telephony.adb import POLL_REGISTRY
from phone_agent.telephony.base import ACTIVE, ALERTING, DIALING, DISCONNECTED, INCOMING
from tests.adb_fixtures import adb_server, virtual_phones  # noqa: F401  (fixtures)
from tests.test_adb_backend import changes, ended, phone, run, states  # noqa: F401  (phone: fixture)

pytestmark = pytest.mark.slow


async def following(t, want: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while t.following != want:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"following {t.following!r}, not {want!r}")
        await asyncio.sleep(0.02)


def lines(handset) -> int:
    return handset.command_count


def test_a_call_the_voter_ends_is_followed_by_the_stream_alone(phone):
    _, handset, _, backend = phone("a12-galaxy-s21")

    async def main():
        t = backend()
        await t.open()
        await following(t, "stream")
        before = lines(handset)
        await t.dial("01012349994")  # answers, then hangs up during the (unplayed) intro
        seen = await changes(t, ended(), timeout=30)
        during = lines(handset) - before
        await t.close()
        return seen, during

    seen, during = run(main())
    assert states(seen) == [(DIALING, None), (ALERTING, None), (ACTIVE, None),
                            (DISCONNECTED, "remote_hangup")]
    assert during == 1  # the dial line; every state after it came on the stream
    assert handset.watch.runs == 1
    assert not any(POLL_REGISTRY in c for c in handset.commands)


def test_an_idle_phone_costs_no_command_lines_and_an_incoming_call_is_noticed(phone):
    _, handset, phones, backend = phone("a13-pixel7", voice_slot=1)

    async def main():
        t = backend(idle_poll_s=0.3)
        await t.open()
        await following(t, "stream")
        before = lines(handset)
        await asyncio.sleep(1.5)  # five idle looks on the phone
        idle = lines(handset) - before
        phones.loop_thread.call(handset.ring_in, "01098765432")
        incoming = await changes(t, lambda c: c.state == INCOMING)
        await t.close()
        return idle, incoming

    idle, incoming = run(main())
    assert idle == 0
    assert incoming[-1].number == "01098765432"


def test_a_phone_where_the_loop_cannot_run_is_polled_and_its_calls_followed(phone):
    _, handset, _, backend = phone("a14-galaxy-s23", watcher=False)

    async def main():
        t = backend()
        await t.open()
        await following(t, "poll")
        await t.dial("01012349990")  # busy
        seen = await changes(t, ended())
        await t.close()
        return seen

    seen = run(main())
    assert states(seen)[-1] == (DISCONNECTED, "busy")
    assert handset.watch.runs == 0
    assert any(POLL_REGISTRY in c for c in handset.commands)  # the fallback polled


def test_a_loop_killed_mid_call_is_started_again_and_no_state_is_lost(phone):
    # The voter rings long, so the kill lands while the far end rings.
    _, handset, phones, backend = phone("a11-galaxy-a52", voters=VoterModel(ring_s=(6.0, 6.0)))

    async def main():
        t = backend()
        await t.open()
        await following(t, "stream")
        await t.dial("01012349994")
        ringing = await changes(t, lambda c: c.state == ALERTING)
        killed = phones.loop_thread.call(handset.watch.kill)
        rest = await changes(t, ended(), timeout=30)
        await following(t, "stream")
        await t.close()
        return ringing, killed, rest

    ringing, killed, rest = run(main())
    assert killed == 1
    assert states(ringing + rest) == [(DIALING, None), (ALERTING, None), (ACTIVE, None),
                                      (DISCONNECTED, "remote_hangup")]
    assert handset.watch.runs == 2  # started again after the kill


def test_a_loop_that_keeps_dying_leaves_the_phone_polled(phone):
    _, handset, phones, backend = phone("a10-pixel3")

    async def main():
        t = backend()
        await t.open()
        for _ in range(3):
            await following(t, "stream")
            phones.loop_thread.call(handset.watch.kill)
            await following(t, "starting" if _ < 2 else "poll")
        await t.dial("01012349992")  # an invalid number
        seen = await changes(t, ended())
        await t.close()
        return seen

    seen = run(main())
    assert states(seen)[-1] == (DISCONNECTED, "invalid_number")
    assert handset.watch.runs == 3
