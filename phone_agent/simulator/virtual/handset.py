"""A virtual Android handset: what a phone answers to the adb backend.

:class:`VirtualHandset` is a :class:`~phone_agent.simulator.virtual.behaviour.DeviceBehaviour`
for :class:`~phone_agent.simulator.virtual.adbd.VirtualAdbd`. It answers the shell
commands :mod:`phone_agent.telephony.adb` sends, in the layouts real
releases print (one :class:`AndroidProfile` per imitated phone, Android
10–14, single or dual SIM — the formats are those of the samples in
``phone_agent/telephony/fixtures``), and it follows calls with the same
seeded people as the sim backend: voters from
:class:`~phone_agent.simulator.voter.VoterModel` (seeded per number exactly as
:class:`~phone_agent.simulator.sim.SimTelephony` seeds them, so a number
behaves the same on a sim phone and on a virtual handset of the same
``voter_seed``) and agent handsets from a shared
:class:`~phone_agent.simulator.sim.SimAgentDesk`.

Commands answered (``shell:CMD``, ``exec:CMD``, and line by line in an
interactive ``shell:`` — which, like a real one, has a PTY: it echoes what
it is sent, ends lines with CR LF and prints a ``device:/ $`` prompt)::

    am start [-W] -a android.intent.action.CALL -d tel:NUMBER   place a call (%23 is #)
    am broadcast -a android.intent.action.MEDIA_SCANNER_SCAN_FILE -d file://PATH
    input keyevent KEYCODE_ENDCALL | 6     end the foreground call (rejects a ringing one)
    input keyevent KEYCODE_CALL | 5        answer the ringing call
    input tap X Y                          press what the in-call screen shows there
    uiautomator dump [FILE]                the screen as XML (the in-call screen: Merge / Resume)
    dumpsys telephony.registry | telecom | battery
    getprop [NAME]
    content query --uri content://telephony/siminfo --projection …   own number per SIM
    sha256sum FILE…, stat -c %s FILE, cat FILE, ls, mkdir -p DIR, rm [-f] FILE, echo, true
    CMD | grep [-E] [-v] [-i] PATTERN, CMD | head -n N, CMD; CMD, $? — enough shell
    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio record 8000
    CLASSPATH=… app_process / mobilears.Audio play FILE

The last two are the audio helper of the speakerphone path (see
:mod:`phone_agent.telephony.adb`): ``record`` streams the microphone as raw
PCM16LE 8 kHz mono until stdin closes — here the voter's line noise, their
"여보세요", their key presses as real DTMF tone audio with noise (the
material of the sim backend) and a faint echo of the announcement —, and
``play`` prints ``playing <ms>``, plays a pushed WAV, prints ``done``, and
stops early when stdin closes. The helper only runs if its jar was pushed
(``audio_helper=True`` pre-installs a stand-in).

A voter answering is the moment the first announcement starts counting
(``play`` while the call is active), as in the sim backend. Telecom
behaviour that matters here is modelled as AOSP does it: a second outgoing
call holds the first; ending the foreground call locally resumes a held call
(CallsManager.maybeMoveHeldCallToForeground), a remote end does not (the
in-call screen then shows "Resume"); Merge joins an active and a held call
into a conference (a new call with ``childs(2)``); Telecom prints numbers
masked (user build); the registry keeps the last disconnect cause.

Misbehaviour: ``answer_delay_s`` (every command answers that much later),
``dumpsys_layout="unknown"`` (``dumpsys telephony.registry`` prints a layout
no parser knows), ``ask_sim=True`` (dual SIM without a default calling SIM:
an outgoing call waits in SELECT_PHONE_ACCOUNT). Seeded: ``seed`` decides
the phone (battery, signal, own number), ``voter_seed`` the people.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import io as _io
import random
import re
import shlex
import stat as stat_module
import time
import wave
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import unquote

import numpy as np

from ..sim import SimAgentDesk
from ..sounds import RATE, echo, hello, key_press, noise_bank, wav_audio
from ..voter import AGENT_SETUP_S, INCOMING_HANG_UP_S, INTRO_WAIT_S, AgentPlan, VoterModel, VoterPlan

__all__ = ["AndroidProfile", "PROFILES", "VirtualHandset", "AUDIO_HELPER_JAR", "AUDIO_HELPER_CLASS"]

AUDIO_HELPER_JAR = "/data/local/tmp/mobile-ars-audio.jar"
AUDIO_HELPER_CLASS = "mobilears.Audio"
_HOLD_S = 0.2  # holding / resuming / merging take this long (simulated seconds)
_LINGER_S = 0.4  # wall seconds a disconnected call stays visible (DISCONNECTED) in the dumps

_KEYCODES = {"KEYCODE_CALL": 5, "KEYCODE_ENDCALL": 6, "KEYCODE_HEADSETHOOK": 79,
             "KEYCODE_WAKEUP": 224, "KEYCODE_HOME": 3, "KEYCODE_BACK": 4}
_DIR_MODE = stat_module.S_IFDIR | 0o771
_DIRECTORIES = {"/", "/sdcard", "/data", "/data/local", "/data/local/tmp", "/storage",
                "/storage/emulated", "/storage/emulated/0", "/storage/emulated/0/Download",
                "/storage/emulated/0/Music", "/storage/emulated/0/Pictures", "/system"}


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
                   slots=2, operators=(("KT", "08"), ("", "")), sales_code="KOO"),
    AndroidProfile("a12-galaxy-s21", "12", 31, "samsung", "samsung", "SM-G991N", "o1sksx", "o1s",
                   "SP1A.210812.016", "G991NKSU3BVC2", "2022-03-01",
                   "com.samsung.android.incallui/com.android.incallui.InCallServiceImpl", "ko",
                   hardware="exynos2100"),
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

# In-call screen labels (what uiautomator shows), by language.
_LABELS = {
    "en": {"merge": "Merge", "resume": "Resume", "hold": "Hold", "end": "End call",
           "answer": "Answer", "decline": "Decline", "add": "Add call"},
    "ko": {"merge": "통화 병합", "resume": "통화 재개", "hold": "통화 대기", "end": "통화 종료",
           "answer": "받기", "decline": "거절", "add": "통화 추가"},
}

# android.telephony.DisconnectCause / PreciseDisconnectCause / telecom code / reason / tone
_CAUSES = {
    "busy": (4, 17, "BUSY", "BUSY", 17),
    "reject": (4, 21, "BUSY", "BUSY", 17),
    "invalid": (25, 1, "ERROR", "UNOBTAINABLE_NUMBER", 27),
    "no_answer": (2, 19, "REMOTE", "NORMAL", -1),
    "remote": (2, 16, "REMOTE", "NORMAL", -1),
    "local": (3, 16, "LOCAL", "LOCAL", -1),
    "incoming_rejected": (16, 16, "REJECTED", "INCOMING_REJECTED", -1),
    "missed": (1, 16, "MISSED", "INCOMING_MISSED", -1),
    "no_number": (7, 1, "ERROR", "INVALID_NUMBER", 27),
}


# -- one call on the handset ----------------------------------------------------------

class _Call:
    """A Telecom call on the handset (voter, agent line, caller, conference)."""

    def __init__(self, seq: int, number: str, kind: str, slot: int, now_wall: float):
        self.id = f"TC@{seq}"
        self.number = number
        self.kind = kind  # voter | agent | caller | conference
        self.slot = slot
        self.incoming = kind == "caller"
        self.state = "CONNECTING"  # Telecom state name
        self.alerting = False  # the far end rings (precise state 4)
        self.parent: _Call | None = None
        self.children: list[_Call] = []
        self.created_wall = now_wall
        self.ended_wall: float | None = None
        self.cause: tuple | None = None  # _CAUSES value
        self.plan: VoterPlan | None = None
        self.agent_plan: AgentPlan | None = None
        self.g: np.random.Generator | None = None
        self.intro_started = asyncio.Event()
        self.answered_sample: int | None = None
        self.events: list[tuple[float, str]] = []  # (wall time, "SET_ACTIVE (…)")
        self.task: asyncio.Task | None = None
        self.claimed_target: str | None = None
        self.local_end = False

    @property
    def live(self) -> bool:
        return self.state not in ("DISCONNECTED", "ABORTED")

    def precise(self) -> int:
        """PreciseCallState value of this call."""
        return {"CONNECTING": 3, "DIALING": 4 if self.alerting else 3, "ACTIVE": 1, "ON_HOLD": 2,
                "RINGING": 5, "DISCONNECTING": 8, "DISCONNECTED": 7,
                "SELECT_PHONE_ACCOUNT": 0}.get(self.state, 0)


# -- the handset ------------------------------------------------------------------------

class VirtualHandset:
    """A virtual Android phone; see the module docstring."""

    def __init__(self, serial: str = "127.0.0.1:5555", *, profile: str | AndroidProfile = "a14-galaxy-s23",
                 seed: int = 0, voters: VoterModel | None = None, voter_seed: int | None = None,
                 desk: SimAgentDesk | None = None, speed: float = 1.0, number: str | None = None,
                 audio_helper: bool = True, conference: bool = True, voice_slot: int = 0,
                 answer_delay_s: float = 0.0, dumpsys_layout: str = "normal", ask_sim: bool = False,
                 frame_s: float = 0.1, battery: int | None = None, charging: bool = True):
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
        self.conference_supported = conference
        self.voice_slot = voice_slot
        self.answer_delay_s = answer_delay_s
        self.dumpsys_layout = dumpsys_layout
        self.ask_sim = ask_sim
        self.frame_s = frame_s
        rng = random.Random(f"handset:{seed}")
        self.number = number or f"010{rng.randrange(10**8):08d}"
        self.battery = battery if battery is not None else rng.randint(55, 100)
        self.charging = charging
        self.signal = rng.choice((3, 4, 4))
        self.files: dict[str, tuple[bytes, int, int]] = {}
        self.dirs: set[str] = set(_DIRECTORIES)
        if audio_helper:
            self.files[AUDIO_HELPER_JAR] = (b"PK\x03\x04 mobile-ars audio helper (virtual)",
                                            0o100644, int(time.time()))
        self.calls: list[_Call] = []  # live and lingering calls, creation order
        self.history: list[_Call] = []  # the last calls, for Telecom's historical events
        self._seq = 0
        self._dialled: dict[str, int] = {}
        self._last_cause: dict[int, tuple[int, int]] = {s: (-1, -1) for s in range(self.profile.slots)}
        self._last_fg_end: dict[int, float] = {}
        self._t0: float | None = None  # loop time of the audio clock's sample 0
        self._sounds: list[tuple[int, np.ndarray, _Call]] = []  # (start sample, audio, call)
        self._plays: list[tuple[int, np.ndarray, _Call]] = []  # announcement echo
        self.commands: collections.deque[str] = collections.deque(maxlen=5000)  # the latest command lines
        self.command_count = 0  # command lines run since start (benchmarks: adb commands per call)
        self.mic_streams = 0
        self.interactive_sessions = 0  # interactive shells opened (the backend keeps one)
        self.screen_on = True

    # ------------------------------------------------------------ DeviceBehaviour

    def banner(self) -> dict[str, str]:
        p = self.profile
        return {"ro.product.name": p.name, "ro.product.model": p.model, "ro.product.device": p.device}

    async def shell(self, command: str, io) -> int:
        self._clock()
        if command == "":
            self.interactive_sessions += 1
            return await self._interactive(io)
        helper = self._helper_command(command)
        if helper is not None:
            return await helper(io)
        output, code = await self.run(command)
        if self.answer_delay_s:
            await asyncio.sleep(self.answer_delay_s)
        if output:
            await io.write(output.encode())
        return code

    async def push(self, path: str, data: bytes, mode: int, mtime: int) -> None:
        path = self._norm(path)
        if path.startswith("/system/") or path == "/system":
            raise OSError("couldn't create file: Read-only file system")
        if path in self.dirs:
            raise OSError("couldn't create file: Is a directory")
        parent = path.rsplit("/", 1)[0] or "/"
        while parent not in self.dirs:  # adbd makes missing parents
            self.dirs.add(parent)
            parent = parent.rsplit("/", 1)[0] or "/"
        self.files[path] = (bytes(data), mode, mtime)

    async def stat(self, path: str) -> tuple[int, int, int] | None:
        path = self._norm(path)
        if path in self.dirs:
            return _DIR_MODE, 4096, 0
        held = self.files.get(path)
        return None if held is None else (held[1], len(held[0]), held[2])

    async def pull(self, path: str) -> bytes | None:
        held = self.files.get(self._norm(path))
        return None if held is None else held[0]

    # ----------------------------------------------------- simulation helpers (tests)

    def ring_in(self, number: str, slot: int | None = None) -> str:
        """A voter calls this phone; returns the call's Telecom id."""
        self._clock()
        call = self._new_call(number, "caller", self.voice_slot if slot is None else slot)
        call.state = "RINGING"
        call.events.append((time.time(), "SET_RINGING (successful incoming call)"))
        call.plan = self.voters.plan(number, random.Random(f"caller:{self.voter_seed}:{number}"))
        call.g = np.random.default_rng(call.plan.audio_seed)
        call.task = asyncio.get_running_loop().create_task(self._caller_gives_up(call))
        return call.id

    def file(self, path: str) -> bytes | None:
        held = self.files.get(self._norm(path))
        return None if held is None else held[0]

    def live_calls(self) -> list[_Call]:
        return [c for c in self.calls if c.live]

    def close(self) -> None:
        """Cancel the people's timers (end of a test)."""
        for call in self.calls:
            if call.task is not None and not call.task.done():
                call.task.cancel()

    # --------------------------------------------------------------------- clock

    def _clock(self) -> float:
        loop = asyncio.get_running_loop()
        if self._t0 is None:
            self._t0 = loop.time()
        return loop.time()

    def _now_sample(self) -> int:
        return int((self._clock() - self._t0) * self.speed * RATE)

    async def _sleep(self, sim_s: float) -> None:
        await asyncio.sleep(max(0.0, sim_s) / self.speed)

    # ------------------------------------------------------------------ the shell

    async def _interactive(self, io) -> int:
        prompt = f"{self.profile.device}:/ $ ".encode()
        await io.write(prompt)
        pending = b""
        while True:
            chunk = await io.read()
            if not chunk:
                return 0
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                raw = raw.rstrip(b"\r")
                await io.write(raw + b"\r\n")  # the PTY echoes what it is sent
                line = raw.decode(errors="replace")
                if line.strip() == "exit" or line.strip().startswith("exit "):
                    return 0
                if line.strip():
                    output, _ = await self.run(line)
                    if self.answer_delay_s:
                        await asyncio.sleep(self.answer_delay_s)
                    if output:
                        await io.write(output.replace("\n", "\r\n").encode())
                await io.write(prompt)

    async def run(self, line: str) -> tuple[str, int]:
        """Run one command line (``;``, ``&&``, ``||``, ``|``); (output, exit code)."""
        self._clock()
        self.commands.append(line)
        self.command_count += 1
        line = re.sub(r"\s\d?>&\d", " ", line)
        line = re.sub(r"\s\d?>\s*/dev/null", " ", line)
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError as exc:
            return f"/system/bin/sh: syntax error: {exc}\n", 2
        output, status = [], 0
        # split into "and-or lists" of pipelines
        sequence: list[tuple[str, list[list[str]]]] = []
        op, pipeline, words = ";", [], []
        for tok in tokens + [";"]:
            if tok in (";", "&&", "||", "|"):
                if words:
                    pipeline.append(words)
                words = []
                if tok == "|":
                    continue
                if pipeline:
                    sequence.append((op, pipeline))
                op, pipeline = tok, []
            else:
                words.append(tok)
        for op, pipeline in sequence:
            if op == "&&" and status != 0 or op == "||" and status == 0:
                continue
            text = ""
            for argv in pipeline:
                argv = [w.replace("$?", str(status)) for w in argv]
                text, status = await self._command(argv, text)
            output.append(text)
        return "".join(output), status

    async def _command(self, argv: list[str], stdin: str) -> tuple[str, int]:
        while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
            argv = argv[1:]  # environment assignments
        if not argv:
            return "", 0
        name, args = argv[0], argv[1:]
        handler = getattr(self, "_cmd_" + name.replace("-", "_"), None)
        if handler is None:
            return f"/system/bin/sh: {name}: inaccessible or not found\n", 127
        return await handler(args, stdin)

    # simple commands -------------------------------------------------------------

    async def _cmd_echo(self, args, stdin):
        if args and args[0] == "-n":
            return " ".join(args[1:]), 0
        return " ".join(args) + "\n", 0

    async def _cmd_true(self, args, stdin):
        return "", 0

    async def _cmd_sleep(self, args, stdin):
        await asyncio.sleep(float(args[0]) if args else 0)
        return "", 0

    async def _cmd_grep(self, args, stdin):
        flags, patterns, rest = set(), [], []
        it = iter(args)
        for a in it:
            if a == "-e":
                patterns.append(next(it, ""))
            elif a.startswith("-") and len(a) > 1 and not patterns and not rest:
                flags.update(a[1:])
            else:
                rest.append(a)
        if not patterns and rest:
            patterns.append(rest.pop(0))
        try:
            rx = [re.compile(p if ("E" in flags or "F" not in flags) else re.escape(p),
                             re.I if "i" in flags else 0) for p in patterns]
        except re.error as exc:
            return f"grep: bad regex: {exc}\n", 2
        keep = [ln for ln in stdin.splitlines(keepends=True)
                if any(r.search(ln) for r in rx) != ("v" in flags)]
        return "".join(keep), 0 if keep else 1

    async def _cmd_head(self, args, stdin):
        n = 10
        if len(args) >= 2 and args[0] == "-n":
            n = int(args[1])
        elif args and args[0].startswith("-") and args[0][1:].isdigit():
            n = int(args[0][1:])
        return "".join(stdin.splitlines(keepends=True)[:n]), 0

    async def _cmd_cat(self, args, stdin):
        if not args:
            return stdin, 0
        out = []
        for path in args:
            data = self.file(path)
            if data is None:
                return "".join(out) + f"cat: {path}: No such file or directory\n", 1
            out.append(data.decode(errors="replace"))
        return "".join(out), 0

    async def _cmd_sha256sum(self, args, stdin):
        out, code = [], 0
        for path in args:
            data = self.file(path)
            if data is None:
                out.append(f"sha256sum: {path}: No such file or directory\n")
                code = 1
            else:
                out.append(f"{hashlib.sha256(data).hexdigest()}  {path}\n")
        return "".join(out), code

    async def _cmd_stat(self, args, stdin):
        fmt, paths = "%n", []
        it = iter(args)
        for a in it:
            if a == "-c":
                fmt = next(it, "%n")
            else:
                paths.append(a)
        out = []
        for path in paths:
            st = await self.stat(path)
            if st is None:
                return "".join(out) + f"stat: '{path}': No such file or directory\n", 1
            mode, size, mtime = st
            out.append(fmt.replace("%s", str(size)).replace("%Y", str(mtime))
                       .replace("%n", path).replace("%a", oct(mode & 0o777)[2:]) + "\n")
        return "".join(out), 0

    async def _cmd_ls(self, args, stdin):
        paths = [a for a in args if not a.startswith("-")] or ["/sdcard"]
        out = []
        for path in paths:
            p = self._norm(path)
            if p in self.files:
                out.append(path + "\n")
            elif p in self.dirs:
                names = sorted({f[len(p) + 1:].split("/")[0] for f in list(self.files) + list(self.dirs)
                                if f.startswith(p + "/") and f != p})
                out.extend(n + "\n" for n in names)
            else:
                return "".join(out) + f"ls: {path}: No such file or directory\n", 1
        return "".join(out), 0

    async def _cmd_mkdir(self, args, stdin):
        for a in args:
            if a.startswith("-"):
                continue
            p = self._norm(a)
            while p not in self.dirs:
                self.dirs.add(p)
                p = p.rsplit("/", 1)[0] or "/"
        return "", 0

    async def _cmd_rm(self, args, stdin):
        force = any(a.startswith("-") and "f" in a for a in args)
        for a in args:
            if a.startswith("-"):
                continue
            if self.files.pop(self._norm(a), None) is None and not force:
                return f"rm: {a}: No such file or directory\n", 1
        return "", 0

    async def _cmd_getprop(self, args, stdin):
        props = self.properties()
        if args:
            return props.get(args[0], "") + "\n", 0
        return "".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())), 0

    async def _cmd_content(self, args, stdin):
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

    async def _cmd_am(self, args, stdin):
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
        self._place_call(number)
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

    async def _cmd_input(self, args, stdin):
        if not args:
            return "Usage: input [<source>] <command> [<arg>...]\n", 1
        if args[0] == "keyevent":
            for key in args[1:]:
                if key.startswith("--"):
                    continue
                code = int(key) if key.isdigit() else _KEYCODES.get(key)
                if code is None:
                    return f"Error: unknown key code '{key}'\n", 1  # not in the real grammar either
                self._key(code)
            return "", 0
        if args[0] == "tap" and len(args) == 3:
            self._tap(float(args[1]), float(args[2]))
            return "", 0
        return f"Error: Unknown command: {args[0]}\n", 1

    async def _cmd_uiautomator(self, args, stdin):
        if not args or args[0] != "dump":
            return "Usage: uiautomator <subcommand> [options]\n", 1
        path = args[1] if len(args) > 1 and not args[1].startswith("-") else "/sdcard/window_dump.xml"
        xml = self._screen_xml().encode()
        await self.push(path, xml, 0o100660, int(time.time()))
        return f"UI hierchary dumped to: {path}\n", 0

    async def _cmd_dumpsys(self, args, stdin):
        if not args:
            return "Currently running services:\n  battery\n  telecom\n  telephony.registry\n", 0
        service = args[0]
        if service == "telephony.registry":
            if self.dumpsys_layout == "unknown":
                return self._registry_unknown(), 0
            return self._registry(), 0
        if service == "telecom":
            return self._telecom(), 0
        if service == "battery":
            return self._battery(), 0
        return f"Can't find service: {service}\n", 0

    # ------------------------------------------------------------ audio helper

    def _helper_command(self, command: str) -> Callable[[object], Awaitable[int]] | None:
        m = re.match(r"^\s*CLASSPATH=(\S+)\s+(?:exec\s+)?app_process\s+\S+\s+(\S+)\s+(.*)$", command)
        if not m:
            return None
        jar, cls, rest = m.groups()
        self.commands.append(command)
        self.command_count += 1
        if jar not in self.files or cls != AUDIO_HELPER_CLASS:
            async def missing(io):
                await io.write(f"Error: Could not find class '{cls}' in {jar}\n".encode())
                return 1
            return missing
        words = rest.split()
        if words[:1] == ["record"]:
            rate = int(words[1]) if len(words) > 1 and words[1].isdigit() else RATE
            return lambda io: self._record(io, rate)
        if words[:1] == ["play"] and len(words) >= 2:
            return lambda io: self._play(io, " ".join(words[1:]))
        async def usage(io):
            await io.write(b"usage: mobilears.Audio record RATE | play FILE\n")
            return 2
        return usage

    async def _record(self, io, rate: int) -> int:
        """The microphone as PCM16LE mono at 8 kHz, paced in real time."""
        if rate != RATE:
            await io.write(f"error: only {RATE} Hz is supported\n".encode())
            return 2
        self.mic_streams += 1
        loop = asyncio.get_running_loop()
        closed = asyncio.Event()

        async def watch_stdin():
            with contextlib.suppress(Exception):
                while await io.read():
                    pass
            closed.set()

        watcher = loop.create_task(watch_stdin())
        n = max(1, int(round(self.frame_s * RATE)))
        pos = self._now_sample()
        start_wall, start_pos = loop.time(), pos
        try:
            while not closed.is_set():
                end = pos + n
                due = start_wall + (end - start_pos) / RATE / self.speed
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(closed.wait(), max(0.0, due - loop.time()))
                if closed.is_set():
                    break
                try:
                    await io.write(self._render(pos, end))
                except (BrokenPipeError, ConnectionError):
                    break
                pos = end
        finally:
            watcher.cancel()
            self.mic_streams -= 1
        return 0

    def _render(self, start: int, end: int) -> bytes:
        n = end - start
        bank = noise_bank(self.voters.noise_dbfs)
        if n > len(bank):
            bank = np.resize(bank, n)
        off = (start * 7919) % (len(bank) - n + 1)
        x = bank[off:off + n].astype(np.int32)
        self._sounds = [s for s in self._sounds if s[0] + len(s[1]) > start - RATE]
        self._plays = [s for s in self._plays if s[0] + len(s[1]) > start - RATE]
        for s0, audio, call in self._sounds + self._plays:
            if not self._audible(call) or s0 >= end or s0 + len(audio) <= start:
                continue
            a, b = max(start, s0), min(end, s0 + len(audio))
            x[a - start:b - start] += audio[a - s0:b - s0]
        np.clip(x, -32768, 32767, out=x)
        return x.astype("<i2").tobytes()

    @staticmethod
    def _audible(call: _Call) -> bool:
        node = call.parent or call
        return call.live and node.state == "ACTIVE" and call.state in ("ACTIVE",)

    async def _play(self, io, path: str) -> int:
        data = self.file(path)
        if data is None:
            await io.write(f"error: {path}: No such file or directory\n".encode())
            return 1
        try:
            duration, samples = wav_audio(_io.BytesIO(data))
        except (wave.Error, EOFError) as exc:
            await io.write(f"error: {path}: not a playable WAV ({exc})\n".encode())
            return 1
        await io.write(f"playing {int(duration * 1000)}\n".encode())
        voter = next((c for c in self.calls if c.kind in ("voter", "caller") and c.state == "ACTIVE"), None)
        entry = None
        if voter is not None:
            voter.intro_started.set()
            if samples is not None and self.voters.echo_db is not None:
                entry = (self._now_sample(), echo(samples, self.voters.echo_db), voter)
                self._plays.append(entry)
        loop = asyncio.get_running_loop()
        closed = loop.create_task(io.read())
        try:
            await asyncio.wait_for(asyncio.shield(closed), duration / self.speed)
        except asyncio.TimeoutError:
            with contextlib.suppress(BrokenPipeError, ConnectionError):
                await io.write(b"done\n")
            return 0
        finally:
            closed.cancel()
            if entry in self._plays:
                self._plays.remove(entry)
        return 0  # stopped: stdin closed

    # ------------------------------------------------------------ calls: Telecom

    def _new_call(self, number: str, kind: str, slot: int) -> _Call:
        self._seq += 1
        call = _Call(self._seq, number, kind, slot, time.time())
        call.events.append((time.time(), "CREATED"))
        self.calls.append(call)
        self.history.append(call)
        del self.history[:-10]
        return call

    def _place_call(self, number: str) -> None:
        live = [c for c in self.calls if c.live and c.kind != "conference"]
        holdable = [c for c in live if c.state == "ACTIVE" and c.parent is None]
        if any(c.state == "ON_HOLD" for c in live) and holdable or len(live) >= 2:
            return  # Telecom cannot make room for a third call: nothing happens
        if any(c.state in ("CONNECTING", "DIALING", "RINGING") for c in live):
            return
        kind = "agent" if holdable else "voter"
        call = self._new_call(number, kind, self.voice_slot)
        loop = asyncio.get_running_loop()
        if self.ask_sim and self.profile.slots > 1:
            call.state = "SELECT_PHONE_ACCOUNT"
            call.events.append((time.time(), "SET_SELECT_PHONE_ACCOUNT"))
            return
        call.events.append((time.time(), "SET_CONNECTING"))
        if holdable:
            for c in holdable:
                loop.create_task(self._hold(c))
        if not re.search(r"[0-9]", number):
            loop.call_later(0.05, self._end, call, "no_number")
            return
        if kind == "voter":
            k = self._dialled.get(number, 0)
            self._dialled[number] = k + 1
            call.plan = self.voters.plan(number, random.Random(f"voter:{self.voter_seed}:{number}:{k}"))
            call.g = np.random.default_rng(call.plan.audio_seed)
            call.task = loop.create_task(self._run_voter(call))
        else:
            call.task = loop.create_task(self._run_agent(call))

    async def _hold(self, call: _Call) -> None:
        await self._sleep(_HOLD_S)
        if call.live and call.state == "ACTIVE":
            call.state = "ON_HOLD"
            call.events.append((time.time(), "SET_HOLD"))

    def _dialing(self, call: _Call) -> None:
        if call.live:
            call.state = "DIALING"
            call.events.append((time.time(), "SET_DIALING (successful outgoing call)"))

    def _answered(self, call: _Call) -> None:
        call.state = "ACTIVE"
        call.alerting = False
        call.answered_sample = self._now_sample()
        call.events.append((time.time(), "SET_ACTIVE (active set explicitly)"))

    async def _run_voter(self, call: _Call) -> None:
        plan = call.plan
        await self._sleep(0.1)
        self._dialing(call)
        await self._sleep(plan.setup_s)
        if plan.behaviour == "invalid":
            return self._end(call, "invalid")
        if plan.behaviour == "busy":
            return self._end(call, "busy")
        call.alerting = True
        await self._sleep(plan.ring_s)
        if not plan.answers:
            return self._end(call, "reject" if plan.behaviour == "reject" else "no_answer")
        self._answered(call)
        if self.voters.hello_dbfs is not None:
            greeting = hello(self.voters.hello_dbfs, int(call.g.integers(4)))
            self._sounds.append((call.answered_sample + int(0.3 * RATE), greeting, call))
        try:
            await asyncio.wait_for(call.intro_started.wait(), INTRO_WAIT_S / self.speed)
        except asyncio.TimeoutError:
            pass
        if plan.behaviour == "hang_up_in_intro":
            await self._sleep(plan.act_after_s)
            return self._end(call, "remote")
        if plan.digit is None:
            return
        await self._sleep(plan.act_after_s)
        self._press(call, plan.digit)
        if plan.hang_up_after_s is not None:
            await self._sleep(plan.hang_up_after_s)
            if call.parent is None:
                self._end(call, "remote")

    def _press(self, call: _Call, key: str) -> None:
        """The voter presses ``key``: its tone, with noise ``snr_db`` below it
        (exactly as the sim backend makes it), goes into the call audio."""
        plan = call.plan
        audio = key_press(key, plan.tone_s, plan.tone_dbfs, self.voters.snr_db, call.g)
        self._sounds.append((self._now_sample(), audio, call))
        call.events.append((time.time(), f"DTMF_RECEIVED ({key})"))  # not a real event: for tests

    async def _run_agent(self, call: _Call) -> None:
        await self._sleep(0.1)
        self._dialing(call)
        await self._sleep(AGENT_SETUP_S)
        plan = self.desk.claim(call.number, call)
        if plan is None:
            return self._end(call, "busy")
        call.claimed_target = call.number
        call.agent_plan = plan
        call.alerting = True
        if not plan.answers:
            await asyncio.Event().wait()  # rings until dropped
        await self._sleep(plan.answer_after_s)
        self._answered(call)
        await self._sleep(plan.talk_s)
        self._end(call, "remote")

    async def _caller_gives_up(self, call: _Call) -> None:
        await self._sleep(INCOMING_HANG_UP_S)
        if call.state == "RINGING":
            self._end(call, "missed")
        elif call.live:
            self._end(call, "remote")

    def _end(self, call: _Call, why: str) -> None:
        if not call.live:
            return
        cause = _CAUSES[why]
        was_foreground = call.state != "ON_HOLD"
        call.state = "DISCONNECTED"
        call.alerting = False
        call.cause = cause
        call.local_end = why in ("local", "incoming_rejected")
        call.ended_wall = time.time()
        call.events.append((call.ended_wall, "SET_DISCONNECTED (DisconnectCause [ Code: (%s) Label: () "
                            "Description: () Reason: (%s) Tone: (%d) ])" % (cause[2], cause[3], cause[4])))
        self._last_cause[call.slot] = (cause[0], cause[1])
        if was_foreground:
            self._last_fg_end[call.slot] = self._clock()
        if call.claimed_target is not None:
            self.desk.release(call.claimed_target, call)
        if call.task is not None and not call.task.done() and call.task is not asyncio.current_task():
            call.task.cancel()
        parent = call.parent
        if parent is not None:
            parent.children.remove(call)
            call.parent = None
            if len(parent.children) <= 1 and parent.live:
                for child in parent.children:
                    child.parent = None
                parent.children = []
                parent.state = "DISCONNECTED"
                parent.cause = _CAUSES["remote"]
                parent.ended_wall = time.time()
                parent.events.append((parent.ended_wall, "SET_DISCONNECTED (DisconnectCause [ Code: "
                                      "(REMOTE) Label: () Description: () Reason: () Tone: (-1) ])"))
        for child in list(call.children):
            self._end(child, why)
        # Telecom resumes a held call only after a *local* disconnect
        # (CallsManager.maybeMoveHeldCallToForeground).
        if call.local_end and was_foreground:
            held = [c for c in self.calls if c.live and c.state == "ON_HOLD"]
            if len(held) == 1:
                asyncio.get_running_loop().create_task(self._resume(held[0]))
        asyncio.get_running_loop().call_later(_LINGER_S, self._forget, call)

    def _forget(self, call: _Call) -> None:
        if call in self.calls and not call.live:
            self.calls.remove(call)

    async def _resume(self, call: _Call) -> None:
        await self._sleep(_HOLD_S)
        if call.live and call.state == "ON_HOLD":
            call.state = "ACTIVE"
            call.events.append((time.time(), "SET_ACTIVE (unheld)"))

    async def _merge(self) -> None:
        active = [c for c in self.calls if c.live and c.state == "ACTIVE" and c.parent is None
                  and c.kind != "conference"]
        held = [c for c in self.calls if c.live and c.state == "ON_HOLD" and c.parent is None]
        if not (active and held):
            return
        await self._sleep(_HOLD_S)
        members = [m for m in (held[0], active[0]) if m.live]
        if len(members) < 2:
            return
        conf = self._new_call("", "conference", members[0].slot)
        conf.state = "ACTIVE"
        conf.events.append((time.time(), "SET_ACTIVE (conference)"))
        for m in members:
            m.state = "ACTIVE"
            m.parent = conf
            m.events.append((time.time(), f"SET_PARENT (RecordEntry {conf.id})"))
        conf.children = members

    def _key(self, code: int) -> None:
        live = [c for c in self.calls if c.live]
        ringing = [c for c in live if c.state == "RINGING"]
        if code == 5:  # KEYCODE_CALL: answer the ringing call
            if ringing:
                call = ringing[0]
                for c in live:
                    if c is not call and c.state == "ACTIVE" and c.parent is None:
                        c.state = "ON_HOLD"
                self._answered(call)
                if call.task is None or call.task.done():
                    call.task = asyncio.get_running_loop().create_task(self._caller_gives_up(call))
            return
        if code == 6:  # KEYCODE_ENDCALL: TelecomManager.endCall()
            target = self._foreground()
            if target is None and ringing:
                target = ringing[0]
            if target is None:
                target = next((c for c in live if c.parent is None), None)
            if target is None:
                self.screen_on = False  # no call: ENDCALL puts the phone to sleep
                return
            self._end(target, "incoming_rejected" if target.state == "RINGING" else "local")

    def _foreground(self) -> _Call | None:
        live = [c for c in self.calls if c.live and c.parent is None]
        for c in reversed(live):
            if c.state in ("ACTIVE", "DIALING", "CONNECTING", "DISCONNECTING"):
                return c
        return None

    # -------------------------------------------------------------- the screen

    def _buttons(self) -> list[tuple[str, str, tuple[int, int, int, int]]]:
        """(action, label, bounds) of what the in-call screen shows now."""
        labels = _LABELS[self.profile.ui_language]
        live = [c for c in self.calls if c.live and c.parent is None]
        if not live:
            return []
        ringing = [c for c in live if c.state == "RINGING"]
        if ringing and len(live) == 1:
            return [("decline", labels["decline"], (120, 1900, 420, 2100)),
                    ("answer", labels["answer"], (660, 1900, 960, 2100))]
        out = [("end", labels["end"], (440, 1980, 640, 2180))]
        active = [c for c in live if c.state == "ACTIVE"]
        held = [c for c in live if c.state == "ON_HOLD"]
        if active and held and self.conference_supported:
            out.append(("merge", labels["merge"], (90, 1500, 390, 1700)))
        if held and not active and not [c for c in live if c.state in ("DIALING", "CONNECTING")]:
            out.append(("resume", labels["resume"], (390, 1500, 690, 1700)))
        elif active and not held:
            out.append(("hold", labels["hold"], (390, 1500, 690, 1700)))
            out.append(("add", labels["add"], (690, 1500, 990, 1700)))
        return out

    def _screen_xml(self) -> str:
        p = self.profile
        package = p.incall_package.split("/")[0] if self._buttons() else (
            "com.sec.android.app.launcher" if p.brand == "samsung" else "com.google.android.apps.nexuslauncher")
        nodes = []
        for i, (action, label, (x1, y1, x2, y2)) in enumerate(self._buttons()):
            nodes.append(
                f'<node index="{i}" text="{label}" resource-id="{package}:id/{action}_button" '
                f'class="android.widget.Button" package="{package}" content-desc="{label}" '
                'checkable="false" checked="false" clickable="true" enabled="true" focusable="true" '
                'focused="false" scrollable="false" long-clickable="false" password="false" '
                f'selected="false" bounds="[{x1},{y1}][{x2},{y2}]" />')
        return ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">"
                f'<node index="0" text="" resource-id="" class="android.widget.FrameLayout" '
                f'package="{package}" content-desc="" checkable="false" checked="false" clickable="false" '
                'enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false" '
                f'password="false" selected="false" bounds="[0,0][1080,2340]">{"".join(nodes)}</node></hierarchy>')

    def _tap(self, x: float, y: float) -> None:
        for action, _label, (x1, y1, x2, y2) in self._buttons():
            if x1 <= x <= x2 and y1 <= y <= y2:
                loop = asyncio.get_running_loop()
                if action == "merge":
                    loop.create_task(self._merge())
                elif action == "resume":
                    held = next(c for c in self.calls if c.live and c.state == "ON_HOLD")
                    loop.create_task(self._resume(held))
                elif action == "hold":
                    active = next(c for c in self.calls if c.live and c.state == "ACTIVE" and c.parent is None)
                    loop.create_task(self._hold(active))
                elif action == "end":
                    self._key(6)
                elif action == "answer":
                    self._key(5)
                elif action == "decline":
                    self._key(6)
                return

    # ----------------------------------------------------------------- dumps

    def properties(self) -> dict[str, str]:
        p = self.profile
        sims = [("READY" if op else "ABSENT") for op, _ in p.operators[:p.slots]]
        nets = [("LTE" if op else "Unknown") for op, _ in p.operators[:p.slots]]
        ops = [op for op, _ in p.operators[:p.slots]]
        numeric = [f"450{mnc}" if op else "" for op, mnc in p.operators[:p.slots]]
        props = {
            "ro.product.model": p.model, "ro.product.name": p.name, "ro.product.device": p.device,
            "ro.product.brand": p.brand, "ro.product.manufacturer": p.manufacturer,
            "ro.build.version.release": p.release, "ro.build.version.sdk": str(p.sdk),
            "ro.build.version.incremental": p.incremental, "ro.build.id": p.build_id,
            "ro.build.version.security_patch": p.security_patch, "ro.build.type": "user",
            "ro.build.fingerprint": p.fingerprint, "ro.boot.hardware": p.hardware,
            "ro.serialno": (f"R3C{self.seed % 10**8:08d}" if p.brand == "samsung"
                            else f"8A{self.seed % 10**10:010d}"),  # unique within a rack of < 10^8
            "ro.build.characteristics": "phone", "sys.boot_completed": "1",
            "gsm.sim.state": ",".join(sims), "gsm.network.type": ",".join(nets),
            "gsm.operator.alpha": ",".join(ops), "gsm.operator.numeric": ",".join(numeric),
            "gsm.current.phone-type": ",".join("1" for _ in sims),
            "persist.radio.multisim.config": "dsds" if p.slots > 1 else "ss",
            "wifi.interface": "wlan0", "dalvik.vm.heapsize": "512m",
        }
        if p.brand == "samsung":
            props.update({"ro.csc.sales_code": p.sales_code, "ro.csc.country_code": "KOREA"})
        return props

    def _slot_state(self, slot: int) -> dict:
        calls = [c for c in self.calls if c.slot == slot]
        live = [c for c in calls if c.live]
        tops = [c for c in live if c.parent is None]
        ringing = [c for c in tops if c.state == "RINGING"]
        held = [c for c in tops if c.state == "ON_HOLD"]
        fg_calls = [c for c in tops if c.state in ("ACTIVE", "DIALING", "CONNECTING", "DISCONNECTING")]
        if fg_calls:
            fg = fg_calls[-1].precise()
        elif self._clock() - self._last_fg_end.get(slot, -1e9) < _LINGER_S:
            fg = 7
        else:
            fg = 0
        ring = (6 if fg_calls or held else 5) if ringing else 0
        bg = 2 if held else 0
        cs = 1 if ringing else 2 if (fg_calls or held) else 0
        dc, pdc = self._last_cause[slot]
        if live and not any(c.state == "DISCONNECTED" for c in calls):
            dc, pdc = (0, -1) if dc != -1 else (-1, -1)
        number = ringing[0].number if ringing else ""
        return {"cs": cs, "ring": ring, "fg": fg, "bg": bg, "dc": dc, "pdc": pdc, "number": number,
                "net": 13 if fg_calls or held else 0}

    def _service_state(self, slot: int) -> str:
        p = self.profile
        operator, mnc = p.operators[slot] if slot < len(p.operators) else ("", "")
        if not operator:
            return ("{mVoiceRegState=1(OUT_OF_SERVICE), mDataRegState=1(OUT_OF_SERVICE), mChannelNumber=-1, "
                    "duplexMode()=0, mCellBandwidths=[], mOperatorAlphaLong=null, mOperatorAlphaShort=null, "
                    "isManualNetworkSelection=false(automatic), getRilVoiceRadioTechnology=0(Unknown), "
                    "getRilDataRadioTechnology=0(Unknown), mCssIndicator=unsupported, mNetworkId=-1, mSystemId=-1, "
                    "mCdmaRoamingIndicator=-1, mCdmaDefaultRoamingIndicator=-1, mIsEmergencyOnly=false, "
                    "isUsingCarrierAggregation=false, mLteEarfcnRsrpBoost=0, mNetworkRegistrationInfos=[], "
                    "mNrFrequencyRange=0, mOperatorAlphaLongRaw=null, mOperatorAlphaShortRaw=null, "
                    "mIsDataRoamingFromRegistration=false, mIsIwlanPreferred=false}")
        nr = "CONNECTED" if p.sdk >= 31 and slot == self.voice_slot else "NONE"
        cell = (f"CellIdentityLte:{{ mCi=*** mPci=*** mTac=*** mEarfcn=1650 mBands=[3] mBandwidth=20000 "
                f"mMcc=450 mMnc={mnc} mAlphaLong={operator} mAlphaShort={operator} mAdditionalPlmns={{}} mCsgInfo=null}}")
        nri = (f"NetworkRegistrationInfo{{ domain=CS transportType=WWAN registrationState=HOME "
               f"roamingType=NOT_ROAMING accessNetworkTechnology=LTE rejectCause=0 emergencyEnabled=false "
               f"availableServices=[VOICE,SMS,VIDEO] cellIdentity={cell} voiceSpecificInfo=VoiceSpecificRegistrationInfo "
               f"{{ mCssSupported=false mRoamingIndicator=0 mSystemIsInPrl=0 mDefaultRoamingIndicator=0}} "
               f"dataSpecificInfo=null nrState=**** rRplmn=450{mnc} isUsingCarrierAggregation=false}}, "
               f"NetworkRegistrationInfo{{ domain=PS transportType=WWAN registrationState=HOME "
               f"roamingType=NOT_ROAMING accessNetworkTechnology=LTE rejectCause=0 emergencyEnabled=false "
               f"availableServices=[DATA] cellIdentity={cell} voiceSpecificInfo=null "
               f"dataSpecificInfo=android.telephony.DataSpecificRegistrationInfo :{{ maxDataCalls = 16 "
               f"isDcNrRestricted = false isNrAvailable = true isEnDcAvailable = true LteVopsSupportInfo :  "
               f"mVopsSupport = 2 mEmcBearerSupport = 2  mIsUsingCarrierAggregation = false }} nrState={nr} "
               f"rRplmn=450{mnc} isUsingCarrierAggregation=false}}")
        rat = "mRilVoiceRadioTechnology=14(LTE), mRilDataRadioTechnology=14(LTE)" if p.sdk < 30 else \
              "getRilVoiceRadioTechnology=14(LTE), getRilDataRadioTechnology=14(LTE)"
        ops = (f"mVoiceOperatorAlphaLong={operator}, mVoiceOperatorAlphaShort={operator}, "
               f"mDataOperatorAlphaLong={operator}, mDataOperatorAlphaShort={operator}") if p.sdk < 30 else \
              f"mOperatorAlphaLong={operator}, mOperatorAlphaShort={operator}"
        return (f"{{mVoiceRegState=0(IN_SERVICE), mDataRegState=0(IN_SERVICE), mChannelNumber=1650, "
                f"duplexMode()=1, mCellBandwidths=[20000], {ops}, isManualNetworkSelection=false(automatic), "
                f"{rat}, mCssIndicator=unsupported, mNetworkId=-1, mSystemId=-1, mCdmaRoamingIndicator=-1, "
                f"mCdmaDefaultRoamingIndicator=-1, mIsEmergencyOnly=false, isUsingCarrierAggregation=false, "
                f"mLteEarfcnRsrpBoost=0, mNetworkRegistrationInfos=[{nri}], mNrFrequencyRange=0, "
                f"mOperatorAlphaLongRaw={operator}, mOperatorAlphaShortRaw={operator}, "
                f"mIsDataRoamingFromRegistration=false, mIsIwlanPreferred=false}}")

    def _signal(self, slot: int) -> str:
        p = self.profile
        has_sim = bool(p.operators[slot][0]) if slot < len(p.operators) else False
        level = self.signal if has_sim else 0
        rsrp = {4: -88, 3: -101, 2: -111, 1: -120, 0: 2147483647}[level]
        inv = 2147483647
        lte = (f"rssi={-57 if has_sim else inv} rsrp={rsrp} rsrq={-9 if has_sim else inv} "
               f"rssnr={150 if has_sim else inv} ")
        lte += (f"cqiTableIndex={inv} cqi={inv} ta={inv} level={level} parametersUseForLevel=0"
                if p.sdk >= 31 else f"cqi={inv} ta={inv} level={level}")
        return (f"SignalStrength:{{mCdma=CellSignalStrengthCdma: cdmaDbm={inv} cdmaEcio={inv} evdoDbm={inv} "
                f"evdoEcio={inv} evdoSnr={inv} level=0,mGsm=CellSignalStrengthGsm: rssi={inv} ber={inv} mTa={inv} "
                f"mLevel=0,mWcdma=CellSignalStrengthWcdma: ss={inv} ber={inv} rscp={inv} ecno={inv} level=0,"
                f"mTdscdma=CellSignalStrengthTdscdma: rssi={inv} ber={inv} rscp={inv} level=0,"
                f"mLte=CellSignalStrengthLte: {lte},mNr=CellSignalStrengthNr:{{ csiRsrp = {inv} csiRsrq = {inv} "
                f"csiSinr = {inv} ssRsrp = {inv} ssRsrq = {inv} ssSinr = {inv} level = 0 }},"
                f"primary={'CellSignalStrengthLte' if has_sim else 'CellSignalStrengthCdma'}}}")

    def _registry(self) -> str:
        p = self.profile
        out = ["last known state:"]
        states = [self._slot_state(s) for s in range(p.slots)]
        for slot, st in enumerate(states):
            out.append(f"  Phone Id={slot}")
            precise = ("Ringing call state: %d, Foreground call state: %d, Background call state: %d, "
                       "Disconnect cause: %d, Precise disconnect cause: %d"
                       % (st["ring"], st["fg"], st["bg"], st["dc"], st["pdc"]))
            f = []
            if p.sdk <= 29:
                f += [f"mCallState={st['cs']}", f"mCallIncomingNumber={st['number']}",
                      f"mServiceState={self._service_state(slot)}", f"mNetworkType={13 if p.operators[slot][0] else 0}"]
            else:
                f += [f"mCallState={st['cs']}", f"mRingingCallState={st['ring']}",
                      f"mForegroundCallState={st['fg']}", f"mBackgroundCallState={st['bg']}",
                      f"mPreciseCallState={precise}", f"mCallDisconnectCause={st['dc']}",
                      f"mCallIncomingNumber={st['number']}", f"mServiceState={self._service_state(slot)}"]
            f += ["mVoiceActivationState= 0", "mDataActivationState= 0", "mUserMobileDataState= true",
                  f"mSignalStrength={self._signal(slot)}", "mMessageWaiting=false", "mCallForwarding=false",
                  "mDataActivity=0", "mDataConnectionState=2"]
            if p.sdk <= 29:
                f += ["mCellLocation=[11290,1802520,-1]", "mCellInfo=null",
                      "mImsCallDisconnectCause=ImsReasonInfo :: {0 : null}"]
            else:
                f += ["mCellIdentity=null" if not p.operators[slot][0] else
                      "mCellIdentity=CellIdentityLte:{ mCi=*** mPci=*** mTac=*** mEarfcn=1650 mBands=[3] "
                      "mBandwidth=20000 mMcc=450 mMnc=05 mAlphaLong=*** mAlphaShort=*** mAdditionalPlmns={} mCsgInfo=null}",
                      "mCellInfo=null", "mImsCallDisconnectCause=ImsReasonInfo :: {0 : null}", "mSrvccState=-1",
                      f"mCallPreciseDisconnectCause={st['pdc']}",
                      "mCallQuality=CallQuality: {downlinkCallQualityLevel=0 uplinkCallQualityLevel=0 callDuration=0 "
                      "numRtpPacketsTransmitted=0 numRtpPacketsReceived=0 numRtpPacketsTransmittedLost=0 "
                      "numRtpPacketsNotReceived=0 averageRelativeJitter=0 maxRelativeJitter=0 averageRoundTripTime=0 "
                      "codecType=0 rtpInactivityDetected=false txSilenceDetected=false rxSilenceDetected=false}"]
                if p.sdk <= 31:
                    f.append(f"mCallAttributes=mPreciseCallState={precise} mNetworkType={st['net']} mCallQuality=null"
                             if st["cs"] else "mCallAttributes=null")
                f += [f"mCallNetworkType={st['net']}", "mPreciseDataConnectionStates={}",
                      "mOutgoingCallEmergencyNumber=null", "mOutgoingSmsEmergencyNumber=null",
                      "mBarringInfo=BarringInfo {mCellIdentity=null, mBarringServiceInfos={}}"]
                if p.sdk >= 31:
                    f += ["mCarrierNetworkChangeState=false",
                          "mTelephonyDisplayInfo=TelephonyDisplayInfo {network=LTE, override=NR_NSA}" if p.sdk < 34 else
                          "mTelephonyDisplayInfo=TelephonyDisplayInfo {network=LTE, overrideNetwork=NR_NSA, isRoaming=false}",
                          "mIsDataEnabled=true", "mDataEnabledReason=0", "mAllowedNetworkTypeReason=0",
                          "mAllowedNetworkTypeValue=-1", "mPhysicalChannelConfigs=[]",
                          "mLinkCapacityEstimateList=[]"]
                if p.sdk >= 33:
                    f += ["mCarrierPrivilegeState=<packages=[], uids=[]>",
                          "mCarrierServiceState=<package=***, uid=10076>"]
            out += ["    " + x for x in f]
        if p.sdk <= 29:
            st = states[self.voice_slot]
            out += ["  mPreciseDataConnectionState=Data Connection state: 2, Network type: 13, APN types: "
                    "default,mms,supl,hipri,fota,ims,cbs,ia,dun, APN: lte.sktelecom.com, Link properties: "
                    "null, Data fail cause: 0",
                    f"  mPreciseCallState=Ringing call state: {st['ring']}, Foreground call state: {st['fg']}, "
                    f"Background call state: {st['bg']}, Disconnect cause: {st['dc']}, Precise disconnect cause: {st['pdc']}",
                    f"  mCallDisconnectCause={st['dc']}", f"  mCallPreciseDisconnectCause={st['pdc']}",
                    "  mCarrierNetworkChangeState=false", f"  mRingingCallState={st['ring']}",
                    f"  mForegroundCallState={st['fg']}", f"  mBackgroundCallState={st['bg']}", "  mSrvccState=-1",
                    "  mPhoneCapability=null", "  mPreferredDataSubId=1", "  mRadioPowerState=1",
                    "  mEmergencyNumberList={}", "  mCallQuality=null", "  mCallAttributes=null"]
        else:
            if p.sdk == 30:
                out.append("  mCarrierNetworkChangeState=false")
            out += ["  mPhoneCapability=null", "  mActiveDataSubId=1", "  mRadioPowerState=1",
                    "  mEmergencyNumberList={}", "  mDefaultPhoneId=0", "  mDefaultSubId=1"]
        out += ["local logs:", f"  {time.strftime('%Y-%m-%dT%H:%M:%S')}.000 - notifyCallStateForPhoneId: "
                f"subId=1 phoneId={self.voice_slot} state={states[self.voice_slot]['cs']}"]
        if p.sdk >= 30:
            out += ["listen logs:"]
        out += ["registrations: count=1",
                f"  {{callingPackage={p.incall_package.split('/')[0]} callerUid=10183 binder=android.os.BinderProxy@8f2a1b3 "
                "callback=com.android.internal.telephony.IPhoneStateListener$Stub$Proxy@c12e5e0 "
                "onSubscriptionsChangedListenererCallback=null onOpportunisticSubscriptionsChangedListenererCallback=null "
                f"subId=1 phoneId={self.voice_slot} events=20}}"]
        return "\n".join(out) + "\n"

    def _registry_unknown(self) -> str:
        out = ["TelephonyRegistry service state (vendor extended dump v2)"]
        for slot in range(self.profile.slots):
            st = self._slot_state(slot)
            out += [f"  slot[{slot}]", f"    callState: {('IDLE', 'RINGING', 'OFFHOOK')[st['cs']]}",
                    f"    preciseForeground: {st['fg']}", "    incoming: <hidden>"]
        return "\n".join(out) + "\n"

    def _call_line(self, c: _Call) -> str:
        tpac = "ComponentInfo{com.android.phone/com.android.services.telephony.TelephonyConnectionService}"
        handle = "null" if c.kind == "conference" else "tel:" + "*" * len(re.sub(r"[^0-9#*+]", "", c.number))
        if self.profile.sdk <= 29:
            return (f"[{c.id}, {c.state}, com.android.phone/com.android.services.telephony.TelephonyConnectionService, "
                    f"{handle}, A, childs({len(c.children)}), has_parent({str(c.parent is not None).lower()}), "
                    "[Capabilities: CAPABILITY_SUPPORT_HOLD CAPABILITY_MUTE], [Properties: PROPERTY_HIGH_DEF_AUDIO]]")
        cap = "[ mrg_cnf hld supHld mut]" if c.kind == "conference" else "[ hld supHld mut !v2a spd dis]"
        return (f"[Call id={c.id}, state={c.state}, tpac={tpac}, ***, UserHandle{{0}}, cmgr=null, handle={handle}, "
                f"vidst=A, childs({len(c.children)}), has_parent({str(c.parent is not None).lower()}), "
                f"cap={cap}, prop=[ hd volte]], voip=false")

    def _telecom(self) -> str:
        p = self.profile
        out = ["CallsManager: ", "  mCalls: "]
        out += ["    " + self._call_line(c) for c in self.calls]
        fg = self._foreground()
        out += ["  mCallAudioManager:", "    All calls:"] + [f"      {c.id}" for c in self.calls if c.live]
        out += ["    Active dialing, or connecting calls:"] + [
            f"      {c.id}" for c in self.calls if c.live and c.state in ("DIALING", "CONNECTING")]
        out += ["    Ringing calls:"] + [f"      {c.id}" for c in self.calls if c.state == "RINGING"]
        out += ["    Holding calls:"] + [f"      {c.id}" for c in self.calls if c.state == "ON_HOLD"]
        out += ["    Foreground call:", "    " + (self._call_line(fg) if fg else "null")]
        out += ["  mTtyManager:", "    mCurrentTtyMode: 0", "  mInCallController:",
                "    mInCallServices (InCalls registered):", f"      ComponentInfo{{{p.incall_package}}}",
                "PhoneAccountRegistrar: ", "  mDefaultOutgoingAccountHandles:",
                "    UserHandle{0}: " + ("null (ask every time)" if self.ask_sim and p.slots > 1 else
                                         "ComponentInfo{com.android.phone/com.android.services.telephony."
                                         "TelephonyConnectionService}, ***, UserHandle{0}"),
                "Analytics: ", "Historical Events:"]
        for c in self.history:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.created_wall))
            direction = "(MT - incoming)" if c.incoming else "(MO - outgoing)"
            if p.sdk <= 29:
                out.append(f"  Call {c.id} [{when[5:]}.000]{direction}")
                out.append("  \tVia PhoneAccount: ComponentInfo{com.android.phone/com.android.services.telephony."
                           "TelephonyConnectionService}, ***, UserHandle{0}")
            else:
                out.append(f"  Call {c.id} [{when}.000]{direction}(User=UserHandle{{0}})")
                out.append("  \tTarget PhoneAccount: ComponentInfo{com.android.phone/com.android.services.telephony."
                           "TelephonyConnectionService}, ***, UserHandle{0}")
            out.append(f"  \tTo address: tel:{'*' * len(c.number)} Presentation: Allowed")
            for wall, event in c.events:
                if event.startswith("DTMF_RECEIVED"):
                    continue
                stamp = time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall * 1000) % 1000:03d}"
                out.append(f"    {stamp} - {event}")
            out += ["    Timings (average for this call, milliseconds):"]
        return "\n".join(out) + "\n"

    def _battery(self) -> str:
        p = self.profile
        lines = ["Current Battery Service state:", f"  AC powered: {str(self.charging).lower()}",
                 "  USB powered: false", "  Wireless powered: false"]
        if p.sdk >= 34:
            lines.append("  Dock powered: false")
        lines += ["  Max charging current: " + ("1550000" if self.charging else "0"),
                  "  Max charging voltage: " + ("9000000" if self.charging else "0"),
                  "  Charge counter: 3564000", f"  status: {(5 if self.battery >= 100 else 2) if self.charging else 3}",
                  "  health: 2", "  present: true", f"  level: {self.battery}", "  scale: 100",
                  "  voltage: 4211", "  temperature: 305", "  technology: Li-ion"]
        if p.brand == "samsung":
            lines += ["  mSecPlugTypeSummary: 1" if self.charging else "  mSecPlugTypeSummary: 0",
                      "  LED Charging: true", "  LED Low Battery: true", "  current now: 640",
                      "  Adaptive Fast Charging Settings: true", "  BATTERY_PROTECTION_THRESHOLD: 85"]
        return "\n".join(lines) + "\n"

    # --------------------------------------------------------------- helpers

    @staticmethod
    def _norm(path: str) -> str:
        path = "/" + path.strip().strip("/") if path.strip() not in ("", "/") else "/"
        for alias in ("/sdcard", "/storage/self/primary", "/mnt/sdcard"):
            if path == alias or path.startswith(alias + "/"):
                path = "/storage/emulated/0" + path[len(alias):]
        return path
