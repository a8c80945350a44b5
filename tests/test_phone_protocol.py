"""The /phone protocol against a real server over loopback, one message at a time.

A test plays the phone with a real Socket.IO client (``ScriptedPhone``), so
every refusal, lease and routing decision is observed as a phone sees it.
"""

import time

import pytest
import socketio

from phone_agent import protocol as p
from server import db

from .calling import Console, ScriptedPhone, assets_of, seed_campaign, wait_until
from .conftest import LiveServer

pytestmark = pytest.mark.slow

NUMBERS = [f"010-3000-{i:04d}" for i in range(12)]


@pytest.fixture
def server(tmp_path):
    live = LiveServer(tmp_path, config={"lease_base_s": 1.0, "lease_per_call_s": 1.0},
                      seed=lambda path, uploads: seed_campaign(path, uploads, numbers=NUMBERS, phones=3,
                                                               settings={"agent_ring_repeats": 2,
                                                                         "agent_ring_cycle_s": 3}))
    yield live
    live.stop()


@pytest.fixture
def running(server):
    Console(server.url).campaign(server.seeded["campaign_id"], "start")
    return server


@pytest.fixture
def phones(running):
    made = []

    def make(index: int = 0, hello: bool = True) -> ScriptedPhone:
        phone = ScriptedPhone(running.url, running.seeded["tokens"][index]).connect()
        if hello:
            assert phone.hello(assets=assets_of(running))["ok"]
        made.append(phone)
        return phone
    yield make
    for phone in made:
        phone.close()


def counts(server) -> dict:
    store = server.store()
    try:
        return {"calls": store.execute("select count(*) from call").fetchone()[0],
                "events": store.execute("select count(*) from call_event").fetchone()[0],
                "leased": store.execute("select count(*) from campaign_contact where status='leased'").fetchone()[0]}
    finally:
        store.conn.close()


def test_wrong_token_or_protocol_is_refused_with_a_code_the_phone_reads(server):
    for auth, code in (({"token": "not-a-token", "protocol": 1}, "bad_token"),
                       ({"token": server.seeded["tokens"][0], "protocol": 99}, "protocol")):
        client = socketio.Client(reconnection=False)
        refusals = []
        client.on("connect_error", refusals.append, namespace=p.NAMESPACE)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, namespaces=[p.NAMESPACE], transports=["websocket"], auth=auth,
                           wait_timeout=5)
        assert refusals and refusals[0]["code"] == code and refusals[0]["message"]
    assert counts(server)["calls"] == 0


def test_malformed_messages_are_refused_and_change_nothing(phones, running):
    phone = phones(hello=False)
    assert phone.send(p.LEASE, {"want": 1})["error"]["code"] == p.NOT_HELLO
    assert phone.hello(assets=assets_of(running))["ok"]
    before = counts(running)
    for event, payload, code in (
        (p.LEASE, {"want": 0}, p.BAD_PAYLOAD),
        (p.LEASE, {"want": 1, "extra": True}, p.BAD_PAYLOAD),
        (p.LEASE, "give me numbers", p.BAD_PAYLOAD),
        (p.HEARTBEAT, {"battery": 300, "call_state": "idle"}, p.BAD_PAYLOAD),
        (p.CALL, {"call_id": "x" * 12, "seq": 1, "event": "teleport", "at": 1.8e9}, p.BAD_PAYLOAD),
        ("format_disk", {}, p.UNKNOWN_EVENT),
    ):
        answer = phone.send(event, payload)
        assert answer["ok"] is False and answer["error"]["code"] == code, (event, answer)
    assert counts(running) == before


def test_no_lease_without_the_campaign_assets(phones, running):
    phone = phones(hello=False)
    phone.hello(assets=[])
    answer = phone.send(p.LEASE, {"want": 2})
    assert answer == {"ok": True, "batch": None, "retry_s": 5.0, "reason": "assets_missing"}
    assert phone.send(p.ASSETS, {"have": assets_of(running)}) == {"ok": True, "missing": []}
    assert len(phone.send(p.LEASE, {"want": 2})["batch"]["calls"]) == 2


