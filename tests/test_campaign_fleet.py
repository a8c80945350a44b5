"""Whole campaigns: a real ``ars serve`` and simulated phones (real Socket.IO
clients on loopback, simulated voters and agents), checked against the records.

Parametrized by telephony backend: ``sim`` (simulated phones) and ``adb``
(the real adb backend driving virtual handsets through the real adb server,
the same voters and agents behind them): the same campaigns, the same checks.
The adb fleets run at half the sim fleets' speed: their call states
are read by polling the phones' dumpsys, as on a real handset.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from phone_agent.simulator.fleet import Fleet
from server import db, sample

from .adb_fixtures import adb_server  # noqa: F401  (fixture)
from .calling import Console, wait_until
from .conftest import LiveServer

# Whole campaigns load both cores: under pytest-xdist they run one after another on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fleet")]

ENROL_KEY = "fleet-test-key"
ONE_ATTEMPT = {"no_answer_max_attempts": 1, "busy_max_attempts": 1,
               "call_hours_start": "00:00", "call_hours_end": "23:59",
               "agent_ring_repeats": 1, "agent_ring_cycle_s": 4}
BACKENDS = ["sim", "adb"]


def fleet_options(backend: str, request) -> dict:
    """How a fleet of this backend is made (Fleet keyword arguments)."""
    if backend == "sim":
        return {"speed": 40}
    adb = request.getfixturevalue("adb_server")  # one private adb server for the session
    return {"speed": 20, "backend": "adb", "adb_port": adb.port}


def campaign_server(tmp_path, contacts: int, config: dict | None = None) -> LiveServer:
    return LiveServer(tmp_path, config=config or {},
                      seed=lambda path, uploads: sample.seed_campaign(
                          path, uploads, contacts=contacts, enrol_key=ENROL_KEY, intro_s=1.0, promise_s=0.5,
                          settings=ONE_ATTEMPT))


def campaign_state(server) -> str:
    store = server.store()
    try:
        return db.campaign(store, server.seeded["campaign_id"])["state"]
    finally:
        store.conn.close()


def records(server) -> dict:
    store = server.store()
    try:
        campaign_id = server.seeded["campaign_id"]
        calls = store.execute("SELECT id, phone_id, campaign_contact_id, number, result, dialed_at, reason FROM call "
                              "WHERE campaign_id = ?", [campaign_id]).fetchall()
        return {
            "calls": [dict(row) for row in calls],
            "contacts": dict(store.execute("SELECT status, count(*) FROM campaign_contact WHERE campaign_id = ? "
                                           "GROUP BY status", [campaign_id]).fetchall()),
            "counters": db.campaign_counters(store, campaign_id),
            "results": db.campaign_results(store, campaign_id),
            "callbacks": db.callbacks_page(store)[1],
        }
    finally:
        store.conn.close()


def assert_each_contact_dialled_once(found: dict, contacts: int) -> None:
    dialled = Counter(call["campaign_contact_id"] for call in found["calls"] if call["dialed_at"])
    assert len(dialled) == contacts, "every contact was dialled"
    assert max(dialled.values()) == 1, "no contact was dialled twice"
    finals = Counter(call["campaign_contact_id"] for call in found["calls"] if call["result"])
    assert len(finals) == contacts and max(finals.values()) == 1, "one final record per contact"
    assert found["contacts"] == {"done": contacts}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_campaign_of_120_contacts_on_10_phones_completes(tmp_path, backend, request):
    server = campaign_server(tmp_path, contacts=120)
    try:
        Console(server.url).campaign(server.seeded["campaign_id"], "start")
        fleet = Fleet.in_thread(server.url, 10, enrol_key=ENROL_KEY, seed=3, state_file=None,
                                cache_dir=tmp_path / "phone-cache", **fleet_options(backend, request))
        try:
            wait_until(lambda: campaign_state(server) == "finished", timeout=180, every=0.5,
                       message="campaign finished")
        finally:
            seen = fleet.stop(grace_s=2.0)
        found = records(server)
        assert_each_contact_dialled_once(found, 120)
        # What the phones saw is what the server recorded, and the counters agree.
        assert seen["refused_events"] == 0
        assert Counter(seen["results"]) == Counter(found["results"])
        counters = found["counters"]
        assert counters["dialled"] == sum(found["results"].values()) == 120
        assert counters["remaining"] == 0 and counters["done"] == 120
        assert counters["connected"] == found["results"].get("connected", 0)
        assert counters["callback"] == found["callbacks"]
        pressed = sum(1 for call in found["calls"] if call["result"] in ("connected", "callback_requested"))
        assert counters["pressed_one"] >= pressed > 0
        assert found["results"].get("listened", 0) > 0 and found["results"].get("no_answer", 0) > 0
        assert_statistics_agree(server, found, seen)
    finally:
        server.stop()


def assert_statistics_agree(server, found: dict, seen: dict) -> None:
    """The 통계 workbook of the finished campaign says what the records and
    the phones say."""
    import datetime as dt
    import io

    import openpyxl

    from server.reports import labels, period
    today = period.today(time.time())
    answer = Console(server.url).post("/exports/statistics", {
        "format": "xlsx", "campaign": server.seeded["campaign_id"],
        "start": (today - dt.timedelta(days=1)).isoformat(), "end": today.isoformat()})
    assert answer.ok, answer.text
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    summary = dict(book["요약"].iter_rows(min_row=2, values_only=True))
    counters = found["counters"]
    assert summary["발신"] == counters["dialled"] == sum(1 for call in found["calls"] if call["dialed_at"])
    assert summary["응답"] == counters["answered"] and summary["1번 누름"] == counters["pressed_one"]
    assert summary["상담원 연결"] == counters["connected"] and summary["콜백 요청"] == found["callbacks"]
    by_result = {row[0]: row[1] for row in book["결과별"].iter_rows(min_row=2, values_only=True)}
    assert by_result == {labels.result(code): n for code, n in Counter(seen["results"]).items()}
    hours = sum(row[1] + row[4] for row in book["시간대별"].iter_rows(min_row=2, values_only=True))
    assert hours == counters["dialled"], "every call in one hour of today or yesterday"


def start_fleet_process(server, tmp_path, phones: int, seed: int, options: dict,
                        extra: tuple = ()) -> subprocess.Popen:
    """``python -m phone_agent fleet`` in a process of its own, so it can be killed
    (with the adb backend its virtual handsets die with it; the adb server stays)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    backend = ["--backend", "adb", "--adb-port", str(options["adb_port"])] if "adb_port" in options else []
    with open(tmp_path / "fleet.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "phone_agent", "fleet", "--server", server.url, "--phones", str(phones),
             "--enrol-key", ENROL_KEY, "--seed", str(seed), "--speed", str(options["speed"]), *backend,
             "--state", str(tmp_path / "fleet.json"), "--cache", str(tmp_path / "phone-cache"), *extra],
            stdout=subprocess.DEVNULL, stderr=log, env=env)


