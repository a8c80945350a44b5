"""The one Korean wording of every code a manager reads: call results,
failure causes, the step a voter hung up in, callback and voter states,
phone problems, phone and agent line states, call steps (events), audit
actions and targets, and why a call list row was rejected.

Pages (through ``_()``), workbooks, CSV files and the PDF all take their
words from here, so a reason reads the same everywhere. Every value has an
English entry in ``server/i18n.py`` (``tests/test_i18n.py`` checks).
Unknown codes come back as they are: a phone's free-text reason is shown,
never dropped.
"""

from __future__ import annotations

import re

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

# What a phone is doing (the dashboard's tiles, 폰 등록): the phone's own
# call state from its heartbeat, or the state of the call it holds.
PHONE_STATES = {
    "offline": "오프라인", "unavailable": "기기 끊김", "idle": "대기", "active": "통화 중",
    "incoming": "수신 중", "queued": "발신 대기", "dialing": "발신 중", "ringing": "호출 중",
    "answered": "응답", "intro": "안내 중", "routing": "상담원 찾는 중",
    "agent_ringing": "상담원 호출 중", "bridged": "상담원 통화 중", "promise": "약속 안내 중",
    "ended": "종료",
}

NO_AUDIO_PATH = "통화음을 들을 수 없음"     # the probe found no way to hear the call

# An agent line's state (the dashboard).
AGENT_STATES = {"available": "대기", "ringing": "호출 중", "busy": "통화 중", "away": "자리비움"}

# How a phone reaches the server (phone.mode).
PHONE_MODES = {"router": "공유기접속", "internet": "인터넷연결", "sim": "시뮬레이터"}  # as forms.MODES

# Whether a phone put up the campaign's images (phone.images.status).
IMAGE_STATUSES = {"sent": "보내는 중", "applied": "적용됨", "failed": "실패"}

# A call's steps, as the phone reports them (call_event.event).
CALL_EVENTS = {
    "dialing": "발신", "ringing": "신호 가는 중", "answered": "응답", "intro_started": "안내멘트 시작",
    "intro_finished": "안내멘트 끝", "dtmf": "키 입력", "agent_ringing": "상담원 호출",
    "agent_no_answer": "상담원 무응답", "bridged": "상담원 연결", "promise_started": "약속 안내 시작",
    "ended": "통화 종료",
}

# 감사 로그: what was done (audit.action) ...
AUDIT_ACTIONS = {
    "login": "로그인", "logout": "로그아웃", "upload": "올리기", "import": "가져오기", "delete": "삭제",
    "export": "내보내기", "settings": "설정 변경", "lockout": "잠금", "unlock": "잠금 해제",
    "session": "접속", "backup": "백업", "restore": "복원",
}
# ... who did it when it was not a manager (audit.actor) ...
AUDIT_ACTORS = {"cli": "명령줄 (ars)", "auto": "자동", "enrolment key": "폰 등록 키"}
# ... on what: the target's first words name its kind (audit.target); the
# longest that fits is used, the rest (a name, a number) is kept.
AUDIT_TARGETS = {
    "phone enrolment key": "폰 등록 키", "phone": "폰", "join request": "등록 요청",
    "call list file": "호출자료 파일", "call list": "호출자료", "rejects of call list": "제외 목록 - 호출자료",
    "announcement": "안내멘트", "image": "이미지", "agent line": "상담원", "campaign": "캠페인",
    "callback": "콜백", "backup": "백업", "uploaded": "올린 파일", "do-not-call": "수신거부",
    "operating settings": "운용환경", "console allow-list": "접근 허용 목록", "console session": "접속",
    "automatic backups": "자동 백업", "manager": "관리자", "call records": "통화 기록",
    "callbacks": "콜백 처리", "results of campaign": "캠페인 결과", "campaign report": "캠페인 보고서",
    "statistics": "통계",
}
# ... and the words of its detail (keys, and the values that are codes).
AUDIT_DETAIL_KEYS = {
    "reason": "사유", "until": "까지", "failures_in_window": "연속 실패", "step": "단계", "error": "오류",
    "kind": "종류", "size": "크기", "from": "파일", "ok": "정상", "contacts": "번호 수", "rows": "행 수",
    "bytes": "바이트", "action": "작업", "away": "자리비움", "status": "상태", "number": "번호",
    "position": "순서", "active": "사용", "decision": "결정", "audio_probe": "오디오 점검",
    "registered": "등록", "mode": "접속 방식", "token": "토큰", "added": "추가", "ended": "종료",
    "own": "본인", "by": "방법", "list": "목록", "sha256": "파일 지문", "id": "번호", "masked": "가림",
    "campaign": "캠페인", "name": "이름", "enabled": "사용", "group": "그룹", "result": "결과",
    "search": "검색", "period": "기간", "table": "표", "format": "형식", "full": "전체 번호",
    "removed": "정리한 백업", "every_min": "자동 백업 간격 (분)", "keep": "보관 개수",
    # 운용환경 (the words of its page)
    "connect_agent_after_intro": "안내멘트 후 상담전화 연결", "agent_ring_repeats": "벨소리 반복횟수",
    "agent_ring_cycle_s": "벨 주기 (초)", "press1_wait_s": "안내멘트 후 1번 입력 대기 (초)",
    "call_hours_start": "시작", "call_hours_end": "종료", "no_answer_max_attempts": "무응답 최대 시도",
    "no_answer_retry_delay_min": "무응답 재시도 간격 (분)", "busy_max_attempts": "통화중 최대 시도",
    "busy_retry_delay_min": "통화중 재시도 간격 (분)", "daily_cap_per_phone": "폰당 하루 최대 발신",
    "refuse_key": "수신거부 키",
}
AUDIT_DETAIL_VALUES = {
    "wrong PIN": "관리자비번 틀림", "wrong password": "패스워드 틀림", "unknown id": "없는 아이디",
    "locked": "잠김", "manager disabled": "사용 중지된 관리자", "campaign running": "캠페인 진행 중",
    "font missing": "글꼴 없음", "by manager": "관리자가 끝냄", "requested": "요청", "reissued": "재발급",
    "manual": "수동", "auto": "자동", "upload": "올리기", "verify": "검증", "check": "검사",
    "begin": "시작", "done": "완료", "new": "새로 만듦", "disable": "사용 안 함", "approve": "승인",
    "reject": "거절", "start": "시작", "pause": "일시정지", "resume": "재개", "stop": "중지",
    "True": "예", "False": "아니오",
}

