"""Calling integrity through a real server and real Socket.IO phones: a voter
is dialled only on the server's fresh yes, never after 수신거부, never twice by
accident; a revoked phone stops at once; agents' states are the manager's word.

Each test plays one or more phones message by message (``ScriptedPhone``)
against ``ars serve`` on loopback, and checks what a manager or a voter
would notice: the records, the dashboard, who gets dialled.
"""

import json
import re
import threading
import time

import pytest
import socketio

from phone_agent import protocol as p
from server import db

from .calling import Console, ScriptedPhone, assets_of, seed_campaign, wait_until
from .conftest import LiveServer

pytestmark = pytest.mark.slow

NUMBERS = [f"010-5000-{i:04d}" for i in range(10)]


def numbers_digits(n: str) -> str:
    return n.replace("-", "")


def start_server(tmp_path, config=None, numbers=NUMBERS, settings=None, phones=3, **seed):
    server = LiveServer(tmp_path, config=dict({"lease_base_s": 30.0, "lease_per_call_s": 5.0}, **(config or {})),
                        seed=lambda path, uploads: seed_campaign(path, uploads, numbers=numbers, phones=phones,
                                                                 settings=settings, **seed))
    Console(server.url).campaign(server.seeded["campaign_id"], "start")
    return server


@pytest.fixture
def server(tmp_path):
    live = start_server(tmp_path)
    yield live
    live.stop()


@pytest.fixture
def phones(server):
    made = []

    def make(index: int = 0) -> ScriptedPhone:
        phone = ScriptedPhone(server.url, server.seeded["tokens"][index]).connect()
        assert phone.hello(assets=assets_of(server))["ok"]
        made.append(phone)
        return phone
    yield make
    for phone in made:
        phone.close()


def query(server, sql: str, params=()):
    store = server.store()
    try:
        return [dict(row) for row in store.execute(sql, params).fetchall()]
    finally:
        store.conn.close()


def dashboard(console: Console) -> dict:
    page = console.http.get(f"{console.url}/dashboard").text
    return json.loads(re.search(r'<script id="dashboard-state" type="application/json">(.*?)</script>',
                                page, re.S).group(1))


def send_raw(phone, text: str) -> dict:
    """Send an event as raw Socket.IO text (the client library itself cannot
    encode a message nested a thousand deep); the server's acknowledgement."""
    answered = threading.Event()
    answer = []
    ack_id = phone.client._generate_ack_id(p.NAMESPACE, lambda *data: (answer.extend(data), answered.set()))
    phone.client.eio.send(f"2{p.NAMESPACE},{ack_id}{text}")
    assert answered.wait(10), "no acknowledgement"
    return answer[0]


def lease_all(phone, want=5) -> list[dict]:
    calls = []
    while True:
        answer = phone.send(p.LEASE, {"want": want})
        if not answer.get("batch"):
            return calls
        calls.extend(answer["batch"]["calls"])


# -- claim before dial -----------------------------------------------------------

def test_a_number_put_on_do_not_call_after_leasing_is_never_dialled(server, phones):
    phone = phones()
    calls = phone.send(p.LEASE, {"want": 3})["batch"]["calls"]
    refused_number = calls[0]["number"]
    console = Console(server.url)
    assert console.post("/contacts/do-not-call", {"numbers": refused_number, "note": "전화로 요청"}).ok
    # The phone asks to dial the leased call: the server says no, naming why.
    answer = phone.event(calls[0]["call_id"], "dialing")
    assert answer["ok"] is False and answer["error"]["code"] == p.DO_NOT_CALL
    # The other leased calls may be dialled as usual.
    assert phone.event(calls[1]["call_id"], "dialing") == {"ok": True, "duplicate": False}
    # No call is recorded for the refused number, its contact is closed as skipped,
    # and the manager sees why.
    assert query(server, "SELECT count(*) AS n FROM call WHERE number = ?", [refused_number])[0]["n"] == 0
    (contact,) = query(server, "SELECT status, last_result FROM campaign_contact WHERE number = ?",
                       [refused_number])
    assert contact == {"status": "done", "last_result": "do_not_call"}
    assert dashboard(console)["counters"]["skipped_dnc"] == 1
    rest = lease_all(phones(1))
    assert refused_number not in [c["number"] for c in rest]


