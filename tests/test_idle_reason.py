"""Why nothing dials (server/calling/idle_reason.py), on plain values and a
chosen Seoul instant: each reason the manager may see, with its time."""

import datetime as dt

import pytest

from server.calling.idle_reason import PhoneState, Queue, next_calling_time, reasons, when_text
from server.operating import SEOUL, OperatingSettings

OFFICE = OperatingSettings(call_hours_start="09:00", call_hours_end="21:00", daily_cap_per_phone=300)
ONE_PHONE = [PhoneState(online=True)]
DUE = Queue(due=10)


def seoul(day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(2027, 3, day, hour, minute, tzinfo=SEOUL).timestamp()


def campaign(state="running", kind="notice", intro=("a" * 64,)):
    return {"id": 1, "name": "2차 발신", "state": state, "kind": kind, "assets": {"intro": list(intro)}}


def said(found, now) -> list[tuple]:
    return [(r["code"], r["count"], r["time"]) for r in (reason.as_dict(now) for reason in found)]


def test_a_running_campaign_with_phones_and_voters_due_has_no_reason():
    now = seoul(9, 12)
    assert reasons(campaign(), OFFICE, now, phones=ONE_PHONE, queue=DUE) == []


def test_after_the_calling_hours_it_says_when_calling_resumes_tomorrow():
    now = seoul(9, 21, 30)
    assert said(reasons(campaign(), OFFICE, now, phones=ONE_PHONE, queue=DUE), now) == [
        ("outside_hours", None, "3/10 09:00")]
    # Before the hours on the same day: today's start, as a bare time.
    early = seoul(9, 7, 15)
    assert said(reasons(campaign(), OFFICE, early, phones=ONE_PHONE, queue=DUE), early) == [
        ("outside_hours", None, "09:00")]


def test_an_election_campaign_in_the_quiet_hours_resumes_at_six_or_at_its_hours():
    all_day = OperatingSettings(call_hours_start="00:00", call_hours_end="23:59")
    night = seoul(9, 23, 10)
    assert said(reasons(campaign(kind="election"), all_day, night, phones=ONE_PHONE, queue=DUE), night) == [
        ("election_hours", None, "3/10 06:00")]
    after_midnight = seoul(10, 2)
    assert said(reasons(campaign(kind="election"), all_day, after_midnight, phones=ONE_PHONE, queue=DUE),
                after_midnight) == [("election_hours", None, "06:00")]
    # Office hours start later than 06:00: the quiet hours end, but calling waits for 09:00.
    assert said(reasons(campaign(kind="election"), OFFICE, night, phones=ONE_PHONE, queue=DUE), night) == [
        ("election_hours", None, "3/10 09:00")]
    # The same night is no bar to a notice campaign whose hours allow it.
    assert reasons(campaign(kind="notice"), all_day, night, phones=ONE_PHONE, queue=DUE) == []


def test_election_hours_that_never_overlap_the_allowed_time_are_named():
    late = OperatingSettings(call_hours_start="23:10", call_hours_end="23:50")
    now = seoul(9, 12)
    assert said(reasons(campaign(kind="election"), late, now, phones=ONE_PHONE, queue=DUE), now) == [
        ("hours_never", None, None)]
    assert next_calling_time(campaign(kind="election"), late, now) is None


def test_only_retries_waiting_says_how_many_and_the_next_retry_time():
    now = seoul(9, 13, 5)
    queue = Queue(due=0, waiting=71, next_at=seoul(9, 14, 20), leased=0)
    assert said(reasons(campaign(), OFFICE, now, phones=ONE_PHONE, queue=queue), now) == [
        ("retries_waiting", 71, "14:20")]
    # Voters due now: the waiting retries are no reason for idle phones.
    assert reasons(campaign(), OFFICE, now, phones=ONE_PHONE, queue=Queue(due=3, waiting=71)) == []


def test_no_phone_online_and_phones_that_cannot_call():
    now = seoul(9, 12)
    offline = [PhoneState(online=False), PhoneState(online=False)]
    assert said(reasons(campaign(), OFFICE, now, phones=offline, queue=DUE), now) == [("no_phones", None, None)]
    assert said(reasons(campaign(), OFFICE, now, phones=[], queue=DUE), now) == [("no_phones", None, None)]
    lost = [PhoneState(online=True, unavailable=True), PhoneState(online=True, unavailable=True),
            PhoneState(online=False)]
    assert said(reasons(campaign(), OFFICE, now, phones=lost, queue=DUE), now) == [("phones_unavailable", 2, None)]


def test_every_phone_at_its_daily_cap_resumes_at_the_next_days_hours():
    now = seoul(9, 15)
    capped = [PhoneState(online=True, dialled_today=300), PhoneState(online=True, dialled_today=301),
              PhoneState(online=True, unavailable=True)]
    assert said(reasons(campaign(), OFFICE, now, phones=capped, queue=DUE), now) == [("daily_cap", None, "3/10 09:00")]
    one_left = capped + [PhoneState(online=True, dialled_today=299)]
    assert reasons(campaign(), OFFICE, now, phones=one_left, queue=DUE) == []


def test_paused_missing_announcement_and_disk_are_each_named():
    now = seoul(9, 12)
    assert said(reasons(campaign(state="paused", intro=()), OFFICE, now, phones=ONE_PHONE, queue=DUE,
                        storage={"low": True, "error": None}), now) == [
        ("paused", None, None), ("no_announcement", None, None), ("disk_low", None, None)]
    assert said(reasons(campaign(), OFFICE, now, phones=ONE_PHONE, queue=DUE,
                        storage={"low": True, "error": "disk I/O error"}), now) == [("storage_error", None, None)]


def test_reasons_add_up_when_several_hold():
    now = seoul(9, 22)
    queue = Queue(due=0, waiting=5, next_at=seoul(10, 9, 30))
    assert said(reasons(campaign(state="paused"), OFFICE, now, phones=[], queue=queue), now) == [
        ("paused", None, None), ("outside_hours", None, "3/10 09:00"), ("no_phones", None, None),
        ("retries_waiting", 5, "3/10 09:30")]


@pytest.mark.parametrize("state, expected", [("stopped", ["stopped"]), ("finished", ["finished"])])
def test_a_campaign_that_ended_gets_only_that(state, expected):
    now = seoul(9, 23)
    assert [r.code for r in reasons(campaign(state=state, kind="election"), OFFICE, now, phones=[],
                                    queue=Queue())] == expected


def test_a_campaign_not_started_says_so_and_what_the_hours_would_do():
    now = seoul(9, 23, 30)
    assert said(reasons(campaign(state="ready", kind="election"), OFFICE, now, phones=[], queue=DUE), now) == [
        ("not_started", None, None), ("election_hours", None, "3/10 09:00")]
    assert said(reasons(campaign(state="ready"), OFFICE, seoul(9, 12), phones=[], queue=DUE), now) == [
        ("not_started", None, None)]
    assert reasons(None, OFFICE, now, phones=[], queue=DUE) == []


def test_times_are_seoul_wall_clock_whatever_the_day_boundary_in_utc():
    # 00:30 Seoul is still the previous day in UTC.
    now = seoul(10, 0, 30)
    assert when_text(seoul(10, 9), now) == "09:00"
    assert when_text(seoul(11, 9), now) == "3/11 09:00"
