"""Uploads that try to crash or stall the server; cancelling a running read;
personal data leaving with its list.

Each hostile file is built by the test (tests/hostile_files.py) and goes
through the console like a manager's upload. The reading happens in a child
process (server/guarded.py), so these tests start real children.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest

from server import db

from . import hostile_files
from .conftest import PIN, page_text
from .test_contacts_views import import_list, wait_for

GOOD_CSV = "이름,전화번호\n홍길동,010-1234-5678\n김영희,010-2222-3333\n".encode()
FINAL = ("ready", "done", "error", "cancelled")


def start_upload(manager, data: bytes, filename: str, name: str):
    """The console's upload, as test_contacts_views does it, but closing the
    request body werkzeug's test client spools to a temporary file above
    500 KB (its EnvironBuilder leaves that file open)."""
    from werkzeug.test import EnvironBuilder
    builder = EnvironBuilder(path="/contacts/upload", method="POST",
                             data={"name": name, "csrf_token": manager.csrf_token("/home"),
                                   "file": (io.BytesIO(data), filename)},
                             content_type="multipart/form-data", headers={"Accept": "application/json"})
    environ = builder.get_environ()
    try:
        return manager.client.open(environ)
    finally:
        builder.close()
        environ["wsgi.input"].close()


def upload_files(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOADS"]).rglob("*") if p.is_file()]


def refused(manager, client, data: bytes, filename: str) -> str:
    """Upload ``data``; the read must end in an error: return its message."""
    started = start_upload(manager, data, filename, f"목록 {filename}")
    assert started.status_code == 200, started.get_data(as_text=True)
    status = wait_for(client, started.get_json()["status"], FINAL, timeout=120)
    assert status["state"] == "error", status
    return status["error"]


def assert_nothing_kept(app, store, client):
    assert db.contact_lists(store) == []
    assert store.execute("SELECT count(*) FROM contact").fetchone()[0] == 0
    assert upload_files(app) == [], "the refused file must not stay on disk"
    assert client.get("/contacts/").status_code == 200   # and the server still answers


def test_a_workbook_with_cells_A1_and_XFD1048576_is_refused_before_it_is_built(logged_in, client, store, app):
    message = refused(logged_in, client, hostile_files.corner_workbook(), "corner.xlsx")
    assert message.startswith("corner.xlsx: 시트 범위가 너무 큽니다: A1:XFD1048576")
    assert_nothing_kept(app, store, client)
    (entry, *_), _ = db.audit_entries(store, action="upload", ok=False)
    assert '"reason": "refused"' in entry["detail"] and '"file_removed": true' in entry["detail"]


def test_a_sparse_workbook_with_one_cell_far_in_the_middle_is_refused(logged_in, client, store, app):
    message = refused(logged_in, client, hostile_files.sparse_middle_workbook(), "middle.xlsx")
    assert "시트 범위가 너무 큽니다: A1:LZZ524288" in message
    assert_nothing_kept(app, store, client)


def test_a_workbook_whose_dimension_lies_is_measured_by_its_cells(logged_in, client, store, app):
    message = refused(logged_in, client, hostile_files.lying_workbook(), "lying.xlsx")
    assert "시트 범위가 너무 큽니다: A1:XFD1048576" in message   # not the A1:A2 it claims
    assert_nothing_kept(app, store, client)


def test_a_single_line_of_357000_columns_is_refused(logged_in, client, store, app):
    message = refused(logged_in, client, hostile_files.wide_csv(), "wide.csv")
    assert message == "wide.csv: 열이 너무 많습니다: 357,000개 (최대 64개)"
    assert_nothing_kept(app, store, client)


def test_a_single_50_mb_cell_is_refused(logged_in, client, store, app, tmp_path):
    path = tmp_path / "cell.csv"
    hostile_files.long_cell_csv(path)
    message = refused(logged_in, client, path.read_bytes(), "cell.csv")
    assert message == "cell.csv: 칸 하나의 글자가 너무 깁니다: 52,428,800자 (최대 1,000자)"
    assert_nothing_kept(app, store, client)


def test_the_refusal_is_in_english_for_an_english_session(logged_in, client, store, app):
    logged_in.client.get("/lang/en")
    message = refused(logged_in, client, hostile_files.wide_csv(), "wide.csv")
    assert message == "wide.csv: Too many columns: 357,000 (at most 64)"


def test_a_file_that_needs_more_memory_than_allowed_is_refused_and_the_server_lives_on(
        logged_in, client, store, app):
    app.config["PARSE_MEMORY_BYTES"] = 400 << 20
    message = refused(logged_in, client, hostile_files.heavy_workbook(), "heavy.xlsx")
    assert message == "heavy.xlsx: 파일을 읽는 데 메모리가 부족합니다 (한도 400 MB)."
    assert_nothing_kept(app, store, client)


def test_a_file_that_takes_too_long_is_stopped_at_the_time_limit(logged_in, client, store, app):
    app.config["PARSE_TIMEOUT_S"] = 1.0
    message = refused(logged_in, client, hostile_files.heavy_workbook(), "slow.xlsx")
    assert message == "slow.xlsx: 파일을 읽는 데 시간이 너무 오래 걸립니다 (1초)."
    assert_nothing_kept(app, store, client)


def _job(app, job_id):
    return app.extensions["ars_jobs"]._jobs[job_id]


def _wait_for_stage(client, status_url: str, stage: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(status_url).get_json()
        if status["state"] != "running" or status["stage"] == stage:
            return status
        time.sleep(0.02)
    raise AssertionError(f"stage {stage} not reached")


def test_cancelling_a_running_preview_kills_the_reader_and_keeps_nothing(logged_in, client, store, app):
    started = start_upload(logged_in, hostile_files.heavy_workbook(), "heavy.xlsx", "큰 목록").get_json()
    status = _wait_for_stage(client, started["status"], "read")
    assert status["state"] == "running", status
    page = page_text(client.get(started["url"]))
    assert "취소" in page
    logged_in.post(f"/contacts/jobs/{started['job']}/cancel")
    status = wait_for(client, started["status"], FINAL)
    assert status["state"] == "cancelled"
    assert _job(app, started["job"]).data["run"].process.poll() is not None   # the child is gone
    assert "가져오기를 취소했습니다" in page_text(client.get(started["url"]))
    assert_nothing_kept(app, store, client)
    (entry, *_), _ = db.audit_entries(store, action="cancel")
    assert "heavy.xlsx" in entry["target"] and '"file_removed": true' in entry["detail"]


def import_children() -> list[int]:
    """This process's running import children (``python -m server.contacts.import_child``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue                       # gone meanwhile
        if ppid == os.getpid() and b"server.contacts.import_child" in command:
            found.append(int(entry.name))
    return found


