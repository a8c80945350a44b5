"""The manager's day with campaigns, through the console in process (Flask
test client, the app's own engine, real SQLite): why nothing dials, the same
numbers on both pages, a second campaign that leaves out voters reached by
the first, settings changed on a live campaign, and a stop that needs a tick."""

import csv
import datetime as dt
import io
import json
import re

import pytest

from server import campaigns, db, sample
from server.operating import SEOUL
from server.storage import UploadStore

from . import reports_seed as seed
from .conftest import PIN, page_text
from .test_engine_rules import Phone

NUMBERS = [f"010{5550000 + i:08d}"[-11:] for i in range(10)]


def seoul(day: int, hour: int, minute: int = 0) -> float:
    # January 2027, before the test clock's start (1.8e9), so a session made there stays fresh.
    return dt.datetime(2027, 1, day, hour, minute, tzinfo=SEOUL).timestamp()


@pytest.fixture
def voters(app, store, tmp_path):
    """A call list of 10 voters and the announcements and images a campaign needs."""
    list_id = seed.seed_list(store, tmp_path, NUMBERS, name="세종 명단")
    sample.add_media(store, UploadStore(app.config["UPLOADS"]), intro_s=0.3, promise_s=0.2)
    return list_id


def running_campaign(app, store, list_id, name="1차 발신", **settings) -> int:
    current = db.get_setting(store, "operating") or {}
    db.put_setting(store, "operating", dict(current, **settings))
    campaign_id = campaigns.create(store, name=name, list_id=list_id, kind="notice")
    app.extensions["ars_engine"].set_campaign_state(campaign_id, "running")
    return campaign_id


