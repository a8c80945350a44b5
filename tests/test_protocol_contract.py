"""The phone protocol is one contract in both directions: the document says
what the module enforces, and what the server sends is what the phone checks.
"""

import re
from pathlib import Path

import pytest

from phone_agent import protocol as p
from server import sample
from server.calling import EngineError

from .test_engine_rules import Phone

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text(encoding="utf-8")


def table_after(heading: str) -> list[list[str]]:
    """The rows of the first table under ``heading`` (cells stripped)."""
    section = DOC.split(heading, 1)[1]
    rows, started = [], False
    for line in section.splitlines()[1:]:
        if not line.startswith("|"):
            if started:
                break
            continue
        started = True
        if not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # without the header


def codes(rows, column=0) -> set[str]:
    return {m for row in rows for m in re.findall(r"`([a-z_]+)`", row[column])}


def test_the_document_lists_exactly_the_modules_error_codes_and_which_are_sent_again():
    rows = table_after("## Error codes")
    assert codes(rows) == set(p.ERROR_CODES) | {p.BAD_ACK}
    again = {code for row in rows for code in codes([row]) if row[2].startswith("again")}
    assert again == set(p.RETRY_CODES)


def test_the_document_lists_exactly_the_lease_reasons_results_and_events():
    assert codes(table_after("### Lease reasons")) == set(p.LEASE_REASONS)
    assert codes(table_after("Results `R`:")) == set(p.RESULTS)
    assert codes(table_after("### Call events")) == set(p.CALL_EVENTS)
    assert codes(table_after("## Phone → server events")) == set(p.SCHEMAS) | {p.CALL}
    assert codes(table_after("## Server → phone events")) == set(p.SERVER_EVENTS)
    for command in p.COMMAND_TYPES:
        assert f'"{command}"' in DOC
    for refusal in p.CONNECT_REFUSALS:
        assert f'"{refusal}"' in DOC
    assert f'"want": 1..{p.MAX_LEASE}' in DOC and "`PROTOCOL_VERSION`" in DOC


@pytest.fixture
def phone(app, store, clock):
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=4, intro_s=0.3,
                                  promise_s=0.3, settings={"call_hours_start": "00:00", "call_hours_end": "23:59"})
    engine = app.extensions["ars_engine"]
    sent = []
    engine.notify = lambda phone_id, event, payload, on_reply=None: sent.append((event, payload))
    engine.set_campaign_state(seeded["campaign_id"], "running")
    made = Phone(app, store, seeded)
    made.sent = sent
    return made


def test_every_answer_the_server_gives_passes_the_phones_checks(phone):
    engine = phone.engine
    hello = engine.hello(phone.id, {"agent": "t", "mode": "sim", "backend": "sim", "assets": []})
    checked = {p.HELLO: hello,
               p.HEARTBEAT: engine.heartbeat(phone.id, {"call_state": "idle", "battery": 80}),
               p.ASSETS: engine.assets(phone.id, {"have": sorted(engine.campaign_assets())})}
    lease = phone.lease(2)
    call_id = lease["batch"]["calls"][0]["call_id"]
    checked[p.LEASE] = lease
    for event, data in (("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"})):
        checked[p.CALL] = phone.event(call_id, event, data)
    checked[p.AGENT] = engine.agent(phone.id, {"call_id": call_id, "attempt": 1})
    checked[p.RELEASE] = engine.release(phone.id, {"call_ids": [lease["batch"]["calls"][1]["call_id"]]})
    for event, ack in checked.items():
        assert p.check_ack(event, ack) == ack, event
    while (more := phone.lease(5))["batch"] is not None:   # until a batch of null with a reason
        assert p.check_ack(p.LEASE, more) == more
    assert more["reason"] == "finished" and p.check_ack(p.LEASE, more) == more
    with pytest.raises(EngineError) as refused:
        phone.event("nosuchcall123", "dialing")
    error = p.error_ack(refused.value.code, refused.value.message)
    assert p.check_ack(p.CALL, error) == error
    # What the server pushes: the campaign and the images command.
    assert p.validate_from_server(p.CAMPAIGN, {"campaign": engine.campaign_info()})["campaign"]["id"]
    commands = [payload for event, payload in phone.sent if event == p.COMMAND]
    assert commands and all(p.validate_from_server(p.COMMAND, c)["type"] == "apply_images" for c in commands)


def test_the_phone_refuses_answers_that_break_the_contract():
    for event, ack, why in (
        (p.CALL, {"ok": True}, "missing field 'duplicate'"),
        (p.CALL, {"ok": 1, "duplicate": False}, "must be True"),
        (p.LEASE, {"ok": True, "batch": {"id": "b", "campaign_id": 1, "expires_at": 1.9e9,
                                         "calls": [{"call_id": "x" * 12, "number": "010-1", "attempt": 1}]}},
         "unexpected format"),
        (p.AGENT, {"ok": True, "line": {"id": 1, "extension": "1001", "dial_target": "1001; rm -rf",
                                        "ring_s": 10}}, "unexpected format"),
        (p.HELLO, {"ok": False, "error": "no"}, "must be an object"),
        (p.RELEASE, "ok", "must be an object"),
    ):
        answer = p.check_ack(event, ack)
        assert answer["ok"] is False and answer["error"]["code"] == p.BAD_ACK, (event, ack)
        assert why in answer["error"]["message"], answer


def test_server_messages_are_lenient_about_new_fields_and_strict_about_types():
    campaign = {"id": 3, "state": "running", "new_field": 1,
                "assets": {"intro": ["a" * 64], "promise": [], "callback": [], "outgoing_image": None,
                           "callback_image": None, "future_kind": ["b" * 64]},
                "settings": {"press1_wait_s": 5, "refuse_key": "9", "future_setting": True}}
    cleaned = p.validate_from_server(p.CAMPAIGN, {"campaign": campaign})["campaign"]
    assert "new_field" not in cleaned and "future_kind" not in cleaned["assets"]
    assert cleaned["settings"] == {"press1_wait_s": 5, "refuse_key": "9"}
    for broken in ({"campaign": dict(campaign, state="exploded")},
                   {"campaign": dict(campaign, settings={"refuse_key": "1"})},
                   {"campaign": dict(campaign, assets={"intro": ["../../etc/passwd"]})}):
        with pytest.raises(p.ProtocolError):
            p.validate_from_server(p.CAMPAIGN, broken)
    with pytest.raises(p.ProtocolError):
        p.validate_from_server(p.COMMAND, {"id": "c1", "type": "format_phone", "args": {}})
