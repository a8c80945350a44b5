"""호출자료: upload, preview, import, browse and delete call lists; 수신거부."""

from __future__ import annotations

import io
import json
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   send_file, url_for)

from .. import db
from ..contacts import importer
from ..contacts.phone_numbers import format_display, mask
from ..disk import DiskFull
from ..guarded import Limits
from ..i18n import _, error_message
from ..reports import labels
from ..storage import uploads
from . import disk, jobs, paged, upload_size
from .auth import audit, current_manager, login_required, pin_refused
from .forms import CallListUploadForm
from .forms import DoNotCallForm

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

REASONS_KO = labels.REJECT_REASONS      # one wording with the rejects workbook

STAGES_KO = {"upload": "전송 중", "read": "파일을 읽는 중", "normalise": "번호 정리 중",
             "dedupe": "중복 확인 중", "store": "저장 중"}


@bp.app_template_filter("phone")
def phone_filter(canonical: str | None) -> str:
    return format_display(canonical) if canonical else ""


@bp.app_template_filter("reason")
def reason_filter(code: str) -> str:
    return _(labels.reject_reason(code))


@bp.app_template_filter("extra_fields")
def extra_fields_filter(extra) -> str:
    """A voter's other columns ({"메모": "지지"}, or as stored, JSON) as "메모: 지지"."""
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            return extra
    if isinstance(extra, dict):
        return ", ".join(f"{key}: {value}" for key, value in extra.items())
    return "" if extra is None else str(extra)


@bp.app_template_filter("reject_explained")
def reject_explained_filter(code: str, message: str | None = None) -> str:
    """What a reject reason means, in the manager's language (the stored
    message for a code of no known wording)."""
    return labels.reject_explained(code, message, _)


@bp.route("/")
@login_required
def index():
    store = db.get_db()
    return render_template("contacts/index.html", lists=db.contact_lists(store),
                           totals=db.contact_totals(store),
                           accept=",".join(importer.ALLOWED_EXTENSIONS))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _upload_error(message: str, status: int = 400):
    if _wants_json():
        return {"error": message}, status
    flash(message, "error")
    return redirect(url_for("contacts.index"))


def _disk_full(exc: DiskFull, page):
    """Not enough disk space: the message on the page (or as JSON), 507, nothing stored."""
    if _wants_json():
        return {"error": exc.user_message}, 507
    flash(exc.user_message, "error")
    return page(), 507


@bp.route("/upload", methods=["POST"])
@login_required
def upload():
    """Store the file by hash and start reading it; answers with the job page."""
    store = db.get_db()
    file = request.files.get("file")
    if file is None or not file.filename:
        return _upload_error(_("파일을 선택하세요."))
    try:
        name = importer.check_list_name(store, CallListUploadForm().name.data or "")
        ext = importer.check_extension(file.filename)
    except importer.CallListError as exc:
        return _upload_error(str(exc))
    try:
        disk().check_room(upload_size(file))
    except DiskFull as exc:
        audit("upload", target=f"call list file {file.filename}", ok=False, detail=exc.detail())
        return _disk_full(exc, index)
    sha256, path = uploads().put_stream(file.stream, ext)
    audit("upload", target=f"call list file {file.filename}", detail={"sha256": sha256, "list": name})
    filename = Path(file.filename).name
    db_path = current_app.config["DATABASE"]
    store_files, limits = uploads(), _parse_limits()
    actor, address = current_manager()["login_id"], request.remote_addr

    def work(job):
        job.data.update(name=name, filename=filename, sha256=sha256, actor=actor, address=address)
        try:
            return importer.preview_guarded(db_path, store_files, path, filename, limits=limits,
                                            progress=job.progress, run_holder=_holder(job))
        except importer.CallListError as exc:
            _source_gone(db_path, store_files, job, exc)
            raise

    job = jobs().start("contacts-prepare", current_manager()["id"], work, done_state="ready")
    job.on_forget = lambda job: _forgotten(db_path, store_files, job)
    target = url_for("contacts.job", job_id=job.id)
    if _wants_json():
        return {"job": job.id, "url": target, "status": url_for("contacts.job_status", job_id=job.id)}
    return redirect(target)


def _parse_limits() -> Limits:
    cfg = current_app.config
    return Limits(memory_bytes=cfg["PARSE_MEMORY_BYTES"], timeout_s=cfg["PARSE_TIMEOUT_S"])


def _holder(job):
    """``run_holder`` for importer: keeps the guarded run on the job, so the
    취소 button can kill it (at once, if it was pressed before the child started)."""
    def hold(run):
        job.data["run"] = run
        if job.data.get("cancel_requested"):
            run.cancel()
    return hold


