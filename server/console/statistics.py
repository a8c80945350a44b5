"""통계: a campaign's (or every campaign's) numbers over Seoul dates, with
charts drawn on the server (``server/reports``)."""

from __future__ import annotations

import datetime as dt
import time

from flask import Blueprint, Response, abort, current_app, flash, render_template, request

from .. import db
from ..i18n import _, current_language, translator
from ..jobs import run_blocking
from ..reports import charts, period, tables
from ..reports.gather import gather
from .auth import login_required, now

bp = Blueprint("statistics", __name__, url_prefix="/statistics")

EXPLAIN = {
    "hourly": "기준일(기간의 마지막 날)과 그 전날의 시간대별 발신과 응답 (서울 시각). 막대는 발신, 선은 기준일의 응답입니다.",
    "results": "끝난 통화의 결과별 건수. 비율은 끝난 통화 가운데의 비율입니다.",
    "failures": "무응답, 통화중, 거절, 없는 번호, 실패(폰 연결 끊김, 통화 시간 초과, 폰 오류)로 끝난 통화. 비율은 미연결·실패 가운데의 비율입니다.",
    "phones": "폰마다 발신, 응답, 미연결·실패, 그리고 기간 안에 폰 상태에 새로 나타난 문제의 횟수 (배터리 20% 미만이고 충전 중이 아님, 신호 1칸 이하, 네트워크 없음, SIM 없음·잠김, 기기 끊김). 문제는 캠페인과 상관없이 셉니다.",
    "agents": "호출: 상담원 전화가 울린 횟수 (한 통화가 여러 상담원을 울릴 수 있음). 응답: 상담원이 받아 연결된 횟수. 무응답: 받지 않아 다음 상담원으로 넘어간 횟수. 통화 시간은 연결부터 종료까지입니다.",
}

CACHE_S = 60.0          # the page and its four charts read one computation
CACHE_SIZE = 16


def _cache() -> dict:
    return current_app.extensions.setdefault("ars_statistics_cache", {})


def selection() -> tuple[int | None, period.Period]:
    """The campaign and period of the query string; a bad date raises
    :class:`period.PeriodError` (Korean, naming the field)."""
    campaign_id = request.args.get("campaign", type=int) or None
    start, end = request.args.get("start"), request.args.get("end")
    if campaign_id and not (start or end):
        start, end = campaign_days(campaign_id)
    chosen = period.parse(start, end, now=now())
    return campaign_id, chosen


def campaign_days(campaign_id: int) -> tuple[str | None, str | None]:
    """A campaign chosen without dates: from the Seoul day it started (or was
    created) to the day it ended, or today."""
    try:
        row = db.campaign(db.get_db(), campaign_id)
    except db.NotFound:
        return None, None
    first = period.iso_to_seoul_date(row["started_at"] or row["created_at"])
    last = period.iso_to_seoul_date(row["ended_at"]) if row["ended_at"] else None
    today = period.today(now())
    if first and (first > (last or today) or (last or today) - first > dt.timedelta(days=period.MAX_DAYS - 1)):
        first = None           # a clock set wrong, or a campaign older than the longest period: today only
    return (first.isoformat() if first else None), (last.isoformat() if last else None)


def statistics_for(campaign_id: int | None, chosen: period.Period, *, fresh: bool = False):
    """The statistics, computed off the event loop; the page computes them
    (``fresh``), its charts reuse that computation for a minute."""
    key = (current_app.config["DATABASE"], campaign_id, chosen.first, chosen.last)
    cache = _cache()
    hit = cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    path = current_app.config["DATABASE"]

    def work():
        store = db.connect(path)
        try:
            return gather(store, period=chosen, campaign_id=campaign_id)
        finally:
            store.conn.close()
    stats = run_blocking(work)
    if len(cache) >= CACHE_SIZE:
        cache.pop(min(cache, key=lambda k: cache[k][0]))
    cache[key] = (time.monotonic(), stats)
    return stats


def show_value(value, kind: str) -> str:
    """A number as the page shows it: thousands separators, one decimal, %."""
    if value is None or value == "":
        return "–" if kind in ("percent", "seconds") else ""
    if kind == "int":
        return f"{int(value):,}"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "seconds":
        return f"{value:,.1f}"
    if kind == "label":
        return _(str(value))
    return str(value)


def show(column, row) -> str:
    kind = row.get("kind", "text") if column.kind == "mixed" else column.kind
    return show_value(column.value(row), kind)


@bp.route("/")
@login_required
def index():
    store = db.get_db()
    campaigns = db.campaigns(store)
    try:
        campaign_id, chosen = selection()
    except period.PeriodError as exc:
        flash(_(exc.message, **exc.values), "error")
        return render_template("statistics.html", campaigns=campaigns, stats=None, args=request.args,
                               campaign=None), 400
    campaign = next((c for c in campaigns if c["id"] == campaign_id), None)
    if campaign_id and campaign is None:
        abort(404)
    stats = statistics_for(campaign_id, chosen, fresh=True)
    query = {"campaign": campaign_id, "start": chosen.first.isoformat(), "end": chosen.last.isoformat()}
    return render_template("statistics.html", campaigns=campaigns, campaign=campaign, stats=stats,
                           period=chosen, tables=tables.statistics_tables(stats), args=request.args,
                           query={k: v for k, v in query.items() if v}, charts=charts.CHARTS,
                           explain=EXPLAIN, show=show, show_value=show_value)


@bp.route("/charts/<name>.svg")
@login_required
def chart(name: str):
    if name not in charts.CHARTS:
        abort(404)
    try:
        campaign_id, chosen = selection()
    except period.PeriodError:
        abort(400)
    stats = statistics_for(campaign_id, chosen)
    tr = translator(current_language())
    svg = run_blocking(lambda: charts.page_chart(name, stats, tr))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    # Opened on its own, the chart may style itself and do nothing else.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    return response
