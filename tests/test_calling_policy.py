"""The calling rules (server/calling/policy.py), on plain values and a chosen
instant: what a phone is allowed to lease and dial, when a contact is tried
again, and what a call event changes in the call's record."""

import datetime as dt

import pytest

from phone_agent import protocol as p
from phone_agent.protocol.call_states import CallProgress, advance
from server import db
from server.calling import policy
from server.operating import SEOUL, OperatingSettings

ASSETS = {"intro": ["a" * 64], "promise": ["b" * 64], "callback": [], "refusal": [],
          "outgoing_image": "c" * 64, "callback_image": None}
ALL_ASSETS = frozenset({"a" * 64, "b" * 64, "c" * 64})
ALL_DAY = OperatingSettings(call_hours_start="00:00", call_hours_end="23:59")


def seoul(hour: int, minute: int = 0) -> float:
    return dt.datetime(2027, 3, 9, hour, minute, tzinfo=SEOUL).timestamp()


def campaign(kind="notice", state="running", campaign_id=7):
    return {"id": campaign_id, "name": "봄 안내", "kind": kind, "state": state, "assets": ASSETS}


def phone(queued_held=0, dialled_today=0, assets=ALL_ASSETS, device_unavailable=False):
    return policy.PhoneFacts(device_unavailable=device_unavailable, dialled_today=dialled_today,
                             assets=assets, queued_held=queued_held)


def lease(facts, want=5, *, settings=ALL_DAY, max_held=5, storage_blocked=False, now=None, **campaign_args):
    return policy.lease_decision(campaign(**campaign_args), settings, facts, want, max_held=max_held,
                                 storage_blocked=storage_blocked, now=seoul(10) if now is None else now)


def progress_after(*events):
    """A call's progress after events given as (name, data)."""
    progress = CallProgress()
    for name, data in events:
        advance(progress, name, data, 1.0)
    return progress


# -- leases ------------------------------------------------------------------------

def test_a_phone_gets_only_the_room_left_under_its_lease_limit():
    assert lease(phone(queued_held=0), want=3) == policy.LeaseDecision(size=3)
    assert lease(phone(queued_held=3), want=5) == policy.LeaseDecision(size=2)


def test_a_phone_holding_its_limit_of_undialled_calls_is_refused_and_asks_again_soon():
    assert lease(phone(queued_held=5)) == policy.LeaseDecision(reason="holding", retry_s=1.0)
    assert lease(phone(queued_held=7), max_held=5).reason == "holding"


def test_a_batch_never_takes_a_phone_past_its_daily_cap_and_a_capped_phone_waits():
    settings = OperatingSettings(call_hours_start="00:00", call_hours_end="23:59", daily_cap_per_phone=10)
    assert lease(phone(dialled_today=8), want=5, settings=settings).size == 2
    assert lease(phone(dialled_today=10), settings=settings) == policy.LeaseDecision(reason="daily_cap",
                                                                                    retry_s=600.0)


def test_no_lease_for_a_paused_campaign_a_lost_device_full_storage_or_missing_assets():
    assert lease(phone(), state="paused").reason == "paused"
    assert lease(phone(device_unavailable=True)).reason == "device_unavailable"
    assert lease(phone(), storage_blocked=True).reason == "storage"
    assert lease(phone(assets=frozenset({"a" * 64}))).reason == "assets_missing"
    assert policy.lease_decision(None, ALL_DAY, phone(), 1, max_held=5, storage_blocked=False,
                                 now=seoul(10)).reason == "no_campaign"


def test_outside_calling_hours_a_phone_waits_a_minute():
    office = OperatingSettings(call_hours_start="09:00", call_hours_end="18:00")
    assert lease(phone(), settings=office, now=seoul(8, 59)) == policy.LeaseDecision(reason="outside_hours",
                                                                                    retry_s=60.0)
    assert lease(phone(), settings=office, now=seoul(9)).size == 5


def test_an_election_campaign_leases_nothing_between_23_and_6_whatever_its_hours():
    assert lease(phone(), kind="election", now=seoul(23, 30)).reason == "election_hours"
    assert lease(phone(), kind="election", now=seoul(5, 59)).reason == "election_hours"
    assert lease(phone(), kind="election", now=seoul(6)).size == 5
    assert lease(phone(), kind="notice", now=seoul(23, 30)).size == 5