def test_a_call_is_recorded_event_by_event_and_replays_are_ignored(phones, running):
    phone = phones()
    (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    call_id = call["call_id"]
    for event, data in (("dialing", {}), ("ringing", {}), ("answered", {}),
                        ("intro_started", {"sha256": running.seeded["assets"]["intro"][0]}),
                        ("intro_finished", {})):
        assert phone.event(call_id, event, data) == {"ok": True, "duplicate": False}
    # A resent event (same seq) is acknowledged and stored once.
    assert phone.event(call_id, "answered", seq=3) == {"ok": True, "duplicate": True}
    assert phone.event(call_id, "ended", {"result": "listened"})["ok"]
    store = running.store()
    try:
        row = db.call(store, call_id)
        assert (row["result"], row["number"], row["attempt"]) == ("listened", call["number"], 1)
        assert [e["event"] for e in db.call_events(store, call_id)] == [
            "dialing", "ringing", "answered", "intro_started", "intro_finished", "ended"]
    finally:
        store.conn.close()
    # After the end: a resend is a duplicate, a new event is refused, unknown calls too.
    assert phone.event(call_id, "ended", {"result": "listened"}, seq=6)["duplicate"] is True
    assert phone.event(call_id, "answered", seq=7)["error"]["code"] == p.BAD_TRANSITION
    assert phone.event("nosuchcall123", "dialing")["error"]["code"] == p.UNKNOWN_CALL


def test_impossible_transitions_are_refused(phones):
    phone = phones()
    (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    assert phone.event(call["call_id"], "answered")["error"]["code"] == p.BAD_TRANSITION  # before dialing
    phone.seq[call["call_id"]] = 0
    assert phone.event(call["call_id"], "dialing")["ok"]
    refused = phone.event(call["call_id"], "ended", {"result": "connected"})
    assert refused["error"]["code"] == p.BAD_TRANSITION and "connected" in refused["error"]["message"]


def test_another_phones_call_is_unknown(phones):
    first, second = phones(0), phones(1)
    (call,) = first.send(p.LEASE, {"want": 1})["batch"]["calls"]
    assert second.event(call["call_id"], "dialing")["error"]["code"] == p.UNKNOWN_CALL


def press_one(phone, call_id: str):
    for event, data in (("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"})):
        assert phone.event(call_id, event, data)["ok"], event


def finish_with_agent(phone, call_id: str, line: dict):
    assert phone.event(call_id, "agent_ringing", {"line_id": line["id"]})["ok"]
    assert phone.event(call_id, "bridged", {"line_id": line["id"]})["ok"]
    assert phone.event(call_id, "ended", {"result": "connected"})["ok"]


def test_agents_are_taken_in_turn(phones):
    phone = phones()
    calls = phone.send(p.LEASE, {"want": 4})["batch"]["calls"]
    extensions = []
    for call in calls[:3]:
        press_one(phone, call["call_id"])
        line = phone.send(p.AGENT, {"call_id": call["call_id"], "attempt": 1})["line"]
        assert line["ring_s"] == 6.0  # 2 repeats x 3 s
        extensions.append(line["extension"])
        finish_with_agent(phone, call["call_id"], line)
    assert extensions == ["1001", "1002", "1001"]


def test_busy_and_away_lines_are_skipped(phones, running):
    a, b = phones(0), phones(1)
    call_a = a.send(p.LEASE, {"want": 1})["batch"]["calls"][0]["call_id"]
    call_b = b.send(p.LEASE, {"want": 1})["batch"]["calls"][0]["call_id"]
    press_one(a, call_a)
    line_a = a.send(p.AGENT, {"call_id": call_a, "attempt": 1})["line"]
    a.event(call_a, "agent_ringing", {"line_id": line_a["id"]})
    a.event(call_a, "bridged", {"line_id": line_a["id"]})          # 1001 now busy
    press_one(b, call_b)
    line_b = b.send(p.AGENT, {"call_id": call_b, "attempt": 1})["line"]
    assert (line_a["extension"], line_b["extension"]) == ("1001", "1002")
    b.event(call_b, "agent_ringing", {"line_id": line_b["id"]})
    b.event(call_b, "bridged", {"line_id": line_b["id"]})
    # Both busy: a third voter gets "none".
    c = phones(2)
    call_c = c.send(p.LEASE, {"want": 1})["batch"]["calls"][0]["call_id"]
    press_one(c, call_c)
    assert c.send(p.AGENT, {"call_id": call_c, "attempt": 1})["line"] is None
    # 1001 goes away (manager), 1002 finishes: the next voter gets 1002 although 1001 is next in turn.
    a.event(call_a, "ended", {"result": "connected"})
    b.event(call_b, "ended", {"result": "connected"})
    console = Console(running.url)
    console.post(f"/agents/{line_a['id']}/away", {"away": "1"})
    call_d = a.send(p.LEASE, {"want": 1})["batch"]["calls"][0]["call_id"]
    press_one(a, call_d)
    assert a.send(p.AGENT, {"call_id": call_d, "attempt": 1})["line"]["extension"] == "1002"


def test_nobody_answers_promise_then_callback_request(phones, running):
    phone = phones()
    call_id = phone.send(p.LEASE, {"want": 1})["batch"]["calls"][0]["call_id"]
    press_one(phone, call_id)
    tried = []
    line = phone.send(p.AGENT, {"call_id": call_id, "attempt": 1})["line"]
    while line is not None:
        tried.append(line["extension"])
        phone.event(call_id, "agent_ringing", {"line_id": line["id"]})
        phone.event(call_id, "agent_no_answer", {"line_id": line["id"]})
        line = phone.send(p.AGENT, {"call_id": call_id, "attempt": len(tried) + 1,
                                    "after_line": line["id"], "outcome": "no_answer"})["line"]
    assert tried == ["1001", "1002"]
    assert phone.event(call_id, "promise_started")["ok"]
    assert phone.event(call_id, "ended", {"result": "callback_requested"})["ok"]
    store = running.store()
    try:
        rows, total = db.callbacks_page(store)
        assert total == 1 and rows[0]["call_id"] == call_id and rows[0]["status"] == "requested"
        assert rows[0]["number"] == db.call(store, call_id)["number"]
    finally:
        store.conn.close()


def test_a_vanished_phones_undialled_contacts_go_back_and_none_is_dialled_twice(phones, running):
    lost = phones(0)
    batch = lost.send(p.LEASE, {"want": 3})["batch"]["calls"]
    lost.event(batch[0]["call_id"], "dialing")
    lost.close()  # the phone dies mid-batch
    # After the lease expires: two undialled contacts are due again, the dialled one is failed.
    store = running.store()
    try:
        wait_until(lambda: db.call(store, batch[0]["call_id"])["result"] == "failed", timeout=20,
                   message="lost call closed")
        assert db.call(store, batch[0]["call_id"])["reason"] == "phone_lost"
        wait_until(lambda: db.call(store, batch[1]["call_id"]) is None, timeout=20, message="lease expiry")
    finally:
        store.conn.close()
    survivor = phones(1)
    numbers = []
    while True:
        answer = survivor.send(p.LEASE, {"want": 5})
        if not answer["batch"]:
            break
        for call in answer["batch"]["calls"]:
            numbers.append(call["number"])
            survivor.event(call["call_id"], "dialing")
            survivor.event(call["call_id"], "answered")
            survivor.event(call["call_id"], "ended", {"result": "listened"})
    assert batch[1]["number"] in numbers and batch[2]["number"] in numbers
    assert batch[0]["number"] not in numbers            # dialled once: never again
    assert len(numbers) == len(set(numbers)) == len(NUMBERS) - 1


def test_server_restart_mid_call_loses_nothing(running, tmp_path):
    phone = ScriptedPhone(running.url, running.seeded["tokens"][0]).connect()
    phone.hello(assets=assets_of(running))
    calls = phone.send(p.LEASE, {"want": 2})["batch"]["calls"]
    first = calls[0]["call_id"]
    phone.event(first, "dialing")
    phone.event(first, "answered")
    phone.close()
    running.kill()
    running.start()
    phone = ScriptedPhone(running.url, running.seeded["tokens"][0]).connect()
    # The phone still holds its first call; it gave up the second.
    assert phone.hello(assets=assets_of(running), calls=[first])["campaign"]["state"] == "running"
    phone.seq[first] = 2
    assert phone.event(first, "intro_started", {"sha256": running.seeded["assets"]["intro"][0]})["ok"]
    assert phone.event(first, "ended", {"result": "hung_up"})["ok"]
    store = running.store()
    try:
        row = db.call(store, first)
        assert (row["result"], row["hung_up_in"]) == ("hung_up", "intro")
        assert db.call(store, calls[1]["call_id"]) is None      # returned to the pool at hello
        again = phone.send(p.LEASE, {"want": 20})["batch"]["calls"]
        assert calls[1]["number"] in [c["number"] for c in again]
        assert calls[0]["number"] not in [c["number"] for c in again]
    finally:
        store.conn.close()
        phone.close()


def test_no_answer_is_retried_after_the_delay_up_to_the_limit(tmp_path):
    server = LiveServer(tmp_path, seed=lambda path, uploads: seed_campaign(
        path, uploads, numbers=["010-4444-0001"], phones=1,
        settings={"no_answer_max_attempts": 2, "no_answer_retry_delay_min": 30}))
    phone = None
    try:
        Console(server.url).campaign(server.seeded["campaign_id"], "start")
        phone = ScriptedPhone(server.url, server.seeded["tokens"][0]).connect()
        phone.hello(assets=assets_of(server))
        (first,) = phone.send(p.LEASE, {"want": 5})["batch"]["calls"]
        assert first["attempt"] == 1
        phone.event(first["call_id"], "dialing")
        phone.event(first["call_id"], "ringing")
        phone.event(first["call_id"], "ended", {"result": "no_answer"})
        waiting = phone.send(p.LEASE, {"want": 5})
        assert waiting["batch"] is None and waiting["reason"] == "wait"
        assert 60 - 1 <= waiting["retry_s"] <= 60          # capped at a minute; due in 30 min
        store = server.store()
        try:
            row = store.execute("SELECT status, attempts, next_at, last_result FROM campaign_contact").fetchone()
            assert (row["status"], row["attempts"], row["last_result"]) == ("pending", 1, "no_answer")
            assert 29 * 60 < row["next_at"] - db.call(store, first["call_id"])["ended_at"] <= 30 * 60 + 5
            # Half an hour later (the test moves the due time instead of waiting):
            store.execute("UPDATE campaign_contact SET next_at = 0")
        finally:
            store.conn.close()
        (second,) = phone.send(p.LEASE, {"want": 5})["batch"]["calls"]
        assert (second["number"], second["attempt"]) == (first["number"], 2)
        phone.event(second["call_id"], "dialing")
        phone.event(second["call_id"], "ended", {"result": "no_answer"})
        assert phone.send(p.LEASE, {"want": 5})["reason"] == "finished"   # two attempts: done
    finally:
        if phone:
            phone.close()
        server.stop()


def test_a_phone_that_cannot_hear_the_call_gets_no_calls_and_폰_등록_says_why(phones, running):
    phone = phones()
    console = Console(running.url)
    none = {"path": "none", "capture": None, "helper": "plays", "android": "10",
            "sources": {"voice-call-downlink": "refused", "voice-call": "refused", "mic": "refused"},
            "problem": "audio capture is impossible on Android 10", "probed_at": time.time()}
    # The phone says it is ready, but its probe found no way to hear the call:
    # the server believes the probe.
    assert phone.send(p.HEARTBEAT, {"call_state": "idle", "device": "ready", "audio": none})["ok"]
    answer = phone.send(p.LEASE, {"want": 2})
    assert answer["batch"] is None and answer["reason"] == "device_unavailable"
    page = console.http.get(f"{running.url}/phones/").text
    assert "오디오 불가 — Android 10" in page and "audio capture is impossible on Android 10" in page

    # 오디오 점검 sends the phone the probe command; a new probe found the downlink.
    phone_id = next(row["id"] for row in db.phones(running.store()) if row["name"] == "phone-1")
    assert "오디오 점검을 요청했습니다" in console.post(f"/phones/{phone_id}/probe-audio").text
    wait_until(lambda: any(event == p.COMMAND and body["type"] == "probe_audio"
                           for event, body in phone.received), message="the probe command")
    downlink = dict(none, path="downlink", capture="voice-call-downlink", android="13", problem=None,
                    sources={"voice-call-downlink": "signal", "voice-call": "signal", "mic": "signal"})
    assert phone.send(p.HEARTBEAT, {"call_state": "idle", "device": "ready", "audio": downlink})["ok"]
    assert len(phone.send(p.LEASE, {"want": 2})["batch"]["calls"]) == 2
    page = console.http.get(f"{running.url}/phones/").text
    assert "통화음 직접 수신" in page and "오디오 불가" not in page

    # A probe result that breaks the protocol is refused and changes nothing.
    bad = phone.send(p.HEARTBEAT, {"call_state": "idle", "audio": {"path": "loud"}})
    assert bad["ok"] is False and bad["error"]["code"] == p.BAD_PAYLOAD
    assert "통화음 직접 수신" in console.http.get(f"{running.url}/phones/").text
