"""Backup and restore: what a manager or an attacker does to the archives,
on real SQLite files, real tar.gz archives and the console's test client."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from server import backup, create_app, db, sample
from server.backup import archive, check, listing, restore
from server.backup.schedule import SETTING_KEY, AutoBackup
from server.cli import cli

from .conftest import MANAGER_ID, PIN, Clock, Manager, page_text


@pytest.fixture(scope="module")
def sample_data(tmp_path_factory):
    """A sample campaign (ready) made once: a call list of 40, three
    announcements, two images (originals kept too)."""
    folder = tmp_path_factory.mktemp("sample")
    info = sample.seed_campaign(folder / "ars.db", folder / "uploads", contacts=40, intro_s=0.3, promise_s=0.2)
    return folder, info


@pytest.fixture
def app_overrides(tmp_path, sample_data):
    """Each test's app starts on its own copy of the sample data."""
    folder, _info = sample_data
    shutil.copy2(folder / "ars.db", tmp_path / "ars.db")
    shutil.copytree(folder / "uploads", tmp_path / "uploads")
    return {}


@pytest.fixture
def seeded(app, sample_data):
    return sample_data[1]


def take(app, kind="manual", **kwargs) -> archive.Written:
    return archive.create_backup(app.config["DATABASE"], app.config["UPLOADS"], app.config["BACKUPS"],
                                 kind=kind, **kwargs)


