"""Console sessions held on the server, written as the attacks they stop:
a copied cookie, a changed password, a disabled manager, an idle or day-old
session, guessing the admin PIN; and the lock-out the operator can lift."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from server import db
from server.cli import cli
from server.contacts import importer
from server.storage import UploadStore

from .conftest import MANAGER_ID, PASSWORD, PIN, Manager, page_text

VOTER = "010-2345-6789"


@pytest.fixture
def call_list(app, store, tmp_path) -> int:
    """A call list holding a voter's name and number (what a stolen cookie is after)."""
    path = tmp_path / "voters.csv"
    path.write_text(f"이름,전화번호\n홍길동,{VOTER}\n김영희,010-3456-7890\n", encoding="utf-8")
    result = importer.import_file(store, UploadStore(app.config["UPLOADS"]), path, name="1차 발신")
    return db.contact_lists(store)[0]["id"] if result else 0


def copy_cookie(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None, "the manager's browser has no session cookie"
    thief.set_cookie("session", cookie.value)
    return thief


def shows_voters(response) -> bool:
    return response.status_code == 200 and "홍길동" in page_text(response)


def ars(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_cookie_carries_only_a_random_session_id(logged_in, client, store):
    from flask.sessions import SecureCookieSessionInterface
    app = client.application
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    data = serializer.loads(client.get_cookie("session").value)
    assert "manager_id" not in data and "last_seen" not in data
    assert len(data["sid"]) >= 43            # 32 random bytes, URL-safe base64
    # The database keeps only its SHA-256: a copy of it holds no usable cookie.
    rows = db.open_sessions(store, idle_since=0, created_since=0)
    assert len(rows) == 1 and data["sid"] not in str(rows[0])


def test_a_cookie_copied_before_logout_cannot_open_a_call_list(logged_in, client, app, call_list):
    thief = copy_cookie(app, client)
    assert shows_voters(thief.get(f"/contacts/{call_list}"))     # the copy works while logged in
    logged_in.logout()
    refused = thief.get(f"/contacts/{call_list}")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert not shows_voters(thief.get(f"/contacts/{call_list}", follow_redirects=True))


def test_after_a_password_change_an_old_cookie_is_refused(logged_in, client, app, call_list, store):
    thief = copy_cookie(app, client)
    output = ars("create-manager", "--db", app.config["DATABASE"], "--id", MANAGER_ID,
                 "--password", "a new long secret", "--pin", "1357", "--update")
    assert "1 console session(s) ended" in output
    for browser in (client, thief):
        answer = browser.get(f"/contacts/{call_list}", follow_redirects=True)
        assert not shows_voters(answer)
        assert "패스워드가 바뀌어 로그아웃되었습니다." in page_text(answer)
    assert Manager(app.test_client()).login(password="a new long secret", pin="1357").status_code == 302


def test_a_disabled_managers_session_cannot_read_a_call_list(logged_in, client, app, call_list):
    assert shows_voters(client.get(f"/contacts/{call_list}"))
    ars("disable-manager", "--db", app.config["DATABASE"], "--id", MANAGER_ID)
    answer = client.get(f"/contacts/{call_list}", follow_redirects=True)
    assert not shows_voters(answer)
    assert "사용이 중지된 관리자 아이디입니다." in page_text(answer)
    # Nor can the right password and PIN log in again, until enabled.
    relogin = Manager(app.test_client()).login()
    assert relogin.status_code == 403 and "사용이 중지된 관리자 아이디입니다." in page_text(relogin)
    ars("disable-manager", "--db", app.config["DATABASE"], "--id", MANAGER_ID, "--enable")
    assert Manager(app.test_client()).login().status_code == 302


def test_an_idle_session_ends_on_the_server_too(logged_in, client, app, clock, call_list, store):
    thief = copy_cookie(app, client)
    clock.advance(1801)
    # Whoever comes first after the idle time, the session is over for both.
    answer = thief.get(f"/contacts/{call_list}", follow_redirects=True)
    assert not shows_voters(answer) and "오랫동안 사용하지 않아 로그아웃되었습니다." in page_text(answer)
    assert client.get(f"/contacts/{call_list}").status_code == 302
    assert db.open_sessions(store, idle_since=0, created_since=0) == []


def test_a_busy_session_still_ends_a_day_after_login(logged_in, client, clock, call_list):
    for _step in range(72):                # used every 20 minutes, 24 hours long …
        clock.advance(20 * 60)
        assert shows_voters(client.get(f"/contacts/{call_list}"))
    clock.advance(61)                      # … but 24 h after the log-in it is over
    answer = client.get(f"/contacts/{call_list}", follow_redirects=True)
    assert not shows_voters(answer)
    assert "로그인한 지 24시간이 지나 로그아웃되었습니다." in page_text(answer)


def test_five_wrong_pins_end_the_session(logged_in, client, app, store, call_list):
    thief = copy_cookie(app, client)
    for attempt in range(4):
        answer = logged_in.post(f"/contacts/{call_list}/delete", {"pin": f"000{attempt}"},
                                follow_redirects=True)
        assert "관리자비번이 올바르지 않습니다." in page_text(answer)
    fifth = logged_in.post(f"/contacts/{call_list}/delete", {"pin": "0009"})
    assert fifth.status_code == 302 and fifth.headers["Location"].endswith("/login")
    login_page = client.get("/login")
    assert "관리자비번을 여러 번 잘못 입력하여 로그아웃되었습니다." in page_text(login_page)
    assert "로그인" in page_text(login_page) and 'name="password"' in login_page.get_data(as_text=True)
    # The session is over in every browser that holds it; the list was not deleted.
    assert not shows_voters(thief.get(f"/contacts/{call_list}", follow_redirects=True))
    assert [row["id"] for row in db.contact_lists(store)] == [call_list]
    ended, _ = db.audit_entries(store, action="session", ok=False)
    assert ended and ended[0]["actor"] == MANAGER_ID and "wrong PIN" in ended[0]["detail"]
    refused, _ = db.audit_entries(store, action="delete", ok=False)
    assert len(refused) == 5


def test_a_right_pin_does_not_count_towards_the_five(logged_in, store, call_list):
    db.add_do_not_call(store, ["01099998888"])
    for _ in range(4):
        logged_in.post("/contacts/do-not-call/remove", {"phone": "01099998888", "pin": "0000"})
    assert logged_in.post("/contacts/do-not-call/remove", {"phone": "01099998888", "pin": PIN}
                          ).headers["Location"].endswith("/contacts/do-not-call")
    assert db.do_not_call_numbers(store) == set()


# -- every destructive or security action asks the admin PIN -----------------------

def _agent_line(store):
    return db.agent_lines(store)[0]


DESTRUCTIVE = {
    # name: (path of the POST, its form, what must still hold when refused)
    "delete an agent line": (lambda s, ids: f"/settings/agents/{_agent_line(s)['id']}/delete", {},
                             lambda s, ids: len(db.agent_lines(s)) == 2),
    "remove a do-not-call number": (lambda s, ids: "/contacts/do-not-call/remove", {"phone": "01099998888"},
                                    lambda s, ids: db.do_not_call_numbers(s) == {"01099998888"}),
    "new enrolment key": (lambda s, ids: "/phones/enrol-key", {"action": "new"},
                          lambda s, ids: db.get_setting(s, "phone_enrol_key") == "old-key"),
    "turn the enrolment key off": (lambda s, ids: "/phones/enrol-key", {"action": "disable"},
                                   lambda s, ids: db.get_setting(s, "phone_enrol_key") == "old-key"),
    "change the allow-list": (lambda s, ids: "/settings/access", {"networks": "10.0.0.0/8"},
                              lambda s, ids: db.get_setting(s, "console_allow_networks", "") == ""),
    "lift a lock-out": (lambda s, ids: "/settings/access/unlock", {"key": "login_id:intruder"},
                        lambda s, ids: [r["key"] for r in db.active_lockouts(s, 0)] == ["login_id:intruder"]),
    "renew a phone's token": (lambda s, ids: f"/phones/{ids['phone']}/token", {},
                              lambda s, ids: db.phone_by_token(s, "sha-of-old-token") is not None),
    "disable a phone": (lambda s, ids: f"/phones/{ids['phone']}", {"name": "rack-01"},
                        lambda s, ids: db.phone(s, ids["phone"])["enabled"] == 1),
    "delete a phone": (lambda s, ids: f"/phones/{ids['phone']}/delete", {},
                       lambda s, ids: [p["id"] for p in db.phones(s)] == [ids["phone"]]),
    "delete a call list": (lambda s, ids: f"/contacts/{ids['list']}/delete", {},
                           lambda s, ids: any(row["id"] == ids["list"] for row in db.contact_lists(s))),
    "stop the campaign": (lambda s, ids: f"/campaigns/{ids['campaign']}/stop", {"stop_confirmed": "1"},
                          lambda s, ids: db.campaign(s, ids["campaign"])["state"] == "ready"),
    "end a session": (lambda s, ids: f"/settings/access/sessions/{ids['session']}/end", {},
                      lambda s, ids: len(db.open_sessions(s, idle_since=0, created_since=0)) == 1),
}


@pytest.mark.parametrize("action", DESTRUCTIVE)
@pytest.mark.parametrize("pin", ["", "0000"], ids=["no PIN", "wrong PIN"])
def test_each_destructive_action_refuses_without_the_admin_pin(action, pin, app, logged_in, store, call_list):
    db.add_do_not_call(store, ["01099998888"])
    db.put_setting(store, "phone_enrol_key", "old-key")
    db.set_lockout(store, "login_id:intruder", 4_000_000_000)
    ids = {"phone": db.create_phone(store, name="rack-01", mode="sim", token_sha256="sha-of-old-token"),
           "list": call_list, "session": db.open_sessions(store, idle_since=0, created_since=0)[0]["id"]}
    if action == "stop the campaign":
        from server import sample
        ids["campaign"] = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=3,
                                               intro_s=0.2, promise_s=0.2)["campaign_id"]
    path, form, unchanged = DESTRUCTIVE[action]
    data = dict(form, **({"pin": pin} if pin else {}))
    answer = logged_in.post(path(store, ids), data, follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다." in page_text(answer), action
    assert unchanged(store, ids), f"{action} happened without the admin PIN"
    # With the PIN the same request does it.
    logged_in.post(path(store, ids), dict(form, pin=PIN))
    assert not unchanged(store, ids), f"{action} did not happen with the admin PIN"


# -- the lock-out the operator can live with ------------------------------------

def lock_out(app, address="127.0.0.5"):
    intruder = app.test_client()
    intruder.environ_base["REMOTE_ADDR"] = address
    for _ in range(3):
        Manager(intruder).login(pin="0000")
    return intruder


def test_the_login_page_states_the_lock_out_rule_before_the_first_try(client, app):
    page = page_text(client.get("/login"))
    assert "10분 안에 로그인에 3번 실패하면 그 아이디와 접속 주소가 24시간 동안 잠깁니다." in page
    app.config.update(LOCKOUT_MAX_FAILURES=5, LOCKOUT_BAN_S=1800)
    assert "로그인에 5번 실패하면 그 아이디와 접속 주소가 30분 동안 잠깁니다." in page_text(client.get("/login"))
    client.get("/lang/en")
    assert "5 failed logins within 10 min lock that ID and that address for 30 min." in \
        page_text(client.get("/login"))


def test_ars_unlock_lists_without_lifting_then_lifts_the_id_and_the_address(app, store, clock):
    lock_out(app)
    assert Manager(app.test_client()).login().status_code == 429          # the real manager is locked out
    listed = ars("unlock", "--db", app.config["DATABASE"])
    assert "login_id:manager" in listed and "address:127.0.0.5" in listed
    assert len(db.active_lockouts(store, clock())) == 2                   # listing lifts nothing
    lifted = ars("unlock", "--db", app.config["DATABASE"], "--id", MANAGER_ID, "--address", "127.0.0.5")
    assert "lifted: login_id:manager" in lifted and "lifted: address:127.0.0.5" in lifted
    assert db.active_lockouts(store, clock()) == []
    assert Manager(app.test_client()).login().status_code == 302
    entries, _ = db.audit_entries(store, action="unlock")
    assert {e["target"] for e in entries} == {"login_id:manager", "address:127.0.0.5"}
    locks, _ = db.audit_entries(store, action="lockout")
    assert locks and locks[0]["address"] == "127.0.0.5"


def test_ars_unlock_all_and_its_bad_combination(app, store, clock):
    lock_out(app)
    bad = CliRunner().invoke(cli, ["unlock", "--db", app.config["DATABASE"], "--all", "--id", "x"])
    assert bad.exit_code != 0 and "--all lifts every lock-out" in bad.output
    assert len(db.active_lockouts(store, clock())) == 2
    ars("unlock", "--db", app.config["DATABASE"], "--all")
    assert db.active_lockouts(store, clock()) == []


def test_create_manager_update_lifts_the_lock_out_of_the_id(app, store, clock):
    lock_out(app, address="127.0.0.6")
    output = ars("create-manager", "--db", app.config["DATABASE"], "--id", MANAGER_ID,
                 "--password", PASSWORD, "--pin", PIN, "--update")
    assert "lock-out lifted: login_id:manager" in output
    assert "still locked: address:127.0.0.6 (lift it with: ars unlock --address 127.0.0.6)" in output
    assert Manager(app.test_client()).login().status_code == 302          # from another address


def test_the_access_page_lists_open_sessions_and_ends_one(app, logged_in, client, store, call_list):
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "127.0.0.8"
    assert Manager(other).login().status_code == 302
    page = client.get("/settings/access").get_data(as_text=True)
    keys = re.findall(r'/settings/access/sessions/([0-9a-f]{64})/end', page)
    assert len(keys) == 2 and "127.0.0.8" in page
    theirs = next(row["id"] for row in db.open_sessions(store, idle_since=0, created_since=0)
                  if row["address"] == "127.0.0.8")
    logged_in.post(f"/settings/access/sessions/{theirs}/end", {"pin": PIN})
    answer = other.get(f"/contacts/{call_list}", follow_redirects=True)
    assert not shows_voters(answer) and "관리자가 이 접속을 끝냈습니다." in page_text(answer)
    assert shows_voters(client.get(f"/contacts/{call_list}"))


def test_an_allow_list_change_ends_sessions_from_excluded_addresses(app, logged_in, client, call_list):
    outside = app.test_client()
    outside.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert Manager(outside).login().status_code == 302
    assert shows_voters(outside.get(f"/contacts/{call_list}"))
    logged_in.post("/settings/access", {"networks": "172.16.0.0/24", "pin": PIN})
    assert outside.get(f"/contacts/{call_list}").status_code == 403
    # Even if the list is opened again, that session stays ended.
    logged_in.post("/settings/access", {"networks": "", "pin": PIN})
    answer = outside.get(f"/contacts/{call_list}", follow_redirects=True)
    assert not shows_voters(answer)
    assert "접근관리에서 이 주소를 허용하지 않아 로그아웃되었습니다." in page_text(answer)
