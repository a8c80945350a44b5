"""The statistics of a campaign (or all) over a period, read from the
database: the one place that hands ``statistics.compute`` its inputs, for
the page, its charts, its exports and the PDF report."""

from __future__ import annotations

import datetime as dt

from .. import db
from . import statistics
from .period import Period, day_start


def _facts(store, *, start: float, end: float, campaign_id: int | None) -> list[statistics.CallFact]:
    return [statistics.CallFact(**row) for row in
            db.report_call_facts(store, start=start, end=end, campaign_id=campaign_id)]


def gather(store, *, period: Period, campaign_id: int | None = None) -> statistics.Statistics:
    """Everything the 통계 page shows for ``period`` (hours: its last day
    against the day before)."""
    day = period.last
    facts = _facts(store, start=period.start, end=period.end, campaign_id=campaign_id)
    day_facts = _facts(store, start=day_start(day - dt.timedelta(days=1)), end=day_start(day + dt.timedelta(days=1)),
                       campaign_id=campaign_id)
    return statistics.compute(
        facts, day_facts=day_facts, day=day,
        skipped_dnc=db.report_skipped_dnc(store, campaign_id),
        phone_names=db.report_phone_names(store),
        problems=db.report_phone_problems(store, start=period.start, end=period.end),
        lines=db.agent_lines(store),
        agent_events=db.report_agent_events(store, start=period.start, end=period.end, campaign_id=campaign_id))
