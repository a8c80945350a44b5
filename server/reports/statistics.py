"""Every number of the 통계 page, each defined once, from call records.

Pure: the caller hands in the calls of a period (``CallFact``, one per call
dialled in it, from ``db.report_call_facts``) and the counts only the
database can give; nothing here reads a clock or a file.

The definitions (the page shows each under its table, docs/architecture.md
"통계" lists them):

- a **call** (발신) is a call record whose phone was allowed to dial
  (``dialed_at`` set), counted on the Seoul day and hour it was dialled;
  leases never dialled are not calls;
- **answered** (응답): the voter picked up (``answered_at`` set);
  **answer rate** = answered ÷ calls;
- **pressed 1** (1번 누름): the voter pressed 1 during the announcement;
- **connected** (상담원 연결): the call ended ``connected`` (bridged to an
  agent line and ended from there);
- **service level** (서비스 레벨): connected within
  :data:`SERVICE_LEVEL_S` seconds of the press ÷ pressed 1;
- **callback** (콜백 요청): a callback request was recorded for the call;
- **refused** (수신거부 (키패드)): the voter pressed the refusal key;
- **skipped** (수신거부 제외): voters closed without a call because their
  number was on 수신거부 (no time is kept for them, so the count is the
  campaign's, whatever the period);
- **failed** (미연결·실패): result no answer, busy, rejected, no such
  number or failed; by cause with :func:`labels.failure_cause`;
- **talk time** (평균 통화 시간): from answer to end, answered calls that
  ended; **ring time** (평균 신호 시간): from dial to answer, answered calls;
- **agent talk time** (상담원 통화 시간): from the bridge to the end;
- per agent line, **rung** / **answered** / **no answer**: the line's
  ``agent_ringing`` / ``bridged`` / ``agent_no_answer`` events (one call
  may ring several lines).

Times come from the phone's own clock (the events' ``at``), as the call
records show them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from . import labels
from .period import seoul_date, seoul_hour

SERVICE_LEVEL_S = 20.0


@dataclass(frozen=True)
class CallFact:
    """What the statistics need of one dialled call."""

    phone_id: int
    dialed_at: float
    answered_at: float | None = None
    bridged_at: float | None = None
    ended_at: float | None = None
    result: str | None = None
    reason: str | None = None
    pressed_one: bool = False
    press_at: float | None = None           # when the voter pressed 1
    agent_line_id: int | None = None
    has_callback: bool = False


# -- one function per definition ---------------------------------------------------

def is_answered(c: CallFact) -> bool:
    return c.answered_at is not None


def is_pressed_one(c: CallFact) -> bool:
    return bool(c.pressed_one)


def is_connected(c: CallFact) -> bool:
    return c.result == "connected"


def is_callback(c: CallFact) -> bool:
    return bool(c.has_callback)


def is_refused(c: CallFact) -> bool:
    return c.result == "refused"


def is_failed(c: CallFact) -> bool:
    return c.result in labels.FAILURE_RESULTS


def talk_seconds(c: CallFact) -> float | None:
    if c.answered_at is None or c.ended_at is None:
        return None
    return max(0.0, c.ended_at - c.answered_at)


def ring_seconds(c: CallFact) -> float | None:
    if c.answered_at is None:
        return None
    return max(0.0, c.answered_at - c.dialed_at)


def agent_talk_seconds(c: CallFact) -> float | None:
    if c.bridged_at is None or c.ended_at is None:
        return None
    return max(0.0, c.ended_at - c.bridged_at)


def within_service_level(c: CallFact) -> bool:
    return (is_connected(c) and c.press_at is not None and c.bridged_at is not None
            and c.bridged_at - c.press_at <= SERVICE_LEVEL_S)


def rate(part: int, whole: int) -> float | None:
    """part ÷ whole, None when there is nothing to divide."""
    return part / whole if whole else None


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


# -- the tables ------------------------------------------------------------------------

@dataclass
class Counts:
    calls: int = 0
    answered: int = 0
    pressed_one: int = 0
    connected: int = 0
    within_service_level: int = 0
    callbacks: int = 0
    refused: int = 0
    failed: int = 0
    talk: list = field(default_factory=list)
    ring: list = field(default_factory=list)
    agent_talk: list = field(default_factory=list)

    def add(self, c: CallFact) -> None:
        self.calls += 1
        self.answered += is_answered(c)
        self.pressed_one += is_pressed_one(c)
        self.connected += is_connected(c)
        self.within_service_level += within_service_level(c)
        self.callbacks += is_callback(c)
        self.refused += is_refused(c)
        self.failed += is_failed(c)
        for values, seconds in ((self.talk, talk_seconds(c)), (self.ring, ring_seconds(c)),
                                (self.agent_talk, agent_talk_seconds(c))):
            if seconds is not None:
                values.append(seconds)

    @property
    def answer_rate(self) -> float | None:
        return rate(self.answered, self.calls)

    @property
    def service_level(self) -> float | None:
        return rate(self.within_service_level, self.pressed_one)

    @property
    def mean_talk_s(self) -> float | None:
        return mean(self.talk)

    @property
    def mean_ring_s(self) -> float | None:
        return mean(self.ring)


@dataclass
class Statistics:
    summary: Counts
    skipped_dnc: int
    by_result: list[dict]          # {code, label, calls, share}
    failures: list[dict]           # {cause, calls, share}
    by_phone: list[dict]           # {phone_id, name, calls, answered, answer_rate, failed, problems: {kind: n}}
    by_agent: list[dict]           # {line_id, extension, name, rung, answered, no_answer, talk_s, mean_talk_s}
    hourly: list[dict]             # {hour, day_calls, day_answered, day_rate, before_calls, before_answered, before_rate}
    day: dt.date
    day_before: dt.date


def summarise(facts, *, skipped_dnc: int = 0) -> tuple[Counts, list[dict], list[dict], dict[int, Counts]]:
    """One pass over the period's calls: the summary, by result, failures by
    cause, and each phone's counts."""
    total = Counts()
    results: Counter = Counter()
    causes: Counter = Counter()
    phones: dict[int, Counts] = defaultdict(Counts)
    for c in facts:
        total.add(c)
        phones[c.phone_id].add(c)
        if c.result is not None:
            results[c.result] += 1
        if is_failed(c):
            causes[labels.failure_cause(c.result, c.reason)] += 1
    ended = sum(results.values())
    order = list(labels.RESULTS)
    by_result = [{"code": code, "label": labels.result(code), "calls": n, "share": rate(n, ended)}
                 for code, n in sorted(results.items(), key=lambda kv: (order.index(kv[0])
                                                                         if kv[0] in order else 99, kv[0]))]
    failures = [{"cause": cause, "calls": n, "share": rate(n, total.failed)}
                for cause, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))]
    return total, by_result, failures, phones


