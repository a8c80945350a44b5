"""Free disk space: the guard measures the real filesystems; a console upload or
an ``ars import-contacts`` that would fill the disk is refused up front with a
message in Korean, and nothing is stored."""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server import config, db
from server.disk import MB, DiskFull, DiskGuard

from .conftest import page_text
from .test_contacts_views import CSV, start_upload, wait_for
from .test_media_views import png_bytes, wav_bytes

HUGE = 1 << 60          # more than any disk: the disk counts as full
GB = 1024 * MB
FULL_TEXT = "디스크 공간이 부족합니다"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def real_free(path) -> int:
    return shutil.disk_usage(path).free


def write_file(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.write(os.urandom(1024 * 1024) * (size // (1024 * 1024)))
        fh.flush()
        os.fsync(fh.fileno())


# -- the guard ---------------------------------------------------------------------

def test_free_space_is_the_real_free_space_and_low_compares_it_with_the_minimum(tmp_path):
    guard = DiskGuard(tmp_path, min_free_bytes=1)
    assert abs(guard.free_bytes() - real_free(tmp_path)) < GB
    assert not guard.low()
    assert DiskGuard(tmp_path, min_free_bytes=HUGE).low()


def test_status_reports_megabytes_with_one_decimal(tmp_path):
    status = DiskGuard(tmp_path, min_free_bytes=200 * MB).status()
    assert set(status) == {"low", "free_mb", "min_free_mb"}
    assert status["min_free_mb"] == 200.0
    assert isinstance(status["free_mb"], float) and status["free_mb"] == round(status["free_mb"], 1)
    assert abs(status["free_mb"] - real_free(tmp_path) / MB) < 1024
    assert status["low"] is False
    assert DiskGuard(tmp_path, min_free_bytes=HUGE).status()["low"] is True


def test_a_folder_not_made_yet_is_measured_on_its_parent_and_the_lowest_filesystem_counts(tmp_path):
    later = tmp_path / "not" / "made" / "yet"
    assert abs(DiskGuard(later, 1).free_bytes() - real_free(tmp_path)) < GB
    if not Path("/dev/shm").is_dir():
        pytest.skip("no second filesystem (/dev/shm) here")
    guard = DiskGuard(tmp_path, 1, uploads_path=Path("/dev/shm") / "ars-disk-guard-test" / "uploads")
    expected = min(real_free(tmp_path), real_free("/dev/shm"))
    assert abs(guard.free_bytes() - expected) < GB
    assert not Path("/dev/shm/ars-disk-guard-test").exists()  # measuring creates nothing


def test_free_space_is_cached_between_checks_but_check_room_always_measures(tmp_path):
    clock = Clock()
    guard = DiskGuard(tmp_path, min_free_bytes=1, clock=clock, check_every_s=5.0)
    before = guard.free_bytes()
    write_file(tmp_path / "filler", 64 * MB)
    clock.now += 4.9
    assert guard.free_bytes() == before                       # cached: no new measurement
    # A room check must see the 64 MB just written, though the cache would not.
    guard.min_free_bytes = before - 32 * MB
    with pytest.raises(DiskFull):
        guard.check_room(0)
    clock.now += 5.0
    assert guard.free_bytes() < before - 32 * MB              # the cache expired: measured again


def test_check_room_needs_three_times_the_file_plus_the_minimum(tmp_path):
    guard = DiskGuard(tmp_path, min_free_bytes=0)
    free = real_free(tmp_path)
    guard.check_room(free // 3 - GB)                          # fits three times over
    with pytest.raises(DiskFull) as refused:
        guard.check_room(free // 3 + GB)                      # fits once, not three times
    assert refused.value.need_bytes == (free // 3 + GB) * 3
    guard = DiskGuard(tmp_path, min_free_bytes=HUGE)
    with pytest.raises(DiskFull):
        guard.check_room(0)


def test_the_refusal_says_in_korean_what_is_free_what_is_needed_and_what_to_do():
    exc = DiskFull(free_bytes=120 * MB, incoming_bytes=50 * MB, min_free_bytes=200 * MB)
    assert exc.user_message == (
        "디스크 공간이 부족합니다: 남은 공간 120.0 MB, 이 파일과 작업 공간에 350.0 MB가 필요합니다 "
        "(최소 여유 200 MB). 공간을 확보한 뒤 다시 올려 주세요.")
    assert exc.detail() == {"error": "disk_full", "free_mb": 120.0, "need_mb": 350.0, "min_free_mb": 200.0}


def test_min_free_disk_mb_comes_from_the_config_file(tmp_path):
    assert config.app_config(config.load({}))["MIN_FREE_DISK_BYTES"] == 200 * MB
    path = tmp_path / "ars.toml"
    path.write_text("min_free_disk_mb = 50\n")
    assert config.app_config(config.load({"ARS_CONFIG": str(path)}))["MIN_FREE_DISK_BYTES"] == 50 * MB
    path.write_text("min_free_disk_mb = -1\n")
    with pytest.raises(config.ConfigError, match="min_free_disk_mb"):
        config.load({"ARS_CONFIG": str(path)})


# -- the console -------------------------------------------------------------------

@pytest.fixture
def min_free_bytes():
    return 1


@pytest.fixture
def app_overrides(min_free_bytes):
    """The console, with the disk guard's minimum set by ``min_free_bytes``."""
    return {"MIN_FREE_DISK_BYTES": min_free_bytes}


def files_under(folder) -> list:
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def post_file(manager, path, data: bytes, filename: str, **fields):
    return manager.post(path, dict(fields, file=(io.BytesIO(data), filename)),
                        content_type="multipart/form-data")


def failed_uploads(store) -> list:
    entries, _total = db.audit_entries(store, action="upload", ok=False)
    return entries


full_disk = pytest.mark.parametrize("min_free_bytes", [HUGE])


@full_disk
def test_call_list_upload_is_refused_on_a_full_disk_and_nothing_is_stored(logged_in, app, store):
    refused = start_upload(logged_in, CSV.encode("utf-8"), "voters.csv", "1차")
    assert refused.status_code == 507
    assert refused.get_json()["error"].startswith(FULL_TEXT)
    # Without JavaScript: the message on the call-list page.
    page = post_file(logged_in, "/contacts/upload", CSV.encode("utf-8"), "voters.csv", name="1차")
    assert page.status_code == 507
    assert FULL_TEXT in page_text(page) and 'class="flash error"' in page.get_data(as_text=True)
    assert "호출자료 올리기" in page_text(page)
    assert db.contact_lists(store) == []
    assert files_under(app.config["UPLOADS"]) == []
    entries = failed_uploads(store)
    assert len(entries) == 2 and all("call list file voters.csv" == e["target"] for e in entries)
    assert '"disk_full"' in entries[0]["detail"]


@full_disk
def test_announcement_upload_is_refused_on_a_full_disk_and_nothing_is_stored(logged_in, app, store):
    response = post_file(logged_in, "/ments/upload", wav_bytes(), "인사.wav", title="인사말")
    assert response.status_code == 507
    assert f"인사.wav: {FULL_TEXT}" in page_text(response)
    assert db.ments(store) == []
    assert files_under(app.config["UPLOADS"]) == []
    (entry,) = failed_uploads(store)
    assert entry["target"] == "announcement 인사.wav" and '"disk_full"' in entry["detail"]


@full_disk
def test_image_upload_is_refused_on_a_full_disk_and_nothing_is_stored(logged_in, app, store):
    response = post_file(logged_in, "/images/upload", png_bytes(), "poster.png", kind="outgoing")
    assert response.status_code == 507
    assert f"poster.png: {FULL_TEXT}" in page_text(response)
    assert db.images(store) == []
    assert files_under(app.config["UPLOADS"]) == []
    (entry,) = failed_uploads(store)
    assert entry["target"] == "image poster.png" and '"disk_full"' in entry["detail"]


@full_disk
def test_the_refusal_is_in_english_when_the_console_is(logged_in, client, store):
    client.get("/lang/en")
    response = post_file(logged_in, "/images/upload", png_bytes(), "poster.png", kind="callback")
    assert response.status_code == 507
    assert "poster.png: Not enough disk space:" in page_text(response)
    assert db.images(store) == []


def test_with_room_on_the_disk_the_same_uploads_work(logged_in, client, app, store):
    started = start_upload(logged_in, CSV.encode("utf-8"), "voters.csv", "1차")
    assert started.status_code == 200, started.get_data(as_text=True)
    assert wait_for(client, started.get_json()["status"])["state"] == "ready"
    assert post_file(logged_in, "/ments/upload", wav_bytes(), "인사.wav").status_code == 302
    assert post_file(logged_in, "/images/upload", png_bytes(), "poster.png", kind="outgoing").status_code == 302
    assert len(db.ments(store)) == 1 and len(db.images(store)) == 1
    assert len(files_under(Path(app.config["UPLOADS"]) / "sha256")) == 3
    assert failed_uploads(store) == []


def test_import_is_refused_when_the_disk_fills_after_the_preview(logged_in, client, app, store):
    started = start_upload(logged_in, CSV.encode("utf-8"), "voters.csv", "1차").get_json()
    assert wait_for(client, started["status"])["state"] == "ready"
    app.extensions["ars_disk"].min_free_bytes = HUGE          # the disk fills meanwhile
    refused = logged_in.post(f"/contacts/jobs/{started['job']}/commit")
    assert refused.status_code == 507 and FULL_TEXT in page_text(refused)
    assert db.contact_lists(store) == []
    entries, _total = db.audit_entries(store, action="import", ok=False)
    assert entries and '"disk_full"' in entries[0]["detail"]
    # Once there is room again, the same preview is imported.
    app.extensions["ars_disk"].min_free_bytes = 1
    committed = logged_in.post(f"/contacts/jobs/{started['job']}/commit",
                               headers={"Accept": "application/json"})
    assert committed.status_code == 200
    assert wait_for(client, started["status"])["state"] == "done"
    assert len(db.contact_lists(store)) == 1


# -- the command line --------------------------------------------------------------

def test_import_contacts_command_refuses_on_a_full_disk(tmp_path):
    csv = tmp_path / "list.csv"
    csv.write_text("전화번호,이름\n010-1111-2222,가\n", encoding="utf-8")
    settings = tmp_path / "ars.toml"
    settings.write_text(f"min_free_disk_mb = {HUGE // MB}\n")
    database, uploads = tmp_path / "var" / "a.db", tmp_path / "up"
    result = subprocess.run(
        [sys.executable, "-m", "server", "import-contacts", str(csv), "--list", "시험",
         "--db", str(database), "--uploads", str(uploads)],
        capture_output=True, env=dict(os.environ, ARS_CONFIG=str(settings), PYTHONIOENCODING="utf-8"))
    stderr = result.stderr.decode("utf-8")
    assert result.returncode != 0
    assert FULL_TEXT in stderr and "공간을 확보한 뒤 다시 올려 주세요." in stderr
    assert result.stdout.decode("utf-8").strip() == ""
    assert not database.exists() and files_under(uploads) == []
    # With room, the same command imports the list.
    settings.write_text("min_free_disk_mb = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "server", "import-contacts", str(csv), "--list", "시험",
         "--db", str(database), "--uploads", str(uploads)],
        capture_output=True, env=dict(os.environ, ARS_CONFIG=str(settings), PYTHONIOENCODING="utf-8"),
        check=True)
    assert json.loads(result.stdout.decode("utf-8").strip().splitlines()[-1])["imported"] == 1
