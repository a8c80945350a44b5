"""캠페인: create, start, pause, resume, stop; counters and results."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from .. import campaigns as campaign_service
from .. import db
from ..i18n import _
from .auth import audit, login_required

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

ACTIONS = {"start": "running", "pause": "paused", "resume": "running", "stop": "stopped"}
STATE_LABELS = {"ready": "준비", "running": "진행 중", "paused": "일시정지", "stopped": "중지됨",
                "finished": "완료"}


@bp.app_template_filter("campaign_state")
def campaign_state_filter(state: str) -> str:
    return _(STATE_LABELS.get(state, state))


def engine():
    return current_app.extensions["ars_engine"]


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    store = db.get_db()
    status = 200
    if request.method == "POST":
        try:
            campaign_id = campaign_service.create(store, name=request.form.get("name", ""),
                                                  list_id=request.form.get("list_id", type=int) or 0)
        except campaign_service.CampaignError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            audit("settings", target=f"campaign {campaign_id}", detail={"created": request.form.get("name")})
            return redirect(url_for("campaigns.detail", campaign_id=campaign_id))
    return render_template("campaigns/index.html", campaigns=db.campaigns(store),
                           lists=db.contact_lists(store), assets=campaign_service.assets_now(store)), status


@bp.route("/<int:campaign_id>")
@login_required
def detail(campaign_id: int):
    store = db.get_db()
    try:
        campaign = db.campaign(store, campaign_id)
    except db.NotFound:
        abort(404)
    return render_template("campaigns/detail.html", campaign=campaign,
                           counters=db.campaign_counters(store, campaign_id),
                           results=db.campaign_results(store, campaign_id),
                           contact_list=db.contact_list(store, campaign["list_id"]))


@bp.route("/<int:campaign_id>/<action>", methods=["POST"])
@login_required
def change(campaign_id: int, action: str):
    state = ACTIONS.get(action)
    if state is None:
        abort(404)
    try:
        engine().set_campaign_state(campaign_id, state)
    except db.NotFound:
        abort(404)
    except db.Conflict as exc:
        flash(str(exc), "error")
    else:
        audit("settings", target=f"campaign {campaign_id}", detail={"action": action})
        flash(_("저장했습니다."), "info")
    return redirect(request.form.get("next") or url_for("campaigns.detail", campaign_id=campaign_id))
