"""The call state machine, pure.

::

    queued → dialing → ringing → answered → intro ─(no "1")→ ended: listened
                        │           │          └─"1"→ routing → agent_ringing → bridged → ended: connected
                        │           │                    └─(nobody answers)→ promise → ended: callback_requested
                        └→ ended: no_answer | busy | rejected | invalid_number | failed
    voter hangs up at any point → ended: hung_up (with the state it happened in)

The phone's call script moves through it; the server replays every event a
phone reports through :func:`advance` and refuses one that does not fit, so a
confused or hostile phone cannot write an impossible call record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUEUED, DIALING, RINGING, ANSWERED, INTRO, ROUTING, AGENT_RINGING, BRIDGED, PROMISE, ENDED = (
    "queued", "dialing", "ringing", "answered", "intro", "routing", "agent_ringing", "bridged",
    "promise", "ended")

STATES = (QUEUED, DIALING, RINGING, ANSWERED, INTRO, ROUTING, AGENT_RINGING, BRIDGED, PROMISE, ENDED)
LIVE_STATES = (ANSWERED, INTRO, ROUTING, AGENT_RINGING, BRIDGED, PROMISE)

# event -> {state it may come in: state after}
TRANSITIONS: dict[str, dict[str, str]] = {
    "dialing": {QUEUED: DIALING},
    "ringing": {DIALING: RINGING, RINGING: RINGING},
    "answered": {DIALING: ANSWERED, RINGING: ANSWERED},
    "intro_started": {ANSWERED: INTRO, INTRO: INTRO},
    "intro_finished": {INTRO: INTRO},
    "agent_ringing": {ROUTING: AGENT_RINGING},
    "agent_no_answer": {AGENT_RINGING: ROUTING},
    "bridged": {AGENT_RINGING: BRIDGED},
    "promise_started": {ROUTING: PROMISE, AGENT_RINGING: PROMISE},
}

# result -> states the call may end from with that result
RESULT_FROM: dict[str, tuple[str, ...]] = {
    "no_answer": (DIALING, RINGING),
    "busy": (DIALING, RINGING),
    "rejected": (DIALING, RINGING),
    "invalid_number": (QUEUED, DIALING, RINGING),
    "failed": (QUEUED, DIALING, RINGING, *LIVE_STATES),
    "listened": (ANSWERED, INTRO),
    "hung_up": LIVE_STATES,
    "connected": (BRIDGED,),
    "callback_requested": (ROUTING, AGENT_RINGING, PROMISE),
    "refused": (ANSWERED, INTRO),   # the voter pressed the 수신거부 key
}

# Results after which the contact may be called again (retry policy).
RETRYABLE = ("no_answer", "busy")


class TransitionError(ValueError):
    pass


@dataclass
class CallProgress:
    """What the server knows of one call, rebuilt from its events."""

    state: str = QUEUED
    result: str | None = None
    hung_up_in: str | None = None
    pressed_one: bool = False
    agent_line_id: int | None = None
    lines_tried: list[int] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.state == ENDED

    @property
    def wants_callback(self) -> bool:
        """Pressed 1 and ended without reaching an agent (콜백 요청)."""
        return self.ended and self.pressed_one and self.result != "connected"


def advance(progress: CallProgress, event: str, data: dict, at: float) -> CallProgress:
    """Apply one event; raise TransitionError if it does not fit the call's state."""
    state = progress.state
    if state == ENDED:
        raise TransitionError(f"call already ended ({progress.result}); '{event}' refused")
    if event == "dtmf":
        if state not in (ANSWERED, INTRO):
            raise TransitionError(f"'dtmf' is not possible in state {state}")
        if data.get("digit") == "1":
            progress.pressed_one = True
            progress.state = ROUTING
            progress.times.setdefault("pressed_one", at)
        return progress
    if event == "ended":
        result = data["result"]
        if state not in RESULT_FROM[result]:
            raise TransitionError(f"result '{result}' is not possible in state {state}")
        progress.result = result
        if result == "hung_up":
            progress.hung_up_in = state
        progress.state = ENDED
        progress.times["ended"] = at
        return progress
    allowed = TRANSITIONS.get(event)
    if allowed is None:
        raise TransitionError(f"unknown event '{event}'")
    if state not in allowed:
        raise TransitionError(f"'{event}' is not possible in state {state}")
    progress.state = allowed[state]
    progress.times.setdefault(event, at)
    if event in ("agent_ringing", "bridged"):
        progress.agent_line_id = data["line_id"]
        if event == "agent_ringing":
            progress.lines_tried.append(data["line_id"])
    elif event == "agent_no_answer":
        progress.agent_line_id = None
    return progress