def test_when_nothing_is_due_the_phone_waits_for_the_next_contact_at_most_a_minute():
    assert policy.nothing_due(None, seoul(10)) == ("finished", 10.0)
    assert policy.nothing_due(seoul(10) + 20, seoul(10)) == ("wait", 20.0)
    assert policy.nothing_due(seoul(11), seoul(10)) == ("wait", 60.0)
    assert policy.nothing_due(seoul(10) - 5, seoul(10)) == ("wait", 1.0)


# -- the claim ---------------------------------------------------------------------

def test_a_claim_is_refused_when_the_campaign_stopped_or_is_another_one():
    assert policy.claim_refusal(None, 7, ALL_DAY, seoul(10))[0] == p.NOT_RUNNING
    assert policy.claim_refusal(campaign(state="paused"), 7, ALL_DAY, seoul(10))[0] == p.NOT_RUNNING
    assert policy.claim_refusal(campaign(campaign_id=8), 7, ALL_DAY, seoul(10))[0] == p.NOT_RUNNING
    assert policy.claim_refusal(campaign(), 7, ALL_DAY, seoul(10)) is None


def test_a_claim_after_23_is_refused_by_election_law_and_one_after_hours_by_the_hours():
    assert policy.claim_refusal(campaign(kind="election"), 7, ALL_DAY, seoul(23, 0))[0] == p.ELECTION_HOURS
    office = OperatingSettings(call_hours_start="09:00", call_hours_end="18:00")
    assert policy.claim_refusal(campaign(), 7, office, seoul(18, 0))[0] == p.OUTSIDE_HOURS


# -- retries ------------------------------------------------------------------------

SETTINGS = OperatingSettings(no_answer_max_attempts=3, no_answer_retry_delay_min=60,
                             busy_max_attempts=2, busy_retry_delay_min=10)


def test_a_no_answer_is_tried_again_after_the_configured_wait_up_to_the_limit():
    now = seoul(10)
    assert policy.retry_plan("no_answer", 1, SETTINGS, now) == ("pending", now + 3600)
    assert policy.retry_plan("no_answer", 2, SETTINGS, now) == ("pending", now + 3600)
    assert policy.retry_plan("no_answer", 3, SETTINGS, now) == ("done", 0.0)


def test_a_busy_line_has_its_own_wait_and_limit():
    now = seoul(10)
    assert policy.retry_plan("busy", 1, SETTINGS, now) == ("pending", now + 600)
    assert policy.retry_plan("busy", 2, SETTINGS, now) == ("done", 0.0)


@pytest.mark.parametrize("result", ["listened", "connected", "refused", "rejected", "invalid_number", "hung_up"])
def test_a_call_that_reached_an_end_is_never_tried_again(result):
    assert policy.retry_plan(result, 1, SETTINGS, seoul(10)) == ("done", 0.0)


def test_a_finished_call_that_pressed_1_without_an_agent_asks_for_a_callback():
    progress = progress_after(("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"}),
                              ("ended", {"result": "callback_requested"}))
    assert policy.finish(progress, 1, SETTINGS, seoul(10)) == {
        "contact_status": "done", "next_at": 0.0, "result": "callback_requested", "callback": True}


def test_a_call_lost_before_the_voter_answered_is_retried_and_one_lost_after_is_not():
    now = seoul(10)
    assert policy.lost_finish("ringing", 1, False, SETTINGS, now) == {
        "contact_status": "pending", "next_at": now + 3600, "result": "phone_lost", "callback": False}
    assert policy.lost_finish("ringing", 3, False, SETTINGS, now)["contact_status"] == "done"
    answered = policy.lost_finish("routing", 1, True, SETTINGS, now)
    assert (answered["contact_status"], answered["callback"]) == ("done", True)


# -- call events ----------------------------------------------------------------------

def updates_for(event, data, before_events, at=100.0, seq=2, lease_expires=500.0):
    before = progress_after(*before_events)
    after = progress_after(*before_events, (event, data))
    return policy.call_updates(event, data, at, seq, before, after, lease_expires)


