"""통계: the numbers a manager reads, checked against calls seeded by hand
with answers counted here independently; the definitions as pure functions
with values picked at their edges; the page in-process (Flask test client)."""

import datetime as dt
import re

import pytest

from server import db
from server.calling import policy
from server.reports import period, statistics
from server.reports.statistics import CallFact
from server.security import token_sha256

from . import reports_seed as rs
from .conftest import page_text

DAY = "2026-12-03"
BEFORE = "2026-12-02"


@pytest.fixture
def seeded(app, store, clock, tmp_path):
    """A campaign of 12 voters on two phones: calls on DAY and the day before."""
    clock.now = rs.seoul(DAY, 18)
    numbers = [f"010-5555-{i:04d}" for i in range(12)]
    list_id = rs.seed_list(store, tmp_path, numbers)
    campaign_id = rs.seed_campaign(store, list_id)
    a, b = rs.seed_phone(store, "rack-01"), rs.seed_phone(store, "rack-02")
    line1, line2 = (line["id"] for line in db.agent_lines(store))
    calls = [
        (a, rs.seoul(DAY, 9, 0), rs.no_answer()),
        (a, rs.seoul(DAY, 9, 10), rs.listened(answer_s=8, end_s=38)),                 # talk 30, ring 8
        (b, rs.seoul(DAY, 9, 20), rs.connected(6, 10, 25, 85, line1)),                # press→bridge 15 s
        (b, rs.seoul(DAY, 10, 0), rs.connected(4, 8, 40, 100, line1, missed_lines=(line2,))),  # 32 s: over 20
        (a, rs.seoul(DAY, 10, 30), rs.callback(5, 9, line2)),
        (a, rs.seoul(DAY, 11, 0), rs.refused(5, 15)),
        (b, rs.seoul(DAY, 11, 30), rs.busy()),
        (b, rs.seoul(DAY, 12, 0), rs.failed("the phone asks which SIM to call from")),
        (a, rs.seoul(BEFORE, 9, 0), rs.listened(answer_s=10, end_s=20)),
        (a, rs.seoul(BEFORE, 23, 30), rs.no_answer()),          # 23:30 KST is 14:30 UTC: the day before, hour 23
    ]
    for phone, at, events in calls:
        rs.record_call(store, campaign_id, phone, at, events)
    return {"campaign_id": campaign_id, "list_id": list_id, "phones": (a, b), "lines": (line1, line2)}


def stat_numbers(text: str) -> dict:
    """The summary tiles of the page as {label: value text}."""
    return dict((label, value) for value, label in re.findall(r'<div class="tile" data-item="[^"]+"><b>([^<]*)</b>'
                                                              r'<span>([^<]*)</span>', text))


def test_the_summary_counts_what_the_manager_expects_for_the_day(seeded, logged_in, client):
    page = client.get(f"/statistics/?campaign={seeded['campaign_id']}&start={DAY}&end={DAY}")
    assert page.status_code == 200
    tiles = stat_numbers(page.get_data(as_text=True))
    # 8 calls on DAY; answered: listened, 2 connected, callback, refused = 5.
    assert tiles["발신"] == "8" and tiles["응답"] == "5"
    assert tiles["응답률"] == f"{5 / 8 * 100:.1f}%"
    assert tiles["1번 누름"] == "3" and tiles["상담원 연결"] == "2" and tiles["콜백 요청"] == "1"
    assert tiles["수신거부(키패드)"] == "1"
    # One of three presses reached an agent within 20 s (15 s); the other after 32 s.
    assert tiles["서비스 레벨 (1번 후 20초 안에 연결)"] == f"{1 / 3 * 100:.1f}%"
    # no answer, busy, failed
    assert tiles["미연결·실패"] == "3"
    talk = [38 - 8, 85 - 6, 100 - 4, (9 + 25) - 5, 15 - 5]
    ring = [8, 6, 4, 5, 5]
    assert tiles["평균 통화 시간 (초)"] == f"{sum(talk) / len(talk):,.1f}"
    assert tiles["평균 신호 시간 (초)"] == f"{sum(ring) / len(ring):,.1f}"
    text = page_text(page)
    assert "응답률 = 응답 ÷ 발신" in text, "the definitions are written on the page"


def test_a_wider_period_takes_in_the_day_before(seeded, logged_in, client):
    page = client.get(f"/statistics/?campaign={seeded['campaign_id']}&start={BEFORE}&end={DAY}")
    tiles = stat_numbers(page.get_data(as_text=True))
    assert tiles["발신"] == "10" and tiles["응답"] == "6"


