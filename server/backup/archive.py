"""Writing one backup archive from a database that may be in use.

The database is copied with SQLite's online backup API in one step: one
read transaction, so the copy is one consistent moment even while the
calling engine writes (WAL readers do not block writers). The copy is
switched to a rollback journal (a single file), checked with ``PRAGMA
integrity_check``, and archived with the uploads its rows refer to. The
archive is written to a temporary name in the backups folder, flushed to
disk and renamed: a crash leaves no half archive under an archive's name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import db
from . import (DB_MEMBER, FORMAT, FORMAT_VERSION, MANIFEST_MEMBER, BackupError, archive_name,
               ensure_dir, fsync_dir)

log = logging.getLogger(__name__)

CHUNK = 1 << 20
COMPRESS_LEVEL = 1      # most of gzip's gain on SQLite pages at a fraction of level 6's time


@dataclass
class Written:
    path: Path
    manifest: dict


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mobile-ars")
    except PackageNotFoundError:
        return "unknown"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_database(db_path: Path, target: Path) -> dict:
    """An online backup of ``db_path`` into ``target``, checked; returns what
    the manifest says of it (schema, row counts, campaign, referenced uploads)."""
    if not db_path.is_file():
        raise BackupError("no_database", detail=str(db_path))
    try:
        source = db.connect(db_path)
    except sqlite3.DatabaseError as exc:
        raise _unreadable(exc) from None
    try:
        copy = sqlite3.connect(str(target))
        try:
            source.conn.backup(copy)          # pages=-1: the whole file in one step, one snapshot
        finally:
            copy.close()
    except sqlite3.DatabaseError as exc:
        raise _unreadable(exc) from None
    finally:
        source.conn.close()
    copied = db.connect(target)
    try:
        copied.conn.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in copied.conn.execute("PRAGMA integrity_check").fetchall()]
        if problems != ["ok"]:
            raise BackupError("source_integrity", detail="; ".join(problems[:3]))
        return {"migrations": db.applied_migrations(copied), "rows": db.backup_row_counts(copied),
                "campaign": db.backup_campaign_summary(copied),
                "referenced": sorted(db.referenced_upload_hashes(copied))}
    finally:
        copied.conn.close()


def _unreadable(exc: sqlite3.DatabaseError) -> BackupError:
    """A database SQLite cannot read (locked for too long is not that: it is an I/O problem)."""
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return BackupError("write_failed", detail=str(exc))
    return BackupError("source_integrity", detail=str(exc))


def referenced_files(uploads_dir: Path, hashes: set[str]) -> tuple[list[tuple[str, Path]], list[str]]:
    """(member name, file) of every stored upload whose hash is in ``hashes``
    (any extension), and the hashes with no file."""
    found, seen = [], set()
    for sha256 in sorted(hashes):
        folder = uploads_dir / "sha256" / sha256[:2]
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"{sha256}.*")):
            if path.is_file() and not path.is_symlink():
                found.append((f"uploads/sha256/{sha256[:2]}/{path.name}", path))
                seen.add(sha256)
    return found, sorted(hashes - seen)


class _HashingReader(io.RawIOBase):
    """Reads a file for tarfile and hashes exactly what it handed over."""

    def __init__(self, fh):
        self.fh, self.digest = fh, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size=-1):
        data = self.fh.read(size)
        self.digest.update(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path | None, data: bytes | None, size: int,
         sha256: str | None, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.type = size, 0o600, int(mtime), tarfile.REGTYPE
    if data is not None:
        tar.addfile(info, io.BytesIO(data))
        return
    with open(path, "rb") as fh:
        reader = _HashingReader(fh)
        tar.addfile(info, reader)
    if reader.digest.hexdigest() != sha256:
        raise BackupError("source_changed", name=name)


def create_backup(db_path: str | Path, uploads_dir: str | Path, dest_dir: str | Path, *, kind: str,
                  now: float | None = None, room=None) -> Written:
    """Write one archive of the database and its uploads into ``dest_dir``
    (created 0700; the archive 0600). ``room(bytes)`` may refuse first (the
    disk guard, given the database's size: the copy and the archive each take
    about as much). Raises ``BackupError``; nothing is left behind under an
    archive's name when it fails."""
    db_path, uploads_dir = Path(db_path), Path(uploads_dir)
    if room is not None and db_path.is_file():
        wal = Path(f"{db_path}-wal")
        room(db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0))
    dest = ensure_dir(dest_dir)
    started = time.monotonic()
    moment = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.timezone.utc)
    work = Path(tempfile.mkdtemp(prefix=".tmp-backup-", dir=dest))
    try:
        db_copy = work / DB_MEMBER
        facts = copy_database(db_path, db_copy)
        uploads, missing = referenced_files(uploads_dir, set(facts.pop("referenced")))
        files = [{"name": DB_MEMBER, "size": db_copy.stat().st_size, "sha256": file_sha256(db_copy)}]
        files += [{"name": name, "size": path.stat().st_size, "sha256": file_sha256(path)}
                  for name, path in uploads]
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind,
            "created_at": moment.isoformat(timespec="seconds"), "app_version": app_version(),
            "schema": {"migrations": facts["migrations"]}, "rows": facts["rows"],
            "campaign": facts["campaign"], "files": files, "missing_uploads": missing,
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        name = archive_name(moment, kind, taken={p.name for p in dest.iterdir()})
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".tar.gz", dir=dest)
        tmp = Path(tmp_name)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=COMPRESS_LEVEL,
                                  format=tarfile.PAX_FORMAT) as tar:
                    stamp = moment.timestamp()
                    _add(tar, MANIFEST_MEMBER, None, body, len(body), None, stamp)
                    _add(tar, DB_MEMBER, db_copy, None, files[0]["size"], files[0]["sha256"], stamp)
                    for (member, path), entry in zip(uploads, files[1:]):
                        _add(tar, member, path, None, entry["size"], entry["sha256"], path.stat().st_mtime)
                raw.flush()
                os.fsync(raw.fileno())
            final = dest / name
            os.replace(tmp, final)
            fsync_dir(dest)
        except OSError as exc:
            raise BackupError("write_failed", detail=exc.strerror or type(exc).__name__) from exc
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise BackupError("write_failed", detail=exc.strerror or type(exc).__name__) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("backup %s: %d files, %d bytes, %.2f s%s", name, len(files), final.stat().st_size,
             time.monotonic() - started, f", {len(missing)} referenced uploads missing" if missing else "")
    return Written(final, manifest)
