"""Following a phone's calls for the adb backend: :class:`CallMonitor`.

Calls are followed by the **watch stream** (:mod:`.watcher`, decision 30):
a shell loop on the phone prints the grepped registry — and Telecom's dump
while the dial line's arm file exists — only when it changes. When the
stream ends, one look through the shell catches what changed and the stream
starts again; a phone where it cannot run is polled every ``poll_s`` in a
call and every ``idle_poll_s`` otherwise (the backend's settings), with
Telecom's dump while a new call is not yet in the registry or a second leg
is up. What the dumps mean is the tracker's (:mod:`.tracker`); the
monitor applies them to it and emits what changed through the backend.

The backend (:class:`~.backend.AdbTelephony`) owns one monitor, started
when it opens and closed with it; its call control reads the call state
through the monitor (:meth:`CallMonitor.settle`,
:meth:`CallMonitor.current_slots`, …) so it is the same view either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Callable

from ..base import CallStateChange, DeviceUnavailable
from ..dumpsys import (DumpsysFormatError, SlotState, TelecomCall, parse_telecom_calls,
                       parse_telephony_registry)
from .android import POLL_REGISTRY, POLL_TELECOM, SEP
from .watcher import WatchStream, watch_command

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["CallMonitor"]

log = logging.getLogger(__name__)


class CallMonitor:
    """One phone's calls followed: the watch stream, else polling.

    ``enabled``: run the monitor task at all (tests drive it by hand when
    not); ``watch``: try the watch stream before polling;
    ``watch_beat_looks``, ``watch_start_s``, ``watch_retry_s``: the loop's
    beat, how long it may take to speak first, how long to poll after it
    failed.
    """

    def __init__(self, backend: "AdbTelephony", *, enabled: bool = True, watch: bool = True,
                 watch_beat_looks: int = 10, watch_start_s: float = 10.0, watch_retry_s: float = 300.0):
        self.backend = backend
        self.enabled = enabled
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        # The watch stream (decision 30); polling while it is None.
        self.watch_enabled = watch
        self.watch_beat_looks = watch_beat_looks
        self.watch_start_s = watch_start_s
        self.watch_retry_s = watch_retry_s
        self._watch: WatchStream | None = None
        self._watch_gen = 0
        self._watch_queue: asyncio.Queue = asyncio.Queue()
        self._watch_heard: float | None = None  # when it last printed (None: not yet)
        self._watch_since = 0.0
        self._watch_state: tuple[list[SlotState], list[TelecomCall] | None] | None = None
        self._watch_failures: list[float] = []
        self._watch_blocks = 0  # blocks applied
        self._watch_paused_until = 0.0
        self._progress = asyncio.Event()  # the monitor applied a look, or the watch changed
        self.placing = asyncio.Lock()  # held from "am start" until the tracker knows of the call

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start following calls (if enabled and not already running)."""
        if self.enabled and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._follow(), name=f"adb-monitor-{self.backend.serial}")

    async def close(self) -> None:
        self.stop_watch()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def wake(self) -> None:
        """Look again now (polling) rather than at the next interval."""
        self._wake.set()

    @property
    def watching(self) -> bool:
        """The watch stream runs (it may not have spoken yet)."""
        return self._watch is not None

    @property
    def watched_slots(self) -> list[SlotState] | None:
        """The registry in the watch stream's latest block; None while no
        stream runs or it has not spoken."""
        if self._watch is not None and self._watch_state is not None:
            return self._watch_state[0]
        return None

    @property
    def following(self) -> str:
        """How calls are followed now: ``"stream"`` (the watch loop speaks),
        ``"starting"``, ``"poll"`` or ``"none"`` (no monitor)."""
        if self._task is None or self._task.done():
            return "none"
        if self._watch is None:
            return "poll"
        return "stream" if self._watch_heard is not None else "starting"

    # ------------------------------------------------------------ following

    async def _follow(self) -> None:
        """Follow the phone's calls: by the watch stream (pushed), else by polling."""
        b = self.backend
        while not b._closed and b.available:
            try:
                if self._watch is None and self.watch_enabled and time.monotonic() >= self._watch_paused_until:
                    self._start_watch()
                if self._watch is not None:
                    await self._follow_watch()
                else:
                    await self._follow_poll()
            except DeviceUnavailable:
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug: keep the phone usable, say so
                log.exception("%s: monitor error", b.serial)
                await asyncio.sleep(b.idle_poll_s)

    def emit_all(self, changes: list[CallStateChange]) -> None:
        b = self.backend
        for change in changes:
            if change.cause == "failed" and b.tracker.failure:
                log.warning("%s: %s call failed: %s", b.serial, change.leg, b.tracker.failure)
            b._emit(change)
        self._progress.set()

    async def _follow_poll(self) -> None:
        b = self.backend
        changes = await self.poll()
        async with self.placing:
            self.emit_all(changes)
        interval = b.poll_s if b.tracker.busy else b.idle_poll_s
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), interval)

    # -- the watch stream (decision 30) --

    def _start_watch(self) -> None:
        b = self.backend
        self._watch_gen += 1
        gen, queue = self._watch_gen, self._watch_queue
        command = watch_command(b.poll_s, b.idle_poll_s, self.watch_beat_looks)
        self._watch = WatchStream(b._link, command, asyncio.get_running_loop(),
                                  lambda item: queue.put_nowait((gen, item)), name=b.serial)
        self._watch_heard = None
        self._watch_since = time.monotonic()
        self._watch.start()

    def stop_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()
            self._watch_queue.put_nowait((self._watch_gen, None))  # wake the monitor
        self._watch_state = None
        self._progress.set()

    async def _follow_watch(self) -> None:
        """Wait for the next block (or for time to pass in a call) and apply it."""
        b = self.backend
        now = time.monotonic()
        if self._watch_heard is None:
            deadline = self._watch_since + self.watch_start_s
        else:
            deadline = self._watch_heard + (self.watch_beat_looks * 3 + 2) * b.idle_poll_s + 5.0
        timeout = deadline - now
        if b.tracker.busy:
            timeout = min(timeout, b.poll_s)
        try:
            gen, item = await asyncio.wait_for(self._watch_queue.get(), max(0.0, timeout))
        except asyncio.TimeoutError:
            if time.monotonic() >= deadline:
                await self._watch_failed(f"no word on the watch stream for {deadline - self._watch_since:.0f} s"
                                         if self._watch_heard is None else "the watch stream fell silent")
            elif self._watch_state is not None:
                # Time passes for a call in progress (start timeout, cause grace): no command needed.
                async with self.placing:
                    self._apply(*self._watch_state)
            return
        if gen != self._watch_gen or item is None or self._watch is None:
            return
        if isinstance(item, str):
            await self._watch_failed(item)
            return
        try:
            slots = parse_telephony_registry(item.registry)
            calls = parse_telecom_calls(item.telecom) if item.telecom is not None and item.telecom.strip() \
                else ([] if item.telecom is not None else None)
        except DumpsysFormatError as exc:
            raise b._lost(exc, DeviceUnavailable(f"cannot read the call state: {exc}")) from None
        if self._watch_heard is None:
            log.info("%s: following calls by the watch stream", b.serial)
        self._watch_heard = time.monotonic()
        if calls is None and b.tracker.agent is not None and b.tracker.needs_telecom:
            calls = await self.telecom_calls()  # two legs need Telecom's view; the loop was not armed
        async with self.placing:  # a dial in flight: its dialing() first
            self._watch_state = (slots, calls)
            self._watch_blocks += 1
            self._apply(slots, calls)

    def _apply(self, slots: list[SlotState], calls: list[TelecomCall] | None) -> None:
        self.emit_all(self.backend.tracker.update(slots, calls, time.monotonic()))

    async def _watch_failed(self, reason: str) -> None:
        """The stream ended or never spoke: look once through the shell (so no
        change is lost; raises DeviceUnavailable if the phone is gone), then
        start it again — or poll for ``watch_retry_s`` if it cannot run."""
        serial = self.backend.serial
        heard = self._watch_heard is not None
        self.stop_watch()
        now = time.monotonic()
        self._watch_failures = [t for t in self._watch_failures if now - t < 60.0] + [now]
        if not heard or len(self._watch_failures) >= 3:
            self._watch_paused_until = now + self.watch_retry_s
            log.warning("%s: %s; following calls by polling for %.0f s", serial, reason, self.watch_retry_s)
        else:
            log.info("%s: %s; starting it again", serial, reason)
        self.emit_all(await self.poll())

    async def next_block(self, timeout: float) -> None:
        """Until the watch stream's next block is applied (or the timeout)."""
        seen, deadline = self._watch_blocks, time.monotonic() + timeout
        while self._watch is not None and self._watch_blocks == seen and time.monotonic() < deadline:
            await self._await_progress(deadline - time.monotonic())

    async def _await_progress(self, timeout: float) -> None:
        self._progress.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._progress.wait(), max(0.0, timeout))

    async def current_slots(self) -> list[SlotState]:
        """The phone's registry now: the watch stream's latest block (waiting
        for the first), else a look through the shell."""
        b = self.backend
        deadline = time.monotonic() + self.watch_start_s + 1.0
        while self._watch is not None and self._watch_state is None and time.monotonic() < deadline:
            await self._await_progress(deadline - time.monotonic())
        if not b.available:
            raise b._unavailable()
        if self._watch is not None and self._watch_state is not None:
            return self._watch_state[0]
        slots, _ = await self.snapshot(False)
        self._apply(slots, None)
        return slots

    # -- polling (the fallback) --

    async def poll(self) -> list[CallStateChange]:
        tracker = self.backend.tracker
        slots, calls = await self.snapshot(tracker.needs_telecom)
        return tracker.update(slots, calls, time.monotonic())

    async def snapshot(self, with_telecom: bool) -> tuple[list[SlotState], list[TelecomCall] | None]:
        command = POLL_REGISTRY
        if with_telecom:
            command += f"; echo {SEP}; {POLL_TELECOM}"
        text, _ = await self.backend.shell(command)
        registry, _, telecom = text.partition(SEP + "\n")
        try:
            slots = parse_telephony_registry(registry)
            calls = parse_telecom_calls(telecom) if with_telecom and telecom.strip() else (
                [] if with_telecom else None)
        except DumpsysFormatError as exc:
            raise self.backend._lost(exc, DeviceUnavailable(f"cannot read the call state: {exc}")) from None
        return slots, calls

    def parse_telecom(self, text: str) -> list[TelecomCall]:
        if not text.strip():
            return []
        try:
            return parse_telecom_calls(text)
        except DumpsysFormatError as exc:
            raise self.backend._lost(exc, DeviceUnavailable(f"cannot read Telecom's calls: {exc}")) from None

    async def telecom_calls(self) -> list[TelecomCall]:
        text, _ = await self.backend.shell(POLL_TELECOM)
        return self.parse_telecom(text)

    async def settle(self, until: Callable[[], bool], timeout: float) -> bool:
        """Until ``until()`` holds (or the timeout): the watch stream's
        blocks as they come, else a poll now and again."""
        deadline = time.monotonic() + timeout
        while True:
            if self._watch is None:
                self.emit_all(await self.poll())
            if until():
                return True
            if time.monotonic() >= deadline:
                return False
            if self._watch is not None:
                await self._await_progress(min(deadline - time.monotonic(), 1.0))
            else:
                await asyncio.sleep(self.backend.poll_s)
