"""The calling engine's rules that hang on the clock or the disk, driven in
process: the app's own engine with an injected clock and its real SQLite
file, a phone played message by message (no transport: the /phone
namespace only validates and forwards)."""

import contextlib
import datetime as dt
import os
import subprocess

import pytest

from phone_agent import protocol as p
from server import create_app, db, sample
from server.calling import EngineError
from server.security import token_sha256
from server.operating import SEOUL


def seoul(hour: int, minute: int = 0, second: int = 0) -> float:
    return dt.datetime(2027, 3, 9, hour, minute, second, tzinfo=SEOUL).timestamp()


class Phone:
    """One phone talking to the engine directly."""

    def __init__(self, app, store, seeded, name="rack-01"):
        self.engine = app.extensions["ars_engine"]
        token = name.ljust(43, "x")
        self.id = db.create_phone(store, name=name, mode="sim", token_sha256=token_sha256(token))
        self.engine.reload_phone(self.id)
        self.engine.roster.connected(self.engine.authenticate({"token": token, "protocol": 1}), f"sid-{name}")
        assets = seeded["assets"]
        self.engine.hello(self.id, {"agent": "t", "mode": "sim", "backend": "sim",
                                    "assets": [*assets["intro"], *assets["promise"], *assets["callback"],
                                               assets["outgoing_image"], assets["callback_image"]]})
        self.seq: dict[str, int] = {}

    def lease(self, want=1) -> dict:
        return self.engine.lease(self.id, {"want": want})

    def event(self, call_id: str, event: str, data=None, at: float = 1.8e9) -> dict:
        """Send the call's next event; its seq moves on only when it was taken."""
        seq = self.seq.get(call_id, 0) + 1
        answer = self.engine.call_event(self.id, {"call_id": call_id, "seq": seq, "event": event,
                                                  "at": at, "data": data or {}})
        self.seq[call_id] = seq
        return answer


@pytest.fixture
def election(app, store, clock):
    clock.now = seoul(10)
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=5, intro_s=0.5,
                                  kind="election",
                                  settings={"call_hours_start": "00:00", "call_hours_end": "23:59"})
    app.extensions["ars_engine"].set_campaign_state(seeded["campaign_id"], "running")
    return seeded


def test_an_election_campaign_never_dials_between_23_and_6_whatever_its_hours(app, store, clock, election):
    phone = Phone(app, store, election)
    engine = phone.engine
    clock.now = seoul(22, 59, 50)
    (call,) = phone.lease()["batch"]["calls"]
    clock.now = seoul(23, 0, 10)                       # the claim comes after 23:00
    with pytest.raises(EngineError) as refused:
        phone.event(call["call_id"], "dialing")
    assert refused.value.code == p.ELECTION_HOURS
    row = store.execute("SELECT status, attempts FROM campaign_contact WHERE number = ?", [call["number"]]).fetchone()
    assert (row["status"], row["attempts"]) == ("pending", 0)       # back in the pool, not dialled
    assert phone.lease() == {"ok": True, "batch": None, "retry_s": 60.0, "reason": "election_hours"}
    live = app.extensions["ars_live"]
    [quiet] = [r for r in live.dashboard_state()["campaign"]["idle"] if r["code"] == "election_hours"]
    assert quiet["time"] == "3/10 06:00"                 # the dashboard says until when
    clock.now = seoul(5, 59, 59)
    assert phone.lease()["reason"] == "election_hours"
    clock.now = seoul(6)
    assert phone.lease()["batch"]["calls"]
    assert not [r for r in live.dashboard_state()["campaign"]["idle"] if r["code"].endswith("hours")]


def test_a_notice_campaign_keeps_the_managers_hours(app, store, clock):
    clock.now = seoul(23, 30)
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=3, intro_s=0.5,
                                  kind="notice", settings={"call_hours_start": "00:00", "call_hours_end": "23:59"})
    app.extensions["ars_engine"].set_campaign_state(seeded["campaign_id"], "running")
    assert Phone(app, store, seeded).lease()["batch"]["calls"]


@pytest.fixture
def small_disk(tmp_path):
    """A real 64 MB filesystem (tmpfs) of the test's own; mounting needs root."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder) -> None:
    """Write to the filesystem until it has no byte left."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)


def test_a_full_disk_refuses_retryably_and_calling_resumes_by_itself(small_disk, clock):
    clock.now = seoul(10)
    app = create_app({"TESTING": True, "DATABASE": str(small_disk / "ars.db"), "UPLOADS": str(small_disk / "up"),
                      "SECRET_KEY": "test", "CLOCK": clock, "MIN_FREE_DISK_BYTES": 0})
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=4, intro_s=0.3,
                                  promise_s=0.3, settings={"call_hours_start": "00:00", "call_hours_end": "23:59"})
    engine = app.extensions["ars_engine"]
    engine.set_campaign_state(seeded["campaign_id"], "running")
    store = db.connect(app.config["DATABASE"])
    try:
        phone = Phone(app, store, seeded)
        engine.storage.pause_s = 0.0                   # no wait after space returns (tests only)
        first, second = phone.lease(2)["batch"]["calls"]
        assert phone.event(first["call_id"], "dialing")["ok"]
        # Empty the write-ahead log into the database, then fill the disk: the
        # next write must grow the log and cannot.
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        fill(small_disk)
        # The next event of the call in progress cannot be stored: retryable, never final.
        with pytest.raises(EngineError) as refused:
            phone.event(first["call_id"], "answered")
        assert refused.value.code == p.STORAGE and p.STORAGE in p.RETRY_CODES
        # (the phone keeps it and sends it again, below)
        # A new dial is not confirmed while nothing can be stored: nobody is dialled blind.
        with pytest.raises(EngineError) as claim:
            phone.event(second["call_id"], "dialing")
        assert claim.value.code == p.STORAGE
        engine.storage.pause_s = 60.0
        assert phone.lease()["reason"] == "storage"
        assert "full" in engine.snapshot()["storage"]["error"]
        (small_disk / "filler").unlink()
        engine.storage.pause_s = 0.0
        # The resent events are taken, the claim too, and leases come back by themselves.
        assert phone.event(first["call_id"], "answered")["ok"]
        assert phone.event(first["call_id"], "ended", {"result": "listened"})["ok"]
        assert phone.event(second["call_id"], "dialing")["ok"]
        assert phone.lease()["batch"]["calls"]
        assert engine.snapshot()["storage"]["error"] is None
        assert db.call(store, first["call_id"])["result"] == "listened"
    finally:
        store.conn.close()
        engine.writer.close()


def test_low_disk_space_pauses_leases_and_space_returning_resumes_them(app, store, clock, election):
    phone = Phone(app, store, election)
    guard = phone.engine.storage.disk
    guard.min_free_bytes = guard.measure() * 2          # the disk counts as nearly full
    guard.measure()
    assert phone.lease()["reason"] == "storage"
    assert phone.engine.snapshot()["storage"]["low"] is True
    guard.min_free_bytes = 0
    guard.measure()
    assert phone.lease()["batch"]["calls"]
