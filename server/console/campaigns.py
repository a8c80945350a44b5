"""캠페인: create (leaving out voters reached before), start, pause, resume,
stop; counters, why nothing dials, and the settings of a live campaign."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from .. import campaigns as campaign_service
from .. import db, operating
from ..calling import counters as campaign_counters
from ..calling import idle_reason
from ..i18n import _, error_message
from .auth import audit, client_address, current_manager, login_required, now, pin_refused
from .forms import (LIVE_SETTING_LABELS, REACHED_LABELS, CampaignActionForm, CampaignForm, CampaignSettingsForm,
                    ExclusionPreviewForm)

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


@bp.app_template_filter("idle_reason")
def idle_reason_filter(reason: dict) -> str:
    """One reason why nothing dials (``calling/idle_reason.py``), in words."""
    message = idle_reason.MESSAGES.get(reason["code"], reason["code"])
    return _(message, count="{:,}".format(reason.get("count") or 0), time=reason.get("time") or "–")


@bp.app_template_global("campaign_counter_labels")
def campaign_counter_labels() -> tuple:
    """The (key, label) of every campaign number, as both 실시간 현황 and the campaign page print them."""
    return campaign_counters.COUNTERS


@bp.app_template_global("idle_reason_messages")
def idle_reason_messages() -> dict:
    """Every reason's words in the page's language (the dashboard's script fills them in)."""
    return {code: _(message) for code, message in idle_reason.MESSAGES.items()}


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
                                                      kind=kind, exclude_reached=form.excluded_kinds)
            except campaign_service.CampaignError as exc:
                flash(error_message(exc), "error")
                status = 400
            else:
                detail = {"created": form.name.data, "kind": kind}
                if kind == "election":
                    detail["rules_confirmed"] = True
                if form.excluded_kinds:
                    detail["exclude_reached"] = list(form.excluded_kinds)
                audit("settings", target=f"campaign {campaign_id}", detail=detail)
                return redirect(url_for("campaigns.detail", campaign_id=campaign_id))
    settings = operating.from_stored(db.get_setting(store, operating.SETTINGS_KEY))
    lists = db.contact_lists(store)
    posted = request.method == "POST"
    chosen_kinds = [kind for kind in request.form.getlist("reached") if kind in db.REACHED_KINDS] \
        if posted and request.form.get("exclude_reached") else [] if posted else list(db.REACHED_KINDS)
    chosen_list = request.form.get("list_id") if posted else (str(lists[0]["id"]) if lists else None)
    preview = exclusion_preview(store, chosen_list, chosen_kinds)
    return render_template("campaigns/index.html", campaigns=db.campaigns(store),
                           lists=lists, assets=campaign_service.assets_now(store),
                           kinds=operating.CAMPAIGN_KINDS, refuse_key=settings.refuse_key,
                           reached_labels=REACHED_LABELS, chosen_kinds=chosen_kinds, preview=preview,
                           form=request.form if posted else {}), status


def exclusion_preview(store, list_id, kinds) -> dict | None:
    """{"list", "excluded", "to_call"} for a call list and the kinds of reached voters left out."""
    try:
        contact_list = db.contact_list(store, int(list_id))
    except (TypeError, ValueError, db.NotFound):
        return None
    excluded = db.reached_in_list(store, contact_list["id"], kinds) if kinds else 0
    return {"list": contact_list["imported"], "excluded": excluded,
            "to_call": max(0, contact_list["imported"] - excluded)}


@bp.route("/exclusion-preview")
@login_required
def preview():
    """How many voters of a call list a new campaign would leave out as reached before (JSON)."""
    form = ExclusionPreviewForm(request.args)
    if not form.validate():
        return jsonify(error=" ".join(_(message) for message in form.error_list())), 400
    counted = exclusion_preview(db.get_db(), form.list_id.data, form.kinds)
    if counted is None:
        return jsonify(error=_("호출자료를 찾을 수 없습니다.")), 404
    return jsonify(counted)


@bp.route("/<int:campaign_id>")
@login_required
def detail(campaign_id: int):
    store = db.get_db()
    try:
        campaign = db.campaign(store, campaign_id)
    except db.NotFound:
        abort(404)
    queue = db.campaign_queue(store, campaign_id, now())
    return render_template("campaigns/detail.html", campaign=campaign,
                           idle=engine().idle_reasons(campaign, queue),
                           counters=campaign_counters.summary(db.campaign_counters(store, campaign_id)),
                           results=db.campaign_results(store, campaign_id),
                           live_labels=LIVE_SETTING_LABELS,
                           history=db.campaign_settings_history(store, campaign_id),
                           contact_list=db.contact_list(store, campaign["list_id"]))


@bp.route("/<int:campaign_id>/settings", methods=["POST"])
@login_required
def change_settings(campaign_id: int):
    """Calling hours, retries, agent connection and ring settings of a live
    campaign: audited old -> new, used by the engine from its next decision."""
    store = db.get_db()
    try:
        campaign = db.campaign(store, campaign_id)
    except db.NotFound:
        abort(404)
    back = url_for("campaigns.detail", campaign_id=campaign_id)
    current = operating.from_stored(campaign["settings"])
    form = CampaignSettingsForm(current)
    if not form.validate():
        for field, message in form.field_errors().items():
            flash(_("{label}: {error}", label=_(LIVE_SETTING_LABELS.get(field, field)), error=message), "error")
        flash(_("설정을 바꾸지 않았습니다."), "error")
        return redirect(back)
    old, new = current.as_dict(), form.settings.as_dict()
    changes = {key: [old.get(key), value] for key, value in new.items() if old.get(key) != value}
    if not changes:
        flash(_("바뀐 설정이 없습니다."), "info")
        return redirect(back)
    manager = current_manager()
    try:
        db.change_campaign_settings(store, campaign_id, new, audit_row={
            "actor": manager["login_id"] if manager else None, "address": client_address(),
            "target": f"campaign {campaign_id}", "detail": {"settings_changed": changes}})
    except db.Conflict as exc:
        flash(str(exc), "error")
        return redirect(back)
    engine().reload_campaign_settings(campaign_id)
    flash(_("캠페인 설정을 바꿨습니다. 다음 발신부터 적용됩니다."), "info")
    return redirect(back)


@bp.route("/<int:campaign_id>/<action>", methods=["POST"])
@login_required
def change(campaign_id: int, action: str):
    state = ACTIONS.get(action)
    if state is None:
        abort(404)
    back = CampaignActionForm().next.to(url_for("campaigns.detail", campaign_id=campaign_id))
    # Stopping cannot be undone (a stopped campaign never calls again): the
    # manager ticks that they know it, and gives the admin PIN again.
    if action == "stop" and not CampaignActionForm().stop_confirmed.data:
        flash(_("중지하려면 ‘중지한 캠페인은 다시 발신하지 않습니다’ 확인란에 표시하세요. 캠페인은 중지되지 않았습니다."), "error")
        return redirect(back)
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
