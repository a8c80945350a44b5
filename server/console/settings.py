"""운용환경 (operating settings), 상담원 (agent lines) and 접근관리 (access control)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from .. import db, operating
from ..i18n import _, current_language, error_message
from ..security import address_allowed
from . import sessions
from .auth import audit, client_address, login_required, now, pin_refused, seoul_time
from .forms import AccessForm, AgentLineForm, OperatingSettingsForm

bp = Blueprint("settings", __name__, url_prefix="/settings")

SETTINGS_KEY = operating.SETTINGS_KEY


def refuse_key_said(key: str) -> str:
    """The key as an announcement would say it, with its Korean particle:
    9번을, 별표(*)를, 우물 정(#)을; the bare key in English."""
    if current_language() != "ko":
        return key
    return {"*": "별표(*)를", "#": "우물 정(#)을"}.get(key, f"{key}번을")


def load_operating(store) -> operating.OperatingSettings:
    return operating.from_stored(db.get_setting(store, SETTINGS_KEY))


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    store = db.get_db()
    current = load_operating(store)
    errors: dict[str, str] = {}
    values = current.as_dict()
    if request.method == "POST":
        form = OperatingSettingsForm(current)
        if form.validate():
            parsed = form.settings
            db.put_setting(store, SETTINGS_KEY, parsed.as_dict())
            changed = {k: v for k, v in parsed.as_dict().items() if values.get(k) != v}
            audit("settings", target="operating settings", detail=changed)
            flash(_("저장했습니다."), "info")
            return redirect(url_for("settings.index"))
        errors = form.field_errors()
        values.update({k: v for k, v in request.form.items()})
        values["connect_agent_after_intro"] = "connect_agent_after_intro" in request.form
        if "refuse_key" in errors:   # the select shows the key in force, not the refused one
            values["refuse_key"] = current.refuse_key
        flash(_("입력값을 확인하세요."), "error")
    return render_template("settings/index.html", values=values, errors=errors, refuse_keys=operating.REFUSE_KEYS,
                           refuse_key_said=refuse_key_said(values.get("refuse_key") or "9")), 400 if errors else 200


@bp.route("/agents", methods=["GET", "POST"])
@login_required
def agents():
    store = db.get_db()
    errors: list[str] = []
    if request.method == "POST":
        form = AgentLineForm()
        if not form.validate():
            errors = form.error_list()
        else:
            extension, name, dial_target = form.extension.data, form.name.data, form.dial_target.data
            try:
                saved = db.save_agent_line(store, line_id=form.line_id, extension=extension, name=name,
                                           dial_target=dial_target,
                                           position=form.position.data or len(db.agent_lines(store)) + 1,
                                           enabled=form.enabled.data)
            except db.Conflict as exc:
                errors.append(error_message(exc))
            except db.NotFound:
                abort(404)
            else:
                audit("settings", target=f"agent line {extension}",
                      detail={"id": saved, "name": name, "dial_target": dial_target,
                              "enabled": form.enabled.data})
                flash(_("저장했습니다."), "info")
                return redirect(url_for("settings.agents"))
        for error in errors:
            flash(error, "error")
    return render_template("settings/agents.html", lines=db.agent_lines(store)), (400 if errors else 200)


@bp.route("/agents/<int:line_id>/delete", methods=["POST"])
@login_required
def delete_agent(line_id: int):
    if pin_refused(f"agent line {line_id}"):
        return redirect(url_for("settings.agents"))
    try:
        row = db.delete_agent_line(db.get_db(), line_id)
    except db.NotFound:
        abort(404)
    audit("delete", target=f"agent line {row['extension']}")
    return redirect(url_for("settings.agents"))


@bp.route("/access", methods=["GET", "POST"])
@login_required
def access():
    store = db.get_db()
    text = db.get_setting(store, "console_allow_networks", "")
    status = 200
    if request.method == "POST":
        form = AccessForm()
        text = form.networks.data
        if not form.validate():
            flash(form.error_list()[0], "error")
            status = 400
        elif not pin_refused("console allow-list", action="settings"):
            normalised = "\n".join(str(n) for n in form.parsed)
            db.put_setting(store, "console_allow_networks", normalised)
            ended = _end_sessions_outside(form.parsed)
            audit("settings", target="console allow-list",
                  detail={"networks": normalised, "sessions_ended": ended})
            flash(_("저장했습니다."), "info")
            return redirect(url_for("settings.access"))
        else:
            status = 403
    lockouts = [dict(row, until_text=seoul_time(row["until"])) for row in db.active_lockouts(store, now())]
    current = sessions.current_key()
    open_sessions = [dict(row, started=seoul_time(row["created_at"]), seen=seoul_time(row["last_seen"]),
                          this=row["id"] == current) for row in sessions.open_rows()]
    return render_template("settings/access.html", networks=text, lockouts=lockouts,
                           sessions=open_sessions, address=client_address()), status


def _end_sessions_outside(networks) -> int:
    """After an allow-list change: end the sessions logged in from an address
    it no longer admits, and close every dashboard socket outside it."""
    ended = 0
    for row in sessions.open_rows():
        if not address_allowed(row["address"], networks):
            ended += sessions.end(row["id"], "allow-list")
    sessions.sockets().drop_outside(networks)
    return ended


@bp.route("/access/unlock", methods=["POST"])
@login_required
def unlock():
    key = request.form.get("key", "")
    if pin_refused(f"lock-out {key}", action="unlock"):
        return redirect(url_for("settings.access"))
    if db.lift_lockouts(db.get_db(), [key]):
        audit("unlock", target=key)
        flash(_("잠금을 해제했습니다."), "info")
    else:
        flash(_("잠겨 있지 않습니다: {key}", key=key), "error")
    return redirect(url_for("settings.access"))


@bp.route("/access/sessions/<key>/end", methods=["POST"])
@login_required
def end_session(key: str):
    """접근관리: end one open console session (its sockets close at once)."""
    if pin_refused("console session", action="session"):
        return redirect(url_for("settings.access"))
    mine = key == sessions.current_key()
    if sessions.end(key, "ended by manager"):
        audit("session", target="console session", detail={"ended": "by manager", "own": mine})
        flash(_("접속을 끝냈습니다."), "info")
    else:
        flash(_("이미 끝난 접속입니다."), "error")
    if mine:
        return redirect(url_for("auth.login"))
    return redirect(url_for("settings.access"))
