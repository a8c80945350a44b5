"""Exports: call records, callbacks, a campaign's results, an imported call
list and the statistics as Excel (.xlsx) or CSV; the campaign report as PDF.

Every export is a POST from the page's export form (CSRF-checked). Phone
numbers are masked (010-****-5678) unless the manager ticks 전화번호 전체
표시 and gives the admin PIN again. Up to ``EXPORT_DIRECT_ROWS`` rows the
file is the answer (CSV streamed row by row, .xlsx from memory); above it a
job writes the file in a real thread (openpyxl write-only, to a file under
``exports/`` beside the database) while the page shows its progress, and
the manager downloads it when done. Every export, and every refused one, is
on the audit log: what, which campaign or list, rows, masked or not.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   send_file, stream_with_context, url_for)

from .. import db
from ..contacts.phone_numbers import format_display, mask
from ..i18n import _, current_language, translator
from ..jobs import run_blocking
from ..operating import SEOUL
from ..reports import labels, period, tables, writers
from ..reports.gather import gather
from . import jobs
from .auth import audit, check_admin_pin, client_address, current_manager, login_required, now
from .forms import safe_next

bp = Blueprint("exports", __name__, url_prefix="/exports")

DIRECT_ROWS = 20_000          # up to this many rows the file is the answer; above, a job with progress
KEEP_FILES_S = 2 * 3600       # finished export files are deleted after this
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "pdf": "application/pdf"}
NO_NUMBERS = ("statistics", "report")     # no phone number in them: nothing to mask
WHAT_KO = {"calls": "통화 기록", "callbacks": "콜백 처리", "campaign": "캠페인 결과", "contacts": "호출자료",
           "statistics": "통계", "report": "캠페인 보고서"}


class ExportWriteFailed(RuntimeError):
    """The export file could not be written (a full disk, most often)."""

    user_message = "내보낼 파일을 쓰지 못했습니다. 서버 PC의 디스크 공간을 확인한 뒤 다시 내보내세요."

    def __init__(self, message: str):
        super().__init__(message)
        self.user_message = message        # in the manager's language, for the job page


class ExportRefused(ValueError):
    """Input that cannot be exported; ``message`` is Korean (through ``_()``)."""

    def __init__(self, message: str, **values):
        super().__init__(message.format(**values))
        self.message, self.values = message, values


@dataclass
class Export:
    """One export asked for: what, for the audit log, and how to read it."""

    kind: str
    target: str                                   # the audit log's target (no personal data)
    detail: dict                                  # filters, for the audit log
    stem: str                                     # file name without extension
    sheets: Callable                              # (store, number) -> (total, [(title, columns, rows)])
    formats: tuple = ("xlsx", "csv")
    extra: dict = field(default_factory=dict)


def _number(masked: bool) -> Callable[[str], str]:
    return (lambda value: mask(value) if value else "") if masked else \
        (lambda value: format_display(value) if value else "")


def _stamp() -> str:
    return dt.datetime.fromtimestamp(now(), SEOUL).strftime("%Y%m%d-%H%M")


def _int(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ExportRefused("{field}: 숫자가 아닙니다 (입력값: {value}).", field=name, value=raw[:20])
    return int(raw)


def _campaign(store, campaign_id: int | None, *, required: bool) -> dict | None:
    if campaign_id is None:
        if required:
            raise ExportRefused("캠페인을 고르세요.")
        return None
    try:
        return db.campaign(store, campaign_id)
    except db.NotFound:
        raise ExportRefused("캠페인 {id}번이 없습니다.", id=campaign_id) from None


def _single(title: str, columns_for, read):
    def sheets(store, number):
        total, rows = read(store)
        return total, [(title, columns_for(number), rows)]
    return sheets


def describe(kind: str, store) -> Export:
    """The export the form asks for, its filters checked (ExportRefused)."""
    stamp = _stamp()
    if kind == "calls":
        campaign = _campaign(store, _int("campaign"), required=False)
        result = request.form.get("result") or None
        if result and result not in labels.RESULTS:
            raise ExportRefused("알 수 없는 결과입니다: {value}", value=result[:30])
        search = "".join(ch for ch in (request.form.get("q") or "") if ch.isdigit()) or None
        detail = {"campaign": campaign["name"] if campaign else None, "result": result,
                  "search": bool(search)}
        read = lambda s: db.export_calls(s, campaign_id=campaign["id"] if campaign else None,  # noqa: E731
                                         result=result, search=search)
        target = f"call records{' of campaign ' + str(campaign['id']) if campaign else ''}"
        return Export(kind, target, detail, f"calls-{stamp}", _single("통화 기록", tables.call_columns, read))
    if kind == "callbacks":
        status = request.form.get("status") or None
        if status and status not in labels.CALLBACK_STATUSES:
            raise ExportRefused("알 수 없는 상태입니다: {value}", value=status[:30])
        read = lambda s: db.export_callbacks(s, status=status)  # noqa: E731
        return Export(kind, "callbacks", {"status": status}, f"callbacks-{stamp}",
                      _single("콜백 처리", tables.callback_columns, read))
    if kind == "campaign":
        campaign = _campaign(store, _int("campaign"), required=True)
        read = lambda s: db.export_campaign_results(s, campaign["id"])  # noqa: E731
        return Export(kind, f"results of campaign {campaign['id']}", {"campaign": campaign["name"]},
                      f"campaign-{campaign['id']}-results-{stamp}",
                      _single("캠페인 결과", tables.campaign_result_columns, read))
    if kind == "contacts":
        list_id = _int("list")
        if list_id is None:
            raise ExportRefused("호출자료를 고르세요.")
        try:
            contact_list = db.contact_list(store, list_id)
        except db.NotFound:
            raise ExportRefused("호출자료 {id}번이 없습니다.", id=list_id) from None
        read = lambda s: db.export_contacts(s, list_id)  # noqa: E731
        return Export(kind, f"call list {list_id}", {"list": contact_list["name"]}, f"list-{list_id}-{stamp}",
                      _single("호출자료", tables.contact_columns, read))
    if kind in ("statistics", "report"):
        campaign = _campaign(store, _int("campaign"), required=False)
        try:
            chosen = period.parse(request.form.get("start"), request.form.get("end"), now=now())
        except period.PeriodError as exc:
            raise ExportRefused(exc.message, **exc.values) from None
        campaign_id = campaign["id"] if campaign else None

        wanted = (request.form.get("table") or None) if kind == "statistics" else None
        if wanted and wanted not in tables.STATISTICS_TABLES:
            raise ExportRefused("알 수 없는 표입니다: {value}", value=wanted[:30])

        def sheets(s, _number):
            stats = gather(s, period=chosen, campaign_id=campaign_id)
            found = [t for t in tables.statistics_tables(stats) if wanted in (None, t[0])]
            return sum(len(rows) for *_head, rows in found), [(title, cols, rows) for _k, title, cols, rows in found]
        detail = {"campaign": campaign["name"] if campaign else None, "period": chosen.label()}
        target = ("campaign report" if kind == "report" else "statistics") + \
            (f" of campaign {campaign_id}" if campaign_id else "")
        export = Export(kind, target, detail, f"{'report' if kind == 'report' else 'statistics'}-{stamp}",
                        sheets, formats=("pdf",) if kind == "report" else ("xlsx", "csv"),
                        extra={"period": chosen, "campaign": campaign})
        if wanted:
            detail["table"] = wanted
        return export
    abort(404)


def _exports_dir() -> Path:
    folder = Path(current_app.config["DATABASE"]).parent / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    old = time.time() - KEEP_FILES_S
    for path in folder.glob("*"):
        try:
            if path.stat().st_mtime < old:
                path.unlink()
        except OSError:
            pass
    return folder


@bp.route("/<kind>", methods=["POST"])
@login_required
def start(kind: str):
    if kind not in WHAT_KO:
        abort(404)
    back = safe_next(request.form.get("next"), url_for("home.index"))
    store = db.get_db()
    try:
        export = describe(kind, store)
    except ExportRefused as exc:
        flash(_(exc.message, **exc.values), "error")
        return redirect(back)
    fmt = request.form.get("format") or export.formats[0]
    if fmt not in export.formats:
        flash(_("이 자료는 {formats} 형식으로만 내보낼 수 있습니다 (요청: {value}).",
                formats=", ".join(export.formats), value=fmt[:10]), "error")
        return redirect(back)
    masked = request.form.get("unmasked") != "1" or kind in NO_NUMBERS
    detail = dict(export.detail, format=fmt)
    if kind not in NO_NUMBERS:
        detail["masked"] = masked
    if not masked and not check_admin_pin(request.form.get("pin")):
        audit("export", target=export.target, ok=False, detail=dict(detail, reason="wrong PIN"))
        flash(_("관리자비번이 올바르지 않습니다. 전화번호 전체 표시는 관리자비번을 다시 입력해야 합니다."), "error")
        return redirect(back)
    tr = translator(current_language())
    if kind == "report":
        return _pdf(export, detail, tr)
    return _table_export(export, fmt, masked, detail, tr)


def _table_export(export: Export, fmt: str, masked: bool, detail: dict, tr):
    path = current_app.config["DATABASE"]
    store = db.connect(path)
    store.conn.execute("BEGIN")          # one snapshot: the count and the rows agree
    try:
        total, sheets = export.sheets(store, _number(masked))
    except BaseException:
        store.conn.execute("ROLLBACK")
        store.conn.close()
        raise
    limit = current_app.config.get("EXPORT_DIRECT_ROWS", DIRECT_ROWS)   # ars.toml export_direct_rows
    if total > limit:
        store.conn.execute("ROLLBACK")
        store.conn.close()
        return _start_job(export, fmt, masked, detail, tr)
    audit("export", target=export.target, detail=dict(detail, rows=total))
    filename = f"{export.stem}.{fmt}"
    if fmt == "csv":
        title, columns, rows = sheets[0]

        def stream():
            try:
                yield from writers.csv_lines(columns, rows, tr)
            finally:
                store.conn.execute("ROLLBACK")
                store.conn.close()
        response = Response(stream_with_context(stream()), mimetype=MIMETYPES["csv"])
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    try:
        out = io.BytesIO()
        run_blocking(writers.write_xlsx, out, sheets, tr)
    finally:
        store.conn.execute("ROLLBACK")
        store.conn.close()
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=filename, mimetype=MIMETYPES["xlsx"])


def _start_job(export: Export, fmt: str, masked: bool, detail: dict, tr):
    path = current_app.config["DATABASE"]
    folder = _exports_dir()
    manager = current_manager()
    actor, address = manager["login_id"], client_address()
    number = _number(masked)

    def work(job):
        out = folder / f"{job.id}.{fmt}"
        job.data.update(path=str(out), filename=f"{export.stem}.{fmt}", format=fmt, what=export.kind)
        store = db.connect(path)
        try:
            store.conn.execute("BEGIN")
            job.progress("read", 0.0)
            total, sheets = export.sheets(store, number)
            job.data["total"] = total
            progress = lambda done: job.progress("write", done / max(1, total))  # noqa: E731
            try:
                if fmt == "csv":
                    _title, columns, rows = sheets[0]
                    with open(out, "w", encoding="utf-8", newline="") as fh:
                        for chunk in writers.csv_lines(columns, rows, tr, progress=progress):
                            fh.write(chunk)
                    written = total
                else:
                    written = writers.write_xlsx(out, sheets, tr, progress=progress)
            except OSError as exc:
                raise ExportWriteFailed(tr(ExportWriteFailed.user_message)) from exc
            store.conn.execute("ROLLBACK")
            job.data["rows"] = written
            db.audit(store, "export", actor=actor, address=address, target=export.target,
                     detail=dict(detail, rows=written))
            return str(out)
        except BaseException as exc:
            if store.conn.in_transaction:
                store.conn.execute("ROLLBACK")
            db.audit(store, "export", actor=actor, address=address, target=export.target, ok=False,
                     detail=dict(detail, error=type(exc).__name__))
            out.unlink(missing_ok=True)
            raise
        finally:
            store.conn.close()

    job = jobs().start("export", manager["id"], work)
    job.data.update(what=export.kind, filename=f"{export.stem}.{fmt}")
    return redirect(url_for("exports.job", job_id=job.id))


def _pdf(export: Export, detail: dict, tr):
    from ..reports import pdf
    chosen, campaign = export.extra["period"], export.extra["campaign"]
    path = current_app.config["DATABASE"]

    def work():
        store = db.connect(path)
        try:
            stats = gather(store, period=chosen, campaign_id=campaign["id"] if campaign else None)
        finally:
            store.conn.close()
        name = campaign["name"] if campaign else tr("전체 캠페인")
        made = dt.datetime.fromtimestamp(now(), SEOUL).strftime("%Y-%m-%d %H:%M")
        return pdf.report(stats, tr, title=f"{tr('캠페인 보고서')}: {name}",
                          subtitle=f"{tr('기간')}: {chosen.label()} (KST)", made_at=made)
    try:
        data = run_blocking(work)
    except pdf.FontMissing as exc:
        audit("export", target=export.target, ok=False, detail=dict(detail, reason="font missing"))
        flash(_(exc.user_message), "error")
        return redirect(safe_next(request.form.get("next"), url_for("statistics.index")))
    audit("export", target=export.target, detail=dict(detail, bytes=len(data)))
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{export.stem}.pdf",
                     mimetype=MIMETYPES["pdf"])


# -- big exports: a job with progress ---------------------------------------------------------

def _job_or_404(job_id: str):
    job = jobs().get(job_id, current_manager()["id"])
    if job is None or job.kind != "export":
        abort(404)
    return job


def _status(job) -> dict:
    status = {"state": job.state, "fraction": round(job.fraction, 3), "rows": job.data.get("total"),
              "error": job.error, "label": _("내보내는 중")}
    if job.state == "done":
        status["download"] = url_for("exports.download", job_id=job.id)
    return status


@bp.route("/jobs/<job_id>")
@login_required
def job(job_id: str):
    job = _job_or_404(job_id)
    return render_template("exports/job.html", job=job, status=_status(job),
                           what=WHAT_KO.get(job.data.get("what"), ""))


@bp.route("/jobs/<job_id>.json")
@login_required
def job_status(job_id: str):
    return _status(_job_or_404(job_id))


@bp.route("/jobs/<job_id>/file")
@login_required
def download(job_id: str):
    job = _job_or_404(job_id)
    if job.state != "done" or not Path(job.data.get("path", "")).is_file():
        abort(404)
    return send_file(job.data["path"], as_attachment=True, download_name=job.data["filename"],
                     mimetype=MIMETYPES[job.data["format"]])
