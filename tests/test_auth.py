"""Login with three fields, lock-out, idle expiry, CSRF, allow-list, audit."""

import datetime as dt
import re

import pytest

from server import db
from server.operating import SEOUL

from .conftest import MANAGER_ID, PIN, Manager, page_text


def test_login_needs_all_three_fields(manager):
    response = manager.login(pin="")
    assert response.status_code == 400
    assert "세 항목을 모두 입력하세요." in page_text(response)


def test_login_with_id_password_and_pin_opens_the_console(manager):
    response = manager.login(follow_redirects=True)
    assert response.status_code == 200
    assert "캠페인 준비 상태" in page_text(response)
    assert MANAGER_ID in page_text(response)


def test_console_pages_need_login(client):
    for path in ("/home", "/contacts/", "/ments/", "/images/", "/settings/", "/settings/agents",
                 "/settings/access", "/audit/", "/contacts/do-not-call"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]


def flash_messages(response) -> list[str]:
    return [m.strip() for m in re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>',
                                          response.get_data(as_text=True), re.S)]


def test_wrong_field_is_not_named(app):
    messages = []
    for n, kwargs in enumerate(({"password": "wrong password"}, {"pin": "9999"},
                                {"login_id": "nobody"})):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"127.0.0.{10 + n}"
        response = Manager(client).login(**kwargs)
        assert response.status_code == 401
        messages.append(flash_messages(response))
    # Wrong password, wrong PIN, unknown id: one message, naming no field.
    assert messages[0] == messages[1] == messages[2] == [
        "아이디, 패스워드 또는 관리자비번이 올바르지 않습니다."]


def test_three_failures_lock_the_id_for_a_day(manager, clock, store):
    assert manager.login(pin="0000").status_code == 401
    clock.advance(100)
    assert manager.login(pin="0000").status_code == 401
    clock.advance(100)
    locked = manager.login(pin="0000")
    assert locked.status_code == 429
    assert "계정이 잠겼습니다." in page_text(locked)
    # Even the right credentials are refused while locked, and the page says until when.
    clock.advance(3600)
    response = manager.login()
    assert response.status_code == 429
    ban_ends = dt.datetime.fromtimestamp(clock() - 3600 + 86_400, SEOUL).strftime("%Y-%m-%d %H:%M")
    assert f"계정이 잠겼습니다. {ban_ends} (KST)까지 로그인할 수 없습니다." in page_text(response)
    # A day later the ban is over.
    clock.advance(86_400)
    assert manager.login().status_code == 302
    failures, _total = db.audit_entries(store, action="login", ok=False)
    assert len(failures) >= 4


def test_failures_spread_beyond_the_window_do_not_lock(manager, clock):
    for _ in range(5):
        assert manager.login(pin="0000").status_code == 401
        clock.advance(601)
    assert manager.login().status_code == 302


def test_lockout_by_address_covers_other_ids(manager):
    for login_id in ("a", "b", "c"):
        manager.login(login_id=login_id)
    # Same address, the real manager id: refused because the address is banned.
    assert manager.login().status_code == 429


def test_lockout_settings_are_configurable(app, manager, clock):
    app.config.update(LOCKOUT_MAX_FAILURES=5, LOCKOUT_BAN_S=60)
    for _ in range(4):
        assert manager.login(pin="0000").status_code == 401
    assert manager.login(pin="0000").status_code == 429
    clock.advance(61)
    assert manager.login().status_code == 302


