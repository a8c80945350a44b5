"""Joining the server and keeping the token: one token file for every kind
of phone, and a phone installed with the earlier command-line layout keeps
its token (it is read, and written back in the one layout)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys

import pytest

from phone_agent.enrol import THIS_PHONE, TokenStore, enrol

from .calling import wait_until
from .test_campaign_fleet import ENROL_KEY, campaign_server

SERVER = "http://127.0.0.1:8000"


def test_tokens_are_kept_per_server_privately(tmp_path):
    path = tmp_path / "state" / "tokens.json"
    mine, other = TokenStore(path, SERVER + "/"), TokenStore(path, "http://127.0.0.1:9000")
    assert mine.get("127.0.0.2:5555") is None
    mine.put("127.0.0.2:5555", {"token": "t1", "phone_id": 1})
    other.put("127.0.0.2:5555", {"token": "t2", "phone_id": 7})
    assert mine.get("127.0.0.2:5555") == {"token": "t1", "phone_id": 1}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    mine.drop("127.0.0.2:5555")
    assert mine.get("127.0.0.2:5555") is None
    assert other.get("127.0.0.2:5555")["token"] == "t2"
    path.write_text("{not json")
    assert mine.get("127.0.0.2:5555") is None  # unreadable: the phones join anew
    assert TokenStore(None, SERVER).get("x") is None
    TokenStore(None, SERVER).put("x", {"token": "t"})  # keeps nothing, writes nothing


def test_the_command_lines_earlier_layout_is_read_and_written_back_in_the_one_layout(tmp_path):
    path = tmp_path / "phone.json"
    path.write_text(json.dumps({SERVER + "/": "old-token", "http://10.0.0.1:8000": "other-token"}))
    tokens = TokenStore(path, SERVER)
    assert tokens.get(THIS_PHONE) == {"token": "old-token"}
    assert TokenStore(path, "http://10.0.0.1:8000").get(THIS_PHONE) == {"token": "other-token"}
    tokens.put("second", {"token": "t2", "phone_id": 2})
    assert json.loads(path.read_text()) == {"servers": {
        SERVER: {THIS_PHONE: {"token": "old-token"}, "second": {"token": "t2", "phone_id": 2}},
        "http://10.0.0.1:8000": {THIS_PHONE: {"token": "other-token"}}}}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_fleet_and_supervisor_layout_is_the_one_layout(tmp_path):
    path = tmp_path / "fleet.json"
    layout = {"servers": {SERVER: {"sim-000": {"token": "a", "phone_id": 1},
                                   "sim-001": {"token": "b", "phone_id": 2}}}}
    path.write_text(json.dumps(layout))
    tokens = TokenStore(path, SERVER)
    assert tokens.all() == layout["servers"][SERVER]
    tokens.update({"sim-001": {"token": "c", "phone_id": 3}})
    assert tokens.get("sim-000") == {"token": "a", "phone_id": 1}
    assert tokens.get("sim-001") == {"token": "c", "phone_id": 3}


def run_until_connected(server, tmp_path, state, *extra) -> None:
    """``python -m phone_agent run`` (sim backend) until it says it is
    connected; AssertionError with its log if it stops first."""
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "phone_agent", "run", "--server", server.url, "--backend", "sim",
             "--state", str(state), "--cache", str(tmp_path / "cache"), "--name", "rack-07", *extra],
            stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))

    def connected() -> bool:
        return "connected to" in log_path.read_text(errors="replace")

    try:
        wait_until(lambda: connected() or process.poll() is not None, timeout=60,
                   message="the phone connected")
        assert connected(), log_path.read_text()
    finally:
        process.terminate()
        process.wait(timeout=20)


def phones(server) -> list[str]:
    store = server.store()
    try:
        return [row["name"] for row in store.execute("SELECT name FROM phone").fetchall()]
    finally:
        store.conn.close()


@pytest.mark.slow
def test_an_installed_phone_keeps_its_token_and_a_refused_one_joins_again(tmp_path):
    server = campaign_server(tmp_path, contacts=1)
    state = tmp_path / "phone.json"
    try:
        joined = asyncio.run(enrol(server.url, "rack-07", enrol_key=ENROL_KEY, mode="internet"))
        before = phones(server)
        # Installed before the one layout: the command line kept {server_url: token}.
        state.write_text(json.dumps({server.url: joined["token"]}))
        run_until_connected(server, tmp_path, state)  # no enrolment key: the kept token must do
        assert phones(server) == before  # the same phone, not a new one

        # A token the server does not know (the phone was deleted): it joins again.
        state.write_text(json.dumps({server.url: "not-a-token"}))
        run_until_connected(server, tmp_path, state, "--enrol-key", ENROL_KEY)
        kept = json.loads(state.read_text())["servers"][server.url][THIS_PHONE]
        assert kept["token"] not in ("not-a-token", joined["token"])
        assert len(phones(server)) == len(before) + 1
    finally:
        server.stop()
