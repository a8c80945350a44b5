"""통계 and a big export in a real headless Chromium against `ars serve`
(loopback): the charts load from the server itself, nothing breaks the
page's rules (no inline script), and a list above the direct limit (set
low here, as a site may in ars.toml) is
exported as a job whose progress the page follows to the download."""

import csv
import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest

from server import db
from server.reports import period

from . import reports_seed as rs
from .conftest import MANAGER_ID, PASSWORD, PIN, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

DIRECT_ROWS = 300          # ars.toml export_direct_rows (20,000 by default)
BIG_LIST = DIRECT_ROWS + 1  # one row over it: the export runs as a job


def seed(tmp_path):
    def run(db_path, uploads):
        store = db.connect(db_path)
        try:
            numbers = [f"010-{4000 + i // 10000:04d}-{i % 10000:04d}" for i in range(BIG_LIST)]
            list_id = rs.seed_list(store, tmp_path, numbers, name="큰 명단")
            campaign_id = rs.seed_campaign(store, list_id, name="브라우저 캠페인")
            phones = [rs.seed_phone(store, f"rack-{n:02d}") for n in range(1, 4)]
            line1, line2 = (line["id"] for line in db.agent_lines(store))
            now = time.time()
            today = period.today(now)
            scripts = [rs.no_answer(), rs.listened(8, 30), rs.connected(6, 10, 20, 80, line1),
                       rs.callback(5, 9, line2), rs.busy(), rs.listened(5, 40),
                       rs.connected(5, 9, 35, 90, line2, missed_lines=(line1,)), rs.failed("phone_lost")]
            dialled_today = 0
            for i in range(48):        # today and yesterday, every 45 minutes back from now
                at = now - 600 - i * 2700
                rs.record_call(store, campaign_id, phones[i % 3], at, scripts[i % len(scripts)])
                dialled_today += period.seoul_date(at) == today
            return {"campaign_id": campaign_id, "list_id": list_id, "today": dialled_today,
                    "yesterday": (today - dt.timedelta(days=1)).isoformat()}
        finally:
            store.conn.close()
    return run


def test_statistics_page_with_charts_and_a_big_export_followed_to_its_download(tmp_path, browser_page):
    server = LiveServer(tmp_path, config={"export_direct_rows": DIRECT_ROWS}, seed=seed(tmp_path))
    shots = Path(os.environ.get("ARS_SCREENSHOTS", tmp_path))
    problems = []
    page = browser_page
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(server.url + "/login")
        page.fill("input[name=login_id]", MANAGER_ID)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=pin]", PIN)
        page.click("button[type=submit]")
        page.wait_for_selector("text=캠페인 준비 상태")

        page.goto(f"{server.url}/campaigns/{server.seeded['campaign_id']}")
        page.click("#campaign-statistics")
        page.wait_for_selector("#summary")
        page.wait_for_function("() => [...document.images].filter(i => i.classList.contains('chart'))"
                               ".every(i => i.complete && i.naturalWidth > 300)")
        assert page.locator("img.chart").count() == 4
        # a campaign started today: its period is today
        assert page.inner_text(".tile[data-item='발신'] b") == str(server.seeded["today"])
        page.fill("input[name=start]", server.seeded["yesterday"])
        page.click("#statistics-filter button[type=submit]")
        page.wait_for_function("() => [...document.images].filter(i => i.classList.contains('chart'))"
                               ".every(i => i.complete && i.naturalWidth > 300)")
        assert page.inner_text(".tile[data-item='발신'] b") == "48"
        assert "응답률 = 응답 ÷ 발신" in page.inner_text("main")
        for width, height in ((1366, 768), (1920, 1080)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(shots / f"statistics-{width}x{height}.png"), full_page=True)

        # 301 voters: above the direct limit, so a job; the page follows it and downloads.
        page.goto(f"{server.url}/contacts/{server.seeded['list_id']}")
        with page.expect_download(timeout=60_000) as download:
            page.click("#export-contacts button[value=csv]")
        page.wait_for_selector("#export-download", state="visible")
        data = Path(download.value.path()).read_bytes().decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(data)))
        assert len(rows) == BIG_LIST and rows[0]["전화번호"] == "010-****-0000"
        page.screenshot(path=str(shots / "export-job-1366x768.png"))
        assert problems == [], problems
    finally:
        server.stop()
