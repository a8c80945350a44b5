"""Agent routing (상담원 연결): which agent line a voter who pressed 1 gets.

Pure logic, no I/O: the calling engine (``server/calling/engine.py``) calls it with
plain values and a clock reading, and persists nothing from here; after a
restart the engine rebuilds each line's state from the open calls
(:meth:`AgentRouter.restore`), so a line talking to a voter is never shown
free.

Rules:
- lines are taken in order of position; the search starts after the line used
  last (round robin with memory), so free lines take turns: 1001, 1002, 1001…
- busy, ringing and away lines are skipped, and so is every line already
  tried for this call;
- a line rings for ``agent_ring_repeats × agent_ring_cycle_s`` seconds, then
  the phone reports no answer and asks again: the next line is tried;
- when no line qualifies the answer is None ("none"): the phone plays the
  promise announcement and the call becomes a callback request;
- the manager's 자리비움 (away) on a line that is ringing or talking takes
  effect when that call ends ("통화 후 자리비움"), never cutting the call.

A line that was told to ring and never heard of again (the phone vanished)
becomes free once its ring time plus a grace period has passed, so one lost
phone cannot take an agent out of service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AVAILABLE, RINGING, BUSY, AWAY = "available", "ringing", "busy", "away"
RING_GRACE_S = 10.0


@dataclass
class AgentLine:
    id: int
    extension: str
    name: str
    dial_target: str
    position: int
    state: str = AVAILABLE
    call_id: str | None = None
    since: float = 0.0
    ring_deadline: float | None = None
    answered_calls: int = 0
    away_after_call: bool = False   # set away while busy: takes effect when the call ends

    def as_dict(self) -> dict:
        return {"id": self.id, "extension": self.extension, "name": self.name,
                "state": self.state, "call_id": self.call_id, "since": self.since,
                "answered_calls": self.answered_calls, "away_after_call": self.away_after_call}


@dataclass
class AgentRouter:
    lines: list[AgentLine] = field(default_factory=list)
    last_used: int | None = None

    # -- configuration ---------------------------------------------------------
    def load(self, rows: list[dict], now: float) -> None:
        """(Re)load the lines from the database, keeping the state of known ones.
        A disabled line is away."""
        known = {line.id: line for line in self.lines}
        lines = []
        for row in sorted(rows, key=lambda r: (r["position"], r["extension"])):
            line = known.get(row["id"]) or AgentLine(row["id"], row["extension"], row["name"],
                                                     row["dial_target"], row["position"], since=now)
            line.extension, line.name = row["extension"], row["name"]
            line.dial_target, line.position = row["dial_target"], row["position"]
            enabled = bool(row.get("enabled", 1)) and not row.get("away", 0)
            if not enabled:
                if line.state == AVAILABLE:
                    self._set(line, AWAY, None, now)
                elif line.state in (RINGING, BUSY):
                    line.away_after_call = True      # the call in progress goes on
            else:
                line.away_after_call = False
                if line.state == AWAY:
                    self._set(line, AVAILABLE, None, now)
            lines.append(line)
        self.lines = lines

    def line(self, line_id: int) -> AgentLine | None:
        return next((line for line in self.lines if line.id == line_id), None)

    # -- routing ---------------------------------------------------------------
    def pick(self, call_id: str, now: float, ring_s: float, tried: set[int] = frozenset()) -> AgentLine | None:
        """The next free line for ``call_id``, now marked ringing; or None."""
        self._expire(now)
        if not self.lines:
            return None
        start = 0
        if self.last_used is not None:
            ids = [line.id for line in self.lines]
            if self.last_used in ids:
                start = ids.index(self.last_used) + 1
        count = len(self.lines)
        for offset in range(count):
            line = self.lines[(start + offset) % count]
            if line.state == AVAILABLE and line.id not in tried:
                self._set(line, RINGING, call_id, now)
                line.ring_deadline = now + ring_s + RING_GRACE_S
                self.last_used = line.id
                return line
        return None

    def no_answer(self, line_id: int, call_id: str, now: float) -> None:
        line = self.line(line_id)
        if line and line.call_id == call_id and line.state == RINGING:
            self._set(line, AVAILABLE, None, now)

    def answered(self, line_id: int, call_id: str, now: float) -> bool:
        """The agent picked up. False if the line was not ringing for this call."""
        line = self.line(line_id)
        if line is None or line.call_id != call_id or line.state not in (RINGING, AVAILABLE):
            return False
        self._set(line, BUSY, call_id, now)
        line.answered_calls += 1
        return True

    def call_ended(self, call_id: str, now: float) -> list[int]:
        """Free every line held by ``call_id``; return their ids."""
        freed = []
        for line in self.lines:
            if line.call_id == call_id and line.state in (RINGING, BUSY):
                self._set(line, AVAILABLE, None, now)
                freed.append(line.id)
        return freed

    def restore(self, line_id: int, call_id: str, state: str, now: float, ring_s: float) -> None:
        """After a restart: ``call_id`` is open and was ringing (``agent_ringing``)
        or talking to (``bridged``) this line."""
        line = self.line(line_id)
        if line is None:
            return
        away_after = line.away_after_call or line.state == AWAY
        if state == "bridged":
            self._set(line, BUSY, call_id, now)
        else:
            self._set(line, RINGING, call_id, now)
            line.ring_deadline = now + ring_s + RING_GRACE_S
        line.away_after_call = away_after

    def set_away(self, line_id: int, away: bool, now: float) -> None:
        line = self.line(line_id)
        if line is None:
            return
        if away and line.state == AVAILABLE:
            self._set(line, AWAY, None, now)
        elif away and line.state in (RINGING, BUSY):
            line.away_after_call = True
        elif not away:
            line.away_after_call = False
            if line.state == AWAY:
                self._set(line, AVAILABLE, None, now)

    def snapshot(self, now: float) -> list[dict]:
        self._expire(now)
        return [line.as_dict() for line in self.lines]

    # -- internals -------------------------------------------------------------
    def _expire(self, now: float) -> None:
        for line in self.lines:
            if line.state == RINGING and line.ring_deadline is not None and now > line.ring_deadline:
                self._set(line, AVAILABLE, None, now)

    @staticmethod
    def _set(line: AgentLine, state: str, call_id: str | None, now: float) -> None:
        if state == AVAILABLE and line.away_after_call:
            state, line.away_after_call = AWAY, False
        line.state, line.call_id, line.since = state, call_id, now
        if state != RINGING:
            line.ring_deadline = None
