"""The call-state watch loop (phone_agent/telephony/adb/watcher.py) as a
phone runs it: the script under a real POSIX ``sh`` (this machine's
/bin/sh, with a ``dumpsys`` stand-in printing the real-format samples of
phone_agent/telephony/fixtures — the phone's system services are the edge we
cannot reach), the parser of what it prints, and the virtual handset's
native loop printing the same bytes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from phone_agent.simulator.virtual import watcher as virtual_watcher
from phone_agent.simulator.virtual.handset import VirtualHandset
from phone_agent.telephony import dumpsys as d
from phone_agent.telephony.adb import android
from phone_agent.telephony.adb.watcher import (ARM_PATH, WATCH_SCRIPT, WatchedState, WatchParser,
                                               WatchProtocolError, arm_line, watch_command)

FIXTURES = Path(d.__file__).parent / "fixtures"
SH = shutil.which("sh")


# -- what the loop prints, parsed ------------------------------------------------------------

def block(registry: str, telecom: str | None = None) -> bytes:
    marker = "__ARS_W_T__" if telecom is not None else "__ARS_W_R__"
    return f"__ARS_W_B__\n{registry}\n{marker}\n{telecom or ''}\n__ARS_W_E__\n".encode()


def test_blocks_are_parsed_whole_however_the_stream_cuts_them():
    data = b"sh: warning\n" + block("  Phone Id=0\n    mCallState=0") + block("mCallState=2", "  mCalls:")
    parser, got = WatchParser(), []
    for i in range(len(data)):  # one byte at a time
        got += parser.feed(data[i:i + 1])
    assert got == [WatchedState("  Phone Id=0\n    mCallState=0\n", None),
                   WatchedState("mCallState=2\n", "  mCalls:\n")]


def test_what_is_not_the_loops_output_is_refused():
    with pytest.raises(WatchProtocolError, match="without its registry/telecom marker"):
        WatchParser().feed(b"__ARS_W_B__\nmCallState=0\n__ARS_W_E__\n")
    with pytest.raises(WatchProtocolError, match="longer than"):
        WatchParser().feed(b"__ARS_W_B__\n" + b"x" * 300_000)
    assert WatchParser().feed(b"noise without any block\n" * 1000) == []


def test_bad_watch_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="0 < fast"):
        watch_command(1.0, 0.25, 10)
    with pytest.raises(ValueError, match="unknown arm kind"):
        arm_line("x")


def test_the_virtual_handset_knows_this_very_script():
    """The handset recognises the loop by its sha256: a changed script must be
    mirrored in phone_agent/simulator/virtual/watcher.py."""
    assert hashlib.sha256(WATCH_SCRIPT.encode()).hexdigest() == virtual_watcher.SCRIPT_SHA256
    assert virtual_watcher.REGISTRY_PATTERN == android.REGISTRY_PATTERN
    assert virtual_watcher.TELECOM_PATTERN == android.POLL_TELECOM_PATTERN
    assert "'" not in WATCH_SCRIPT  # it travels single-quoted


# -- the script under a real sh ----------------------------------------------------------------

class Phone:
    """A directory standing in for the phone: ``dumpsys`` prints what the
    test put in ``registry`` / ``telecom``; the arm files live here too."""

    def __init__(self, root: Path):
        self.root = root
        (root / "bin").mkdir()
        stub = root / "bin" / "dumpsys"
        stub.write_text(f'#!/bin/sh\ncase $1 in telephony.registry) cat {root}/registry;; '
                        f'telecom) cat {root}/telecom;; esac\n')
        stub.chmod(0o755)
        self.arm = str(root / "mobile-ars-watch")

    def show(self, registry: str, telecom: str = "telecom_a14_galaxy_s23_busy.txt") -> None:
        for name, fixture in (("registry", registry), ("telecom", telecom)):
            tmp = self.root / f".{name}"
            tmp.write_text((FIXTURES / fixture).read_text(encoding="utf-8"))
            os.replace(tmp, self.root / name)  # atomic: a look never reads half a file

    def start(self, fast=0.05, slow=0.2, beat=1000) -> "Loop":
        command = watch_command(fast, slow, beat).replace(ARM_PATH, self.arm)
        env = dict(os.environ, PATH=f"{self.root}/bin:{os.environ['PATH']}")
        return Loop(subprocess.Popen([SH, "-c", command], stdout=subprocess.PIPE, env=env))


class Loop:
    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.parser = WatchParser()
        os.set_blocking(process.stdout.fileno(), False)

    def blocks(self, wait_s: float) -> list[WatchedState]:
        """Every block printed within ``wait_s`` seconds."""
        out, deadline = [], time.monotonic() + wait_s
        while time.monotonic() < deadline:
            data = self.process.stdout.read()
            if data:
                out += self.parser.feed(data)
            time.sleep(0.02)
        return out

    def first(self, timeout: float = 5.0) -> WatchedState:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.blocks(0.05)
            if got:
                return got[0]
        raise AssertionError("the loop printed nothing")


@pytest.fixture
def sh_phone(tmp_path):
    if SH is None:
        pytest.skip("no POSIX sh on this machine")
    phone = Phone(tmp_path)
    loops: list[Loop] = []
    original = phone.start

    def start(*args, **kwargs):
        loops.append(original(*args, **kwargs))
        return loops[-1]
    phone.start = start
    yield phone
    for loop in loops:
        if loop.process.poll() is None:
            loop.process.kill()
        loop.process.wait()
        if not loop.process.stdout.closed:
            loop.process.stdout.close()


def test_the_loop_prints_once_then_only_what_changes(sh_phone):
    sh_phone.show("registry_a10_pixel3_idle.txt")
    loop = sh_phone.start()
    first = loop.first()
    slots = d.parse_telephony_registry(first.registry)
    assert first.telecom is None and [s.call_state for s in slots] == [0]
    assert loop.blocks(0.6) == []  # nothing changed: nothing printed
    sh_phone.show("registry_a10_pixel3_alerting.txt")
    changed = loop.blocks(0.6)
    assert len(changed) == 1
    assert d.parse_telephony_registry(changed[0].registry)[0].foreground_call_state == 4


def test_the_loop_says_it_is_alive_after_beat_quiet_looks(sh_phone):
    sh_phone.show("registry_a10_pixel3_idle.txt")
    loop = sh_phone.start(fast=0.02, slow=0.05, beat=3)
    loop.first()
    again = loop.blocks(0.8)
    assert len(again) >= 2 and all(b.telecom is None for b in again)


def test_an_armed_dial_brings_telecom_until_the_registry_shows_the_call(sh_phone):
    sh_phone.show("registry_a10_pixel3_idle.txt", "telecom_a10_pixel3_dialing.txt")
    loop = sh_phone.start()
    loop.first()
    Path(sh_phone.arm + ".d").touch()  # the dial line's arm
    armed = loop.blocks(0.5)
    assert armed and armed[-1].telecom is not None
    assert [c.state for c in d.parse_telecom_calls(armed[-1].telecom) if c.live] == ["DIALING"]
    assert Path(sh_phone.arm + ".d").exists()  # no call in the registry yet: still armed
    sh_phone.show("registry_a10_pixel3_alerting.txt", "telecom_a10_pixel3_dialing.txt")
    seen = loop.blocks(0.6)
    assert not Path(sh_phone.arm + ".d").exists()  # the call shows: the loop disarmed itself
    assert seen[0].telecom is not None and seen[-1].telecom is None


def test_an_agent_arm_lasts_until_no_call_shows(sh_phone):
    sh_phone.show("registry_a14_galaxy_s23_held_agent.txt", "telecom_a14_galaxy_s23_held_agent.txt")
    loop = sh_phone.start()
    loop.first()
    Path(sh_phone.arm + ".a").touch()
    during = loop.blocks(0.5)
    assert during and during[-1].telecom is not None and Path(sh_phone.arm + ".a").exists()
    sh_phone.show("registry_a14_galaxy_s23_busy.txt", "telecom_a14_galaxy_s23_busy.txt")
    loop.blocks(0.6)
    assert not Path(sh_phone.arm + ".a").exists()


def test_the_loop_ends_when_its_reader_goes_away(sh_phone):
    sh_phone.show("registry_a10_pixel3_idle.txt")
    loop = sh_phone.start(fast=0.02, slow=0.05, beat=2)
    loop.first()
    loop.process.stdout.close()  # adb closed the stream: the next print fails
    assert loop.process.wait(timeout=5) in (0, -13, 141)  # exit 0 after a failed printf, or SIGPIPE


# -- the virtual handset prints the same bytes -----------------------------------------------

class Collect:
    def __init__(self):
        self.data = b""

    async def write(self, data: bytes) -> None:
        self.data += data


def test_the_handsets_native_loop_prints_what_sh_prints(sh_phone):
    """One look of the script under sh (its loop cut to one pass) and the
    first look of the handset's native loop print the same bytes, idle and armed."""
    async def native(armed: bool) -> tuple[bytes, str, str]:
        handset = VirtualHandset(profile="a13-pixel7")
        if armed:
            await handset.run(f"touch {ARM_PATH}.d")
        registry, _ = await handset.run("dumpsys telephony.registry")
        telecom, _ = await handset.run("dumpsys telecom")
        io = Collect()
        task = asyncio.create_task(handset.watch.command(watch_command(0.05, 0.2, 1000))(io))
        while b"__ARS_W_E__" not in io.data:
            await asyncio.sleep(0.01)
        handset.watch.kill()
        assert await task == 143 and handset.watch.running == 0
        handset.close()
        return io.data, registry, telecom

    one_pass = watch_command(0.05, 0.2, 1000).replace(ARM_PATH, sh_phone.arm).replace(
        "while :; do c=", "for once in 1; do c=")
    env = dict(os.environ, PATH=f"{sh_phone.root}/bin:{os.environ['PATH']}")
    for armed in (False, True):
        printed, registry, telecom = asyncio.run(native(armed))
        (sh_phone.root / "registry").write_text(registry)
        (sh_phone.root / "telecom").write_text(telecom)
        if armed:
            Path(sh_phone.arm + ".d").touch()
        real = subprocess.run([SH, "-c", one_pass], capture_output=True, timeout=10, env=env).stdout
        assert printed == real
        assert (WatchParser().feed(printed)[0].telecom is not None) == armed
