"""What the adb backend says to Android's shell and reads back from it, as
pure functions and constants: where assets go, the dump commands it polls,
the ``tel:`` URI it dials, the in-call screen's buttons (``uiautomator``
dumps), the phone's own number (``content query``)."""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from typing import Iterable

from ..dumpsys import (DumpsysFormatError, SlotState, network_kind, parse_battery, parse_network_types,
                       parse_sim_states, parse_telephony_registry)

__all__ = ["ASSET_DIR", "DIALLABLE", "END_CALL_LINE", "HEALTH_COMMAND", "IN_CALL", "MERGE_LABELS",
           "POLL_REGISTRY", "POLL_TELECOM", "POLL_TELECOM_PATTERN", "REGISTRY_PATTERN", "RESUME_LABELS", "SEP",
           "dial_uri", "find_button", "first_error", "own_number", "parse_health", "place_call_line"]

ASSET_DIR = "/sdcard/MobileARS"  # announcements and images, named <sha256>.<ext>
MERGE_LABELS = ("Merge", "Merge calls", "병합", "통화 병합", "통화 합치기")
RESUME_LABELS = ("Resume", "Resume call", "Unhold", "통화 재개", "대기 해제", "보류 해제")

REGISTRY_PATTERN = ("Phone Id=|mCallState=|mRingingCallState=|mForegroundCallState=|"
                    "mBackgroundCallState=|mPreciseCallState=|mCallDisconnectCause=|"
                    "mCallPreciseDisconnectCause=|mCallIncomingNumber=")
POLL_REGISTRY = f"dumpsys telephony.registry | grep -E '{REGISTRY_PATTERN}'"
POLL_TELECOM_PATTERN = "\\[Call id=|\\[TC@|mCalls:|Historical Events|Call TC@|SET_DISCONNECTED"
POLL_TELECOM = f"dumpsys telecom | grep -E '{POLL_TELECOM_PATTERN}'"
SEP = "__MOBILE_ARS_SEP__"  # between the outputs of commands sent as one
IN_CALL = "__MOBILE_ARS_IN_CALL__"  # printed instead of dialling when the phone is in a call
# The registry shows a call (ringing or off-hook, or a held one) on any SIM.
_SHOWS_CALL = "dumpsys telephony.registry | grep -qE 'mCallState=[12]|mBackgroundCallState=2'"
DIALLABLE = re.compile(r"\+?[0-9*#]{3,20}")
HEALTH_COMMAND = (f"dumpsys battery; echo {SEP}; dumpsys telephony.registry | grep -E "
                  f"'Phone Id=|mCallState=|mServiceState=|mSignalStrength=|mNetworkType='; echo {SEP}; "
                  "getprop gsm.sim.state; getprop gsm.network.type")


def place_call_line(target: str, arm: str, idle_only: bool = True) -> str:
    """One command line that reads Telecom's calls (so the new one is told
    from them), runs ``arm`` (the watch loop's arm file) and dials;
    ``idle_only``: unless the registry shows a call, when it prints
    :data:`IN_CALL` instead (checked on the phone, at the moment of dialling)."""
    start = f"am start -a android.intent.action.CALL -d {dial_uri(target)}"
    guard = f"{_SHOWS_CALL} && echo {IN_CALL} || " if idle_only else ""
    return f"{POLL_TELECOM}; echo {SEP}; {arm}; {guard}{start}"


# ENDCALL only while the phone shows a call: on an idle phone it turns the screen off.
END_CALL_LINE = f"{_SHOWS_CALL} && input keyevent KEYCODE_ENDCALL"


def dial_uri(number: str) -> str:
    """``tel:`` URI for ``am start``: ``#`` must travel as ``%23`` (else it
    starts the URI fragment and is lost), ``*`` and ``+`` are safe."""
    return "tel:" + number.replace("#", "%23")


def find_button(xml_text: str, labels: Iterable[str]) -> tuple[int, int] | None:
    """Centre of the first clickable node whose text or content-desc is one
    of ``labels`` (case-insensitive) in a ``uiautomator dump``."""
    start = xml_text.find("<?xml")
    if start < 0:
        start = xml_text.find("<hierarchy")
    if start < 0:
        return None
    end = xml_text.rfind("</hierarchy>")
    try:
        root = ET.fromstring(xml_text[start:end + len("</hierarchy>")] if end >= 0 else xml_text[start:])
    except ET.ParseError:
        return None
    wanted = {label.casefold() for label in labels}
    parents = {child: parent for parent in root.iter() for child in parent}
    for node in root.iter("node"):
        names = {(node.get("text") or "").strip().casefold(),
                 (node.get("content-desc") or "").strip().casefold()}
        if not names & wanted:
            continue
        target = node
        while target is not None and target.get("clickable") != "true":
            target = parents.get(target)
        m = re.match(r"\[(\d+),(\d+)\]\[(\d+),(\d+)\]", (target if target is not None else node).get("bounds", ""))
        if m:
            x1, y1, x2, y2 = map(int, m.groups())
            return (x1 + x2) // 2, (y1 + y2) // 2
    return None


def own_number(text: str, slot: int | None = None) -> str:
    """The phone's own number from ``content query … siminfo`` rows (the
    given SIM slot's, else the first with a number); '' when unreadable."""
    best = ""
    for line in text.splitlines():
        if not line.startswith("Row:"):
            continue
        fields = dict(re.findall(r"(\w+)=([^,]*)", line))
        number = fields.get("number", "").strip()
        if not number or number.upper() == "NULL":
            continue
        if slot is not None and fields.get("sim_id") == str(slot):
            return number
        best = best or number
    return best


def first_error(text: str) -> str:
    """The line of a shell command's output that says what went wrong."""
    for line in text.splitlines():
        if "Error" in line or "Exception" in line:
            return line.strip()
    return text.strip()[:200]


def parse_health(text: str, voice_slot: int | None = None) -> dict:
    """Health fields (battery, charging, sim, signal, network) from what
    :data:`HEALTH_COMMAND` printed: the followed SIM slot's (``voice_slot``,
    else the first in service); what cannot be read is left out."""
    parts = text.split(SEP + "\n")
    health: dict = {}
    with contextlib.suppress(DumpsysFormatError, IndexError):
        battery = parse_battery(parts[0])
        health["battery"], health["charging"] = battery.level, battery.charging
    slot: SlotState | None = None
    with contextlib.suppress(DumpsysFormatError, IndexError):
        slots = parse_telephony_registry(parts[1])
        in_service = [s for s in slots if s.voice_reg_state == 0]
        slot = next((s for s in slots if s.slot == voice_slot), None) if voice_slot is not None else \
            (in_service[0] if in_service else slots[0])
    props = parts[2].splitlines() if len(parts) > 2 else []
    sims = parse_sim_states(props[0]) if props else []
    nets = parse_network_types(props[1]) if len(props) > 1 else []
    index = slot.slot if slot is not None else 0
    if sims:
        health["sim"] = sims[index] if index < len(sims) else sims[0]
    if slot is not None:
        if slot.signal_level is not None:
            health["signal"] = slot.signal_level
        rat = slot.network or (nets[index] if index < len(nets) else None)
        health["network"] = network_kind(rat, slot.voice_reg_state)
    elif nets:
        health["network"] = network_kind(nets[0])
    return health
