"""The columns of every export and statistics table, defined once.

A :class:`Column` has a Korean header, a ``value(row)`` and a kind that
says how a writer shows it (``text``, ``label`` (a Korean word, translated
with the headers), ``int``, ``seconds``, ``percent``, ``time`` (epoch
seconds shown in Seoul), ``iso`` (an ISO 8601 UTC text shown in Seoul)).
The page, the .xlsx, the CSV and the PDF all read these, so a column is
named and worded the same everywhere.

Pure: phone numbers go through the ``number`` function the caller picks
(masked ``010-****-5678`` by default, or written out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import labels


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict], object]
    kind: str = "text"


def _get(key):
    return lambda row: row.get(key)


# -- exports ---------------------------------------------------------------------------

def call_columns(number: Callable[[str], str]) -> list[Column]:
    """통화 기록: one row per call."""
    return [
        Column("통화 ID", _get("id")),
        Column("캠페인", _get("campaign_name")),
        Column("폰", _get("phone_name")),
        Column("전화번호", lambda r: number(r["number"])),
        Column("시도", _get("attempt"), "int"),
        Column("배정 시각", _get("leased_at"), "time"),
        Column("발신 시각", _get("dialed_at"), "time"),
        Column("응답 시각", _get("answered_at"), "time"),
        Column("상담원 연결 시각", _get("bridged_at"), "time"),
        Column("종료 시각", _get("ended_at"), "time"),
        Column("결과", lambda r: labels.result(r["result"]) if r["result"] else labels.phone_state(r["state"]), "label"),
        Column("중간 종료 단계", lambda r: labels.hung_up_in(r["hung_up_in"]), "label"),
        Column("사유", lambda r: labels.reason(r["reason"]), "label"),
        Column("1번 누름", lambda r: "예" if r["pressed_one"] else "", "label"),
        Column("연결된 상담원", lambda r: r["agent_extension"] if r["bridged_at"] else None),
        Column("통화 시간 (초)", lambda r: (r["ended_at"] - r["answered_at"])
               if r["answered_at"] and r["ended_at"] else None, "seconds"),
    ]


def callback_columns(number: Callable[[str], str]) -> list[Column]:
    """콜백 처리: one row per callback request."""
    return [
        Column("요청 시각", _get("created_at"), "iso"),
        Column("캠페인", _get("campaign_name")),
        Column("이름", _get("name")),
        Column("전화번호", lambda r: number(r["number"])),
        Column("상태", lambda r: labels.CALLBACK_STATUSES.get(r["status"], r["status"]), "label"),
        Column("메모", _get("note")),
        Column("처리 시각", lambda r: r["updated_at"] if r["status"] != "requested" else None, "iso"),
    ]


def campaign_result_columns(number: Callable[[str], str]) -> list[Column]:
    """캠페인 결과: one row per voter with the final result."""
    return [
        Column("행", _get("row_number"), "int"),
        Column("이름", _get("name")),
        Column("전화번호", lambda r: number(r["number"])),
        Column("주소", _get("address")),
        Column("시도", _get("attempts"), "int"),
        Column("최종 결과", lambda r: labels.contact_final(r["status"], r["last_result"]), "label"),
        Column("중간 종료 단계", lambda r: labels.hung_up_in(r["hung_up_in"]), "label"),
        Column("마지막 통화 종료", _get("last_call_at"), "time"),
        Column("콜백", lambda r: labels.CALLBACK_STATUSES.get(r["callback_status"], "")
               if r["callback_status"] else "", "label"),
    ]


def contact_columns(number: Callable[[str], str]) -> list[Column]:
    """호출자료: the imported list as stored."""
    return [
        Column("행", _get("row_number"), "int"),
        Column("전화번호", lambda r: number(r["phone"])),
        Column("이름", _get("name")),
        Column("주소", _get("address")),
        Column("기타 항목", _get("extra")),
    ]


# -- statistics -------------------------------------------------------------------------

def summary_rows(stats) -> list[dict]:
    """The summary as rows of (항목, 값) with each value's kind."""
    s = stats.summary
    return [
        {"item": "발신", "value": s.calls, "kind": "int"},
        {"item": "응답", "value": s.answered, "kind": "int"},
        {"item": "응답률", "value": s.answer_rate, "kind": "percent"},
        {"item": "1번 누름", "value": s.pressed_one, "kind": "int"},
        {"item": "상담원 연결", "value": s.connected, "kind": "int"},
        {"item": "서비스 레벨 (1번 후 20초 안에 연결)", "value": s.service_level, "kind": "percent"},
        {"item": "콜백 요청", "value": s.callbacks, "kind": "int"},
        {"item": "수신거부(키패드)", "value": s.refused, "kind": "int"},
        {"item": "수신거부 제외", "value": stats.skipped_dnc, "kind": "int"},
        {"item": "미연결·실패", "value": s.failed, "kind": "int"},
        {"item": "평균 통화 시간 (초)", "value": s.mean_talk_s, "kind": "seconds"},
        {"item": "평균 신호 시간 (초)", "value": s.mean_ring_s, "kind": "seconds"},
    ]


