"""Personal data leaves with its list: upload files no row references are removed.

Run by ``ars gc`` and at every server start. A file under ``uploads/`` is
removed when no database row names its sha256 (``db.referenced_upload_hashes``:
call lists, announcements, images, campaign snapshots) and it is older than
``min_age_s`` (default an hour: the job registry keeps a preview waiting for
its 가져오기 that long, and a file being written now is younger), and no
running job of this process holds it (``keep``). Temporary files left by an
upload cut short (``uploads/tmp``) go by the same age rule. Nothing else is
touched; a referenced file is never removed.

The report names counts, kinds and bytes, never a file's content or its
original name (the audit log gets the same).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import db
from .storage import UploadStore

log = logging.getLogger(__name__)

MIN_AGE_S = 3600.0
_KINDS = {".wav": "announcement", ".jpg": "image", ".png": "image", ".gif": "image", ".webp": "image"}


def kind_of(ext: str | None) -> str:
    if ext is None:
        return "temporary"
    return _KINDS.get(ext, "call_list")


@dataclass
class Collected:
    removed: list[tuple[str, Path, int]] = field(default_factory=list)   # (kind, path, bytes)
    kept_referenced: int = 0
    kept_fresh: int = 0
    dry_run: bool = False

    @property
    def kinds(self) -> dict[str, int]:
        return dict(Counter(kind for kind, _, _ in self.removed))

    def summary(self) -> dict:
        return {"removed": len(self.removed), "kinds": self.kinds,
                "bytes": sum(size for _, _, size in self.removed),
                "kept_referenced": self.kept_referenced, "kept_fresh": self.kept_fresh,
                "dry_run": self.dry_run}


def collect(store: db.Database, uploads: UploadStore, *, min_age_s: float = MIN_AGE_S,
            keep: frozenset[str] | set[str] = frozenset(), dry_run: bool = False,
            now: float | None = None) -> Collected:
    """Remove (or, ``dry_run``, only list) the upload files nothing needs."""
    now = time.time() if now is None else now
    referenced = db.referenced_upload_hashes(store) | {h.lower() for h in keep}
    result = Collected(dry_run=dry_run)
    for path, sha256, ext in list(uploads.stored_files()):
        if sha256 is not None and sha256 in referenced:
            result.kept_referenced += 1
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if now - stat.st_mtime < min_age_s:
            result.kept_fresh += 1
            continue
        # the database is asked again just before: a list imported meanwhile keeps its file
        if sha256 is not None and db.sha256_in_use(store, sha256):
            result.kept_referenced += 1
            continue
        if not dry_run:
            path.unlink(missing_ok=True)
        result.removed.append((kind_of(ext), path, stat.st_size))
    return result


def collect_and_audit(store: db.Database, uploads: UploadStore, *, actor: str, **kwargs) -> Collected:
    """:func:`collect`, then one audit entry ("cleanup") when anything was removed."""
    result = collect(store, uploads, **kwargs)
    if result.removed and not result.dry_run:
        summary = result.summary()
        db.audit(store, "cleanup", actor=actor, target="uploads",
                 detail={k: summary[k] for k in ("removed", "kinds", "bytes")})
        log.info("removed %d upload files no row references (%s)", len(result.removed),
                 ", ".join(f"{k} {v}" for k, v in sorted(result.kinds.items())))
    return result


def at_start(app) -> None:
    """The server's start-up pass (create_app): never stops the server from starting."""
    store = db.connect(app.config["DATABASE"])
    try:
        collect_and_audit(store, app.extensions["ars_uploads"], actor="server start")
    except Exception:   # a cleanup that fails must not keep the phones from calling
        log.exception("cleaning up uploads at start failed")
    finally:
        store.conn.close()
