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
