"""Importing a call list (호출자료 올리기): the one way through, for the
console, ``ars import-contacts`` and the sample data.

Two steps, so the manager sees a preview before anything is stored:
``prepare`` reads, normalises and de-duplicates the file into an ImportPlan
(``plan.py``); ``commit`` writes the list, its contacts and its rejects in one
transaction (all rows or none) through ``db.import_contact_list``.
``rejects_xlsx`` makes the rejects download; ``import_file`` does both steps
at once.

The server and ``ars import-contacts`` never read an uploaded file in their
own process: ``preview_guarded`` and ``import_guarded`` run the steps in a
child (``import_child``, ``server.guarded``) with a memory and a time limit,
which the manager can cancel; only a summary or the counts come back.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import db
from ..guarded import ChildFailed, GuardedRun, Limits
from ..storage import UploadStore
from .plan import ImportPlan, prepare_import, write_rejects_xlsx
from .reader import ColumnMap, ReadError

ALLOWED_EXTENSIONS = (".txt", ".csv", ".xlsx", ".xls")
MAX_LIST_NAME = 80


class CallListError(ValueError):
    """A call list cannot be imported; the message says why, for the manager.

    ``template``/``values``: the Korean message for ``server.i18n`` when there
    is one (the refusals of ``limits.py`` and ``server.guarded``); ``kind``:
    how a guarded read ended (``refused``, ``memory``, ``timeout``,
    ``crashed``, ``cancelled``)."""

    def __init__(self, message: str, *, template: str | None = None, values: dict | None = None,
                 kind: str = "refused"):
        super().__init__(message)
        self.template = template
        self.values = dict(values or {})
        self.kind = kind

    @property
    def user_message(self) -> str:
        return str(self)


def check_list_name(store: db.Database, name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise CallListError("enter a name for the call list")
    if len(name) > MAX_LIST_NAME:
        raise CallListError(f"the list name is longer than {MAX_LIST_NAME} characters")
    if db.contact_list_name_taken(store, name):
        raise CallListError(f"a call list named '{name}' already exists")
    return name


def check_extension(filename: str) -> str:
    ext = Path(filename or "").suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise CallListError(
            f"'{filename}' is not a call list file: use .txt, .csv, .xlsx or .xls")
    return ext


def prepare(store: db.Database, path: Path, filename: str, progress=None) -> ImportPlan:
    try:
        return prepare_import(path, filename, do_not_call=db.do_not_call_numbers(store),
                              progress=progress)
    except ReadError as exc:
        raise CallListError(str(exc), template=exc.template, values=exc.values) from None


@dataclass(frozen=True)
class ImportResult:
    list_id: int
    name: str
    rows: int
    imported: int
    invalid: int
    duplicates: int
    do_not_call: int

    def summary(self) -> dict:
        return {"list": self.name, "rows": self.rows, "imported": self.imported,
                "invalid": self.invalid, "duplicates": self.duplicates,
                "do_not_call": self.do_not_call}


def commit(store: db.Database, uploads: UploadStore, plan: ImportPlan, *, name: str,
           filename: str, source_sha256: str, progress=None) -> ImportResult:
    rejects = list(plan.rejects[["row_number", "value", "reason", "message"]].itertuples(index=False,
                                                                                        name=None))
    counts = {"rows": plan.rows, "imported": plan.imported, "invalid": plan.invalid,
              "duplicates": plan.duplicates, "do_not_call": plan.do_not_call}
    columns = {"has_header": plan.columns.has_header, "headers": plan.headers,
               "phone": plan.columns.phone, "name": plan.columns.name,
               "address": plan.columns.address}
    try:
        list_id = db.import_contact_list(
            store, name=name, source_filename=filename, source_sha256=source_sha256,
            counts=counts, columns=columns, rejects=[(int(r), v, reason, m) for r, v, reason, m in rejects],
            contacts=plan.contact_columns(), progress=progress)
    except db.Conflict as exc:
        raise CallListError(str(exc)) from None
    return ImportResult(list_id=list_id, name=name, **counts)


def rejects_xlsx(store: db.Database, list_id: int) -> bytes:
    """The list's rejected rows as an .xlsx (행 번호, 값, 사유, 설명)."""
    import pandas as pd
    frame = pd.DataFrame(db.contact_rejects(store, list_id), columns=["row_number", "value", "reason", "message"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rejects.xlsx"
        write_rejects_xlsx(frame, path)
        return path.read_bytes()


def plan_summary(plan: ImportPlan, rejects_shown: int) -> dict:
    """What the preview page shows of a plan, as plain JSON values."""
    columns = plan.columns
    return {"counts": plan.counts(), "headers": plan.headers, "preview": plan.preview,
            "columns": {"has_header": columns.has_header, "phone": columns.phone, "name": columns.name,
                        "address": columns.address, "header_row": columns.header_row,
                        "extras": [[j, label] for j, label in columns.extras.items()]},
            "rejects": plan.rejects.head(rejects_shown).to_dict("records")}


@dataclass
class PlanSummary:
    """A preview made in the child (``import_child``): the counts, the detected
    columns, the first rows and rejects; the attributes the preview page reads."""

    columns: ColumnMap
    headers: list[str]
    preview: list[dict]
    rejects: list[dict]
    rows: int
    imported: int
    invalid: int
    duplicates: int
    do_not_call: int

    @classmethod
    def from_json(cls, data: dict) -> "PlanSummary":
        c = data["columns"]
        columns = ColumnMap(has_header=bool(c["has_header"]), phone=int(c["phone"]), name=c["name"],
                            address=c["address"], header_row=c["header_row"],
                            extras={int(j): str(label) for j, label in c["extras"]})
        return cls(columns=columns, headers=list(data["headers"]), preview=list(data["preview"]),
                   rejects=list(data["rejects"]), **{k: int(v) for k, v in data["counts"].items()})


def _guarded(request: dict, limits: Limits, progress, run_holder) -> dict:
    run = GuardedRun("server.contacts.import_child", request, limits, progress)
    if run_holder is not None:
        run_holder(run)
    try:
        return run.run()
    except ChildFailed as exc:
        # a plain message (no Korean template: the older English refusals) is passed on as it is
        template = None if exc.template == "{message}" else exc.template
        raise CallListError(exc.message, template=template, values=exc.values, kind=exc.kind) from None


def preview_guarded(db_path, uploads: UploadStore, source: Path, filename: str, *,
                    limits: Limits = Limits(), progress=None, run_holder=None) -> PlanSummary:
    """``prepare`` in a child process with ``limits`` (server.guarded): the
    server survives any file. ``run_holder(run)`` receives the run, whose
    ``cancel()`` kills the child."""
    request = {"action": "preview", "db": str(db_path), "uploads": str(uploads.root),
               "path": str(source), "filename": filename}
    return PlanSummary.from_json(_guarded(request, limits, progress, run_holder))


def import_guarded(db_path, uploads: UploadStore, source: Path, *, name: str, filename: str,
                   source_sha256: str, limits: Limits = Limits(), progress=None,
                   run_holder=None) -> ImportResult:
    """Read and store the list in a child process: ``prepare`` and ``commit``
    (one transaction) there, only the counts come back. Killed, it leaves
    no rows (the transaction is never committed)."""
    request = {"action": "import", "db": str(db_path), "uploads": str(uploads.root), "path": str(source),
               "filename": filename, "name": name, "sha256": source_sha256}
    result = _guarded(request, limits, progress, run_holder)
    return ImportResult(list_id=int(result["list_id"]), name=str(result["list"]),
                        **{k: int(result[k]) for k in ("rows", "imported", "invalid", "duplicates",
                                                         "do_not_call")})


def database_path(store: db.Database) -> str:
    return store.execute("PRAGMA database_list").fetchone()[2]


def discard_source(store: db.Database, uploads: UploadStore, sha256: str, filename: str) -> bool:
    """Remove a call list's source file unless a row still references its
    sha256 (another list made from the same bytes). True when removed."""
    if db.sha256_in_use(store, sha256):
        return False
    try:
        path = uploads.path(sha256, Path(filename).suffix.lower())
    except ValueError:
        return False   # not a name this store writes
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def import_file(store: db.Database, uploads: UploadStore, path: Path, *, name: str,
                progress=None, limits: Limits = Limits(), trusted: bool = False) -> ImportResult:
    """Both steps at once, for the command line: check, then read and store
    in one guarded child. A refused or failed import leaves no file.
    ``trusted``: a file this program generated (``server.sample``), read in
    this process."""
    path = Path(path)
    name = check_list_name(store, name)
    check_extension(path.name)
    with open(path, "rb") as fh:
        source_sha256, stored = uploads.put_stream(fh, path.suffix.lower())
    if trusted:
        plan = prepare(store, stored, path.name, progress=progress)
        return commit(store, uploads, plan, name=name, filename=path.name,
                      source_sha256=source_sha256, progress=progress)
    try:
        return import_guarded(database_path(store), uploads, stored, name=name, filename=path.name,
                              source_sha256=source_sha256, limits=limits, progress=progress)
    except CallListError:
        discard_source(store, uploads, source_sha256, path.name)
        raise
