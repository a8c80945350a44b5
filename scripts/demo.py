"""Set up a demo and run it: the server on loopback, 10 simulated phones and
2 simulated agents, a running campaign over a sample call list.

Called by ``scripts/demo``. Everything sample is generated (``server.sample``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import db, sample  # noqa: E402
from server.security import hash_secret  # noqa: E402

DEMO_ID = "demo"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_PIN = "1234"
ENROL_KEY = "demo-enrol-key"


def free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port near {preferred}")


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server stopped; see the lines above")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--phones", type=int, default=10)
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--speed", type=float, default=2.0,
                        help="simulated voters and agents run this many times faster than life")
    parser.add_argument("--dir", default=str(ROOT / "var" / "demo"),
                        help="where the demo database and uploads go (recreated)")
    args = parser.parse_args()
    base = Path(args.dir)
    shutil.rmtree(base, ignore_errors=True)
    db_path, uploads_dir = base / "demo.db", base / "uploads"
    print("preparing demo data…", file=sys.stderr)
    seeded = sample.seed_campaign(db_path, uploads_dir, contacts=args.contacts, bad_every=50,
                                  enrol_key=ENROL_KEY, settings={"call_hours_start": "00:00",
                                                                 "call_hours_end": "23:59"})
    store = db.connect(db_path)
    try:
        db.create_manager(store, DEMO_ID, hash_secret(DEMO_PASSWORD), hash_secret(DEMO_PIN))
        db.set_campaign_state(store, seeded["campaign_id"], "running", from_states=("ready",))
    finally:
        store.conn.close()
    print(f"  call list: {seeded['imported']} imported, {seeded['invalid']} invalid, "
          f"{seeded['duplicates']} duplicates; campaign running", file=sys.stderr)

    port = free_port(args.port)
    url = f"http://127.0.0.1:{port}"
    ars = str(ROOT / ".venv" / "bin" / "ars")
    common = ["--db", str(db_path), "--uploads", str(uploads_dir)]
    server = subprocess.Popen([ars, "serve", *common, "--host", "127.0.0.1", "--port", str(port)])
    wait_for_port(port, server)
    fleet = subprocess.Popen([ars, "sim", *common, "--server", url, "--phones", str(args.phones),
                              "--speed", str(args.speed), "--enrol-key", ENROL_KEY,
                              "--state", str(base / "sim-fleet.json")],
                             stdout=subprocess.DEVNULL)
    print()
    print("=" * 64)
    print(f"  Mobile ARS demo:    {url}/")
    print(f"  관리자 아이디 (id):   {DEMO_ID}")
    print(f"  패스워드 (password):  {DEMO_PASSWORD}")
    print(f"  관리자비번 (PIN):     {DEMO_PIN}")
    print(f"  {args.phones} simulated phones and agents 1001/1002 are calling;")
    print(f"  watch them on {url}/dashboard.  Stop with Ctrl+C.")
    print("=" * 64, flush=True)
    try:
        while server.poll() is None and fleet.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in (fleet, server):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (fleet, server):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
