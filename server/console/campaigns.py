"""캠페인: create, start, pause, resume, stop; counters and results."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from .. import campaigns as campaign_service
from .. import db, operating
from ..i18n import _, error_message
from .auth import audit, login_required, now, pin_refused
from .forms import CampaignActionForm, CampaignForm

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

ACTIONS = {"start": "running", "pause": "paused", "resume": "running", "stop": "stopped"}
STATE_LABELS = {"ready": "준비", "running": "진행 중", "paused": "일시정지", "stopped": "중지됨",
                "finished": "완료"}
KIND_LABELS = operating.CAMPAIGN_KIND_LABELS   # 선거운동 / 안내 / 설문


@bp.app_template_filter("campaign_state")
def campaign_state_filter(state: str) -> str:
    return _(STATE_LABELS.get(state, state))


@bp.app_template_filter("campaign_kind")
def campaign_kind_filter(kind: str | None) -> str:
    return _(KIND_LABELS.get(kind or "election", kind or ""))


def election_quiet_now() -> bool:
    """Whether it is 23:00-06:00 in Seoul now, by the server's clock."""
    return operating.in_election_quiet_hours(dt.datetime.fromtimestamp(now(), dt.timezone.utc))


def engine():
    return current_app.extensions["ars_engine"]


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    store = db.get_db()
    status = 200
    if request.method == "POST":
        form = CampaignForm()
        kind = form.campaign_kind
        if not form.validate():
            for message in form.error_list():
                flash(_(message), "error")
            status = 400
        else:
            try:
                campaign_id = campaign_service.create(store, name=form.name.data, list_id=form.list_number,
                                                      kind=kind)
            except campaign_service.CampaignError as exc:
                flash(error_message(exc), "error")
                status = 400
            else:
                detail = {"created": form.name.data, "kind": kind}
                if kind == "election":
                    detail["rules_confirmed"] = True
                audit("settings", target=f"campaign {campaign_id}", detail=detail)
                return redirect(url_for("campaigns.detail", campaign_id=campaign_id))
    settings = operating.from_stored(db.get_setting(store, operating.SETTINGS_KEY))
    return render_template("campaigns/index.html", campaigns=db.campaigns(store),
                           lists=db.contact_lists(store), assets=campaign_service.assets_now(store),
                           kinds=operating.CAMPAIGN_KINDS, refuse_key=settings.refuse_key,
                           form=request.form if request.method == "POST" else {}), status


@bp.route("/<int:campaign_id>")
@login_required
def detail(campaign_id: int):
    store = db.get_db()
    try:
        campaign = db.campaign(store, campaign_id)
    except db.NotFound:
        abort(404)
    return render_template("campaigns/detail.html", campaign=campaign,
                           election_quiet_now=election_quiet_now(),
                           counters=db.campaign_counters(store, campaign_id),
                           results=db.campaign_results(store, campaign_id),
                           contact_list=db.contact_list(store, campaign["list_id"]))


@bp.route("/<int:campaign_id>/<action>", methods=["POST"])
@login_required
def change(campaign_id: int, action: str):
    state = ACTIONS.get(action)
    if state is None:
        abort(404)
    back = CampaignActionForm().next.to(url_for("campaigns.detail", campaign_id=campaign_id))
    # Stopping cannot be undone (a stopped campaign never calls again): the admin PIN again.
    if action == "stop" and pin_refused(f"campaign {campaign_id}", action="settings"):
        return redirect(back)
    try:
        engine().set_campaign_state(campaign_id, state)
    except db.NotFound:
        abort(404)
    except db.Conflict as exc:
        flash(error_message(exc), "error")
    else:
        audit("settings", target=f"campaign {campaign_id}", detail={"action": action})
        flash(_("저장했습니다."), "info")
    return redirect(back)