def test_do_not_call_added_mid_campaign_skips_every_waiting_contact_at_once(server, phones):
    phone = phones()
    phone.send(p.LEASE, {"want": 2})
    waiting = [numbers_digits(n) for n in NUMBERS[5:8]]
    console = Console(server.url)
    assert console.post("/contacts/do-not-call", {"numbers": "\n".join(waiting)}).ok
    rows = query(server, "SELECT number, status, last_result FROM campaign_contact WHERE last_result = 'do_not_call'")
    assert sorted(r["number"] for r in rows) == sorted(waiting)
    leased = [c["number"] for c in lease_all(phones(1))]
    assert not set(waiting) & set(leased)
    assert dashboard(console)["counters"]["skipped_dnc"] == 3


def test_a_paused_campaign_refuses_the_dial_and_the_call_goes_back(server, phones):
    phone = phones()
    (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    Console(server.url).campaign(server.seeded["campaign_id"], "pause")
    answer = phone.event(call["call_id"], "dialing")
    assert answer["error"]["code"] == p.NOT_RUNNING
    (contact,) = query(server, "SELECT status, attempts FROM campaign_contact WHERE number = ?", [call["number"]])
    assert contact == {"status": "pending", "attempts": 0}
    assert query(server, "SELECT count(*) AS n FROM call WHERE id = ?", [call["call_id"]])[0]["n"] == 0


def test_a_dial_confirmed_too_late_is_given_back_by_the_phone_and_not_counted(server, phones):
    """The phone's wait for the confirmation ran out (it did not dial) but the
    server had stored it: the phone's release undoes the claim."""
    phone = phones()
    (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    assert phone.event(call["call_id"], "dialing")["ok"]
    assert phone.send(p.RELEASE, {"call_ids": [call["call_id"]]}) == {"ok": True, "released": 1}
    (contact,) = query(server, "SELECT status, attempts FROM campaign_contact WHERE number = ?", [call["number"]])
    assert contact == {"status": "pending", "attempts": 0}
    # A call with progress after the dial is not released: the phone did dial it.
    (second,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    phone.event(second["call_id"], "dialing")
    phone.event(second["call_id"], "ringing")
    assert phone.send(p.RELEASE, {"call_ids": [second["call_id"]]})["released"] == 0


@pytest.mark.parametrize("retries", [1, 2])
def test_a_dial_confirmed_to_a_phone_that_froze_before_dialling_is_not_lost(tmp_path, retries):
    """The server confirmed the dial, then heard nothing past the lease (the
    phone froze before it dialled) and closed the call as lost. The phone
    wakes, finds its wait for the confirmation ran out, and gives the call
    back: the voter was never dialled, so the voter is due again at once —
    neither closed unheard (one attempt) nor put off as a no-answer (two)."""
    server = start_server(tmp_path, config={"lease_base_s": 1.0, "lease_per_call_s": 1.0},
                          settings={"no_answer_max_attempts": retries, "no_answer_retry_delay_min": 30})
    try:
        frozen, other = (ScriptedPhone(server.url, token).connect() for token in server.seeded["tokens"][:2])
        for phone in (frozen, other):
            phone.hello(assets=assets_of(server))
        (call,) = frozen.send(p.LEASE, {"want": 1})["batch"]["calls"]
        assert frozen.event(call["call_id"], "dialing")["ok"]
        wait_until(lambda: query(server, "SELECT reason FROM call WHERE id = ?", [call["call_id"]])[0]["reason"]
                   == "phone_lost", timeout=20, message="the call closed as lost")
        assert frozen.send(p.RELEASE, {"call_ids": [call["call_id"]]}) == {"ok": True, "released": 1}
        (contact,) = query(server, "SELECT status, attempts, last_result FROM campaign_contact WHERE number = ?",
                           [call["number"]])
        assert contact == {"status": "pending", "attempts": 0, "last_result": None}
        assert query(server, "SELECT count(*) AS n FROM call WHERE id = ?", [call["call_id"]]) == [{"n": 0}]
        assert call["number"] in {c["number"] for c in lease_all(other)}   # someone calls the voter now
        # A second release of the same call changes nothing.
        assert frozen.send(p.RELEASE, {"call_ids": [call["call_id"]]})["released"] == 0
        frozen.close()
        other.close()
    finally:
        server.stop()


def test_a_lost_call_that_rang_is_not_given_back_by_a_release(tmp_path):
    """Only a call whose one event is the dial's claim can be undone: one that
    rang was dialled, whatever the phone says."""
    server = start_server(tmp_path, config={"lease_base_s": 1.0, "lease_per_call_s": 1.0})
    try:
        phone = ScriptedPhone(server.url, server.seeded["tokens"][0]).connect()
        phone.hello(assets=assets_of(server))
        (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
        phone.event(call["call_id"], "dialing")
        phone.event(call["call_id"], "ringing")
        wait_until(lambda: query(server, "SELECT reason FROM call WHERE id = ?", [call["call_id"]])[0]["reason"]
                   == "phone_lost", timeout=20, message="the call closed as lost")
        assert phone.send(p.RELEASE, {"call_ids": [call["call_id"]]})["released"] == 0
        (row,) = query(server, "SELECT result, reason FROM call WHERE id = ?", [call["call_id"]])
        assert row == {"result": "failed", "reason": "phone_lost"}
        phone.close()
    finally:
        server.stop()


# -- keypad refusal --------------------------------------------------------------

def test_a_voter_who_presses_the_refusal_key_is_never_called_again(server, phones, tmp_path):
    phone = phones()
    (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    for event, data in (("dialing", {}), ("answered", {}), ("intro_started", {}), ("dtmf", {"digit": "9"})):
        assert phone.event(call["call_id"], event, data)["ok"], event
    # On the list at once, with a note naming the campaign, while the call still runs.
    (entry,) = query(server, "SELECT phone, note FROM do_not_call")
    assert entry == {"phone": call["number"], "note": "ARS 수신거부 (시험 캠페인)"}
    assert phone.event(call["call_id"], "ended", {"result": "refused"})["ok"]
    (row,) = query(server, "SELECT result FROM call WHERE id = ?", [call["call_id"]])
    assert row["result"] == "refused"
    console = Console(server.url)
    assert dashboard(console)["counters"]["refused"] == 1
    # A new campaign over the same list leaves the number out.
    store = server.store()
    try:
        second = db.create_campaign(store, name="2차", list_id=db.campaign(store, server.seeded["campaign_id"])["list_id"],
                                    settings={}, assets={}, kind="notice")
        numbers = [r[0] for r in store.execute("SELECT number FROM campaign_contact WHERE campaign_id = ?", [second])]
    finally:
        store.conn.close()
    assert call["number"] not in numbers and len(numbers) == len(NUMBERS) - 1


# -- fair leases, ordered events, small faults -----------------------------------

def test_one_phone_cannot_take_every_contact(server, phones):
    greedy = phones()
    first = greedy.send(p.LEASE, {"want": 50})["batch"]["calls"]
    assert len(first) == 5                                   # lease_max_held
    again = greedy.send(p.LEASE, {"want": 50})
    assert again["batch"] is None and again["reason"] == "holding" and again["retry_s"] > 0
    assert len(phones(1).send(p.LEASE, {"want": 50})["batch"]["calls"]) == 5
    # Dialling frees room for more.
    greedy.event(first[0]["call_id"], "dialing")
    assert greedy.send(p.LEASE, {"want": 50})["batch"] is None  # the pool is empty now (10 contacts)


def test_events_are_applied_in_order_and_never_dropped_silently(server, phones):
    phone = phones()
    (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    call_id = call["call_id"]
    assert phone.event(call_id, "dialing", seq=1)["ok"]
    gap = phone.event(call_id, "answered", seq=3)
    assert gap["error"]["code"] == p.SEQ_GAP and p.SEQ_GAP in p.RETRY_CODES
    assert phone.event(call_id, "ringing", seq=2) == {"ok": True, "duplicate": False}
    assert phone.event(call_id, "answered", seq=3) == {"ok": True, "duplicate": False}
    assert phone.event(call_id, "ringing", seq=2) == {"ok": True, "duplicate": True}
    conflict = phone.event(call_id, "answered", seq=2)
    assert conflict["error"]["code"] == p.SEQ_CONFLICT and "'ringing'" in conflict["error"]["message"]
    events = query(server, "SELECT seq, event FROM call_event WHERE call_id = ? ORDER BY seq", [call_id])
    assert [e["event"] for e in events] == ["dialing", "ringing", "answered"]


def test_hostile_messages_get_a_clear_error_and_change_nothing(server, phones):
    phone = phones()
    (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
    call_id = call["call_id"]
    for event, data in (("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"})):
        phone.event(call_id, event, data)
    # A line the server never gave this call.
    answer = phone.event(call_id, "agent_ringing", {"line_id": 1})
    assert answer["error"]["code"] == p.UNKNOWN_LINE
    line = phone.send(p.AGENT, {"call_id": call_id, "attempt": 1})["line"]
    phone.seq[call_id] -= 1
    assert phone.event(call_id, "agent_ringing", {"line_id": line["id"]})["ok"]
    # A lone surrogate, deep nesting, messages named like connection events.
    lone = phone.send(p.HELLO, {"agent": "x\ud800", "mode": "sim", "backend": "sim"})
    assert lone["error"]["code"] == p.BAD_PAYLOAD and "surrogate" in lone["error"]["message"]
    answer = send_raw(phone, '["lease", ' + '{"a": ' * 1000 + '1' + '}' * 1000 + ']')
    assert answer["ok"] is False and answer["error"]["code"] == p.BAD_PAYLOAD
    for reserved in ("connect", "disconnect"):
        answer = phone.send(reserved, {"token": "x"})
        assert answer["error"]["code"] == p.UNKNOWN_EVENT and "reserved" in answer["error"]["message"]
    assert phone.client.connected
    assert phone.send(p.HEARTBEAT, {"call_state": "active"}) == {"ok": True}


# -- revocation --------------------------------------------------------------------

@pytest.mark.parametrize("action", ["disable", "new_token", "delete"])
def test_a_revoked_phone_is_cut_off_at_once(server, phones, action):
    phone = phones()
    leased = phone.send(p.LEASE, {"want": 3})["batch"]["calls"]
    console = Console(server.url)
    phone_id = query(server, "SELECT id FROM phone WHERE name = 'phone-1'")[0]["id"]
    if action == "disable":
        console.post(f"/phones/{phone_id}", {"name": "phone-1", "pin": "2468"})   # the box unticked
    elif action == "new_token":
        console.post(f"/phones/{phone_id}/token", {"pin": "2468"})
    else:
        console.post(f"/phones/{phone_id}/delete", {"pin": "2468"})
    wait_until(lambda: not phone.client.connected, timeout=3, every=0.05, message="the connection closed")
    # Its leased calls went back at once; nothing it sends is taken.
    assert query(server, "SELECT count(*) AS n FROM call WHERE phone_id = ? AND result IS NULL",
                 [phone_id])[0]["n"] == 0
    assert query(server, "SELECT count(*) AS n FROM campaign_contact WHERE status = 'leased'")[0]["n"] == 0
    again = ScriptedPhone(server.url, server.seeded["tokens"][0])
    refusals = []
    again.client.on("connect_error", refusals.append, namespace=p.NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect()
    assert refusals[0]["code"] == ("disabled" if action == "disable" else "bad_token")
    assert {c["number"] for c in leased} <= {c["number"] for c in lease_all(phones(1))}
    if action == "delete":
        # The id is never given to another phone (its calls keep their phone).
        store = server.store()
        try:
            new_id = db.create_phone(store, name="new", mode="sim", token_sha256="f" * 64)
        finally:
            store.conn.close()
        assert new_id > phone_id


# -- phones that go away ----------------------------------------------------------

def test_a_disconnected_phone_gives_back_its_undialled_calls_after_a_short_grace(tmp_path):
    server = start_server(tmp_path, config={"reconnect_grace_s": 1.0, "lease_base_s": 120.0})
    try:
        phone = ScriptedPhone(server.url, server.seeded["tokens"][0]).connect()
        phone.hello(assets=assets_of(server))
        calls = phone.send(p.LEASE, {"want": 3})["batch"]["calls"]
        phone.close()
        # Within 10 s: long before the lease (120 s) would have expired.
        wait_until(lambda: query(server, "SELECT count(*) AS n FROM campaign_contact WHERE status = 'leased'")[0]["n"] == 0,
                   timeout=10, every=0.1, message="the calls came back")
        other = ScriptedPhone(server.url, server.seeded["tokens"][1]).connect()
        other.hello(assets=assets_of(server))
        assert {c["number"] for c in calls} <= {c["number"] for c in lease_all(other)}
        other.close()
    finally:
        server.stop()


def test_a_call_lost_before_the_answer_is_tried_again_and_one_after_it_is_not(tmp_path):
    server = start_server(tmp_path, config={"lease_base_s": 1.0, "lease_per_call_s": 1.0},
                          settings={"no_answer_max_attempts": 2, "no_answer_retry_delay_min": 1})
    try:
        phone = ScriptedPhone(server.url, server.seeded["tokens"][0]).connect()
        phone.hello(assets=assets_of(server))
        ringing, answered = phone.send(p.LEASE, {"want": 2})["batch"]["calls"]
        phone.event(ringing["call_id"], "dialing")
        phone.event(ringing["call_id"], "ringing")
        phone.event(answered["call_id"], "dialing")
        phone.event(answered["call_id"], "answered")
        phone.close()                                  # the phone dies mid-call
        wait_until(lambda: len(query(server, "SELECT id FROM call WHERE result = 'failed'")) == 2, timeout=30,
                   message="both calls closed as lost")
        rows = {r["number"]: r for r in query(
            server, "SELECT c.number, c.reason, cc.status, cc.attempts, cc.next_at, cc.last_result FROM call c "
                    "JOIN campaign_contact cc ON cc.id = c.campaign_contact_id")}
        lost_ringing, lost_answered = rows[ringing["number"]], rows[answered["number"]]
        assert lost_ringing["reason"] == lost_answered["reason"] == "phone_lost"
        assert (lost_ringing["status"], lost_ringing["attempts"]) == ("pending", 1)   # tried again later
        assert lost_ringing["next_at"] > time.time() + 30                           # after the retry delay
        assert (lost_answered["status"], lost_answered["last_result"]) == ("done", "phone_lost")
        assert dashboard(Console(server.url))["counters"]["lost"] == 2
    finally:
        server.stop()


# -- agents ------------------------------------------------------------------------

def bridge(phone, call_id: str) -> dict:
    for event, data in (("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"})):
        assert phone.event(call_id, event, data)["ok"]
    line = phone.send(p.AGENT, {"call_id": call_id, "attempt": 1})["line"]
    assert phone.event(call_id, "agent_ringing", {"line_id": line["id"]})["ok"]
    assert phone.event(call_id, "bridged", {"line_id": line["id"]})["ok"]
    return line


def agent_states(console) -> dict:
    return {a["extension"]: (a["state"], a["away_after_call"]) for a in dashboard(console)["agents"]}


def test_away_set_during_a_call_takes_effect_when_it_ends(server, phones):
    phone = phones()
    first, second = phone.send(p.LEASE, {"want": 2})["batch"]["calls"]
    line = bridge(phone, first["call_id"])
    assert line["extension"] == "1001"
    console = Console(server.url)
    console.post(f"/agents/{line['id']}/away", {"away": "1"})
    assert agent_states(console)["1001"] == ("busy", True)          # 통화 후 자리비움
    assert phone.event(first["call_id"], "ended", {"result": "connected"})["ok"]
    assert agent_states(console)["1001"] == ("away", False)
    # The next voters all go to 1002, never to the agent who stepped away.
    for event, data in (("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"})):
        phone.event(second["call_id"], event, data)
    assert phone.send(p.AGENT, {"call_id": second["call_id"], "attempt": 1})["line"]["extension"] == "1002"


def test_a_long_agent_conversation_keeps_its_call_and_survives_a_restart(tmp_path):
    server = start_server(tmp_path, config={"lease_base_s": 1.0, "lease_per_call_s": 1.0})
    try:
        phone = ScriptedPhone(server.url, server.seeded["tokens"][0]).connect()
        phone.hello(assets=assets_of(server))
        (call,) = phone.send(p.LEASE, {"want": 1})["batch"]["calls"]
        bridge(phone, call["call_id"])
        for _ in range(8):                           # 4 s of talk: far past the 2 s lease
            assert phone.send(p.HEARTBEAT, {"call_state": "active"})["ok"]
            time.sleep(0.5)
        assert query(server, "SELECT result FROM call WHERE id = ?", [call["call_id"]])[0]["result"] is None
        phone.close()
        server.kill()                                 # a crash while the agent talks
        server.start()
        console = Console(server.url)
        assert agent_states(console)["1001"][0] == "busy"   # never shown free while the call is open
        phone = ScriptedPhone(server.url, server.seeded["tokens"][0]).connect()
        phone.hello(assets=assets_of(server), calls=[call["call_id"]])
        phone.seq[call["call_id"]] = 5
        assert phone.event(call["call_id"], "ended", {"result": "connected"})["ok"]
        (row,) = query(server, "SELECT result, bridged_at, ended_at FROM call WHERE id = ?", [call["call_id"]])
        assert row["result"] == "connected" and row["ended_at"] - row["bridged_at"] >= 4
        assert agent_states(console)["1001"][0] == "available"
        phone.close()
    finally:
        server.stop()


def test_a_phone_that_was_only_frozen_gets_its_call_back_and_the_voter_no_second_call(tmp_path):
    """A phone silent past its lease (frozen, cut off) while its voter's phone
    rang: the server closed the call as lost and planned a retry. When the
    phone reports on, the call is open again, its true outcome is recorded,
    and the retry (or a newer, undialled lease of the contact) is void."""
    server = start_server(tmp_path, config={"lease_base_s": 1.0, "lease_per_call_s": 1.0},
                          settings={"no_answer_max_attempts": 3, "no_answer_retry_delay_min": 1})
    phones = []
    try:
        frozen, other = (ScriptedPhone(server.url, token).connect() for token in server.seeded["tokens"][:2])
        phones = [frozen, other]
        for phone in phones:
            phone.hello(assets=assets_of(server))
        first, second = frozen.send(p.LEASE, {"want": 2})["batch"]["calls"]
        for call in (first, second):
            frozen.event(call["call_id"], "dialing")
            frozen.event(call["call_id"], "ringing")
        wait_until(lambda: len(query(server, "SELECT id FROM call WHERE reason = 'phone_lost'")) == 2, timeout=20,
                   message="both calls closed as lost")
        # The first call's contact is due again at once and leased to the other phone, not yet dialled.
        store = server.store()
        try:
            store.execute("UPDATE campaign_contact SET next_at = 0 WHERE number = ?", [first["number"]])
        finally:
            store.conn.close()
        relet = [c for c in lease_all(other) if c["number"] == first["number"]]
        assert relet
        # The frozen phone wakes up: the voter had answered meanwhile.
        for call in (first, second):
            assert frozen.event(call["call_id"], "answered") == {"ok": True, "duplicate": False}
            assert frozen.event(call["call_id"], "ended", {"result": "listened"})["ok"]
        rows = query(server, "SELECT c.result, c.reason, cc.status, cc.attempts FROM call c "
                             "JOIN campaign_contact cc ON cc.id = c.campaign_contact_id WHERE c.id IN (?, ?)",
                     [first["call_id"], second["call_id"]])
        assert rows == [{"result": "listened", "reason": None, "status": "done", "attempts": 1}] * 2
        # The other phone's lease of that contact is void: it must not dial it.
        assert other.event(relet[0]["call_id"], "dialing")["error"]["code"] == p.UNKNOWN_CALL
    finally:
        for phone in phones:
            phone.close()
        server.stop()
