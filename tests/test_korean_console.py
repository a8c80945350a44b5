"""What a new campaign manager reads: Korean everywhere (English in English
mode), a call's page in words, 통화 기록 that lists real calls in time order,
and one wording per reject reason on the preview and in the workbook."""

import csv
import io
import json
import re

import openpyxl
import pytest

from server import db, sample
from server.security import token_sha256

from .conftest import page_text
from .test_contacts_views import CSV, import_list, start_upload, wait_for

# Codes and internal words that must never reach a Korean page's visible text.
ENGLISH_CODES = ("dialing", "ringing", "intro_started", "intro_finished", "promise_started", "agent_ringing",
                 "callback_requested", "no_answer", "queued", "offline", "(intro)", "enrolment key",
                 "login", "settings", "sha256", "Too few digits", "Duplicate")

T0 = 1.8e9


@pytest.fixture
def calls(app, logged_in, store):
    """A campaign on phone "rack-01": one voter heard the announcement, pressed
    1 and was promised a callback; a second was not reached (dialled later);
    a third was leased to the phone but never dialled."""
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=3, intro_s=0.5,
                                  settings={"call_hours_start": "00:00", "call_hours_end": "23:59"})
    engine = app.extensions["ars_engine"]
    token = "k" * 43
    phone_id = db.create_phone(store, name="rack-01", mode="sim", token_sha256=token_sha256(token))
    engine.reload_phone(phone_id)
    engine.set_campaign_state(seeded["campaign_id"], "running")
    engine.roster.connected(engine.authenticate({"token": token, "protocol": 1}), "sid-1")
    assets = seeded["assets"]
    engine.hello(phone_id, {"agent": "t", "mode": "sim", "backend": "sim",
                            "assets": [*assets["intro"], *assets["promise"], *assets["callback"],
                                       assets["outgoing_image"], assets["callback_image"]]})
    heard, missed, undialled = engine.lease(phone_id, {"want": 3})["batch"]["calls"]
    intro = assets["intro"][0]

    def report(call, events, start):
        for seq, (event, data) in enumerate(events, start=1):
            answer = engine.call_event(phone_id, {"call_id": call["call_id"], "seq": seq, "event": event,
                                                  "at": start + seq, "data": data})
            assert answer["ok"], answer

    report(heard, [("dialing", {}), ("ringing", {}), ("answered", {}), ("intro_started", {"sha256": intro}),
                   ("dtmf", {"digit": "1"}), ("promise_started", {}), ("ended", {"result": "callback_requested"})],
           T0)
    report(missed, [("dialing", {}), ("ringing", {}), ("ended", {"result": "no_answer"})], T0 + 60)
    names = {row["phone"]: row["name"] for row in db.contacts_page(store, seeded["list_id"])[0]}
    title = store.execute("SELECT title FROM ment WHERE sha256 = ?", [intro]).fetchone()[0]
    return {**seeded, "heard": heard, "missed": missed, "undialled": undialled, "names": names,
            "intro": intro, "intro_title": title}


def test_a_calls_page_names_the_phone_voter_list_campaign_and_announcement(client, calls):
    page = page_text(client.get(f"/calls/{calls['heard']['call_id']}"))
    voter = calls["names"][calls["heard"]["number"]]
    for words in ("rack-01", voter, "행복도시 1차 발신 명단", "행복도시 1차 발신",
                  f"안내멘트: {calls['intro_title']}", "누른 키: 1", "약속 안내 시작", "통화 종료 콜백 요청"):
        assert words in page, words
    assert calls["intro"] not in page and "{" not in page and "폰 1" not in page
    for code in ENGLISH_CODES:
        assert code not in page, code


def test_call_records_list_only_dialled_calls_newest_first(client, logged_in, calls):
    page = page_text(client.get("/calls/"))
    heard, missed = (calls[k]["number"] for k in ("heard", "missed"))
    shown = re.findall(r"010-\d{4}-\d{4}", page)
    assert shown == [f"{n[:3]}-{n[3:7]}-{n[7:]}" for n in (missed, heard)]   # the later dial first
    assert "발신 대기" not in page and "queued" not in page
    # The export under the same filters: the same two calls, oldest dial first.
    answer = logged_in.post("/exports/calls", {"format": "csv", "unmasked": "1", "pin": "2468"})
    rows = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert [row["전화번호"].replace("-", "") for row in rows] == [heard, missed]


def test_phone_states_audit_entries_and_steps_read_korean_and_english(client, logged_in, calls):
    logged_in.post("/phones/enrol-key", {"action": "new", "pin": "0000"})          # refused: wrong PIN
    phones = page_text(client.get("/phones/"))
    assert "1 시뮬레이터 대기 시뮬레이션 보내는 중" in phones      # mode, state, audio, images in words
    audit = page_text(client.get("/audit/"))
    assert "로그인 성공" in audit and "폰 등록 키" in audit and "사유: 관리자비번 틀림" in audit
    dashboard = client.get("/dashboard").get_data(as_text=True)
    words = json.loads(re.search(r'<script id="dashboard-i18n" type="application/json">(.*?)</script>',
                                 dashboard, re.S).group(1))
    assert words["states"]["offline"] == "오프라인" and words["states"]["dialing"] == "발신 중"
    assert words["hung_up_in"]["intro"] == "안내 중"
    for path in ("/phones/", "/audit/", "/calls/", f"/calls/{calls['missed']['call_id']}"):
        text = page_text(client.get(path))
        for code in ENGLISH_CODES:
            assert code not in text, f"{code!r} on {path}"

    client.get("/lang/en")
    audit = page_text(client.get("/audit/"))
    assert "Log in" in audit and "phone enrolment key" in audit and "Reason: wrong PIN" in audit
    call = page_text(client.get(f"/calls/{calls['heard']['call_id']}"))
    assert f"Announcement started Announcements: {calls['intro_title']}" in call and "Key: 1" in call
    assert "누른 키" not in call and "안내멘트" not in call


def test_the_preview_and_the_rejects_workbook_give_each_reason_the_same_words(logged_in, client, store):
    job = start_upload(logged_in, CSV.encode("utf-8"), "voters.csv", "미리보기").get_json()
    assert wait_for(client, job["status"])["state"] == "ready"
    preview = client.get(job["url"]).get_data(as_text=True)
    table = preview[preview.index('class="data rejects"'):]
    on_page = {int(row): (reason, explained) for row, reason, explained in re.findall(
        r'<td class="num">(\d+)</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>', table)}
    assert on_page[4] == ("자릿수 부족", "한국 전화번호로는 자릿수가 모자랍니다.")
    assert on_page[5] == ("목록 안 중복", "2행에 같은 번호가 이미 있습니다.")
    assert on_page[7][0] == "전화번호 아님"
    logged_in.post(f"/contacts/jobs/{job['job']}/cancel")

    status = import_list(logged_in, client, CSV.encode("utf-8"), "voters.csv", "가져온 목록")
    (contact_list,) = db.contact_lists(store)
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/contacts/{contact_list['id']}/rejects.xlsx").data)).active
    in_book = {row[0]: (row[2], row[3]) for row in list(sheet.iter_rows(values_only=True))[1:]}
    assert status["state"] == "done" and in_book == on_page
