"""Importing a call list (호출자료 올리기): the one way through, for the
console, ``ars import-contacts`` and the sample data.

Two steps, so the manager sees a preview before anything is stored:
``prepare`` reads, normalises and de-duplicates the file into an ImportPlan
(``plan.py``); ``commit`` writes the list, its contacts and its rejects in one
transaction (all rows or none) through ``db.import_contact_list``.
``rejects_xlsx`` makes the rejects download; ``import_file`` does both steps
at once.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import db
from ..storage import UploadStore
from .plan import ImportPlan, prepare_import, write_rejects_xlsx
from .reader import ReadError

ALLOWED_EXTENSIONS = (".txt", ".csv", ".xlsx", ".xls")
MAX_LIST_NAME = 80


class CallListError(ValueError):
    """A call list cannot be imported; the message says why, for the manager."""

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
        raise CallListError(str(exc)) from None


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


def import_file(store: db.Database, uploads: UploadStore, path: Path, *, name: str,
                progress=None) -> ImportResult:
    """Both steps at once, for the command line: check, prepare, commit."""
    path = Path(path)
    name = check_list_name(store, name)
    check_extension(path.name)
    with open(path, "rb") as fh:
        source_sha256, stored = uploads.put_stream(fh, path.suffix.lower())
    plan = prepare(store, stored, path.name, progress=progress)
    return commit(store, uploads, plan, name=name, filename=path.name,
                  source_sha256=source_sha256, progress=progress)
