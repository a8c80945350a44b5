"""A virtual Android handset: what a phone answers to the adb backend.

:class:`VirtualHandset` is a :class:`~phone_agent.simulator.virtual.behaviour.DeviceBehaviour`
for :class:`~phone_agent.simulator.virtual.adbd.VirtualAdbd`. It answers the
shell commands :mod:`phone_agent.telephony.adb` sends, as the phone an
:class:`AndroidProfile` says (Android 10–14, single or dual SIM), and follows
calls with the same seeded people as the sim backend, so a number behaves
the same on a sim phone and on a virtual handset of the same ``voter_seed``.

It ties together, each in its own module:

* :class:`~.shell.Shell` and :class:`~.shell.Storage` (``shell.py``): command
  lines, the builtins (``echo``, ``grep``, ``cat``, ``sha256sum``, ``stat``,
  ``ls`` …) and the files pushed to the phone;
* :class:`~.telecom.Telecom` (``telecom.py``): the calls and the people on
  them;
* :class:`~.screen.Screen` (``screen.py``): the in-call screen, ``input``
  and ``uiautomator dump``;
* :class:`~.audio.AudioHelper` (``audio.py``): the speakerphone helper's
  ``record`` and ``play``;
* :class:`~.scrcpy.ScrcpyServer` (``scrcpy.py``): scrcpy-server v3.3.4 run
  with ``app_process`` and its ``localabstract:scrcpy_<scid>`` audio socket,
  as the profile's ``call_capture`` and the lock screen allow;
* ``dumps.py``: ``getprop`` and ``dumpsys`` in each release's layout;
* :class:`~.watcher.WatchLoop` (``watcher.py``): the backend's call-state
  watch loop (``sh -c SCRIPT …`` on an ``exec:`` stream), run natively.

The handset's own commands::

    am start [-W] -a android.intent.action.CALL -d tel:NUMBER   place a call (%23 is #)
    am broadcast -a android.intent.action.MEDIA_SCANNER_SCAN_FILE -d file://PATH
    input keyevent KEYCODE_ENDCALL | 6 | KEYCODE_CALL | 5,  input tap X Y   (the screen)
    uiautomator dump [FILE]                (the screen)
    dumpsys telephony.registry | telecom | battery,  getprop [NAME]   (the dumps)
    content query --uri content://telephony/siminfo --projection …   own number per SIM
    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio …  (the audio helper)
    sh -c '<the watch script>' mobile-ars-watch FAST SLOW BEAT TICKS ARM   (the watch loop)

Misbehaviour: ``answer_delay_s`` (every command answers that much later),
``dumpsys_layout="unknown"`` (``dumpsys telephony.registry`` prints a layout
no parser knows), ``ask_sim=True`` (dual SIM without a default calling SIM:
an outgoing call waits in SELECT_PHONE_ACCOUNT), ``conference=False`` (no
Merge button), ``audio_helper=False`` (the helper's jar is not on the phone yet; with
``True`` the built jar is, if it was built), ``locked=True`` (the lock screen is up:
Android 11 cannot start capture), ``watcher=False`` (the watch loop does not run: the
backend polls).
Seeded: ``seed`` decides the phone (battery, signal, own number),
``voter_seed`` the people.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote

from ...android import BUILT_JAR
from ..sim import SimAgentDesk
from ..voter import VoterModel
from . import dumps
from .audio import AUDIO_HELPER_CLASS, AUDIO_HELPER_JAR, AudioHelper
from .screen import Screen
from .scrcpy import ScrcpyServer
from .shell import Shell, Storage
from .telecom import Call, Clock, Telecom
from .watcher import WatchLoop

__all__ = ["AndroidProfile", "PROFILES", "VirtualHandset", "AUDIO_HELPER_JAR", "AUDIO_HELPER_CLASS"]


# -- phones imitated ------------------------------------------------------------------

@dataclass(frozen=True)
class AndroidProfile:
    """Which phone a handset imitates: identity, release, dump layouts."""

    key: str
    release: str  # ro.build.version.release
    sdk: int
    manufacturer: str
    brand: str
    model: str
    name: str  # ro.product.name
    device: str  # ro.product.device
    build_id: str
    incremental: str
    security_patch: str
    incall_package: str
    ui_language: str  # "ko" | "en": the in-call screen's labels
    slots: int = 1
    operators: tuple[tuple[str, str], ...] = (("SKTelecom", "05"),)  # (name, MNC) per SIM, "" = no SIM
    hardware: str = "qcom"
    sales_code: str = "SKC"
    # Which capture source hears a call through scrcpy-server (Android 11+;
    # see scrcpy.py): "downlink" (all three), "voice_call" (the downlink
    # records silence), "mic" (only the microphone).
    call_capture: str = "downlink"

    @property
    def fingerprint(self) -> str:
        return (f"{self.brand}/{self.name}/{self.device}:{self.release}/{self.build_id}/"
                f"{self.incremental}:user/release-keys")


PROFILES: dict[str, AndroidProfile] = {p.key: p for p in (
    AndroidProfile("a10-pixel3", "10", 29, "Google", "google", "Pixel 3", "blueline", "blueline",
                   "QQ3A.200805.001", "6578210", "2020-08-05",
                   "com.google.android.dialer/com.android.incallui.InCallServiceImpl", "en",
                   hardware="blueline", sales_code=""),
    AndroidProfile("a11-galaxy-a52", "11", 30, "samsung", "samsung", "SM-A525F", "a52qnsxx", "a52q",
                   "RP1A.200720.012", "A525FXXU1AUB7", "2021-02-01",
                   "com.samsung.android.incallui/com.android.incallui.InCallServiceImpl", "ko",
                   slots=2, operators=(("KT", "08"), ("", "")), sales_code="KOO", call_capture="voice_call"),
    AndroidProfile("a12-galaxy-s21", "12", 31, "samsung", "samsung", "SM-G991N", "o1sksx", "o1s",
                   "SP1A.210812.016", "G991NKSU3BVC2", "2022-03-01",
                   "com.samsung.android.incallui/com.android.incallui.InCallServiceImpl", "ko",
                   hardware="exynos2100", call_capture="voice_call"),
    AndroidProfile("a13-pixel7", "13", 33, "Google", "google", "Pixel 7", "panther", "panther",
                   "TQ3A.230805.001", "10316531", "2023-08-05",
                   "com.google.android.dialer/com.android.incallui.InCallServiceImpl", "en",
                   slots=2, operators=(("SKTelecom", "05"), ("KT", "08")), hardware="panther",
                   sales_code=""),
    AndroidProfile("a14-galaxy-s23", "14", 34, "samsung", "samsung", "SM-S911N", "dm1qksx", "dm1q",
                   "UP1A.231005.007", "S911NKSU2BXC4", "2024-03-01",
                   "com.samsung.android.incallui/com.android.incallui.InCallServiceImpl", "ko",
                   slots=2, operators=(("SKTelecom", "05"), ("", ""))),
)}


# -- the handset ------------------------------------------------------------------------

class VirtualHandset:
    """A virtual Android phone; see the module docstring."""

    def __init__(self, serial: str = "127.0.0.1:5555", *, profile: str | AndroidProfile = "a14-galaxy-s23",
                 seed: int = 0, voters: VoterModel | None = None, voter_seed: int | None = None,
                 desk: SimAgentDesk | None = None, speed: float = 1.0, number: str | None = None,
                 audio_helper: bool = True, conference: bool = True, voice_slot: int = 0,
                 answer_delay_s: float = 0.0, dumpsys_layout: str = "normal", ask_sim: bool = False,
                 frame_s: float = 0.1, battery: int | None = None, charging: bool = True,
                 locked: bool = False, watcher: bool = True):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.serial = serial
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        if not 0 <= voice_slot < self.profile.slots:
            raise ValueError(f"voice_slot {voice_slot} on a {self.profile.slots}-slot phone")
        self.seed = seed
        self.voters = voters or VoterModel()
        self.voter_seed = seed if voter_seed is None else voter_seed
        self.desk = desk if desk is not None else SimAgentDesk(seed)
        self.speed = float(speed)
        self.voice_slot = voice_slot
        self.answer_delay_s = answer_delay_s
        self.dumpsys_layout = dumpsys_layout
        self.ask_sim = ask_sim
        rng = random.Random(f"handset:{seed}")
        self.number = number or f"010{rng.randrange(10**8):08d}"
        self.battery = battery if battery is not None else rng.randint(55, 100)
        self.charging = charging
        self.signal = rng.choice((3, 4, 4))
        self.storage = Storage()
        if audio_helper and BUILT_JAR.is_file():  # as if pushed before (the backend pushes it otherwise)
            self.storage.files[AUDIO_HELPER_JAR] = (BUILT_JAR.read_bytes(), 0o100644, int(time.time()))
        self.clock = Clock(self.speed)
        self.telecom = Telecom(self.clock, slots=self.profile.slots, voice_slot=voice_slot,
                               voters=self.voters, voter_seed=self.voter_seed, desk=self.desk,
                               asks_for_sim=ask_sim and self.profile.slots > 1)
        self.screen = Screen(self.profile, self.telecom, self.storage, conference=conference)
        self.audio = AudioHelper(self.clock, self.telecom, self.storage, self.voters, frame_s)
        self.locked = locked  # the lock screen is up (Android 11 cannot start audio capture then)
        self.scrcpy = ScrcpyServer(self)
        self.sh = Shell(self.storage, {
            "am": self._am, "content": self._content, "getprop": self._getprop,
            "dumpsys": lambda args, stdin: dumps.dumpsys(self, args),
            "input": self.screen.input, "uiautomator": self.screen.uiautomator})
        self.watch = WatchLoop(self.sh, self.storage, enabled=watcher)
        self.interactive_sessions = 0  # interactive shells opened (the backend keeps one)

    # What tests and benchmarks read, kept on the handset.
    files = property(lambda self: self.storage.files)
    dirs = property(lambda self: self.storage.dirs)
    calls = property(lambda self: self.telecom.calls)  # live and lingering calls, creation order
    history = property(lambda self: self.telecom.history)
    commands = property(lambda self: self.sh.log)  # the latest command lines
    command_count = property(lambda self: self.sh.count)  # command lines run since start
    mic_streams = property(lambda self: self.audio.mic_streams)
    screen_on = property(lambda self: self.screen.on)

    # ------------------------------------------------------------ DeviceBehaviour

    def banner(self) -> dict[str, str]:
        p = self.profile
        return {"ro.product.name": p.name, "ro.product.model": p.model, "ro.product.device": p.device}

    async def shell(self, command: str, io) -> int:
        self.clock.now()
        if command == "":
            self.interactive_sessions += 1
            return await self.sh.interactive(io, f"{self.profile.device}:/ $ ".encode(),
                                                 self.answer_delay_s)
        helper = self.scrcpy.command(command) or self.audio.command(command) or self.watch.command(command)
        if helper is not None:
            self.sh.note(command)
            return await helper(io)
        output, code = await self.run(command)
        if self.answer_delay_s:
            await asyncio.sleep(self.answer_delay_s)
        if output:
            await io.write(output.encode())
        return code

    def abstract_socket(self, name: str):
        """Who accepts a connection to the abstract socket ``name`` (None: nobody listens)."""
        return self.scrcpy.sockets.get(name)

    async def push(self, path: str, data: bytes, mode: int, mtime: int) -> None:
        self.sh.note(f"sync: SEND {path}")  # a stream adb opened: counted like a command line
        self.storage.push(path, data, mode, mtime)

    async def stat(self, path: str) -> tuple[int, int, int] | None:
        return self.storage.stat(path)

    async def pull(self, path: str) -> bytes | None:
        return self.storage.file(path)

    # ----------------------------------------------------- simulation helpers (tests)

    async def run(self, line: str) -> tuple[str, int]:
        """Run one command line; (output, exit code)."""
        self.clock.now()
        return await self.sh.run(line)

    def ring_in(self, number: str, slot: int | None = None) -> str:
        """A voter calls this phone; returns the call's Telecom id."""
        return self.telecom.ring_in(number, slot).id

    def file(self, path: str) -> bytes | None:
        return self.storage.file(path)

    def live_calls(self) -> list[Call]:
        return self.telecom.live_calls()

    def close(self) -> None:
        """Cancel the people's timers (end of a test)."""
        self.telecom.close()

    def properties(self) -> dict[str, str]:
        return dumps.properties(self)

    # ------------------------------------------------------- the handset's commands

    async def _getprop(self, args, stdin):
        props = dumps.properties(self)
        if args:
            return props.get(args[0], "") + "\n", 0
        return "".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())), 0

    async def _content(self, args, stdin):
        if args[:1] != ["query"] or "content://telephony/siminfo" not in args:
            return "Error while accessing provider:" + (args[2] if len(args) > 2 else "?") + "\n", 1
        projection = ["_id", "sim_id", "number", "display_name"]
        if "--projection" in args:
            projection = args[args.index("--projection") + 1].split(":")
        rows = []
        for slot, (operator, _mnc) in enumerate(self.profile.operators[:self.profile.slots]):
            if not operator:
                continue
            number = self.number if slot == self.voice_slot else f"010{self.seed % 10000:04d}{slot:04d}"
            values = {"_id": str(slot + 1), "sim_id": str(slot), "number": number,
                      "display_name": operator, "icc_id": f"898205{self.seed:06d}{slot:07d}",
                      "carrier_name": operator}
            rows.append(", ".join(f"{k}={values.get(k, 'NULL')}" for k in projection))
        if not rows:
            return "No result found.\n", 0
        return "".join(f"Row: {i} {r}\n" for i, r in enumerate(rows)), 0

    async def _am(self, args, stdin):
        if not args:
            return "usage: am [subcommand] [options]\n", 1
        sub, opts = args[0], self._intent_options(args[1:])
        action, data = opts.get("-a", ""), opts.get("-d", "")
        if sub == "broadcast":
            shown = f" dat={data}" if data else ""
            return (f"Broadcasting: Intent {{ act={action}{shown} flg=0x400000 }}\n"
                    "Broadcast completed: result=0\n"), 0
        if sub != "start":
            return f"Error: unknown command '{sub}'\n", 1
        if action != "android.intent.action.CALL" or not data.startswith("tel:"):
            shown = f" dat={data}" if data else ""
            return (f"Starting: Intent {{ act={action}{shown} }}\n"
                    f"Error: Activity not started, unable to resolve Intent {{ act={action}{shown} "
                    "flg=0x10000000 }\n"), 1
        number = unquote(data[4:])
        safe = "tel:" + re.sub(r"[0-9]", "x", data[4:])
        out = f"Starting: Intent {{ act=android.intent.action.CALL dat={safe} }}\n"
        if "-W" in args:
            out += ("Status: ok\nLaunchState: COLD\nActivity: com.android.server.telecom/.components.UserCallActivity\n"
                    "TotalTime: 0\nWaitTime: 41\nComplete\n")
        self.telecom.place_call(number)
        return out, 0

    @staticmethod
    def _intent_options(args: list[str]) -> dict[str, str]:
        opts: dict[str, str] = {}
        it = iter(args)
        for a in it:
            if a in ("-a", "-d", "-t", "-n", "--user"):
                opts[a] = next(it, "")
            elif a in ("--ei", "--es", "--ez"):
                next(it, None)
                next(it, None)
        return opts
