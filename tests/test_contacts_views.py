"""호출자료 pages: upload, preview, import, browse, search, rejects, delete; 수신거부."""

import io
import time

import openpyxl

from server import db

from .conftest import PIN, page_text

CSV = (
    "이름,전화번호,주소,메모\n"
    "홍길동,010-1234-5678,세종시 한누리대로 1,지지\n"       # row 2
    "김영희,+82 10 2222 3333,세종시 도움로 2,\n"            # row 3
    "이철수,010-12,세종시 가름로 3,\n"                      # row 4: too short
    "박민수,01012345678,세종시 보듬로 4,\n"                 # row 5: duplicate of row 2
    "최지우,02-123-4567,서울시 종로구 5,\n"                 # row 6
    "정하나,abc,세종시 6,\n"                                # row 7: not a number
    "강수빈,1588-1234,세종시 7,\n"                          # row 8
)


def start_upload(manager, data: bytes, filename: str, name: str):
    return manager.post("/contacts/upload",
                        {"name": name, "file": (io.BytesIO(data), filename)},
                        content_type="multipart/form-data",
                        headers={"Accept": "application/json"})


def wait_for(client, status_url: str, states=("ready", "done", "error"), timeout=30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(status_url).get_json()
        if status["state"] in states:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job still {status} after {timeout} s")


def import_list(manager, client, data: bytes, filename: str, name: str) -> dict:
    started = start_upload(manager, data, filename, name)
    assert started.status_code == 200, started.get_data(as_text=True)
    job = started.get_json()
    assert wait_for(client, job["status"])["state"] == "ready"
    committed = manager.post(f"/contacts/jobs/{job['job']}/commit", headers={"Accept": "application/json"})
    assert committed.status_code == 200
    return wait_for(client, job["status"])


def test_preview_shows_columns_rows_and_counts_before_anything_is_stored(logged_in, client, store):
    job = start_upload(logged_in, CSV.encode("cp949"), "voters.csv", "1차").get_json()
    assert wait_for(client, job["status"])["state"] == "ready"
    preview = page_text(client.get(job["url"]))
    assert "머리글 있음" in preview and "전화번호 = 전화번호" in preview
    assert "010-1234-5678" in preview and "홍길동" in preview
    for label, count in (("전체 행", 7), ("가져온 번호", 4), ("잘못된 번호", 2), ("중복", 1)):
        assert f"{label} {count}" in preview, label
    assert db.contact_lists(store) == []  # nothing is written before 가져오기


def test_import_stores_the_good_rows_and_reports_the_bad(logged_in, client, store):
    status = import_list(logged_in, client, CSV.encode("utf-8-sig"), "voters.csv", "1차 발신")
    assert status["state"] == "done"
    page = page_text(client.get(status["redirect"]))
    assert "가져온 번호 4" in page and "잘못된 번호 2" in page and "중복 1" in page
    (contact_list,) = db.contact_lists(store)
    rows, total = db.contacts_page(store, contact_list["id"])
    assert total == 4
    assert [r["phone"] for r in rows] == ["01012345678", "01022223333", "021234567", "15881234"]
    assert rows[0]["extra"] and "지지" in rows[0]["extra"]
    # The rejects download names each bad row, its value and the reason.
    download = client.get(f"/contacts/{contact_list['id']}/rejects.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(download.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("행 번호", "값", "사유")
    by_row = {row[0]: row for row in values[1:]}
    assert set(by_row) == {4, 5, 7}
    assert by_row[4][1] == "010-12" and by_row[7][1] == "abc"
    entries, _ = db.audit_entries(store, action="import")
    assert entries and '"imported": 4' in entries[0]["detail"]


def test_search_and_paging(logged_in, client, store):
    lines = ["이름,전화번호"] + [f"사람{i:03d},010-5000-{i:04d}" for i in range(120)]
    import_list(logged_in, client, "\n".join(lines).encode(), "many.csv", "많은 목록")
    (contact_list,) = db.contact_lists(store)
    base = f"/contacts/{contact_list['id']}"
    first = page_text(client.get(base))
    assert "사람000" in first and "사람050" not in first and "1 / 3" in first
    third = page_text(client.get(base + "?page=3"))
    assert "사람119" in third
    by_number = page_text(client.get(base + "?q=5000-0077"))
    assert "사람077" in by_number and "사람076" not in by_number
    by_name = page_text(client.get(base + "?q=사람11"))
    assert "사람110" in by_name and "사람011" not in by_name


def test_bad_files_get_a_clear_error_and_nothing_is_written(logged_in, client, store, app):
    cases = [
        (b"\x00\x01garbage" * 50, "list.xlsx", "xlsx"),
        (b"", "empty.csv", "empty"),
        ("이름,주소\n홍길동,세종시\n".encode(), "nophone.csv", "phone"),
    ]
    for data, filename, needle in cases:
        job = start_upload(logged_in, data, filename, f"목록 {filename}").get_json()
        status = wait_for(client, job["status"])
        assert status["state"] == "error", filename
        assert needle in status["error"].lower(), status["error"]
        assert status["error"] in page_text(client.get(job["url"]))
    refused = start_upload(logged_in, b"a,b", "list.pdf", "pdf")
    assert refused.status_code == 400
    assert "use .txt, .csv, .xlsx or .xls" in refused.get_json()["error"]
    assert db.contact_lists(store) == []


def test_list_name_is_required_and_unique(logged_in, client, store):
    missing = start_upload(logged_in, CSV.encode(), "v.csv", "  ")
    assert missing.status_code == 400 and "enter a name" in missing.get_json()["error"]
    import_list(logged_in, client, CSV.encode(), "v.csv", "같은 이름")
    again = start_upload(logged_in, CSV.encode(), "v.csv", "같은 이름")
    assert again.status_code == 400 and "already exists" in again.get_json()["error"]
    assert len(db.contact_lists(store)) == 1


def test_do_not_call_numbers_are_skipped_and_reported(logged_in, client, store):
    response = logged_in.post("/contacts/do-not-call", {"numbers": "010 2222 3333\n02-123-4567",
                                                         "note": "본인 요청"})
    assert response.status_code == 302
    assert db.do_not_call_numbers(store) == {"01022223333", "021234567"}
    status = import_list(logged_in, client, CSV.encode(), "voters.csv", "수신거부 확인")
    page = page_text(client.get(status["redirect"]))
    assert "수신거부 제외 2" in page and "가져온 번호 2" in page
    bad = logged_in.post("/contacts/do-not-call", {"numbers": "010-1111-2222\nhello"})
    assert bad.status_code == 400
    assert "hello: Not a phone number" in page_text(bad)
    assert len(db.do_not_call_numbers(store)) == 2  # nothing from the bad batch
    logged_in.post("/contacts/do-not-call/remove", {"phone": "021234567"})
    assert len(db.do_not_call_numbers(store)) == 2  # removal asks the admin PIN
    logged_in.post("/contacts/do-not-call/remove", {"phone": "021234567", "pin": PIN})
    assert db.do_not_call_numbers(store) == {"01022223333"}


def test_delete_asks_for_the_admin_pin(logged_in, client, store):
    import_list(logged_in, client, CSV.encode(), "v.csv", "지울 목록")
    (contact_list,) = db.contact_lists(store)
    wrong = logged_in.post(f"/contacts/{contact_list['id']}/delete", {"pin": "1111"}, follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다." in page_text(wrong)
    assert len(db.contact_lists(store)) == 1
    logged_in.post(f"/contacts/{contact_list['id']}/delete", {"pin": PIN})
    assert db.contact_lists(store) == []
    assert db.contact_totals(store)["contacts"] == 0


def test_jobs_belong_to_the_manager_who_started_them(logged_in, client, app):
    job = start_upload(logged_in, CSV.encode(), "v.csv", "남의 작업").get_json()
    stranger = app.test_client()
    assert stranger.get(job["status"]).status_code == 302  # not logged in
    assert client.get("/contacts/jobs/not-a-job.json").status_code == 404