def counters_on(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="counter-(\w+)">([^<]*)<', html))


# -- why nothing dials ------------------------------------------------------------------

def test_after_hours_both_pages_say_calling_resumes_tomorrow_at_nine_and_no_phone_is_online(
        app, manager, client, clock, store, voters):
    clock.now = seoul(13, 22, 5)
    manager.login()
    campaign_id = running_campaign(app, store, voters, call_hours_start="09:00", call_hours_end="21:00")
    for page in (client.get("/dashboard"), client.get(f"/campaigns/{campaign_id}")):
        text = page_text(page)
        assert "통화 가능 시간이 아닙니다 (1/14 09:00에 재개)" in text
        assert "온라인 폰 없음" in text
    client.get("/lang/en")
    english = page_text(client.get(f"/campaigns/{campaign_id}"))
    assert "Outside the calling hours (resumes at 1/14 09:00)" in english and "No phone online" in english


def test_a_campaign_with_only_retries_waiting_says_how_many_and_when(app, manager, client, clock, store, voters):
    clock.now = seoul(13, 10)
    manager.login()
    campaign_id = running_campaign(app, store, voters, call_hours_start="00:00", call_hours_end="23:59",
                                   no_answer_retry_delay_min=70)
    phone = Phone(app, store, db.campaign(store, campaign_id))
    for _ in NUMBERS:                   # nobody answers: every voter waits 70 minutes for a retry
        (call,) = phone.lease()["batch"]["calls"]
        for event, data in (("dialing", {}), ("ringing", {}), ("ended", {"result": "no_answer"})):
            phone.event(call["call_id"], event, data)
    assert phone.lease()["reason"] == "wait"
    for page in (client.get("/dashboard"), client.get(f"/campaigns/{campaign_id}")):
        assert "재시도 대기 중 10명 — 다음 재시도 11:10" in page_text(page)
        assert "온라인 폰 없음" not in page_text(page)


# -- one definition of the numbers ----------------------------------------------------------

def test_the_dashboard_and_the_campaign_page_show_the_same_numbers(app, logged_in, client, store, voters):
    campaign_id = running_campaign(app, store, voters)
    phone_id = seed.seed_phone(store, "rack-01")
    at = seed.seoul("2027-01-13", 10)
    for script in (seed.listened(3, 20), seed.connected(3, 8, 15, 60, 1), seed.callback(3, 8, 1),
                   seed.callback(4, 9, 1), seed.refused(3, 9), seed.no_answer()):
        seed.record_call(store, campaign_id, phone_id, at, script)
        at += 120
    pages = [client.get("/dashboard"), client.get(f"/campaigns/{campaign_id}")]
    shown = counters_on(pages[0].get_data(as_text=True))
    assert shown == counters_on(pages[1].get_data(as_text=True))
    assert {k: shown[k] for k in ("total", "target", "done", "remaining", "dialled", "answered", "connected",
                                  "callback", "refused", "excluded")} == {
        "total": "10", "target": "10", "done": "6", "remaining": "4", "dialled": "6", "answered": "5", "connected": "1",
        "callback": "2", "refused": "1", "excluded": "0"}
    for page in pages:
        assert "완료 6 / 대상 10명 (60%)" in page_text(page)


# -- campaigns that follow each other ----------------------------------------------------------

@pytest.fixture
def first_campaign(app, store, voters):
    """A first campaign over the list: one voter each listened, was connected,
    asked for a callback, refused by keypad, did not answer, was busy; then stopped."""
    campaign_id = running_campaign(app, store, voters)
    phone_id = seed.seed_phone(store, "rack-01")
    at = seed.seoul("2027-01-12", 10)
    for script in (seed.listened(3, 20), seed.connected(3, 8, 15, 60, 1), seed.callback(3, 8, 1),
                   seed.refused(3, 9), seed.no_answer(), seed.busy()):
        seed.record_call(store, campaign_id, phone_id, at, script)
        at += 120
    app.extensions["ars_engine"].set_campaign_state(campaign_id, "stopped")
    return campaign_id


def test_the_new_campaign_page_counts_the_voters_left_out_before_it_is_created(
        logged_in, client, store, voters, first_campaign):
    text = page_text(client.get("/campaigns/"))
    # By default, voters answered in any way are left out: 4 of the 10.
    assert "이전 캠페인에서 이미 응답한 유권자 제외" in text
    assert "이 호출자료 10명 중 4명을 제외하고 6명에게 발신합니다." in text
    asked = client.get(f"/campaigns/exclusion-preview?list_id={voters}&reached=connected&reached=refused")
    assert asked.get_json() == {"list": 10, "excluded": 2, "to_call": 8}
    assert client.get(f"/campaigns/exclusion-preview?list_id={voters}").get_json()["excluded"] == 0


def test_a_second_campaign_leaves_out_the_voters_reached_by_the_first(
        app, logged_in, client, store, voters, first_campaign):
    answer = logged_in.post("/campaigns/", {"name": "2차 발신", "list_id": voters, "kind": "notice",
                                            "exclude_reached": "1",
                                            "reached": ["listened", "connected", "callback", "refused"]})
    assert answer.status_code == 302
    second = max(c["id"] for c in db.campaigns(store))
    shown = counters_on(client.get(f"/campaigns/{second}").get_data(as_text=True))
    assert (shown["total"], shown["excluded"], shown["target"], shown["remaining"]) == ("10", "4", "6", "6")
    reached = {row["number"] for row in store.execute(
        "SELECT number FROM call WHERE campaign_id = ? AND answered_at IS NOT NULL", [first_campaign])}
    assert len(reached) == 4
    app.extensions["ars_engine"].set_campaign_state(second, "running")
    leased = db.claim_contacts(store, campaign_id=second, phone_id=1, want=50, now=seed.seoul("2027-01-13", 10),
                               lease_s=60, batch_id="b", call_ids=(f"c{i}" for i in range(100)))
    assert len(leased) == 6 and not reached & {c["number"] for c in leased}
    # The campaign's results (one row per voter) say why the four were not called.
    export = logged_in.post("/exports/campaign", {"format": "csv", "campaign": second})
    finals = [row[5] for row in csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")))][1:]
    assert finals.count("이전 캠페인 응답 제외") == 4 and finals.count("발신 중") == 6
    created = [json.loads(e["detail"]) for e in db.audit_entries(store, action="settings")[0]
               if e["detail"] and "created" in e["detail"]]
    assert created[0]["exclude_reached"] == ["listened", "connected", "callback", "refused"]


def test_an_unknown_kind_of_reached_voter_is_refused_and_nothing_is_created(
        logged_in, client, store, voters, first_campaign):
    answer = logged_in.post("/campaigns/", {"name": "2차 발신", "list_id": voters, "kind": "notice",
                                            "exclude_reached": "1", "reached": ["listened", "everyone"]})
    assert answer.status_code == 400
    assert "알 수 없는 응답 종류입니다: everyone. 캠페인은 만들어지지 않았습니다." in page_text(answer)
    assert [c["id"] for c in db.campaigns(store)] == [first_campaign]
    bad = client.get(f"/campaigns/exclusion-preview?list_id={voters}&reached=everyone")
    assert bad.status_code == 400 and "everyone" in bad.get_json()["error"]
    assert client.get("/campaigns/exclusion-preview?list_id=x").status_code == 400


# -- settings changed on a live campaign -----------------------------------------------------------

def live_form(campaign: dict, **changes) -> dict:
    s = dict(campaign["settings"], **changes)
    form = {k: str(s[k]) for k in ("call_hours_start", "call_hours_end", "no_answer_max_attempts",
                                   "no_answer_retry_delay_min", "busy_max_attempts", "busy_retry_delay_min",
                                   "agent_ring_repeats", "agent_ring_cycle_s", "press1_wait_s")}
    if s["connect_agent_after_intro"]:
        form["connect_agent_after_intro"] = "1"
    return form


def test_narrowing_the_hours_of_a_running_campaign_stops_the_next_lease_and_is_audited(
        app, manager, client, clock, store, voters):
    clock.now = seoul(13, 19)
    manager.login()
    campaign_id = running_campaign(app, store, voters, call_hours_start="09:00", call_hours_end="21:00")
    campaign = db.campaign(store, campaign_id)
    phone = Phone(app, store, campaign)
    assert phone.lease()["batch"]["calls"]
    answer = manager.post(f"/campaigns/{campaign_id}/settings", live_form(campaign, call_hours_end="18:00"),
                          follow_redirects=True)
    assert "캠페인 설정을 바꿨습니다. 다음 발신부터 적용됩니다." in page_text(answer)
    assert phone.lease() == {"ok": True, "batch": None, "retry_s": 60.0, "reason": "outside_hours"}
    text = page_text(client.get(f"/campaigns/{campaign_id}"))
    assert "통화 가능 시간이 아닙니다 (1/14 09:00에 재개)" in text
    assert "발신 종료 시각: 21:00 → 18:00" in text            # the change history on the page
    entries, _total = db.audit_entries(store, action="settings")
    changed = [json.loads(e["detail"]) for e in entries if e["target"] == f"campaign {campaign_id}"
               and "settings_changed" in (e["detail"] or "")]
    assert changed == [{"settings_changed": {"call_hours_end": ["21:00", "18:00"]}}]
    assert db.campaign(store, campaign_id)["settings"]["daily_cap_per_phone"] == campaign["settings"]["daily_cap_per_phone"]


def test_a_longer_retry_wait_applies_to_the_next_unanswered_call(app, logged_in, store, clock, voters):
    campaign_id = running_campaign(app, store, voters, call_hours_start="00:00", call_hours_end="23:59",
                                   no_answer_retry_delay_min=60)
    campaign = db.campaign(store, campaign_id)
    phone = Phone(app, store, campaign)
    logged_in.post(f"/campaigns/{campaign_id}/settings", live_form(campaign, no_answer_retry_delay_min="180"))
    (call,) = phone.lease()["batch"]["calls"]
    for event, data in (("dialing", {}), ("ringing", {}), ("ended", {"result": "no_answer"})):
        phone.event(call["call_id"], event, data)
    next_at = store.execute("SELECT cc.next_at FROM campaign_contact cc JOIN call c ON c.campaign_contact_id = cc.id "
                            "WHERE c.id = ?", [call["call_id"]]).fetchone()[0]
    assert next_at == pytest.approx(clock.now + 180 * 60)


def test_a_bad_live_setting_names_the_field_and_changes_nothing(app, logged_in, store, voters):
    campaign_id = running_campaign(app, store, voters)
    campaign = db.campaign(store, campaign_id)
    answer = logged_in.post(f"/campaigns/{campaign_id}/settings",
                            live_form(campaign, call_hours_end="25:00", agent_ring_repeats="3"),
                            follow_redirects=True)
    assert "발신 종료 시각: must be a time like 09:00, not '25:00'" in page_text(answer)
    assert "설정을 바꾸지 않았습니다." in page_text(answer)
    assert db.campaign(store, campaign_id)["settings"] == campaign["settings"]
    assert db.campaign_settings_history(store, campaign_id) == []
    # A stopped campaign's settings are its record: they cannot change.
    app.extensions["ars_engine"].set_campaign_state(campaign_id, "stopped")
    logged_in.post(f"/campaigns/{campaign_id}/settings", live_form(campaign, agent_ring_repeats="5"))
    assert db.campaign(store, campaign_id)["settings"] == campaign["settings"]


# -- stopping ------------------------------------------------------------------------------

def test_stop_without_the_tick_is_refused_even_with_the_pin(app, logged_in, store, voters):
    campaign_id = running_campaign(app, store, voters)
    page = page_text(logged_in.client.get(f"/campaigns/{campaign_id}"))
    assert "중지한 캠페인은 다시 발신하지 않습니다 (일시정지는 재개할 수 있습니다)" in page
    answer = logged_in.post(f"/campaigns/{campaign_id}/stop", {"pin": PIN}, follow_redirects=True)
    assert "‘중지한 캠페인은 다시 발신하지 않습니다’ 확인란에 표시하세요" in page_text(answer)
    assert db.campaign(store, campaign_id)["state"] == "running"
    logged_in.post(f"/campaigns/{campaign_id}/stop", {"pin": PIN, "stop_confirmed": "1"})
    assert db.campaign(store, campaign_id)["state"] == "stopped"
    assert "중지된 캠페인입니다. 다시 발신하지 않습니다." in page_text(logged_in.client.get(f"/campaigns/{campaign_id}"))
