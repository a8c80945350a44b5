"""A private adb server: the real ``adb`` binary the adbutils wheel ships,
listening on a free loopback port with its own ``HOME``.

Used by the tests (tests/adb_fixtures.py wraps it in fixtures), by
``scripts/bench fleet --backend adb`` and by ``python -m phone_agent fleet
--backend adb``, which put virtual phones behind it.

Isolation: the server listens on a free port of 127.0.0.1 — never the
default 5037, never a non-loopback address — with its own ``HOME`` (keys in
a temporary ``.android``) and ``TMPDIR`` (its log), no USB, no emulator scan
and no mDNS, so it never meets a developer's devices or the office LAN.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import adbutils

__all__ = ["ADB", "AdbServer", "DeviceTracker", "LOOPBACK", "free_port"]

ADB = str(Path(adbutils.__file__).parent / "binaries" / "adb")
if not os.path.exists(ADB):  # a platform whose wheel has no binary
    ADB = adbutils.adb_path()

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 5037


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` right now (outside adb's 5037 and 5554–5585)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port != DEFAULT_PORT and not 5554 <= port <= 5585:
            return port


def _device_states(listing: str) -> dict[str, str]:
    """serial → state from the server's device list (a "SERIAL<tab>STATE" line each)."""
    states = {}
    for line in listing.splitlines():
        serial, _, state = line.partition("\t")
        if serial:
            states[serial] = state
    return states


class AdbServer:
    """A private adb server: ``start()``, ``client()``, ``adb(*args)``, ``stop()``."""

    def __init__(self, port: int | None = None, home: str | Path | None = None):
        self.port = port or free_port()
        if self.port == DEFAULT_PORT:
            raise ValueError("tests never touch the default adb server port 5037")
        self._own_home = home is None
        self.home = Path(home or tempfile.mkdtemp(prefix="adb-home-"))
        (self.home / ".android").mkdir(parents=True, exist_ok=True)
        (self.home / "tmp").mkdir(exist_ok=True)
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("ADB_SERVER_SOCKET", "ANDROID_ADB_SERVER_ADDRESS",
                                   "ANDROID_SERIAL", "ADB_TRACE", "ADBHOST")}
        self.env.update({
            "ANDROID_ADB_SERVER_PORT": str(self.port),
            "HOME": str(self.home),
            "ANDROID_USER_HOME": str(self.home / ".android"),
            "TMPDIR": str(self.home / "tmp"),
            "ADB_USB": "0",                 # no USB devices
            "ADB_EMU": "0",                 # no emulator scan of 127.0.0.1:5555–5585
            "ADB_MDNS": "0",                # no mDNS discovery on the LAN
            "ADB_MDNS_AUTO_CONNECT": "0",
        })
        self.running = False

    # -- life --------------------------------------------------------------
    def start(self) -> AdbServer:
        if not self.running:
            self._run("start-server", timeout=30)
            self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            try:
                self._run("kill-server", timeout=15, check=False)
            finally:
                self.running = False
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> AdbServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- use ----------------------------------------------------------------
    def client(self) -> adbutils.AdbClient:
        return adbutils.AdbClient(host=LOOPBACK, port=self.port)

    def adb(self, *args: str, timeout: float = 30, check: bool = True) -> str:
        """Run the adb command line against this server; its stdout."""
        return self._run(*args, timeout=timeout, check=check).stdout

    def _run(self, *args: str, timeout: float, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([ADB, "-P", str(self.port), *args], env=self.env, timeout=timeout,
                              check=check, capture_output=True, text=True)

    def states(self) -> dict[str, str]:
        """serial → state as ``adb devices`` shows it (device, offline, unauthorized…)."""
        with self.client().make_connection(timeout=5) as conn:
            conn.send_command("host:devices")
            conn.check_okay()
            return _device_states(conn.read_string_block())

    def wait_for(self, serial: str, state: str | None, timeout: float = 10) -> str | None:
        """Wait until ``serial`` shows ``state`` (``None``: not listed); the last state seen."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.states().get(serial)
            if seen == state:
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"{serial} is {seen!r}, not {state!r}, after {timeout} s")
            time.sleep(0.05)

    def track(self) -> DeviceTracker:
        """Follow ``host:track-devices``: every state change, even a 250 ms ``offline``."""
        return DeviceTracker(self.port)

    @property
    def log(self) -> str:
        """The server's own log (adb.UID.log in its TMPDIR)."""
        logs = sorted((self.home / "tmp").glob("adb*.log"))
        return "\n".join(path.read_text(errors="replace") for path in logs)


class DeviceTracker:
    """Every state change the adb server announces, in order (``host:track-devices``).

    ``wait_for(serial, state)`` returns once that change has been announced
    since the previous ``wait_for`` (state ``None``: the device left the
    list), so a short ``offline`` between two ``device`` is not missed::

        with server.track() as tracker:
            phone.drop()
            tracker.wait_for(serial, "offline")
            tracker.wait_for(serial, "device")
    """

    def __init__(self, port: int):
        self.changes: list[tuple[str, str | None]] = []
        self._consumed = 0
        self._states: dict[str, str] = {}
        self._cond = threading.Condition()
        self._sock = socket.create_connection((LOOPBACK, port), timeout=5)
        request = b"host:track-devices"
        self._sock.sendall(b"%04x" % len(request) + request)
        status = self._read(4)
        if status != b"OKAY":
            self._sock.close()
            raise RuntimeError(f"track-devices refused: {status!r}")
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._follow, name="adb-track-devices", daemon=True)
        self._thread.start()

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self._sock.recv(count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _follow(self) -> None:
        try:
            while True:
                states = _device_states(self._read(int(self._read(4), 16)).decode())
                with self._cond:
                    for serial, state in states.items():
                        if self._states.get(serial) != state:
                            self.changes.append((serial, state))
                    for serial in self._states.keys() - states.keys():
                        self.changes.append((serial, None))
                    self._states = states
                    self._cond.notify_all()
        except (EOFError, OSError, ValueError):
            pass

    def wait_for(self, serial: str, state: str | None, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(self._consumed, len(self.changes)):
                    if self.changes[index] == (serial, state):
                        self._consumed = index + 1
                        return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{serial} did not become {state!r} within {timeout} s; "
                                         f"changes seen: {self.changes[self._consumed:]}")
                self._cond.wait(remaining)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DeviceTracker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
