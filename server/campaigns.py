"""Putting a campaign together: a call list + announcements + images + settings.

A campaign takes a snapshot of the operating settings and of the
announcement and image hashes when it is created, so changing them in the
console later does not change a campaign in flight.
"""

from __future__ import annotations

from . import db, operating


class CampaignError(ValueError):
    """Why a campaign cannot be created: English for logs, ``korean`` (with
    ``values``) for the manager, through ``_()``."""

    def __init__(self, message: str, korean: str | None = None, **values):
        super().__init__(message)
        self.korean, self.values = korean, values

    @property
    def user_message(self) -> str:
        return str(self)


def assets_now(store) -> dict:
    """The announcement and image hashes a campaign created now would use."""
    ments = db.ments(store)
    # refusal (수신거부 안내멘트) is optional: a campaign without one plays a short tone.
    by_kind = {kind: [m["sha256"] for m in ments if m["kind"] == kind]
               for kind in ("intro", "promise", "callback", "refusal")}
    active = {i["kind"]: i["sha256"] for i in db.images(store) if i["active"]}
    return {**by_kind, "outgoing_image": active.get("outgoing"), "callback_image": active.get("callback")}


def create(store, *, name: str, list_id: int, kind: str = "election", exclude_reached=()) -> int:
    """A new campaign (ready) over a call list. ``exclude_reached``: kinds of
    ``db.REACHED_KINDS``; voters reached so in an earlier campaign are closed
    as ``excluded`` at once and never called by this one."""
    name = (name or "").strip()
    if kind not in operating.CAMPAIGN_KIND_LABELS:
        raise CampaignError(f"unknown campaign type '{kind}'", "알 수 없는 캠페인 종류입니다: {kind}", kind=str(kind)[:30])
    if not name or len(name) > 80:
        raise CampaignError("a campaign needs a name of 1-80 characters", "캠페인 이름은 1-80자로 적으세요.")
    try:
        contact_list = db.contact_list(store, list_id)
    except db.NotFound:
        raise CampaignError("choose a call list", "호출자료를 고르세요.") from None
    if contact_list["imported"] == 0:
        raise CampaignError(f"the call list '{contact_list['name']}' has no numbers",
                            "호출자료 '{name}'에 번호가 없습니다.", name=contact_list["name"])
    assets = assets_now(store)
    missing = [label for kind, label in (("intro", "상품소개 안내멘트"), ("promise", "빠른시간내 전화약속"))
               if not assets[kind]]
    if missing:
        raise CampaignError("set an announcement of each kind first: " + ", ".join(missing),
                            "먼저 안내멘트를 종류마다 지정하세요: {missing}", missing=", ".join(missing))
    unknown = sorted(set(exclude_reached) - set(db.REACHED_KINDS))
    if unknown:
        raise CampaignError(f"unknown kinds of reached voters: {', '.join(unknown)}",
                            "제외할 응답 종류를 알 수 없습니다: {kinds}", kinds=", ".join(unknown))
    settings = operating.from_stored(db.get_setting(store, operating.SETTINGS_KEY)).as_dict()
    return db.create_campaign(store, name=name, list_id=list_id, settings=settings, assets=assets,
                              kind=kind, exclude_reached=tuple(exclude_reached))
