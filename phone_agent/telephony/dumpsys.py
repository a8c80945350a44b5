"""Parsers for what an Android phone prints from the adb shell.

Pure functions over text, no I/O: ``dumpsys telephony.registry``,
``dumpsys telecom``, ``dumpsys battery``, ``getprop`` and a few property
values. They are written against the layouts AOSP prints on Android 10–14
(``phone_agent/telephony/fixtures/README.md`` lists the samples and what each
imitates) and are deliberately tolerant: fields are found by name, not by
position, unknown lines are skipped, OEM additions are ignored, and the input
may be the full dump or only the lines a ``grep`` on the phone kept. When the
one thing a parser cannot do without is missing, it raises
:class:`DumpsysFormatError` naming what it looked for — it never returns
made-up values and never crashes on odd text.

What each dump tells (and does not)
-----------------------------------
``telephony.registry`` (TelephonyRegistry.dump) — per SIM slot (``Phone Id=N``):
``mCallState`` (0 idle, 1 ringing, 2 off-hook), the precise call states
(``mRingingCallState`` / ``mForegroundCallState`` / ``mBackgroundCallState``:
-1 not valid, 0 idle, 1 active, 2 holding, 3 dialing, 4 alerting, 5 incoming,
6 waiting, 7 disconnected, 8 disconnecting), the last disconnect cause
(``mCallDisconnectCause``: android.telephony.DisconnectCause, and
``mCallPreciseDisconnectCause``: the network's 3GPP TS 24.008 cause),
``mCallIncomingNumber`` (the caller, while ringing), ``mServiceState`` and
``mSignalStrength``. Android 10 prints the precise state and the causes
once, after the slots, not per slot; :func:`parse_telephony_registry` copies
them to the slot that has the call (``SlotState.precise_scope == "global"``).
Only the registry tells *alerting* (the far end rings) from *dialing*.

``telecom`` (TelecomServiceImpl → CallsManager.dump) — one line per call under
``mCalls:``, with its id (``TC@7``), its Telecom state by name (NEW,
CONNECTING, SELECT_PHONE_ACCOUNT, DIALING, RINGING, ACTIVE, ON_HOLD,
DISCONNECTING, DISCONNECTED, ABORTED, …), ``childs(n)`` / ``has_parent``
(conferences) and the handle. On user builds the handle is masked
(``tel:***********``, android.telecom.Log.piiHandle), so Telecom never tells
*which number* a call is; ids and order do. ``Historical Events:`` keep the
last calls with their ``SET_DISCONNECTED (DisconnectCause [ Code: (BUSY) …
Reason: (BUSY) …])``. Telecom has no "alerting": DIALING covers both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DumpsysFormatError", "SlotState", "TelecomCall", "BatteryState",
    "parse_telephony_registry", "parse_telecom_calls", "parse_battery", "parse_getprop",
    "parse_sim_states", "parse_network_types", "network_kind", "signal_level",
    "parse_service_state", "NETWORK_TYPES", "CALL_STATE_IDLE", "CALL_STATE_RINGING", "CALL_STATE_OFFHOOK",
    "PRECISE", "PRECISE_NAMES", "DISCONNECT_CAUSES", "PRECISE_DISCONNECT_CAUSES",
]


class DumpsysFormatError(ValueError):
    """The text is not in a layout the parser knows: ``what`` names the
    dump, ``missing`` the field or section that was looked for."""

    def __init__(self, what: str, missing: str, detail: str = ""):
        self.what, self.missing = what, missing
        message = f"{what}: unknown layout, no {missing} found"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


# -- constants (AOSP names) --------------------------------------------------------

CALL_STATE_IDLE, CALL_STATE_RINGING, CALL_STATE_OFFHOOK = 0, 1, 2

# android.telephony.PreciseCallState
PRECISE = {"not_valid": -1, "idle": 0, "active": 1, "holding": 2, "dialing": 3, "alerting": 4,
           "incoming": 5, "waiting": 6, "disconnected": 7, "disconnecting": 8,
           "incoming_setup": 9}
PRECISE_NAMES = {v: k for k, v in PRECISE.items()}

# android.telephony.DisconnectCause (the framework's cause), the ones we act on
DISCONNECT_CAUSES = {
    -1: "NOT_VALID", 0: "NOT_DISCONNECTED", 1: "INCOMING_MISSED", 2: "NORMAL", 3: "LOCAL",
    4: "BUSY", 5: "CONGESTION", 7: "INVALID_NUMBER", 8: "NUMBER_UNREACHABLE",
    9: "SERVER_UNREACHABLE", 13: "TIMED_OUT", 14: "LOST_SIGNAL", 15: "LIMIT_EXCEEDED",
    16: "INCOMING_REJECTED", 17: "POWER_OFF", 18: "OUT_OF_SERVICE", 19: "ICC_ERROR",
    20: "CALL_BARRED", 21: "FDN_BLOCKED", 25: "UNOBTAINABLE_NUMBER", 36: "ERROR_UNSPECIFIED",
    43: "OUTGOING_FAILURE", 44: "OUTGOING_CANCELED", 45: "IMS_MERGED_SUCCESSFULLY",
}
# android.telephony.PreciseDisconnectCause (3GPP TS 24.008 Annex H causes)
PRECISE_DISCONNECT_CAUSES = {
    -1: "NOT_VALID", 0: "NO_DISCONNECT_CAUSE_AVAILABLE", 1: "UNOBTAINABLE_NUMBER",
    16: "NORMAL", 17: "BUSY", 18: "NO_USER_RESPONDING", 19: "USER_ALERTING_NO_ANSWER",
    21: "CALL_REJECTED", 22: "NUMBER_CHANGED", 28: "INVALID_NUMBER_FORMAT",
    31: "NORMAL_UNSPECIFIED", 34: "NO_CIRCUIT_AVAIL", 38: "NETWORK_OUT_OF_ORDER",
    41: "TEMPORARY_FAILURE", 42: "SWITCHING_CONGESTION",
}


# -- telephony.registry ------------------------------------------------------------

@dataclass(frozen=True)
class SlotState:
    """One SIM slot (``Phone Id``) as ``dumpsys telephony.registry`` printed it.
    ``None`` means "not printed" (older release, or filtered out)."""

    slot: int
    call_state: int  # CALL_STATE_*
    incoming_number: str = ""
    ringing_call_state: int | None = None  # PRECISE values
    foreground_call_state: int | None = None
    background_call_state: int | None = None
    disconnect_cause: int | None = None  # DISCONNECT_CAUSES
    precise_disconnect_cause: int | None = None  # PRECISE_DISCONNECT_CAUSES
    precise_scope: str = "slot"  # "slot" (Android 11+) or "global" (Android 10)
    voice_reg_state: int | None = None  # ServiceState: 0 in service, 1 out, 2 emergency only, 3 off
    data_reg_state: int | None = None
    network: str | None = None  # radio technology name: LTE, NR_SA, NR_NSA, UMTS, IWLAN, …
    operator: str | None = None
    signal_level: int | None = None  # 0..4

    @property
    def in_call(self) -> bool:
        return self.call_state != CALL_STATE_IDLE

    @property
    def foreground(self) -> str | None:
        """The precise foreground state by name (``"alerting"``), if printed."""
        fg = self.foreground_call_state
        return None if fg is None else PRECISE_NAMES.get(fg, f"unknown({fg})")


_KV = re.compile(r"^\s*(m[A-Za-z]+)=\s?(.*?)\s*$")
_PHONE_ID = re.compile(r"^\s*Phone Id=(\d+)\s*$")
_PRECISE_STR = {
    "ringing_call_state": re.compile(r"Ringing call state:\s*(-?\d+)"),
    "foreground_call_state": re.compile(r"Foreground call state:\s*(-?\d+)"),
    "background_call_state": re.compile(r"Background call state:\s*(-?\d+)"),
    "disconnect_cause": re.compile(r"(?<!Precise )Disconnect cause:\s*(-?\d+)"),
    "precise_disconnect_cause": re.compile(r"Precise disconnect cause:\s*(-?\d+)"),
}
_INT_FIELDS = {
    "mCallState": "call_state",
    "mRingingCallState": "ringing_call_state",
    "mForegroundCallState": "foreground_call_state",
    "mBackgroundCallState": "background_call_state",
    "mCallDisconnectCause": "disconnect_cause",
    "mCallPreciseDisconnectCause": "precise_disconnect_cause",
}
_END_OF_STATE = ("local logs:", "listen logs:", "registrations:")


def _int(value: str) -> int | None:
    m = re.match(r"\s*(-?\d+)", value)
    return int(m.group(1)) if m else None


def _precise_from_string(text: str) -> dict:
    out = {}
    for key, rx in _PRECISE_STR.items():
        m = rx.search(text)
        if m:
            out[key] = int(m.group(1))
    return out


def parse_telephony_registry(text: str) -> list[SlotState]:
    """Every SIM slot of ``dumpsys telephony.registry`` (whole, or grepped
    down to the ``Phone Id=`` / ``m…=`` lines), in slot order."""
    what = "dumpsys telephony.registry"
    _check_service_text(text, what, "'Phone Id=' block or 'mCallState=' field")
    slots: list[dict] = []
    global_fields: dict = {}
    current: dict | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        stripped = line.strip()
        if stripped.startswith(_END_OF_STATE):
            break
        m = _PHONE_ID.match(line)
        if m:
            current = {"slot": int(m.group(1))}
            slots.append(current)
            continue
        kv = _KV.match(line)
        if not kv:
            continue
        key, value = kv.groups()
        # Per-slot lines are indented under "Phone Id=" (4 spaces in a full
        # dump); Android 10 prints the precise state once at 2 spaces. A
        # grepped dump keeps the indentation, so use it; without indentation
        # at all, assume per-slot.
        indent = len(line) - len(line.lstrip(" "))
        target = current
        if current is not None and "_indent" in current and indent < current["_indent"]:
            target = global_fields
        if current is None:
            target = global_fields
        if target is current and current is not None and "_indent" not in current:
            current["_indent"] = indent
        _absorb(target, key, value)
    if not slots:
        if "call_state" in global_fields:  # a single-slot layout without "Phone Id="
            slots = [dict(global_fields, slot=0)]
            global_fields = {}
        else:
            raise DumpsysFormatError(what, "'Phone Id=' block or 'mCallState=' field")
    # Android 10: precise state and causes are global. Give them to the slot
    # with the call (else slot 0), marked as such.
    precise_keys = ("ringing_call_state", "foreground_call_state", "background_call_state",
                    "disconnect_cause", "precise_disconnect_cause")
    shared = {k: global_fields[k] for k in precise_keys if k in global_fields}
    if shared:
        owner = next((s for s in slots if s.get("call_state")), slots[0])
        for k, v in shared.items():
            if k not in owner:
                owner[k] = v
                owner["precise_scope"] = "global"
    out = []
    for s in slots:
        if "call_state" not in s:
            raise DumpsysFormatError(what, f"'mCallState=' for Phone Id={s['slot']}")
        s.pop("_indent", None)
        out.append(SlotState(**s))
    return sorted(out, key=lambda s: s.slot)


def _absorb(target: dict, key: str, value: str) -> None:
    if key in _INT_FIELDS:
        v = _int(value)
        if v is not None:
            target[_INT_FIELDS[key]] = v
    elif key == "mPreciseCallState":
        for k, v in _precise_from_string(value).items():
            target.setdefault(k, v)
    elif key == "mCallIncomingNumber":
        target["incoming_number"] = value.strip()
    elif key == "mServiceState":
        ss = parse_service_state(value)
        for k in ("voice_reg_state", "data_reg_state", "network", "operator"):
            if ss.get(k) is not None:
                target[k] = ss[k]
    elif key == "mNetworkType":
        v = _int(value)
        if v in NETWORK_TYPES:
            target.setdefault("network", NETWORK_TYPES[v])
    elif key == "mSignalStrength":
        level = signal_level(value)
        if level is not None:
            target["signal_level"] = level


_REG_STATE = re.compile(r"mVoiceRegState=(\d+)")
_DATA_REG = re.compile(r"mDataRegState=(\d+)")
# Android 11+: getRilDataRadioTechnology=14(LTE); Android 10: mRilDataRadioTechnology=14(LTE)
_RIL_DATA_RAT = re.compile(r"(?:getRil|mRil)DataRadioTechnology=\d+\(([^)]*)\)")
_RIL_VOICE_RAT = re.compile(r"(?:getRil|mRil)VoiceRadioTechnology=\d+\(([^)]*)\)")
_NRI_FIELDS = re.compile(r"\b(domain|transportType|accessNetworkTechnology|nrState)=(\w+)")
_OPERATOR = re.compile(r"m(?:Voice)?OperatorAlphaLong=([^,}]*)")
# TelephonyManager.NETWORK_TYPE_* (Android 10 prints mNetworkType=13 per slot)
NETWORK_TYPES = {1: "GPRS", 2: "EDGE", 3: "UMTS", 4: "CDMA", 5: "EVDO_0", 6: "EVDO_A", 7: "1xRTT",
                 8: "HSDPA", 9: "HSUPA", 10: "HSPA", 12: "EVDO_B", 13: "LTE", 14: "EHRPD",
                 15: "HSPAP", 16: "GSM", 17: "TD_SCDMA", 18: "IWLAN", 19: "LTE_CA", 20: "NR_SA"}


def parse_service_state(text: str) -> dict:
    """The bits of a ServiceState.toString() we use: voice/data registration
    state, the data radio technology (``LTE``, ``NR_NSA`` when an LTE cell
    has a 5G NR leg connected, ``NR_SA``, ``IWLAN``, …) and the operator."""
    out: dict = {"voice_reg_state": None, "data_reg_state": None, "network": None,
                 "operator": None}
    m = _REG_STATE.search(text)
    if m:
        out["voice_reg_state"] = int(m.group(1))
    m = _DATA_REG.search(text)
    if m:
        out["data_reg_state"] = int(m.group(1))
    rat = None
    for rx in (_RIL_DATA_RAT, _RIL_VOICE_RAT):
        m = rx.search(text)
        if m and m.group(1) not in ("Unknown", ""):
            rat = m.group(1)
            break
    # Prefer the WWAN packet-switched registration: it tells LTE from NR, and
    # an LTE cell with its 5G NR leg up (NSA) by nrState=CONNECTED.
    for chunk in text.split("NetworkRegistrationInfo{")[1:]:
        f: dict[str, str] = {}
        for key, value in _NRI_FIELDS.findall(chunk):
            f.setdefault(key, value)
        if f.get("domain") != "PS" or f.get("transportType") != "WWAN":
            continue
        tech = f.get("accessNetworkTechnology", "UNKNOWN")
        if tech.upper() != "UNKNOWN":
            rat = "NR_NSA" if tech in ("LTE", "LTE_CA") and f.get("nrState") == "CONNECTED" else tech
        break
    out["network"] = rat
    m = _OPERATOR.search(text)
    if m and m.group(1).strip() not in ("null", ""):
        out["operator"] = m.group(1).strip()
    return out


_LEVELS = re.compile(r"\b(?:mLevel|level)\s*=\s*(\d)\b")
_PRIMARY = re.compile(r"primary=CellSignalStrength(\w+)")


def signal_level(text: str) -> int | None:
    """Bars (0..4) from a SignalStrength.toString(): the level of the
    ``primary`` technology when printed, else the best level printed."""
    m = _PRIMARY.search(text)
    if m:
        tech = m.group(1)
        sec = re.search(r"m" + tech + r"=CellSignalStrength" + tech + r"[:{]?(.*?)(?:,m[A-Z][a-z]+=|,primary=|$)",
                        text)
        if sec:
            levels = [int(x) for x in _LEVELS.findall(sec.group(1))]
            if levels:
                return min(4, levels[-1])
    levels = [int(x) for x in _LEVELS.findall(text)]
    return min(4, max(levels)) if levels else None


def _check_service_text(text: str, what: str, wanted: str) -> None:
    head = text.lstrip()[:200]
    if head.startswith("Can't find service") or head.startswith("Permission Denial"):
        raise DumpsysFormatError(what, "service state", head.splitlines()[0])
    if not head:
        raise DumpsysFormatError(what, wanted, "no output (or a grep kept nothing)")


# -- telecom ---------------------------------------------------------------------

@dataclass(frozen=True)
class TelecomCall:
    """One call as ``dumpsys telecom`` printed it."""

    call_id: str  # "TC@7" (Telecom's id; conferences too)
    state: str  # Telecom CallState name: DIALING, ACTIVE, ON_HOLD, …
    handle: str = ""  # as printed, usually masked: "tel:***********"
    number: str | None = None  # digits, only when the handle was not masked
    children: int = 0
    has_parent: bool = False
    live: bool = True  # listed under mCalls (False: only in the historical events)
    incoming: bool | None = None  # from the historical events: MT / MO
    disconnect_code: str | None = None  # telecom DisconnectCause code: BUSY, REMOTE, LOCAL, ERROR…
    disconnect_reason: str | None = None  # the telephony cause name: BUSY, NORMAL, …

    @property
    def conference(self) -> bool:
        return self.children > 0

    @property
    def seq(self) -> int:
        """The number in ``TC@n`` (calls are numbered in creation order)."""
        m = re.search(r"@(\d+)", self.call_id)
        return int(m.group(1)) if m else -1


# Android 11+: [Call id=TC@3, state=ACTIVE, tpac=…, cmgr=…, handle=tel:…, vidst=A, childs(0), has_parent(false), cap=[…], prop=[…]], voip=false
_CALL_NEW = re.compile(
    r"\[Call id=(?P<id>[^,\]\s]+), state=(?P<state>[A-Z_]+),.*?handle=(?P<handle>[^,]*),"
    r".*?childs\((?P<childs>\d+)\), has_parent\((?P<parent>true|false)\)")
# Android 10 and older: [TC@3, ACTIVE, com.android.phone/…Service, tel:…, A, childs(0), has_parent(false), [Capabilities: …], [Properties: …]]
_CALL_OLD = re.compile(
    r"\[(?P<id>TC@[^,\s]+), (?P<state>[A-Z_]+), (?P<comp>[^,]*), (?P<handle>[^,]*), [^,]*,"
    r" childs\((?P<childs>\d+)\), has_parent\((?P<parent>true|false)\)")
_HISTORY_CALL = re.compile(r"^\s*Call (TC@\d+)\b.*?\((MO|MT) - (?:outgoing|incoming)\)")
_SET_DISCONNECTED = re.compile(
    r"SET_DISCONNECTED \(DisconnectCause \[ Code: \((\w+)\)(?:.*?Reason: \(([^)]*)\))?")


def _number_from_handle(handle: str) -> str | None:
    h = handle.strip()
    if h.startswith("tel:"):
        h = h[4:]
    if not h or "*" in h or h in ("null", "xxx"):
        return None
    digits = re.sub(r"[^0-9+#*]", "", h)
    return digits or None


def parse_telecom_calls(text: str) -> list[TelecomCall]:
    """The calls Telecom holds (``mCalls:``), in id order, followed by calls
    seen only in ``Historical Events:`` (``live=False``) with their disconnect
    cause. Accepts the whole dump or a grep of it (call lines and
    ``SET_DISCONNECTED`` lines); a dump with neither a ``CallsManager`` /
    ``mCalls`` section nor any call line raises :class:`DumpsysFormatError`."""
    what = "dumpsys telecom"
    _check_service_text(text, what, "'CallsManager:' / 'mCalls:' section or call line")
    live: dict[str, dict] = {}
    history: dict[str, dict] = {}
    lines = [raw.rstrip("\r") for raw in text.splitlines()]
    # A full dump repeats calls elsewhere (mForegroundCall, the audio
    # manager): take the lines under "mCalls:". A grepped dump may have no
    # header; then every call line counts.
    has_header = any(line.strip().startswith("mCalls:") for line in lines)
    saw_manager = has_header or any(line.strip().startswith("CallsManager:") for line in lines)
    section = None if has_header else "calls"
    calls_indent = -1
    current_hist: str | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("mCalls:"):
            section, calls_indent = "calls", indent
            continue
        if stripped.startswith("Historical Events"):
            section, current_hist = "history", None
            continue
        m = _HISTORY_CALL.match(line)
        if m:
            section = "history"
            current_hist = m.group(1)
            history.setdefault(current_hist, {"call_id": current_hist})["incoming"] = m.group(2) == "MT"
            continue
        if section == "history":
            m = _SET_DISCONNECTED.search(line)
            if m and current_hist:
                h = history.setdefault(current_hist, {"call_id": current_hist})
                h["disconnect_code"] = m.group(1)
                h["disconnect_reason"] = m.group(2) or None
            continue
        if section == "calls" and has_header and stripped and indent <= calls_indent:
            section = "other"
        if section != "calls":
            continue
        call = _parse_call_line(line)
        if call is not None:
            live.setdefault(call["call_id"], call)
    if not saw_manager and not live and not history:
        raise DumpsysFormatError(what, "'CallsManager:' / 'mCalls:' section or call line")
    out: list[TelecomCall] = []
    for cid, fields in live.items():
        fields.update({k: v for k, v in history.get(cid, {}).items() if k != "call_id"})
        out.append(TelecomCall(**fields))
    for cid, fields in history.items():
        if cid not in live and "disconnect_code" in fields:
            out.append(TelecomCall(call_id=cid, state="DISCONNECTED", live=False, **{
                k: v for k, v in fields.items() if k != "call_id"}))
    return sorted(out, key=lambda c: (not c.live, c.seq))


def _parse_call_line(line: str) -> dict | None:
    m = _CALL_NEW.search(line) or _CALL_OLD.search(line)
    if not m:
        return None
    handle = m.group("handle").strip()
    return {"call_id": m.group("id"), "state": m.group("state"), "handle": handle,
            "number": _number_from_handle(handle), "children": int(m.group("childs")),
            "has_parent": m.group("parent") == "true"}


# -- battery ---------------------------------------------------------------------

@dataclass(frozen=True)
class BatteryState:
    level: int  # percent 0..100
    charging: bool  # on any power source (AC, USB, wireless, dock)
    powered_by: tuple[str, ...] = ()  # ("AC", "USB", …)
    status: int | None = None  # BatteryManager.BATTERY_STATUS_*: 2 charging, 3 discharging, 5 full
    present: bool | None = None
    temperature_c: float | None = None


_BATTERY_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?):\s*(.*?)\s*$")


def parse_battery(text: str) -> BatteryState:
    """``dumpsys battery``: level (scaled to percent), whether any power
    source is connected, status."""
    what = "dumpsys battery"
    _check_service_text(text, what, "'level:' line")
    values: dict[str, str] = {}
    for raw in text.splitlines():
        m = _BATTERY_LINE.match(raw)
        if m and m.group(1) not in values:
            values[m.group(1)] = m.group(2)
    if "level" not in values:
        raise DumpsysFormatError(what, "'level:' line")
    level = _int(values["level"])
    if level is None:
        raise DumpsysFormatError(what, "number in 'level:'", values["level"])
    scale = _int(values.get("scale", "100")) or 100
    powered = tuple(src for src in ("AC", "USB", "Wireless", "Dock")
                    if values.get(f"{src} powered", "").lower() == "true")
    status = _int(values.get("status", ""))
    temp = _int(values.get("temperature", ""))
    present = values.get("present")
    return BatteryState(level=max(0, min(100, round(level * 100 / scale))), charging=bool(powered),
                        powered_by=powered, status=status,
                        present=None if present is None else present.lower() == "true",
                        temperature_c=None if temp is None else temp / 10.0)


# -- getprop and property values ---------------------------------------------------

_PROP = re.compile(r"^\[([^\]]+)\]:\s*\[(.*)\]\s*$")


def parse_getprop(text: str) -> dict[str, str]:
    """``getprop`` (all properties): ``[key]: [value]`` lines. A value that
    runs over several lines is joined with newlines."""
    props: dict[str, str] = {}
    pending: tuple[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if pending is not None:
            key, parts = pending
            if line.endswith("]"):
                parts.append(line[:-1])
                props[key] = "\n".join(parts)
                pending = None
            else:
                parts.append(line)
            continue
        m = _PROP.match(line)
        if m:
            props[m.group(1)] = m.group(2)
            continue
        m = re.match(r"^\[([^\]]+)\]:\s*\[(.*)$", line)
        if m:
            pending = (m.group(1), [m.group(2)])
    if not props and text.strip():
        raise DumpsysFormatError("getprop", "'[key]: [value]' line")
    return props


_SIM_STATES = {"READY": "ready", "LOADED": "ready", "ABSENT": "absent", "PIN_REQUIRED": "locked",
               "PUK_REQUIRED": "locked", "NETWORK_LOCKED": "locked", "PERM_DISABLED": "locked",
               "CARD_RESTRICTED": "locked"}


def parse_sim_states(value: str) -> list[str]:
    """``gsm.sim.state`` (one entry per slot, comma-separated: ``READY,ABSENT``)
    → protocol values ``ready`` / ``absent`` / ``locked`` / ``unknown``."""
    return [_SIM_STATES.get(v.strip().upper(), "unknown") for v in value.split(",")] if value.strip() else []


def parse_network_types(value: str) -> list[str]:
    """``gsm.network.type`` (per slot: ``LTE,Unknown``) → radio technology names."""
    return [v.strip() for v in value.split(",")] if value.strip() else []


_KINDS = {
    "NR_SA": "5g", "NR": "5g", "NR_NSA": "5g",
    "LTE": "lte", "LTE_CA": "lte",
    "UMTS": "3g", "HSDPA": "3g", "HSUPA": "3g", "HSPA": "3g", "HSPAP": "3g", "HSPA+": "3g",
    "TD_SCDMA": "3g", "TD-SCDMA": "3g", "EvDo-rev.0": "3g", "EvDo-rev.A": "3g",
    "EvDo-rev.B": "3g", "EVDO_0": "3g", "EVDO_A": "3g", "EVDO_B": "3g", "eHRPD": "3g",
    "EHRPD": "3g", "WCDMA": "3g", "IWLAN": "wifi",
}


def network_kind(rat: str | None, voice_reg_state: int | None = None) -> str:
    """A protocol ``network`` value from a radio technology name. 2G
    technologies (GSM, GPRS, EDGE, 1xRTT) have no protocol value: ``unknown``."""
    if voice_reg_state is not None and voice_reg_state in (1, 3):
        return "none"
    if not rat:
        return "unknown"
    return _KINDS.get(rat, _KINDS.get(rat.upper(), "unknown"))
