"""The live picture: what the server knows of a phone and of an open call
right now (not all of it is stored), and how the dashboard shows them."""

from __future__ import annotations

from dataclasses import dataclass, field

from phone_agent.protocol.call_states import CallProgress, TransitionError, advance

from ..contacts.phone_numbers import mask

RECENT_KEPT = 50


@dataclass
class LivePhone:
    """What the server knows of a phone right now (not all of it is stored)."""

    id: int
    name: str
    mode: str
    enabled: bool = True
    group_name: str | None = None
    sid: str | None = None
    said_hello: bool = False
    backend: str | None = None
    last_seen: float = 0.0
    health: dict = field(default_factory=dict)
    device: dict = field(default_factory=dict)
    assets: set = field(default_factory=set)
    images: dict = field(default_factory=dict)
    current_call: str | None = None
    current_state: str | None = None
    dialled_today: int = 0
    health_stored_at: float = 0.0
    token_sha256: str | None = None
    disconnected_at: float | None = None   # when its last connection closed (None: connected or handled)
    held: set = field(default_factory=set)  # ids of the open calls leased to it

    @classmethod
    def from_row(cls, row: dict) -> LivePhone:
        """From a stored phone (``db.phone``)."""
        return cls(id=row["id"], name=row["name"], mode=row["mode"], enabled=bool(row["enabled"]),
                   group_name=row["group_name"], last_seen=row["last_seen"] or 0.0,
                   health=row["health"] or {}, device=row["device"] or {},
                   assets=set(row["assets"] or []), images=row["images"] or {},
                   token_sha256=row["token_sha256"])

    @property
    def connected(self) -> bool:
        return self.sid is not None

    probe: dict = field(default_factory=dict)  # the last audio probe asked of it: status, at, error

    @property
    def audio(self) -> dict | None:
        """The phone's audio path as its probe found it (protocol Audio), if it said."""
        return self.health.get("audio")

    @property
    def device_unavailable(self) -> bool:
        """The phone is connected but cannot make calls: it says so (adb lost
        it…), or its audio probe found no way to hear the call."""
        return self.health.get("device") == "unavailable" or (self.audio or {}).get("path") == "none"

    @property
    def problem(self) -> str | None:
        if self.health.get("device") == "unavailable":
            return self.health.get("problem")
        if (self.audio or {}).get("path") == "none":
            return (self.audio or {}).get("problem") or "no audio path"
        return None

    def state(self, online: bool) -> str:
        if not online:
            return "offline"
        if self.device_unavailable and not self.current_call:
            return "unavailable"
        return self.current_state or self.health.get("call_state", "idle")

    def as_dict(self, now: float, offline_after_s: float) -> dict:
        """The phone as the dashboard shows it."""
        online = self.connected and now - self.last_seen <= offline_after_s
        return {"id": self.id, "name": self.name, "mode": self.mode, "group": self.group_name,
                "enabled": self.enabled, "online": online, "state": self.state(online),
                "problem": self.problem, "backend": self.backend, "audio": self.audio,
                "probe": self.probe or None,
                "call": self.current_call, "battery": self.health.get("battery"),
                "charging": self.health.get("charging"), "signal": self.health.get("signal"),
                "network": self.health.get("network"), "sim": self.health.get("sim"),
                "last_seen": self.last_seen or None, "dialled_today": self.dialled_today,
                "images": self.images.get("status")}


@dataclass
class OpenCall:
    call_id: str
    phone_id: int
    campaign_id: int
    progress: CallProgress
    campaign_contact_id: int = 0
    attempt: int = 1
    number: str = ""
    last_seq: int = 0
    agent_answers: dict = field(default_factory=dict)   # agent request attempt -> ack (resends)
    lines_given: set = field(default_factory=set)       # agent lines the server told this call to ring
    lease_expires: float = 0.0
    dialed_at: float | None = None                       # server clock, when the dial was confirmed

    @classmethod
    def from_row(cls, row: dict, progress: CallProgress) -> OpenCall:
        """From a stored open call (``db.call``) and the progress its events replay to."""
        open_call = cls(row["id"], row["phone_id"], row["campaign_id"], progress,
                        campaign_contact_id=row["campaign_contact_id"], attempt=row["attempt"],
                        number=row["number"], last_seq=row["last_seq"],
                        lease_expires=row["lease_expires"], dialed_at=row["dialed_at"])
        if progress.agent_line_id is not None:
            open_call.lines_given.add(progress.agent_line_id)
        return open_call

    def recent_entry(self, phone_name: str, now: float) -> dict:
        """The ended call as the dashboard's recent calls show it (number masked)."""
        return {"call_id": self.call_id, "phone": phone_name, "number": mask(self.number),
                "result": self.progress.result, "hung_up_in": self.progress.hung_up_in,
                "line": self.progress.agent_line_id, "at": now}


def copy_progress(progress: CallProgress) -> CallProgress:
    return CallProgress(state=progress.state, result=progress.result, hung_up_in=progress.hung_up_in,
                        pressed_one=progress.pressed_one, agent_line_id=progress.agent_line_id,
                        lines_tried=list(progress.lines_tried), times=dict(progress.times))


def replay(events: list[dict]) -> tuple[CallProgress, bool]:
    """A call's progress rebuilt from its stored events (``db.call_events``);
    False when some event did not apply (the rest still did)."""
    progress, clean = CallProgress(), True
    for event in events:
        try:
            advance(progress, event["event"], event["data"], event["at"])
        except TransitionError:
            clean = False
    return progress, clean


def campaign_for_dashboard(campaign: dict) -> dict:
    return {"id": campaign["id"], "name": campaign["name"], "state": campaign["state"],
            "kind": campaign.get("kind", "election")}


def campaign_for_phones(campaign: dict | None, settings) -> dict | None:
    """The active campaign as phones are told it (hello, campaign changes)."""
    if campaign is None:
        return None
    s = settings
    return {"id": campaign["id"], "state": campaign["state"], "assets": campaign["assets"],
            "settings": {"connect_agent_after_intro": s.connect_agent_after_intro,
                         "agent_ring_repeats": s.agent_ring_repeats,
                         "agent_ring_cycle_s": s.agent_ring_cycle_s,
                         "press1_wait_s": s.press1_wait_s,
                         "refuse_key": s.refuse_key}}
