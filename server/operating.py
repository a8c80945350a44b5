"""Operating settings (운용환경): what the campaign does around each call.

Pure validation: a mapping of form strings in, an ``OperatingSettings`` or a
list of field errors out. Calling hours are wall-clock times in Asia/Seoul.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from phone_agent import protocol

SEOUL = ZoneInfo("Asia/Seoul")
SETTINGS_KEY = "operating"   # where the console keeps them (setting table)


@dataclass(frozen=True)
class OperatingSettings:
    connect_agent_after_intro: bool = True   # 안내멘트 후 상담전화 연결
    agent_ring_repeats: int = 3              # 벨소리 반복횟수
    agent_ring_cycle_s: int = 5              # one ring cycle, seconds
    press1_wait_s: int = 5                   # wait for "1" after the intro ends
    call_hours_start: str = "09:00"          # Asia/Seoul
    call_hours_end: str = "21:00"
    no_answer_max_attempts: int = 3
    no_answer_retry_delay_min: int = 60
    busy_max_attempts: int = 3
    busy_retry_delay_min: int = 10
    daily_cap_per_phone: int = 300           # calls per phone per day
    refuse_key: str = "9"                    # 수신거부 by keypad ("" = off); never "1"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def within_calling_hours(self, when: dt.datetime) -> bool:
        """Whether ``when`` (aware) falls inside the calling hours in Seoul."""
        local = when.astimezone(SEOUL).time()
        return _parse_time(self.call_hours_start) <= local < _parse_time(self.call_hours_end)


# (field, minimum, maximum) for the whole-number settings
RANGES = {
    "agent_ring_repeats": (1, 20),
    "agent_ring_cycle_s": (2, 30),
    "press1_wait_s": (0, 60),
    "no_answer_max_attempts": (1, 10),
    "no_answer_retry_delay_min": (1, 7 * 24 * 60),
    "busy_max_attempts": (1, 10),
    "busy_retry_delay_min": (1, 7 * 24 * 60),
    "daily_cap_per_phone": (1, 5000),
}
TIME_FIELDS = ("call_hours_start", "call_hours_end")
TRUE_TEXTS = ("1", "on", "true", "yes")


def _parse_time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# One check per kind of setting: the submitted text in, the value out, or
# ValueError with the message the manager sees (the console's form uses them).

def whole_number(field: str, raw) -> int:
    low, high = RANGES[field]
    raw = str(raw).strip()
    try:
        number = int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number from {low} to {high}, not '{raw}'") from None
    if not low <= number <= high:
        raise ValueError(f"must be from {low} to {high}, not {number}")
    return number


def time_of_day(raw) -> str:
    raw = str(raw).strip()
    try:
        return _parse_time(raw).strftime("%H:%M")
    except ValueError:
        raise ValueError(f"must be a time like 09:00, not '{raw}'") from None


def refuse_key(raw) -> str:
    raw = str(raw).strip()
    if raw not in REFUSE_KEYS:
        raise ValueError(f"must be one key of 0, 2-9, * or #, or empty (off), not '{raw}'")
    return raw


def hours_in_order(start: str, end: str) -> None:
    if _parse_time(start) >= _parse_time(end):
        raise ValueError("the end of calling hours must be after the start")


def parse(form, base: OperatingSettings | None = None) -> tuple[OperatingSettings | None, dict[str, str]]:
    """Validate submitted values. Returns (settings, {}) or (None, {field: error}).
    A field left out keeps its value from ``base``."""
    base = base or OperatingSettings()
    values = base.as_dict()
    errors: dict[str, str] = {}
    if "connect_agent_after_intro" in form or form.get("_checkboxes"):
        values["connect_agent_after_intro"] = str(form.get("connect_agent_after_intro", "")).lower() in TRUE_TEXTS
    checks = {**{field: lambda raw, f=field: whole_number(f, raw) for field in RANGES},
              "refuse_key": refuse_key, **{field: time_of_day for field in TIME_FIELDS}}
    for field, check in checks.items():
        if field in form:
            try:
                values[field] = check(form[field])
            except ValueError as exc:
                errors[field] = str(exc)
    if not errors:
        try:
            hours_in_order(values["call_hours_start"], values["call_hours_end"])
        except ValueError as exc:
            errors["call_hours_end"] = str(exc)
    if errors:
        return None, errors
    return OperatingSettings(**values), {}


# -- campaign types and the election-law bound ---------------------------------

CAMPAIGN_KINDS = (("election", "선거운동"), ("notice", "안내"), ("survey", "설문"))
CAMPAIGN_KIND_LABELS = dict(CAMPAIGN_KINDS)
# Korea's Public Official Election Act (공직선거법) allows campaigning by phone
# only outside 23:00-06:00; an election campaign can never call then, whatever
# its calling hours say. Checked by the server when a phone claims a call.
ELECTION_QUIET_START = dt.time(23, 0)
ELECTION_QUIET_END = dt.time(6, 0)
# Keys a voter may press to refuse further calls ("1" is the agent key).
REFUSE_KEYS = protocol.REFUSE_KEYS


def in_election_quiet_hours(when: dt.datetime) -> bool:
    """Whether ``when`` (aware) falls in 23:00-06:00 Seoul time."""
    local = when.astimezone(SEOUL).time()
    return local >= ELECTION_QUIET_START or local < ELECTION_QUIET_END


def calling_refusal(kind: str, settings: OperatingSettings, when: dt.datetime) -> str | None:
    """Why a campaign of ``kind`` may not dial at ``when``: ``election_hours``
    (23:00-06:00 Seoul, election campaigns), ``outside_hours`` (the manager's
    calling hours), or None when it may."""
    if kind == "election" and in_election_quiet_hours(when):
        return "election_hours"
    if not settings.within_calling_hours(when):
        return "outside_hours"
    return None


def from_stored(stored: dict | None) -> OperatingSettings:
    """Settings as stored in the database, tolerant of keys added or removed since."""
    known = {f.name for f in dataclasses.fields(OperatingSettings)}
    return OperatingSettings(**{k: v for k, v in (stored or {}).items() if k in known})
