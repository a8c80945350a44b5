"""백업: the archives, 지금 백업, verify, download and restore (PIN asked for
both: an archive holds every voter's number), an archive uploaded from
another PC, and the automatic backups' settings.

A restore from this page is prepared here and done when ``ars serve`` next
starts (``server/backup/restore.py`` says why); it is refused while a
campaign is running. Every step is on the audit log.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)

from .. import backup, db
from ..backup import listing, restore
from ..backup.archive import create_backup
from ..backup.check import check_archive
from ..backup.schedule import SETTING_KEY, AutoBackup, parse_settings, settings_from
from ..i18n import _
from ..jobs import run_blocking
from .auth import audit, check_admin_pin, current_manager, login_required, now

bp = Blueprint("backups", __name__, url_prefix="/backups")

KIND_LABELS = {"manual": "수동", "auto": "자동", "prerestore": "복원 전", "uploaded": "올린 파일"}
STATE_LABELS = {"ready": "준비", "running": "진행 중", "paused": "일시정지", "stopped": "중지", "finished": "완료"}


@bp.record_once
def _set_up(state) -> None:
    app = state.app
    directory = app.config.get("BACKUPS") or backup.default_dir(app.config["DATABASE"])
    app.config["BACKUPS"] = str(directory)
    app.extensions["ars_auto_backup"] = AutoBackup(
        app.config["DATABASE"], app.config["UPLOADS"], directory, clock=app.config["CLOCK"],
        room=backup.room_check(app.extensions.get("ars_disk")))


def auto() -> AutoBackup:
    return current_app.extensions["ars_auto_backup"]


def directory() -> Path:
    return Path(current_app.config["BACKUPS"])


def _room():
    return backup.room_check(current_app.extensions.get("ars_disk"))


@bp.app_context_processor
def _backup_alert() -> dict:
    """The last automatic backup's failure, for the banner on every console page."""
    backups = current_app.extensions.get("ars_auto_backup")
    return {"backup_problem": backups.status.error if backups else None}


def _archive_or_404(name: str) -> Path:
    try:
        return backup.archive_path(directory(), name)
    except backup.BackupError:
        abort(404)


def _pin_ok(action: str, name: str) -> bool:
    if check_admin_pin(request.form.get("pin")):
        return True
    audit(action, target=f"backup {name}", ok=False, detail={"reason": "wrong PIN"})
    flash(_("관리자비번이 올바르지 않습니다."), "error")
    return False


def _page(form_values: dict | None = None, errors: dict | None = None):
    settings = settings_from(db.get_setting(db.get_db(), SETTING_KEY))
    entries = [listing.describe(path) for path in reversed(listing.archives(directory()))]
    last_auto = next((e for e in entries if e["kind"] == "auto"), None)
    return render_template("backups/index.html", entries=entries, kinds=KIND_LABELS, states=STATE_LABELS,
                           last_auto=last_auto, settings=dict(settings, **(form_values or {})), status=auto().status,
                           pending=restore.pending(current_app.config["DATABASE"]), directory=directory(),
                           errors=errors or {})


@bp.route("/")
@login_required
def index():
    return _page()


@bp.route("/now", methods=["POST"])
@login_required
def backup_now():
    cfg = current_app.config
    try:
        written = run_blocking(create_backup, cfg["DATABASE"], cfg["UPLOADS"], directory(), kind="manual",
                               now=now(), room=_room())
    except backup.BackupError as exc:
        audit("backup", target="backup", ok=False, detail={"kind": "manual", "error": exc.code})
        flash(exc.user_message, "error")
        return redirect(url_for("backups.index"))
    audit("backup", target=f"backup {written.path.name}",
          detail={"kind": "manual", "size": written.path.stat().st_size})
    flash(_("백업했습니다: {name}", name=written.path.name), "info")
    return redirect(url_for("backups.index"))


@bp.route("/<name>/verify", methods=["POST"])
@login_required
def verify(name: str):
    path = _archive_or_404(name)
    try:
        run_blocking(check_archive, path, room=_room())
    except backup.BackupError as exc:
        if exc.code != "no_room":
            listing.record_check(path, False, exc.user_message, at=now())
        audit("backup", target=f"backup {name}", ok=False, detail={"step": "verify", "error": exc.code})
        flash(f"{name}: {exc.user_message}", "error")
        return redirect(url_for("backups.index"))
    listing.record_check(path, True, at=now())
    audit("backup", target=f"backup {name}", detail={"step": "verify", "ok": True})
    flash(_("확인했습니다: 모든 파일의 SHA-256과 데이터베이스 무결성이 맞습니다."), "info")
    return redirect(url_for("backups.index"))


