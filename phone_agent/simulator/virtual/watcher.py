"""The virtual handset's side of the call-state watch loop.

The adb backend follows calls with one ``exec:`` stream per phone running a
small shell loop (``sh -c SCRIPT mobile-ars-watch FAST SLOW BEAT TICKS ARM``:
:mod:`phone_agent.telephony.adb.watcher`). The handset's toy shell cannot
run loops, so :class:`WatchLoop` recognises that script by its SHA-256
(:data:`SCRIPT_SHA256`, pinned: a change to the script must be mirrored
here, or the handset does not recognise it and the backend falls back to
polling) and runs it natively, printing byte for byte what ``sh`` would:
each look runs the same grepped ``dumpsys`` lines through the handset's
shell (not counted as adb command lines: the phone runs them, adb does not
carry them), honours and removes the arm files as the script does, and
prints a block only on a change or after BEAT looks.

``enabled=False`` is a phone on which the loop does not run (``sh``
answers that it cannot, and the stream closes at once). :meth:`kill` ends
every running loop, as ``kill`` on the phone would: the host sees its stream
close.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shlex
from typing import Awaitable, Callable

from .shell import Shell, Storage

__all__ = ["SCRIPT_SHA256", "WatchLoop"]

# sha256 of phone_agent.telephony.adb.watcher.WATCH_SCRIPT
SCRIPT_SHA256 = "c0af8abc63f182e8583de08bd9c45fa187e6e8b1d68ffb1ab2d61b11e6179ff1"

REGISTRY_PATTERN = ("Phone Id=|mCallState=|mRingingCallState=|mForegroundCallState=|"
                    "mBackgroundCallState=|mPreciseCallState=|mCallDisconnectCause=|"
                    "mCallPreciseDisconnectCause=|mCallIncomingNumber=")
TELECOM_PATTERN = "\\[Call id=|\\[TC@|mCalls:|Historical Events|Call TC@|SET_DISCONNECTED"
_IN_CALL = re.compile(r"mCallState=[12]")

Handler = Callable[[object], Awaitable[int]]


class WatchLoop:
    """Runs the watch script natively on a handset's shell and storage."""

    def __init__(self, sh: Shell, storage: Storage, enabled: bool = True):
        self.sh = sh
        self.storage = storage
        self.enabled = enabled
        self.runs = 0  # loops started
        self.running = 0  # loops running now
        self._kills: set[asyncio.Event] = set()

    def command(self, command: str) -> Handler | None:
        """The handler of ``sh -c SCRIPT …`` when SCRIPT is the watch loop."""
        if not command.lstrip().startswith("sh "):
            return None
        try:
            argv = shlex.split(command)
        except ValueError:
            return None
        if len(argv) < 8 or argv[:2] != ["sh", "-c"] or not self.enabled:
            return None
        if hashlib.sha256(argv[2].encode()).hexdigest() != SCRIPT_SHA256:
            return None
        fast, slow, beat, ticks, arm = argv[4:9]
        try:
            f, s, h, k = float(fast), float(slow), int(beat), int(ticks)
        except ValueError:
            return None
        return lambda io: self._loop(io, f, s, h, k, arm)

    def kill(self) -> int:
        """End every running loop; how many there were."""
        for event in self._kills:
            event.set()
        return len(self._kills)

    def _exists(self, path: str) -> bool:
        st = self.storage.stat(path)
        return st is not None and st[0] & 0o170000 == 0o100000

    async def _grep(self, service: str, pattern: str) -> str:
        out, _ = await self.sh.run(f'dumpsys {service} | grep -E "{pattern}"', note=False)
        return out.rstrip("\n")  # as $( ) strips trailing newlines

    async def _loop(self, io, f: float, s: float, h: int, k: int, arm: str) -> int:
        killed = asyncio.Event()
        self._kills.add(killed)
        self.runs += 1
        self.running += 1

        async def nap(seconds: float) -> bool:
            try:
                await asyncio.wait_for(killed.wait(), seconds)
                return True
            except asyncio.TimeoutError:
                return False
        try:
            printed, quiet = None, 0
            while not killed.is_set():
                c = await self._grep("telephony.registry", REGISTRY_PATTERN)
                m, t = "__ARS_W_R__", ""
                if self._exists(arm + ".d") or self._exists(arm + ".a"):
                    m, t = "__ARS_W_T__", await self._grep("telecom", TELECOM_PATTERN)
                if c + m + t != printed or quiet >= h:
                    try:
                        await io.write(f"__ARS_W_B__\n{c}\n{m}\n{t}\n__ARS_W_E__\n".encode())
                    except (BrokenPipeError, ConnectionError):
                        return 0  # printf failed: the host went away
                    printed, quiet = c + m + t, 0
                quiet += 1
                if _IN_CALL.search(c):
                    if self._exists(arm + ".d"):
                        self.storage.files.pop(self.storage.norm(arm + ".d"), None)
                    if await nap(f):
                        break
                else:
                    if self._exists(arm + ".a"):
                        self.storage.files.pop(self.storage.norm(arm + ".a"), None)
                    for _ in range(k):
                        if await nap(f) or self._exists(arm + ".d"):
                            break
            return 143  # killed (SIGTERM)
        finally:
            self._kills.discard(killed)
            self.running -= 1
