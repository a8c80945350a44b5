"""안내멘트: upload announcements, hear them, set their kind and play order."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for

from .. import db
from ..i18n import _
from ..media import audio
from ..storage import uploads
from . import MediaUpload, receive_media
from .auth import audit, login_required, pin_refused
from .forms import MENT_KINDS, MentRoleForm, MentUploadForm

bp = Blueprint("ments", __name__, url_prefix="/ments")

KINDS = MENT_KINDS
KIND_LABELS = dict(KINDS)
MAX_BYTES = 100 * 1024 * 1024


@bp.app_template_filter("ment_kind")
def ment_kind_filter(kind: str | None) -> str:
    return _(KIND_LABELS.get(kind, "미지정"))


@bp.route("/")
@login_required
def index():
    return render_template("ments/index.html", ments=db.ments(db.get_db()), kinds=KINDS,
                           accept=",".join(sorted(audio.ACCEPTED_EXTENSIONS)))


@bp.route("/upload", methods=["POST"])
@login_required
def upload():
    got = receive_media(audio.convert_announcement, audio.AudioError, max_bytes=MAX_BYTES,
                        what="announcement", back="ments.index", page=index)
    if not isinstance(got, MediaUpload):
        return got
    filename, converted = got.filename, got.converted
    sha256 = uploads().put(converted.wav, ".wav")
    title = MentUploadForm().title_or(Path(filename).stem)
    ment_id = db.add_ment(db.get_db(), sha256=sha256, original_name=filename, title=title,
                          duration_s=converted.duration_s, source=converted.source,
                          changes=converted.changes)
    audit("upload", target=f"announcement {filename}",
          detail={"sha256": sha256, "changes": converted.changes, "id": ment_id})
    if converted.changes:
        flash(f"{filename}: {_('전화기 형식 (PCM 8 kHz 16비트 모노)으로 변환했습니다')} — "
              + ", ".join(converted.changes), "info")
    else:
        flash(f"{filename}: {_('이미 전화기 형식입니다')}", "info")
    for warning in converted.warnings:
        flash(f"{filename}: {warning}", "warning")
    return redirect(url_for("ments.index"))


@bp.route("/<int:ment_id>.wav")
@login_required
def play(ment_id: int):
    try:
        row = db.ment(db.get_db(), ment_id)
    except db.NotFound:
        abort(404)
    return send_file(io.BytesIO(uploads().read(row["sha256"], ".wav")), mimetype="audio/wav",
                     download_name=f"{row['title']}.wav")


@bp.route("/<int:ment_id>/role", methods=["POST"])
@login_required
def set_role(ment_id: int):
    form = MentRoleForm()
    if not form.validate():
        flash(form.error_list()[0], "error")
        return redirect(url_for("ments.index"))
    kind, position = form.kind.data, form.position.data
    try:
        db.set_ment_role(db.get_db(), ment_id, kind, position)
    except db.NotFound:
        abort(404)
    audit("settings", target=f"announcement {ment_id}", detail={"kind": kind, "position": position})
    flash(_("저장했습니다."), "info")
    return redirect(url_for("ments.index"))


@bp.route("/<int:ment_id>/delete", methods=["POST"])
@login_required
def delete(ment_id: int):
    if pin_refused(f"announcement {ment_id}"):
        return redirect(url_for("ments.index"))
    store = db.get_db()
    try:
        row = db.delete_ment(store, ment_id)
    except db.NotFound:
        abort(404)
    if not db.sha256_in_use(store, row["sha256"]):
        uploads().remove(row["sha256"], ".wav")
    audit("delete", target=f"announcement {row['title']}")
    return redirect(url_for("ments.index"))
