"""The phone protocol: names, shapes and checks shared by server and phone.

``docs/protocol.md`` is the prose; this module is the contract in code, in
both directions. The server runs :func:`validate` on every payload a phone
sends and refuses what does not match; the phone runs
:func:`validate_from_server` on every ``campaign`` and ``command`` and
:func:`check_ack` on every acknowledgement it receives. A test holds the
document and this module to the same names, codes and limits.

Phone → server objects are strict (an unknown field is refused: the server
is updated first, so it always knows what phones send). Server → phone
objects are lenient (unknown fields are dropped), so a newer server can add
a field without breaking phones already in the rack.

The checker is a few dozen lines rather than a schema library on purpose:
``phone_agent`` also runs on the phone (Python on Termux), where every
compiled dependency is a build on the phone.

The call state machine both sides replay events through is
:mod:`phone_agent.protocol.call_states`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

PROTOCOL_VERSION = 1
NAMESPACE = "/phone"

# -- event names -------------------------------------------------------------
HELLO = "hello"
HEARTBEAT = "heartbeat"
ASSETS = "assets"
LEASE = "lease"
CALL = "call"
AGENT = "agent"
RELEASE = "release"
# server -> phone
CAMPAIGN = "campaign"
COMMAND = "command"

MODES = ("router", "internet", "sim")
BACKENDS = ("adb", "sim")
CALL_STATES = ("idle", "dialing", "ringing", "active", "incoming")
NETWORKS = ("wifi", "lte", "5g", "3g", "none", "unknown")
SIM_STATES = ("ready", "absent", "locked", "unknown")
DEVICE_STATES = ("ready", "unavailable")  # can the phone make calls now (heartbeat "device")
# The phone's audio path as its probe found it (heartbeat "audio"): how it hears
# the call — the voter's side alone, the whole call, or the loudspeaker's room —
# or not at all.
AUDIO_PATHS = ("downlink", "voice_call", "speaker", "none")
CAPTURE_SOURCES = ("voice-call-downlink", "voice-call", "mic")  # tried in this order
SOURCE_RESULTS = ("signal", "silent", "refused", "untested")
HELPER_STATES = ("plays", "missing", "fails", "untested")

CALL_EVENTS = ("dialing", "ringing", "answered", "intro_started", "intro_finished", "dtmf",
               "agent_ringing", "agent_no_answer", "bridged", "promise_started", "ended")
RESULTS = ("no_answer", "busy", "rejected", "invalid_number", "failed", "listened", "hung_up",
           "connected", "callback_requested", "refused")
AGENT_OUTCOMES = ("no_answer", "busy", "failed")
LEASE_REASONS = ("no_campaign", "paused", "outside_hours", "election_hours", "daily_cap",
                 "device_unavailable", "assets_missing", "holding", "storage", "finished", "wait")
COMMAND_TYPES = ("apply_images", "hang_up", "release_all", "probe_audio")
MAX_LEASE = 50

# -- error codes in acks ------------------------------------------------------
BAD_PAYLOAD = "bad_payload"
UNKNOWN_EVENT = "unknown_event"
UNKNOWN_CALL = "unknown_call"
BAD_TRANSITION = "bad_transition"
NOT_HELLO = "hello_first"
NOT_CONNECTED = "not_connected"
REVOKED = "revoked"            # the phone was disabled, deleted or given a new token
SEQ_GAP = "seq_gap"            # an event arrived before an earlier one of its call
SEQ_CONFLICT = "seq_conflict"  # this seq was stored before with another event
UNKNOWN_LINE = "unknown_line"  # agent_ringing / bridged naming a line the server did not give
STORAGE = "storage"            # the server could not write (disk full, I/O error)
INTERNAL = "internal"
# Refusals of a claim (the `dialing` event): the phone must not dial.
DO_NOT_CALL = "do_not_call"    # the number is on 수신거부 now
NOT_RUNNING = "not_running"    # the campaign is paused, stopped, finished or another one
OUTSIDE_HOURS = "outside_hours"
ELECTION_HOURS = "election_hours"  # 23:00-06:00 Seoul: never for an election campaign
# Codes after which the phone sends the same message again (with backoff);
# every other error is final for that message.
RETRY_CODES = (NOT_HELLO, SEQ_GAP, STORAGE)
# Every code an ack may carry (docs/protocol.md "Error codes" lists each, and
# what the phone does with it).
ERROR_CODES = (BAD_PAYLOAD, UNKNOWN_EVENT, UNKNOWN_CALL, BAD_TRANSITION, NOT_HELLO, NOT_CONNECTED, REVOKED,
               SEQ_GAP, SEQ_CONFLICT, UNKNOWN_LINE, STORAGE, INTERNAL, DO_NOT_CALL, NOT_RUNNING,
               OUTSIDE_HOURS, ELECTION_HOURS)
# Refusals of a join request (HTTP 429, docs/protocol.md "Enrolment"): the phone
# waits (the Retry-After header says how long) and asks again.
JOIN_RATE_LIMITED = "join_rate_limited"   # too many requests from this address lately
JOIN_QUEUE_FULL = "join_queue_full"       # too many requests wait for the manager
JOIN_REFUSALS = (JOIN_RATE_LIMITED, JOIN_QUEUE_FULL)
# The states a join request's poll answers: an expired one was not decided in
# time; the phone asks again.
JOIN_STATUSES = ("pending", "approved", "rejected", "expired")
# Codes of a refused connection (Socket.IO connect_error {"code", "message"}).
CONNECT_REFUSALS = ("bad_token", "disabled", "protocol")


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def ack(self) -> dict:
        return error_ack(self.code, self.message)


def ok_ack(**fields) -> dict:
    return {"ok": True, **fields}


def error_ack(code: str, message: str) -> dict:
    return {"ok": False, "error": {"code": code, "message": message}}


# -- the checker -------------------------------------------------------------
# A schema is a callable (value, path) -> cleaned value, raising ProtocolError.
Check = Callable[[Any, str], Any]


def _fail(path: str, message: str):
    raise ProtocolError(BAD_PAYLOAD, f"{path}: {message}")


def string(max_len: int = 200, pattern: str | None = None) -> Check:
    regex = re.compile(pattern) if pattern else None

    def check(value, path):
        if not isinstance(value, str):
            _fail(path, "must be a string")
        if len(value) > max_len:
            _fail(path, f"longer than {max_len} characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _fail(path, "is not valid text (a lone surrogate)")
        if regex and not regex.fullmatch(value):
            _fail(path, "has an unexpected format")
        return value
    return check


def integer(low: int, high: int) -> Check:
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, "must be an integer")
        if not low <= value <= high:
            _fail(path, f"must be between {low} and {high}")
        return value
    return check


def number(low: float, high: float) -> Check:
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            _fail(path, "must be a number")
        if not low <= value <= high:
            _fail(path, f"must be between {low} and {high}")
        return float(value)
    return check


def boolean() -> Check:
    def check(value, path):
        if not isinstance(value, bool):
            _fail(path, "must be true or false")
        return value
    return check


def one_of(*choices) -> Check:
    def check(value, path):
        if value not in choices:
            _fail(path, f"must be one of {', '.join(map(str, choices))}")
        return value
    return check


def const(expected) -> Check:
    """Exactly this JSON value (``true`` is not ``1``)."""
    def check(value, path):
        if type(value) is not type(expected) or value != expected:
            _fail(path, f"must be {expected!r}")
        return value
    return check


def nullable(inner: Check) -> Check:
    def check(value, path):
        return None if value is None else inner(value, path)
    return check


def array(inner: Check, max_items: int) -> Check:
    def check(value, path):
        if not isinstance(value, list):
            _fail(path, "must be a list")
        if len(value) > max_items:
            _fail(path, f"has more than {max_items} items")
        return [inner(item, f"{path}[{i}]") for i, item in enumerate(value)]
    return check


def obj(required: dict[str, Check] | None = None, optional: dict[str, Check] | None = None,
        *, lenient: bool = False) -> Check:
    """A JSON object with exactly these keys (unknown keys are refused, or
    with ``lenient`` dropped)."""
    required = required or {}
    optional = optional or {}

    def check(value, path):
        if not isinstance(value, dict):
            _fail(path, "must be an object")
        unknown = set(value) - set(required) - set(optional)
        if unknown and not lenient:
            _fail(path, f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        cleaned = {}
        for key, inner in required.items():
            if key not in value:
                _fail(path, f"missing field '{key}'")
            cleaned[key] = inner(value[key], f"{path}.{key}")
        for key, inner in optional.items():
            if key in value:
                cleaned[key] = inner(value[key], f"{path}.{key}")
        return cleaned
    return check


SHA256 = string(64, r"[0-9a-f]{64}")
CALL_ID = string(40, r"[A-Za-z0-9_-]{8,40}")
ID = integer(1, 2**53)
EPOCH = number(1_000_000_000, 10_000_000_000)

DEVICE = obj(optional={"model": string(80), "android": string(20), "serial": string(80),
                       "number": string(20), "manufacturer": string(80)})

AUDIO = obj(required={"path": one_of(*AUDIO_PATHS)},
            optional={"capture": nullable(one_of(*CAPTURE_SOURCES)),
                      "sources": obj(optional={source: one_of(*SOURCE_RESULTS) for source in CAPTURE_SOURCES}),
                      "helper": one_of(*HELPER_STATES), "android": string(20),
                      "problem": nullable(string(120)), "probed_at": EPOCH})

HEALTH = obj(required={"call_state": one_of(*CALL_STATES)},
             optional={"battery": integer(0, 100), "charging": boolean(), "signal": integer(0, 4),
                       "network": one_of(*NETWORKS), "sim": one_of(*SIM_STATES),
                       "android": string(20), "model": string(80), "number": string(20),
                       "device": one_of(*DEVICE_STATES), "problem": string(120), "audio": AUDIO})

_DATA = {
    "dialing": obj(),
    "ringing": obj(),
    "answered": obj(),
    "intro_started": obj(optional={"sha256": SHA256}),
    "intro_finished": obj(),
    "dtmf": obj(required={"digit": string(1, r"[0-9*#A-D]")}),
    "agent_ringing": obj(required={"line_id": ID}),
    "agent_no_answer": obj(required={"line_id": ID}),
    "bridged": obj(required={"line_id": ID}),
    "promise_started": obj(),
    "ended": obj(required={"result": one_of(*RESULTS)}, optional={"reason": string(120)}),
}

_CALL_EVENT = obj(required={"call_id": CALL_ID, "seq": integer(1, 10_000),
                            "event": one_of(*CALL_EVENTS), "at": EPOCH},
                  optional={"data": lambda value, path: value})  # checked per event below

SCHEMAS: dict[str, Check] = {
    HELLO: obj(required={"agent": string(40), "mode": one_of(*MODES), "backend": one_of(*BACKENDS)},
               optional={"device": DEVICE, "assets": array(SHA256, 500), "calls": array(CALL_ID, 500)}),
    HEARTBEAT: HEALTH,
    ASSETS: obj(required={"have": array(SHA256, 500)}),
    LEASE: obj(required={"want": integer(1, MAX_LEASE)}),
    AGENT: obj(required={"call_id": CALL_ID, "attempt": integer(1, 100)},
               optional={"after_line": nullable(ID), "outcome": nullable(one_of(*AGENT_OUTCOMES))}),
    RELEASE: obj(required={"call_ids": array(CALL_ID, 500)}),
}


# -- server -> phone ---------------------------------------------------------------
# What the phone checks of what the server sends: the two server events and
# the acknowledgement of every phone event (docs/protocol.md "Server → phone").

REFUSE_KEYS = ("", "0", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#")
CAMPAIGN_STATES = ("running", "paused", "stopped")
ASSET_LIST = array(SHA256, 50)

CAMPAIGN_SCHEMA = obj(
    required={"id": ID, "state": one_of(*CAMPAIGN_STATES),
              "assets": obj(optional={"intro": ASSET_LIST, "promise": ASSET_LIST, "callback": ASSET_LIST,
                                      "refusal": ASSET_LIST, "outgoing_image": nullable(SHA256),
                                      "callback_image": nullable(SHA256)}, lenient=True),
              "settings": obj(optional={"connect_agent_after_intro": boolean(),
                                        "agent_ring_repeats": integer(1, 20),
                                        "agent_ring_cycle_s": integer(1, 60),
                                        "press1_wait_s": integer(0, 60),
                                        "refuse_key": one_of(*REFUSE_KEYS)}, lenient=True)},
    lenient=True)
BATCH_SCHEMA = obj(required={"id": string(40), "campaign_id": ID, "expires_at": EPOCH,
                             "calls": array(obj(required={"call_id": CALL_ID, "number": string(20, r"[0-9]{3,20}"),
                                                          "attempt": integer(1, 100)}, lenient=True), MAX_LEASE)},
                   lenient=True)
LINE_SCHEMA = obj(required={"id": ID, "extension": string(20), "dial_target": string(40, r"[0-9*#+]{1,40}"),
                            "ring_s": number(1, 600)}, lenient=True)

SERVER_EVENTS: dict[str, Check] = {
    CAMPAIGN: obj(required={"campaign": nullable(CAMPAIGN_SCHEMA)}, lenient=True),
    COMMAND: obj(required={"id": string(40), "type": one_of(*COMMAND_TYPES)},
                 optional={"args": obj(optional={"outgoing": SHA256, "callback": SHA256,
                                                 "call_id": CALL_ID, "pause_s": number(0, 3600)},
                                       lenient=True)}, lenient=True),
}

ERROR_ACK = obj(required={"ok": const(False),
                          "error": obj(required={"code": string(40), "message": string(500)}, lenient=True)},
                lenient=True)
OK_ACKS: dict[str, Check] = {
    HELLO: obj(required={"ok": const(True), "phone": obj(required={"id": ID, "name": string(60)}, lenient=True),
                         "heartbeat_s": number(0.5, 3600), "campaign": nullable(CAMPAIGN_SCHEMA)}, lenient=True),
    HEARTBEAT: obj(required={"ok": const(True)}, lenient=True),
    ASSETS: obj(required={"ok": const(True), "missing": array(SHA256, 500)}, lenient=True),
    LEASE: obj(required={"ok": const(True), "batch": nullable(BATCH_SCHEMA)},
               optional={"retry_s": number(0, 3600), "reason": one_of(*LEASE_REASONS)}, lenient=True),
    CALL: obj(required={"ok": const(True), "duplicate": boolean()}, lenient=True),
    AGENT: obj(required={"ok": const(True), "line": nullable(LINE_SCHEMA)}, lenient=True),
    RELEASE: obj(required={"ok": const(True), "released": integer(0, 500)}, lenient=True),
}
# What a phone answers to the server's events.
PHONE_REPLY = obj(required={"ok": boolean()}, optional={"error": string(500)}, lenient=True)

# The phone registration QR code (docs/protocol.md "Enrolment"): server -> phone,
# so lenient; the URL and the fingerprint are checked by phone_agent.link.pin.
PAIRING = obj(required={"server": string(300), "token": string(200)},
              optional={"cert_sha256": string(200)}, lenient=True)

BAD_ACK = "bad_ack"  # (phone side) the server's answer did not follow the protocol


def validate_from_server(event: str, payload) -> dict:
    """The cleaned payload of a server -> phone event, or ProtocolError."""
    schema = SERVER_EVENTS.get(event)
    if schema is None:
        raise ProtocolError(UNKNOWN_EVENT, f"unknown server event '{event}'")
    return schema(payload, event)


def check_ack(event: str, ack) -> dict:
    """The server's acknowledgement of a phone ``event``, checked: the ack
    itself, or an error ack with code ``bad_ack`` naming what is wrong."""
    try:
        if isinstance(ack, dict) and ack.get("ok") is False:
            return ERROR_ACK(ack, f"{event} ack")
        return OK_ACKS[event](ack, f"{event} ack")
    except ProtocolError as exc:
        return error_ack(BAD_ACK, exc.message)


def validate_call_event(payload) -> dict:
    cleaned = _CALL_EVENT(payload, CALL)
    data = payload.get("data", {}) if isinstance(payload, dict) else {}
    cleaned["data"] = _DATA[cleaned["event"]](data, f"{CALL}.data")
    return cleaned


def validate(event: str, payload) -> dict:
    """The cleaned payload of a phone -> server event, or ProtocolError."""
    if event == CALL:
        return validate_call_event(payload)
    schema = SCHEMAS.get(event)
    if schema is None:
        raise ProtocolError(UNKNOWN_EVENT, f"unknown event '{event}'")
    return schema(payload, event)