def rewrite(source: Path, target: Path, change) -> Path:
    """A copy of an archive with its members passed through ``change(name, data)``
    (returns new bytes, or None to leave the member out); the manifest is kept."""
    with tarfile.open(source, "r:gz") as tar, tarfile.open(target, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            data = change(member.name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return target


def hostile(target: Path, manifest: dict, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(target, "w:gz") as out:
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        out.addfile(info, io.BytesIO(body))
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                out.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                out.addfile(info, io.BytesIO(member[1]))
    return target


def upload_files(app) -> dict[str, bytes]:
    root = Path(app.config["UPLOADS"]) / "sha256"
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- what an archive holds -------------------------------------------------------------------

def test_a_backup_holds_the_database_every_referenced_upload_and_a_manifest(app, seeded, store):
    stray = Path(app.config["UPLOADS"]) / "sha256" / "ff" / ("f" * 64 + ".wav")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"no row refers to this")

    written = take(app)

    folder = Path(app.config["BACKUPS"])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(written.path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [written.path.name]      # no temporary left behind
    manifest = check.read_manifest(written.path)
    names = {f["name"] for f in manifest["files"]}
    stored = {name for name in upload_files(app) if name != stray.name}
    assert names == {"ars.db"} | {f"uploads/sha256/{n[:2]}/{n}" for n in stored}
    assert manifest["rows"]["contact"] == 40 and manifest["rows"]["ment"] == 3
    assert manifest["campaign"]["name"] == "행복도시 1차 발신"
    assert manifest["schema"]["migrations"] == db.applied_migrations(store)
    assert manifest["missing_uploads"] == []
    assert check.check_archive(written.path).manifest == manifest


def test_the_referenced_uploads_include_a_deleted_announcement_a_campaign_still_plays(app, seeded, store):
    intro = db.ments(store)[0]
    db.delete_ment(store, intro["id"])
    assert intro["sha256"] in db.referenced_upload_hashes(store)
    names = {f["name"] for f in take(app).manifest["files"]}
    assert any(intro["sha256"] in name for name in names)


# -- archives refused --------------------------------------------------------------------------

def test_a_flipped_byte_in_a_file_is_refused_by_verify_and_restore_naming_the_file(app, seeded, tmp_path):
    written = take(app)
    wav = next(f["name"] for f in written.manifest["files"] if f["name"].endswith(".wav"))

    def flip(name, data):
        if name == wav:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
            return bytes(data)
        return data
    bad = rewrite(written.path, Path(app.config["BACKUPS"]) / written.path.name.replace("manual", "uploaded"), flip)

    with pytest.raises(backup.BackupError) as refused:
        check.check_archive(bad)
    assert refused.value.code == "checksum" and wav in refused.value.user_message
    assert "손상" in refused.value.user_message
    with pytest.raises(backup.BackupError, match="SHA-256"):
        restore.restore_now(bad, tmp_path / "other" / "ars.db", tmp_path / "other" / "uploads", tmp_path / "b")
    assert not (tmp_path / "other" / "ars.db").exists()


def test_a_flipped_byte_in_the_compressed_archive_is_refused(app, seeded):
    written = take(app)
    data = bytearray(written.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    written.path.write_bytes(bytes(data))
    with pytest.raises(backup.BackupError) as refused:
        check.check_archive(written.path)
    assert refused.value.code in ("damaged", "checksum", "not_archive")
    assert "손상" in refused.value.user_message or "아닙니다" in refused.value.user_message


def test_an_archive_missing_a_file_is_refused_naming_it(app, seeded, tmp_path):
    written = take(app)
    jpg = next(f["name"] for f in written.manifest["files"] if f["name"].endswith(".jpg"))
    bad = rewrite(written.path, tmp_path / "missing.tar.gz", lambda name, data: None if name == jpg else data)
    with pytest.raises(backup.BackupError) as refused:
        check.check_archive(bad)
    assert refused.value.code == "missing_file"
    assert refused.value.user_message == f"백업 목록에 있는 파일이 빠져 있습니다: {jpg}"
    with pytest.raises(backup.BackupError, match="빠져 있습니다"):
        restore.restore_now(bad, tmp_path / "n" / "ars.db", tmp_path / "n" / "uploads", tmp_path / "b")
    assert not (tmp_path / "n" / "ars.db").exists()


def test_an_archive_from_a_newer_schema_is_refused(app, seeded, store, tmp_path):
    store.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                  "VALUES ('mobile-ars', 'm999_from_the_future', '2030-01-01')")
    written = take(app)
    with pytest.raises(backup.BackupError) as refused:
        check.check_archive(written.path)
    assert refused.value.code == "newer_schema" and "m999_from_the_future" in refused.value.user_message
    with pytest.raises(backup.BackupError, match="더 새로운 버전"):
        restore.restore_now(written.path, tmp_path / "n" / "ars.db", tmp_path / "n" / "uploads", tmp_path / "b")


def test_a_path_traversal_or_link_in_an_archive_writes_nothing_outside(app, seeded, tmp_path):
    written = take(app)
    with tarfile.open(written.path, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        database = tar.extractfile("ars.db").read()
    target = tmp_path / "restore-here"
    outside = tmp_path / "evil.txt"

    traversal = hostile(tmp_path / "a.tar.gz", manifest, [("ars.db", database), ("../../evil.txt", b"x")])
    with pytest.raises(backup.BackupError) as refused:
        restore.stage(traversal, target / "ars.db")
    assert refused.value.code == "unsafe_member" and "../../evil.txt" in refused.value.user_message

    listed = dict(manifest, files=[*manifest["files"], {"name": "../evil.txt", "size": 1, "sha256": "0" * 64}])
    with pytest.raises(backup.BackupError) as refused:
        check.check_archive(hostile(tmp_path / "b.tar.gz", listed, [("ars.db", database)]))
    assert refused.value.code == "unexpected_member"

    link = tarfile.TarInfo(manifest["files"][1]["name"])
    link.type, link.linkname = tarfile.SYMTYPE, str(outside)
    with pytest.raises(backup.BackupError) as refused:
        restore.stage(hostile(tmp_path / "c.tar.gz", manifest, [("ars.db", database), link]), target / "ars.db")
    assert refused.value.code == "unsafe_member"

    assert not outside.exists() and not (tmp_path.parent / "evil.txt").exists()
    assert not target.exists() or not any(p.name.startswith(".ars.db.restore-") for p in target.iterdir())


def test_a_member_larger_than_its_manifest_says_is_refused(app, seeded, tmp_path):
    written = take(app)
    bad = rewrite(written.path, tmp_path / "big.tar.gz",
                  lambda name, data: data + b"\0" * 4096 if name == "ars.db" else data)
    with pytest.raises(backup.BackupError) as refused:
        check.check_archive(bad)
    assert refused.value.code == "size_mismatch" and "ars.db" in refused.value.user_message


# -- restore -----------------------------------------------------------------------------------

def test_restore_keeps_the_current_data_as_a_backup_first(app, seeded, tmp_path):
    written = take(app)
    other = tmp_path / "other"
    sample.seed_campaign(other / "ars.db", other / "uploads", contacts=7, intro_s=0.2, promise_s=0.2,
                         name="다른 캠페인")

    done = restore.restore_now(written.path, other / "ars.db", other / "uploads", other / "backups")

    kept = check.check_archive(other / "backups" / done["prerestore"]).manifest
    assert kept["kind"] == "prerestore" and kept["rows"]["contact"] == 7
    assert kept["campaign"]["name"] == "다른 캠페인"
    restored = db.connect(other / "ars.db")
    try:
        assert db.backup_row_counts(restored)["contact"] == 40
        entries, _total = db.audit_entries(restored, action="restore")
        assert json.loads(entries[0]["detail"])["prerestore"] == done["prerestore"]
    finally:
        restored.conn.close()
    assert not [p for p in other.iterdir() if p.name.startswith(".ars.db.restore-")]


def test_a_damaged_database_is_replaced_by_the_restore_and_kept_as_it_was(app, seeded, tmp_path):
    written = take(app)
    other = tmp_path / "other"
    other.mkdir()
    garbage = b"SQLite format 3\0" + os.urandom(8192)
    (other / "ars.db").write_bytes(garbage)

    done = restore.restore_now(written.path, other / "ars.db", other / "uploads", other / "backups")

    assert done["prerestore"].startswith("damaged-")
    assert (other / "backups" / done["prerestore"]).read_bytes() == garbage
    restored = db.connect(other / "ars.db")
    try:
        assert db.backup_row_counts(restored)["contact"] == 40
    finally:
        restored.conn.close()


def test_ars_restore_refuses_while_the_server_holds_the_database(app, seeded, tmp_path):
    written = take(app)
    lock = restore.ServerLock(app.config["DATABASE"])
    assert lock.acquire()
    try:
        result = CliRunner().invoke(cli, ["restore", str(written.path), "--yes", "--db", app.config["DATABASE"],
                                          "--uploads", app.config["UPLOADS"]])
    finally:
        lock.release()
    assert result.exit_code != 0 and "서버(ars serve)가 이 데이터베이스를 사용 중입니다" in result.output


def test_ars_backup_then_ars_restore_into_a_new_folder(app, seeded, tmp_path):
    runner = CliRunner()
    made = runner.invoke(cli, ["backup", "--db", app.config["DATABASE"], "--uploads", app.config["UPLOADS"],
                               "--to", str(tmp_path / "out")])
    assert made.exit_code == 0, made.output
    summary = json.loads(made.output.strip().splitlines()[-1])
    assert summary["rows"]["contact"] == 40 and Path(summary["archive"]).parent == tmp_path / "out"
    new = tmp_path / "new"
    done = runner.invoke(cli, ["restore", summary["archive"], "--yes", "--db", str(new / "ars.db"),
                               "--uploads", str(new / "uploads")])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output.strip().splitlines()[-1])["prerestore"] is None
    assert {p.name: p.read_bytes() for p in (new / "uploads").rglob("*") if p.is_file()} == {
        name: data for name, data in upload_files(app).items()}
    store = db.connect(app.config["DATABASE"])
    try:
        assert [e["action"] for e in db.audit_entries(store, action="backup")[0]] == ["backup"]
    finally:
        store.conn.close()


# -- automatic backups -------------------------------------------------------------------------

def test_automatic_backups_run_while_a_campaign_runs_and_keep_the_last_k(app, seeded, store, tmp_path):
    clock = Clock()
    db.put_setting(store, SETTING_KEY, {"every_min": 30, "keep": 3})
    auto = AutoBackup(app.config["DATABASE"], app.config["UPLOADS"], tmp_path / "auto", clock=clock)
    assert auto.tick() is None                      # the campaign is ready, not running
    db.set_campaign_state(store, seeded["campaign_id"], "running", from_states=("ready",))
    taken = []
    for _ in range(5):
        taken.append(auto.tick())
        assert auto.tick() is None                  # not again within 30 minutes
        clock.advance(30 * 60)
    assert all(taken) and len(set(taken)) == 5
    assert [p.name for p in listing.archives(tmp_path / "auto")] == taken[-3:]
    entries, _total = db.audit_entries(store, action="backup")
    assert len(entries) == 5 and all(e["actor"] == "auto" and e["ok"] for e in entries)


def test_a_failed_automatic_backup_is_shown_and_audited_and_calling_goes_on(app, seeded, store, tmp_path,
                                                                          logged_in, client):
    db.set_campaign_state(store, seeded["campaign_id"], "running", from_states=("ready",))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backups folder should be")
    auto = app.extensions["ars_auto_backup"]
    auto.directory = blocked
    assert auto.tick() is None
    assert "자동 백업 실패" in page_text(client.get("/home"))
    assert "자동 백업 실패" in page_text(client.get("/backups/"))
    entries, _total = db.audit_entries(store, action="backup", ok=False)
    assert entries and entries[0]["actor"] == "auto"
    assert db.campaign(store, seeded["campaign_id"])["state"] == "running"


# -- the 백업 page -----------------------------------------------------------------------------

def test_download_asks_the_pin_and_is_audited(app, seeded, logged_in, client, store):
    answer = logged_in.post("/backups/now", follow_redirects=True)
    assert "백업했습니다" in page_text(answer)
    name = listing.archives(app.config["BACKUPS"])[0].name
    assert name in page_text(client.get("/backups/"))

    refused = logged_in.post(f"/backups/{name}/download", {"pin": "0000"}, follow_redirects=True)
    assert refused.mimetype == "text/html" and "관리자비번이 올바르지 않습니다" in page_text(refused)
    assert logged_in.post(f"/backups/{name}/download").mimetype == "text/html"
    got = logged_in.post(f"/backups/{name}/download", {"pin": PIN})
    assert got.status_code == 200 and got.data == (Path(app.config["BACKUPS"]) / name).read_bytes()
    got.close()
    exports = db.audit_entries(store, action="export")[0]
    assert [e["ok"] for e in exports] == [1, 0, 0]


def test_a_name_that_is_not_an_archive_is_not_found(logged_in):
    assert logged_in.post("/backups/..%2F..%2Fars.db/download", {"pin": PIN}).status_code == 404
    assert logged_in.post("/backups/ars.db/verify").status_code == 404


def test_verify_on_the_page_names_what_is_wrong(app, seeded, logged_in, client):
    written = take(app)
    ok = logged_in.post(f"/backups/{written.path.name}/verify", follow_redirects=True)
    assert "확인했습니다" in page_text(ok) and "확인됨" in page_text(ok)
    data = bytearray(written.path.read_bytes())
    data[-30] ^= 0xFF                            # inside the gzip trailer's reach: a damaged archive
    written.path.write_bytes(bytes(data))
    bad = logged_in.post(f"/backups/{written.path.name}/verify", follow_redirects=True)
    assert "손상" in page_text(bad) and "확인됨" not in page_text(bad)


def test_restore_on_the_page_asks_the_pin_is_refused_while_calling_and_applies_at_start(app, seeded, logged_in,
                                                                                       client, store, tmp_path):
    written = take(app)
    name = written.path.name
    refused = logged_in.post(f"/backups/{name}/restore", {"pin": "9999"}, follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다" in page_text(refused)
    assert restore.pending(app.config["DATABASE"]) is None

    db.set_campaign_state(store, seeded["campaign_id"], "running", from_states=("ready",))
    running = logged_in.post(f"/backups/{name}/restore", {"pin": PIN}, follow_redirects=True)
    assert "진행 중입니다. 캠페인을 일시정지한 뒤 복원하세요" in page_text(running)
    assert restore.pending(app.config["DATABASE"]) is None

    db.set_campaign_state(store, seeded["campaign_id"], "paused", from_states=("running",))
    db.add_do_not_call(store, ["01099990000"])      # a later change the restore undoes
    staged = logged_in.post(f"/backups/{name}/restore", {"pin": PIN}, follow_redirects=True)
    assert "복원을 준비했습니다" in page_text(staged) and "복원 대기 중" in page_text(staged)

    # The server stops (its connections close); at its next start, before anything
    # opens the database, `ars serve` applies the prepared restore:
    store.conn.close()
    app.extensions["ars_engine"].writer.close()
    app.extensions["ars_live"].reader.close()
    done = restore.apply_pending(app.config["DATABASE"], app.config["UPLOADS"], app.config["BACKUPS"])
    assert done["archive"] == name and done["prerestore"]
    fresh = create_app({"TESTING": True, "DATABASE": app.config["DATABASE"], "UPLOADS": app.config["UPLOADS"],
                        "SECRET_KEY": "test", "CLOCK": Clock()})
    new_store = db.connect(app.config["DATABASE"])
    try:
        assert not db.on_do_not_call(new_store, "01099990000")
        steps = [json.loads(e["detail"])["step"] for e in db.audit_entries(new_store, action="restore")[0]]
        assert steps == ["done"]
    finally:
        new_store.conn.close()
    manager = Manager(fresh.test_client())
    assert manager.login().status_code == 302
    assert "복원 대기 중" not in page_text(manager.client.get("/backups/"))


def test_an_uploaded_hostile_archive_is_refused_and_not_kept(app, seeded, logged_in, tmp_path):
    written = take(app)
    with tarfile.open(written.path, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        database = tar.extractfile("ars.db").read()
    evil = hostile(tmp_path / "evil.tar.gz", manifest, [("ars.db", database), ("/etc/cron.d/evil", b"x")])
    answer = logged_in.post("/backups/upload", {"file": (io.BytesIO(evil.read_bytes()), "evil.tar.gz")},
                            content_type="multipart/form-data", follow_redirects=True)
    assert "evil.tar.gz: 백업 목록에 없는 파일이 들어 있습니다: /etc/cron.d/evil" in page_text(answer)
    assert [p.name for p in Path(app.config["BACKUPS"]).iterdir()] == [written.path.name]

    good = logged_in.post("/backups/upload", {"file": (io.BytesIO(written.path.read_bytes()), "from-office.tar.gz")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "올린 백업을 확인해 목록에 넣었습니다" in page_text(good)
    uploaded = listing.archives(app.config["BACKUPS"], "uploaded")
    assert len(uploaded) == 1 and listing.last_check(uploaded[0])["ok"]
    assert stat.S_IMODE(os.stat(uploaded[0]).st_mode) == 0o600


def test_automatic_backup_settings_are_checked(logged_in, store):
    bad = logged_in.post("/backups/settings", {"every_min": "1", "keep": "10"})
    assert bad.status_code == 400 and db.get_setting(store, SETTING_KEY) is None
    logged_in.post("/backups/settings", {"every_min": "15", "keep": "4"})
    assert db.get_setting(store, SETTING_KEY) == {"every_min": 15, "keep": 4}


def test_ars_serve_applies_the_prepared_restore_at_start_or_starts_on_the_old_data(app, seeded, store, tmp_path):
    from server.cli_backup import hold_database as _hold_database
    written = take(app)
    db.add_do_not_call(store, ["01099990000"])            # after the backup
    store.conn.close()
    app.extensions["ars_engine"].writer.close()           # the server has stopped
    app.extensions["ars_live"].reader.close()
    settings = {"db": app.config["DATABASE"], "uploads": app.config["UPLOADS"], "min_free_disk_mb": 0}

    # The uploads folder cannot be written: the restore fails before the swap,
    # and the server starts on the data as it was.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    restore.mark_pending(restore.stage(written.path, settings["db"]), settings["db"], actor=MANAGER_ID)
    _hold_database(dict(settings, uploads=str(blocked))).release()
    assert restore.pending(settings["db"]) is None
    check_store = db.connect(settings["db"])
    try:
        assert db.on_do_not_call(check_store, "01099990000")
        failed = db.audit_entries(check_store, action="restore", ok=False)[0]
        assert json.loads(failed[0]["detail"])["step"] == "at start"
    finally:
        check_store.conn.close()

    restore.mark_pending(restore.stage(written.path, settings["db"]), settings["db"], actor=MANAGER_ID)
    _hold_database(settings).release()
    check_store = db.connect(settings["db"])
    try:
        assert not db.on_do_not_call(check_store, "01099990000")
        done = db.audit_entries(check_store, action="restore")[0][0]
        assert done["actor"] == MANAGER_ID and json.loads(done["detail"])["step"] == "done"
    finally:
        check_store.conn.close()


def test_a_gzip_bomb_behind_an_honest_manifest_is_refused_as_too_big(app, seeded, tmp_path):
    written = take(app)
    with tarfile.open(written.path, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        database = tar.extractfile("ars.db").read()
    bomb = hostile(tmp_path / "bomb.tar.gz", manifest, [("ars.db", database)])
    with open(bomb, "ab") as out:            # a second gzip member: 64 MB of zeros after the archive
        import gzip
        out.write(gzip.compress(b"\0" * (64 << 20), compresslevel=1))
    with pytest.raises(backup.BackupError) as refused:
        check.check_archive(bomb)
    assert refused.value.code == "too_big"
