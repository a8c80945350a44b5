"""Helpers for calling-engine tests: seed a campaign, drive the console over
HTTP, and act as a phone over a real Socket.IO client on loopback."""

from __future__ import annotations

import re
import time

import requests
import socketio

from phone_agent import protocol as p
from server import db, sample
from server.security import new_token, token_sha256

from .conftest import MANAGER_ID, PASSWORD, PIN


def seed_campaign(db_path: str, uploads_dir: str, *, numbers: list[str], name: str = "시험 캠페인",
                  settings: dict | None = None, phones: int = 0) -> dict:
    """The sample campaign (ready, not started) over ``numbers``, plus
    ``phones`` registered phones whose tokens are returned."""
    seeded = sample.seed_campaign(db_path, uploads_dir, numbers=numbers, contacts=len(numbers), name=name,
                                  intro_s=0.5, promise_s=0.3, enrol_key="test-enrol-key",
                                  settings=dict({"call_hours_start": "00:00", "call_hours_end": "23:59"},
                                                **(settings or {})))
    store = db.connect(db_path)
    try:
        tokens = []
        for i in range(phones):
            token = new_token()
            db.create_phone(store, name=f"phone-{i + 1}", mode="sim", token_sha256=token_sha256(token))
            tokens.append(token)
    finally:
        store.conn.close()
    return dict(seeded, tokens=tokens)


def assets_of(server) -> list[str]:
    """Every announcement and image of a seeded campaign (what a phone must hold)."""
    a = server.seeded["assets"]
    return [*a["intro"], *a["promise"], *a["callback"], a["outgoing_image"], a["callback_image"]]


class Console:
    """The manager's browser, as plain HTTP with the CSRF token."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        page = self.http.get(f"{url}/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = self.http.post(f"{url}/login", data={"login_id": MANAGER_ID, "password": PASSWORD,
                                                      "pin": PIN, "csrf_token": token})
        assert answer.ok and "캠페인 준비 상태" in answer.text

    def post(self, path: str, data: dict | None = None):
        page = self.http.get(f"{self.url}/home").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        return self.http.post(f"{self.url}{path}", data=dict(data or {}, csrf_token=token))

    def campaign(self, campaign_id: int, action: str):
        answer = self.post(f"/campaigns/{campaign_id}/{action}")
        assert answer.ok, answer.text
        return answer


class ScriptedPhone:
    """A phone played by the test, message by message, over a real Socket.IO client."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self.client = socketio.Client(reconnection=False)
        self.received: list[tuple[str, dict]] = []
        self.seq: dict[str, int] = {}
        for event in (p.CAMPAIGN, p.COMMAND):
            self.client.on(event, self._recorder(event), namespace=p.NAMESPACE)

    def _recorder(self, event):
        def record(payload):
            self.received.append((event, payload))
            return {"ok": True}
        return record

    def connect(self, token: str | None = None, protocol: int = p.PROTOCOL_VERSION):
        self.client.connect(self.url, namespaces=[p.NAMESPACE], transports=["websocket"],
                            auth={"token": token or self.token, "protocol": protocol}, wait_timeout=10)
        return self

    def send(self, event: str, payload) -> dict:
        return self.client.call(event, payload, namespace=p.NAMESPACE, timeout=10)

    def hello(self, assets=(), calls=()) -> dict:
        return self.send(p.HELLO, {"agent": "test", "mode": "sim", "backend": "sim",
                                   "assets": list(assets), "calls": list(calls)})

    def event(self, call_id: str, event: str, data: dict | None = None, seq: int | None = None) -> dict:
        if seq is None:
            seq = self.seq[call_id] = self.seq.get(call_id, 0) + 1
        return self.send(p.CALL, {"call_id": call_id, "seq": seq, "event": event, "at": time.time(),
                                  "data": data or {}})

    def close(self):
        if self.client.connected:
            self.client.disconnect()


def wait_until(predicate, timeout: float = 30.0, every: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{message} not reached within {timeout} s")
