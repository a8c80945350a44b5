"""감사 로그: who did what, from where, filterable."""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, render_template, request

from .. import db
from ..i18n import _
from ..operating import SEOUL
from ..reports import labels
from . import paged
from .auth import login_required

bp = Blueprint("audit_log", __name__, url_prefix="/audit")


def _day_start_utc(text: str, days: int = 0) -> str | None:
    """A 'YYYY-MM-DD' Seoul date as the UTC ISO instant its day starts (plus days)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    start = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), SEOUL)
    return start.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


@bp.app_template_filter("seoul")
def seoul_filter(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return iso or ""


@bp.app_template_filter("epoch")
def epoch_filter(seconds: float | None, ms: bool = False) -> str:
    if seconds is None:
        return ""
    moment = dt.datetime.fromtimestamp(seconds, SEOUL)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{moment.microsecond // 1000:03d}" if ms else "")


@bp.app_template_filter("detail")
def detail_filter(raw: str | None) -> str:
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    return labels.audit_detail(data, _) if isinstance(data, dict) else str(data)


@bp.app_template_filter("audit_action")
def audit_action_filter(code: str | None) -> str:
    return _(labels.audit_action(code))


@bp.app_template_filter("audit_actor")
def audit_actor_filter(actor: str | None) -> str:
    return _(labels.audit_actor(actor))


@bp.app_template_filter("audit_target")
def audit_target_filter(target: str | None) -> str:
    kind, rest = labels.audit_target(target)
    return " ".join(part for part in (_(kind) if kind else "", rest) if part)


@bp.route("/")
@login_required
def index():
    args = request.args
    ok = {"1": True, "0": False}.get(args.get("ok", ""))
    filters = {
        "action": args.get("action") or None,
        "actor": args.get("actor") or None,
        "ok": ok,
        "since": _day_start_utc(args.get("since", "")),
        "until": _day_start_utc(args.get("until", ""), days=1),
        "text": args.get("q") or None,
    }
    listing = paged(lambda **window: db.audit_entries(db.get_db(), **window, **filters))
    return render_template("audit.html", rows=listing.rows, total=listing.total, page=listing.page,
                           pages=listing.pages, actions=db.AUDIT_ACTIONS, args=args)
