"""A rack of virtual handsets: N :class:`VirtualHandset` phones behind
virtual adbds, sharing one voter population and one agent desk, as a real
rack shares the voters' numbers and agent handsets 1001/1002.

Used by ``ars virtual-phones``, by ``python -m phone_agent fleet --backend
adb`` and the fleet benchmark, and by the tests::

    rack = VirtualRack(10, seed=3, speed=40)
    await rack.start()                          # listening on loopback
    await asyncio.to_thread(rack.connect, client)   # adb connect each one
    ...
    await rack.stop()

Profiles rotate through the handsets that can hear a call (``profiles``,
default :data:`CALLING_PROFILES`: Android 11–14, every capture path the
backend knows); the Android 10 profile, which the backend keeps from calls
(no audio capture from the shell), is there for who asks for it. Phone *i* has handset seed
``seed * 100_003 + i`` (its own number, battery, signal) and every phone
answers a number the same way (``voter_seed = seed``), like the sim fleet.
"""

from __future__ import annotations

import time
from typing import Iterable

import adbutils

from ..sim import SimAgentDesk
from ..voter import AgentModel, VoterModel
from .adbd import VirtualPhoneSet
from .handset import PROFILES, VirtualHandset

__all__ = ["VirtualRack", "ALL_PROFILES", "CALLING_PROFILES"]

ALL_PROFILES = tuple(PROFILES)
CALLING_PROFILES = tuple(key for key, p in PROFILES.items() if p.sdk >= 30)


class VirtualRack(VirtualPhoneSet):
    """``count`` virtual handsets on ``host``:``base_port``+i (``base_port=0``:
    free ports). Extra keyword arguments go to every :class:`VirtualHandset`."""

    def __init__(self, count: int, *, seed: int = 0, speed: float = 1.0,
                 voters: VoterModel | None = None, agents: dict[str, AgentModel] | None = None,
                 profiles: Iterable[str] = CALLING_PROFILES, host: str = "127.0.0.1",
                 base_port: int = 0, vary: str = "port", **handset_options):
        self.seed = seed
        self.desk = SimAgentDesk(seed, agents=agents or {})
        self.profiles = tuple(profiles) or CALLING_PROFILES
        for key in self.profiles:
            if key not in PROFILES:
                raise ValueError(f"unknown handset profile {key!r} (known: {', '.join(PROFILES)})")
        self.handsets: list[VirtualHandset] = []

        def make(serial: str) -> VirtualHandset:
            index = len(self.handsets)
            handset = VirtualHandset(serial, profile=self.profiles[index % len(self.profiles)],
                                     seed=seed * 100_003 + index, voters=voters, voter_seed=seed,
                                     desk=self.desk, speed=speed, **handset_options)
            self.handsets.append(handset)
            return handset

        super().__init__(count, make, host=host, base_port=base_port, vary=vary)

    def connect(self, client: adbutils.AdbClient, timeout: float = 15.0) -> None:
        """``adb connect`` every phone and wait until the adb server lists
        each one as ``device`` (blocking: call it from a thread)."""
        for serial in self.serials:
            answer = client.connect(serial, timeout=10)
            if not answer.startswith(("connected to", "already connected")):
                raise ConnectionError(f"adb connect {serial}: {answer.strip()}")
        deadline = time.monotonic() + timeout
        waiting = set(self.serials)
        while waiting:
            states = {d.serial: d.state for d in client.list()}
            waiting = {s for s in waiting if states.get(s) != "device"}
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise ConnectionError(f"not ready after {timeout} s: "
                                      + ", ".join(f"{s} ({states.get(s)})" for s in sorted(waiting)))
            time.sleep(0.05)

    def disconnect(self, client: adbutils.AdbClient) -> None:
        for serial in self.serials:
            try:
                client.disconnect(serial)
            except adbutils.AdbError:
                pass

    def commands(self) -> int:
        """Shell command lines the phones have run so far (all of them)."""
        return sum(h.command_count for h in self.handsets)
