"""Putting an archive's data in place of the current data.

A restore replaces the database file while nothing has it open: the calling
engine, the dashboard and every request keep SQLite connections and the
engine keeps open calls and leases in memory, so swapping the file under a
running server would leave it writing to a file no longer there. Hence:

* ``ars serve`` holds ``<db>.serve-lock`` (an ``flock``, released by the
  kernel when the process ends, however it ends) for as long as it runs;
* ``ars restore`` refuses while that lock is held, and holds it itself while
  it restores (a server started meanwhile waits, then refuses);
* the 백업 page checks the archive, extracts it beside the database and
  leaves a marker (``<db>.restore-pending``); the restore itself happens when
  ``ars serve`` next starts, before anything opens the database.

The swap (``apply_staged``), with the lock held:

1. a backup of the current data (kind ``prerestore``);
2. the archive's uploads are added to the uploads folder (content-addressed:
   a file of the same name has the same bytes, so adding never changes what
   the current rows see);
3. the current database is checkpointed and its ``-wal``/``-shm`` removed
   (a stale write-ahead log must never be replayed onto the new file);
4. the extracted database, flushed to disk, is renamed over the current one
   (one ``rename`` on one filesystem): a crash before it leaves the old state,
   after it the new; the marker is removed last, so a restore cut short by a
   crash is finished at the next start.

A campaign that was running in the archive is paused in the restored copy:
the manager resumes it after looking at what was restored.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import db
from . import DB_MEMBER, BackupError, ensure_dir, fsync_dir
from .archive import create_backup, file_sha256
from .check import check_archive

log = logging.getLogger(__name__)


# -- who holds the database --------------------------------------------------------------

def lock_path(db_path: str | Path) -> Path:
    return Path(f"{Path(db_path).resolve()}.serve-lock")


class ServerLock:
    """The lock ``ars serve`` (and ``ars restore``, while it works) holds on a database."""

    def __init__(self, db_path: str | Path):
        self.path = lock_path(db_path)
        self.fd: int | None = None

    def acquire(self, wait_s: float = 0.0) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.2)
                continue
            try:                       # the pid is for people; a full disk must not stop the server
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
            except OSError:
                pass
            self.fd = fd
            return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)          # closing drops the flock
            self.fd = None

    def __enter__(self):
        if not self.acquire():
            raise BackupError("server_running")
        return self

    def __exit__(self, *_exc):
        self.release()


def server_running(db_path: str | Path) -> bool:
    """Whether ``ars serve`` (or a restore) holds the database now."""
    lock = ServerLock(db_path)
    if lock.acquire():
        lock.release()
        return False
    return True


# -- staging -----------------------------------------------------------------------------

def pending_path(db_path: str | Path) -> Path:
    return Path(f"{Path(db_path).resolve()}.restore-pending")


@dataclass
class Staged:
    folder: Path
    manifest: dict
    archive: str
    paused: list[str]


def stage(archive: str | Path, db_path: str | Path, *, room=None) -> Staged:
    """Check ``archive`` and extract it into a new folder beside the database
    (same filesystem, so the final swap is one rename). Raises ``BackupError``;
    on any failure the folder is removed."""
    db_file = Path(db_path).resolve()
    db_file.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{db_file.name}.restore-", dir=db_file.parent))
    try:
        checked = check_archive(archive, into=folder, room=room)
        restored = db.connect(folder / DB_MEMBER)
        try:
            db.migrate(restored)           # an archive of an older schema, brought up to this code's
            paused = db.pause_running_campaigns(restored)
            restored.conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            restored.conn.close()
        with open(folder / DB_MEMBER, "rb+") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Staged(folder, checked.manifest, Path(archive).name, paused)


def mark_pending(staged: Staged, db_path: str | Path, *, actor: str | None) -> None:
    """Leave the staged restore for the next ``ars serve`` start (replacing an
    earlier one not applied yet)."""
    cancel_pending(db_path)
    marker = pending_path(db_path)
    body = json.dumps({"folder": staged.folder.name, "archive": staged.archive, "actor": actor,
                       "paused": staged.paused, "created_at": staged.manifest.get("created_at"),
                       "staged_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")},
                      ensure_ascii=False)
    tmp = marker.with_name(marker.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, marker)
    fsync_dir(marker.parent)


def pending(db_path: str | Path) -> dict | None:
    """The restore waiting for the next start, if any."""
    marker = pending_path(db_path)
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("folder"), str) else None


def cancel_pending(db_path: str | Path) -> dict | None:
    info = pending(db_path)
    marker = pending_path(db_path)
    if info is not None:
        folder = marker.parent / Path(info["folder"]).name
        if folder.name.startswith(f".{Path(db_path).name}.restore-"):
            shutil.rmtree(folder, ignore_errors=True)
    marker.unlink(missing_ok=True)
    return info


# -- the swap ----------------------------------------------------------------------------

def _place_upload(source: Path, target: Path) -> None:
    """Copy one checked upload into the store, atomically, unless the same bytes are there."""
    if target.is_file() and not target.is_symlink() and file_sha256(target) == source.stem:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _close_out_current(db_file: Path) -> None:
    """Fold the current database's write-ahead log into it and remove the log
    (nothing else has it open: the caller holds the server lock)."""
    if db_file.exists():
        conn = sqlite3.connect(str(db_file), timeout=5)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")   # needs the file to itself: proves no one has it open
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BackupError("db_in_use", detail=str(exc)) from None
            log.warning("the database being replaced cannot be checkpointed (%s); replaced as it is", exc)
        except sqlite3.DatabaseError as exc:       # not a database any more: kept as it was, replaced
            log.warning("the database being replaced is unreadable (%s); replaced as it is", exc)
        finally:
            conn.close()
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)


def _keep_current(db_file: Path, uploads: Path, backups_dir: Path, now: float | None) -> str:
    """A backup of the data about to be replaced; when that database is too
    damaged to back up (the usual reason to restore), its files are moved
    into the backups folder as they are instead."""
    try:
        return create_backup(db_file, uploads, backups_dir, kind="prerestore", now=now).path.name
    except BackupError as exc:
        if exc.code != "source_integrity":
            raise
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    kept = ensure_dir(backups_dir) / f"damaged-{stamp}-{db_file.name}"
    for suffix in ("", "-wal"):
        if Path(f"{db_file}{suffix}").exists():
            shutil.copy2(f"{db_file}{suffix}", f"{kept}{suffix}")
            os.chmod(f"{kept}{suffix}", 0o600)
    log.warning("the database replaced by the restore failed its integrity check; kept as %s", kept)
    return kept.name


def apply_staged(folder: Path, db_path: str | Path, uploads_dir: str | Path, backups_dir: str | Path,
                 *, now: float | None = None) -> dict:
    """Swap the staged data in (the caller holds the server lock). Returns
    what happened: ``prerestore`` (the backup of the data replaced, or None
    when there was none)."""
    db_file, uploads = Path(db_path).resolve(), Path(uploads_dir)
    staged_db = folder / DB_MEMBER
    prerestore = None
    if staged_db.exists():
        if db_file.exists():
            prerestore = _keep_current(db_file, uploads, Path(backups_dir), now)
        staged_uploads = folder / "uploads"
        if staged_uploads.is_dir():
            for path in sorted(staged_uploads.rglob("*")):
                if path.is_file():
                    _place_upload(path, uploads / path.relative_to(staged_uploads))
        _close_out_current(db_file)
        os.chmod(staged_db, 0o600)
        os.replace(staged_db, db_file)
        fsync_dir(db_file.parent)
    shutil.rmtree(folder, ignore_errors=True)
    return {"prerestore": prerestore}


def restore_now(archive: str | Path, db_path: str | Path, uploads_dir: str | Path, backups_dir: str | Path,
                *, actor: str = "cli", room=None) -> dict:
    """``ars restore``: with no server on the database, check, keep the current
    data as a backup, swap; audited in the old database (begin) and the new
    one (done). Raises ``BackupError`` (``server_running`` if a server holds it)."""
    with ServerLock(db_path):
        staged = stage(archive, db_path, room=room)
        try:
            _audit(db_path, actor, "begin", staged)
            result = apply_staged(staged.folder, db_path, uploads_dir, backups_dir)
        finally:
            shutil.rmtree(staged.folder, ignore_errors=True)
        _finish(db_path, actor, staged.archive, staged.paused, result)
        return dict(result, archive=staged.archive, paused=staged.paused, manifest=staged.manifest)


def apply_pending(db_path: str | Path, uploads_dir: str | Path, backups_dir: str | Path) -> dict | None:
    """At ``ars serve`` start (the caller holds the server lock): the restore
    the 백업 page staged, if any. Returns what was done."""
    info = pending(db_path)
    if info is None:
        return None
    marker = pending_path(db_path)
    folder = marker.parent / Path(info["folder"]).name
    result = apply_staged(folder, db_path, uploads_dir, backups_dir)
    _finish(db_path, info.get("actor") or "console", info.get("archive"), info.get("paused") or [], result)
    marker.unlink(missing_ok=True)
    log.warning("restored %s (the data before it: %s)", info.get("archive"), result["prerestore"])
    return dict(result, archive=info.get("archive"), paused=info.get("paused") or [])


def _audit(db_path, actor: str, step: str, staged: Staged) -> None:
    """Best effort: the database being replaced may be the damaged one."""
    if not Path(db_path).exists():
        return
    try:
        store = db.connect(db_path)
        try:
            db.migrate(store)
            db.audit(store, "restore", actor=actor, target=f"backup {staged.archive}",
                     detail={"step": step, "created_at": staged.manifest.get("created_at")})
        finally:
            store.conn.close()
    except sqlite3.DatabaseError as exc:
        log.warning("restore: the database being replaced cannot be written (%s)", exc)


def _finish(db_path, actor: str, archive: str | None, paused: list[str], result: dict) -> None:
    store = db.connect(db_path)
    try:
        db.migrate(store)          # an archive of an older schema is brought up to date
        db.audit(store, "restore", actor=actor, target=f"backup {archive}",
                 detail={"step": "done", "prerestore": result["prerestore"], "paused": paused})
    finally:
        store.conn.close()
