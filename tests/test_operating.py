"""Operating settings validation (pure) and the 운용환경 / 상담원 pages."""

import datetime as dt
import json
import re

import pytest

from server import db, operating

from .conftest import page_text


def test_defaults_are_valid_and_round_trip():
    settings, errors = operating.parse(operating.OperatingSettings().as_dict())
    assert errors == {}
    assert settings == operating.OperatingSettings()


def test_bad_values_name_the_field_and_the_problem():
    _settings, errors = operating.parse({"agent_ring_repeats": "0", "agent_ring_cycle_s": "five",
                                         "call_hours_start": "25:00", "daily_cap_per_phone": "99999"})
    assert errors["agent_ring_repeats"] == "must be from 1 to 20, not 0"
    assert errors["agent_ring_cycle_s"] == "must be a whole number from 2 to 30, not 'five'"
    assert "must be a time like 09:00" in errors["call_hours_start"]
    assert "not 99999" in errors["daily_cap_per_phone"]


def test_calling_hours_must_end_after_they_start():
    _settings, errors = operating.parse({"call_hours_start": "21:00", "call_hours_end": "09:00"})
    assert errors == {"call_hours_end": "the end of calling hours must be after the start"}


def test_calling_hours_are_seoul_time():
    settings = operating.OperatingSettings(call_hours_start="09:00", call_hours_end="21:00")
    # 23:30 UTC is 08:30 in Seoul the next morning: outside; 00:30 UTC is 09:30: inside.
    assert not settings.within_calling_hours(dt.datetime(2026, 5, 1, 23, 30, tzinfo=dt.timezone.utc))
    assert settings.within_calling_hours(dt.datetime(2026, 5, 2, 0, 30, tzinfo=dt.timezone.utc))


def test_settings_page_saves_and_audits(logged_in, client, store):
    form = dict(operating.OperatingSettings().as_dict(), agent_ring_repeats="5",
                call_hours_start="10:00", connect_agent_after_intro="1")
    response = logged_in.post("/settings/", form)
    assert response.status_code == 302
    saved = db.get_setting(store, "operating")
    assert saved["agent_ring_repeats"] == 5 and saved["call_hours_start"] == "10:00"
    assert saved["connect_agent_after_intro"] is True
    entries, _ = db.audit_entries(store, action="settings")
    assert entries[0]["target"] == "operating settings" and "agent_ring_repeats" in entries[0]["detail"]


def test_unchecking_connect_to_agent_is_saved(logged_in, store):
    form = {k: v for k, v in operating.OperatingSettings().as_dict().items()
            if k != "connect_agent_after_intro"}
    assert logged_in.post("/settings/", form).status_code == 302
    assert db.get_setting(store, "operating")["connect_agent_after_intro"] is False


def test_settings_page_shows_errors_and_saves_nothing(logged_in, store):
    form = dict(operating.OperatingSettings().as_dict(), busy_max_attempts="-1")
    response = logged_in.post("/settings/", form)
    assert response.status_code == 400
    assert "must be from 1 to 10, not -1" in page_text(response)
    assert db.get_setting(store, "operating") is None


def test_agent_lines_1001_and_1002_exist_by_default(logged_in, client):
    page = page_text(client.get("/settings/agents"))
    assert "1001" in client.get("/settings/agents").get_data(as_text=True)
    assert "상담원1" in client.get("/settings/agents").get_data(as_text=True)
    assert "상담원" in page


def test_agent_line_edit_add_and_clash(logged_in, store):
    line = db.agent_lines(store)[0]
    response = logged_in.post("/settings/agents", {"id": line["id"], "extension": "1001",
                                                   "name": "김상담", "dial_target": "01055551001",
                                                   "position": "1", "enabled": "1"})
    assert response.status_code == 302
    assert db.agent_line(store, line["id"])["name"] == "김상담"
    assert logged_in.post("/settings/agents", {"extension": "1003", "name": "상담원3",
                                               "position": "3", "enabled": "1"}).status_code == 302
    assert [l["extension"] for l in db.agent_lines(store)] == ["1001", "1002", "1003"]
    clash = logged_in.post("/settings/agents", {"extension": "1002", "name": "dup", "position": "4"})
    assert clash.status_code == 400
    assert "내선번호 1002은(는) 다른 상담원이 이미 쓰고 있습니다." in page_text(clash)
    bad = logged_in.post("/settings/agents", {"extension": "12a", "name": "", "position": "x"})
    assert bad.status_code == 400
    text = page_text(bad)
    assert "내선번호는 숫자 2-8자리여야 합니다: '12a'" in text and "이름은 1-40자로 적으세요." in text
    assert len(db.agent_lines(store)) == 3


def test_a_new_agent_line_is_dialled_at_its_extension_and_goes_last_unless_told(logged_in, store):
    assert logged_in.post("/settings/agents", {"extension": "1005", "name": "상담원5", "position": "",
                                               "enabled": "1"}).status_code == 302
    added = db.agent_lines(store)[-1]
    assert (added["extension"], added["dial_target"], added["position"]) == ("1005", "1005", len(db.agent_lines(store)))
    assert added["enabled"]
    off = logged_in.post("/settings/agents", {"extension": "1006", "name": "상담원6", "dial_target": "",
                                              "position": "0"})
    assert off.status_code == 302 and not db.agent_lines(store)[-1]["enabled"]
    bad = logged_in.post("/settings/agents", {"extension": "1007", "name": "상담원7", "dial_target": "12x",
                                              "position": "1000"})
    assert bad.status_code == 400
    assert "발신 대상은 번호(숫자, *, #, +)여야 합니다: '12x'" in page_text(bad)
    assert "순서는 1부터 999까지의 숫자여야 합니다: '1000'" in page_text(bad)