def by_phone(phone_counts: dict[int, Counts], names: dict[int, str],
             problems: dict[int, dict[str, int]]) -> list[dict]:
    """One row per phone that dialled in the period or had a problem in it."""
    rows = []
    for phone_id in sorted(set(phone_counts) | set(problems)):
        counts = phone_counts.get(phone_id, Counts())
        seen = problems.get(phone_id, {})
        rows.append({"phone_id": phone_id, "name": names.get(phone_id, f"#{phone_id}"),
                     "calls": counts.calls, "answered": counts.answered, "answer_rate": counts.answer_rate,
                     "failed": counts.failed, "problems": dict(seen),
                     "problem_total": sum(seen.values())})
    return rows


def by_agent(lines: list[dict], events: dict[tuple[int, str], int], facts) -> list[dict]:
    """One row per agent line: ``events`` counts ``(line_id, event)`` of the
    period's calls (agent_ringing, bridged, agent_no_answer); talk time from
    the calls bridged to the line."""
    talk: dict[int, list[float]] = defaultdict(list)
    for c in facts:
        seconds = agent_talk_seconds(c)
        if seconds is not None and c.agent_line_id is not None:
            talk[c.agent_line_id].append(seconds)
    known = {line["id"] for line in lines}
    extra = sorted({line_id for line_id, _event in events if line_id not in known} - {None})
    rows = []
    for line in [*lines, *({"id": i, "extension": f"#{i}", "name": ""} for i in extra)]:
        line_id = line["id"]
        rung = events.get((line_id, "agent_ringing"), 0)
        answered = events.get((line_id, "bridged"), 0)
        seconds = talk.get(line_id, [])
        rows.append({"line_id": line_id, "extension": line["extension"], "name": line["name"],
                     "rung": rung, "answered": answered,
                     "no_answer": events.get((line_id, "agent_no_answer"), 0),
                     "answer_rate": rate(answered, rung),
                     "talk_s": sum(seconds), "mean_talk_s": mean(seconds)})
    return rows


def hourly(facts, day: dt.date) -> list[dict]:
    """Calls and answers per Seoul hour on ``day`` against the day before
    (``facts`` may hold other days too: they are left out)."""
    before = day - dt.timedelta(days=1)
    counts = {d: [Counts() for _ in range(24)] for d in (day, before)}
    for c in facts:
        d = seoul_date(c.dialed_at)
        if d in counts:
            counts[d][seoul_hour(c.dialed_at)].add(c)
    return [{"hour": h,
             "day_calls": counts[day][h].calls, "day_answered": counts[day][h].answered,
             "day_rate": counts[day][h].answer_rate,
             "before_calls": counts[before][h].calls, "before_answered": counts[before][h].answered,
             "before_rate": counts[before][h].answer_rate} for h in range(24)]


def compute(facts: list[CallFact], *, day_facts: list[CallFact], day: dt.date, skipped_dnc: int,
            phone_names: dict[int, str], problems: dict[int, dict[str, int]], lines: list[dict],
            agent_events: dict[tuple[int, str], int]) -> Statistics:
    """The whole page from the period's calls (``facts``) and the calls of
    ``day`` and the day before (``day_facts``)."""
    total, results, failures, phones = summarise(facts)
    return Statistics(summary=total, skipped_dnc=skipped_dnc, by_result=results, failures=failures,
                      by_phone=by_phone(phones, phone_names, problems),
                      by_agent=by_agent(lines, agent_events, facts),
                      hourly=hourly(day_facts, day), day=day, day_before=day - dt.timedelta(days=1))
