"""Benchmark: a whole campaign under faults, audited from the database and
from what the phones really dialled.

What it does
------------
1. A fresh work dir. As root, the database folder is a 96 MB tmpfs, so that
   the disk-full fault is real (without root that fault is skipped, and the
   output says so). A 안내 (notice) campaign of --contacts contacts that calls
   at any hour (no answer: 2 attempts, 1 min apart; busy: 1 attempt; agents
   rung once, 4 s cycle), short leases (8 s + 4 s a call), the server's
   free-space guard (where it has one) at 16 MB, an enrolment key and a
   manager.
2. ``ars serve`` on a free loopback port; the campaign is started through the
   console. --phones simulated phones in fleets of 5, each fleet its own
   ``python -m phone_agent fleet`` process with a dial log (one JSON line per
   real dial, written at once, so it survives a SIGKILL). The first fleet's
   agents talk 150-300 simulated seconds, so that some calls stay bridged long
   enough for a server crash to land on them.
3. Faults, one after another; random.Random(--seed) fixes their order, the
   gaps between them and their parameters (printed as the schedule first):

   fleet_freeze     SIGSTOP one fleet for 25-40 s (past its leases), SIGCONT
   fleet_kill       SIGKILL one fleet, start it again 1-5 s later (same token file)
   server_freeze    SIGSTOP the server for 20-40 s, SIGCONT
   server_crash     wait until the database shows a bridged call, SIGKILL the
                    server, start it again on the same port and database 2-5 s later
   link_drop        SIGKILL the server and start a new one at once (every phone's
                    link drops; the new one listens about a second later)
   disk_full        fill the database's tmpfs until ENOSPC, hold 10-20 s, free it
   do_not_call      add 20 numbers of contacts not yet done (waiting or leased) to
                    수신거부 through the console, one by one, noting when each
                    was confirmed

   A process that dies on its own is started again and listed under
   ``incidents``. The run lasts until the campaign is finished or
   --max-seconds; faults not reached by then are listed as such.
4. The fleets get SIGTERM, the server up to a lease time to close what they
   held, then it is stopped and the records are audited.

Reading the numbers
-------------------
Everything but ``contacts``, ``calls``, ``dials`` and ``seconds`` should be 0.

- ``calls``: call rows with ``dialed_at`` (dials the server recorded);
  ``dials``: lines in the dial logs (dials the phones placed).
- ``double_dials``: dials not sanctioned by the records — a dial-log line
  whose call id has no call row with ``dialed_at``, a second line for the same
  call id, or a line whose number is not its call row's. (The per-number check
  — a number dialled more often than it has dialled call rows — is reported
  beside it; the larger of the two is the count.)
- ``dialled_after_dnc``: dial-log lines for a 수신거부 number placed after the
  console confirmed the entry.
- ``never_called``: contacts not done, or done with no attempt and not for
  수신거부 (``last_result`` 'do_not_call').
- ``stuck_calls``: call rows still without a result once the run settled.
- ``lost_callbacks``: calls where the voter pressed 1, that did not end
  connected, and have no callback row.
- ``finished``: whether the campaign finished within --max-seconds (if not,
  ``never_called`` counts the contacts it did not reach).

Also in the report, not counted as faults: ``redialled_after_phone_lost``
(contacts dialled again after the server closed their call as lost — the
retry rule) and the server log's ``late_ends_refused`` (a phone's own end of a
call the server had already closed: that call's real outcome is not in the
records; with a frozen fleet, a voter the retry rule calls again).

The report (--report, default bench-chaos.json) adds the schedule, every fault
with its times, and for each finding its context: the phone, the call rows of
that number, the fault it fell in or after, and the server's log lines about
the call. --keep keeps the work dir (server and fleet logs, dial logs, a copy
of the database). Prints human lines, then the summary as one JSON line last. The exit
status is 0 whatever the counts (this is a measurement); it is not 0 only when
the bench itself could not run (the server would not start, …).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from server import db, sample  # noqa: E402
from server.security import hash_secret  # noqa: E402

ENROL_KEY = "chaos-enrol-key"
MANAGER = {"login_id": "chaos", "password": "chaos-pass-2026", "pin": "1357"}
LEASE = {"lease_base_s": 8.0, "lease_per_call_s": 4.0}
MIN_FREE_DISK_MB = 16  # the server's disk guard, below the tmpfs's size: it acts when the disk fills
PREFETCH = 2  # the fleet's default: a lease holds at most this many calls
SETTINGS = {"call_hours_start": "00:00", "call_hours_end": "23:59",
            "no_answer_max_attempts": 2, "no_answer_retry_delay_min": 1, "busy_max_attempts": 1,
            "agent_ring_repeats": 1, "agent_ring_cycle_s": 4}
PHONES_PER_FLEET = 5
LONG_TALK_S = "150-300"  # simulated seconds, for the first fleet's agents
TMPFS_MB = 96
DNC_COUNT = 20
FAULTS = ("fleet_freeze", "fleet_kill", "server_freeze", "server_crash", "link_drop", "disk_full",
          "do_not_call")
AFTERMATH_S = 30.0  # a finding this long after a fault's end is put down to it


def log(start: float | None, text: str) -> None:
    stamp = "" if start is None else f"[{time.monotonic() - start:6.1f} s] "
    print(stamp + text, flush=True)


def server_config() -> dict:
    """ars.toml: short leases; the disk guard (where the server has one) under the tmpfs."""
    from server import config
    values = dict(LEASE)
    if "min_free_disk_mb" in config.DEFAULTS:
        values["min_free_disk_mb"] = float(MIN_FREE_DISK_MB)
    return values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# -- the processes -------------------------------------------------------------------

class Process:
    """A child process the bench can freeze, thaw, kill and start again."""

    name = "process"

    def __init__(self):
        self.popen: subprocess.Popen | None = None
        self.frozen = False
        self.wanted = False  # started and not stopped on purpose: restart it if it dies
        self.starts = 0
        self.spawned_at: float | None = None  # monotonic

    def command(self) -> list[str]:
        raise NotImplementedError

    def spawn(self, log_path: Path, stdout: Path | None = None, env: dict | None = None) -> None:
        err = open(log_path, "ab")
        out = open(stdout, "ab") if stdout else err
        try:
            self.popen = subprocess.Popen(self.command(), stdout=out, stderr=err, cwd=ROOT,
                                          env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})),
                                          start_new_session=True)  # Ctrl+C reaches the bench only
        finally:
            err.close()
            if out is not err:
                out.close()
        self.starts += 1
        self.spawned_at = time.monotonic()
        self.wanted = True

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive:
            os.kill(self.popen.pid, sig)

    def freeze(self) -> None:
        self.signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        if self.alive:
            self.thaw()
            self.popen.kill()
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, and SIGKILL if it does not go in ``timeout`` seconds."""
        self.wanted = False
        if not self.alive:
            return
        self.thaw()
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


