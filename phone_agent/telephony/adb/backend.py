"""The ``adb`` backend: a real Android phone driven from the adb shell.

One backend for both placements:

* **router mode** — the phone is on the call server's Wi-Fi with ADB over TCP
  on; the runner on the server machine drives ``"172.16.0.23:5555"`` through
  the server machine's adb server (``adb connect`` is done here);
* **internet mode** — ``phone_agent`` runs on the phone itself (Termux) and
  drives the phone's own adbd on ``"127.0.0.1:<port>"`` (Android 11+
  Wireless debugging, paired once with ``adb pair``; the port changes each
  time Wireless debugging is switched on, so it is configuration).

Everything goes through :mod:`adbutils` (a synchronous library: every
blocking call runs in a worker thread; one single-thread executor per phone
serialises the shell), on service streams of the backend's own
(:mod:`.transport`).

Call control (the shell user holds CALL_PHONE, READ_PRECISE_PHONE_STATE,
INJECT_EVENTS, DUMP, START_ACTIVITIES_FROM_BACKGROUND)
----------------------------------------------------------------------------
=========================  ==================================================  ==========
what                       shell command                                        Android
=========================  ==================================================  ==========
dial                       ``am start -a android.intent.action.CALL -d tel:N``   all (``#`` sent as ``%23``)
follow the call            ``exec:sh -c '<watch loop>' …`` (pushed), else         10–14
                           ``dumpsys telephony.registry | grep -E '…'`` (polled)
(second leg, conference)   ``dumpsys telecom | grep -E '…'``                     10–14
hang up (foreground call)  ``input keyevent KEYCODE_ENDCALL``                    all
answer a ringing call      ``input keyevent KEYCODE_CALL``                       all
merge / resume held call   ``uiautomator dump`` + ``input tap X Y``              all, per in-call app
device                     ``getprop``, ``dumpsys battery``,                     all
                           ``content query --uri content://telephony/siminfo``   own number: where readable
assets                     ``sync:`` push, ``stat -c %s``, ``sha256sum``,          8+ (toybox)
                           ``am broadcast -a …MEDIA_SCANNER_SCAN_FILE -d file://``
=========================  ==================================================  ==========

Every shell command goes through **one long-lived interactive shell per
phone** (:class:`~.transport.Session`); pushes (``sync:``), the audio
streams and the call-state watch (``exec:``) use streams of their own. Calls
are followed (:class:`~.monitor.CallMonitor`, which the backend owns) by the
**watch stream** (:mod:`.watcher`, decision 30): a shell
loop on the phone prints the grepped registry — and Telecom's dump while
the dial line's arm file exists — only when it changes; nothing crosses adb
while nothing changes. When the stream ends, one look through the shell
catches what changed and the stream starts again; a phone where it cannot
run is polled every ``poll_s`` (0.25 s) in a call and every ``idle_poll_s``
(1 s) otherwise, with Telecom's dump while a new call is not yet in the
registry or a second leg is up. A dial is one command line (Telecom's calls
just before, the arm, the idle check, ``am start``); a hang-up one
(ENDCALL only if the registry on the phone shows a call); health is read at
most every ``health_s`` and never during a call.

Following the calls (the watch stream, else polling) is :mod:`.monitor`;
the files put on the phone, verified by size and sha256, are :mod:`.assets`;
what the dumps tell and how the calls are followed from them is the
tracker's (:mod:`.tracker`); the audio path is :mod:`.audio`; the streams
and the shell session are :mod:`.transport`; the shell commands and what
Android prints are :mod:`.android`; how adb's errors become typed errors,
and what the backend does when the phone goes away, is :mod:`.errors`.

This module is a little over 600 lines (about 630) because this docstring
is the adb path's reference (about 90 lines: the command table, what the
shell can and cannot do for the agent leg) and :class:`AdbTelephony` is one
class: its lifecycle, call control, audio and device methods all work on
the same shell session, call tracker and availability state; what is pure
or separable lives in the modules named above.

The agent leg and the bridge — what the shell can and cannot do
---------------------------------------------------------------
* ``ring_agent``: a second ``am start … CALL`` while the voter call is active.
  Telecom puts the voter **on hold** first (the voter hears the network's
  hold tone, not silence) and dials the agent line.
* ``drop_agent``: ``KEYCODE_ENDCALL`` ends the foreground call — the agent
  leg. After a *local* end Telecom resumes the held voter by itself
  (CallsManager.maybeMoveHeldCallToForeground). After a *remote* end (agent
  busy, no answer, agent hung up) it does **not**: the voter stays on hold
  and nothing in ``am``/``input``/``cmd telecom`` resumes a call, so the
  backend presses the in-call screen's "Resume" button (``uiautomator dump``,
  find the label, ``input tap``).
* ``bridge``: there is no shell command that merges calls (``cmd telecom``
  has none; ``service call phone`` codes change per release). The honest
  approximation is the in-call screen's "Merge" button, found by its label
  (:data:`MERGE_LABELS`, English and Korean, extendable per phone) and
  tapped; the merge is then confirmed from Telecom's dump (a call with
  ``childs(2)``). A phone whose in-call screen shows no merge (carrier
  without 3-way calling, or an in-call app with other labels) raises
  :class:`MergeUnavailable`; the agent stays on the separate leg. On IMS
  (VoLTE) conferences the merged calls may be replaced by the conference's
  own participants, so after a merge the backend can only tell *that*
  someone left, not always *who*: it reports the agent leg ended first and
  the voter when the conference is gone — the call script ends the call in
  both cases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable

import adbutils

from ..base import (ACTIVE, AGENT, DISCONNECTED, INCOMING, VOTER, AudioError, CallFailed, DeviceNotConnected,
                    DeviceUnavailable, InvalidNumber, NoActiveCall, Telephony, TelephonyError)
from ..dumpsys import TelecomCall, parse_getprop
from .android import (ASSET_DIR, DIALLABLE, END_CALL_LINE, HEALTH_COMMAND, IN_CALL, MERGE_LABELS,
                      RESUME_LABELS, SEP, find_button, first_error, own_number, parse_health,
                      place_call_line)
from .assets import AssetStore
from .audio import AudioPath, SpeakerphoneAudio
from .probe import probe as run_probe
from .errors import TRANSPORT_ERRORS, MergeUnavailable, adb_error, on_phone, state_error
from .helper import ensure_helper
from .tracker import CallTracker
from .monitor import CallMonitor
from .transport import Session, Transport, close_quietly
from .watcher import arm_line

__all__ = ["AdbTelephony"]

log = logging.getLogger(__name__)


def _never_captures(android: str) -> bool:
    """Android 10 and older: the shell cannot capture audio, ever."""
    major = android.split(".")[0]
    return major.isdigit() and int(major) <= 10


class AdbTelephony(Telephony):
    """A real phone over adb; see the module docstring.

    ``serial``: what adb calls the phone — ``"172.16.0.23:5555"`` (router
    mode), ``"127.0.0.1:37215"`` (internet mode, Wireless debugging), or a USB
    serial. ``host:port`` serials are ``adb connect``-ed (``connect=None``
    decides by the form). ``adb_host``/``adb_port``: the adb server (default:
    ``ANDROID_ADB_SERVER_PORT`` or 5037; tests use a private port).
    ``audio``: :class:`SpeakerphoneAudio` (default) or another
    :class:`AudioPath`. ``voice_slot``: the SIM slot to follow (``None``: the
    one showing the call). ``merge_labels`` / ``resume_labels``: texts of the
    in-call screen's buttons. ``scrcpy_server``: the scrcpy-server v3.3.4
    file that hears calls (default: ``$ARS_SCRCPY_SERVER`` or the set-up's
    cache, :mod:`.server_file`).
    """

    name = "adb"

    def __init__(self, serial: str, *, adb_host: str | None = None, adb_port: int | None = None,
                 client: adbutils.AdbClient | None = None, connect: bool | None = None,
                 audio: AudioPath | None = None, voice_slot: int | None = None,
                 poll_s: float = 0.25, idle_poll_s: float = 1.0, command_timeout_s: float = 10.0,
                 start_timeout_s: float = 15.0, retry_s: float = 1.0, asset_dir: str = ASSET_DIR,
                 merge_labels: Iterable[str] = MERGE_LABELS,
                 resume_labels: Iterable[str] = RESUME_LABELS, monitor: bool = True, watch: bool = True,
                 watch_beat_looks: int = 10, watch_start_s: float = 10.0, watch_retry_s: float = 300.0,
                 health_s: float = 60.0, scrcpy_server: str | Path | None = None):
        super().__init__()
        self.serial = serial
        self.client = client or adbutils.AdbClient(host=adb_host, port=adb_port)
        self.connect = (":" in serial) if connect is None else connect
        self.audio = audio if audio is not None else SpeakerphoneAudio()
        self.poll_s = poll_s
        self.idle_poll_s = idle_poll_s
        self.command_timeout_s = command_timeout_s
        self.retry_s = retry_s
        self.merge_labels = tuple(merge_labels)
        self.resume_labels = tuple(resume_labels)
        self.tracker = CallTracker(voice_slot=voice_slot, start_timeout_s=start_timeout_s)
        self._link = Transport(self.client, serial, command_timeout_s)
        self._session: Session | None = None
        self._shell_thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"adb-shell-{serial}")
        self._session_lock = threading.Lock()
        # Streams: a play's lines, opening exec:/sync:, closing them; made as needed.
        self._io_threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix=f"adb-io-{serial}")
        # Following the calls (the watch stream, else polling): .monitor.
        self.monitor = CallMonitor(self, enabled=monitor, watch=watch, watch_beat_looks=watch_beat_looks,
                                   watch_start_s=watch_start_s, watch_retry_s=watch_retry_s)
        self.health_s = health_s
        self._health: dict | None = None
        self._health_at = -1e9
        self._open_lock = asyncio.Lock()
        self._closed = False
        self.available = False
        self.unavailable_reason: str | None = "not opened yet"
        self.last_error: BaseException | None = None
        self._down_kind: type[DeviceUnavailable] = DeviceUnavailable  # the type of why, while down
        self._last_attempt = -1e9
        self.props: dict[str, str] = {}
        self._own_number: str | None = None
        self.asset_store = AssetStore(self, asset_dir)  # files put on the phone: .assets
        self._helper_ok: set[str] = set()
        self._orphaned = False  # legs ended as "failed" by a lost connection
        self.scrcpy_server = scrcpy_server  # None: $ARS_SCRCPY_SERVER or the cache (server_file.py)
        self.audio_probe: dict | None = None  # the last capability probe (probe.py)
        self.reprobe_s = 30.0  # a phone without an audio path is probed again this often

    # ------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect (if needed), open the long-lived shell, read the phone's
        properties and start following calls. Raises DeviceUnavailable."""
        async with self._open_lock:
            if self.available or self._closed:
                if self._closed:
                    raise DeviceUnavailable(f"{self.serial}: the backend is closed")
                return
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._last_attempt = time.monotonic()
            try:
                await self._run_blocking(self._open_blocking)
            except (TelephonyError, *TRANSPORT_ERRORS) as exc:
                error = adb_error(exc)
                self.unavailable_reason, self._down_kind = str(error), type(error)
                self.last_error = exc
                raise on_phone(self.serial, error) from None
            self.available = True
            self.unavailable_reason = None
            if self._orphaned:
                # A call we lost track of when the phone went away: end it.
                self._orphaned = False
                with contextlib.suppress(TelephonyError):
                    await self._end_everything()
            log.info("%s: open (%s, Android %s)", self.serial, self.props.get("ro.product.model"),
                     self.props.get("ro.build.version.release"))
            self.monitor.start()

    def _open_blocking(self) -> None:
        answer = ""
        if self.connect:
            answer = self.client.connect(self.serial, timeout=self.command_timeout_s).strip()
            if answer.startswith(("connected to", "already connected")):
                answer = ""
        try:
            state = self._link.state()
        except adbutils.AdbError as exc:
            if answer:
                raise DeviceNotConnected(f"adb connect: {answer}") from None
            raise adb_error(exc) from None
        if state != "device":
            raise state_error(state, answer)
        session = Session(self._link)
        session.start()
        try:
            text, _ = session.run("getprop", self.command_timeout_s)
        except BaseException:
            session.close()
            raise
        self.props = parse_getprop(text)
        with self._session_lock:  # close() may have run while this thread connected
            if self._closed:
                session.close()
                raise DeviceUnavailable("the backend is closed")
            if self._session is not None:
                self._session.close()
            self._session = session

    async def _ensure_open(self) -> None:
        if self.available:
            return
        if self._closed:
            raise DeviceUnavailable(f"{self.serial}: the backend is closed")
        if time.monotonic() - self._last_attempt < self.retry_s and self.last_error is not None:
            raise self._unavailable()
        await self.open()

    async def reopen(self) -> None:
        """Forget the current connection and connect again now."""
        self._mark_down(DeviceUnavailable("reconnecting"), None, emit=False)
        self._last_attempt = -1e9
        await self.open()

    async def close(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(TelephonyError):
            if self.available:
                await self.hang_up()
        self._closed = True
        await self.monitor.close()
        with contextlib.suppress(Exception):
            await self.audio.stop(self)
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            await asyncio.get_running_loop().run_in_executor(self._shell_thread, session.close)
        self._shell_thread.shutdown(wait=False)
        self._io_threads.shutdown(wait=False)
        self.available = False
        self.unavailable_reason = "closed"

    # -------------------------------------------------------- errors in one place

    def _mark_down(self, error: DeviceUnavailable, exc: BaseException | None, emit: bool = True) -> None:
        reason = str(error)
        self._down_kind = type(error)
        if self.available:
            log.warning("%s: phone unavailable: %s", self.serial, reason)
        self.available = False
        self.unavailable_reason = reason
        self.last_error = exc
        self._last_attempt = time.monotonic()
        self.asset_store.forget()  # the phone may come back rebooted or wiped: verify again
        self._helper_ok.clear()
        self._health = None
        self.monitor.stop_watch()
        with self._session_lock:
            session, self._session = self._session, None
        if session is not None:
            self._shell_thread.submit(session.close)
        if emit:
            changes = self.tracker.device_lost(reason)
            self._orphaned = self._orphaned or bool(changes)
            for change in changes:
                self._emit(change)
        self.monitor.wake()

    def _lost(self, exc: BaseException, error: DeviceUnavailable | None = None) -> DeviceUnavailable:
        """Mark the phone down for ``exc`` (as ``error``, else as adb_error
        types it); the error to raise, naming the phone."""
        error = error or adb_error(exc)
        self._mark_down(error, exc)
        return on_phone(self.serial, error)

    def _unavailable(self) -> DeviceUnavailable:
        """Why the phone is unavailable now, typed, naming the phone."""
        return self._down_kind(f"{self.serial}: {self.unavailable_reason}")

    async def _run_blocking(self, fn: Callable, *args, executor=None):
        """``fn(*args)`` in a thread: the shell's own, or this phone's I/O pool
        (never the loop's default pool, which a rack's long reads — an
        announcement waits for "done" — would fill: every phone would then
        wait for the others to stop a play or open a stream)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args)
        try:
            return await loop.run_in_executor(executor or self._io_threads, call)
        except RuntimeError as exc:  # closing a stream after close(): the pool is gone
            if not self._closed or "after shutdown" not in str(exc):
                raise
            return await loop.run_in_executor(None, call)

    async def blocking(self, fn: Callable, *args, executor=None):
        """Run a blocking adb call in a worker thread; transport errors mark
        the phone unavailable and become DeviceUnavailable."""
        try:
            return await self._run_blocking(fn, *args, executor=executor)
        except TRANSPORT_ERRORS as exc:
            raise self._lost(exc) from None

    async def open_stream(self, service: str) -> adbutils.AdbConnection:
        """A service stream of its own (``exec:``…). Cancelled while it opens
        (the call ended), the stream is closed when the open completes rather
        than left to the garbage collector."""
        opening = asyncio.ensure_future(self.blocking(self._link.open, service))
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(
                lambda done: done.cancelled() or done.exception() or close_quietly(done.result()))
            raise

    async def shell(self, command: str, timeout: float | None = None) -> tuple[str, int]:
        """Run ``command`` through the long-lived shell; (output, exit code)."""
        await self._ensure_open()
        session = self._session
        if session is None:
            raise self._unavailable()
        return await self.blocking(session.run, command, timeout or self.command_timeout_s,
                                   executor=self._shell_thread)

    @property
    def following(self) -> str:
        """How calls are followed now (:attr:`.monitor.CallMonitor.following`)."""
        return self.monitor.following

    # ---------------------------------------------------------- call control

    async def dial(self, number: str) -> None:
        if not DIALLABLE.fullmatch(number or ""):
            raise InvalidNumber(f"cannot dial {number!r}")
        await self._ensure_open()
        if self.tracker.live(VOTER) is not None:
            raise CallFailed("a call is already in progress")
        # The latest look (so the tracker knows the last cause: the baseline).
        slots = await self.monitor.current_slots()
        if any(s.in_call for s in slots):
            raise CallFailed("the phone is already in a call")
        async with self.monitor.placing:  # what the phone shows next is applied after dialing()
            calls = await self._place_call(number, "the phone refused to dial", arm="d", idle_only=True)
            self._emit(self.tracker.dialing(number, time.monotonic(), calls))
        self.monitor.wake()

    async def _place_call(self, target: str, refused: str, *, arm: str, idle_only: bool) -> list[TelecomCall]:
        """``am start … CALL`` in one command line with Telecom's calls as
        they were just before (so the new one is told from them) and the
        watch loop's arm file; CallFailed with Android's error."""
        line = place_call_line(target, arm_line(arm) if self.monitor.watching else "true", idle_only)
        out, _ = await self.shell(line)
        telecom, _, answer = out.partition(SEP + "\n")
        if IN_CALL in answer:
            raise CallFailed("the phone is already in a call")
        if "Error" in answer or "Exception" in answer:
            raise CallFailed(f"{refused}: {first_error(answer)}")
        return self.monitor.parse_telecom(telecom)

    async def hang_up(self) -> None:
        await self._ensure_open()
        self.tracker.ending(self.tracker.voter)
        self.tracker.ending(self.tracker.agent)
        await self._end_everything()

    async def _end_everything(self) -> None:
        """ENDCALL until the phone shows no call (each ends the foreground
        call; a held one comes forward). Never sent to an idle phone: there,
        ENDCALL puts it to sleep — the command line checks the registry on
        the phone first."""
        for attempt in range(4):
            slots = self.monitor.watched_slots
            watched = slots is not None
            if slots is None:
                slots, _ = await self.monitor.snapshot(False)
            shows = any(s.in_call or s.background_call_state == 2 for s in slots)
            # A call just placed may not show yet in the latest block: the line checks again.
            if not shows and (attempt > 0 or not watched or not self.tracker.busy):
                break
            await self.shell(END_CALL_LINE)
            if watched:
                await self.monitor.next_block(max(1.0, 4 * self.poll_s))
            else:
                await asyncio.sleep(self.poll_s)
                if self.tracker.busy:
                    self.monitor.emit_all(await self.monitor.poll())
        self.monitor.wake()

    async def answer(self) -> None:
        await self._ensure_open()
        leg = self.tracker.voter
        if leg is None or leg.state != INCOMING:
            raise NoActiveCall("no incoming call to answer")
        await self.shell("input keyevent KEYCODE_CALL")
        if not await self.monitor.settle(lambda: leg.state != INCOMING, 5.0):
            raise CallFailed("the phone did not answer the incoming call")
        if leg.state != ACTIVE:
            raise NoActiveCall("the caller hung up before the call was answered")

    async def ring_agent(self, dial_target: str) -> None:
        await self._ensure_open()
        voter = self.tracker.live(VOTER)
        if voter is None or voter.state != ACTIVE:
            raise NoActiveCall("no active voter call to add an agent to")
        if self.tracker.live(AGENT) is not None:
            raise CallFailed("an agent leg is already up")
        if not DIALLABLE.fullmatch(dial_target or ""):
            raise InvalidNumber(f"cannot dial agent target {dial_target!r}")
        async with self.monitor.placing:
            calls = await self._place_call(dial_target, "the phone refused to dial the agent", arm="a",
                                           idle_only=False)
            self._emit(self.tracker.agent_dialing(dial_target, time.monotonic(), calls))
        self.monitor.wake()

    async def drop_agent(self) -> None:
        await self._ensure_open()
        agent = self.tracker.live(AGENT)
        if agent is not None:
            self.tracker.ending(agent)
            await self.monitor.settle(lambda: agent.tc_id is not None or agent.state == DISCONNECTED,
                               min(2.0, self.tracker.start_timeout_s))
            calls = await self.monitor.telecom_calls()
            up = [c for c in calls if c.live and c.state not in ("DISCONNECTED", "DISCONNECTING", "ABORTED")
                  and not c.conference and not c.has_parent]
            # ENDCALL ends the foreground call — and, with only the held voter
            # left, the voter. Send it only while the agent's call is up.
            if any(c.call_id == agent.tc_id for c in up) or (agent.tc_id is None and len(up) > 1):
                await self.shell("input keyevent KEYCODE_ENDCALL")
            if not await self.monitor.settle(lambda: agent.state == DISCONNECTED, 5.0):
                log.warning("%s: the agent leg did not end after KEYCODE_ENDCALL", self.serial)
        await self._resume_voter()

    async def _resume_voter(self) -> None:
        """After a remote end of the agent leg the voter stays on hold: press Resume."""
        voter = self.tracker.live(VOTER)
        if voter is None or voter.tc_id is None:
            return
        async def still_held() -> bool:
            calls = await self.monitor.telecom_calls()
            held = next((c for c in calls if c.live and c.call_id == voter.tc_id), None)
            return held is not None and held.state == "ON_HOLD"

        for _ in range(3):
            if not await still_held():
                return
            if not await self._press(self.resume_labels, "resume"):
                # Telecom may have resumed the voter by itself meanwhile (the
                # agent's leg ended between the dump and the screen).
                if not await still_held():
                    return
                raise CallFailed("the voter is on hold and the in-call screen shows no Resume button")
            await asyncio.sleep(max(self.poll_s, 0.3))
        raise CallFailed("the voter stayed on hold after pressing Resume")

    async def bridge(self) -> None:
        await self._ensure_open()
        voter, agent = self.tracker.live(VOTER), self.tracker.live(AGENT)
        if voter is None or voter.state != ACTIVE:
            raise NoActiveCall("the voter call is not active")
        if agent is None or agent.state != ACTIVE:
            raise NoActiveCall("the agent has not answered")
        if self.tracker.bridged:
            return
        if not await self._press(self.merge_labels, "merge"):
            raise MergeUnavailable(
                "this phone's in-call screen offers no Merge (the carrier may not support "
                "3-way calling, or the in-call app labels it differently: see merge_labels); "
                "the agent stays on a separate leg")
        if not await self.monitor.settle(lambda: self.tracker.bridged or self.tracker.live(AGENT) is None, 6.0):
            raise MergeUnavailable("Merge was pressed but the phone did not join the calls")
        if not self.tracker.bridged:
            raise NoActiveCall("a leg ended while merging")

    async def _press(self, labels: tuple[str, ...], what: str) -> bool:
        """Find a button by its label on the screen (uiautomator) and tap it."""
        out, _ = await self.shell("uiautomator dump /sdcard/window_dump.xml >/dev/null && "
                                  "cat /sdcard/window_dump.xml", timeout=max(20.0, self.command_timeout_s))
        point = find_button(out, labels)
        if point is None:
            log.info("%s: no %s button on the screen", self.serial, what)
            return False
        await self.shell(f"input tap {point[0]} {point[1]}")
        return True

    # ----------------------------------------------------------------- audio

    async def play(self, path: str | Path) -> bool:
        p = Path(path)
        if not p.is_file():
            raise AudioError(f"cannot play {p.name}: no such file")
        await self._ensure_open()
        try:
            return await self.audio.play(self, p)
        except NotImplementedError as exc:
            raise AudioError(str(exc)) from None

    async def stop(self) -> None:
        with contextlib.suppress(NotImplementedError):
            await self.audio.stop(self)

    async def frames(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.audio.frames(self):
                yield chunk
        except NotImplementedError as exc:
            raise AudioError(str(exc)) from None

    async def ready(self) -> None:
        """Connected, and the audio path has what it needs on the phone
        (the speakerphone path: the helper jar). A phone that cannot play
        the announcement gets no calls rather than burning voters."""
        await self._ensure_open()
        try:
            await self.audio.check(self)
        except AudioError as exc:
            raise DeviceUnavailable(f"{self.serial}: not ready: {exc}") from None
        probe = self.audio_probe
        if probe is None or (probe["path"] == "none" and time.time() - probe["probed_at"] >= self.reprobe_s
                             and not _never_captures(probe["android"])):
            probe = await self.probe_audio()  # joining, or a phone that may have been fixed (unlocked)
        if probe["path"] == "none":
            raise DeviceUnavailable(f"{self.serial}: not ready: {probe['problem']}")

    async def probe_audio(self) -> dict:
        """Probe the phone's audio capture now (:mod:`.probe`); kept as
        :attr:`audio_probe`, sent in ``health()`` and used by ``frames()``."""
        self.audio_probe = await run_probe(self)
        log.info("%s: audio path %s (%s)", self.serial, self.audio_probe["path"],
                 self.audio_probe["problem"] or self.audio_probe["capture"])
        return self.audio_probe

    async def require_audio_helper(self, jar: str, local: Path | None = None) -> None:
        """The audio helper at ``jar`` is the built one and runs: pushed when
        missing or different (:func:`.helper.ensure_helper`)."""
        await ensure_helper(self, jar, local)

    # ---------------------------------------------------------------- assets

    async def push_asset(self, path: str | Path, *, sha256: str | None = None, scan: bool = True) -> str:
        """Put a file (announcement, image) in :data:`ASSET_DIR`, verified on
        the phone and media-scanned (:meth:`.assets.AssetStore.push`)."""
        return await self.asset_store.push(path, sha256=sha256, scan=scan)

    async def apply_images(self, images: dict[str, Path]) -> None:
        """The outgoing poster and the callback image, pushed, verified and
        media-scanned into :data:`ASSET_DIR` (so they are in the phone's
        gallery). The shell has no way to put a picture on the in-call
        screen of the phone's own 전화 app; that needs an in-call screen app
        of our own (not built), so "applied" means "on the phone"."""
        for path in images.values():
            await self.push_asset(path)

    async def assets(self) -> list[str]:
        """sha256 of every asset file in :data:`ASSET_DIR` on the phone (by name)."""
        return await self.asset_store.held()

    # ---------------------------------------------------------------- device

    async def health(self) -> dict:
        """Battery, SIM, signal, network — read at most every ``health_s``
        and not during a call (the call state itself is always current)."""
        await self._ensure_open()
        if self._health is None or (not self.tracker.busy
                                    and time.monotonic() - self._health_at >= self.health_s):
            text, _ = await self.shell(HEALTH_COMMAND)
            self._health = parse_health(text, self.tracker.voice_slot)
            self._health_at = time.monotonic()
        health = {"call_state": self.tracker.call_state, **self._health}
        if self.audio_probe is not None:
            health["audio"] = dict(self.audio_probe, sources=dict(self.audio_probe["sources"]))
        return health

    async def device(self) -> dict:
        await self._ensure_open()
        p = self.props
        out = {"model": " ".join(x for x in (p.get("ro.product.manufacturer", "").capitalize(),
                                             p.get("ro.product.model", "")) if x).strip() or None,
               "android": p.get("ro.build.version.release"),
               "serial": p.get("ro.serialno") or self.serial}
        if self._own_number is None:
            with contextlib.suppress(TelephonyError):
                text, code = await self.shell("content query --uri content://telephony/siminfo "
                                              "--projection sim_id:number")
                self._own_number = own_number(text, self.tracker.voice_slot) if code == 0 else ""
        if self._own_number:
            out["number"] = self._own_number
        return {k: v for k, v in out.items() if v}
