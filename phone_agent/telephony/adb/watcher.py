"""Call state pushed by the phone: one long-lived ``exec:`` stream per phone
on which a small shell loop prints the grepped call state only when it
changes (decision 30).

The loop (:data:`WATCH_SCRIPT`, run as ``sh -c SCRIPT mobile-ars-watch FAST
SLOW BEAT TICKS ARM``) looks at ``dumpsys telephony.registry`` (grepped on the
phone, the same lines the poll reads) every FAST seconds while the registry
shows a call (``mCallState`` 1 or 2 on any SIM) and every SLOW seconds
otherwise — in TICKS naps of FAST seconds, so an arm file (below) is noticed
within FAST seconds (it never looks twice without a nap). It prints a block only when what it saw differs from
what it printed last, and the same block again after BEAT looks without a
change (the heartbeat: a silent stream is a dead one, and a loop whose host
went away dies of SIGPIPE at its next print)::

    __ARS_W_B__
    <the grepped registry lines>
    __ARS_W_R__            (or __ARS_W_T__: Telecom's grepped dump follows)
    <the grepped telecom lines, when armed>
    __ARS_W_E__

Telecom's dump is read too while one of two arm files exists, which the
backend creates in the same command line as the ``am start`` that places a
call: ``ARM.d`` (a voter call placed: until the registry shows a call, so a
call that comes and goes between two looks is still found by its Telecom id,
and a dual SIM's "which SIM?" prompt is seen) — the loop removes it once the
registry shows a call; ``ARM.a`` (an agent leg placed: Telecom tells the two
legs apart) — the loop removes it when the registry shows no call at all.

Everything here is pure but :class:`WatchStream`, which owns the blocking
stream in a thread of its own and hands what it read to the event loop.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from typing import Callable

from .android import POLL_TELECOM_PATTERN, REGISTRY_PATTERN
from .transport import Transport, close_quietly

__all__ = ["ARM_PATH", "BEGIN", "END", "MAX_BLOCK", "REGISTRY_ONLY", "WITH_TELECOM", "WATCH_SCRIPT",
           "WatchedState", "WatchParser", "WatchProtocolError", "WatchStream", "arm_line", "watch_command"]

ARM_PATH = "/data/local/tmp/mobile-ars-watch"  # + ".d" / ".a": the arm files
BEGIN, REGISTRY_ONLY, WITH_TELECOM, END = "__ARS_W_B__", "__ARS_W_R__", "__ARS_W_T__", "__ARS_W_E__"
MAX_BLOCK = 256 * 1024  # a block larger than this is not our loop's

# POSIX sh (Android's mksh, toybox's sleep/rm/dumpsys/grep). No single quote
# inside: it travels single-quoted. $1..$5: FAST SLOW BEAT TICKS ARM.
WATCH_SCRIPT = (
    'f=$1 s=$2 h=$3 k=$4 a=$5 p=- q=0; '
    'while :; do '
    f'c=$(dumpsys telephony.registry | grep -E "{REGISTRY_PATTERN}"); '
    f'm={REGISTRY_ONLY} t=; '
    '{ [ -f $a.d ] || [ -f $a.a ]; } && '
    f'{{ m={WITH_TELECOM}; t=$(dumpsys telecom | grep -E "{POLL_TELECOM_PATTERN}"); }}; '
    'if [ "$c$m$t" != "$p" ] || [ $q -ge $h ]; then '
    f'printf "%s\\n" {BEGIN} "$c" $m "$t" {END} || exit 0; p=$c$m$t; q=0; fi; '
    'q=$((q+1)); '
    'case $c in '
    '*mCallState=[12]*) [ -f $a.d ] && rm -f $a.d; sleep $f;; '
    '*) [ -f $a.a ] && rm -f $a.a; i=0; '
    'while [ $i -lt $k ]; do sleep $f; i=$((i+1)); [ -f $a.d ] && break; done;; '
    'esac; '
    'done')


def watch_command(fast_s: float, slow_s: float, beat_looks: int) -> str:
    """The ``exec:`` command line that starts the loop."""
    if not 0 < fast_s <= slow_s:
        raise ValueError(f"watch intervals must be 0 < fast ({fast_s}) <= slow ({slow_s})")
    ticks = max(1, round(slow_s / fast_s))
    return (f"sh -c '{WATCH_SCRIPT}' mobile-ars-watch {fast_s:g} {slow_s:g} "
            f"{max(1, int(beat_looks))} {ticks} {ARM_PATH}")


def arm_line(kind: str) -> str:
    """The shell command that arms the loop's Telecom reads: ``d`` (a voter
    call placed) or ``a`` (an agent leg placed)."""
    if kind not in ("d", "a"):
        raise ValueError(f"unknown arm kind {kind!r}")
    return f"touch {ARM_PATH}.{kind}"


@dataclass(frozen=True)
class WatchedState:
    """One block the loop printed: the registry's lines, and Telecom's when
    it read them (None: it did not)."""

    registry: str
    telecom: str | None


class WatchProtocolError(ValueError):
    """What the stream carried is not the loop's output."""