def test_dialing_records_when_it_was_dialled_and_renews_the_lease():
    assert updates_for("dialing", {}, [], seq=1) == {"state": "dialing", "last_seq": 1, "dialed_at": 100.0,
                                                     "lease_expires": 500.0}


def test_the_final_event_records_the_result_and_no_new_lease():
    updates = updates_for("ended", {"result": "hung_up", "reason": "voter"},
                          [("dialing", {}), ("answered", {})], seq=3)
    assert updates == {"state": "ended", "last_seq": 3, "result": "hung_up", "hung_up_in": "answered",
                       "reason": "voter", "ended_at": 100.0}


def test_pressing_1_and_reaching_an_agent_are_recorded_once():
    answered = [("dialing", {}), ("answered", {})]
    assert updates_for("dtmf", {"digit": "1"}, answered)["pressed_one"] == 1
    routed = [*answered, ("dtmf", {"digit": "1"})]
    assert "pressed_one" not in updates_for("agent_ringing", {"line_id": 4}, routed)
    assert updates_for("agent_ringing", {"line_id": 4}, routed)["agent_line_id"] == 4
    bridged = updates_for("bridged", {"line_id": 4}, [*routed, ("agent_ringing", {"line_id": 4})])
    assert (bridged["agent_line_id"], bridged["bridged_at"]) == (4, 100.0)


def test_every_column_a_call_event_sets_is_one_the_database_accepts():
    events = [("dialing", {}), ("ringing", {}), ("answered", {}), ("dtmf", {"digit": "1"}),
              ("agent_ringing", {"line_id": 1}), ("bridged", {"line_id": 1}), ("ended", {"result": "connected"})]
    for i, (event, data) in enumerate(events):
        assert set(updates_for(event, data, events[:i])) <= set(db.CALL_UPDATE_COLUMNS)


def test_the_database_refuses_a_call_column_outside_its_list(tmp_path):
    store = db.connect(tmp_path / "ars.db")
    with pytest.raises(ValueError, match="cannot update call columns"):
        db.record_call_event(store, call_id="c1", campaign_contact_id=1, seq=1, event="dialing", at=1.0,
                             data={}, received_at=1.0, call_updates={"state = 'ended', result": "x"})


def test_pressing_the_refuse_key_puts_the_voter_on_the_do_not_call_list():
    answered = progress_after(("dialing", {}), ("answered", {}))
    assert policy.keypad_refusal("dtmf", {"digit": "9"}, answered, "01012345678", "9", "봄 안내") == {
        "number": "01012345678", "note": "ARS 수신거부 (봄 안내)"}
    assert policy.keypad_refusal("dtmf", {"digit": "9"}, answered, "01012345678", "", "봄 안내") is None
    assert policy.keypad_refusal("dtmf", {"digit": "3"}, answered, "01012345678", "9", "봄 안내") is None
    refused = progress_after(("dialing", {}), ("answered", {}), ("ended", {"result": "refused"}))
    assert policy.keypad_refusal("ended", {"result": "refused"}, refused, "01012345678", "", "")["note"] == \
        "ARS 수신거부"


# -- images and health ---------------------------------------------------------------

def test_a_phone_is_told_to_apply_the_campaign_images_once_it_holds_them_and_only_once():
    assert policy.images_to_apply(campaign(), set(), {}) is None
    assert policy.images_to_apply(campaign(), set(ALL_ASSETS), {}) == {"outgoing": "c" * 64}
    sent = {"outgoing": "c" * 64, "status": "sent"}
    assert policy.images_to_apply(campaign(), set(ALL_ASSETS), sent) is None
    assert policy.images_to_apply(campaign(), set(ALL_ASSETS), dict(sent, status="failed")) == {"outgoing": "c" * 64}


def test_health_is_stored_when_it_changes_in_a_way_that_matters_or_once_a_minute():
    before = {"battery": 80, "sim": "ready", "network": "lte"}
    assert not policy.health_worth_storing(before, dict(before, battery=78), stored_at=100.0, now=130.0)
    assert policy.health_worth_storing(before, dict(before, battery=75), stored_at=100.0, now=130.0)
    assert policy.health_worth_storing(before, dict(before, sim="absent"), stored_at=100.0, now=130.0)
    assert policy.health_worth_storing(before, before, stored_at=100.0, now=160.0)
