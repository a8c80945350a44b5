"""The call state machine (pure): every path a call can take, and what it refuses."""

import pytest

from phone_agent.protocol.call_states import CallProgress, TransitionError, advance


def run(*events) -> CallProgress:
    progress = CallProgress()
    for n, item in enumerate(events):
        event, data = item if isinstance(item, tuple) else (item, {})
        advance(progress, event, data, at=1000.0 + n)
    return progress


def test_listened():
    p = run("dialing", "ringing", "answered", ("intro_started", {"sha256": "a" * 64}), "intro_finished",
            ("ended", {"result": "listened"}))
    assert (p.state, p.result, p.pressed_one, p.wants_callback) == ("ended", "listened", False, False)


def test_press_one_connected():
    p = run("dialing", "answered", "intro_started", ("dtmf", {"digit": "1"}),
            ("agent_ringing", {"line_id": 1}), ("bridged", {"line_id": 1}), ("ended", {"result": "connected"}))
    assert p.result == "connected" and p.agent_line_id == 1 and not p.wants_callback


def test_nobody_answers_is_a_callback_request():
    p = run("dialing", "answered", ("dtmf", {"digit": "1"}), ("agent_ringing", {"line_id": 1}),
            ("agent_no_answer", {"line_id": 1}), ("agent_ringing", {"line_id": 2}),
            ("agent_no_answer", {"line_id": 2}), "promise_started", ("ended", {"result": "callback_requested"}))
    assert p.lines_tried == [1, 2] and p.wants_callback


def test_hung_up_records_the_state():
    p = run("dialing", "answered", "intro_started", ("ended", {"result": "hung_up"}))
    assert (p.result, p.hung_up_in) == ("hung_up", "intro")
    p = run("dialing", "answered", ("dtmf", {"digit": "1"}), ("agent_ringing", {"line_id": 2}),
            ("ended", {"result": "hung_up"}))
    assert p.hung_up_in == "agent_ringing" and p.wants_callback


def test_other_digits_do_not_route():
    p = run("dialing", "answered", ("dtmf", {"digit": "5"}))
    assert p.state == "answered" and not p.pressed_one


@pytest.mark.parametrize("events", [
    ("answered",),                                                  # not dialled yet
    ("dialing", ("ended", {"result": "listened"})),                 # nobody answered
    ("dialing", "answered", ("ended", {"result": "connected"})),    # no agent
    ("dialing", ("dtmf", {"digit": "1"})),                          # DTMF before answer
    ("dialing", "answered", ("bridged", {"line_id": 1})),           # bridged without ringing
    ("dialing", ("ended", {"result": "busy"}), "ringing"),           # after the end
])
def test_impossible_sequences_are_refused(events):
    with pytest.raises(TransitionError):
        run(*events)
