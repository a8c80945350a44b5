"""Exports, opened with what a manager's tools read them with (openpyxl,
the csv module, pypdf) and checked against the database: rows, Korean
words, numbers masked or not, and the audit log."""

import csv
import io
import json
import time

import openpyxl
import pytest
from pypdf import PdfReader

from server import db

from . import reports_seed as rs
from .conftest import PIN, page_text

DAY = "2026-12-03"


@pytest.fixture
def seeded(app, store, clock, tmp_path):
    clock.now = rs.seoul(DAY, 18)
    numbers = [f"010-7777-{i:04d}" for i in range(6)]
    list_id = rs.seed_list(store, tmp_path, numbers)
    campaign_id = rs.seed_campaign(store, list_id)
    phone = rs.seed_phone(store, "rack-01")
    line1, _line2 = (line["id"] for line in db.agent_lines(store))
    rs.record_call(store, campaign_id, phone, rs.seoul(DAY, 9), rs.no_answer())
    rs.record_call(store, campaign_id, phone, rs.seoul(DAY, 9, 5), rs.listened(8, 30))
    rs.record_call(store, campaign_id, phone, rs.seoul(DAY, 10), rs.connected(6, 10, 25, 85, line1))
    rs.record_call(store, campaign_id, phone, rs.seoul(DAY, 10, 30), rs.callback(5, 9, line1))
    rs.record_call(store, campaign_id, phone, rs.seoul(DAY, 11), rs.failed("phone said: =cmd|' /C calc'!A0"))
    return {"campaign_id": campaign_id, "list_id": list_id, "numbers": numbers}


def csv_rows(response) -> list[dict]:
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode()), "UTF-8 with BOM, so Excel reads Korean"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def workbook(response):
    return openpyxl.load_workbook(io.BytesIO(response.get_data()))


def audits(store) -> list[dict]:
    rows, _total = db.audit_entries(store, action="export")
    return [dict(row, detail=json.loads(row["detail"] or "{}")) for row in rows]


def test_call_records_as_csv_follow_the_pages_filter_with_numbers_masked(seeded, logged_in, store):
    answer = logged_in.post("/exports/calls", {"format": "csv", "campaign": seeded["campaign_id"],
                                               "result": "connected"})
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    rows = csv_rows(answer)
    assert len(rows) == 1 == db.calls_page(store, campaign_id=seeded["campaign_id"], result="connected")[1]
    assert rows[0]["결과"] == "상담원 연결" and rows[0]["1번 누름"] == "예" and rows[0]["연결된 상담원"] == "1001"
    assert rows[0]["전화번호"] == "010-****-0002"
    assert rows[0]["발신 시각"] == "2026-12-03 10:00:00", "Seoul time"
    assert rows[0]["통화 시간 (초)"] == "79.0"
    [entry] = audits(store)
    assert entry["target"] == f"call records of campaign {seeded['campaign_id']}"
    assert entry["detail"] == {"campaign": "시험 캠페인", "result": "connected", "search": False,
                               "format": "csv", "masked": True, "rows": 1}


def test_full_numbers_need_the_admin_pin_and_a_wrong_pin_exports_nothing(seeded, logged_in, store, client):
    refused = logged_in.post("/exports/calls", {"format": "xlsx", "unmasked": "1", "pin": "0000",
                                                "next": "/calls/"})
    assert refused.status_code == 302 and refused.headers["Location"] == "/calls/"
    assert "관리자비번이 올바르지 않습니다" in page_text(client.get("/calls/"))
    given = logged_in.post("/exports/calls", {"format": "xlsx", "unmasked": "1", "pin": PIN})
    sheet = workbook(given)["통화 기록"]
    numbers = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(numbers) == [f"010-7777-{i:04d}" for i in range(5)]
    ok, bad = audits(store)[0], audits(store)[1]
    assert bad["ok"] == 0 and bad["detail"]["masked"] is False and bad["detail"]["reason"] == "wrong PIN"
    assert ok["ok"] == 1 and ok["detail"]["masked"] is False and ok["detail"]["rows"] == 5