class Server(Process):
    """``ars serve`` on one loopback port and one database, restartable."""

    name = "server"

    def __init__(self, workdir: Path, db_path: Path, uploads: Path, port: int):
        super().__init__()
        self.workdir, self.db_path, self.uploads, self.port = workdir, db_path, uploads, port
        self.url = f"http://127.0.0.1:{port}"
        self.config = workdir / "ars.toml"
        self.config.write_text("".join(f"{key} = {value!r}\n" for key, value in server_config().items()))
        self.log_path = workdir / "server.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "server", "serve", "--db", str(self.db_path), "--uploads",
                str(self.uploads), "--host", "127.0.0.1", "--port", str(self.port)]

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until it listens (a port still held is retried)."""
        deadline = time.monotonic() + timeout
        while True:
            self.spawn(self.log_path, env={"ARS_CONFIG": str(self.config)})
            while time.monotonic() < deadline and self.alive and not listening(self.port):
                time.sleep(0.05)
            if self.alive and listening(self.port):
                return
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError(f"the server did not start; see {self.log_path}")
            time.sleep(0.3)  # it exited (port not free yet?): try again


class FleetProcess(Process):
    """``python -m phone_agent fleet`` with a dial log; restartable with its tokens."""

    def __init__(self, index: int, url: str, phones: int, seed: int, speed: float, workdir: Path,
                 talk_s: str | None):
        super().__init__()
        self.index, self.url, self.phones, self.seed, self.speed = index, url, phones, seed, speed
        self.workdir, self.talk_s = workdir, talk_s
        self.name = f"fleet {index}"
        self.dial_log = workdir / f"dials-{index}.jsonl"
        self.log_path = workdir / f"fleet-{index}.log"
        self.out_path = workdir / f"fleet-{index}.out"

    def command(self) -> list[str]:
        talk = ["--agent-talk-s", self.talk_s] if self.talk_s else []
        return [sys.executable, "-m", "phone_agent", "fleet", "--server", self.url, "--phones", str(self.phones),
                "--enrol-key", ENROL_KEY, "--seed", str(self.seed), "--speed", str(self.speed),
                "--prefix", f"f{self.index}", "--state", str(self.workdir / f"fleet-{self.index}.json"),
                "--cache", str(self.workdir / "phone-cache"), "--dial-log", str(self.dial_log), *talk]

    def start(self) -> None:
        self.spawn(self.log_path, stdout=self.out_path)

    def last_metrics(self) -> dict | None:
        """The fleet's final JSON line (written when it stopped cleanly)."""
        lines = self.out_path.read_text(errors="replace").splitlines() if self.out_path.exists() else []
        for line in reversed(lines):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    return None
        return None


