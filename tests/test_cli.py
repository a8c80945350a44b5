"""The ars command: init-db, create-manager, import-contacts (JSON line last)."""

import json
import subprocess
import sys

from server import db


def ars(*args, check=True):
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True,
                          text=True, check=check)


def test_init_db_and_create_manager(tmp_path):
    database = str(tmp_path / "a.db")
    out = ars("init-db", "--db", database).stdout
    from server.db.migrations import migrations
    assert f"applied {len(migrations._migrations)} migration(s)" in out
    assert "applied 0 migration(s)" in ars("init-db", "--db", database).stdout
    ars("create-manager", "--db", database, "--id", "boss", "--password", "longpassword", "--pin", "1234")
    again = ars("create-manager", "--db", database, "--id", "boss", "--password", "longpassword",
                "--pin", "1234", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    weak = ars("create-manager", "--db", database, "--id", "x", "--password", "short", "--pin", "12",
               check=False)
    assert weak.returncode != 0
    assert "password must be at least 8 characters" in weak.stderr
    assert "admin PIN must be 4-12 digits" in weak.stderr


def test_import_contacts_prints_a_json_summary_last(tmp_path):
    csv = tmp_path / "list.csv"
    csv.write_text("전화번호,이름\n010-1111-2222,가\n010-1111-2222,나\n02-12,다\n0311234567,라\n",
                   encoding="cp949")
    database, uploads = str(tmp_path / "a.db"), str(tmp_path / "up")
    result = ars("import-contacts", str(csv), "--list", "시험", "--db", database, "--uploads", uploads)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("list", "rows", "imported", "invalid", "duplicates")} == {
        "list": "시험", "rows": 4, "imported": 2, "invalid": 1, "duplicates": 1}
    assert summary["seconds"] >= 0
    store = db.connect(database)
    try:
        assert db.contact_totals(store)["contacts"] == 2
    finally:
        store.conn.close()
    clash = ars("import-contacts", str(csv), "--list", "시험", "--db", database, "--uploads", uploads,
                check=False)
    assert clash.returncode != 0 and "already exists" in clash.stderr


def test_env_and_config_file_set_the_defaults(tmp_path):
    config = tmp_path / "ars.toml"
    config.write_text(f'db = "{tmp_path / "from-config.db"}"\n')
    env = {"ARS_CONFIG": str(config)}
    import os
    out = subprocess.run([sys.executable, "-m", "server", "init-db"], capture_output=True, text=True,
                         env=dict(os.environ, **env), check=True).stdout
    assert "from-config.db" in out
    env["ARS_DB"] = str(tmp_path / "from-env.db")
    out = subprocess.run([sys.executable, "-m", "server", "init-db"], capture_output=True, text=True,
                         env=dict(os.environ, **env), check=True).stdout
    assert "from-env.db" in out
    config.write_text('colour = "blue"\n')
    bad = subprocess.run([sys.executable, "-m", "server", "init-db"], capture_output=True, text=True,
                         env=dict(os.environ, ARS_CONFIG=str(config)))
    assert bad.returncode != 0 and "unknown keys: colour" in bad.stderr