@bp.route("/<name>/download", methods=["POST"])
@login_required
def download(name: str):
    path = _archive_or_404(name)
    if not _pin_ok("export", name):
        return redirect(url_for("backups.index"))
    audit("export", target=f"backup {name}", detail={"size": path.stat().st_size})
    return send_file(path, mimetype="application/gzip", as_attachment=True, download_name=name)


@bp.route("/<name>/restore", methods=["POST"])
@login_required
def restore_archive(name: str):
    path = _archive_or_404(name)
    if not _pin_ok("restore", name):
        return redirect(url_for("backups.index"))
    campaign = db.active_campaign(db.get_db())
    if campaign is not None and campaign["state"] == "running":
        audit("restore", target=f"backup {name}", ok=False, detail={"reason": "campaign running"})
        flash(backup.BackupError("campaign_running", name=campaign["name"]).user_message, "error")
        return redirect(url_for("backups.index"))
    database = current_app.config["DATABASE"]
    try:
        staged = run_blocking(restore.stage, path, database, room=_room())
    except backup.BackupError as exc:
        if exc.code != "no_room":
            listing.record_check(path, False, exc.user_message, at=now())
        audit("restore", target=f"backup {name}", ok=False, detail={"step": "check", "error": exc.code})
        flash(f"{name}: {exc.user_message}", "error")
        return redirect(url_for("backups.index"))
    listing.record_check(path, True, at=now())
    restore.mark_pending(staged, database, actor=current_manager()["login_id"])
    audit("restore", target=f"backup {name}",
          detail={"step": "staged", "created_at": staged.manifest.get("created_at")})
    flash(_("복원을 준비했습니다. 서버(ars serve)를 다시 시작하면 이 백업으로 바뀝니다. 바뀌기 전의 데이터는 “복원 전” 백업으로 남습니다."),  # noqa: E501
          "info")
    return redirect(url_for("backups.index"))


@bp.route("/restore/cancel", methods=["POST"])
@login_required
def cancel_restore():
    info = restore.cancel_pending(current_app.config["DATABASE"])
    if info is not None:
        audit("restore", target=f"backup {info.get('archive')}", detail={"step": "cancelled"})
        flash(_("준비한 복원을 취소했습니다."), "info")
    return redirect(url_for("backups.index"))


@bp.route("/upload", methods=["POST"])
@login_required
def upload():
    """An archive from another PC: stored beside the others only once every
    byte of it checked out; else removed, and the manager told why."""
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("파일을 선택하세요."), "error")
        return redirect(url_for("backups.index"))
    filename = Path(file.filename).name
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    folder = backup.ensure_dir(directory())
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-upload-", suffix=".tar.gz", dir=folder)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o600)
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := file.stream.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise backup.BackupError("too_big", detail=f"{limit // (1024 * 1024)} MB")
                out.write(chunk)
        room = _room()
        if room is not None:
            room(size)
        run_blocking(check_archive, tmp, room=room)
        name = backup.archive_name(_utc(now()), "uploaded", taken={p.name for p in folder.iterdir()})
        os.replace(tmp, folder / name)
    except backup.BackupError as exc:
        audit("backup", target=f"uploaded {filename}", ok=False, detail={"step": "upload", "error": exc.code})
        flash(f"{filename}: {exc.user_message}", "error")
        return redirect(url_for("backups.index"))
    finally:
        tmp.unlink(missing_ok=True)
    listing.record_check(folder / name, True, at=now())
    audit("backup", target=f"backup {name}", detail={"step": "upload", "from": filename, "size": size})
    flash(_("올린 백업을 확인해 목록에 넣었습니다: {name}", name=name), "info")
    return redirect(url_for("backups.index"))


def _utc(epoch: float):
    import datetime as dt
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


@bp.route("/settings", methods=["POST"])
@login_required
def save_settings():
    values, errors = parse_settings(request.form)
    if errors:
        flash(_("입력값을 확인하세요."), "error")
        return _page({k: request.form.get(k, "") for k in ("every_min", "keep")}, errors), 400
    db.put_setting(db.get_db(), SETTING_KEY, values)
    audit("settings", target="automatic backups", detail=values)
    flash(_("저장했습니다."), "info")
    return redirect(url_for("backups.index"))
