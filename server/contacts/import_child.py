"""The child process that reads a call list: ``python -m server.contacts.import_child``.

Started by ``importer.preview_guarded`` / ``importer.import_guarded`` through
``server.guarded`` (memory and time limits; killed on cancel). Two actions:

- ``preview``: read, normalise, de-duplicate (``importer.prepare``); answer
  with a small summary (counts, detected columns, the first rows and the
  first rejects): the parsed table never leaves this process.
- ``import``: the same, then write the list in one transaction
  (``importer.commit``) on its own SQLite connection; answer with the counts.
  A child killed in the middle leaves nothing: SQLite drops the uncommitted
  transaction, and its lock dies with the process.
"""

from __future__ import annotations

from pathlib import Path

from .. import db
from ..guarded import child_main
from ..storage import UploadStore
from . import importer

REJECTS_SHOWN = 100


def handle(request: dict, progress) -> dict:
    action = request.get("action")
    store = db.connect(request["db"])
    try:
        plan = importer.prepare(store, Path(request["path"]), request["filename"], progress=progress)
        if action == "preview":
            return importer.plan_summary(plan, REJECTS_SHOWN)
        if action == "import":
            progress("store", 0.0)
            result = importer.commit(store, UploadStore(request["uploads"]), plan, name=request["name"],
                                     filename=request["filename"], source_sha256=request["sha256"],
                                     progress=progress)
            return {"list_id": result.list_id, **result.summary()}
        raise ValueError(f"unknown action {action!r}")
    finally:
        store.conn.close()


if __name__ == "__main__":
    child_main(handle)
