"""Why nothing is dialling: the one answer the dashboard and the campaign
page give, in words and with the time calling resumes.

Pure: the campaign, its settings, ``now`` (epoch seconds), what the phones
look like, the campaign's queue and the storage status in; a list of
``Reason`` out (empty: nothing stops the campaign from dialling). The rules
are the engine's own (``policy.calling_refusal``, ``policy.lease_decision``),
asked of the same facts, so the page says what the engine does.

Each reason is a code, an optional count and an optional instant; its words
are ``MESSAGES[code]`` (Korean, with an English entry in ``server/i18n.py``)
filled with ``{count}`` and ``{time}`` (``when_text``: "09:00" today, "3/10
09:00" another day, Seoul time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .. import operating
from . import policy

MESSAGES = {
    "not_started": "발신 시작 전입니다 (발신 시작을 누르세요)",
    "stopped": "중지된 캠페인입니다. 다시 발신하지 않습니다.",
    "finished": "모든 대상에게 발신을 마쳤습니다.",
    "paused": "일시정지됨",
    "election_hours": "선거운동 발신 금지 시간 (23:00–06:00) — {time}에 재개",
    "outside_hours": "통화 가능 시간이 아닙니다 ({time}에 재개)",
    "hours_never": "발신 시간이 선거운동 허용 시간(06:00–23:00)과 겹치지 않습니다 (운용환경)",
    "no_announcement": "안내멘트 없음",
    "disk_low": "디스크 공간 부족",
    "storage_error": "데이터베이스에 기록할 수 없습니다",
    "no_phones": "온라인 폰 없음",
    "phones_unavailable": "발신할 수 있는 폰 없음 (기기 끊김 {count}대)",
    "daily_cap": "모든 폰이 오늘 발신 한도에 도달 ({time}에 재개)",
    "retries_waiting": "재시도 대기 중 {count}명 — 다음 재시도 {time}",
}


@dataclass(frozen=True)
class PhoneState:
    """What the reasons need of one phone."""

    online: bool
    unavailable: bool = False     # connected, but cannot call (기기 끊김, no audio path)
    dialled_today: int = 0


@dataclass(frozen=True)
class Queue:
    """The campaign's voters as the lease sees them."""

    due: int = 0                  # pending and due now
    waiting: int = 0              # pending, due later (retries)
    next_at: float | None = None  # when the first of those is due
    leased: int = 0               # out with phones now


@dataclass(frozen=True)
class Reason:
    code: str
    count: int | None = None
    at: float | None = None       # when calling resumes (epoch seconds)

    def as_dict(self, now: float) -> dict:
        return {"code": self.code, "count": self.count, "at": self.at,
                "time": when_text(self.at, now) if self.at is not None else None}


def when_text(at: float, now: float) -> str:
    """``at`` in Seoul: "HH:MM" on the same Seoul day as ``now``, else "M/D HH:MM"."""
    local = dt.datetime.fromtimestamp(at, operating.SEOUL)
    today = dt.datetime.fromtimestamp(now, operating.SEOUL).date()
    hm = local.strftime("%H:%M")
    return hm if local.date() == today else f"{local.month}/{local.day} {hm}"


def next_calling_time(campaign: dict, settings: operating.OperatingSettings, after: float) -> float | None:
    """The first instant at or after ``after`` when ``campaign`` may dial
    (its calling hours, and for an election campaign 06:00-23:00), or None
    when its hours never allow it."""
    if policy.calling_refusal(campaign, settings, after) is None:
        return after
    start = dt.datetime.fromtimestamp(after, operating.SEOUL)
    opening = (dt.time.fromisoformat(settings.call_hours_start), operating.ELECTION_QUIET_END)
    candidates = sorted(dt.datetime.combine(start.date() + dt.timedelta(days=d), t, operating.SEOUL).timestamp()
                        for d in range(3) for t in opening)
    for at in candidates:
        if at >= after and policy.calling_refusal(campaign, settings, at) is None:
            return at
    return None


def _next_midnight(now: float) -> float:
    day = dt.datetime.fromtimestamp(now, operating.SEOUL).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), operating.SEOUL).timestamp()


def reasons(campaign: dict | None, settings: operating.OperatingSettings, now: float, *,
            phones: list[PhoneState], queue: Queue, storage: dict | None = None) -> list[Reason]:
    """Why ``campaign`` dials nothing now (or dials less than it could), most
    basic first. Empty when nothing stops it. A stopped or finished campaign
    gets that one reason; one not started yet, that and the hours."""
    if campaign is None:
        return []
    state = campaign["state"]
    if state in ("stopped", "finished"):
        return [Reason(state)]
    found: list[Reason] = []
    if state in ("ready", "paused"):
        found.append(Reason("not_started" if state == "ready" else "paused"))
    hours = policy.calling_refusal(campaign, settings, now)
    if hours is not None:
        resume = next_calling_time(campaign, settings, now)
        found.append(Reason("hours_never") if resume is None else Reason(hours, at=resume))
    if state == "ready":
        return found   # the rest is about a campaign at work
    if not (campaign.get("assets") or {}).get("intro"):
        found.append(Reason("no_announcement"))
    storage = storage or {}
    if storage.get("error"):
        found.append(Reason("storage_error"))
    elif storage.get("low"):
        found.append(Reason("disk_low"))
    online = [phone for phone in phones if phone.online]
    usable = [phone for phone in online if not phone.unavailable]
    if not online:
        found.append(Reason("no_phones"))
    elif not usable:
        found.append(Reason("phones_unavailable", count=len(online)))
    elif all(phone.dialled_today >= settings.daily_cap_per_phone for phone in usable):
        found.append(Reason("daily_cap", at=next_calling_time(campaign, settings, _next_midnight(now))))
    if queue.due == 0 and queue.waiting > 0:
        found.append(Reason("retries_waiting", count=queue.waiting, at=queue.next_at))
    return found