@pytest.mark.parametrize("backend", BACKENDS)
def test_phones_killed_mid_campaign_lose_nothing_and_dial_nothing_twice(tmp_path, backend, request):
    options = fleet_options(backend, request)
    server = campaign_server(tmp_path, contacts=120, config={"lease_base_s": 5.0, "lease_per_call_s": 2.0})
    try:
        Console(server.url).campaign(server.seeded["campaign_id"], "start")
        first = start_fleet_process(server, tmp_path, phones=6, seed=5, options=options)
        wait_until(lambda: records(server)["counters"]["dialled"] >= 30, timeout=90, message="calls under way")
        first.kill()                       # every phone dies at once, mid-batch and mid-call
        first.wait(timeout=10)
        # The leases expire: undialled contacts go back, calls cut off are closed as failed.
        wait_until(lambda: records(server)["counters"]["in_progress"] == 0
                   and records(server)["contacts"].get("leased", 0) == 0,
                   timeout=60, message="leases of the dead phones expired")
        lost = [c for c in records(server)["calls"] if c["reason"] == "phone_lost"]
        second = start_fleet_process(server, tmp_path, phones=6, seed=6, options=options)
        try:
            wait_until(lambda: campaign_state(server) == "finished", timeout=180, every=0.5,
                       message="campaign finished by the second fleet")
        finally:
            second.terminate()
            second.wait(timeout=20)
        found = records(server)
        assert_each_contact_dialled_once(found, 120)
        assert all(c["result"] == "failed" for c in found["calls"] if c["reason"] == "phone_lost")
        assert len([c for c in found["calls"] if c["reason"] == "phone_lost"]) == len(lost)
    finally:
        server.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_killed_and_restarted_mid_campaign_resumes(tmp_path, backend, request):
    server = campaign_server(tmp_path, contacts=100, config={"lease_base_s": 5.0, "lease_per_call_s": 2.0})
    try:
        Console(server.url).campaign(server.seeded["campaign_id"], "start")
        fleet = Fleet.in_thread(server.url, 8, enrol_key=ENROL_KEY, seed=9, state_file=None,
                                cache_dir=tmp_path / "phone-cache", **fleet_options(backend, request))
        try:
            wait_until(lambda: records(server)["counters"]["dialled"] >= 40, timeout=90, message="calls under way")
            server.kill()                  # SIGKILL: no clean shutdown
            time.sleep(1.0)
            server.start()                 # same database, same port: the phones reconnect
            wait_until(lambda: campaign_state(server) == "finished", timeout=180, every=0.5,
                       message="campaign finished after the restart")
        finally:
            seen = fleet.stop(grace_s=2.0)
        assert seen["reconnects"] >= 8
        found = records(server)
        assert_each_contact_dialled_once(found, 100)
        # Every call a phone finished was recorded, before or after the restart.
        assert sum(seen["results"].values()) <= sum(found["results"].values())
    finally:
        server.stop()


def phone_health(server, phone_id: int) -> dict:
    store = server.store()
    try:
        row = store.execute("SELECT health FROM phone WHERE id = ?", [phone_id]).fetchone()
        return json.loads(row[0]) if row and row[0] else {}
    finally:
        store.conn.close()


