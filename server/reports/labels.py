"""The one Korean wording of every code a manager reads: call results,
failure causes, the step a voter hung up in, callback and voter states,
phone problems.

Pages (through ``_()``), workbooks, CSV files and the PDF all take their
words from here, so a reason reads the same everywhere. Every value has an
English entry in ``server/i18n.py`` (``tests/test_i18n.py`` checks).
Unknown codes come back as they are: a phone's free-text reason is shown,
never dropped.
"""

from __future__ import annotations

RESULTS = {
    "no_answer": "무응답", "busy": "통화중", "rejected": "거절", "invalid_number": "없는 번호",
    "failed": "실패", "listened": "안내 청취", "hung_up": "중간 종료", "connected": "상담원 연결",
    "callback_requested": "콜백 요청", "refused": "수신거부",
}

# The step of the call a voter hung up in (call.hung_up_in).
HUNG_UP_IN = {
    "answered": "응답 직후", "intro": "안내 중", "routing": "상담원 찾는 중",
    "agent_ringing": "상담원 호출 중", "bridged": "상담원 통화 중", "promise": "약속 안내 중",
}

# Why a call failed (call.reason) when the server closed it itself.
SERVER_REASONS = {
    "phone_lost": "폰 연결 끊김",
    "call_too_long": "통화 시간 초과",
}
PHONE_ERROR = "폰 오류"      # a reason the phone reported (free text, shown beside it)

CALLBACK_STATUSES = {"requested": "요청", "done": "완료", "deleted": "삭제", "failed": "실패"}

# A voter's state in a campaign (campaign_contact.status; 'done' reads its last result).
CONTACT_STATUSES = {"pending": "대기", "leased": "발신 중"}
SKIPPED_DNC = "수신거부 제외"      # closed unheard: the number was on 수신거부
EXCLUDED_REACHED = "이전 캠페인 응답 제외"   # closed at creation: reached in an earlier campaign

# Phone health problems seen in heartbeats (server/calling/policy.py health_problems).
PHONE_PROBLEMS = {
    "low_battery": "배터리 부족", "weak_signal": "신호 약함", "no_network": "네트워크 없음",
    "sim": "SIM 문제", "device_unavailable": "기기 끊김",
}

# Failure causes, in the order the 통계 page lists them.
FAILURE_RESULTS = ("no_answer", "busy", "rejected", "invalid_number", "failed")


def result(code: str | None) -> str:
    return RESULTS.get(code, code or "")


def hung_up_in(state: str | None) -> str:
    return HUNG_UP_IN.get(state, state or "")


def failure_cause(result_code: str, reason: str | None) -> str:
    """The cause of a call that reached nobody or failed, as one label:
    the result's word, or for ``failed`` the server's reason or 폰 오류."""
    if result_code != "failed":
        return result(result_code)
    return SERVER_REASONS.get(reason or "", PHONE_ERROR)


def reason(code: str | None) -> str:
    """A call's reason column: the server's own reasons in Korean; a phone's
    text as it came (it is what the handset said)."""
    if not code:
        return ""
    return SERVER_REASONS.get(code, code)


def contact_final(status: str, last_result: str | None) -> str:
    """A voter's final result in a campaign (one row per voter)."""
    if status != "done":
        return CONTACT_STATUSES.get(status, status)
    if last_result == "do_not_call":
        return SKIPPED_DNC
    if last_result == "excluded":
        return EXCLUDED_REACHED
    if last_result == "phone_lost":
        return SERVER_REASONS["phone_lost"]
    return result(last_result)


def all_labels() -> set[str]:
    """Every Korean word above (the i18n test checks each has an English entry)."""
    words = {PHONE_ERROR, SKIPPED_DNC, EXCLUDED_REACHED}
    for table in (RESULTS, HUNG_UP_IN, SERVER_REASONS, CALLBACK_STATUSES, CONTACT_STATUSES, PHONE_PROBLEMS):
        words.update(table.values())
    return words
