"""The manager console: one blueprint per concern, and the live dashboard's
Socket.IO namespace (``dashboard``). Logged-in managers only; the HTTP and
Socket.IO endpoints phones use live in ``server/phones``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.routing import IntegerConverter

from ..i18n import _
from ..jobs import JobRegistry, run_blocking


def register_console(app) -> None:
    from . import audit_log, auth, campaigns, contacts, home, images, ments, operations, phones, settings
    from . import exports, statistics   # 통계 and the exports
    from . import backups

    app.extensions["ars_jobs"] = JobRegistry()
    app.url_map.converters["int"] = RowId       # before the blueprints add their rules

    console = (auth, home, contacts, ments, images, settings, audit_log, phones, campaigns, operations)
    console += (statistics, exports, backups)
    for module in console:
        app.register_blueprint(module.bp)
    console_blueprints = {module.bp.name for module in console}

    @app.before_request
    def guard():
        if request.blueprint in console_blueprints or request.endpoint == "root":
            return auth.guard_console()
        return None

    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return {"error": _("요청이 만료되었거나 올바르지 않습니다. 다시 시도하세요.")}, 400
        flash(_("요청이 만료되었거나 올바르지 않습니다. 다시 시도하세요."), "error")
        return render_template("error.html", code=400), 400

    @app.errorhandler(413)
    def too_large(_exc):
        limit_mb = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        message = f"the file is larger than the {limit_mb} MB upload limit"
        if request.accept_mimetypes.best == "application/json":
            return {"error": message}, 413
        flash(message, "error")
        return render_template("error.html", code=413), 413

    app.jinja_env.globals["page_url"] = page_url

    @app.route("/")
    def root():
        return redirect(url_for("home.index"))


class RowId(IntegerConverter):
    """``<int:…>`` in the console's URLs: a number SQLite can hold, so
    ``/contacts/99999999999999999999`` is 404 like any unknown id (SQLite
    refuses integers above 2**63 - 1; that was a 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2 ** 63 - 1)
        super().__init__(map, *args, **kwargs)


def disk():
    """The app's DiskGuard (server/disk.py): uploads call ``disk().check_room(size)``
    before they store anything."""
    from flask import current_app
    return current_app.extensions["ars_disk"]


@dataclass
class MediaUpload:
    filename: str
    data: bytes
    converted: object     # what ``convert`` made of it


def receive_media(convert, error: type[Exception], *, max_bytes: int, what: str, back: str, page):
    """The steps an announcement and an image upload share: a file was
    chosen, it is not over ``max_bytes``, the disk has room (else the refusal
    is audited and ``page()`` answers 507), and ``convert(data, filename)``
    (off the event loop) takes it; a conversion ``error`` (with ``code`` and
    ``message``) is audited and shown. Returns a :class:`MediaUpload`, or the
    response to send instead (back to the ``back`` endpoint)."""
    from ..disk import DiskFull
    from .auth import audit
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("파일을 선택하세요."), "error")
        return redirect(url_for(back))
    filename = Path(file.filename).name
    data = file.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        flash(f"{filename}: the file is larger than {max_bytes // (1024 * 1024)} MB", "error")
        return redirect(url_for(back))
    try:
        disk().check_room(len(data))
    except DiskFull as exc:
        audit("upload", target=f"{what} {filename}", ok=False, detail=exc.detail())
        flash(f"{filename}: {exc.user_message}", "error")
        return page(), 507
    try:
        converted = run_blocking(convert, data, filename)
    except error as exc:
        audit("upload", target=f"{what} {filename}", ok=False, detail={"error": exc.code})
        flash(f"{filename}: {exc.message}", "error")
        return redirect(url_for(back))
    return MediaUpload(filename, data, converted)


def upload_size(file) -> int:
    """Bytes of an uploaded file, without reading it (werkzeug has spooled it
    already); the request's length when the stream cannot tell."""
    stream = file.stream
    try:
        here = stream.tell()
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(here)
        return int(size)
    except (AttributeError, OSError, ValueError):
        return int(request.content_length or 0)


def jobs() -> JobRegistry:
    from flask import current_app
    return current_app.extensions["ars_jobs"]


MAX_PAGE = 1_000_000   # a ?page= above this is read as this (then as the last page)


def requested_page(value: str | None) -> int:
    """The page a ``?page=`` value asks for, from 1 to :data:`MAX_PAGE`:
    missing, empty or not a number is 1; zero or negative is 1; a number too
    large (``1e20``, twenty nines) is :data:`MAX_PAGE`. Pure."""
    text = (value or "").strip()
    if text.isascii() and text.isdecimal():          # the usual case, any length
        return MAX_PAGE if len(text) > 7 else min(max(1, int(text)), MAX_PAGE)
    try:
        number = float(text)                         # "1e20", "-5", "2.5", "inf"
    except ValueError:
        return 1
    if not number >= 1:                              # zero, negative, NaN
        return 1
    return MAX_PAGE if number >= MAX_PAGE else int(number)


def page_args(per_page: int = 50) -> tuple[int, int, int]:
    """(page, limit, offset) from ?page= (:func:`requested_page`)."""
    page = requested_page(request.args.get("page"))
    return page, per_page, (page - 1) * per_page


@dataclass
class Page:
    rows: list
    total: int
    page: int
    pages: int


def paged(fetch, per_page: int = 50) -> Page:
    """One page of a listing: ``fetch(limit=, offset=)`` returns ``(rows,
    total)``. A ``?page=`` past the last page shows the last page."""
    page, limit, offset = page_args(per_page)
    rows, total = fetch(limit=limit, offset=offset)
    pages = max(1, -(-total // limit))
    if page > pages:
        page = pages
        rows, total = fetch(limit=limit, offset=(page - 1) * limit)
        pages = max(1, -(-total // limit))
    return Page(rows, total, page, pages)


def page_url(page: int) -> str:
    """The current page's URL with ?page= replaced (other query arguments kept)."""
    from flask import url_for
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)
