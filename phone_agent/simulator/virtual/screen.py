"""The virtual handset's screen: the in-call screen's buttons, its
``uiautomator dump``, and ``input`` (key events and taps).

Buttons follow the calls: Answer / Decline for a lone ringing call; End
call, plus Merge (an active and a held call, if the phone can conference),
Resume (only held calls) or Hold and Add call (only active ones). Labels are
the phone's UI language (Korean on the Samsung profiles). ``input keyevent``
KEYCODE_CALL (5) answers, KEYCODE_ENDCALL (6) ends the foreground call (or
rejects a ringing one) and, with no call, puts the phone to sleep.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .shell import Storage
from .telecom import Telecom

if TYPE_CHECKING:
    from .handset import AndroidProfile

__all__ = ["KEYCODES", "LABELS", "Screen"]

KEYCODES = {"KEYCODE_CALL": 5, "KEYCODE_ENDCALL": 6, "KEYCODE_HEADSETHOOK": 79,
            "KEYCODE_WAKEUP": 224, "KEYCODE_HOME": 3, "KEYCODE_BACK": 4}

# In-call screen labels (what uiautomator shows), by language.
LABELS = {
    "en": {"merge": "Merge", "resume": "Resume", "hold": "Hold", "end": "End call",
           "answer": "Answer", "decline": "Decline", "add": "Add call"},
    "ko": {"merge": "통화 병합", "resume": "통화 재개", "hold": "통화 대기", "end": "통화 종료",
           "answer": "받기", "decline": "거절", "add": "통화 추가"},
}


class Screen:
    """What the phone shows and what touching it does."""

    def __init__(self, profile: AndroidProfile, telecom: Telecom, storage: Storage, *,
                 conference: bool = True):
        self.profile = profile
        self.telecom = telecom
        self.storage = storage
        self.conference_supported = conference
        self.on = True

    # -- shell commands --------------------------------------------------------

    async def input(self, args, stdin):
        if not args:
            return "Usage: input [<source>] <command> [<arg>...]\n", 1
        if args[0] == "keyevent":
            for key in args[1:]:
                if key.startswith("--"):
                    continue
                code = int(key) if key.isdigit() else KEYCODES.get(key)
                if code is None:
                    return f"Error: unknown key code '{key}'\n", 1  # not in the real grammar either
                self.key(code)
            return "", 0
        if args[0] == "tap" and len(args) == 3:
            self.tap(float(args[1]), float(args[2]))
            return "", 0
        return f"Error: Unknown command: {args[0]}\n", 1

    async def uiautomator(self, args, stdin):
        if not args or args[0] != "dump":
            return "Usage: uiautomator <subcommand> [options]\n", 1
        path = args[1] if len(args) > 1 and not args[1].startswith("-") else "/sdcard/window_dump.xml"
        self.storage.push(path, self.xml().encode(), 0o100660, int(time.time()))
        return f"UI hierchary dumped to: {path}\n", 0

    # -- the screen ------------------------------------------------------------

    def key(self, code: int) -> None:
        if code == 5:  # KEYCODE_CALL: answer the ringing call
            self.telecom.answer()
        elif code == 6 and not self.telecom.end_call():
            self.on = False  # no call: ENDCALL puts the phone to sleep

    def buttons(self) -> list[tuple[str, str, tuple[int, int, int, int]]]:
        """(action, label, bounds) of what the in-call screen shows now."""
        labels = LABELS[self.profile.ui_language]
        live = [c for c in self.telecom.calls if c.live and c.parent is None]
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

    def xml(self) -> str:
        """The screen as ``uiautomator dump`` writes it."""
        p = self.profile
        package = p.incall_package.split("/")[0] if self.buttons() else (
            "com.sec.android.app.launcher" if p.brand == "samsung" else "com.google.android.apps.nexuslauncher")
        nodes = []
        for i, (action, label, (x1, y1, x2, y2)) in enumerate(self.buttons()):
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

    def tap(self, x: float, y: float) -> None:
        telecom = self.telecom
        for action, _label, (x1, y1, x2, y2) in self.buttons():
            if x1 <= x <= x2 and y1 <= y <= y2:
                loop = asyncio.get_running_loop()
                if action == "merge":
                    loop.create_task(telecom.merge())
                elif action == "resume":
                    held = next(c for c in telecom.calls if c.live and c.state == "ON_HOLD")
                    loop.create_task(telecom.resume(held))
                elif action == "hold":
                    active = next(c for c in telecom.calls
                                  if c.live and c.state == "ACTIVE" and c.parent is None)
                    loop.create_task(telecom.hold(active))
                elif action in ("end", "decline"):
                    self.key(6)
                elif action == "answer":
                    self.key(5)
                return
