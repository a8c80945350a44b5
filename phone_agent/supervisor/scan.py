"""The router's addresses and the adb server's device list — what the
supervisor watches, without the phones it drives.

* :func:`parse_scan` turns a scan spec (``172.16.0.20-99``, a network, a
  list, with ports) into ``host:port`` addresses; :func:`phone_name` is the
  name a phone found there joins with.
* :class:`DeviceTracker` follows ``host:track-devices`` in a thread and
  reports every new device list (serial → adb state);
  :func:`list_devices` is the one-off ``host:devices`` listing that stands in
  while tracking is down.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import subprocess
import threading

import adbutils

from ..backoff import Backoff

__all__ = ["ADB_ERRORS", "DEFAULT_ADB_PORT", "MAX_SCAN", "DeviceTracker", "ScanSpecError",
           "list_devices", "parse_devices", "parse_scan", "phone_name"]

DEFAULT_ADB_PORT = 5555  # what `adb tcpip 5555` opens on a phone
MAX_SCAN = 1024  # addresses one supervisor scans at most (a /22)
# What reaching the adb server can raise (adbutils starts a server when none answers).
ADB_ERRORS = (adbutils.AdbError, OSError, subprocess.SubprocessError)


# -- the scan list ---------------------------------------------------------------------------

class ScanSpecError(ValueError):
    """A scan range that cannot be read; the message names the part and why."""


def parse_scan(spec: str, default_port: int = DEFAULT_ADB_PORT, limit: int = MAX_SCAN) -> list[str]:
    """``host:port`` addresses from a scan spec, in order, without repeats.

    Comma-separated parts, each an IPv4 address, a range or a network, with
    an optional ``:port`` (``default_port`` otherwise)::

        172.16.0.23               one phone
        172.16.0.20-172.16.0.99   a range (may cross a /24)
        172.16.0.20-99            the same range, last octet only
        172.16.0.0/28             a network's host addresses (.1-.14)
        172.16.0.20-29:5556       any of the above on another port

    More than ``limit`` addresses in all is refused (a scan that large is a
    typo: the router's phones sit in one /24)."""
    if not 1 <= default_port <= 65535:
        raise ScanSpecError(f"port {default_port} is not a TCP port (1-65535)")
    parts = [part.strip() for part in spec.split(",")]
    if not any(parts):
        raise ScanSpecError("no address given: e.g. 172.16.0.20-99")
    addresses: dict[str, None] = {}
    for part in parts:
        if not part:
            raise ScanSpecError(f"{spec!r}: an empty part between commas")
        first, last, port = _scan_part(part, default_port)
        if len(addresses) + (last - first + 1) > limit:
            raise ScanSpecError(f"{spec!r} covers more than {limit} addresses: scan a smaller range "
                                "(the router's phones sit in one /24)")
        for value in range(first, last + 1):
            addresses[f"{ipaddress.IPv4Address(value)}:{port}"] = None
    return list(addresses)


def _scan_part(part: str, default_port: int) -> tuple[int, int, int]:
    """(first address, last address, port) of one part of a scan spec."""
    text, port = _split_port(part, default_port)
    if "/" in text:
        try:
            network = ipaddress.IPv4Network(text, strict=True)
        except ValueError as exc:
            raise ScanSpecError(f"{part!r}: not an IPv4 network ({exc})") from None
        first, last = int(network.network_address), int(network.broadcast_address)
        if network.prefixlen < 31:  # leave out the network and broadcast addresses
            first, last = first + 1, last - 1
        return first, last, port
    start_text, dash, end_text = text.partition("-")
    try:
        start = int(ipaddress.IPv4Address(start_text.strip()))
    except ValueError:
        raise ScanSpecError(f"{part!r} is not an IPv4 address, range (a-b) or network (a/n)") from None
    if not dash:
        return start, start, port
    end_text = end_text.strip()
    if "." in end_text:
        end = _ipv4(end_text, part)
    elif end_text.isdigit() and int(end_text) <= 255:
        end = (start & ~0xFF) | int(end_text)
    else:
        raise ScanSpecError(f"{part!r}: the range must end in an address or a last octet 0-255")
    if end < start:
        raise ScanSpecError(f"{part!r}: the range ends before it starts")
    return start, end, port


def _split_port(part: str, default_port: int) -> tuple[str, int]:
    if part.count(":") > 1:
        raise ScanSpecError(f"{part!r}: only IPv4 addresses can be scanned")
    text, colon, port_text = part.partition(":")
    if not colon:
        return text.strip(), default_port
    if not port_text.strip().isdigit() or not 1 <= int(port_text) <= 65535:
        raise ScanSpecError(f"{part!r}: {port_text!r} is not a TCP port (1-65535)")
    return text.strip(), int(port_text)


def _ipv4(text: str, part: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise ScanSpecError(f"{part!r}: {text.strip()!r} is not an IPv4 address") from None


def phone_name(serial: str) -> str:
    """The name a phone joins with: ``router-172.16.0.23`` (port 5555),
    ``router-172.16.0.23:5556``, ``router-<USB serial>``."""
    host, _, port = serial.rpartition(":")
    if host and port == str(DEFAULT_ADB_PORT):
        return f"router-{host}"
    return f"router-{serial}"[:60]


# -- the adb server's device list ----------------------------------------------------------

def parse_devices(listing: str) -> dict[str, str]:
    """``host:devices`` text → serial: state."""
    states = {}
    for line in listing.splitlines():
        serial, _, state = line.partition("\t")
        if serial.strip():
            states[serial.strip()] = state.strip()
    return states


def list_devices(client: adbutils.AdbClient) -> dict[str, str]:
    with client.make_connection(timeout=10) as conn:
        conn.send_command("host:devices")
        conn.check_okay()
        return parse_devices(conn.read_string_block())


class DeviceTracker:
    """Follows ``host:track-devices`` in a thread of its own and calls
    ``report(states, None)`` with every new list, or ``report(None, error)``
    when the adb server cannot be followed (then tries again, backing off
    from 1 to 10 s). :meth:`stop` wakes the blocked read by shutting its
    socket down."""

    def __init__(self, client: adbutils.AdbClient, report):
        self.client = client
        self.report = report
        self.tracking = False
        self._conn: adbutils.AdbConnection | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._main, name="adb-track-devices", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            conn, self._conn = self._conn, None
        _shut(conn)
        self._thread.join(timeout=5)

    def _main(self) -> None:
        backoff = Backoff(1.0, 10.0)
        while not self._stopped.is_set():
            try:
                self._follow()
            except ADB_ERRORS as exc:
                if not self._stopped.is_set():
                    self.report(None, f"cannot follow devices: {type(exc).__name__}: {exc}")
            self.tracking = False
            if self._stopped.wait(backoff.next()):
                return

    def _follow(self) -> None:
        conn = self.client.make_connection(timeout=10)
        with self._lock:
            if self._stopped.is_set():
                _shut(conn)
                return
            self._conn = conn
        try:
            conn.send_command("host:track-devices")
            conn.check_okay()
            conn.conn.settimeout(None)
            self.tracking = True
            while not self._stopped.is_set():
                self.report(parse_devices(conn.read_string_block()), None)
        finally:
            # Whoever takes the connection out of self._conn closes it (stop() may have).
            with self._lock:
                mine = self._conn is conn
                if mine:
                    self._conn = None
            if mine:
                _shut(conn)


def _shut(conn: adbutils.AdbConnection | None) -> None:
    """Close a connection another thread may be reading: shutdown first
    (that wakes the reader), then close."""
    if conn is None:
        return
    with contextlib.suppress(Exception):
        conn.conn.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        conn.close()
