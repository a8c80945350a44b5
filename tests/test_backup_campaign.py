"""A backup taken while a campaign calls, restored on another PC: the manager
sees the same call records and hears the same announcements."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from phone_agent.simulator.fleet import Fleet
from server import create_app, db, sample
from server.backup import check
from server.cli import cli

from .calling import Console, wait_until
from .conftest import Clock, LiveServer, Manager, page_text

pytestmark = pytest.mark.slow

ENROL_KEY = "backup-test-key"


def test_a_backup_taken_while_phones_call_restores_on_a_new_pc(tmp_path):
    office = tmp_path / "office"
    office.mkdir()
    server = LiveServer(office, seed=lambda path, uploads: sample.seed_campaign(
        path, uploads, contacts=300, enrol_key=ENROL_KEY, intro_s=1.0, promise_s=0.5,
        settings={"call_hours_start": "00:00", "call_hours_end": "23:59"}))
    try:
        Console(server.url).campaign(server.seeded["campaign_id"], "start")
        fleet = Fleet.in_thread(server.url, 6, enrol_key=ENROL_KEY, seed=2, state_file=None,
                                cache_dir=tmp_path / "phone-cache", speed=40)
        try:
            def recorded() -> int:
                store = server.store()
                try:
                    return store.execute("SELECT count(*) FROM call WHERE result IS NOT NULL").fetchone()[0]
                finally:
                    store.conn.close()
            wait_until(lambda: recorded() >= 15, timeout=60, message="calls recorded")
            # `ars backup` while `ars serve` writes and the phones call:
            made = subprocess.run([sys.executable, "-m", "server", "backup", "--db", server.db,
                                   "--uploads", server.uploads, "--to", str(tmp_path / "usb")],
                                  capture_output=True, text=True, timeout=60)
            assert made.returncode == 0, made.stderr
            # and `ars restore` refuses to swap the database under it:
            refused = CliRunner().invoke(cli, ["restore", json.loads(made.stdout)["archive"], "--yes",
                                               "--db", server.db, "--uploads", server.uploads])
            assert refused.exit_code != 0 and "사용 중입니다" in refused.output
        finally:
            fleet.stop(grace_s=1.0)
    finally:
        server.stop()
    archive = Path(json.loads(made.stdout)["archive"])
    manifest = check.read_manifest(archive)
    assert manifest["campaign"]["state"] == "running" and manifest["rows"]["call"] >= 15

    # Another PC: a new folder, `ars restore`, then a fresh console on what it restored.
    new = tmp_path / "new-pc"
    done = CliRunner().invoke(cli, ["restore", str(archive), "--yes", "--db", str(new / "ars.db"),
                                    "--uploads", str(new / "uploads")])
    assert done.exit_code == 0, done.output
    app = create_app({"TESTING": True, "DATABASE": str(new / "ars.db"), "UPLOADS": str(new / "uploads"),
                      "SECRET_KEY": "test", "CLOCK": Clock()})
    restored, office_db = db.connect(new / "ars.db"), db.connect(server.db)
    try:
        calls = restored.execute("SELECT * FROM call ORDER BY id").fetchall()
        assert len(calls) == manifest["rows"]["call"]
        # every record the backup holds is the office's record (final ones unchanged since)
        finals = [dict(row) for row in calls if row["result"] is not None]
        assert len(finals) >= 15
        for row in finals:
            assert dict(office_db.execute("SELECT * FROM call WHERE id = ?", [row["id"]]).fetchone()) == row
        campaign = db.campaign(restored, server.seeded["campaign_id"])
        assert campaign["state"] == "paused"      # comes back paused: the manager resumes it
        ments, images = db.ments(restored), db.images(restored)
    finally:
        restored.conn.close()
        office_db.conn.close()

    manager = Manager(app.test_client())
    assert manager.login().status_code == 302
    listing = manager.client.get(f"/calls/?campaign={server.seeded['campaign_id']}").get_data(as_text=True)
    dialled = [row for row in calls if row["dialed_at"] is not None]      # 통화 기록 lists dialled calls only
    assert re.search(r'<span class="hint">([\d,]+)</span>', listing).group(1) == f"{len(dialled):,}"
    one = finals[0]
    shown = page_text(manager.client.get(f"/calls/{one['id']}"))
    assert one["number"][-4:] in shown.replace("-", "")
    for ment in ments:
        played = manager.client.get(f"/ments/{ment['id']}.wav")
        office_file = Path(server.uploads) / "sha256" / ment["sha256"][:2] / f"{ment['sha256']}.wav"
        assert played.status_code == 200 and played.data == office_file.read_bytes()
    for image in images:
        shown = manager.client.get(f"/images/{image['id']}.jpg")
        office_file = Path(server.uploads) / "sha256" / image["sha256"][:2] / f"{image['sha256']}.jpg"
        assert shown.status_code == 200 and shown.data == office_file.read_bytes()
