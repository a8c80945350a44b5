"""Benchmark: the calling engine under a fleet of simulated phones.

Starts ``ars serve`` on a loopback port with a fresh database (a sample
campaign, running), then N simulated phones (``phone_agent.simulator.fleet``, each a
real Socket.IO client) with fast voters for S seconds, and measures:

- idle gap: a phone's hang-up to its next dial (the server must never make a
  phone wait: target p99 < 0.5 s at 500 phones);
- press1_to_ring: the "1" reported to the agent-ring answer received (target
  p99 < 50 ms at 500 phones);
- the server process's CPU (user + system time / wall time, 100 % = one core).

``--backend adb`` puts the real adb path between the call script and the
voters: every phone is a virtual handset (phone_agent.simulator.virtual) behind a
private adb server on a free loopback port, driven by the real adb backend
(one long-lived shell per phone, the watch stream, exec: audio streams). The
measured window then starts once every phone has placed its first call
(its start-up — asset pushes, the helper check, the first health read —
is reported apart, per phone, as ``adb_startup_commands_per_phone``), and
the JSON line also has ``adb_commands_per_call``: every command line the
handsets ran and every stream adb opened to them (shell, exec:, sync: push)
in the window, per call ended in it; the report breaks them down by kind
(``adb_commands_by_kind``, per call) and gives the adb server's CPU.

Prints human lines, one JSON line last, and writes the full report to
--report (default bench-fleet.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phone_agent.simulator.fleet import Fleet  # noqa: E402
from server import db, sample  # noqa: E402

ENROL_KEY = "bench-enrol-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(workdir: Path, db_path: Path, uploads: Path, backend: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = workdir / "ars.toml"
    config.write_text("heartbeat_s = 5.0\n")
    log = open(workdir / "server.log", "wb")
    env = dict(os.environ, ARS_CONFIG=str(config), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "server", "serve", "--db", str(db_path), "--uploads",
                                str(uploads), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((workdir / "server.log").read_text())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def adb_server_pid(fleet: Fleet) -> int | None:
    """The private adb server's process (it daemonises, so found by its port)."""
    port = fleet.adb_server_port
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"fork-server" in argv and f"tcp:{port}".encode() in argv:
            return int(proc.name)
    return None


KINDS = (  # first match wins: (kind, what the command line contains)
    ("watch stream", ("sh -c 'f=$1",)), ("call state poll", ("dumpsys telephony.registry | grep -E 'Phone Id=",)),
    ("dial", ("am start",)), ("hang up", ("KEYCODE_ENDCALL",)), ("answer", ("KEYCODE_CALL",)),
    ("telecom read", ("dumpsys telecom",)), ("in-call screen", ("uiautomator", "input tap")),
    ("audio", ("app_process",)), ("health", ("dumpsys battery",)),
    ("audio helper check", ("stat -c %s /data/local/tmp/mobile-ars-audio.jar",)),
    ("assets", ("sha256sum", "sync: SEND", "MEDIA_SCANNER", "stat -c", "ls ")),
    ("device", ("getprop", "content query")))


def command_kind(line: str) -> str:
    for kind, marks in KINDS:
        if any(mark in line for mark in marks):
            return kind
    return "other"


def window_lines(rack, since: list[int]) -> list[str]:
    """The command lines each handset ran since its count was ``since``."""
    out = []
    for handset, start in zip(rack.handsets, since):
        new = handset.command_count - start
        out += list(handset.commands)[-new:] if new > 0 else []
    return out