def test_cancelling_an_import_while_it_stores_leaves_no_rows_and_no_file(logged_in, client, store, app):
    data = ("전화번호,이름\n" + "".join(f"010{i:08d},이름{i}\n" for i in range(2_000))).encode()
    started = start_upload(logged_in, data, "big.csv", "큰 목록").get_json()
    assert wait_for(client, started["status"], FINAL, timeout=120)["state"] == "ready"
    logged_in.post(f"/contacts/jobs/{started['job']}/commit", headers={"Accept": "application/json"})
    # Another writer holds the database (as a long import would): the import
    # child reaches its store step and waits there, however fast this machine
    # is, while the pages — 취소 among them — still answer.
    blocker = db.connect(app.config["DATABASE"])
    blocker.conn.execute("BEGIN IMMEDIATE")
    try:
        status = _wait_for_stage(client, started["status"], "store", timeout=120)
        assert status["state"] == "running", status
        logged_in.post(f"/contacts/jobs/{started['job']}/cancel")
        deadline = time.monotonic() + 30
        while import_children() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not import_children(), "the cancelled import's process is gone"
    finally:
        blocker.conn.execute("ROLLBACK")
        blocker.conn.close()
    assert wait_for(client, started["status"], FINAL)["state"] == "cancelled"
    assert_nothing_kept(app, store, client)
    (entry, *_), _ = db.audit_entries(store, action="cancel")
    assert '"step": "import"' in entry["detail"]


def test_cancelling_a_finished_preview_removes_its_file(logged_in, client, store, app):
    started = start_upload(logged_in, GOOD_CSV, "good.csv", "미리보기만").get_json()
    assert wait_for(client, started["status"])["state"] == "ready"
    assert len(upload_files(app)) == 1
    answer = logged_in.post(f"/contacts/jobs/{started['job']}/cancel", follow_redirects=True)
    assert "가져오기를 취소했습니다" in page_text(answer)
    assert_nothing_kept(app, store, client)


def test_a_preview_left_waiting_is_forgotten_with_its_file(logged_in, client, store, app):
    started = start_upload(logged_in, GOOD_CSV, "good.csv", "잊힌 미리보기").get_json()
    assert wait_for(client, started["status"])["state"] == "ready"
    assert len(upload_files(app)) == 1
    app.extensions["ars_jobs"].keep_s = 0        # as if an hour had passed
    refused(logged_in, client, hostile_files.wide_csv(), "wide.csv")   # the next upload purges old jobs
    assert client.get(started["status"]).status_code == 404
    assert_nothing_kept(app, store, client)