SUMMARY_COLUMNS = [Column("항목", _get("item"), "label"),
                   Column("값", _get("value"), "mixed")]

HOURLY_COLUMNS = [
    Column("시간대", lambda r: f"{r['hour']:02d}:00"),
    Column("기준일 발신", _get("day_calls"), "int"),
    Column("기준일 응답", _get("day_answered"), "int"),
    Column("기준일 응답률", _get("day_rate"), "percent"),
    Column("전일 발신", _get("before_calls"), "int"),
    Column("전일 응답", _get("before_answered"), "int"),
    Column("전일 응답률", _get("before_rate"), "percent"),
]

RESULT_COLUMNS = [
    Column("결과", _get("label"), "label"),
    Column("건수", _get("calls"), "int"),
    Column("비율", _get("share"), "percent"),
]

FAILURE_COLUMNS = [
    Column("원인", _get("cause"), "label"),
    Column("건수", _get("calls"), "int"),
    Column("비율", _get("share"), "percent"),
]

PHONE_COLUMNS = [
    Column("폰", _get("name")),
    Column("발신", _get("calls"), "int"),
    Column("응답", _get("answered"), "int"),
    Column("응답률", _get("answer_rate"), "percent"),
    Column("미연결·실패", _get("failed"), "int"),
    *(Column(label, (lambda kind: lambda r: r["problems"].get(kind, 0))(kind), "int")
      for kind, label in labels.PHONE_PROBLEMS.items()),
]

AGENT_COLUMNS = [
    Column("내선번호", _get("extension")),
    Column("이름", _get("name")),
    Column("호출", _get("rung"), "int"),
    Column("응답", _get("answered"), "int"),
    Column("무응답", _get("no_answer"), "int"),
    Column("응답률", _get("answer_rate"), "percent"),
    Column("통화 시간 합계 (초)", _get("talk_s"), "seconds"),
    Column("평균 통화 시간 (초)", _get("mean_talk_s"), "seconds"),
]


STATISTICS_TABLES = ("summary", "hourly", "results", "failures", "phones", "agents")


def statistics_tables(stats) -> list[tuple[str, str, list[Column], list[dict]]]:
    """(key, Korean title, columns, rows) of every statistics table, in page order."""
    return [
        ("summary", "요약", SUMMARY_COLUMNS, summary_rows(stats)),
        ("hourly", "시간대별", HOURLY_COLUMNS, stats.hourly),
        ("results", "결과별", RESULT_COLUMNS, stats.by_result),
        ("failures", "미연결·실패 원인", FAILURE_COLUMNS, stats.failures),
        ("phones", "폰별", PHONE_COLUMNS, stats.by_phone),
        ("agents", "상담원별", AGENT_COLUMNS, stats.by_agent),
    ]


def all_headers() -> set[str]:
    """Every Korean header and item above (for the i18n check)."""
    from .statistics import Counts, Statistics
    import datetime as dt
    words = set()
    for make in (call_columns, callback_columns, campaign_result_columns, contact_columns):
        words.update(c.header for c in make(str))
    for columns in (SUMMARY_COLUMNS, HOURLY_COLUMNS, RESULT_COLUMNS, FAILURE_COLUMNS, PHONE_COLUMNS,
                    AGENT_COLUMNS):
        words.update(c.header for c in columns)
    empty = Statistics(Counts(), 0, [], [], [], [], [], dt.date(2026, 1, 1), dt.date(2025, 12, 31))
    for _key, title, _columns, _rows in statistics_tables(empty):
        words.add(title)
    words.update(row["item"] for row in summary_rows(empty))
    words.add("예")
    return words
