"""The adb backend's call tracker, pure: what a run of phone snapshots (the
registry's SIM slot, Telecom's calls) means for the voter's call — the
states the call script sees and the cause it ends with."""

from __future__ import annotations

import pytest

from phone_agent.telephony.adb.tracker import CallTracker, classify_disconnect
from phone_agent.telephony.base import ACTIVE, ALERTING, DIALING, DISCONNECTED, INCOMING, VOTER
from phone_agent.telephony.dumpsys import SlotState

NUMBER = "01012345678"
IDLE = SlotState(slot=0, call_state=0, foreground_call_state=0)


def off_hook(precise: int) -> SlotState:
    """A slot in a call whose foreground is in the PRECISE state ``precise``
    (3 dialing, 4 alerting, 1 active)."""
    return SlotState(slot=0, call_state=2, foreground_call_state=precise)


def ended(cause: int, precise: int) -> SlotState:
    return SlotState(slot=0, call_state=0, foreground_call_state=0, disconnect_cause=cause,
                     precise_disconnect_cause=precise)


def follow(tracker: CallTracker, *slots: SlotState, start: float = 1.0) -> list[tuple[str, str | None]]:
    """Feed one snapshot a second; (state, cause) of every change."""
    changes = []
    for i, slot in enumerate(slots):
        changes += tracker.update([slot], None, start + i)
    return [(c.state, c.cause) for c in changes]


def test_a_call_that_rings_is_answered_and_hung_up_by_the_voter():
    tracker = CallTracker()
    assert tracker.dialing(NUMBER, 0.0).state == DIALING
    assert follow(tracker, off_hook(3), off_hook(4), off_hook(1)) == [(ALERTING, None), (ACTIVE, None)]
    assert tracker.call_state == "active" and tracker.busy
    assert follow(tracker, ended(2, 16), start=4.0) == [(DISCONNECTED, "remote_hangup")]
    assert tracker.call_state == "idle" and not tracker.busy


def test_a_busy_line_ends_the_call_as_busy():
    tracker = CallTracker()
    tracker.dialing(NUMBER, 0.0)
    assert follow(tracker, off_hook(3), ended(4, 17)) == [(DISCONNECTED, "busy")]


def test_a_call_we_end_is_a_local_hangup():
    tracker = CallTracker()
    tracker.dialing(NUMBER, 0.0)
    follow(tracker, off_hook(3), off_hook(1))
    tracker.ending(tracker.voter)
    assert follow(tracker, ended(2, 16), start=3.0) == [(DISCONNECTED, "local_hangup")]


def test_a_call_the_phone_never_shows_fails_after_the_start_timeout():
    tracker = CallTracker(start_timeout_s=15.0)
    tracker.dialing(NUMBER, 0.0)
    assert tracker.update([IDLE], None, 10.0) == []
    assert [(c.state, c.cause) for c in tracker.update([IDLE], None, 16.0)] == [(DISCONNECTED, "failed")]
    assert tracker.failure == "the call did not start"


def test_a_ringing_phone_is_an_incoming_call_with_the_callers_number():
    tracker = CallTracker()
    ringing = SlotState(slot=0, call_state=1, incoming_number="01099998888", ringing_call_state=5)
    (change,) = tracker.update([ringing], None, 1.0)
    assert (change.leg, change.state, change.number) == (VOTER, INCOMING, "01099998888")


def test_a_lost_phone_ends_the_live_call_as_failed_with_the_reason():
    tracker = CallTracker()
    tracker.dialing(NUMBER, 0.0)
    follow(tracker, off_hook(3), off_hook(1))
    (change,) = tracker.device_lost("connection lost (reset)")
    assert (change.state, change.cause) == (DISCONNECTED, "failed")
    assert tracker.failure == "connection lost (reset)" and tracker.device_lost("again") == []


def test_the_sim_slot_in_a_call_is_followed_on_a_dual_sim_phone():
    tracker = CallTracker()
    tracker.dialing(NUMBER, 0.0)
    other = SlotState(slot=0, call_state=0, foreground_call_state=0)
    calling = SlotState(slot=1, call_state=2, foreground_call_state=4)
    assert [(c.state) for c in tracker.update([other, calling], None, 1.0)] == [ALERTING]


@pytest.mark.parametrize("cause, precise, answered, local, expected", [
    (4, 17, False, False, "busy"),
    (4, 21, False, False, "rejected"),  # a network that says "call rejected"
    (2, 19, False, False, "no_answer"),
    (2, 18, False, False, "no_answer"),
    (25, 1, False, False, "invalid_number"),
    (7, -1, False, False, "invalid_number"),
    (2, 16, True, False, "remote_hangup"),
    (2, 16, False, False, "rejected"),  # ended while ringing by the far end
    (3, 16, True, True, "local_hangup"),
    (-1, -1, True, True, "local_hangup"),
    (-1, -1, True, False, "remote_hangup"),
    (14, -1, True, False, "failed"),  # lost signal
    (18, -1, False, False, "failed"),  # out of service
])
def test_disconnect_causes_map_to_call_causes(cause, precise, answered, local, expected):
    assert classify_disconnect(cause, precise, answered=answered, local=local) == expected
