"""폰 등록: register phones, approve join requests, enrolment key, rename, disable, group."""

from __future__ import annotations

import json
import secrets

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from .. import db
from ..i18n import _
from ..phones.api import ENROL_KEY_SETTING, install_command, server_certificate
from ..reports import labels
from ..security import new_token, token_sha256
from .auth import audit, login_required, pin_refused
from .forms import MODES, EnrolKeyForm, NewPhoneForm, PhoneForm

bp = Blueprint("phones", __name__, url_prefix="/phones")


@bp.app_template_filter("phone_mode")
def phone_mode_filter(code: str | None) -> str:
    return _(labels.PHONE_MODES.get(code, code or ""))


@bp.app_template_filter("image_status")
def image_status_filter(code: str | None) -> str:
    return _(labels.IMAGE_STATUSES.get(code, code or ""))


@bp.app_template_filter("phone_problem")
def phone_problem_filter(text: str | None) -> str:
    """The server's own words in Korean; a phone's text as it came (what the handset said)."""
    return _(labels.NO_AUDIO_PATH) if text == "no audio path" else (text or "")



def engine():
    return current_app.extensions["ars_engine"]


AUDIO_LABELS = {"downlink": "통화음 직접 수신", "voice_call": "통화음 혼합 수신", "speaker": "스피커 방식"}


def audio_status(live: dict) -> dict:
    """How a phone hears the call, in the manager's words: ``label`` (what
    its last audio probe found), ``ok`` (it can take calls), ``detail`` (the
    capture source, or why there is none) and ``probe`` (a 오디오 점검 asked
    of it: sent, or refused and why)."""
    audio, probe = live.get("audio"), live.get("probe") or {}
    if audio is None:
        out = {"label": _("시뮬레이션" if live.get("backend") == "sim" else "점검 전"), "ok": None, "detail": ""}
    elif audio["path"] == "none":
        android = audio.get("android") or ""
        major = android.split(".")[0]
        label = _("오디오 불가") + (f" — Android {android}" if major.isdigit() and int(major) <= 10 else "")
        out = {"label": label, "ok": False, "detail": audio.get("problem") or ""}
    else:
        out = {"label": _(AUDIO_LABELS[audio["path"]]), "ok": True, "detail": audio.get("capture") or ""}
    out["probe"] = probe.get("status")
    error = probe.get("error") if probe.get("status") == "failed" else None
    if error and error.startswith("a call is in progress"):
        error = _("통화 중이라 점검하지 못했습니다. 통화가 끝난 뒤 다시 누르세요.")
    out["probe_error"] = error
    return out


def server_url() -> str:
    return request.host_url.rstrip("/")


def pairing(token: str) -> dict:
    """What a phone needs to join: as text and as a QR code (segno). Over
    TLS the payload carries the certificate's SHA-256 the phone pins
    (docs/protocol.md "Enrolment")."""
    fields = {"server": server_url(), "token": token}
    if server_certificate():
        fields["cert_sha256"] = server_certificate()
    payload = json.dumps(fields, separators=(",", ":"))
    return {"token": token, "payload": payload,
            "qr": segno.make(payload, error="m").svg_data_uri(scale=5, border=2)}


def _page(status: int = 200, issued: dict | None = None, issued_for: dict | None = None):
    store = db.get_db()
    live = engine().snapshot()["phones"]
    by_id = {row["id"]: row for row in live}
    rows = [dict(row, live=by_id.get(row["id"], {})) for row in db.phones(store)]
    for row in rows:
        row["audio"] = audio_status(row["live"])
    now = current_app.config["CLOCK"]()
    db.expire_join_requests(store, now)
    return render_template("phones/index.html", phones=rows, requests=db.join_requests(store, now=now),
                           enrol_key=db.get_setting(store, ENROL_KEY_SETTING), modes=MODES,
                           install=install_command(server_url(), server_certificate()), issued=issued,
                           issued_for=issued_for, server_url=server_url(),
                           cert_sha256=server_certificate()), status


@bp.route("/")
@login_required
def index():
    return _page()


@bp.route("/register", methods=["POST"])
@login_required
def register():
    form = NewPhoneForm()
    if not form.validate():
        flash(_("폰 이름(1-60자)과 접속 방식(공유기접속 또는 인터넷연결)을 정하세요."), "error")
        return _page(400)
    name, mode = form.name.data, form.mode.data
    token = new_token()
    phone_id = db.create_phone(db.get_db(), name=name, mode=mode, token_sha256=token_sha256(token),
                               group_name=form.group_name)
    engine().reload_phone(phone_id)
    audit("settings", target=f"phone {phone_id}", detail={"registered": name, "mode": mode})
    return _page(issued=pairing(token), issued_for={"id": phone_id, "name": name})