def test_text_from_outside_is_never_a_formula_in_excel_or_csv(seeded, logged_in):
    book = workbook(logged_in.post("/exports/calls", {"format": "xlsx"}))
    sheet = book.active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    reason = header.index("사유")
    cells = [row[reason] for row in sheet.iter_rows(min_row=2) if row[reason].value]
    assert [c.value for c in cells] == ["phone said: =cmd|' /C calc'!A0"]
    assert all(c.data_type == "s" for c in cells)
    # a reason that starts with "=" in the CSV gets Excel's text mark
    rows = csv_rows(logged_in.post("/exports/calls", {"format": "csv"}))
    assert all(not r["사유"].startswith(("=", "+", "-", "@")) for r in rows)


def test_campaign_results_have_one_row_per_voter_with_the_final_result(seeded, logged_in, store):
    book = workbook(logged_in.post("/exports/campaign", {"format": "xlsx", "campaign": seeded["campaign_id"]}))
    rows = list(book["캠페인 결과"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 6 == len(seeded["numbers"])
    finals = [row[5] for row in rows]
    assert finals == ["무응답", "안내 청취", "상담원 연결", "콜백 요청", "실패", "대기"]
    assert rows[3][8] == "요청", "the callback's state"
    assert all(row[1] for row in rows), "names from the call list"


def test_the_callback_list_and_an_imported_list(seeded, logged_in):
    rows = csv_rows(logged_in.post("/exports/callbacks", {"format": "csv", "status": "requested"}))
    assert [r["상태"] for r in rows] == ["요청"] and rows[0]["전화번호"] == "010-****-0003"
    listed = csv_rows(logged_in.post("/exports/contacts", {"format": "csv", "list": seeded["list_id"],
                                                           "unmasked": "1", "pin": PIN}))
    assert [r["전화번호"] for r in listed] == seeded["numbers"]
    assert all(r["주소"].startswith("세종특별자치시") for r in listed)


def test_statistics_workbook_holds_every_table_with_the_pages_numbers(seeded, logged_in):
    book = workbook(logged_in.post("/exports/statistics", {"format": "xlsx", "campaign": seeded["campaign_id"],
                                                            "start": DAY, "end": DAY}))
    assert book.sheetnames == ["요약", "시간대별", "결과별", "미연결·실패 원인", "폰별", "상담원별"]
    summary = dict(book["요약"].iter_rows(min_row=2, values_only=True))
    assert summary["발신"] == 5 and summary["응답"] == 3 and summary["응답률"] == 60.0
    hours = {row[0]: row[1] for row in book["시간대별"].iter_rows(min_row=2, values_only=True)}
    assert hours["10:00"] == 2 and len(hours) == 24
    one = csv_rows(logged_in.post("/exports/statistics", {"format": "csv", "table": "failures",
                                                          "campaign": seeded["campaign_id"], "start": DAY}))
    assert {r["원인"]: r["건수"] for r in one} == {"무응답": "1", "폰 오류": "1"}


def test_the_pdf_report_is_korean_with_its_font_embedded(seeded, logged_in, store):
    answer = logged_in.post("/exports/report", {"format": "pdf", "campaign": seeded["campaign_id"],
                                                "start": DAY, "end": DAY})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    pdf = PdfReader(io.BytesIO(answer.get_data()))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "캠페인 보고서: 시험 캠페인" in text and "시간대별" in text and "상담원별" in text
    assert "응답률" in text and "60.0" in text
    fonts = {str(font.get("/BaseFont")) for page in pdf.pages
             for font in (page["/Resources"].get("/Font") or {}).values() for font in [font.get_object()]}
    assert any("NanumGothic" in name for name in fonts), fonts
    assert "010-" not in text, "no phone number in the report"
    assert audits(store)[0]["target"] == f"campaign report of campaign {seeded['campaign_id']}"


def test_a_big_export_runs_as_a_job_with_progress_then_downloads(app, seeded, logged_in, client, store):
    app.config["EXPORT_DIRECT_ROWS"] = 2
    started = logged_in.post("/exports/contacts", {"format": "xlsx", "list": seeded["list_id"]})
    assert started.status_code == 302 and started.headers["Location"].startswith("/exports/jobs/")
    job_page = started.headers["Location"]
    assert "내보내기" in page_text(client.get(job_page))
    deadline = time.monotonic() + 20
    while (status := client.get(job_page + ".json").get_json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status["state"] == "done" and status["fraction"] == 1.0 and status["rows"] == 6
    download = client.get(status["download"])
    book = workbook(download)
    download.close()
    assert [row[1] for row in book.active.iter_rows(min_row=2, values_only=True)] == \
        [f"010-****-{i:04d}" for i in range(6)]
    [entry] = audits(store)
    assert entry["target"] == f"call list {seeded['list_id']}" and entry["detail"]["rows"] == 6


def test_another_managers_export_job_cannot_be_seen(app, seeded, logged_in, client, store):
    from server.security import hash_secret
    from .conftest import Manager
    app.config["EXPORT_DIRECT_ROWS"] = 2
    job_page = logged_in.post("/exports/contacts", {"format": "csv", "list": seeded["list_id"]}).headers["Location"]
    db.create_manager(store, "other", hash_secret("other password 1"), hash_secret("1357"))
    other = Manager(app.test_client())
    other.login("other", "other password 1", "1357")
    assert other.client.get(job_page).status_code == 404
    assert other.client.get(job_page + "/file").status_code == 404


@pytest.mark.parametrize("kind, form, message", [
    ("calls", {"result": "everything"}, "알 수 없는 결과입니다: everything"),
    ("calls", {"campaign": "abc"}, "campaign: 숫자가 아닙니다 (입력값: abc)."),
    ("campaign", {}, "캠페인을 고르세요."),
    ("campaign", {"campaign": "999"}, "캠페인 999번이 없습니다."),
    ("contacts", {"list": "999"}, "호출자료 999번이 없습니다."),
    ("calls", {"format": "pdf"}, "이 자료는 xlsx, csv 형식으로만 내보낼 수 있습니다 (요청: pdf)."),
    ("statistics", {"start": "yesterday"}, "시작일: 날짜는 YYYY-MM-DD 형식으로 입력하세요 (입력값: yesterday)."),
])
def test_bad_export_requests_are_refused_naming_the_problem(seeded, logged_in, client, store, kind, form, message):
    answer = logged_in.post(f"/exports/{kind}", dict(form, next="/home"))
    assert answer.status_code == 302
    assert message in page_text(client.get("/home"))
    assert audits(store) == [], "nothing was exported"


def test_exports_need_a_login_and_the_csrf_token(seeded, client, manager):
    assert client.post("/exports/calls", data={"format": "csv"}).status_code in (302, 400)
    logged = manager.login()
    assert logged.status_code == 302
    assert client.post("/exports/calls", data={"format": "csv"}).status_code == 400, "no CSRF token"


def test_export_buttons_sit_on_the_pages_they_export(seeded, logged_in, client):
    for path, form_id in ((f"/calls/?campaign={seeded['campaign_id']}", "export-calls"),
                          ("/callbacks/", "export-callbacks"),
                          (f"/campaigns/{seeded['campaign_id']}", "export-campaign"),
                          (f"/contacts/{seeded['list_id']}", "export-contacts"),
                          (f"/statistics/?start={DAY}", "export-report")):
        html = client.get(path).get_data(as_text=True)
        assert f'id="{form_id}"' in html, path
    html = client.get(f"/calls/?campaign={seeded['campaign_id']}&result=busy").get_data(as_text=True)
    form = html[html.index('id="export-calls"'):]
    assert f'name="campaign" value="{seeded["campaign_id"]}"' in form and 'name="result" value="busy"' in form
