"""The console in a real headless Chromium against a real `ars serve` (loopback)."""

import pytest
from openpyxl import Workbook

from .conftest import MANAGER_ID, PASSWORD, PIN

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def voters_xlsx(path):
    wb = Workbook()
    ws = wb.active
    ws.append(["성명", "휴대폰", "주소"])
    for i in range(40):
        ws.append([f"유권자{i}", f"010-7000-{i:04d}", f"세종시 {i}"])
    ws.append(["중복", "010-7000-0001", "세종시"])       # duplicate
    ws.append(["오류1", "010-7", "세종시"])              # invalid
    ws.append(["오류2", "전화 없음", "세종시"])           # invalid
    wb.save(path)


def test_manager_logs_in_and_imports_a_call_list(live_server, browser_page, tmp_path):
    page = browser_page
    page.goto(live_server.url + "/login")
    page.fill("input[name=login_id]", MANAGER_ID)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=pin]", PIN)
    page.click("button[type=submit]")
    page.wait_for_selector("text=캠페인 준비 상태")

    page.goto(live_server.url + "/contacts/")
    xlsx = tmp_path / "voters.xlsx"
    voters_xlsx(xlsx)
    page.fill("#contact-upload input[name=name]", "브라우저 목록")
    page.set_input_files("#contact-upload input[type=file]", str(xlsx))
    page.click("#contact-upload button[type=submit]")

    # The preview: counts before anything is stored.
    page.wait_for_selector("#commit")
    assert page.inner_text("#count-imported") == "40"
    assert page.inner_text("#count-invalid") == "2"
    assert page.inner_text("#count-duplicates") == "1"
    assert "유권자0" in page.inner_text("table.preview")

    page.click("#commit")
    page.wait_for_selector("text=가져오기 결과")
    assert page.inner_text("#count-imported") == "40"
    assert page.inner_text("#count-invalid") == "2"
    assert page.inner_text("#count-duplicates") == "1"
    assert "010-7000-0039" in page.inner_text("table.data")


def test_wrong_pin_in_the_browser_shows_the_generic_message(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/login")
    page.fill("input[name=login_id]", MANAGER_ID)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=pin]", "0000")
    page.click("button[type=submit]")
    assert "아이디, 패스워드 또는 관리자비번이 올바르지 않습니다." in page.inner_text(".flash.error")


def test_manager_starts_a_campaign_and_watches_the_counters_move(tmp_path, browser_page):
    from phone_agent.simulator.fleet import Fleet
    from server import sample

    from .conftest import LiveServer

    server = LiveServer(tmp_path, seed=lambda path, uploads: sample.seed_campaign(
        path, uploads, contacts=150, enrol_key="browser-key", intro_s=1.0, promise_s=0.5,
        settings={"call_hours_start": "00:00", "call_hours_end": "23:59"}))
    fleet = None
    try:
        page = browser_page
        page.goto(server.url + "/login")
        page.fill("input[name=login_id]", MANAGER_ID)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=pin]", PIN)
        page.click("button[type=submit]")
        page.wait_for_selector("text=캠페인 준비 상태")
        fleet = Fleet.in_thread(server.url, 5, enrol_key="browser-key", seed=2, speed=20, state_file=None,
                                cache_dir=tmp_path / "phone-cache")
        page.goto(server.url + f"/campaigns/{server.seeded['campaign_id']}")
        page.click("#campaign-start")
        page.goto(server.url + "/dashboard")
        page.wait_for_selector("#phones .phone")
        assert page.inner_text("#phone-summary").endswith("5 / 5")
        # The counters move on their own, pushed over Socket.IO (no reload).
        page.wait_for_function("parseInt(document.getElementById('counter-dialled').textContent) > 0")
        first = int(page.inner_text("#counter-dialled").replace(",", ""))
        page.wait_for_function(
            f"parseInt(document.getElementById('counter-dialled').textContent.replace(',', '')) > {first + 5}")
        assert page.inner_text("#campaign-progress-label").endswith("%)")
        assert page.locator("#recent tr").count() > 0
    finally:
        if fleet is not None:
            fleet.stop()
        server.stop()