# -- the database's tmpfs -------------------------------------------------------------

def mount_tmpfs(path: Path, size_mb: int) -> None:
    """A tmpfs of ``size_mb`` MB on ``path`` (root only)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)], check=True)


def unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)]).returncode != 0:
        subprocess.run(["umount", "-l", str(path)])  # still busy: detach it now, free it when idle


def fill_disk(folder: Path) -> tuple[Path, int]:
    """Write a filler file into ``folder`` until the disk is full; its path and size."""
    filler = folder / "filler.bin"
    written = 0
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for block in (1 << 20, 4096):
            chunk = b"\xa5" * block
            while True:
                try:
                    written += os.write(fd, chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler, written


# -- the console -----------------------------------------------------------------------

class Console:
    """The manager's browser as plain HTTP (login, CSRF token, forms)."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        page = self.http.get(f"{url}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = self.http.post(f"{url}/login", data=dict(MANAGER, csrf_token=token), timeout=10)
        if not answer.ok or "/login" in answer.url:
            raise RuntimeError(f"console login failed (HTTP {answer.status_code})")

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        page = self.http.get(f"{self.url}/home", timeout=10).text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        answer = self.http.post(f"{self.url}{path}", data=dict(data or {}, csrf_token=token), timeout=10)
        if not answer.ok:
            raise RuntimeError(f"POST {path}: HTTP {answer.status_code}")
        return answer


# -- setting up ------------------------------------------------------------------------

def seed(db_path: Path, uploads: Path, contacts: int) -> int:
    """The campaign (ready), the enrolment key and the manager; the campaign id."""
    seeded = sample.seed_campaign(db_path, uploads, contacts=contacts, enrol_key=ENROL_KEY, intro_s=4.0,
                                  promise_s=2.0, settings=SETTINGS, kind="notice")
    store = db.connect(db_path)
    try:
        db.create_manager(store, MANAGER["login_id"], hash_secret(MANAGER["password"]),
                          hash_secret(MANAGER["pin"]))
    finally:
        store.conn.close()
    return seeded["campaign_id"]