def _source_gone(db_path: str, store_files, job, exc: importer.CallListError) -> None:
    """A preview or import that did not finish: its source file leaves with
    it (unless another list was made from the same bytes), and the audit log
    says how it ended. Runs in the job's thread."""
    own = db.connect(db_path)
    try:
        removed = importer.discard_source(own, store_files, job.data["sha256"], job.data["filename"])
        cancelled = exc.kind == "cancelled"
        db.audit(own, "cancel" if cancelled else ("import" if job.kind == "contacts-commit" else "upload"),
                 actor=job.data.get("actor"), address=job.data.get("address"),
                 target=f"call list file {job.data['filename']}", ok=cancelled,
                 detail={"step": "import" if job.kind == "contacts-commit" else "preview",
                         "reason": exc.kind, "file_removed": removed})
    finally:
        own.conn.close()


def _forgotten(db_path: str, store_files, job) -> None:
    """A preview left waiting for its 가져오기 until the registry forgets it
    (an hour): its file goes, unless the list was imported."""
    if job.state != "ready":
        return
    own = db.connect(db_path)
    try:
        importer.discard_source(own, store_files, job.data["sha256"], job.data["filename"])
    finally:
        own.conn.close()


def _job_or_404(job_id: str):
    job = jobs().get(job_id, current_manager()["id"])
    if job is None or not job.kind.startswith("contacts"):
        abort(404)
    return job


def _job_status(job) -> dict:
    error = job.error
    if error is not None and job.error_template:
        error = f"{job.data.get('filename', '')}: {_(job.error_template, **job.error_values)}"
    status = {"state": job.state, "stage": job.stage, "stage_label": _(STAGES_KO.get(job.stage, job.stage)),
              "fraction": round(job.fraction, 3), "error": error}
    if job.state == "done":
        status["redirect"] = url_for("contacts.detail", list_id=job.result.list_id, imported=1)
    return status


@bp.route("/jobs/<job_id>.json")
@login_required
def job_status(job_id: str):
    return _job_status(_job_or_404(job_id))


@bp.route("/jobs/<job_id>")
@login_required
def job(job_id: str):
    return _job_page(_job_or_404(job_id))


def _job_page(job):
    status = _job_status(job)  # one snapshot: the worker thread moves the job on meanwhile
    if status["state"] == "done":
        return redirect(status["redirect"])
    plan = job.result if status["state"] == "ready" else None
    rejects = plan.rejects if plan is not None else []
    return render_template("contacts/job.html", job=job, plan=plan, rejects=rejects,
                           status=status)


@bp.route("/jobs/<job_id>/commit", methods=["POST"])
@login_required
def commit(job_id: str):
    job = _job_or_404(job_id)
    if job.state != "ready":
        flash(_("가져오기 작업을 찾을 수 없습니다. 파일을 다시 올리세요."), "error")
        return redirect(url_for("contacts.index"))
    db_path = current_app.config["DATABASE"]
    store_files, limits = uploads(), _parse_limits()
    source = store_files.path(job.data["sha256"], Path(job.data["filename"]).suffix.lower())
    if not source.exists():
        jobs().discard(job.id)
        flash(_("가져오기 작업을 찾을 수 없습니다. 파일을 다시 올리세요."), "error")
        return redirect(url_for("contacts.index"))
    try:
        disk().check_room(source.stat().st_size)
    except DiskFull as exc:
        audit("import", target=f"call list {job.data['name']}", ok=False, detail=exc.detail())
        return _disk_full(exc, lambda: _job_page(job))
    manager = current_manager()["login_id"]
    address = request.remote_addr
    job.data.update(actor=manager, address=address, cancel_requested=False, run=None)

    def work(job):
        # The child reads the file again and stores it in one transaction (the
        # preview's plan stays in its child; docs/decisions.md #51).
        try:
            result = importer.import_guarded(db_path, store_files, source, name=job.data["name"],
                                             filename=job.data["filename"], source_sha256=job.data["sha256"],
                                             limits=limits, progress=job.progress, run_holder=_holder(job))
        except importer.CallListError as exc:
            _source_gone(db_path, store_files, job, exc)
            raise
        own = db.connect(db_path)
        try:
            db.audit(own, "import", actor=manager, address=address,
                     target=f"call list {result.name}", detail=result.summary())
        finally:
            own.conn.close()
        return result

    job.kind = "contacts-commit"
    jobs().start("contacts-commit", job.owner, work, job=job)
    if _wants_json():
        return {"job": job.id, "status": url_for("contacts.job_status", job_id=job.id)}
    return redirect(url_for("contacts.job", job_id=job.id))


