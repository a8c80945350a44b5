"""운용환경 (operating settings), 상담원 (agent lines) and 접근관리 (access control)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from .. import db, operating
from ..i18n import _, current_language
from ..security import parse_networks
from .auth import audit, client_address, login_required, now, seoul_time

bp = Blueprint("settings", __name__, url_prefix="/settings")

SETTINGS_KEY = operating.SETTINGS_KEY
_EXTENSION = re.compile(r"^[0-9]{2,8}$")
_DIAL_TARGET = re.compile(r"^[0-9*#+]{2,20}$")


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
        form = dict(request.form)
        form["_checkboxes"] = "1"
        parsed, errors = operating.parse(form, current)
        if parsed is not None:
            db.put_setting(store, SETTINGS_KEY, parsed.as_dict())
            changed = {k: v for k, v in parsed.as_dict().items() if values.get(k) != v}
            audit("settings", target="operating settings", detail=changed)
            flash(_("저장했습니다."), "info")
            return redirect(url_for("settings.index"))
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
        line_id = request.form.get("id", type=int)
        extension = request.form.get("extension", "").strip()
        name = request.form.get("name", "").strip()
        dial_target = request.form.get("dial_target", "").strip() or extension
        position_raw = request.form.get("position", "").strip()
        if not _EXTENSION.match(extension):
            errors.append(f"extension must be 2-8 digits, not '{extension}'")
        if not name or len(name) > 40:
            errors.append("name must be 1-40 characters")
        if not _DIAL_TARGET.match(dial_target):
            errors.append(f"dial target must be a number (digits, *, #, +), not '{dial_target}'")
        try:
            position = int(position_raw or "0") or len(db.agent_lines(store)) + 1
            if not 1 <= position <= 999:
                raise ValueError
        except ValueError:
            errors.append(f"order must be a number from 1 to 999, not '{position_raw}'")
            position = 0
        if not errors:
            try:
                saved = db.save_agent_line(store, line_id=line_id, extension=extension, name=name,
                                           dial_target=dial_target, position=position,
                                           enabled="enabled" in request.form)
            except db.Conflict as exc:
                errors.append(str(exc))
            except db.NotFound:
                abort(404)
            else:
                audit("settings", target=f"agent line {extension}",
                      detail={"id": saved, "name": name, "dial_target": dial_target,
                              "enabled": "enabled" in request.form})
                flash(_("저장했습니다."), "info")
                return redirect(url_for("settings.agents"))
        for error in errors:
            flash(error, "error")
    return render_template("settings/agents.html", lines=db.agent_lines(store)), (400 if errors else 200)


@bp.route("/agents/<int:line_id>/delete", methods=["POST"])
@login_required
def delete_agent(line_id: int):
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
        text = request.form.get("networks", "")
        try:
            networks = parse_networks(text)
        except ValueError as exc:
            flash(str(exc), "error")
            status = 400
        else:
            normalised = "\n".join(str(n) for n in networks)
            db.put_setting(store, "console_allow_networks", normalised)
            audit("settings", target="console allow-list", detail={"networks": normalised})
            flash(_("저장했습니다."), "info")
            return redirect(url_for("settings.access"))
    lockouts = [dict(row, until_text=seoul_time(row["until"])) for row in db.active_lockouts(store, now())]
    return render_template("settings/access.html", networks=text, lockouts=lockouts,
                           address=client_address()), status


@bp.route("/access/unlock", methods=["POST"])
@login_required
def unlock():
    key = request.form.get("key", "")
    if db.clear_lockout(db.get_db(), key):
        audit("settings", target=f"unlock {key}")
        flash(_("저장했습니다."), "info")
    return redirect(url_for("settings.access"))
