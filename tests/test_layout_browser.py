"""Every console page in a real headless Chromium (against `ars serve` on
loopback) at the two screens campaign offices use, 1366×768 and 1920×1080:
no Korean word broken over two lines (삭/제), no button on two lines, no
select that cuts its longest option (상품소…), no cell whose content spills
out, every table header over its column, no page wider than the window.
Screenshots go to $ARS_SCREENSHOTS when it is set."""

import os
import time
from pathlib import Path

import pytest

from server import db, sample

from . import reports_seed as rs
from .conftest import MANAGER_ID, PASSWORD, PIN, LiveServer
from .layout_check import LAYOUT_PROBLEMS
from .test_contacts_views import CSV

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SCREENS = ((1366, 768), (1920, 1080))


def seed(db_path, uploads):
    """A campaign with its list, announcements and images, two phones with
    calls of every kind (a callback request among them), a stopped one."""
    seeded = sample.seed_campaign(db_path, uploads, contacts=12, bad_every=5, intro_s=0.5, promise_s=0.5)
    store = db.connect(db_path)
    try:
        db.set_campaign_state(store, seeded["campaign_id"], "running", from_states=("ready",))
        phones = [rs.seed_phone(store, name) for name in ("rack-01", "2층 창가 폰")]
        line1, line2 = (line["id"] for line in db.agent_lines(store))
        now = time.time()
        scripts = [rs.callback(5, 9, line2), rs.no_answer(), rs.listened(8, 30), rs.connected(6, 10, 20, 80, line1),
                   rs.refused(5, 12), rs.failed("phone_lost"), rs.busy()]
        calls = [rs.record_call(store, seeded["campaign_id"], phones[i % 2], now - 900 + i * 60, script)
                 for i, script in enumerate(scripts)]
        return {**seeded, "call": calls[0]}
    finally:
        store.conn.close()


def test_every_console_page_holds_its_layout_at_1366_and_1920(tmp_path, browser_page):
    server = LiveServer(tmp_path, seed=seed)
    shots = Path(os.environ["ARS_SCREENSHOTS"]) if os.environ.get("ARS_SCREENSHOTS") else None
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(server.url + "/login")
    page.fill("input[name=login_id]", MANAGER_ID)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=pin]", PIN)
    page.click("button[type=submit]")
    page.wait_for_selector("text=캠페인 준비 상태")

    # A call list's preview, with its rejects (the job lives in the server).
    page.goto(server.url + "/contacts/")
    upload = tmp_path / "voters.csv"
    upload.write_text(CSV, encoding="utf-8")
    page.fill("#contact-upload input[name=name]", "미리보기 목록")
    page.set_input_files("#contact-upload input[type=file]", str(upload))
    page.click("#contact-upload button[type=submit]")
    page.wait_for_selector("#commit")
    preview = page.url.removeprefix(server.url)

    seeded = server.seeded
    paths = ["/home", "/dashboard", f"/campaigns/{seeded['campaign_id']}", "/campaigns/", "/phones/",
             "/callbacks/", "/calls/", f"/calls/{seeded['call']}", "/statistics/", "/contacts/", preview,
             f"/contacts/{seeded['list_id']}", "/contacts/do-not-call", "/ments/", "/images/", "/settings/",
             "/settings/agents", "/settings/access", "/audit/", "/backups/"]
    problems = []
    try:
        for width, height in SCREENS:
            page.set_viewport_size({"width": width, "height": height})
            for path in paths:
                page.goto(server.url + path)
                if path == "/dashboard":
                    page.wait_for_function("() => document.querySelectorAll('#phones .phone').length > 0")
                problems += [f"{width}×{height} {path}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS)]
                if shots:
                    name = path.strip("/").replace("/", "_") or "root"
                    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    finally:
        server.stop()
    assert problems == []
