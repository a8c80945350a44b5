"""Campaign types on the console: the election rules and their confirmation,
the type on the campaign pages, the refusal announcement, and what the live
dashboard shows about calling hours, keypad refusals and disk space."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from server import campaigns, db, operating, sample
from server.contacts import importer
from server.storage import UploadStore

from .conftest import page_text

ELECTION_RULE = "선거운동: 23:00–06:00 발신 금지 (서울 시간)"


@pytest.fixture
def call_list(app, store, tmp_path):
    """A call list of 10 voters and the announcements and images a campaign needs."""
    files = UploadStore(app.config["UPLOADS"])
    csv = sample.voters_csv(tmp_path / "voters.csv", 10)
    result = importer.import_file(store, files, csv, name="세종 명단")
    sample.add_media(store, files, intro_s=0.5, promise_s=0.3)
    return result.list_id


def created_audit(store) -> dict:
    entries, _total = db.audit_entries(store, action="settings")
    created = [json.loads(e["detail"]) for e in entries if e["detail"] and "created" in e["detail"]]
    assert len(created) == 1
    return created[0]


def seoul(*args) -> float:
    return dt.datetime(*args, tzinfo=operating.SEOUL).timestamp()


# -- creating a campaign -------------------------------------------------------

def test_the_new_campaign_form_states_the_election_rules(logged_in, client, call_list):
    page = client.get("/campaigns/")
    text = page_text(page)
    assert "캠페인 종류" in text and "선거운동" in text and "안내" in text and "설문" in text
    # 선거운동 is chosen unless the manager picks another type.
    assert re.search(r'<option value="election"\s+selected>', page.get_data(as_text=True))
    assert "23:00–06:00" in text and "발신하지 않습니다" in text
    assert "컴퓨터를 이용한 자동 송신장치" in text and "공직선거법" in text
    assert "수신거부" in text and "지금 수신거부 키: 9 (운용환경)" in text
    assert "법률 자문이 아닙니다" in text and "선거관리위원회" in text
    assert "위 내용을 확인했습니다" in text


def test_election_campaign_without_the_confirmation_is_refused(logged_in, store, call_list):
    response = logged_in.post("/campaigns/", {"name": "1차 발신", "list_id": call_list, "kind": "election"})
    assert response.status_code == 400
    text = page_text(response)
    assert "‘위 내용을 확인했습니다’에 표시하세요" in text and "캠페인은 만들어지지 않았습니다" in text
    # What the manager typed is still there to tick the box and send again.
    assert 'value="1차 발신"' in response.get_data(as_text=True)
    # Leaving the type out of the form is no way around it.
    assert logged_in.post("/campaigns/", {"name": "1차 발신", "list_id": call_list}).status_code == 400
    assert db.campaigns(store) == []
    entries, _total = db.audit_entries(store, action="settings")
    assert not any(e["detail"] and "created" in e["detail"] for e in entries)


def test_election_campaign_with_the_confirmation_is_created_and_audited(logged_in, client, store, call_list):
    response = logged_in.post("/campaigns/", {"name": "1차 발신", "list_id": call_list, "kind": "election",
                                              "rules_confirmed": "1"})
    assert response.status_code == 302
    [campaign] = db.campaigns(store)
    assert campaign["kind"] == "election" and campaign["name"] == "1차 발신"
    assert created_audit(store) == {"created": "1차 발신", "kind": "election", "rules_confirmed": True}
    listing = page_text(client.get("/campaigns/"))
    assert re.search(r"1차 발신 선거운동 세종 명단", listing)
    detail = page_text(client.get(f"/campaigns/{campaign['id']}"))
    assert "선거운동" in detail and ELECTION_RULE in detail


def test_notice_campaign_needs_no_confirmation(logged_in, client, store, call_list):
    response = logged_in.post("/campaigns/", {"name": "투표소 안내", "list_id": call_list, "kind": "notice"})
    assert response.status_code == 302
    [campaign] = db.campaigns(store)
    assert campaign["kind"] == "notice"
    assert created_audit(store) == {"created": "투표소 안내", "kind": "notice"}
    detail = page_text(client.get(f"/campaigns/{campaign['id']}"))
    assert "안내" in detail and ELECTION_RULE not in detail
    survey = logged_in.post("/campaigns/", {"name": "만족도 설문", "list_id": call_list, "kind": "survey"})
    assert survey.status_code == 302
    assert [c["kind"] for c in db.campaigns(store)] == ["survey", "notice"]


def test_an_unknown_campaign_type_is_refused(logged_in, store, call_list):
    response = logged_in.post("/campaigns/", {"name": "x", "list_id": call_list, "kind": "lottery",
                                              "rules_confirmed": "1"})
    assert response.status_code == 400 and "알 수 없는 캠페인 종류입니다: lottery" in page_text(response)
    assert db.campaigns(store) == []


def test_the_form_warns_when_keypad_refusal_is_off(logged_in, client, store, call_list):
    db.put_setting(store, operating.SETTINGS_KEY, dict(operating.OperatingSettings().as_dict(), refuse_key=""))
    assert "지금은 수신거부 키가 꺼져 있습니다" in page_text(client.get("/campaigns/"))


def test_election_detail_says_calling_is_paused_in_the_quiet_hours(logged_in, client, clock, store, call_list):
    logged_in.post("/campaigns/", {"name": "1차 발신", "list_id": call_list, "kind": "election",
                                   "rules_confirmed": "1"})
    campaign_id = db.campaigns(store)[0]["id"]
    # Earlier times than the test clock's start, so the session does not idle out.
    clock.now = seoul(2027, 1, 14, 23, 30)
    quiet = page_text(client.get(f"/campaigns/{campaign_id}"))
    assert ELECTION_RULE in quiet and "06:00까지 발신을 멈춥니다" in quiet
    clock.now = seoul(2027, 1, 14, 12, 0)
    day = page_text(client.get(f"/campaigns/{campaign_id}"))
    assert ELECTION_RULE in day and "06:00까지 발신을 멈춥니다" not in day


def test_campaign_pages_in_english(logged_in, client, store, call_list):
    client.get("/lang/en")
    page = page_text(client.get("/campaigns/"))
    assert "Campaign type" in page and "not legal advice" in page and "I have read the above" in page
    logged_in.post("/campaigns/", {"name": "1차", "list_id": call_list, "kind": "election"})
    refused = page_text(logged_in.post("/campaigns/", {"name": "1차", "list_id": call_list, "kind": "election"}))
    assert "No campaign was created." in refused


# -- the refusal announcement ------------------------------------------------------

def test_a_refusal_announcement_can_be_set_and_goes_into_new_campaigns(logged_in, client, store, call_list):
    assert campaigns.assets_now(store)["refusal"] == []          # optional: campaigns are created without
    page = page_text(client.get("/ments/"))
    assert "수신거부 안내멘트" in page and "없으면 짧은 확인음이 재생됩니다" in page
    callback = next(m for m in db.ments(store) if m["kind"] == "callback")
    response = logged_in.post(f"/ments/{callback['id']}/role", {"kind": "refusal", "position": "1"})
    assert response.status_code == 302
    assert db.ment(store, callback["id"])["kind"] == "refusal"
    html = client.get("/ments/").get_data(as_text=True)
    assert re.search(r'<option value="refusal"\s+selected>수신거부 안내멘트</option>', html)
    assert campaigns.assets_now(store)["refusal"] == [callback["sha256"]]
    logged_in.post("/campaigns/", {"name": "안내 1차", "list_id": call_list, "kind": "notice"})
    assert db.campaigns(store)[0]["assets"]["refusal"] == [callback["sha256"]]


def test_refused_calls_can_be_picked_out_in_the_call_records(logged_in, client):
    html = client.get("/calls/").get_data(as_text=True)
    assert re.search(r'<option value="refused"\s*>수신거부</option>', html)


# -- the live dashboard ----------------------------------------------------------------

def dashboard_with(app, client, monkeypatch, state: dict):
    base = {"phones": [], "agents": [], "campaign": None, "recent": [], "counters": None}
    monkeypatch.setattr(app.extensions["ars_live"], "dashboard_state", lambda: dict(base, **state))
    return client.get("/dashboard")


COUNTERS = {"total": 100, "remaining": 60, "done": 40, "leased": 5, "dialled": 40, "answered": 30,
            "pressed_one": 4, "connected": 3, "callback": 1, "callback_requested": 1, "failed": 2,
            "in_progress": 1, "refused": 3, "skipped_dnc": 7}


def test_dashboard_shows_the_election_quiet_hours_and_low_disk(app, logged_in, client, monkeypatch):
    response = dashboard_with(app, client, monkeypatch, {
        "campaign": {"id": 1, "name": "1차 발신", "state": "running", "kind": "election",
                     "calling": "election_hours"},
        "storage": {"low": True, "free_mb": 120.7, "min_free_mb": 500, "error": None},
        "counters": COUNTERS})
    text = page_text(response)
    assert "디스크 공간 부족: 남은 공간 120 MB (최소 500 MB). 발신을 멈췄습니다. " \
           "공간을 확보하면 자동으로 다시 시작합니다." in text
    assert "선거운동 발신 금지 시간 (23:00–06:00)" in text and "06:00까지 발신을 멈춥니다" in text
    assert ELECTION_RULE in text and "선거운동" in text
    assert "수신거부(키패드)" in text and "수신거부 제외" in text
    assert "데이터베이스에 기록할 수 없습니다" not in text


def test_dashboard_shows_a_database_error_and_outside_hours(app, logged_in, client, monkeypatch):
    text = page_text(dashboard_with(app, client, monkeypatch, {
        "campaign": {"id": 1, "name": "투표소 안내", "state": "running", "kind": "notice",
                     "calling": "outside_hours"},
        "storage": {"low": False, "free_mb": 9000, "min_free_mb": 500, "error": "disk I/O error"}}))
    assert "데이터베이스에 기록할 수 없습니다: disk I/O error" in text
    assert "발신 시간이 아닙니다 (운용환경)" in text
    assert "디스크 공간 부족" not in text


def test_dashboard_without_the_new_keys_shows_no_warnings(app, logged_in, client, monkeypatch):
    response = dashboard_with(app, client, monkeypatch, {
        "campaign": {"id": 1, "name": "1차 발신", "state": "running"}})
    assert response.status_code == 200
    text = page_text(response)
    assert "디스크 공간 부족" not in text and "발신 시간이 아닙니다" not in text
    assert re.search(r'id="election-rule"[^>]*\bhidden\b', response.get_data(as_text=True))


STATIC = Path(__file__).resolve().parent.parent / "server" / "static"


@pytest.mark.slow
@pytest.mark.browser
def test_dashboard_script_renders_pushed_state(app, logged_in, client, monkeypatch, browser_page):
    """dashboard.js in Chromium: the state embedded at page load, then a pushed update."""
    html = dashboard_with(app, client, monkeypatch, {
        "campaign": {"id": 1, "name": "1차 발신", "state": "running", "kind": "election",
                     "calling": "election_hours"},
        "agents": [{"id": 1, "extension": "1001", "name": "상담원1", "state": "busy", "away_after_call": True},
                   {"id": 2, "extension": "1002", "name": "상담원2", "state": "busy", "away_after_call": False}],
        "storage": {"low": True, "free_mb": 120, "min_free_mb": 500, "error": None},
        "counters": COUNTERS}).get_data(as_text=True)
    # Served without a server: the page's own script inline, Socket.IO stubbed.
    stub = ("<script>window.io = function () { return { on: function (n, f) {"
            " if (n === 'dashboard') { window.push = f; } } }; };</script>")
    html = re.sub(r'<script src="[^"]*socket\.io\.min\.js"></script>', stub, html)
    html = re.sub(r'<script src="[^"]*dashboard\.js"></script>',
                  lambda _m: "<script>" + (STATIC / "dashboard.js").read_text(encoding="utf-8") + "</script>", html)
    html = re.sub(r'<script src="[^"]*app\.js"></script>', "", html)
    page = browser_page
    page.set_content(html)
    assert page.inner_text("#agents .agent[data-line='1'] .st") == "통화 후 자리비움"
    assert page.inner_text("#agents .agent[data-line='2'] .st") == "통화 중"
    assert page.inner_text("#counter-refused") == "3" and page.inner_text("#counter-skipped_dnc") == "7"
    assert page.is_visible("#storage-warning") and "120 MB" in page.inner_text("#storage-low")
    assert page.is_visible("#election-rule") and "06:00" in page.inner_text("#campaign-calling")
    page.evaluate("""window.push({phones: [], agents: [], recent: [], counters: null,
                                 campaign: {id: 2, name: "투표소 안내", state: "running", kind: "notice", calling: null},
                                 storage: {low: false, free_mb: 9000, min_free_mb: 500, error: null}})""")
    assert not page.is_visible("#storage-warning")
    assert not page.is_visible("#election-rule") and not page.is_visible("#campaign-calling")
    assert page.inner_text("#campaign-kind") == "안내" and page.inner_text("#campaign-name") == "투표소 안내"