def test_a_virtual_phone_dropped_mid_call_fails_that_call_and_is_used_again(tmp_path, request):
    """adb loses one handset in the middle of a call for a few seconds: that
    call ends failed with the reason, the calls it held go back at once (not
    at lease expiry), the server shows it unavailable, the other phones keep
    calling, and when it is back it calls again."""
    server = campaign_server(tmp_path, contacts=90)
    try:
        Console(server.url).campaign(server.seeded["campaign_id"], "start")
        fleet = Fleet.in_thread(server.url, 4, enrol_key=ENROL_KEY, seed=4, state_file=None,
                                cache_dir=tmp_path / "phone-cache", **fleet_options("adb", request))
        try:
            victim = fleet.fleet.phones[0]
            handset = fleet.fleet.rack.handsets[0]
            wait_until(lambda: victim.runner.current is not None
                       and any(c.state == "ACTIVE" for c in list(handset.calls) if c.live),
                       timeout=60, every=0.01, message="the victim is in an answered call")
            cut_call = victim.runner.current
            others_before = sum(p.metrics.calls for p in fleet.fleet.phones[1:])
            fleet.fleet.rack[0].go_offline(4.0)  # adb loses the phone: connection reset, no answer
            wait_until(lambda: phone_health(server, victim.phone_id).get("device") == "unavailable",
                       timeout=10, every=0.1, message="the server hears the phone is unavailable")
            problem = phone_health(server, victim.phone_id)["problem"]
            held = [c for c in records(server)["calls"] if c["result"] is None and c["dialed_at"] is None
                    and c.get("phone_id") == victim.phone_id]
            # the others go on calling while the victim is away (all started together,
            # after their audio probes, so the first of their calls may end only now)
            wait_until(lambda: sum(p.metrics.calls for p in fleet.fleet.phones[1:]) > others_before,
                       timeout=30, every=0.05, message="the other phones finished a call")
            victim_away_meanwhile = victim.runner.problem is not None
            victim_calls = victim.metrics.calls
            wait_until(lambda: victim.metrics.calls > victim_calls + 2, timeout=60,
                       message="the phone is back and calling")
            wait_until(lambda: campaign_state(server) == "finished", timeout=180, every=0.5,
                       message="campaign finished")
        finally:
            fleet.stop(grace_s=2.0)
        found = records(server)
        cut = [c for c in found["calls"] if c["id"] == cut_call]
        assert cut and cut[0]["result"] == "failed" and "DeviceUnavailable" in cut[0]["reason"]
        assert any(word in problem for word in ("offline", "connection lost", "not connected", "closed")), problem
        assert held == []  # nothing stayed leased to the lost phone
        assert victim_away_meanwhile  # the others kept calling while it was away
        assert_each_contact_dialled_once(found, 90)
        assert phone_health(server, victim.phone_id).get("device") == "ready"
    finally:
        server.stop()


def dial_log(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_frozen_phones_and_a_frozen_server_never_dial_a_voter_twice(tmp_path):
    """Phones frozen past their lease, then the server frozen past every
    lease: each time the phones must not dial what the server has not just
    confirmed. Checked against the phones' own record of every real dial,
    not only the server's."""
    server = campaign_server(tmp_path, contacts=160,
                             config={"lease_base_s": 4.0, "lease_per_call_s": 2.0, "reconnect_grace_s": 2.0})
    dials = tmp_path / "dials.jsonl"
    fleet = None
    try:
        Console(server.url).campaign(server.seeded["campaign_id"], "start")
        fleet = start_fleet_process(server, tmp_path, phones=6, seed=11, options={"speed": 40},
                                    extra=("--dial-log", str(dials)))
        wait_until(lambda: records(server)["counters"]["dialled"] >= 30, timeout=90, message="calls under way")
        os.kill(fleet.pid, signal.SIGSTOP)            # every phone freezes, mid-batch and mid-call
        time.sleep(12.0)                              # past every lease (4 + 2 n s)
        os.kill(fleet.pid, signal.SIGCONT)
        before = records(server)["counters"]["dialled"]
        wait_until(lambda: records(server)["counters"]["dialled"] >= before + 30, timeout=90,
                   message="calling again after the phones thawed")
        os.kill(server.process.pid, signal.SIGSTOP)   # the server freezes (a disk stall, swap)
        time.sleep(12.0)
        os.kill(server.process.pid, signal.SIGCONT)
        wait_until(lambda: campaign_state(server) == "finished", timeout=240, every=0.5,
                   message="campaign finished")
    finally:
        if fleet is not None:
            fleet.terminate()
            fleet.wait(timeout=20)
        found = records(server)
        server.stop()
    dialled = dial_log(dials)
    assert len(dialled) >= 160
    by_call = Counter(d["call_id"] for d in dialled)
    assert max(by_call.values()) == 1, "no call was dialled twice"
    claimed = {c["id"] for c in found["calls"] if c["dialed_at"] is not None}
    assert set(by_call) <= claimed, "every real dial had a claim the server stored"
    per_number = Counter(d["number"] for d in dialled)
    assert max(per_number.values()) == 1, "no voter was dialled twice (one attempt each)"
    assert_each_contact_dialled_once(found, 160)