def read(db_path: Path, sql: str, params=()) -> list[sqlite3.Row]:
    """One query on a fresh connection of our own (the server's may be frozen)."""
    conn = sqlite3.connect(db_path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def fleets_for(phones: int, url: str, seed_: int, speed: float, workdir: Path) -> list[FleetProcess]:
    count = math.ceil(phones / PHONES_PER_FLEET)
    sizes = [PHONES_PER_FLEET] * (count - 1) + [phones - PHONES_PER_FLEET * (count - 1)]
    return [FleetProcess(i, url, size, seed_ * 100 + i, speed, workdir, LONG_TALK_S if i == 0 else None)
            for i, size in enumerate(sizes)]


# -- the schedule ----------------------------------------------------------------------

def plan(seed_: int, fleets: int, disk: bool) -> list[dict]:
    """Which faults strike in which order, after which gap, with which parameters."""
    rng = random.Random(seed_)
    names = [name for name in FAULTS if disk or name != "disk_full"]
    rng.shuffle(names)
    schedule = []
    for name in names:
        fault = {"fault": name, "gap_s": round(rng.uniform(2.0, 6.0), 1)}
        if name == "fleet_freeze":
            fault.update(fleet=rng.randrange(fleets), hold_s=round(rng.uniform(25.0, 40.0), 1))
        elif name == "fleet_kill":
            fault.update(fleet=rng.randrange(fleets), down_s=round(rng.uniform(1.0, 5.0), 1))
        elif name == "server_freeze":
            fault.update(hold_s=round(rng.uniform(20.0, 40.0), 1))
        elif name == "server_crash":
            fault.update(down_s=round(rng.uniform(2.0, 5.0), 1))
        elif name == "disk_full":
            fault.update(hold_s=round(rng.uniform(10.0, 20.0), 1))
        elif name == "do_not_call":
            fault.update(count=DNC_COUNT, pick_seed=rng.randrange(1 << 30))
        schedule.append(fault)
    return schedule


# -- the run ---------------------------------------------------------------------------

class Run:
    """The server, the fleets, the clock and what happened."""

    def __init__(self, server: Server, fleets: list[FleetProcess], console: Console, campaign_id: int,
                 db_folder: Path, max_seconds: float):
        self.server, self.fleets, self.console = server, fleets, console
        self.campaign_id, self.db_folder = campaign_id, db_folder
        self.start = time.monotonic()
        self.deadline = self.start + max_seconds
        self.faults: list[dict] = []
        self.incidents: list[dict] = []
        self.dnc: dict[str, dict] = {}  # number → {"t_before", "t"}

    def now_s(self) -> float:
        return round(time.monotonic() - self.start, 2)

    def finished(self) -> bool:
        rows = read(self.server.db_path, "SELECT state FROM campaign WHERE id = ?", [self.campaign_id])
        return bool(rows) and rows[0]["state"] == "finished"

    def over(self) -> bool:
        return time.monotonic() >= self.deadline or self.finished()

    def wait(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (None: until over), minding the processes; False once over."""
        until = self.deadline if seconds is None else min(self.deadline, time.monotonic() + seconds)
        while time.monotonic() < until:
            if self.finished():
                return False
            self.mind()
            time.sleep(min(0.5, max(0.0, until - time.monotonic())))
        return not self.over()

    def mind(self) -> None:
        """Start again a process that died on its own (noted as an incident)."""
        for process in [self.server, *self.fleets]:
            if process.wanted and not process.alive:
                code = process.popen.returncode
                self.incidents.append({"at_s": self.now_s(), "what": f"{process.name} exited on its own "
                                                                      f"(status {code}); started again"})
                log(self.start, f"! {process.name} exited on its own (status {code}); starting it again")
                try:
                    process.start()
                except RuntimeError as exc:
                    log(self.start, f"! {exc}")

    def strike(self, fault: dict) -> None:
        record = {"fault": fault["fault"], "at_s": self.now_s(), "t": time.time()}
        self.faults.append(record)
        try:
            getattr(self, fault["fault"])(fault, record)
        finally:
            record["end_s"], record["t_end"] = self.now_s(), time.time()
        log(self.start, f"  {record['fault']} over ({record['end_s'] - record['at_s']:.1f} s)")

    # -- the faults (each fills in its record) --------------------------------------

    def fleet_freeze(self, fault: dict, record: dict) -> None:
        fleet = self.fleets[fault["fleet"]]
        record.update(fleet=fleet.index, hold_s=fault["hold_s"])
        log(self.start, f"fleet_freeze: SIGSTOP {fleet.name} for {fault['hold_s']} s")
        fleet.freeze()
        try:
            self.wait(fault["hold_s"])
        finally:
            fleet.thaw()

    def fleet_kill(self, fault: dict, record: dict) -> None:
        fleet = self.fleets[fault["fleet"]]
        record.update(fleet=fleet.index, down_s=fault["down_s"])
        log(self.start, f"fleet_kill: SIGKILL {fleet.name}, start again in {fault['down_s']} s")
        fleet.kill()
        time.sleep(fault["down_s"])
        fleet.start()

    def server_freeze(self, fault: dict, record: dict) -> None:
        record.update(hold_s=fault["hold_s"])
        log(self.start, f"server_freeze: SIGSTOP the server for {fault['hold_s']} s")
        self.server.freeze()
        try:
            time.sleep(fault["hold_s"])
        finally:
            self.server.thaw()

    def server_crash(self, fault: dict, record: dict) -> None:
        log(self.start, "server_crash: waiting for a bridged call …")
        bridged = self.wait_for_bridged(timeout=90.0)
        record.update(bridged_call=bridged, down_s=fault["down_s"], waited_s=round(self.now_s() - record["at_s"], 1))
        record["at_s"], record["t"] = self.now_s(), time.time()
        seen = f"call {bridged} bridged" if bridged else "no bridged call seen in 90 s"
        log(self.start, f"server_crash: SIGKILL the server ({seen}), start again in {fault['down_s']} s")
        self.server.kill()
        time.sleep(fault["down_s"])
        self.server.start()

    def wait_for_bridged(self, timeout: float) -> str | None:
        until = time.monotonic() + timeout
        while time.monotonic() < until and not self.over():
            rows = read(self.server.db_path, "SELECT id FROM call WHERE campaign_id = ? AND state = 'bridged' "
                                             "AND result IS NULL LIMIT 1", [self.campaign_id])
            if rows:
                return rows[0]["id"]
            self.mind()
            time.sleep(0.1)
        return None

    def link_drop(self, fault: dict, record: dict) -> None:
        log(self.start, "link_drop: SIGKILL the server and start it again at once")
        self.server.kill()
        killed = time.monotonic()
        self.server.start()
        record.update(respawned_after_s=round(self.server.spawned_at - killed, 3),
                      listening_after_s=round(time.monotonic() - killed, 2))

    def disk_full(self, fault: dict, record: dict) -> None:
        filler, size = fill_disk(self.db_folder)
        record.update(hold_s=fault["hold_s"], filler_mb=round(size / 2**20, 1))
        log(self.start, f"disk_full: {size / 2**20:.1f} MB written to the database's tmpfs (ENOSPC), "
                        f"holding {fault['hold_s']} s")
        try:
            self.wait(fault["hold_s"])
        finally:
            filler.unlink()

    def do_not_call(self, fault: dict, record: dict) -> None:
        not_done = [row["number"] for row in read(
            self.server.db_path, "SELECT number FROM campaign_contact WHERE campaign_id = ? AND status != 'done' "
                                 "ORDER BY id", [self.campaign_id])]
        picks = random.Random(fault["pick_seed"]).sample(not_done, min(fault["count"], len(not_done)))
        log(self.start, f"do_not_call: adding {len(picks)} numbers not yet done (waiting or leased) to 수신거부 "
                        "through the console")
        failed = []
        for number in picks:
            before = time.time()
            try:
                self.console.post("/contacts/do-not-call", {"numbers": number, "note": "chaos bench"})
            except (requests.RequestException, RuntimeError) as exc:
                failed.append(f"{number}: {exc}")
                continue
            self.dnc[number] = {"t_before": before, "t": time.time()}
        record.update(numbers=len(self.dnc), failed=failed)


# -- the audit ---------------------------------------------------------------------------

def read_dials(fleets: list[FleetProcess]) -> list[dict]:
    """Every dial-log line, in time order (a line that is not JSON is kept as a dial of nothing)."""
    dials = []
    for fleet in fleets:
        if fleet.dial_log.exists():
            for line in fleet.dial_log.read_text(errors="replace").splitlines():
                if line.strip():
                    try:
                        dial = json.loads(line)
                    except ValueError:
                        dial = {"t": 0.0, "number": "?", "call_id": None, "unreadable": line[:200]}
                    dials.append(dict(dial, fleet=fleet.index))
    return sorted(dials, key=lambda d: d["t"])


def near_fault(faults: list[dict], t: float) -> str | None:
    """The fault a moment falls in (or within AFTERMATH_S after), latest first."""
    for fault in reversed(faults):
        if fault["t"] <= t <= fault.get("t_end", fault["t"]) + AFTERMATH_S:
            end = fault.get("t_end", fault["t"])
            return f"{fault['fault']} (" + ("during" if t <= end else f"{t - end:.1f} s after") + ")"
    return None


def server_lines(log_text: str, call_id: str | None, limit: int = 6) -> list[str]:
    if not call_id:
        return []
    return [line[:300] for line in log_text.splitlines() if call_id in line][:limit]


def audit_dials(dials: list[dict], calls: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Dial-log lines the records do not sanction, and numbers dialled more often
    than they have dialled call rows (number → excess)."""
    dialled = {c["id"]: c for c in calls if c["dialed_at"] is not None}
    known = {c["id"] for c in calls}
    seen: Counter = Counter()
    unsanctioned = []
    for dial in dials:
        call_id = dial.get("call_id")
        seen[call_id] += 1
        row = dialled.get(call_id)
        if row is None:
            why = ("call row never marked dialled" if call_id in known else
                   "no call row (deleted: returned to the pool?)" if call_id else "no call id at dial time")
        elif seen[call_id] > 1:
            why = "second dial of the same call"
        elif row["number"] != dial["number"]:
            why = "number differs from the call row"
        else:
            continue
        unsanctioned.append(dict(dial, why=why))
    logged = Counter(d["number"] for d in dials)
    recorded = Counter(c["number"] for c in dialled.values())
    over = {n: logged[n] - recorded[n] for n in logged if logged[n] > recorded[n]}
    return unsanctioned, over


def context(dial: dict, calls_by_number: dict, phones: dict, faults: list[dict], log_text: str) -> dict:
    """What surrounds one finding, for the report."""
    return {
        **{k: dial[k] for k in ("t", "phone", "call_id", "number", "attempt", "fleet") if k in dial},
        **({"why": dial["why"]} if "why" in dial else {}),
        "near_fault": near_fault(faults, dial["t"]),
        "calls_of_number": [{k: c[k] for k in ("id", "phone_id", "attempt", "state", "result", "reason",
                                               "leased_at", "dialed_at", "ended_at")}
                            | {"phone": phones.get(c["phone_id"])} for c in calls_by_number.get(dial["number"], [])],
        "server_log": server_lines(log_text, dial.get("call_id")),
    }


def leased_before(dial: dict, calls: list[dict], t: float) -> bool | None:
    """Whether the call a dial belongs to was leased before ``t`` (None: no such call row)."""
    row = next((c for c in calls if c["id"] == dial.get("call_id")), None)
    return None if row is None else row["leased_at"] < t


def audit(db_path: Path, campaign_id: int, fleets: list[FleetProcess], dnc: dict, faults: list[dict],
          log_text: str) -> tuple[dict, dict]:
    """(the counts, the details) from the database and the dial logs."""
    calls = [dict(r) for r in read(db_path, "SELECT * FROM call WHERE campaign_id = ?", [campaign_id])]
    phones = {r["id"]: r["name"] for r in read(db_path, "SELECT id, name FROM phone")}
    calls_by_number: dict[str, list[dict]] = {}
    for call in sorted(calls, key=lambda c: c["leased_at"]):
        calls_by_number.setdefault(call["number"], []).append(call)
    dials = read_dials(fleets)
    unsanctioned, over = audit_dials(dials, calls)
    after_dnc = [dict(d, after_dnc_s=round(d["t"] - dnc[d["number"]]["t"], 2)) for d in dials
                 if d["number"] in dnc and d["t"] > dnc[d["number"]]["t"]]
    never = read(db_path, "SELECT status, last_result, attempts, count(*) AS n FROM campaign_contact "
                          "WHERE campaign_id = ? AND (status != 'done' OR (attempts = 0 AND "
                          "coalesce(last_result, '') != 'do_not_call')) GROUP BY 1, 2, 3", [campaign_id])
    stuck = [c for c in calls if c["result"] is None]
    lost = [dict(r) for r in read(
        db_path, "SELECT c.id, c.number, c.phone_id, c.state, c.result, c.reason FROM call c "
                 "WHERE c.campaign_id = ? AND c.pressed_one = 1 AND coalesce(c.result, '') != 'connected' "
                 "AND NOT EXISTS (SELECT 1 FROM callback b WHERE b.call_id = c.id)", [campaign_id])]
    dialled_ids = {d.get("call_id") for d in dials}
    contexts = [context(d, calls_by_number, phones, faults, log_text) for d in unsanctioned]
    counts = {
        "contacts": read(db_path, "SELECT count(*) FROM campaign_contact WHERE campaign_id = ?",
                         [campaign_id])[0][0],
        "calls": sum(1 for c in calls if c["dialed_at"] is not None),
        "dials": len(dials),
        "double_dials": max(len(unsanctioned), sum(over.values())),
        "dialled_after_dnc": len(after_dnc),
        "never_called": sum(r["n"] for r in never),
        "stuck_calls": len(stuck),
        "lost_callbacks": len(lost),
    }
    details = {
        "double_dials": contexts[:100],
        "double_dials_by_why": dict(Counter(d["why"] for d in unsanctioned)),
        "double_dials_by_fault": dict(Counter((c["near_fault"] or "no fault").split(" (")[0] for c in contexts)),
        "redialled_after_phone_lost": redialled_after_lost(calls, log_text),
        "numbers_dialled_more_than_recorded": over,
        "recorded_but_not_in_dial_logs": [c["id"] for c in calls
                                          if c["dialed_at"] is not None and c["id"] not in dialled_ids][:100],
        "dialled_after_dnc": [dict(context(d, calls_by_number, phones, faults, log_text),
                                   after_dnc_s=d["after_dnc_s"],
                                   leased_before_dnc=leased_before(d, calls, dnc[d["number"]]["t_before"]))
                              for d in after_dnc],
        "do_not_call_added": dnc,
        "never_called": [dict(r) for r in never],
        "stuck_calls": [{k: c[k] for k in ("id", "phone_id", "state", "leased_at", "lease_expires", "dialed_at")}
                        | {"phone": phones.get(c["phone_id"]), "server_log": server_lines(log_text, c["id"])}
                        for c in stuck[:100]],
        "lost_callbacks": lost[:100],
        "results": dict(Counter(c["result"] for c in calls if c["dialed_at"] is not None)),
        "reasons": dict(Counter(c["reason"] for c in calls if c["reason"]).most_common(15)),
    }
    return counts, details


def redialled_after_lost(calls: list[dict], log_text: str) -> list[dict]:
    """Contacts dialled again after the server closed their call as lost (the
    retry rule for calls lost before an answer). Not counted as double dials —
    the records sanction them — but if the phone was only frozen, the first
    call went on and the voter was called twice: see ``late_ends_refused``."""
    by_contact: dict[int, list[dict]] = {}
    for call in sorted(calls, key=lambda c: c["dialed_at"] or 0):
        if call["dialed_at"] is not None:
            by_contact.setdefault(call["campaign_contact_id"], []).append(call)
    out = []
    for chain in by_contact.values():
        for lost, after in zip(chain, chain[1:]):
            if lost["reason"] == "phone_lost":
                out.append({"lost_call": lost["id"], "next_call": after["id"], "number": lost["number"],
                            "gap_s": round(after["dialed_at"] - lost["dialed_at"], 1),
                            "server_log": server_lines(log_text, lost["id"])})
    return out


# -- ending ---------------------------------------------------------------------------------

def settle(run: Run, timeout: float) -> float:
    """SIGTERM the fleets, then let the server close what they held (up to
    ``timeout`` s); how long that took."""
    for fleet in run.fleets:
        fleet.stop()
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if not run.server.alive:
            run.mind()
        open_calls = read(run.server.db_path, "SELECT count(*) FROM call WHERE campaign_id = ? AND result IS NULL",
                          [run.campaign_id])[0][0]
        if not open_calls:
            break
        time.sleep(0.5)
    return time.monotonic() - began


def server_log_notes(log_text: str) -> dict:
    lines = log_text.splitlines()
    return {"tracebacks": log_text.count("Traceback (most recent call last)"),
            "exceptions": dict(Counter(exceptions(lines)).most_common(10)),
            # a phone's own end of a call the server had already closed (phone lost): the
            # real outcome of that call is not in the records
            "late_ends_refused": sum(1 for line in lines if "call already ended" in line),
            "disk_full_lines": sum(1 for line in lines if "database or disk is full" in line
                                   or "No space left" in line),
            "errors": sum(1 for line in lines if " ERROR " in line)}


def exceptions(lines: list[str]):
    """The exception line ending each traceback in a log."""
    inside = False
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            inside = True
        elif inside and line and not line[0].isspace():
            inside = False
            yield line[:200]


def print_findings(counts: dict, details: dict) -> None:
    print(f"dials: {counts['dials']} placed by the phones, {counts['calls']} recorded by the server; "
          f"results {details['results']}")
    if details["double_dials"]:
        print(f"double dials: {counts['double_dials']} ({details['double_dials_by_why']}; "
              f"by fault {details['double_dials_by_fault']})")
        for d in details["double_dials"][:10]:
            print(f"  {d['number']} by {d.get('phone')} call {d.get('call_id')}: {d['why']}; "
                  f"near {d['near_fault'] or 'no fault'}; server log: {len(d['server_log'])} line(s)")
    if details["redialled_after_phone_lost"]:
        print(f"dialled again after a call closed as phone lost: {len(details['redialled_after_phone_lost'])} "
              "(sanctioned by the retry rule)")
    if details["recorded_but_not_in_dial_logs"]:
        print(f"recorded as dialled but not in the dial logs: {len(details['recorded_but_not_in_dial_logs'])}")
    if details["dialled_after_dnc"]:
        print(f"dialled after 수신거부: {counts['dialled_after_dnc']}: " + ", ".join(
            f"{d['number']} +{d['after_dnc_s']} s" for d in details["dialled_after_dnc"][:10]))
    if counts["never_called"]:
        print(f"never called: {counts['never_called']} {details['never_called']}")
    if counts["stuck_calls"]:
        states = Counter(c["state"] for c in details["stuck_calls"])
        print(f"stuck calls: {counts['stuck_calls']} (states {dict(states)})")
    if counts["lost_callbacks"]:
        print(f"lost callbacks: {counts['lost_callbacks']} (results "
              f"{dict(Counter(c['result'] for c in details['lost_callbacks']))})")


# -- main ------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="fixes which faults strike when")
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--phones", type=int, default=20, help=f"in fleets of {PHONES_PER_FLEET}, one process each")
    parser.add_argument("--speed", type=float, default=20.0, help="voters and agents this much faster than life")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop here if the campaign is not finished")
    parser.add_argument("--report", default="bench-chaos.json")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work dir (logs, dial logs, a copy of the database)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # clean up (thaw, stop, unmount) as on Ctrl+C

    workdir = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    db_folder = workdir / "db"
    disk, disk_note = database_folder(db_folder)
    processes: list[Process] = []
    try:
        print(f"work dir {workdir}; disk fault {disk_note}", flush=True)
        return chaos(args, workdir, db_folder, disk, disk_note, processes)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        for process in reversed(processes):
            process.stop(timeout=10)
        if args.keep and disk:
            for path in db_folder.glob("chaos.db*"):
                shutil.copy2(path, workdir / path.name)
        if disk:
            unmount(db_folder)
        if args.keep:
            print(f"work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def database_folder(path: Path) -> tuple[bool, str]:
    """Make the database folder: a tmpfs as root (the disk-full fault is real),
    else a plain folder. (tmpfs mounted?, what that means for the disk fault)."""
    if os.geteuid() != 0:
        path.mkdir()
        return False, "skipped: needs root to mount a tmpfs"
    try:
        mount_tmpfs(path, TMPFS_MB)
    except subprocess.CalledProcessError as exc:
        return False, f"skipped: could not mount a tmpfs ({exc})"
    return True, f"real: the database on a {TMPFS_MB} MB tmpfs"


def chaos(args, workdir: Path, db_folder: Path, disk: bool, disk_note: str, processes: list) -> int:
    run = set_up(args, workdir, db_folder, processes)
    schedule = plan(args.seed, len(run.fleets), disk)
    steps = ", ".join(f"+{f['gap_s']} s {f['fault']}" for f in schedule)
    print(f"{args.phones} phones in {len(run.fleets)} fleet process(es) at speed {args.speed} on "
          f"{run.server.url}; seed {args.seed}; schedule: {steps}", flush=True)
    run.start = time.monotonic()
    run.deadline = run.start + args.max_seconds
    for fault in schedule:
        if not run.wait(fault["gap_s"]):
            break
        run.strike(fault)
    run.wait(None)
    seconds, finished = run.now_s(), run.finished()
    struck = {f["fault"] for f in run.faults}
    not_reached = [f["fault"] for f in schedule if f["fault"] not in struck]
    log(run.start, f"campaign {'finished' if finished else 'NOT finished'}; "
                   f"faults not reached: {', '.join(not_reached) or 'none'}; settling …")
    settled_s = settle(run, timeout=LEASE["lease_base_s"] + PREFETCH * LEASE["lease_per_call_s"] + 5.0)
    fleet_metrics = {fleet.index: fleet.last_metrics() for fleet in run.fleets}
    run.server.stop()

    log_text = run.server.log_path.read_text(errors="replace")
    counts, details = audit(run.server.db_path, run.campaign_id, run.fleets, run.dnc, run.faults, log_text)
    notes = server_log_notes(log_text)
    print_findings(counts, details)
    print_process_notes(run, fleet_metrics, notes, counts)
    summary = dict(counts, seconds=seconds, finished=finished, seed=args.seed,
                   faults=[{k: v for k, v in f.items() if k not in ("t", "t_end")} for f in run.faults])
    if not disk:
        summary["disk_fault"] = disk_note
    report = dict(summary, disk_fault=disk_note, phones=args.phones, speed=args.speed,
                  max_seconds=args.max_seconds, schedule=schedule, faults_not_reached=not_reached,
                  faults_detail=run.faults, incidents=run.incidents, settled_s=round(settled_s, 1),
                  server=dict(notes, starts=run.server.starts),
                  fleets={f.index: {"starts": f.starts, "final": _fleet_brief(fleet_metrics[f.index])}
                          for f in run.fleets},
                  details=details, settings=dict(SETTINGS, **server_config()), code=code_version(),
                  workdir=str(workdir))
    Path(args.report).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def set_up(args, workdir: Path, db_folder: Path, processes: list) -> Run:
    """Seed, start the server and the campaign, start the fleets."""
    db_path, uploads = db_folder / "chaos.db", workdir / "uploads"
    t = time.perf_counter()
    campaign_id = seed(db_path, uploads, args.contacts)
    print(f"seeded {args.contacts:,} contacts in {time.perf_counter() - t:.1f} s", flush=True)
    server = Server(workdir, db_path, uploads, free_port())
    processes.append(server)
    server.start()
    console = Console(server.url)
    console.post(f"/campaigns/{campaign_id}/start")
    fleets = fleets_for(args.phones, server.url, args.seed, args.speed, workdir)
    processes.extend(fleets)
    for fleet in fleets:
        fleet.start()
    return Run(server, fleets, console, campaign_id, db_folder, args.max_seconds)


def print_process_notes(run: Run, fleet_metrics: dict, notes: dict, counts: dict) -> None:
    refusals: Counter = Counter()
    for metrics in fleet_metrics.values():
        refusals.update((metrics or {}).get("lease_empty") or {})
    if refusals:
        print(f"empty leases the phones were given, by reason (last run of each fleet): {dict(refusals)}")
    print(f"server: started {run.server.starts} times; log: {notes['tracebacks']} tracebacks, "
          f"{notes['disk_full_lines']} disk-full lines, {notes['late_ends_refused']} late call ends refused "
          "(calls closed as lost while their phone still had them)")
    for exception, n in notes["exceptions"].items():
        print(f"  {n} × {exception}")
    for incident in run.incidents:
        print(f"incident at {incident['at_s']} s: {incident['what']}")
    if not counts["dials"]:
        print("! nothing was dialled: see the server's and the fleets' logs (--keep)")


def code_version() -> dict:
    """The commit measured and the files changed since (the numbers depend on them)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""
    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "changed": [line[3:] for line in git("status", "--porcelain").splitlines()]}


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _fleet_brief(metrics: dict | None) -> dict | None:
    if metrics is None:
        return None
    return {k: metrics.get(k) for k in ("calls", "results", "refused_events", "reconnects", "released",
                                        "expired", "lease_errors", "lease_empty", "agent_desk")}


if __name__ == "__main__":
    sys.exit(main())
