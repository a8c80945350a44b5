"""Helpers for calling-engine tests: seed a campaign, drive the console over
HTTP, and act as a phone over a real Socket.IO client on loopback."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np
import requests
import socketio
import soundfile as sf
from PIL import Image

from phone_agent import protocol as p
from server import campaigns, contacts_import, db
from server.engine import new_token, token_sha256
from server.media import audio, images
from server.storage import UploadStore

from .conftest import MANAGER_ID, PASSWORD, PIN


def wav(seconds: float = 0.5, freq: float = 440.0) -> bytes:
    t = np.arange(int(seconds * 8000)) / 8000
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * freq * t), 8000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def poster() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (720, 1280), (30, 60, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def seed_campaign(db_path: str, uploads_dir: str, *, numbers: list[str], name: str = "시험 캠페인",
                  settings: dict | None = None, intro_s: float = 0.5, phones: int = 0,
                  enrol_key: str | None = "test-enrol-key") -> dict:
    """A call list, an intro and a promise announcement, a poster, operating
    settings, a campaign (ready, not started) and optionally registered phones."""
    store = db.connect(db_path)
    files = UploadStore(uploads_dir)
    try:
        csv = Path(uploads_dir).parent / "seed-list.csv"
        csv.write_text("전화번호,이름\n" + "".join(f"{n},유권자{i}\n" for i, n in enumerate(numbers)),
                       encoding="utf-8")
        contacts_import.import_file(store, files, csv, name=f"{name} 명단")
        list_id = db.contact_lists(store)[0]["id"]
        for kind, seconds, freq in (("intro", intro_s, 440.0), ("promise", 0.3, 660.0)):
            converted = audio.convert_announcement(wav(seconds, freq), f"{kind}.wav")
            ment_id = db.add_ment(store, sha256=files.put(converted.wav, ".wav"), original_name=f"{kind}.wav",
                                  title=kind, duration_s=converted.duration_s, source=converted.source,
                                  changes=converted.changes)
            db.set_ment_role(store, ment_id, kind, 1)
        prepared = images.prepare_image(poster(), "poster.jpg")
        db.add_image(store, kind="outgoing", sha256=files.put(prepared.jpeg, ".jpg"), original_sha256="0" * 64,
                     original_name="poster.jpg", width=720, height=1280, size=len(prepared.jpeg),
                     source=prepared.source, changes=prepared.changes)
        base = {"call_hours_start": "00:00", "call_hours_end": "23:59"}
        db.put_setting(store, "operating", dict(base, **(settings or {})))
        campaign_id = campaigns.create(store, name=name, list_id=list_id)
        if enrol_key:
            db.put_setting(store, "phone_enrol_key", enrol_key)
        tokens = []
        for i in range(phones):
            token = new_token()
            db.create_phone(store, name=f"phone-{i + 1}", mode="sim", token_sha256=token_sha256(token))
            tokens.append(token)
        return {"campaign_id": campaign_id, "list_id": list_id, "tokens": tokens,
                "assets": db.campaign(store, campaign_id)["assets"]}
    finally:
        store.conn.close()


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
