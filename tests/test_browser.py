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


# Reported on the page itself: the browser fires securitypolicyviolation for
# anything the policy blocked (a script injected this way runs outside the
# page's policy).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
                + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def watch_for_problems(page) -> list[str]:
    """What goes wrong on the page from now on: policy violations, errors in
    the console or scripts, responses that failed (the app has no favicon)."""
    problems: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.type}: {msg.text}")
            if (msg.type == "error" and not msg.text.startswith("Failed to load resource"))
            or "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: page error: {exc}"))
    page.on("response", lambda r: problems.append(f"{page.url}: HTTP {r.status} for {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return problems


def test_manager_logs_in_and_imports_a_call_list(live_server, browser_page, tmp_path):
    page = browser_page
    problems = watch_for_problems(page)
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
    assert not problems, "\n".join(problems)         # the upload's XHR and the job's polling included


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
        problems = watch_for_problems(page)
        # wait_for_function takes functions: the policy forbids eval, which it uses for expressions
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
        page.wait_for_function("() => parseInt(document.getElementById('counter-dialled').textContent) > 0")
        first = int(page.inner_text("#counter-dialled").replace(",", ""))
        page.wait_for_function(
            f"() => parseInt(document.getElementById('counter-dialled').textContent.replace(',', '')) > {first + 5}")
        assert page.inner_text("#campaign-progress-label").endswith("%)")
        assert page.locator("#recent tr").count() > 0
        assert not problems, "\n".join(problems)
    finally:
        if fleet is not None:
            fleet.stop()
        server.stop()


def test_no_console_page_breaks_the_content_security_policy_in_chromium(tmp_path, browser_page):
    """A manager walks every page while phones call — the live dashboard on
    its Socket.IO WebSocket, the QR code of a new phone's token, an
    announcement in the audio player: Chromium reports no policy violation
    and no error on any of them (the call list upload is watched the same
    way in the first test).
    ARS_SCREENSHOTS=DIR keeps a 1366×768 screenshot of each page there."""
    import os
    from pathlib import Path

    from phone_agent.simulator.fleet import Fleet
    from server import sample

    from .conftest import LiveServer

    server = LiveServer(tmp_path, seed=lambda path, uploads: sample.seed_campaign(
        path, uploads, contacts=40, bad_every=7, enrol_key="csp-key", intro_s=1.0, promise_s=0.5,
        settings={"call_hours_start": "00:00", "call_hours_end": "23:59"}))
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    problems, sockets = watch_for_problems(page), []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    shots = Path(os.environ["ARS_SCREENSHOTS"]) if os.environ.get("ARS_SCREENSHOTS") else None

    def visit(path: str, ready: str = "main") -> None:
        page.goto(server.url + path)
        page.wait_for_selector(ready)
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            name = path.strip("/").replace("/", "_") or "root"
            page.screenshot(path=str(shots / f"{name}.png"))

    fleet = None
    try:
        visit("/login", "input[name=pin]")
        page.fill("input[name=login_id]", MANAGER_ID)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=pin]", PIN)
        page.click("button[type=submit]")
        page.wait_for_selector("text=캠페인 준비 상태")
        fleet = Fleet.in_thread(server.url, 2, enrol_key="csp-key", seed=3, speed=20, state_file=None,
                                cache_dir=tmp_path / "phone-cache")
        campaign_id = server.seeded["campaign_id"]
        visit(f"/campaigns/{campaign_id}", "#campaign-start")
        page.click("#campaign-start")
        visit("/dashboard", "#phones .phone")
        page.wait_for_function("() => parseInt(document.getElementById('counter-dialled').textContent) > 0")
        assert any("/socket.io/" in url and url.startswith("ws://") for url in sockets), sockets

        store = server.store()
        try:
            for _ in range(600):
                call = store.execute("SELECT id FROM call WHERE result IS NOT NULL LIMIT 1").fetchone()
                if call:
                    break
                page.wait_for_timeout(50)
            assert call, "no call finished"
            list_id = store.execute("SELECT id FROM contact_list").fetchone()[0]
        finally:
            store.conn.close()

        for path in ("/home", "/campaigns/", "/callbacks/", "/calls/", f"/calls/{call[0]}", "/contacts/",
                     f"/contacts/{list_id}", "/contacts/do-not-call", "/settings/",
                     "/settings/agents", "/settings/access", "/audit/", "/phone-agent/"):
            visit(path)
        visit("/images/", "img")
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")

        visit("/ments/", "audio")
        page.evaluate("document.querySelector('audio').load()")
        page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
        assert page.evaluate("document.querySelector('audio').duration") > 0.5

        visit("/phones/", "input[name=name]")
        page.fill("form[action$='/phones/register'] input[name=name]", "rack-qr")
        page.click("form[action$='/phones/register'] button[type=submit]")
        page.wait_for_selector("#issued-token")
        assert page.evaluate("Array.from(document.images).some(i => i.src.startsWith('data:image/svg+xml')"
                             " && i.complete && i.naturalWidth > 0)")
        if shots:
            page.screenshot(path=str(shots / "phones_registered.png"))

        assert not problems, "\n".join(problems)
    finally:
        if fleet is not None:
            fleet.stop()
        server.stop()