def ms(summary: dict, key: str) -> float | None:
    return None if not summary.get("count") else round(summary[key] * 1000, 2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=1.0,
                        help="voters and agents this much faster than life (the simulated fleet is one "
                             "Python process: past speed ~2 at 500 phones its own event loop delays the acks)")
    parser.add_argument("--backend", choices=("sim", "adb"), default="sim",
                        help="adb: virtual handsets driven through a private adb server by the adb backend")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", default="bench-fleet.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        workdir = Path(tmp)
        db_path, uploads = workdir / "bench.db", workdir / "uploads"
        # Enough contacts that the campaign cannot run dry: ~1 call per phone per (6 s / speed).
        contacts = max(2000, int(args.phones * args.seconds * args.speed / 4))
        t = time.perf_counter()
        seeded = sample.seed_campaign(db_path, uploads, contacts=contacts, enrol_key=ENROL_KEY, intro_s=4.0,
                                      promise_s=2.0, settings={"call_hours_start": "00:00",
                                                               "call_hours_end": "23:59",
                                                               "agent_ring_repeats": 2, "agent_ring_cycle_s": 4})
        store = db.connect(db_path)
        db.set_campaign_state(store, seeded["campaign_id"], "running", from_states=("ready",))
        store.conn.close()
        print(f"seeded {contacts:,} contacts in {time.perf_counter() - t:.1f} s (not measured)", flush=True)

        server, url = start_server(workdir, db_path, uploads, args.backend)
        try:
            t = time.perf_counter()
            fleet = Fleet.in_thread(url, args.phones, enrol_key=ENROL_KEY, seed=args.seed, speed=args.speed,
                                    state_file=None, cache_dir=workdir / "phone-cache", backend=args.backend)
            print(f"{args.phones} phones ({args.backend}) enrolled and connected in "
                  f"{time.perf_counter() - t:.1f} s", flush=True)
            adb_pid = adb_server_pid(fleet.fleet) if args.backend == "adb" else None
            rack = fleet.fleet.rack if args.backend == "adb" else None
            warm_s = startup = None
            if rack is not None:  # the window starts once every phone has placed a call
                t = time.perf_counter()
                while not all(h.history for h in rack.handsets) and time.perf_counter() - t < 120:
                    time.sleep(0.1)
                warm_s = round(time.perf_counter() - t, 1)
                startup = round(rack.commands() / args.phones, 1)
                print(f"every phone placed a call after {warm_s} s; start-up: {startup} adb commands per phone",
                      flush=True)
                since = [h.command_count for h in rack.handsets]
            cpu0, wall0, own0 = cpu_seconds(server.pid), time.monotonic(), time.process_time()
            adb0 = cpu_seconds(adb_pid) if adb_pid else 0.0
            start = fleet.metrics()
            calls0, commands0 = start["calls"], start.get("adb_commands", 0)
            time.sleep(args.seconds)
            cpu1, wall1, own1 = cpu_seconds(server.pid), time.monotonic(), time.process_time()
            adb1 = cpu_seconds(adb_pid) if adb_pid else 0.0
            commands1 = fleet.metrics().get("adb_commands", 0)
            lines = window_lines(rack, since) if rack is not None else []
            final = fleet.stop(grace_s=0.0)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        handling = {}
        for line in (workdir / "server.log").read_text(errors="replace").splitlines():
            if "phone event handling: " in line:
                handling = json.loads(line.split("phone event handling: ", 1)[1])
        calls = final["calls"] - calls0
        seconds = wall1 - wall0
        gaps, press = final["idle_gap_s"], final["dtmf_to_agent_ack_s"]
        summary = {
            "phones": args.phones,
            "calls": calls,
            "calls_per_s": round(calls / seconds, 2),
            "idle_gap_p50_s": None if not gaps.get("count") else round(gaps["p50"], 4),
            "idle_gap_p99_s": None if not gaps.get("count") else round(gaps["p99"], 4),
            "press1_to_ring_p50_ms": ms(press, "p50"),
            "press1_to_ring_p99_ms": ms(press, "p99"),
            "server_cpu_percent": round(100 * (cpu1 - cpu0) / seconds, 1),
        }
        fleet_cpu = round(100 * (own1 - own0) / seconds, 1)
        extra = {}
        if args.backend == "adb":
            summary["adb_commands_per_call"] = round((commands1 - commands0) / calls, 1) if calls else None
            extra["adb_server_cpu_percent"] = round(100 * (adb1 - adb0) / seconds, 1) if adb_pid else None
            extra["adb_startup_commands_per_phone"] = startup
            extra["adb_warm_up_s"] = warm_s
            kinds: dict[str, int] = {}
            for line in lines:
                kinds[command_kind(line)] = kinds.get(command_kind(line), 0) + 1
            extra["adb_commands_by_kind"] = {k: round(v / calls, 2) for k, v in
                                             sorted(kinds.items(), key=lambda kv: -kv[1])} if calls else {}
            print("adb commands per call by kind: " + ", ".join(f"{k} {v}" for k, v in
                                                             extra["adb_commands_by_kind"].items()))
            print(f"adb: {commands1 - commands0} command lines and streams, {summary['adb_commands_per_call']} per call; "
                  f"adb server CPU {extra['adb_server_cpu_percent']} %")
        print(f"calls {calls} in {seconds:.0f} s; results {final['results']}")
        print(f"CPU: server {summary['server_cpu_percent']} %, simulated fleet {fleet_cpu} % (100 % = one core; "
              "the fleet's event loop is one core at most, and past ~90 % its own delays show in the acks)")
        print("acks (s): " + ", ".join(f"{k} p50 {v['p50']:.4f} p99 {v['p99']:.4f}"
                                       for k, v in final["ack_s"].items() if v.get("count")))
        if handling:
            print("server handling (ms): " + ", ".join(f"{k} p50 {v['p50_ms']} p99 {v['p99_ms']}"
                                                      for k, v in sorted(handling.items())))
        final.pop("raw", None)
        final.pop("per_phone", None)
        report = dict(summary, **extra, backend=args.backend, speed=args.speed, seconds=args.seconds,
                      fleet=final, fleet_cpu_percent=fleet_cpu, server_handling_ms=handling, targets={"idle_gap_p99_s": 0.5, "press1_to_ring_p99_ms": 50},
                      machine={"python": platform.python_version(), "cpus": os.cpu_count()})
        Path(args.report).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
