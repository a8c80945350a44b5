"""``ars serve --adb-phones``: the router-phone supervisor runs beside the
server as a child process, and dies with it; ``ars phones adb`` finds the
enrolment key in the server's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phone_agent.simulator.virtual.adb_server import free_port
from phone_agent.simulator.virtual.rack import VirtualRack
from server import db
from server.cli import _enrol_key_for_router_phones
from server.phones.api import ENROL_KEY_SETTING
from tests.adb_fixtures import adb_server  # noqa: F401  (fixture)

from .calling import wait_until
from .conftest import free_port as free_server_port


def test_phones_adb_makes_an_enrolment_key_once_when_the_console_has_none(tmp_path):
    path = str(tmp_path / "ars.db")
    db.init_db(path)
    key = _enrol_key_for_router_phones({"db": path})
    assert key and _enrol_key_for_router_phones({"db": path}) == key
    store = db.connect(path)
    try:
        assert db.get_setting(store, ENROL_KEY_SETTING) == key
        entries, total = db.audit_entries(store, actor="cli")
        assert total == 1 and entries[0]["target"] == "phone enrolment key"
        db.put_setting(store, ENROL_KEY_SETTING, "from-the-console")
    finally:
        store.conn.close()
    assert _enrol_key_for_router_phones({"db": path}) == "from-the-console"


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


@pytest.mark.slow
def test_serve_runs_the_router_phones_beside_it_and_they_stop_with_it(tmp_path, adb_server):
    database, config = str(tmp_path / "ars.db"), tmp_path / "ars.toml"
    db.init_db(database)
    config.write_text("")
    port = free_port("127.0.0.2")
    rack = VirtualRack(1, seed=7, speed=40, host="127.0.0.2", base_port=port, vary="host")
    serial = rack.serials[0]
    env = dict(os.environ, ARS_CONFIG=str(config), PYTHONUNBUFFERED="1", XDG_CACHE_HOME=str(tmp_path),
               ANDROID_ADB_SERVER_PORT=str(adb_server.port))
    log_path = tmp_path / "serve.log"
    try:
        with rack.in_thread(), open(log_path, "wb") as log:
            serve = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--db", database, "--uploads",
                 str(tmp_path / "uploads"), "--host", "127.0.0.1", "--port", str(free_server_port()),
                 "--adb-phones", f"127.0.0.2-3:{port}"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
            try:
                wait_until(lambda: f"{serial}: calling as router-{serial}" in log_path.read_text(),
                           timeout=30, message="the phone joined through the supervisor")
                supervisor = children(serve.pid)
                assert len(supervisor) == 1
            finally:
                serve.kill()  # no clean shutdown: the supervisor must notice by itself
                serve.wait(timeout=10)
            wait_until(lambda: not Path(f"/proc/{supervisor[0]}").exists()
                       or Path(f"/proc/{supervisor[0]}/stat").read_text().split()[2] == "Z",
                       timeout=15, message="the supervisor stopped with the server")
            assert "router phones: stopped 1 phone(s)" in log_path.read_text()
        store = db.connect(database)
        try:
            phone = store.execute("SELECT mode FROM phone WHERE name = ?", [f"router-{serial}"]).fetchone()
            assert phone["mode"] == "router"
        finally:
            store.conn.close()
    finally:
        adb_server.client().disconnect(serial)