@bp.route("/jobs/<job_id>/cancel", methods=["POST"])
@login_required
def cancel(job_id: str):
    """취소: a running preview or import is killed (its thread removes the
    file and audits the cancel); a finished preview that will not be imported
    leaves with its file."""
    job = _job_or_404(job_id)
    if job.state == "running":
        job.data["cancel_requested"] = True
        run = job.data.get("run")
        if run is not None:
            run.cancel()
        # the job's page shows how it ended: cancelled, or done if it had just committed
        if _wants_json():
            return {"state": "cancelling", "status": url_for("contacts.job_status", job_id=job.id)}
        return redirect(url_for("contacts.job", job_id=job.id))
    else:
        if job.state == "ready":
            removed = importer.discard_source(db.get_db(), uploads(), job.data["sha256"], job.data["filename"])
            audit("cancel", target=f"call list file {job.data['filename']}",
                  detail={"step": "preview", "reason": "cancelled", "file_removed": removed})
        jobs().discard(job.id)
        message = _("가져오기를 취소했습니다. 저장된 것은 없습니다.")
    if _wants_json():
        return {"state": "cancelled", "message": message}
    flash(message, "info")
    return redirect(url_for("contacts.index"))


@bp.route("/<int:list_id>")
@login_required
def detail(list_id: int):
    store = db.get_db()
    try:
        contact_list = db.contact_list(store, list_id)
    except db.NotFound:
        abort(404)
    search = request.args.get("q", "").strip()
    listing = paged(lambda **window: db.contacts_page(store, list_id, search=search or None, **window))
    return render_template("contacts/detail.html", contact_list=contact_list, rows=listing.rows,
                           total=listing.total, page=listing.page, pages=listing.pages, search=search,
                           just_imported=request.args.get("imported") == "1")


@bp.route("/<int:list_id>/rejects.xlsx")
@login_required
def rejects(list_id: int):
    store = db.get_db()
    try:
        contact_list = db.contact_list(store, list_id)
    except db.NotFound:
        abort(404)
    if not (contact_list["invalid"] + contact_list["duplicates"] + contact_list["do_not_call"]):
        abort(404)
    audit("export", target=f"rejects of call list {contact_list['name']}")
    data = importer.rejects_xlsx(store, list_id)
    return send_file(io.BytesIO(data), as_attachment=True,
                     download_name=f"rejects-{list_id}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/<int:list_id>/delete", methods=["POST"])
@login_required
def delete(list_id: int):
    store = db.get_db()
    if pin_refused(f"call list {list_id}"):
        return redirect(url_for("contacts.detail", list_id=list_id))
    try:
        row = db.delete_contact_list(store, list_id)
    except db.NotFound:
        abort(404)
    except db.Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("contacts.detail", list_id=list_id))
    removed = bool(row.get("source_sha256")) and importer.discard_source(
        store, uploads(), row["source_sha256"], row.get("source_filename") or "")
    audit("delete", target=f"call list {row['name']}", detail={"contacts": row["imported"],
                                                              "file_removed": removed})
    flash(f"{row['name']}: {_('삭제')}", "info")
    return redirect(url_for("contacts.index"))


# -- 수신거부 (do-not-call) -------------------------------------------------

@bp.route("/do-not-call", methods=["GET", "POST"])
@login_required
def do_not_call():
    store = db.get_db()
    if request.method == "POST":
        form = DoNotCallForm()
        note = form.note_text
        if not form.validate():
            for problem in form.error_list():
                flash(problem, "error")
            return render_template("contacts/do_not_call.html", numbers=form.numbers.data,
                                   note=note or "", **_dnc_page(store)), 400
        added = db.add_do_not_call(store, form.normalised, note)
        audit("settings", target="do-not-call", detail={"added": added})
        flash(f"{_('추가')}: {added}", "info")
        return redirect(url_for("contacts.do_not_call"))
    return render_template("contacts/do_not_call.html", numbers="", note="", **_dnc_page(store))


def _dnc_page(store) -> dict:
    search = request.args.get("q", "").strip()
    listing = paged(lambda **window: db.do_not_call_page(store, search=search or None, **window))
    return {"rows": listing.rows, "total": listing.total, "page": listing.page, "pages": listing.pages,
            "search": search}


@bp.route("/do-not-call/remove", methods=["POST"])
@login_required
def do_not_call_remove():
    phone = request.form.get("phone", "")
    if pin_refused(f"do-not-call {mask(phone)}"):
        return redirect(url_for("contacts.do_not_call"))
    if db.remove_do_not_call(db.get_db(), phone):
        audit("delete", target=f"do-not-call {mask(phone)}")
    return redirect(url_for("contacts.do_not_call"))
