"""폰 등록 and the phone HTTP endpoints: tokens and QR codes, join requests,
the enrolment key, assets by hash, the phone_agent package; campaigns,
callbacks and call records pages."""

import hashlib
import io
import json
import re
import tarfile

from server import db, sample
from server.security import token_sha256

from .conftest import PIN, page_text


def register(logged_in, name="rack-01", mode="router"):
    response = logged_in.post("/phones/register", {"name": name, "mode": mode, "group": "A"})
    token = re.search(r'<code id="issued-token">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    return response, token


def test_registering_a_phone_shows_its_token_once_with_a_qr_code(logged_in, client, store):
    response, token = register(logged_in)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'src="data:image/svg+xml' in html                 # the QR code (segno)
    assert "이 토큰은 지금 한 번만 보입니다" in page_text(response)
    (phone,) = db.phones(store)
    assert (phone["name"], phone["mode"], phone["group_name"]) == ("rack-01", "router", "A")
    assert phone["token_sha256"] == token_sha256(token) and token not in json.dumps(phone)
    assert token not in client.get("/phones/").get_data(as_text=True)   # never shown again


def test_reissuing_a_token_invalidates_the_old_one(logged_in, store):
    _response, old = register(logged_in)
    phone_id = db.phones(store)[0]["id"]
    refused = logged_in.post(f"/phones/{phone_id}/token", follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다." in page_text(refused)
    assert db.phone_by_token(store, token_sha256(old))["id"] == phone_id   # the old token still works
    reissued = logged_in.post(f"/phones/{phone_id}/token", {"pin": PIN}).get_data(as_text=True)
    new = re.search(r'<code id="issued-token">([^<]+)</code>', reissued).group(1)
    assert new != old
    assert db.phone_by_token(store, token_sha256(old)) is None
    assert db.phone_by_token(store, token_sha256(new))["id"] == phone_id


def test_phone_rename_group_disable_and_delete(logged_in, store):
    register(logged_in)
    phone_id = db.phones(store)[0]["id"]
    refused = logged_in.post(f"/phones/{phone_id}", {"name": "rack-99", "group": "B"}, follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다." in page_text(refused)      # disabling asks the PIN
    assert db.phone(store, phone_id)["enabled"] == 1
    logged_in.post(f"/phones/{phone_id}", {"name": "rack-99", "group": "B", "pin": PIN})
    phone = db.phone(store, phone_id)
    assert (phone["name"], phone["group_name"], phone["enabled"]) == ("rack-99", "B", 0)
    nameless = logged_in.post(f"/phones/{phone_id}", {"name": "  ", "group": "C", "enabled": "1"},
                              follow_redirects=True)
    assert "폰 이름은 1-60자로 적으세요." in page_text(nameless)
    assert db.phone(store, phone_id)["group_name"] == "B"          # nothing changed
    logged_in.post(f"/phones/{phone_id}", {"name": " rack-98 ", "group": "", "enabled": ""})
    phone = db.phone(store, phone_id)
    assert (phone["name"], phone["group_name"], phone["enabled"]) == ("rack-98", None, 1)
    wrong = logged_in.post(f"/phones/{phone_id}/delete", {"pin": "0000"}, follow_redirects=True)
    assert "관리자비번이 올바르지 않습니다." in page_text(wrong)
    logged_in.post(f"/phones/{phone_id}/delete", {"pin": PIN})
    assert db.phones(store) == []


def test_bad_registration_is_refused(logged_in, store):
    response = logged_in.post("/phones/register", {"name": "", "mode": "satellite"})
    assert response.status_code == 400
    assert "폰 이름(1-60자)과 접속 방식(공유기접속 또는 인터넷연결)을 정하세요." in page_text(response)
    assert db.phones(store) == []


def test_join_request_waits_for_the_manager_then_the_token_is_given_once(logged_in, client, store):
    asked = client.post("/api/phones/join", json={"name": "갤럭시-07", "mode": "internet",
                                                  "device": {"model": "SM-A515F"}})
    assert asked.status_code == 202
    request_id, secret = asked.get_json()["request_id"], asked.get_json()["poll_secret"]
    poll = lambda: client.get(f"/api/phones/join/{request_id}", headers={"X-Poll-Secret": secret})
    assert poll().get_json() == {"status": "pending"}
    assert client.get(f"/api/phones/join/{request_id}", headers={"X-Poll-Secret": "guess"}).status_code == 404
    assert "갤럭시-07" in page_text(client.get("/phones/"))
    logged_in.post(f"/phones/join/{request_id}/approve")
    approved = poll().get_json()
    assert approved["status"] == "approved" and approved["token"]
    assert db.phone_by_token(store, token_sha256(approved["token"]))["name"] == "갤럭시-07"
    assert "token" not in poll().get_json()               # given once


def test_enrolment_key_lets_phones_join_without_approval(logged_in, client, store):
    refused = client.post("/api/phones/join", json={"name": "sim-1", "mode": "sim", "enrol_key": "nope"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "bad_enrol_key"
    logged_in.post("/phones/enrol-key", {"action": "new"})
    assert db.get_setting(store, "phone_enrol_key") is None     # no key without the admin PIN
    logged_in.post("/phones/enrol-key", {"action": "new", "pin": PIN})
    key = db.get_setting(store, "phone_enrol_key")
    joined = client.post("/api/phones/join", json={"name": "sim-1", "mode": "sim", "enrol_key": key})
    assert joined.status_code == 201 and joined.get_json()["status"] == "approved"
    logged_in.post("/phones/enrol-key", {"action": "disable"})
    assert db.get_setting(store, "phone_enrol_key") == key      # still on without the PIN
    logged_in.post("/phones/enrol-key", {"action": "disable", "pin": PIN})
    again = client.post("/api/phones/join", json={"name": "sim-2", "mode": "sim", "enrol_key": key})
    assert again.status_code == 403
    assert [p["name"] for p in db.phones(store)] == ["sim-1"]


def test_malformed_join_requests_are_refused(client, store):
    for body in (None, {"name": "x"}, {"name": "x", "mode": "router", "admin": True},
                 {"name": "x" * 61, "mode": "router"}, {"name": "   ", "mode": "router"}):
        response = client.post("/api/phones/join", json=body) if body is not None else \
            client.post("/api/phones/join", data="not json")
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "bad_payload"
    assert db.join_requests(store) == []


def test_assets_are_served_by_hash_to_phones_with_a_token(app, client, store, tmp_path):
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=5)
    token = "t" * 43
    db.create_phone(store, name="p", mode="sim", token_sha256=token_sha256(token))
    intro = seeded["assets"]["intro"][0]
    assert client.get(f"/api/assets/{intro}").status_code == 401
    assert client.get(f"/api/assets/{intro}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    with client.get(f"/api/assets/{intro}", headers={"Authorization": f"Bearer {token}"}) as got:
        assert got.status_code == 200 and got.mimetype == "audio/wav"
        assert hashlib.sha256(got.data).hexdigest() == intro
    with client.get(f"/api/assets/{seeded['assets']['outgoing_image']}",
                    headers={"Authorization": f"Bearer {token}"}) as poster:
        assert poster.mimetype == "image/jpeg"
    assert client.get("/api/assets/" + "0" * 64, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert client.get("/api/assets/../../etc", headers={"Authorization": f"Bearer {token}"}).status_code in (400, 404)


def test_the_phone_agent_package_is_served_with_its_install_command(client):
    page = client.get("/phone-agent/")
    command = re.search(r"pip install (\S+)", page_text(page)).group(1)
    assert command.startswith("http://localhost/phone-agent/mobile-ars-phone-agent-")
    package = client.get(command.replace("http://localhost", ""))
    assert package.status_code == 200
    names = tarfile.open(fileobj=io.BytesIO(package.data)).getnames()
    assert any(n.endswith("/pyproject.toml") for n in names)
    assert any(n.endswith("phone_agent/script.py") for n in names)
    assert not any("server/" in n for n in names)


def test_the_served_package_holds_only_what_a_phone_runs(client, tmp_path):
    """No simulator, fleet or virtual handset in a phone's install; what is
    there imports on its own, and asking it to simulate says why it cannot."""
    import subprocess
    import sys
    command = re.search(r"pip install (\S+)", page_text(client.get("/phone-agent/"))).group(1)
    package = tarfile.open(fileobj=io.BytesIO(client.get(command.replace("http://localhost", "")).data))
    modules = sorted(n.split("/", 1)[1] for n in package.getnames() if n.endswith(".py"))
    assert "phone_agent/telephony/adb/backend.py" in modules and "phone_agent/link/client.py" in modules
    assert [n for n in package.getnames() if "simulator" in n] == []  # no file, no folder
    package.extractall(tmp_path / "phone", filter="data")
    (root,) = (tmp_path / "phone").iterdir()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}
    imported = subprocess.run(
        [sys.executable, "-c", "import phone_agent.cli, phone_agent.runner, phone_agent.telephony.adb, "
                               "phone_agent.supervisor, phone_agent.termux; print('ok')"],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert imported.stdout.strip() == "ok", imported.stderr
    # The test venv's editable install would find phone_agent.simulator in
    # this checkout (its finder serves any direct child of phone_agent): a
    # phone has no checkout, so its finder goes.
    phone = ("import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path "
             "if not getattr(f, '__module__', '').startswith('__editable__')]; ")
    simulate = subprocess.run([sys.executable, "-c", phone + "sys.argv[1:] = sys.argv[2:]; "
                               "runpy.run_module('phone_agent', run_name='__main__')", "-",
                               "fleet", "--server", "http://127.0.0.1:9", "--phones", "1"],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
    assert simulate.returncode == 2 and "not part of the phone install" in simulate.stderr, simulate.stderr
    backend = subprocess.run([sys.executable, "-c", phone + "from phone_agent.telephony import create; create('sim')"],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert backend.returncode == 1 and "ModuleNotFoundError: the simulator" in backend.stderr, backend.stderr


def test_campaign_needs_announcements_and_runs_one_at_a_time(app, logged_in, client, store):
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=20)
    list_id = seeded["list_id"]
    second = logged_in.post("/campaigns/", {"name": "2차", "list_id": list_id, "kind": "notice"})
    assert second.status_code == 302
    ids = [c["id"] for c in db.campaigns(store)]
    logged_in.post(f"/campaigns/{ids[0]}/start")
    refused = logged_in.post(f"/campaigns/{ids[1]}/start", follow_redirects=True)
    assert "이(가) 이미 진행 중입니다. 먼저 중지하세요." in page_text(refused)
    assert [c["state"] for c in db.campaigns(store)] == ["running", "ready"]
    logged_in.post(f"/campaigns/{ids[0]}/pause")
    assert db.campaign(store, ids[0])["state"] == "paused"
    detail = page_text(client.get(f"/campaigns/{ids[0]}"))
    assert "일시정지" in detail and "전체 20" in detail
    bad = logged_in.post("/campaigns/", {"name": "", "list_id": list_id, "kind": "notice"})
    assert bad.status_code == 400 and "캠페인 이름은 1-80자로 적으세요." in page_text(bad)
    for ment in db.ments(store):
        db.set_ment_role(store, ment["id"], None, 1)
    missing = logged_in.post("/campaigns/", {"name": "3차", "list_id": list_id, "kind": "notice"})
    assert "먼저 안내멘트를 종류마다 지정하세요: 상품소개 안내멘트" in page_text(missing)


def test_deleting_a_list_used_by_a_campaign_is_refused(app, logged_in, store):
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=5)
    response = logged_in.post(f"/contacts/{seeded['list_id']}/delete", {"pin": PIN}, follow_redirects=True)
    assert "캠페인에서 쓰고 있어 삭제할 수 없습니다." in page_text(response)
    assert len(db.contact_lists(store)) == 1


def test_callback_list_statuses(app, logged_in, client, store):
    store.execute("INSERT INTO callback (call_id, number, name, created_at, updated_at) "
                  "VALUES ('c1', '01012345678', '홍길동', '2026-05-01T00:00:00+00:00', '2026-05-01T00:00:00+00:00')")
    page = page_text(client.get("/callbacks/"))
    assert "홍길동" in page and "010-1234-5678" in page and "요청" in page
    callback_id = db.callbacks_page(store)[0][0]["id"]
    logged_in.post(f"/callbacks/{callback_id}", {"status": "done", "note": "통화 완료"})
    row = db.callbacks_page(store)[0][0]
    assert (row["status"], row["note"]) == ("done", "통화 완료")
    assert "홍길동" not in page_text(client.get("/callbacks/?status=requested"))
    assert "홍길동" in page_text(client.get("/callbacks/?status=done"))
    bad = logged_in.post(f"/callbacks/{callback_id}", {"status": "lost"}, follow_redirects=True)
    assert "unknown callback status 'lost'" in page_text(bad)


def test_dashboard_and_pages_need_login(client):
    for path in ("/dashboard", "/phones/", "/campaigns/", "/callbacks/", "/calls/"):
        assert client.get(path).status_code == 302, path


def test_dashboard_namespace_refuses_browsers_that_are_not_logged_in(app, logged_in):
    socketio = app.extensions["socketio"]
    stranger = socketio.test_client(app, namespace="/manager")
    assert not stranger.is_connected("/manager")
    manager = socketio.test_client(app, namespace="/manager", flask_test_client=logged_in.client)
    assert manager.is_connected("/manager")
    manager.disconnect(namespace="/manager")


def test_call_records_dashboard_and_call_detail_pages(app, logged_in, client, store):
    """A call made through the real engine shows up on every page that reports calls."""
    seeded = sample.seed_campaign(app.config["DATABASE"], app.config["UPLOADS"], contacts=3, intro_s=0.5,
                                  settings={"call_hours_start": "00:00", "call_hours_end": "23:59"})
    engine = app.extensions["ars_engine"]
    token = "p" * 43
    phone_id = db.create_phone(store, name="rack-01", mode="sim", token_sha256=token_sha256(token))
    engine.reload_phone(phone_id)
    engine.set_campaign_state(seeded["campaign_id"], "running")
    phone = engine.authenticate({"token": token, "protocol": 1})
    engine.roster.connected(phone, "sid-1")
    assets = seeded["assets"]
    engine.hello(phone_id, {"agent": "t", "mode": "sim", "backend": "sim",
                            "assets": [*assets["intro"], *assets["promise"], *assets["callback"],
                                       assets["outgoing_image"], assets["callback_image"]]})
    (call,) = engine.lease(phone_id, {"want": 1})["batch"]["calls"]
    for seq, (event, data) in enumerate((("dialing", {}), ("answered", {}), ("dtmf", {"digit": "1"}),
                                         ("promise_started", {}), ("ended", {"result": "callback_requested"})),
                                        start=1):
        assert engine.call_event(phone_id, {"call_id": call["call_id"], "seq": seq, "event": event,
                                            "at": 1.8e9 + seq, "data": data})["ok"]
    calls_page = page_text(client.get(f"/calls/?campaign={seeded['campaign_id']}"))
    assert "콜백 요청" in calls_page and "rack-01" in calls_page
    detail = page_text(client.get(f"/calls/{call['call_id']}"))
    assert "발신" in detail and "약속 안내 시작" in detail and "누른 키: 1" in detail
    assert "dialing" not in detail and "promise_started" not in detail and '"digit"' not in detail
    dashboard = client.get("/dashboard").get_data(as_text=True)
    state = json.loads(re.search(r'<script id="dashboard-state" type="application/json">(.*?)</script>',
                                 dashboard, re.S).group(1))
    assert state["phones"][0]["name"] == "rack-01"
    assert state["counters"]["dialled"] == 1 and state["counters"]["callback"] == 1
    assert state["recent"][0]["result"] == "callback_requested"
    assert call["number"] not in json.dumps(state)          # the live page shows masked numbers only
    assert "****" in state["recent"][0]["number"]
    assert client.get("/calls/nosuchcall").status_code == 404
