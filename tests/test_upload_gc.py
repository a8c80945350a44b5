"""Personal data leaves with its list: `ars gc` and the server's start-up
remove upload files no row references, and never one a row still needs."""

from __future__ import annotations

import json
import os
import time

from click.testing import CliRunner

from server import db
from server.cli import cli
from server.contacts import importer
from server.storage import UploadStore

HOUR = 3600


def aged(path, seconds: float = 2 * HOUR):
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def setup_store(tmp_path):
    """A database with one list (its file referenced), an announcement hash
    that only a campaign's snapshot still names, an old orphaned voters'
    file, a fresh one being written, and a temporary file a crash left."""
    db_path, uploads = tmp_path / "ars.db", UploadStore(tmp_path / "uploads")
    db.init_db(db_path)
    store = db.connect(db_path)
    source = tmp_path / "voters.csv"
    source.write_text("전화번호,이름\n010-1234-5678,홍길동\n", encoding="utf-8")
    result = importer.import_file(store, uploads, source, name="1차", trusted=True)
    (listed,) = [p for p in uploads.root.rglob("*.csv")]
    snapshot_wav = uploads.path(uploads.put(b"RIFF announcement only a campaign names", ".wav"), ".wav")
    db.create_campaign(store, name="지난 캠페인", list_id=result.list_id, settings={}, kind="notice",
                       assets={"intro": [snapshot_wav.name[:64]], "promise": [], "callback": []})
    orphan = uploads.path(uploads.put("전화번호\n010-9999-0000\n".encode(), ".xlsx"), ".xlsx")
    fresh = uploads.path(uploads.put("전화번호\n010-8888-0000\n".encode(), ".csv"), ".csv")
    leftover = uploads.root / "tmp" / "tmpcut.csv"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_text("전화번호\n010-7777", encoding="utf-8")
    for path in (listed, snapshot_wav, orphan, leftover):
        aged(path)
    store.conn.close()
    return db_path, uploads, {"listed": listed, "snapshot": snapshot_wav, "orphan": orphan,
                              "fresh": fresh, "leftover": leftover}


def run_gc(db_path, uploads, *args):
    answer = CliRunner().invoke(cli, ["gc", "--db", str(db_path), "--uploads", str(uploads.root), *args])
    assert answer.exit_code == 0, answer.output
    lines = answer.output.strip().splitlines()
    return lines[:-1], json.loads(lines[-1])


def test_ars_gc_removes_an_orphan_and_keeps_referenced_and_fresh_files(tmp_path):
    db_path, uploads, files = setup_store(tmp_path)

    listed, summary = run_gc(db_path, uploads, "--dry-run")
    assert summary["dry_run"] and summary["removed"] == 2
    assert all(path.exists() for path in files.values()), "--dry-run removes nothing"
    assert any(str(files["orphan"]) in line and line.startswith("would remove call_list") for line in listed)

    size = files["orphan"].stat().st_size + files["leftover"].stat().st_size
    listed, summary = run_gc(db_path, uploads)
    assert summary == {"removed": 2, "kinds": {"call_list": 1, "temporary": 1}, "bytes": size,
                       "kept_referenced": 2, "kept_fresh": 1, "dry_run": False}
    assert not files["orphan"].exists() and not files["leftover"].exists()
    assert files["listed"].exists(), "a list's own file stays"
    assert files["snapshot"].exists(), "a campaign's snapshot still names it"
    assert files["fresh"].exists(), "a file written a moment ago may be a preview in progress"
    assert any(line.startswith("removed call_list") for line in listed)

    store = db.connect(db_path)
    try:
        (entry,), _ = db.audit_entries(store, action="cleanup")
        detail = json.loads(entry["detail"])
        assert detail["removed"] == 2 and detail["kinds"] == {"call_list": 1, "temporary": 1}
        assert "010" not in entry["detail"] and "voters" not in entry["detail"]   # no personal data
    finally:
        store.conn.close()


def test_the_server_start_removes_what_no_row_references(tmp_path):
    from server import create_app
    db_path, uploads, files = setup_store(tmp_path)
    create_app({"TESTING": True, "DATABASE": str(db_path), "UPLOADS": str(uploads.root), "SECRET_KEY": "t"})
    assert not files["orphan"].exists() and not files["leftover"].exists()
    assert files["listed"].exists() and files["snapshot"].exists() and files["fresh"].exists()
    store = db.connect(db_path)
    try:
        (entry,), _ = db.audit_entries(store, action="cleanup")
        assert entry["actor"] == "server start"
    finally:
        store.conn.close()
