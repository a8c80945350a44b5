"""The blocking side of the adb backend: one phone's adb streams (run in
worker threads).

:class:`Transport` opens service streams to the phone through the adb
server — each closed again on any failure, so a refused request ("device
offline") never leaks a socket — asks adb for the phone's state and writes
its own ``sync:`` push (adbutils' leaks on failure too). :class:`Session` is
the long-lived interactive shell (``shell:`` with a PTY, as ``adb shell``
opens it): each command is sent as one line framed by
``echo "__BEGIN_""n__"`` / ``echo "__END_""n__ $?"`` and the answer is what
lies between the two markers (the PTY's echo of the line cannot match: the
quotes split the markers). :func:`close_quietly` closes a stream from any
thread.
"""

from __future__ import annotations

import contextlib
import re
import socket
import stat as stat_module
import struct
import threading
import time

import adbutils

from ..base import AudioError
from .errors import SessionBroken

__all__ = ["Session", "Transport", "close_quietly"]


class Transport:
    """Blocking adb access to one phone (runs in worker threads)."""

    def __init__(self, client: adbutils.AdbClient, serial: str, timeout_s: float):
        self.client = client
        self.serial = serial
        self.timeout_s = timeout_s

    def open(self, service: str, timeout: float | None = None) -> adbutils.AdbConnection:
        """A stream to ``service`` on the phone; closed again on any failure."""
        conn = self.client.make_connection(timeout=timeout or self.timeout_s)
        try:
            conn.send_command(f"host:transport:{self.serial}")
            conn.check_okay()
            conn.send_command(service)
            conn.check_okay()
        except BaseException:
            close_quietly(conn)
            raise
        return conn

    def state(self) -> str:
        with self.client.make_connection(timeout=self.timeout_s) as conn:
            conn.send_command(f"host-serial:{self.serial}:get-state")
            conn.check_okay()
            return conn.read_string_block()

    def push(self, data: bytes, remote: str, mode: int = 0o644) -> None:
        conn = self.open("sync:", timeout=max(self.timeout_s, 30.0))
        try:
            spec = f"{remote},{stat_module.S_IFREG | mode}".encode()
            sock = conn.conn
            sock.sendall(b"SEND" + struct.pack("<I", len(spec)) + spec)
            for i in range(0, len(data), 64 * 1024):
                chunk = data[i:i + 64 * 1024]
                sock.sendall(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
            sock.sendall(b"DONE" + struct.pack("<I", int(time.time())))
            head = conn.read_exact(8)
            ident, length = head[:4], struct.unpack("<I", head[4:])[0]
            if ident == b"FAIL":
                raise AudioError(f"push of {remote} failed: {conn.read_exact(length).decode(errors='replace')}")
            if ident != b"OKAY":
                raise adbutils.AdbError(f"unexpected sync answer {head!r}")
            sock.sendall(b"QUIT" + struct.pack("<I", 0))
        finally:
            close_quietly(conn)


class Session:
    """The long-lived interactive shell (``shell:`` with a PTY)."""

    def __init__(self, link: Transport):
        self.link = link
        self.conn: adbutils.AdbConnection | None = None
        self.n = 0
        self.buffer = b""

    def start(self) -> None:
        self.conn = self.link.open("shell:")
        self.conn.conn.settimeout(self.link.timeout_s)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        close_quietly(conn)

    def run(self, command: str, timeout: float) -> tuple[str, int]:
        if self.conn is None:
            raise SessionBroken("shell closed")
        self.n += 1
        n = self.n
        line = f'echo "__BEGIN_""{n}__"; {command}; echo "__END_""{n}__ $?"\n'
        sock = self.conn.conn
        try:
            sock.sendall(line.encode())
        except OSError as exc:
            self.close()
            raise SessionBroken(f"shell closed: {exc}") from None
        begin = re.compile(rb"__BEGIN_%d__\r?\n" % n)
        end = re.compile(rb"__END_%d__ (\d+)\r?\n" % n)
        deadline = time.monotonic() + timeout
        while True:
            m_end = end.search(self.buffer)
            if m_end:
                m_begin = begin.search(self.buffer, 0, m_end.start())
                body = self.buffer[m_begin.end() if m_begin else 0:m_end.start()]
                self.buffer = self.buffer[m_end.end():]
                text = body.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "")
                return text, int(m_end.group(1))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise SessionBroken(f"no answer to {command.split()[0]!r} within {timeout:.0f} s")
            sock.settimeout(min(remaining, 5.0))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as exc:
                self.close()
                raise SessionBroken(f"shell closed: {exc}") from None
            if not chunk:
                self.close()
                raise SessionBroken("shell closed by the phone")
            self.buffer += chunk
            if len(self.buffer) > 8 << 20:
                self.buffer = self.buffer[-(4 << 20):]


_CLOSE_LOCK = threading.Lock()


def close_quietly(conn: adbutils.AdbConnection | None) -> None:
    """Close a stream from any thread, once: shut the socket down first (that,
    unlike close(), wakes a thread blocked in recv on it). adbutils' own
    close() is not safe to call twice at the same time."""
    if conn is None:
        return
    with _CLOSE_LOCK:
        if conn.closed:
            return
        with contextlib.suppress(Exception):
            conn.conn.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            conn.close()