def test_by_hour_puts_a_call_at_2330_kst_in_hour_23_of_the_day_before(seeded, logged_in, client):
    html = client.get(f"/statistics/?campaign={seeded['campaign_id']}&start={DAY}&end={DAY}").get_data(as_text=True)
    hourly = html[html.index('id="table-hourly"'):html.index('id="table-results"')]
    rows = {cells[0]: cells[1:] for cells in
            (re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", hourly, re.S))
            if cells}
    # 시간대 | 기준일 발신 | 기준일 응답 | 기준일 응답률 | 전일 발신 | 전일 응답 | 전일 응답률
    assert rows["09:00"][:2] == ["3", "2"] and rows["09:00"][3:5] == ["1", "1"]
    assert rows["10:00"][:2] == ["2", "2"]
    assert rows["23:00"][3] == "1" and rows["23:00"][0] == "0"
    assert rows["14:00"] == ["0", "0", "–", "0", "0", "–"], "UTC hours are not Seoul hours"


def test_failures_by_cause_and_agents_in_korean(seeded, logged_in, client):
    html = client.get(f"/statistics/?campaign={seeded['campaign_id']}&start={DAY}&end={DAY}").get_data(as_text=True)
    failures = page_text_of(html, "table-failures")
    assert "무응답 1" in failures and "통화중 1" in failures and "폰 오류 1" in failures
    agents = page_text_of(html, "table-agents")
    # 1001: rung twice (two connected calls), answered twice; 1002: rung twice
    # (missed before a connection, and for the callback), no answer twice.
    assert re.search(r"1001 상담원1 2 2 0 100\.0%", agents)
    assert re.search(r"1002 상담원2 2 0 2 0\.0%", agents)
    results = page_text_of(html, "table-results")
    assert "상담원 연결 2" in results and "안내 청취 1" in results and "수신거부 1" in results


def page_text_of(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.index("</section>", start)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[start:end]))


def test_skipped_as_do_not_call_are_counted_for_the_campaign(seeded, logged_in, client, store, clock):
    db.add_do_not_call(store, ["01055550011", "01055550010"], "test")
    page = client.get(f"/statistics/?campaign={seeded['campaign_id']}&start={DAY}&end={DAY}")
    assert stat_numbers(page.get_data(as_text=True))["수신거부 제외"] == "2"


def test_a_campaign_without_dates_runs_from_its_start_to_today(seeded, logged_in, client, store):
    store.execute("UPDATE campaign SET started_at = '2026-11-30T16:00:00+00:00' WHERE id = ?",
                  [seeded["campaign_id"]])          # 01:00 on 1 December in Seoul
    page = client.get(f"/statistics/?campaign={seeded['campaign_id']}")
    html = page.get_data(as_text=True)
    assert 'name="start" value="2026-12-01"' in html and 'name="end" value="2026-12-03"' in html
    assert stat_numbers(html)["발신"] == "10"


@pytest.mark.parametrize("query, message", [
    ("start=2026-13-01", "시작일: 날짜는 YYYY-MM-DD 형식으로 입력하세요 (입력값: 2026-13-01)."),
    ("start=2026-12-03&end=2026-12-01", "종료일(2026-12-01)이 시작일(2026-12-03)보다 앞섭니다."),
    ("start=2024-01-01&end=2026-12-01", "기간은 366일을 넘을 수 없습니다."),
])
def test_a_bad_period_is_refused_naming_the_problem(logged_in, client, query, message):
    page = client.get(f"/statistics/?{query}")
    assert page.status_code == 400
    assert message in page_text(page)


def test_an_unknown_campaign_is_not_found(logged_in, client):
    assert client.get("/statistics/?campaign=999").status_code == 404


def test_the_page_reads_in_english_too(seeded, logged_in, client):
    client.get("/lang/en")
    text = page_text(client.get(f"/statistics/?campaign={seeded['campaign_id']}&start={DAY}&end={DAY}"))
    assert "Answer rate" in text and "By hour" in text and "응답률" not in text


def test_charts_are_svg_drawn_by_the_server_and_need_a_login(seeded, logged_in, client, manager):
    query = f"campaign={seeded['campaign_id']}&start={DAY}&end={DAY}"
    chart = client.get(f"/statistics/charts/hourly.svg?{query}")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert chart.data.lstrip().startswith(b"<?xml") and b"<script" not in chart.data
    assert client.get(f"/statistics/charts/nope.svg?{query}").status_code == 404
    manager.logout()
    assert client.get(f"/statistics/charts/hourly.svg?{query}").status_code == 302