def test_an_import_that_fails_at_commit_removes_its_file(logged_in, client, store, app):
    started = start_upload(logged_in, GOOD_CSV, "good.csv", "같은 이름").get_json()
    assert wait_for(client, started["status"])["state"] == "ready"
    # meanwhile the name is taken by another list made from other bytes
    other = "전화번호\n010-9999-8888\n".encode()
    import_list(logged_in, client, other, "other.csv", "같은 이름")
    logged_in.post(f"/contacts/jobs/{started['job']}/commit", headers={"Accept": "application/json"})
    status = wait_for(client, started["status"], FINAL)
    assert status["state"] == "error" and "같은 이름" in status["error"]
    # only the other list's file is left
    assert [p.name for p in upload_files(app)] == [hashlib.sha256(other).hexdigest() + ".csv"]


def test_deleting_a_list_removes_its_file_unless_another_list_has_the_same_bytes(logged_in, client, store, app):
    first = import_list(logged_in, client, GOOD_CSV, "same.csv", "첫째")
    second = import_list(logged_in, client, GOOD_CSV, "same.csv", "둘째")
    (stored,) = upload_files(app)
    first_id = int(first["redirect"].split("/")[2].split("?")[0])
    second_id = int(second["redirect"].split("/")[2].split("?")[0])
    logged_in.post(f"/contacts/{first_id}/delete", {"pin": PIN})
    assert stored.exists(), "the second list still references these bytes"
    logged_in.post(f"/contacts/{second_id}/delete", {"pin": PIN})
    assert not stored.exists()
    assert db.contact_lists(store) == []
    (entry, *_), _ = db.audit_entries(store, action="delete")
    assert '"file_removed": true' in entry["detail"]


def test_an_announcement_error_names_the_file_not_a_python_object(logged_in):
    broken = b"RIFF\x00\x00\x00\x00WAVEfmt garbage"
    answer = logged_in.post("/ments/upload", {"file": (io.BytesIO(broken), "broken.wav")},
                            content_type="multipart/form-data", follow_redirects=True)
    text = page_text(answer)
    assert "broken.wav" in text and "손상" in text
    assert "object at 0x" not in text and "BytesIO" not in text


def test_an_image_error_names_the_file_not_a_python_object(logged_in):
    broken = b"\xff\xd8\xff" + b"not really a jpeg" * 10
    answer = logged_in.post("/images/upload", {"kind": "outgoing", "file": (io.BytesIO(broken), "poster.jpg")},
                            content_type="multipart/form-data", follow_redirects=True)
    text = page_text(answer)
    assert "poster.jpg" in text and "손상" in text
    assert "object at 0x" not in text and "BytesIO" not in text


@pytest.mark.slow
def test_the_real_server_answers_a_phone_and_the_dashboard_during_and_after_hostile_uploads(tmp_path):
    from .calling import Console, ScriptedPhone, seed_campaign
    from .conftest import LiveServer
    from phone_agent import protocol as p

    server = LiveServer(tmp_path, config={"parse_timeout_s": 2.0},
                        seed=lambda path, uploads: seed_campaign(path, uploads, numbers=["01012345678"],
                                                                 phones=1))
    phone = None
    try:
        phone = ScriptedPhone(server.url, server.seeded["tokens"][0]).connect()
        assert phone.hello()["ok"]
        console = Console(server.url)
        token = console.http.get(f"{server.url}/contacts/").text.split('name="csrf-token" content="')[1].split('"')[0]

        def upload(data: bytes, filename: str) -> str:
            answer = console.http.post(f"{server.url}/contacts/upload",
                                       data={"name": filename, "csrf_token": token},
                                       files={"file": (filename, data)}, headers={"Accept": "application/json"})
            assert answer.ok, answer.text
            return answer.json()["status"]

        def status(url: str) -> dict:
            return console.http.get(f"{server.url}{url}", headers={"Accept": "application/json"}).json()

        # The heavy workbook keeps a reader busy until the 2 s limit (it needs longer).
        heavy = upload(hostile_files.heavy_workbook(), "heavy.xlsx")
        beats = 0
        while status(heavy)["state"] == "running":
            assert phone.send(p.HEARTBEAT, {"call_state": "idle"})["ok"]
            assert console.http.get(f"{server.url}/dashboard").status_code == 200
            beats += 1
            time.sleep(0.2)
        assert beats >= 3, "the heartbeat and the dashboard were answered while the file was read"
        assert "시간이 너무 오래 걸립니다 (2초)" in (status(heavy)["error"] or "")

        corner = upload(hostile_files.corner_workbook(), "corner.xlsx")
        deadline = time.monotonic() + 60
        while status(corner)["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "시트 범위가 너무 큽니다: A1:XFD1048576" in status(corner)["error"]

        assert server.process.poll() is None
        assert phone.send(p.HEARTBEAT, {"call_state": "idle"})["ok"]
        assert console.http.get(f"{server.url}/dashboard").status_code == 200
        store = server.store()
        try:
            assert db.contact_lists(store) == [db.contact_list(store, server.seeded["list_id"])]
        finally:
            store.conn.close()
        assert not [f for f in Path(server.uploads).rglob("*.xlsx")]
    finally:
        if phone is not None:
            phone.close()
        server.stop()