@bp.route("/<int:phone_id>/token", methods=["POST"])
@login_required
def reissue(phone_id: int):
    store = db.get_db()
    try:
        phone = db.phone(store, phone_id)
    except db.NotFound:
        abort(404)
    if pin_refused(f"phone {phone['name']} token", action="settings"):
        return redirect(url_for("phones.index"))
    token = new_token()
    db.update_phone(store, phone_id, token_sha256=token_sha256(token))
    engine().reload_phone(phone_id)
    audit("settings", target=f"phone {phone_id}", detail={"token": "reissued"})
    return _page(issued=pairing(token), issued_for=phone)


@bp.route("/<int:phone_id>", methods=["POST"])
@login_required
def update(phone_id: int):
    form = PhoneForm()
    if not form.validate():
        flash(form.error_list()[0], "error")
        return redirect(url_for("phones.index"))
    fields = {"name": form.name.data, "group_name": form.group_name, "enabled": int(form.enabled.data)}
    try:
        phone = db.phone(db.get_db(), phone_id)
    except db.NotFound:
        abort(404)
    # Taking a phone out of service is a security action: the admin PIN again.
    if phone["enabled"] and not fields["enabled"] and pin_refused(f"phone {phone['name']}", action="settings"):
        return redirect(url_for("phones.index"))
    try:
        db.update_phone(db.get_db(), phone_id, **fields)
    except db.NotFound:
        abort(404)
    engine().reload_phone(phone_id)
    audit("settings", target=f"phone {phone_id}", detail=fields)
    flash(_("저장했습니다."), "info")
    return redirect(url_for("phones.index"))


@bp.route("/<int:phone_id>/probe-audio", methods=["POST"])
@login_required
def probe_audio(phone_id: int):
    """오디오 점검: the phone finds its audio path again (between calls)."""
    try:
        phone = db.phone(db.get_db(), phone_id)
    except db.NotFound:
        abort(404)
    if engine().probe_audio(phone_id):
        audit("settings", target=f"phone {phone['name']}", detail={"audio_probe": "requested"})
        flash(_("오디오 점검을 요청했습니다. 결과는 잠시 후 이 표에 나옵니다."), "info")
    else:
        flash(_("폰이 연결되어 있지 않아 오디오를 점검할 수 없습니다."), "error")
    return redirect(url_for("phones.index"))


@bp.route("/<int:phone_id>/delete", methods=["POST"])
@login_required
def delete(phone_id: int):
    if pin_refused():
        return redirect(url_for("phones.index"))
    try:
        row = db.delete_phone(db.get_db(), phone_id)
    except db.NotFound:
        abort(404)
    engine().reload_phone(phone_id)
    audit("delete", target=f"phone {row['name']}")
    return redirect(url_for("phones.index"))


@bp.route("/join/<request_id>/<decision>", methods=["POST"])
@login_required
def decide(request_id: str, decision: str):
    store = db.get_db()
    now = current_app.config["CLOCK"]()
    try:
        if decision == "approve":
            token = new_token()
            phone_id = db.approve_join_request(store, request_id, token=token,
                                               token_sha256=token_sha256(token), now=now)
            engine().reload_phone(phone_id)
        elif decision == "reject":
            db.reject_join_request(store, request_id, now=now)
        else:
            abort(404)
    except db.NotFound:
        row = db.join_request(store, request_id)
        if row is None:
            abort(404)
        db.expire_join_requests(store, now)
        flash(_("이 가입 요청은 만료되었거나 이미 처리되었습니다. 폰에서 다시 요청하게 하세요."), "error")
        return redirect(url_for("phones.index"))
    audit("settings", target=f"join request {request_id}", detail={"decision": decision})
    return redirect(url_for("phones.index"))


@bp.route("/enrol-key", methods=["POST"])
@login_required
def enrol_key():
    form = EnrolKeyForm()
    if not form.validate():
        flash(form.error_list()[0], "error")
        return redirect(url_for("phones.index"))
    if pin_refused("phone enrolment key", action="settings"):
        return redirect(url_for("phones.index"))
    store = db.get_db()
    if form.action.data == "disable":
        db.put_setting(store, ENROL_KEY_SETTING, None)
    else:
        db.put_setting(store, ENROL_KEY_SETTING, secrets.token_urlsafe(18))
    audit("settings", target="phone enrolment key", detail={"action": form.action.data})
    return redirect(url_for("phones.index"))
