"""The campaign's numbers, one definition for every page.

``db.campaign_counters`` reads the raw counts from the records; ``summary``
turns them into what 실시간 현황 and the campaign page show, and
``COUNTERS`` is the one list of (key, label) both pages print, so the two can
never disagree on what a number means. Pure.

- 전체 (total): the campaign's voters (the list's, less numbers on 수신거부
  when it was created).
- 대상 (target): 전체 minus those excluded at creation as
  reached in an earlier campaign (제외).
- 완료 (done): voters of the target no longer due: called to the end
  (answered, refused, out of retries…) or skipped as 수신거부. Progress is
  완료 / 대상; 남음 is pending + leased.
- 발신: calls dialled (every attempt, retries included), so it may exceed
  the voters done.
- 콜백 요청: callback rows of the campaign's calls (a voter who pressed 1 and
  reached no agent, also when the phone was lost after the press), the
  definition of 통계.
"""

from __future__ import annotations

COUNTERS = (
    ("total", "전체"), ("target", "대상"), ("done", "완료"), ("remaining", "남음"), ("leased", "배정"),
    ("dialled", "발신(통화 시도)"), ("answered", "응답"), ("pressed_one", "1번 누름"),
    ("connected", "상담원 연결"), ("callback", "콜백 요청"), ("failed", "실패"),
    ("refused", "수신거부(키패드)"), ("skipped_dnc", "수신거부 제외"), ("excluded", "이전 캠페인 응답 제외"),
)


def summary(raw: dict | None) -> dict | None:
    """The shown numbers from ``db.campaign_counters``'s raw counts."""
    if raw is None:
        return None
    excluded = raw.get("excluded", 0)
    target = raw["total"] - excluded
    done = target - raw["remaining"]
    percent = 100 * done // target if target else 100
    return dict(raw, target=target, done=done, excluded=excluded, percent=percent)