def test_manager_can_unlock_from_access_page(manager, clock, store, client, app):
    for _ in range(3):
        manager.login(login_id="intruder", pin="0000")
    assert db.active_lockouts(store, clock()), "expected a lock-out"
    # The manager logs in from another address and lifts the lock on the id.
    other = app.test_client()
    boss = Manager(other)
    other.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert boss.login().status_code == 302
    page = page_text(other.get("/settings/access"))
    assert "login_id:intruder" in page
    refused = boss.post("/settings/access/unlock", {"key": "login_id:intruder"}, follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다." in page_text(refused)
    assert db.active_lockouts(store, clock()), "unlocked without the PIN"
    boss.post("/settings/access/unlock", {"key": "login_id:intruder", "pin": PIN})
    assert "login_id:intruder" not in page_text(other.get("/settings/access"))
    lifted, _ = db.audit_entries(store, action="unlock", ok=True)
    assert lifted[0]["target"] == "login_id:intruder" and lifted[0]["address"] == "127.0.0.9"


def test_passwords_and_pins_are_stored_hashed(store):
    row = db.manager_by_login(store, MANAGER_ID)
    assert row["password_hash"].startswith("$argon2id$")
    assert row["pin_hash"].startswith("$argon2id$")
    assert PIN not in row["pin_hash"]


def test_session_cookie_is_httponly_and_samesite(manager):
    response = manager.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_csrf_token_are_refused(logged_in, client):
    response = client.post("/settings/", data={"agent_ring_repeats": "4"})
    assert response.status_code == 400
    assert "요청이 만료되었거나 올바르지 않습니다" in page_text(response)
    assert 'value="3"' in client.get("/settings/").get_data(as_text=True)


def test_login_form_needs_csrf_token(client):
    response = client.post("/login", data={"login_id": MANAGER_ID, "password": "x", "pin": "1"})
    assert response.status_code == 400


def test_idle_session_expires(logged_in, client, clock):
    assert client.get("/home").status_code == 200
    clock.advance(29 * 60)
    assert client.get("/home").status_code == 200  # activity resets the idle timer
    clock.advance(31 * 60)
    response = client.get("/home", follow_redirects=True)
    assert "오랫동안 사용하지 않아 로그아웃되었습니다." in page_text(response)
    assert client.get("/home").status_code == 302


def test_logout_ends_the_session(logged_in, client, store):
    response = logged_in.logout()
    assert response.status_code == 302
    assert client.get("/home").status_code == 302
    entries, _ = db.audit_entries(store, action="logout")
    assert entries and entries[0]["actor"] == MANAGER_ID


def test_allow_list_refuses_other_networks(logged_in, client, app):
    response = logged_in.post("/settings/access", {"networks": "172.16.0.0/24", "pin": PIN})
    assert response.status_code == 302
    outsider = app.test_client()
    outsider.environ_base["REMOTE_ADDR"] = "192.168.5.20"
    refused = outsider.get("/login")
    assert refused.status_code == 403
    assert "이 주소에서는 관리자 콘솔에 접속할 수 없습니다." in page_text(refused)
    insider = app.test_client()
    insider.environ_base["REMOTE_ADDR"] = "172.16.0.77"
    assert insider.get("/login").status_code == 200
    # The server PC itself (loopback) is always allowed.
    assert client.get("/home").status_code == 200


def test_bad_allow_list_entry_is_named_and_not_saved(logged_in, store):
    response = logged_in.post("/settings/access", {"networks": "172.16.0.0/24\n300.1.2.3", "pin": PIN})
    assert response.status_code == 400
    assert "'300.1.2.3' is not an IP address or network" in page_text(response)
    assert db.get_setting(store, "console_allow_networks", "") == ""


def test_audit_log_records_logins_and_filters(logged_in, manager, client, store):
    manager.client.application.test_client()
    page = page_text(client.get("/audit/?action=login&ok=1"))
    assert f"{MANAGER_ID} 127.0.0.1 로그인 성공" in page and " login " not in page
    empty = page_text(client.get("/audit/?action=login&ok=0"))
    assert "기록이 없습니다." in empty


def test_english_is_available(manager, client):
    client.get("/lang/en")
    page = page_text(client.get("/login"))
    assert "Manager ID" in page and "Admin PIN" in page


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x", "https://evil.example/x",
                                    "javascript:alert(1)", "/ok\r\nSet-Cookie: x=1"])
def test_a_next_address_never_leaves_the_console(logged_in, client, target):
    """After logging in, switching language, marking an agent away or updating
    a callback, ``next`` may only name a page of this console."""
    lines = logged_in.post("/agents/1/away", {"away": "1", "next": target})
    language = client.get("/lang/ko", query_string={"next": target})
    for answer in (lines, language):
        assert answer.status_code == 302
        location = answer.headers["Location"]
        assert "evil" not in location and "javascript" not in location and "\n" not in location, location
    assert logged_in.post("/agents/1/away", {"away": "", "next": "/callbacks/?status=open"}).headers[
        "Location"] == "/callbacks/?status=open"   # a page of the console is kept


def test_an_unknown_enrolment_key_action_changes_nothing(logged_in, store):
    logged_in.post("/phones/enrol-key", {"action": "new", "pin": PIN})
    key = db.get_setting(store, "phone_enrol_key")
    assert key
    answer = logged_in.post("/phones/enrol-key", {"action": "explode"}, follow_redirects=True)
    assert "알 수 없는 등록 키 작업입니다: 'explode'" in page_text(answer)
    assert db.get_setting(store, "phone_enrol_key") == key
