"""이미지: the outgoing poster (발신시) and the callback image (착신시)."""

from __future__ import annotations

import hashlib
import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for

from .. import db
from ..i18n import _
from ..media import images as imaging
from ..storage import uploads
from . import MediaUpload, receive_media
from .auth import audit, login_required, pin_refused
from .forms import IMAGE_KINDS, ImageUploadForm

bp = Blueprint("images", __name__, url_prefix="/images")

MAX_BYTES = 30 * 1024 * 1024


@bp.route("/")
@login_required
def index():
    rows = db.images(db.get_db())
    return render_template("images/index.html", kinds=IMAGE_KINDS,
                           by_kind={kind: [r for r in rows if r["kind"] == kind] for kind, _l in IMAGE_KINDS},
                           target=imaging.TARGET_SIZE, max_kb=imaging.MAX_BYTES // 1000)


@bp.route("/upload", methods=["POST"])
@login_required
def upload():
    form = ImageUploadForm()
    if not form.validate():
        flash(form.error_list()[0], "error")
        return redirect(url_for("images.index"))
    kind = form.kind.data
    got = receive_media(imaging.prepare_image, imaging.ImageError, max_bytes=MAX_BYTES, what="image",
                        back="images.index", page=index)
    if not isinstance(got, MediaUpload):
        return got
    filename, data, prepared = got.filename, got.data, got.converted
    store = uploads()
    original_sha256 = hashlib.sha256(data).hexdigest()
    sha256 = store.put(prepared.jpeg, ".jpg")
    image_id = db.add_image(db.get_db(), kind=kind, sha256=sha256, original_sha256=original_sha256,
                            original_name=filename, width=prepared.width, height=prepared.height,
                            size=len(prepared.jpeg), source=prepared.source, changes=prepared.changes)
    audit("upload", target=f"image {filename}", detail={"kind": kind, "sha256": sha256, "id": image_id})
    flash(f"{filename}: " + (", ".join(prepared.changes) or _("완료")), "info")
    return redirect(url_for("images.index"))


def _image_or_404(image_id: int) -> dict:
    try:
        return db.image(db.get_db(), image_id)
    except db.NotFound:
        abort(404)


@bp.route("/<int:image_id>.jpg")
@login_required
def show(image_id: int):
    row = _image_or_404(image_id)
    data = uploads().read(row["sha256"], ".jpg")
    if request.args.get("thumb"):
        data = imaging.thumbnail(data)
    return send_file(io.BytesIO(data), mimetype="image/jpeg")


@bp.route("/<int:image_id>/activate", methods=["POST"])
@login_required
def activate(image_id: int):
    row = _image_or_404(image_id)
    db.activate_image(db.get_db(), image_id)
    audit("settings", target=f"image {row['original_name']}", detail={"kind": row["kind"], "active": True})
    return redirect(url_for("images.index"))


@bp.route("/<int:image_id>/delete", methods=["POST"])
@login_required
def delete(image_id: int):
    if pin_refused(f"image {image_id}"):
        return redirect(url_for("images.index"))
    store = db.get_db()
    row = _image_or_404(image_id)
    db.delete_image(store, image_id)
    if not db.sha256_in_use(store, row["sha256"]):
        uploads().remove(row["sha256"], ".jpg")
    audit("delete", target=f"image {row['original_name']}")
    return redirect(url_for("images.index"))
