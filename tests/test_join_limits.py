"""Join requests without an enrolment key are bounded: a flood from one
address is refused after the limit while other addresses still join, no
more than a set number wait for the manager at once, and a request nobody
decided expires — it cannot be approved, leaves the console's list, and the
phone that asked is told so and asks again."""

from __future__ import annotations

import asyncio
import logging
import re
import threading

import pytest
from werkzeug.serving import make_server

from phone_agent import protocol as p
from phone_agent.enrol import enrol
from server import db

from .conftest import PIN
from server.security import token_sha256

from .conftest import page_text

DAY = 86_400


def ask(client, name: str, address: str = "203.0.113.7"):
    return client.post("/api/phones/join", json={"name": name, "mode": "internet"},
                       environ_base={"REMOTE_ADDR": address})


def poll(client, answer):
    body = answer.get_json()
    return client.get(f"/api/phones/join/{body['request_id']}",
                      headers={"X-Poll-Secret": body["poll_secret"]}).get_json()


def test_a_flood_from_one_address_is_refused_after_ten_while_another_address_still_joins(client, store, clock):
    for n in range(10):
        assert ask(client, f"flood-{n}").status_code == 202
    refused = ask(client, "flood-10")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == p.JOIN_RATE_LIMITED
    assert "at most 10 in 600 s" in refused.get_json()["error"]["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert ask(client, "neighbour", address="198.51.100.20").status_code == 202
    assert len(db.join_requests(store)) == 11                  # the refused one was not stored
    clock.advance(601)                                          # the window has passed
    assert ask(client, "flood-11").status_code == 202


def test_a_rejected_request_still_counts_against_its_address(logged_in, client, store):
    for n in range(10):
        ask(client, f"again-{n}")
    for row in db.join_requests(store):
        logged_in.post(f"/phones/join/{row['id']}/reject")
    assert db.join_requests(store) == []
    assert ask(client, "again-10").status_code == 429


def test_no_more_than_the_cap_wait_for_the_manager(app, logged_in, client, store):
    app.config["JOIN_PENDING_MAX"] = 3
    for n in range(3):
        assert ask(client, f"phone-{n}", address=f"192.0.2.{n + 1}").status_code == 202
    full = ask(client, "phone-3", address="192.0.2.99")
    assert full.status_code == 429 and full.get_json()["error"]["code"] == p.JOIN_QUEUE_FULL
    assert "already wait for the manager" in full.get_json()["error"]["message"]
    assert full.headers["Retry-After"] == "600"
    first = db.join_requests(store)[0]
    logged_in.post(f"/phones/join/{first['id']}/approve")      # one leaves the queue
    assert ask(client, "phone-3", address="192.0.2.99").status_code == 202


def test_phones_with_the_enrolment_key_are_not_limited(logged_in, client, store):
    logged_in.post("/phones/enrol-key", {"action": "new", "pin": PIN})
    key = db.get_setting(store, "phone_enrol_key")
    for n in range(15):
        joined = client.post("/api/phones/join", json={"name": f"sim-{n}", "mode": "sim", "enrol_key": key})
        assert joined.status_code == 201
    assert len(db.phones(store)) == 15


def test_an_undecided_request_expires_after_a_day_and_cannot_be_approved(logged_in, client, store, clock):
    asked = ask(client, "갤럭시-09")
    assert asked.get_json()["expires_in_s"] == DAY
    assert poll(client, asked) == {"status": "pending"}
    assert "갤럭시-09" in page_text(client.get("/phones/"))
    request_id = asked.get_json()["request_id"]
    clock.advance(DAY)
    assert poll(client, asked) == {"status": "expired"}
    client.get("/home")                                         # the manager's session idled out meanwhile
    logged_in.login()
    assert "갤럭시-09" not in page_text(client.get("/phones/"))  # the list shows live requests only
    approve = logged_in.post(f"/phones/join/{request_id}/approve", follow_redirects=True)
    assert "이 가입 요청은 만료되었거나 이미 처리되었습니다" in page_text(approve)
    assert db.phones(store) == [] and poll(client, asked) == {"status": "expired"}
    assert db.join_request(store, request_id)["status"] == "expired"
    assert logged_in.post("/phones/join/no-such-request/approve").status_code == 404


def test_expired_requests_do_not_fill_the_queue(app, client, store, clock):
    app.config["JOIN_PENDING_MAX"] = 3
    for n in range(3):
        ask(client, f"old-{n}", address=f"192.0.2.{n + 1}")
    assert ask(client, "new", address="192.0.2.50").status_code == 429
    clock.advance(DAY + 1)
    assert ask(client, "new", address="192.0.2.50").status_code == 202
    assert [row["name"] for row in db.join_requests(store, now=clock())] == ["new"]


# -- the phone's side: python -m phone_agent enrol against the app over loopback --

@pytest.fixture
def http_server(app):
    """The app served over HTTP on a loopback port, in a thread of this process."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


async def until(condition, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_a_refused_phone_waits_and_asks_again_until_it_is_approved(app, http_server, store, clock, caplog):
    app.config["JOIN_RATE_MAX"] = 1
    caplog.set_level(logging.WARNING, logger="phone_agent.enrol")

    def pending() -> list[dict]:
        return db.join_requests(store, now=clock())

    async def scenario():
        quick = dict(mode="internet", poll_s=0.02, timeout=60, refused_wait_s=(0.05, 0.2))
        first = asyncio.create_task(enrol(http_server, "rack-01", **quick))
        await until(lambda: len(pending()) == 1)
        second = asyncio.create_task(enrol(http_server, "rack-02", **quick))
        await until(lambda: "takes no join request now (join_rate_limited" in caplog.text)
        assert len(pending()) == 1
        clock.advance(601)
        await until(lambda: len(pending()) == 2)
        for row in pending():
            db.approve_join_request(store, row["id"], token=f"token-{row['name']}",
                                    token_sha256=token_sha256(f"token-{row['name']}"), now=clock())
        return await first, await second

    first, second = asyncio.run(scenario())
    assert (first["token"], second["token"]) == ("token-rack-01", "token-rack-02")
    assert db.phone_by_token(store, token_sha256("token-rack-02"))["name"] == "rack-02"


def test_a_phone_whose_request_expired_asks_again(http_server, store, clock, caplog):
    caplog.set_level(logging.WARNING, logger="phone_agent.enrol")

    async def scenario():
        phone = asyncio.create_task(enrol(http_server, "rack-03", mode="internet", poll_s=0.02, timeout=60))
        await until(lambda: len(db.join_requests(store, now=clock())) == 1)
        expired_id = db.join_requests(store, now=clock())[0]["id"]
        clock.advance(DAY + 1)
        await until(lambda: "expired before a manager approved it" in caplog.text)
        await until(lambda: len(db.join_requests(store, now=clock())) == 1)
        (fresh,) = db.join_requests(store, now=clock())
        assert fresh["id"] != expired_id and db.join_request(store, expired_id)["status"] == "expired"
        db.approve_join_request(store, fresh["id"], token="token-3", token_sha256=token_sha256("token-3"),
                                now=clock())
        return await phone

    assert asyncio.run(scenario())["token"] == "token-3"


def test_requests_waiting_before_the_upgrade_get_a_day_from_when_they_were_made(tmp_path):
    from server.db.migrations import migrations
    store = db.connect(tmp_path / "old.db")
    try:
        migrations.apply(store, stop_before="m008_join_requests_expire")
        store.execute("INSERT INTO phone_join_request (id, poll_secret_sha256, name, mode, device, address, "
                      "created_at) VALUES ('r1', 's', 'rack-01', 'router', '{}', '192.0.2.1', "
                      "'2026-12-01T10:00:00+00:00')")
        assert db.migrate(store)[0] == "m008_join_requests_expire"
        row = db.join_request(store, "r1")
        made = 1_796_119_200.0                                  # 2026-12-01 10:00 UTC
        assert (row["status"], row["requested_at"], row["expires_at"]) == ("pending", made, made + DAY)
        assert [r["id"] for r in db.join_requests(store, now=made + DAY - 1)] == ["r1"]
        assert db.join_requests(store, now=made + DAY) == []
    finally:
        store.conn.close()


def test_the_protocol_document_lists_the_join_refusals():
    from pathlib import Path
    doc = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text(encoding="utf-8")
    enrolment = doc[doc.index("## Enrolment"):doc.index("## Assets")]
    assert set(re.findall(r"^\s*\| `([a-z_]+)` \|", enrolment, re.M)) == set(p.JOIN_REFUSALS)
    assert '{"status": "expired"}' in enrolment and "Retry-After" in enrolment