# Why a row of a call list was not imported (plan rejects, the preview, the
# rejects workbook: one word each).
REJECT_REASONS = {
    "empty": "번호 없음", "not_a_number": "전화번호 아님", "too_short": "자릿수 부족",
    "too_long": "자릿수 초과", "unknown_prefix": "알 수 없는 국번", "foreign": "해외 번호",
    "duplicate": "목록 안 중복", "do_not_call": "수신거부 번호",
}
# ... and what it means, a sentence for the manager.
REJECT_EXPLAINED = {
    "empty": "전화번호 칸이 비어 있습니다.",
    "not_a_number": "전화번호가 아닙니다: 글자나 다른 문자가 들어 있습니다.",
    "too_short": "한국 전화번호로는 자릿수가 모자랍니다.",
    "too_long": "한국 전화번호로는 자릿수가 너무 많습니다.",
    "unknown_prefix": "알 수 없는 국번입니다: 한국 번호는 010, 011, 016-019, 02, 031-064, 070, 050x, "
                      "15xx/16xx/18xx로 시작합니다.",
    "foreign": "해외 번호입니다: 한국 번호(+82)만 걸 수 있습니다.",
    "duplicate": "앞의 행에 같은 번호가 이미 있습니다.",     # {row} when the first row is known: below
    "do_not_call": "수신거부 목록에 있는 번호입니다: 걸면 안 됩니다.",
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


def phone_state(code: str | None) -> str:
    return PHONE_STATES.get(code, code or "")


def call_event(code: str | None) -> str:
    return CALL_EVENTS.get(code, code or "")


def audit_action(code: str | None) -> str:
    return AUDIT_ACTIONS.get(code, code or "")


def audit_actor(actor: str | None) -> str:
    return AUDIT_ACTORS.get(actor, actor or "")


def audit_target(target: str | None) -> tuple[str, str]:
    """``(kind in Korean, the rest as it was)``: "call list 3월 명단" gives
    ("호출자료", "3월 명단"). A target of no known kind comes back as
    ("", target)."""
    if not target:
        return "", ""
    for kind in sorted(AUDIT_TARGETS, key=len, reverse=True):
        if target == kind or target.startswith(kind + " "):
            rest = target[len(kind):].strip()
            if rest.startswith("of campaign "):          # "call records of campaign 3"
                rest = AUDIT_TARGETS["campaign"] + " " + rest[len("of campaign "):]
            return AUDIT_TARGETS[kind], rest
    return "", target


def audit_detail(detail: dict, tr) -> str:
    """An audit entry's detail in words: its keys (and the values that are
    codes) in Korean through ``tr``, the rest as recorded."""
    def value(v, key: str = "") -> str:
        if key == "mode" and v in PHONE_MODES:
            return tr(PHONE_MODES[v])
        if isinstance(v, bool):
            v = str(v)
        if isinstance(v, str) and v in AUDIT_DETAIL_VALUES:
            return tr(AUDIT_DETAIL_VALUES[v])
        if key == "sha256" and isinstance(v, str) and len(v) > 12:
            return v[:12] + "…"           # enough to tell files apart; the whole hash is in the database
        return str(v)
    return ", ".join(f"{tr(AUDIT_DETAIL_KEYS[k]) if k in AUDIT_DETAIL_KEYS else k}: {value(v, k)}"
                     for k, v in detail.items())


DUPLICATE_OF_ROW = "{row}행에 같은 번호가 이미 있습니다."


def reject_reason(code: str | None) -> str:
    return REJECT_REASONS.get(code, code or "")


def reject_explained(code: str | None, message: str | None, tr=lambda text: text) -> str:
    """What a reject means, through ``tr``: the sentence for its code (a
    duplicate names the row that has the number first, taken from the
    stored message); the stored message itself for a code of no wording."""
    if code == "duplicate":
        first = re.search(r"row (\d+)", message or "")
        if first:
            return tr(DUPLICATE_OF_ROW).format(row=int(first.group(1)))
    if code in REJECT_EXPLAINED:
        return tr(REJECT_EXPLAINED[code])
    return message or ""


def all_labels() -> set[str]:
    """Every Korean word above (the i18n test checks each has an English entry)."""
    words = {PHONE_ERROR, SKIPPED_DNC, EXCLUDED_REACHED, NO_AUDIO_PATH, DUPLICATE_OF_ROW}
    for table in (RESULTS, HUNG_UP_IN, SERVER_REASONS, CALLBACK_STATUSES, CONTACT_STATUSES, PHONE_PROBLEMS,
                  PHONE_STATES, AGENT_STATES, PHONE_MODES, IMAGE_STATUSES, CALL_EVENTS, AUDIT_ACTIONS,
                  AUDIT_ACTORS, AUDIT_TARGETS, AUDIT_DETAIL_KEYS, AUDIT_DETAIL_VALUES, REJECT_REASONS,
                  REJECT_EXPLAINED):
        words.update(table.values())
    return words
