"""The calling rules, as pure decisions.

Plain values in, plain data out: no I/O, no Flask, no database, no clock of
its own (every function that depends on the time is given ``now``, epoch
seconds, by its caller). The engine (``engine.py``) reads the live picture,
asks here what to do, and hands the answer to the database layer, which
applies it. So the rules are tested with plain values and a chosen instant
(``tests/test_calling_policy.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from phone_agent import protocol as p
from phone_agent.protocol.call_states import DIALING, RETRYABLE, RINGING, CallProgress

from .. import operating

# -- the campaign and its assets ------------------------------------------------

IMAGE_KINDS = (("outgoing", "outgoing_image"), ("callback", "callback_image"))
ANNOUNCEMENT_KINDS = ("intro", "promise", "callback", "refusal")


def campaign_assets(campaign: dict | None) -> set[str]:
    """Hashes of every announcement and image a phone needs for ``campaign``."""
    if not campaign:
        return set()
    assets = campaign["assets"]
    hashes = {h for kind in ANNOUNCEMENT_KINDS for h in assets.get(kind) or []}
    return hashes | {assets[key] for _kind, key in IMAGE_KINDS if assets.get(key)}


def calling_refusal(campaign: dict | None, settings: operating.OperatingSettings, now: float) -> str | None:
    """Why ``campaign`` may not dial at ``now`` (hours, election law), or None."""
    if campaign is None:
        return None
    when = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    return operating.calling_refusal(campaign.get("kind", "election"), settings, when)


def images_to_apply(campaign: dict | None, phone_assets: set[str], phone_images: dict) -> dict | None:
    """The images (``{"outgoing": hash, "callback": hash}``) a phone should be
    told to apply now: the campaign's, once the phone holds them all and has
    not applied (or been sent) exactly these. None: nothing to send."""
    if not campaign:
        return None
    assets = campaign["assets"]
    wanted = {kind: assets[key] for kind, key in IMAGE_KINDS if assets.get(key)}
    if not wanted or not set(wanted.values()) <= phone_assets:
        return None
    same = all(phone_images.get(kind) == wanted.get(kind) for kind, _key in IMAGE_KINDS)
    if same and phone_images.get("status") in ("applied", "sent"):
        return None
    return wanted


# -- leases ----------------------------------------------------------------------

@dataclass(frozen=True)
class PhoneFacts:
    """What the lease rule needs to know of one phone."""

    device_unavailable: bool
    dialled_today: int
    assets: frozenset | set
    queued_held: int          # calls leased to it and not dialled yet


@dataclass(frozen=True)
class LeaseDecision:
    """Either ``size`` calls may be claimed, or none, with the ``reason`` and
    the seconds after which the phone may ask again."""

    size: int = 0
    reason: str | None = None
    retry_s: float = 0.0


def lease_decision(campaign: dict | None, settings: operating.OperatingSettings, phone: PhoneFacts,
                   want: int, *, max_held: int, storage_blocked: bool, now: float) -> LeaseDecision:
    """How many calls a phone asking for ``want`` may lease now, or why none.

    In order: no campaign, paused, outside the calling hours (or election
    quiet hours), the phone's device lost, the server's storage blocked, the
    phone's daily cap reached, assets missing, and fair shares (a phone holds
    at most ``max_held`` undialled calls). The batch never takes the phone
    past its daily cap (but is at least one call)."""
    if campaign is None:
        return LeaseDecision(reason="no_campaign", retry_s=10.0)
    if campaign["state"] == "paused":
        return LeaseDecision(reason="paused", retry_s=5.0)
    hours = calling_refusal(campaign, settings, now)
    if hours:
        return LeaseDecision(reason=hours, retry_s=60.0)
    if phone.device_unavailable:
        return LeaseDecision(reason="device_unavailable", retry_s=10.0)
    if storage_blocked:
        return LeaseDecision(reason="storage", retry_s=10.0)
    if phone.dialled_today >= settings.daily_cap_per_phone:
        return LeaseDecision(reason="daily_cap", retry_s=600.0)
    if campaign_assets(campaign) - set(phone.assets):
        return LeaseDecision(reason="assets_missing", retry_s=5.0)
    room = max_held - phone.queued_held
    if room <= 0:
        return LeaseDecision(reason="holding", retry_s=1.0)
    return LeaseDecision(size=min(want, room, max(1, settings.daily_cap_per_phone - phone.dialled_today)))


def nothing_due(next_at: float | None, now: float) -> tuple[str, float]:
    """(reason, retry_s) when no contact could be claimed: ``finished`` when
    none is pending, else ``wait`` until the next one is due (1 s to 1 min)."""
    if next_at is None:
        return "finished", 10.0
    return "wait", min(60.0, max(1.0, next_at - now))


# -- the claim (a phone's ``dialing`` event) ---------------------------------------

def claim_refusal(campaign: dict | None, call_campaign_id: int, settings: operating.OperatingSettings,
                  now: float) -> tuple[str, str] | None:
    """(code, message) when a phone may not dial a leased call now: its
    campaign is not running, or it is outside the calling hours (for an
    election campaign, 23:00-06:00 Seoul, whatever its hours). None: it may,
    as far as the campaign and the time go (the engine also checks the disk
    and the do-not-call list, which take I/O)."""
    if campaign is None or campaign["id"] != call_campaign_id or campaign["state"] != "running":
        return p.NOT_RUNNING, "the campaign is not running"
    hours = calling_refusal(campaign, settings, now)
    if hours == "election_hours":
        return p.ELECTION_HOURS, "an election campaign never calls 23:00-06:00 (Seoul)"
    if hours is not None:
        return p.OUTSIDE_HOURS, "outside the calling hours"
    return None


# -- retries and what becomes of a contact ---------------------------------------------

def retry_plan(result: str | None, attempts: int, settings: operating.OperatingSettings,
               now: float) -> tuple[str, float]:
    """(contact status, due time) after a call with ``result``: a no-answer
    or busy call is tried again after its wait while ``attempts`` is under
    its limit (``pending``); anything else is ``done``."""
    if result in RETRYABLE:
        limit, delay_min = ((settings.no_answer_max_attempts, settings.no_answer_retry_delay_min)
                            if result == "no_answer" else
                            (settings.busy_max_attempts, settings.busy_retry_delay_min))
        if attempts < limit:
            return "pending", now + delay_min * 60
    return "done", 0.0


def finish(progress: CallProgress, attempt: int, settings: operating.OperatingSettings, now: float) -> dict:
    """What becomes of the contact when its call ends (for ``db.record_call_event``)."""
    status, next_at = retry_plan(progress.result, attempt, settings, now)
    return {"contact_status": status, "next_at": next_at, "result": progress.result,
            "callback": progress.wants_callback}


def lost_finish(state: str, attempt: int, pressed_one: bool, settings: operating.OperatingSettings,
                now: float) -> dict:
    """What becomes of the contact of a call its phone lost in ``state``:
    dialled but not answered is tried again under the no-answer rule (the
    voter may not have heard a thing); answered is closed, never dialled
    again (the voter heard us). A voter who pressed 1 gets a callback."""
    status, next_at = "done", 0.0
    if state in (DIALING, RINGING):
        status, next_at = retry_plan("no_answer", attempt, settings, now)
    return {"contact_status": status, "next_at": next_at, "result": "phone_lost", "callback": bool(pressed_one)}


# -- call events ---------------------------------------------------------------------

EVENT_TIME_COLUMNS = {"dialing": "dialed_at", "answered": "answered_at", "bridged": "bridged_at"}


def call_updates(event: str, data: dict, at: float, seq: int, before: CallProgress, after: CallProgress,
                 lease_expires: float) -> dict:
    """The call row's new values after ``event`` took the call from
    ``before`` to ``after`` (columns from ``db.CALL_UPDATE_COLUMNS``)."""
    updates = {"state": after.state, "last_seq": seq}
    if event in EVENT_TIME_COLUMNS:
        updates[EVENT_TIME_COLUMNS[event]] = at
    if after.pressed_one and not before.pressed_one:
        updates["pressed_one"] = 1
    if event in ("agent_ringing", "bridged"):
        updates["agent_line_id"] = data["line_id"]
    if event == "ended":
        updates.update(result=after.result, hung_up_in=after.hung_up_in, reason=data.get("reason"), ended_at=at)
    else:
        updates["lease_expires"] = lease_expires
    return updates


def keypad_refusal(event: str, data: dict, after: CallProgress, number: str, refuse_key: str,
                   campaign_name: str) -> dict | None:
    """A voter who pressed the 수신거부 key (or whose call ended ``refused``)
    goes on the do-not-call list: ``{"number", "note"}``, else None.
    ``refuse_key`` is "" when refusing by keypad is off."""
    pressed = event == "dtmf" and refuse_key and data.get("digit") == refuse_key
    if not pressed and not (event == "ended" and after.result == "refused"):
        return None
    return {"number": number, "note": f"ARS 수신거부 ({campaign_name})" if campaign_name else "ARS 수신거부"}


# -- phone health ------------------------------------------------------------------------

HEALTH_STORE_EVERY_S = 60.0


def health_worth_storing(before: dict, after: dict, stored_at: float, now: float) -> bool:
    """Whether a heartbeat's health is stored: when it changed in a way the
    manager cares about (SIM, network, charging, device, audio path, battery by 5 or
    more), or once a minute (for the phone list after a restart)."""
    changed = any(before.get(k) != after.get(k) for k in ("sim", "network", "charging", "device", "audio")) or \
        abs((before.get("battery") or 0) - (after.get("battery") or 0)) >= 5
    return changed or now - stored_at >= HEALTH_STORE_EVERY_S


LOW_BATTERY_PERCENT = 20
WEAK_SIGNAL_BARS = 1


def health_problems(health: dict | None) -> frozenset[str]:
    """The problems a heartbeat shows (for 통계, counted when they start):
    battery under 20 % and not charging, signal of 1 bar or none, no
    network, a SIM that is absent or locked, the device lost."""
    if not health:
        return frozenset()
    found = set()
    battery = health.get("battery")
    if battery is not None and battery < LOW_BATTERY_PERCENT and not health.get("charging"):
        found.add("low_battery")
    signal = health.get("signal")
    if signal is not None and signal <= WEAK_SIGNAL_BARS and health.get("network") not in (None, "wifi", "none"):
        found.add("weak_signal")
    if health.get("network") == "none":
        found.add("no_network")
    if health.get("sim") in ("absent", "locked"):
        found.add("sim")
    if health.get("device") == "unavailable":
        found.add("device_unavailable")
    return frozenset(found)