# -- the election-law bound and keypad refusal ------------------------------------

def seoul(hour, minute):
    return dt.datetime(2026, 5, 1, hour, minute, tzinfo=operating.SEOUL)


@pytest.mark.parametrize("hour, minute, quiet", [(22, 59, False), (23, 0, True), (5, 59, True), (6, 0, False)])
def test_election_quiet_hours_are_23_to_06_seoul_time(hour, minute, quiet):
    assert operating.in_election_quiet_hours(seoul(hour, minute)) is quiet
    # The same instant written in UTC: Seoul is UTC+9 all year.
    assert operating.in_election_quiet_hours(seoul(hour, minute).astimezone(dt.timezone.utc)) is quiet


def test_an_election_campaign_never_calls_in_the_quiet_hours_whatever_the_calling_hours():
    all_day = operating.OperatingSettings(call_hours_start="00:00", call_hours_end="23:59")
    assert operating.calling_refusal("election", all_day, seoul(23, 30)) == "election_hours"
    assert operating.calling_refusal("election", all_day, seoul(5, 59)) == "election_hours"
    assert operating.calling_refusal("election", all_day, seoul(6, 0)) is None
    assert operating.calling_refusal("election", all_day, seoul(22, 59)) is None
    # Other types keep to the manager's calling hours only.
    assert operating.calling_refusal("notice", all_day, seoul(23, 30)) is None
    assert operating.calling_refusal("survey", all_day, seoul(2, 0)) is None


def test_calling_hours_still_apply_to_every_campaign_type():
    office = operating.OperatingSettings(call_hours_start="09:00", call_hours_end="21:00")
    for kind in ("election", "notice", "survey"):
        assert operating.calling_refusal(kind, office, seoul(8, 59)) == "outside_hours"
        assert operating.calling_refusal(kind, office, seoul(21, 0)) == "outside_hours"
        assert operating.calling_refusal(kind, office, seoul(12, 0)) is None
    # In the quiet hours an election campaign gives the stricter reason.
    assert operating.calling_refusal("election", office, seoul(23, 30)) == "election_hours"
    assert operating.calling_refusal("notice", office, seoul(23, 30)) == "outside_hours"


def test_refuse_key_choices():
    assert operating.OperatingSettings().refuse_key == "9"
    for key in ("0", "2", "9", "*", "#", ""):
        settings, errors = operating.parse({"refuse_key": key})
        assert errors == {} and settings.refuse_key == key
    for key in ("1", "10", "a"):
        _settings, errors = operating.parse({"refuse_key": key})
        assert "must be one key of 0, 2-9, * or #" in errors["refuse_key"]


def test_settings_page_offers_the_refusal_key_and_states_the_election_hours(logged_in, client):
    response = client.get("/settings/")
    text = page_text(response)
    assert "수신거부 키" in text and "수신거부 사용 안 함" in text
    assert "곧바로 수신거부에 추가" in text
    assert "예: “수신을 원하지 않으시면 9번을 눌러 주세요.”" in text
    assert "선거운동 캠페인은 위의 발신 시간과 상관없이 23:00–06:00(서울 시간)에는 절대 발신하지 않습니다." in text
    assert re.search(r'<option value="9"\s+selected>9</option>', response.get_data(as_text=True))


def test_refusal_key_is_saved_and_audited(logged_in, client, store):
    form = dict(operating.OperatingSettings().as_dict(), refuse_key="#", connect_agent_after_intro="1")
    assert logged_in.post("/settings/", form).status_code == 302
    assert db.get_setting(store, "operating")["refuse_key"] == "#"
    entries, _ = db.audit_entries(store, action="settings")
    assert json.loads(entries[0]["detail"]) == {"refuse_key": "#"}
    page = client.get("/settings/")
    assert re.search(r'<option value="#"\s+selected>#</option>', page.get_data(as_text=True))
    assert "우물 정(#)을 눌러 주세요" in page_text(page)
    off = dict(form, refuse_key="")
    assert logged_in.post("/settings/", off).status_code == 302
    assert db.get_setting(store, "operating")["refuse_key"] == ""


def test_key_1_is_refused_as_the_refusal_key(logged_in, store):
    form = dict(operating.OperatingSettings().as_dict(), refuse_key="1", connect_agent_after_intro="1")
    response = logged_in.post("/settings/", form)
    assert response.status_code == 400
    assert "refuse_key" not in (db.get_setting(store, "operating") or {})
    text = page_text(response)
    assert "입력값을 확인하세요." in text and "must be one key of 0, 2-9, * or #, or empty (off), not '1'" in text
    # The select still shows the key in force.
    assert re.search(r'<option value="9"\s+selected>9</option>', response.get_data(as_text=True))
