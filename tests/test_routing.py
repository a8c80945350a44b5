"""Agent routing (pure): round robin with memory, skipping busy/ringing/away."""

from server.calling.routing import AVAILABLE, AWAY, BUSY, RING_GRACE_S, RINGING, AgentRouter

LINES = [{"id": 1, "extension": "1001", "name": "상담원1", "dial_target": "1001", "position": 1, "enabled": 1},
         {"id": 2, "extension": "1002", "name": "상담원2", "dial_target": "1002", "position": 2, "enabled": 1}]


def router(lines=LINES) -> AgentRouter:
    r = AgentRouter()
    r.load([dict(line) for line in lines], now=0.0)
    return r


def extension(line):
    return line.extension if line else None


def test_free_lines_take_turns():
    r = router()
    got = []
    for n in range(4):
        line = r.pick(f"call{n}", now=n, ring_s=15)
        got.append(line.extension)
        r.answered(line.id, f"call{n}", now=n)
        r.call_ended(f"call{n}", now=n + 0.5)
    assert got == ["1001", "1002", "1001", "1002"]


def test_two_voters_at_once_never_share_an_agent():
    r = router()
    a = r.pick("a", now=0, ring_s=15)
    b = r.pick("b", now=0, ring_s=15)
    c = r.pick("c", now=0, ring_s=15)
    assert (a.extension, b.extension, c) == ("1001", "1002", None)


def test_busy_ringing_and_away_lines_are_skipped():
    r = router()
    first = r.pick("a", now=0, ring_s=15)
    r.answered(first.id, "a", now=1)
    assert r.line(1).state == BUSY
    assert extension(r.pick("b", now=2, ring_s=15)) == "1002"
    assert r.line(2).state == RINGING
    assert r.pick("c", now=2, ring_s=15) is None
    r.call_ended("a", now=3)
    r.set_away(1, True, now=3)
    assert r.line(1).state == AWAY
    r.call_ended("b", now=4)
    assert extension(r.pick("d", now=5, ring_s=15)) == "1002"


def test_a_line_that_does_not_answer_is_not_tried_again_for_the_same_call():
    r = router()
    line = r.pick("a", now=0, ring_s=15)
    r.no_answer(line.id, "a", now=15)
    assert r.line(line.id).state == AVAILABLE
    second = r.pick("a", now=15, ring_s=15, tried={line.id})
    assert second.extension == "1002"
    r.no_answer(second.id, "a", now=30)
    assert r.pick("a", now=30, ring_s=15, tried={line.id, second.id}) is None


def test_a_ringing_line_of_a_vanished_phone_frees_itself():
    r = router()
    r.pick("lost", now=0, ring_s=15)
    assert r.pick("b", now=1, ring_s=15).extension == "1002"
    r.call_ended("b", now=2)
    assert r.line(1).state == RINGING
    assert r.pick("c", now=15 + RING_GRACE_S + 1, ring_s=15).extension == "1001"


def test_away_while_busy_takes_effect_after_the_call():
    r = router()
    line = r.pick("a", now=0, ring_s=15)
    r.answered(line.id, "a", now=1)
    r.set_away(line.id, True, now=2)
    assert r.line(line.id).state == BUSY
    r.call_ended("a", now=3)
    assert r.line(line.id).state == AWAY


def test_disabled_lines_are_away_and_reloading_keeps_states():
    r = router()
    r.pick("a", now=0, ring_s=15)
    lines = [dict(LINES[0]), dict(LINES[1], enabled=0),
             {"id": 3, "extension": "1003", "name": "3", "dial_target": "1003", "position": 3, "enabled": 1}]
    r.load(lines, now=1)
    assert [line.state for line in r.lines] == [RINGING, AWAY, AVAILABLE]
    assert r.pick("b", now=2, ring_s=15).extension == "1003"
