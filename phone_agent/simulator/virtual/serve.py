"""``ars virtual-phones``: a rack of virtual handsets to try router mode
(공유기접속) without phones.

:func:`run_virtual_phones` starts a :class:`~phone_agent.simulator.virtual.rack.VirtualRack`
on loopback addresses, prints each phone (serial, model, Android version)
and how to reach it (``adb connect <serial>``, or the scan range for
``ars phones adb --scan``), and serves until cancelled. Virtual phones stay
on loopback (127.0.0.0/8): they stand in for handsets in demos and tests and
never appear on the office LAN.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Callable

from .adbd import DEFAULT_BASE_PORT, EMULATOR_PORTS, _is_scanned_loopback
from .rack import VirtualRack

__all__ = ["run_virtual_phones", "virtual_addresses", "scan_hint", "DEFAULT_BASE_PORT"]


def virtual_addresses(count: int, host: str = "127.0.0.1", base_port: int = DEFAULT_BASE_PORT,
                      vary: str = "port") -> list[tuple[str, int]]:
    """Where ``count`` virtual phones would listen (port 0: any free port);
    ValueError with the reason for a rack that must not start: a host off
    loopback, ports out of range or in the adb server's emulator scan."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if vary not in ("port", "host"):
        raise ValueError("vary must be 'port' or 'host'")
    try:
        first = ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"host {host!r} is not an IPv4 address: give a loopback address "
                         "such as 127.0.0.1 or 127.0.0.2") from None
    if not first.is_loopback:
        raise ValueError(f"virtual phones listen on loopback only (127.0.0.0/8), not on {host}: "
                         "they must never appear on the office network")
    if vary == "host":
        if not base_port:
            raise ValueError("one port for every address (vary='host') needs a base port other than 0")
        if not (first + (count - 1)).is_loopback:
            raise ValueError(f"{count} addresses from {host} run past 127.255.255.255")
        addresses = [(str(first + i), base_port) for i in range(count)]
    else:
        addresses = [(host, base_port + i if base_port else 0) for i in range(count)]
    for h, port in addresses:
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is not a TCP port (the last phone needs "
                             f"{base_port} + {count - 1})")
        if port in EMULATOR_PORTS and _is_scanned_loopback(h):
            raise ValueError(f"{h}:{port} is in the adb server's emulator scan range "
                             f"{EMULATOR_PORTS.start}-{EMULATOR_PORTS.stop - 1} (it would adopt the "
                             "phone as an emulator): choose another base port, or another loopback "
                             "address such as 127.0.0.2")
    return addresses


def scan_hint(serials: list[str]) -> str:
    """A ``--scan`` spec covering ``serials``: ``127.0.0.2-4:15555`` when they
    share a port on consecutive addresses, else the serials comma-separated."""
    hosts = [s.rpartition(":")[0] for s in serials]
    ports = {s.rpartition(":")[2] for s in serials}
    numbers = [int(ipaddress.IPv4Address(h)) for h in hosts]
    if len(serials) > 1 and len(ports) == 1 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"{hosts[0]}-{hosts[-1]}:{ports.pop()}"
    return ",".join(serials)


async def run_virtual_phones(count: int, host: str = "127.0.0.1", base_port: int = DEFAULT_BASE_PORT,
                             seed: int = 0, speed: float = 1.0, vary: str = "port",
                             echo: Callable[[str], None] = print) -> None:
    """Serve ``count`` virtual handsets until cancelled, then stop them.

    Phone *i* listens on ``host``:``base_port + i`` (``vary="port"``) or on
    the address ``host + i`` at ``base_port`` (``vary="host"``: handset-like
    serials 127.0.0.2:5555, 127.0.0.3:5555 …). ``seed`` and ``speed`` are
    the rack's (voters, numbers; simulated time ``speed`` times the clock).
    ``echo`` prints the lines for the operator."""
    virtual_addresses(count, host, base_port, vary)
    if speed <= 0:
        raise ValueError("speed must be positive")
    rack = VirtualRack(count, seed=seed, speed=speed, host=host, base_port=base_port, vary=vary)
    await rack.start()
    try:
        for serial, handset in zip(rack.serials, rack.handsets):
            profile = handset.profile
            echo(f"{serial}  {profile.manufacturer} {profile.model}  Android {profile.release}")
        echo(f"{count} virtual phone(s) (seed {seed}, speed {speed}); connect one with "
             f"`adb connect {rack.serials[0]}`, or all with "
             f"`ars phones adb --scan {scan_hint(rack.serials)}`. Ctrl+C stops them.")
        await asyncio.Event().wait()
    finally:
        await rack.stop()
