"""실시간 현황 (live dashboard), 콜백 처리 (callback list), 통화 기록 (call records)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from .. import db
from ..contacts.phone_numbers import format_display
from ..i18n import _
from ..reports import call_steps, labels
from . import paged
from .auth import audit, login_required
from .forms import AgentAwayForm, CallbackForm

bp = Blueprint("operations", __name__)

CALLBACK_LABELS = labels.CALLBACK_STATUSES      # one wording: server/reports/labels.py
RESULT_LABELS = labels.RESULTS


@bp.app_template_filter("result")
def result_filter(code: str | None) -> str:
    return _(RESULT_LABELS.get(code, code or ""))


@bp.app_template_filter("phone_state")
def phone_state_filter(code: str | None) -> str:
    return _(labels.phone_state(code))


@bp.app_template_filter("hung_up_in")
def hung_up_in_filter(code: str | None) -> str:
    return _(labels.hung_up_in(code))


@bp.app_template_filter("call_reason")
def call_reason_filter(code: str | None) -> str:
    return _(labels.reason(code))


@bp.route("/dashboard")
@login_required
def dashboard():
    live = current_app.extensions["ars_live"]
    return render_template("dashboard.html", state=live.dashboard_state(),
                           results=RESULT_LABELS, states={**labels.PHONE_STATES, **labels.AGENT_STATES},
                           hung_up_in=labels.HUNG_UP_IN, modes=labels.PHONE_MODES)


@bp.route("/agents/<int:line_id>/away", methods=["POST"])
@login_required
def agent_away(line_id: int):
    form = AgentAwayForm()
    form.validate()
    away = form.away.data
    try:
        db.set_agent_line_away(db.get_db(), line_id, away)
    except db.NotFound:
        abort(404)
    current_app.extensions["ars_engine"].reload_agent_lines()
    audit("settings", target=f"agent line {line_id}", detail={"away": away})
    return redirect(form.next.to(url_for("operations.dashboard")))


@bp.route("/callbacks/")
@login_required
def callbacks():
    status = request.args.get("status") or None
    if status and status not in CALLBACK_LABELS:
        status = None
    listing = paged(lambda **window: db.callbacks_page(db.get_db(), status=status, **window))
    return render_template("callbacks.html", rows=listing.rows, total=listing.total, page=listing.page,
                           pages=listing.pages, status=status, labels=CALLBACK_LABELS)


@bp.route("/callbacks/<int:callback_id>", methods=["POST"])
@login_required
def callback_update(callback_id: int):
    form = CallbackForm()
    form.validate()
    status = form.status.data
    try:
        row = db.set_callback_status(db.get_db(), callback_id, status, form.note_text)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("operations.callbacks"))
    except db.NotFound:
        abort(404)
    audit("settings", target=f"callback {callback_id}", detail={"status": status,
                                                                 "number": format_display(row["number"])[:4] + "…"})
    return redirect(form.next.to(url_for("operations.callbacks")))


@bp.route("/calls/")
@login_required
def calls():
    store = db.get_db()
    campaign_id = request.args.get("campaign", type=int)
    if campaign_id is not None and not 0 < campaign_id < 2 ** 63:
        campaign_id = -1                       # no such campaign (SQLite could not even take the number)
    result = request.args.get("result") or None
    listing = paged(lambda **window: db.calls_page(store, campaign_id=campaign_id, result=result,
                                                   search=request.args.get("q") or None, **window))
    return render_template("calls.html", rows=listing.rows, total=listing.total, page=listing.page,
                           pages=listing.pages,
                           campaigns=db.campaigns(store), results=RESULT_LABELS, args=request.args)


@bp.route("/calls/<call_id>")
@login_required
def call_detail(call_id: str):
    store = db.get_db()
    row = db.call_view(store, call_id)
    if row is None:
        abort(404)
    events = db.call_events(store, call_id)
    titles = db.ment_titles(store, call_steps.intro_hashes(events))
    return render_template("call.html", call=row,
                           steps=call_steps.steps(events, titles, db.agent_lines_by_id(store), _))
