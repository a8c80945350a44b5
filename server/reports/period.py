"""A period of Asia/Seoul dates, as the 통계 page and its exports take it.

Pure: the caller passes today's date. Dates are the manager's calendar
days in Seoul; a day runs 00:00–24:00 KST, so its bounds in epoch seconds
are fixed whatever the server's own time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..operating import SEOUL

MAX_DAYS = 366


class PeriodError(ValueError):
    """A date the manager typed that cannot be used; ``message`` is Korean
    (through ``_()``) and names the field."""

    def __init__(self, message: str, **values):
        super().__init__(message.format(**values))
        self.message, self.values = message, values


@dataclass(frozen=True)
class Period:
    first: dt.date          # first day, inclusive
    last: dt.date           # last day, inclusive

    @property
    def start(self) -> float:
        """Epoch seconds of 00:00 KST on the first day."""
        return day_start(self.first)

    @property
    def end(self) -> float:
        """Epoch seconds of 00:00 KST on the day after the last (exclusive)."""
        return day_start(self.last + dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def label(self) -> str:
        return self.first.isoformat() if self.first == self.last else f"{self.first} ~ {self.last}"


def day_start(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), SEOUL).timestamp()


def seoul_hour(epoch: float) -> int:
    return dt.datetime.fromtimestamp(epoch, SEOUL).hour


def seoul_date(epoch: float) -> dt.date:
    return dt.datetime.fromtimestamp(epoch, SEOUL).date()


def iso_to_seoul_date(text: str | None) -> dt.date | None:
    """The Seoul date of a stored ISO 8601 UTC time (``2026-12-03T01:02:03+00:00``)."""
    try:
        return dt.datetime.fromisoformat(text).astimezone(SEOUL).date()
    except (TypeError, ValueError):
        return None


def today(now: float) -> dt.date:
    return seoul_date(now)


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError("{field}: 날짜는 YYYY-MM-DD 형식으로 입력하세요 (입력값: {value}).",
                          field=field, value=text[:20]) from None


def parse(first: str | None, last: str | None, *, now: float) -> Period:
    """The period from the page's 시작일 and 종료일 (YYYY-MM-DD); an empty
    field means today. Refused: a date that is not one, an end before the
    start, more than :data:`MAX_DAYS` days."""
    day = today(now)
    start = _date(first, "시작일") if first and first.strip() else None
    end = _date(last, "종료일") if last and last.strip() else None
    if start is None and end is None:
        start = end = day
    elif start is None:
        start = end
    elif end is None:
        end = max(start, day)
    if end < start:
        raise PeriodError("종료일({last})이 시작일({first})보다 앞섭니다.", first=start.isoformat(),
                          last=end.isoformat())
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError("기간은 {max}일을 넘을 수 없습니다.", max=MAX_DAYS)
    return Period(start, end)