class WatchParser:
    """Bytes of the stream in, :class:`WatchedState` blocks out (pure).

    What lies outside a block is ignored (a shell that prints a warning);
    a block that never ends within :data:`MAX_BLOCK` bytes is refused."""

    def __init__(self):
        self._buffer = b""

    def feed(self, data: bytes) -> list[WatchedState]:
        self._buffer += data
        out: list[WatchedState] = []
        while True:
            start = self._buffer.find(BEGIN.encode() + b"\n")
            if start < 0:
                # Keep a tail that may be the start of a marker.
                self._buffer = self._buffer[-len(BEGIN):]
                return out
            end = self._buffer.find(b"\n" + END.encode() + b"\n", start)
            if end < 0:
                if len(self._buffer) - start > MAX_BLOCK:
                    raise WatchProtocolError(f"a watch block longer than {MAX_BLOCK} bytes")
                self._buffer = self._buffer[start:]
                return out
            body = self._buffer[start + len(BEGIN) + 1:end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[end + len(END) + 2:]
            out.append(self._block(body))

    @staticmethod
    def _block(body: str) -> WatchedState:
        lines = body.replace("\r", "").split("\n")
        for i, line in enumerate(lines):
            if line in (REGISTRY_ONLY, WITH_TELECOM):
                registry = "\n".join(lines[:i]) + "\n"
                telecom = "\n".join(lines[i + 1:]) + "\n" if line == WITH_TELECOM else None
                return WatchedState(registry, telecom)
        raise WatchProtocolError("a watch block without its registry/telecom marker")


class WatchStream:
    """The loop's ``exec:`` stream, read in a thread of its own.

    ``deliver(item)`` is called on the event loop with a
    :class:`WatchedState`, or with a ``str`` once: why the stream ended (the
    phone closed it, the link broke, it carried garbage). Nothing is
    delivered after :meth:`stop`."""

    def __init__(self, link: Transport, command: str, loop: asyncio.AbstractEventLoop,
                 deliver: Callable[[object], None], name: str = "watch"):
        self._link = link
        self._command = command
        self._loop = loop
        self._deliver = deliver
        self._conn = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"adb-watch-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        close_quietly(self._conn)

    def _hand(self, item: object) -> None:
        if self._stopped.is_set():
            return
        try:
            self._loop.call_soon_threadsafe(self._guarded, item)
        except RuntimeError:  # the event loop is closed
            self._stopped.set()

    def _guarded(self, item: object) -> None:
        if not self._stopped.is_set():
            self._deliver(item)

    def _run(self) -> None:
        reason = "the watch stream ended"
        try:
            self._conn = self._link.open(f"exec:{self._command}")
            if self._stopped.is_set():
                return
            sock = self._conn.conn
            sock.settimeout(1.0)
            parser = WatchParser()
            while not self._stopped.is_set():
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    reason = "the phone closed the watch stream"
                    break
                for state in parser.feed(data):
                    self._hand(state)
        except WatchProtocolError as exc:
            reason = f"the watch stream carried something else: {exc}"
        except Exception as exc:  # noqa: BLE001 — any failure ends the stream; the monitor decides
            reason = f"the watch stream failed: {type(exc).__name__}: {exc}"
        finally:
            close_quietly(self._conn)
            self._hand(reason)
