"""Does a console log-in stall the server? (argon2 off the event loop)

Runs ``ars serve`` on a fresh database in a temporary folder with a manager
hashed with the production argon2 parameters (``ars create-manager``), then
logs in ``--logins`` times one after another while a second client asks
for a small static file every 10 ms. Under eventlet a verification on the
loop thread (about 0.3 s of CPU each, password and PIN) would hold every
other request for its whole length; off the loop the static requests keep
being answered. Prints the log-in times and the static requests' latency
during the log-ins, then one JSON line; writes the report to --report
(default bench-login.json).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=10)
    parser.add_argument("--report", default="bench-login.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        database = str(Path(work) / "bench.db")
        subprocess.run([sys.executable, "-m", "server", "create-manager", "--db", database, "--id", "bench",
                        "--password", "bench password", "--pin", "1234"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(Path(work) / "server.log", "w") as log:
            server = subprocess.Popen([sys.executable, "-m", "server", "serve", "--db", database, "--uploads",
                                       str(Path(work) / "uploads"), "--host", "127.0.0.1", "--port", str(port)],
                                      cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            try:
                report = run(url, args.logins)
            finally:
                server.terminate()
                server.wait(timeout=20)
    print(f"log-in (password + PIN verified): p50 {report['login_s_p50']:.3f} s, "
          f"max {report['login_s_max']:.3f} s over {args.logins}")
    print(f"static file during the log-ins: {report['probe_requests']} answered, "
          f"p50 {report['probe_ms_p50']:.1f} ms, p99 {report['probe_ms_p99']:.1f} ms, "
          f"max {report['probe_ms_max']:.1f} ms")
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, separators=(",", ":")))


def run(url: str, logins: int) -> dict:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/login", timeout=1)
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
    stop = threading.Event()
    probe: list[float] = []

    def ask_static():
        with requests.Session() as http:
            while not stop.is_set():
                started = time.perf_counter()
                http.get(f"{url}/static/app.css", timeout=10)
                probe.append(time.perf_counter() - started)
                time.sleep(0.01)

    thread = threading.Thread(target=ask_static)
    thread.start()
    times = []
    try:
        for _ in range(logins):
            with requests.Session() as http:
                token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{url}/login").text).group(1)
                started = time.perf_counter()
                answer = http.post(f"{url}/login", data={"login_id": "bench", "password": "bench password",
                                                         "pin": "1234", "csrf_token": token},
                                   allow_redirects=False)
                times.append(time.perf_counter() - started)
                if answer.status_code != 302:
                    raise SystemExit(f"log-in refused: HTTP {answer.status_code}")
    finally:
        stop.set()
        thread.join()
    return {"bench": "login", "logins": logins, "login_s_p50": round(statistics.median(times), 4),
            "login_s_max": round(max(times), 4), "probe_requests": len(probe),
            "probe_ms_p50": round(statistics.median(probe) * 1000, 2),
            "probe_ms_p99": round(percentile(probe, 0.99) * 1000, 2),
            "probe_ms_max": round(max(probe) * 1000, 2)}


if __name__ == "__main__":
    main()
