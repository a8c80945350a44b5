"""Termux:API on the phone itself (인터넷연결): battery and radio facts that
do not depend on adb.

In internet mode the adb backend reads battery and signal through the
phone's own adbd (Wireless debugging). When that is off — the phone left
Wi-Fi, was rebooted, the port changed — the heartbeat still carries what
Termux:API tells: ``termux-battery-status`` and
``termux-telephony-deviceinfo`` (both print JSON; the Termux:API app must be
installed from the same source as Termux, or the commands hang: hence the
timeout). The manager then sees a phone that is alive, charged and
registered on the network, but whose adb is down.

The parsers are pure; :func:`health` runs the commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil

from .telephony.dumpsys import network_kind

__all__ = ["available", "health", "parse_battery_status", "parse_device_info"]

log = logging.getLogger(__name__)

BATTERY = "termux-battery-status"
DEVICE_INFO = "termux-telephony-deviceinfo"
TIMEOUT_S = 10.0

_SIM = {"ready": "ready", "absent": "absent", "pin_required": "locked", "puk_required": "locked",
        "network_locked": "locked"}


def available() -> bool:
    """Termux:API's commands are installed (``pkg install termux-api``)."""
    return shutil.which(BATTERY) is not None


def parse_battery_status(text: str) -> dict:
    """``termux-battery-status`` JSON → protocol Health fields (battery, charging)."""
    data = _json(text, BATTERY)
    out: dict = {}
    level = data.get("percentage")
    if isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 100:
        out["battery"] = level
    status, plugged = data.get("status"), data.get("plugged")
    if isinstance(status, str) or isinstance(plugged, str):
        out["charging"] = status in ("CHARGING", "FULL") or (
            isinstance(plugged, str) and plugged.startswith("PLUGGED"))
    return out


def parse_device_info(text: str) -> dict:
    """``termux-telephony-deviceinfo`` JSON → protocol Health fields (sim, network)."""
    data = _json(text, DEVICE_INFO)
    out: dict = {}
    sim = data.get("sim_state")
    if isinstance(sim, str):
        out["sim"] = _SIM.get(sim, "unknown")
    network = data.get("network_type")
    if isinstance(network, str):
        out["network"] = network_kind("HSDPA" if network == "hdspa" else network)  # Termux spells it so
    return out


def _json(text: str, command: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f"{command} printed no JSON: {text.strip()[:80]!r}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{command} printed {type(data).__name__}, not an object")
    return data


async def health() -> dict:
    """Battery, charging, SIM and network from Termux:API; whatever could be
    read (an empty dict without Termux:API). Never raises."""
    out: dict = {}
    for command, parse in ((BATTERY, parse_battery_status), (DEVICE_INFO, parse_device_info)):
        text = await _run(command)
        if text is None:
            continue
        try:
            out.update(parse(text))
        except ValueError as exc:
            log.warning("Termux:API: %s", exc)
    return out


async def _run(command: str) -> str | None:
    path = shutil.which(command)
    if path is None:
        return None
    try:
        process = await asyncio.create_subprocess_exec(
            path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    except OSError as exc:
        log.warning("Termux:API: %s: %s", command, exc)
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT_S)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        log.warning("Termux:API: %s did not answer in %.0f s (is the Termux:API app installed "
                    "from the same source as Termux?)", command, TIMEOUT_S)
        return None
    return out.decode("utf-8", "replace")