def test_the_nav_bar_and_the_campaign_page_lead_to_statistics(seeded, logged_in, client):
    html = client.get(f"/campaigns/{seeded['campaign_id']}").get_data(as_text=True)
    assert f'href="/statistics/?campaign={seeded["campaign_id"]}"' in html
    assert 'href="/statistics/"' in html


# -- phone problems -------------------------------------------------------------------

def test_a_phone_whose_battery_runs_low_twice_shows_two_battery_problems(app, store, clock, logged_in, client):
    clock.now = rs.seoul(DAY, 9)
    engine = app.extensions["ars_engine"]
    token = "rack-07".ljust(43, "x")
    phone_id = db.create_phone(store, name="rack-07", mode="sim", token_sha256=token_sha256(token))
    engine.reload_phone(phone_id)
    engine.roster.connected(engine.authenticate({"token": token, "protocol": 1}), "sid-7")
    engine.hello(phone_id, {"agent": "t", "mode": "sim", "backend": "sim"})
    beats = [{"battery": 50, "charging": False}, {"battery": 15, "charging": False},
             {"battery": 14, "charging": False},                 # still low: the same problem
             {"battery": 14, "charging": True}, {"battery": 12, "charging": False},
             {"battery": 12, "charging": False, "network": "lte", "signal": 1}]
    for beat in beats:
        clock.advance(5)
        engine.heartbeat(phone_id, {"call_state": "idle", **beat})
    html = client.get(f"/statistics/?start={DAY}&end={DAY}").get_data(as_text=True)
    phones = page_text_of(html, "table-phones")
    # 폰 발신 응답 응답률 미연결·실패 | 배터리 부족 신호 약함 네트워크 없음 SIM 문제 기기 끊김
    assert re.search(r"rack-07 0 0 – 0 2 1 0 0 0", phones), phones


def test_health_problems_are_read_from_a_heartbeat():
    assert policy.health_problems({"battery": 19, "charging": False}) == {"low_battery"}
    assert policy.health_problems({"battery": 20, "charging": False}) == set()
    assert policy.health_problems({"battery": 5, "charging": True}) == set()
    assert policy.health_problems({"signal": 1, "network": "lte"}) == {"weak_signal"}
    assert policy.health_problems({"signal": 0, "network": "wifi"}) == set(), "a Wi-Fi phone has no cell bars"
    assert policy.health_problems({"network": "none", "sim": "absent", "device": "unavailable"}) == \
        {"no_network", "sim", "device_unavailable"}


# -- the definitions, pure ---------------------------------------------------------------

def fact(**kw) -> CallFact:
    return CallFact(**{"phone_id": 1, "dialed_at": 1_800_000_000.0, **kw})


def test_service_level_counts_a_bridge_at_exactly_20_seconds_and_not_after():
    t = 1_800_000_000.0
    at_20 = fact(answered_at=t + 5, press_at=t + 10, bridged_at=t + 30, ended_at=t + 60, result="connected",
                 pressed_one=True)
    after = fact(answered_at=t + 5, press_at=t + 10, bridged_at=t + 30.5, ended_at=t + 60, result="connected",
                 pressed_one=True)
    assert statistics.within_service_level(at_20) and not statistics.within_service_level(after)
    counts = statistics.Counts()
    for c in (at_20, after, fact(pressed_one=True, answered_at=t + 5, result="callback_requested")):
        counts.add(c)
    assert counts.service_level == pytest.approx(1 / 3)


def test_rates_of_nothing_are_not_zero_but_unknown():
    counts = statistics.Counts()
    assert counts.answer_rate is None and counts.service_level is None and counts.mean_talk_s is None


def test_failure_causes_name_the_servers_reasons_and_group_the_phones():
    from server.reports import labels
    assert labels.failure_cause("failed", "phone_lost") == "폰 연결 끊김"
    assert labels.failure_cause("failed", "call_too_long") == "통화 시간 초과"
    assert labels.failure_cause("failed", "script error: KeyError") == "폰 오류"
    assert labels.failure_cause("busy", None) == "통화중"


def test_a_period_is_seoul_days_whatever_the_server_zone():
    chosen = period.parse("2026-12-03", "2026-12-03", now=rs.seoul(DAY, 12))
    assert chosen.start == dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.timezone.utc).timestamp()
    assert chosen.end - chosen.start == 86400
    assert period.parse("", "", now=rs.seoul(DAY, 0, 30)).first == dt.date(2026, 12, 3)
