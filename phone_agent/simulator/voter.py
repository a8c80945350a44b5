"""Simulated people: the voter a sim phone calls and the agent it rings.

Pure logic, no I/O and no clock: a model plus a ``random.Random`` gives a
*plan* — what this voter (or agent) will do on this call and after how many
seconds of simulated time. ``phone_agent.simulator.sim`` and the virtual
handsets (``phone_agent.simulator.virtual``) play plans out.

Voter behaviours (:data:`BEHAVIOURS`)
-------------------------------------
``invalid``          the network refuses the number (after ``setup_s``)
``busy``             busy (after ``setup_s``)
``no_answer``        rings until the network gives up (``no_answer_s``)
``reject``           rings, then the voter declines (after ``ring_s``)
``hang_up_in_intro`` answers, hangs up ``act_after_s`` after the intro starts
``press_1``          answers, presses 1 ``act_after_s`` after the intro starts,
                     then waits for an agent up to ``patience_s``
``press_1_then_hang_up``  presses 1, then hangs up ``hang_up_after_s`` later
                     (while being routed or while the agent rings)
``press_other``      answers, presses another key (not 1), listens on
``listen``           answers and listens until the phone hangs up
``refuse``           answers, presses 9 (the default 수신거부 key), listens on

Deterministic outcomes for tests and demos
------------------------------------------
Numbers whose last four digits are in :data:`SUFFIX_RULES` always behave the
same way, with fixed timings (``forced_*`` fields of the model)::

    …9990 busy              …9995 presses 1
    …9991 no answer         …9996 never presses (listens to the end)
    …9992 invalid number    …9997 presses another key ("5"), then listens
    …9993 rejects           …9998 presses 1, then hangs up while waiting
    …9994 hangs up during the intro   …9989 presses 9 (refuses further calls)

``VoterModel.overrides`` maps whole numbers to a behaviour and wins over the
suffix rules. Every other number draws its behaviour from the probabilities.
The same model, number and ``random.Random`` state give the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

BEHAVIOURS = ("invalid", "busy", "no_answer", "reject", "hang_up_in_intro", "press_1",
              "press_1_then_hang_up", "press_other", "listen", "refuse")
ANSWERING = ("hang_up_in_intro", "press_1", "press_1_then_hang_up", "press_other", "listen", "refuse")

SUFFIX_RULES: dict[str, str] = {
    "9990": "busy",
    "9991": "no_answer",
    "9992": "invalid",
    "9993": "reject",
    "9994": "hang_up_in_intro",
    "9995": "press_1",
    "9996": "listen",
    "9997": "press_other",
    "9998": "press_1_then_hang_up",
    "9989": "refuse",
}
OTHER_KEYS = "234567890*#"

# Timings every player of plans keeps (the sim backend and the virtual
# handsets), in simulated seconds.
INTRO_WAIT_S = 10.0  # a voter who answered counts from here if no announcement starts
INCOMING_HANG_UP_S = 120.0  # a caller (ring_in) hangs up after this long
AGENT_SETUP_S = 0.3  # dialling an agent handset → it rings (or answers busy)


@dataclass
class VoterModel:
    """How simulated voters behave. Durations are seconds of simulated time
    (the sim backend divides them by its ``speed``); ranges are uniform
    ``(low, high)``. Probabilities are drawn in this order: ``invalid_p``,
    ``busy_p``; of the rest (the phone rings): ``answer_p``, ``reject_p``,
    else no answer; of those who answer: ``hang_up_in_intro_p``, then of
    those who stay ``press1_p``, ``other_key_p``, else they listen."""

    invalid_p: float = 0.02  # number not in service
    busy_p: float = 0.05
    answer_p: float = 0.60  # of the phones that ring
    reject_p: float = 0.05  # of the phones that ring: the voter declines
    hang_up_in_intro_p: float = 0.15  # of those who answer
    press1_p: float = 0.25  # of those who answer and stay
    other_key_p: float = 0.03  # of those who answer and stay: press another key
    hang_up_after_press_p: float = 0.05  # of those who press 1: give up soon after

    setup_s: tuple[float, float] = (0.5, 2.0)  # dial → ringing (or busy / invalid)
    ring_s: tuple[float, float] = (2.0, 15.0)  # ringing → answered or declined
    no_answer_s: float = 40.0  # the network stops ringing
    hang_up_after_s: tuple[float, float] = (1.0, 15.0)  # after the intro starts
    press_after_s: tuple[float, float] = (2.0, 20.0)  # after the intro starts
    give_up_after_s: tuple[float, float] = (1.0, 5.0)  # press_1_then_hang_up: after the press
    patience_s: float = 90.0  # pressed 1: hangs up if not put through by then

    # the key press as audio (real DTMF through the detector)
    tone_s: tuple[float, float] = (0.08, 0.15)
    tone_dbfs: tuple[float, float] = (-20.0, -10.0)  # peak level of the key tone
    snr_db: float = 20.0  # noise under the tone, below the tone's RMS level
    noise_dbfs: float = -50.0  # line noise, RMS
    hello_dbfs: float | None = -30.0  # the voter's "여보세요" (speech-like) on answering
    echo_db: float | None = -30.0  # the announcement heard back through the mic

    # numbers with a forced behaviour (suffix rules, overrides)
    overrides: dict[str, str] = field(default_factory=dict)
    forced_setup_s: float = 0.5
    forced_ring_s: float = 1.0
    forced_act_after_s: float = 1.0  # press / hang up this long after the intro starts
    forced_give_up_s: float = 1.0  # 9998: hangs up this long after pressing

    def forced(self, number: str) -> str | None:
        """The behaviour forced on ``number`` by overrides or suffix rules."""
        if number in self.overrides:
            behaviour = self.overrides[number]
            if behaviour not in BEHAVIOURS:
                raise ValueError(f"unknown voter behaviour {behaviour!r} for {number}")
            return behaviour
        return SUFFIX_RULES.get(number[-4:]) if len(number) >= 4 else None

    def plan(self, number: str, rng: random.Random) -> "VoterPlan":
        """What the voter at ``number`` does on this call."""
        # Draw every random value, in a fixed order, whatever the branch, so a
        # change of one probability does not reshuffle the timings.
        u_out, u_ring, u_ans, u_stay = (rng.random() for _ in range(4))
        setup = rng.uniform(*self.setup_s)
        ring = rng.uniform(*self.ring_s)
        hang_after = rng.uniform(*self.hang_up_after_s)
        press_after = rng.uniform(*self.press_after_s)
        give_up = rng.uniform(*self.give_up_after_s)
        tone_s = rng.uniform(*self.tone_s)
        tone_dbfs = rng.uniform(*self.tone_dbfs)
        other = rng.choice(OTHER_KEYS)
        u_give_up = rng.random()
        audio_seed = rng.getrandbits(63)

        behaviour = self.forced(number)
        if behaviour is not None:
            setup, ring, give_up = self.forced_setup_s, self.forced_ring_s, self.forced_give_up_s
            hang_after = press_after = self.forced_act_after_s
            other = "5"
        else:
            behaviour = self._draw(u_out, u_ring, u_ans, u_stay, u_give_up)
        if behaviour == "no_answer":
            ring = self.no_answer_s
        digit = {"press_1": "1", "press_1_then_hang_up": "1", "press_other": other,
                 "refuse": "9"}.get(behaviour)
        act_after = (hang_after if behaviour == "hang_up_in_intro"
                     else press_after if digit else None)
        hang_up_after = (give_up if behaviour == "press_1_then_hang_up"
                         else self.patience_s if behaviour == "press_1" else None)
        return VoterPlan(behaviour=behaviour, setup_s=setup, ring_s=ring, digit=digit,
                         act_after_s=act_after, hang_up_after_s=hang_up_after, tone_s=tone_s,
                         tone_dbfs=tone_dbfs, audio_seed=audio_seed)

    def _draw(self, u_out: float, u_ring: float, u_ans: float, u_stay: float, u_give_up: float) -> str:
        if u_out < self.invalid_p:
            return "invalid"
        if u_out < self.invalid_p + self.busy_p:
            return "busy"
        if u_ring >= self.answer_p:
            return "reject" if u_ring < self.answer_p + self.reject_p else "no_answer"
        if u_ans < self.hang_up_in_intro_p:
            return "hang_up_in_intro"
        if u_stay < self.press1_p:
            return "press_1_then_hang_up" if u_give_up < self.hang_up_after_press_p else "press_1"
        if u_stay < self.press1_p + self.other_key_p:
            return "press_other"
        return "listen"


@dataclass(frozen=True)
class VoterPlan:
    """One voter on one call. Times in seconds of simulated time."""

    behaviour: str
    setup_s: float  # dial → ringing, or → the busy / invalid verdict
    ring_s: float  # ringing → answered, declined, or (no_answer) the network gives up
    digit: str | None  # the key pressed, if any
    act_after_s: float | None  # after the intro starts: press ``digit`` or hang up
    hang_up_after_s: float | None  # after the press: hang up if not yet put through
    tone_s: float
    tone_dbfs: float
    audio_seed: int  # seeds the call's noise and tone phases

    @property
    def answers(self) -> bool:
        return self.behaviour in ANSWERING


@dataclass
class AgentModel:
    """How a simulated agent handset behaves when rung (seconds of simulated
    time). A handset already ringing or in a call answers busy."""

    answer_p: float = 0.85
    answer_after_s: tuple[float, float] = (2.0, 8.0)
    talk_s: tuple[float, float] = (20.0, 120.0)  # from answering to hanging up

    def plan(self, rng: random.Random) -> "AgentPlan":
        u, delay, talk = rng.random(), rng.uniform(*self.answer_after_s), rng.uniform(*self.talk_s)
        return AgentPlan(answers=u < self.answer_p, answer_after_s=delay, talk_s=talk)


@dataclass(frozen=True)
class AgentPlan:
    answers: bool
    answer_after_s: float
    talk_s: float
