"""Reading an archive as hostile input: verify it, and extract it for a restore.

An archive may come from another PC (uploaded on the 백업 page) or have
rotted on disk, so nothing in it is trusted:

* the first member must be ``manifest.json`` (at most 16 MB of JSON) in
  this program's format; its file list names only ``ars.db`` and
  ``uploads/sha256/ab/<sha256>.<ext>``, each once, with a size and SHA-256;
* every other member must be a regular file the manifest lists, of exactly
  its size (read in chunks, never more), whose bytes hash to its SHA-256 —
  and an upload's bytes to the hash in its own name; tarfile's ``data``
  filter is asked too, so links, devices, absolute paths and ``..`` are
  refused even before the name check;
* nothing is written under a member's own name: files land at paths built
  here from the checked name, inside a folder made for the purpose;
* every listed file must be present; the database copy must pass ``PRAGMA
  integrity_check`` and must not carry a schema migration this code does
  not know (an archive from a newer version).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .. import db
from ..db.migrations import migrations
from . import DB_MEMBER, FORMAT, FORMAT_VERSION, MANIFEST_MEMBER, UPLOAD_MEMBER, BackupError

CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_FILES = 200_000
MAX_FILE_BYTES = 64 * 1024 ** 3          # no single file of ours is near this; a header claiming more lies
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Checked:
    manifest: dict
    folder: Path | None = None                       # where the files were extracted, if asked
    uploads: list[str] = field(default_factory=list)  # member names of the uploads


class _Bounded(io.RawIOBase):
    """The decompressed stream, refused past ``limit`` bytes: a gzip bomb or
    a tar header claiming gigabytes (tarfile reads a pax header whole) ends as
    ``too_big``, not as memory or disk exhausted."""

    def __init__(self, raw, limit: int):
        self.raw, self.limit, self.pos = raw, limit, 0

    def readable(self) -> bool:
        return True

    def read(self, size=-1):
        if size is None or size < 0 or self.pos + size > self.limit:
            size = self.limit - self.pos + 1
        data = self.raw.read(size)
        self.pos += len(data)
        if self.pos > self.limit:
            raise BackupError("too_big", detail=f"more than {self.limit} bytes unpacked")
        return data


def _unpacked_limit(files: dict[str, dict]) -> int:
    """Every byte an honest archive with these files unpacks to, with room for
    tar's headers (pax ones included) and padding."""
    return MAX_MANIFEST_BYTES + sum(f["size"] + 16_384 for f in files.values()) + (1 << 20)


def known_migrations() -> list[str]:
    return [m.name for m in migrations._migrations]


def _manifest_files(manifest) -> dict[str, dict]:
    """The manifest's file list, checked: {member name: {size, sha256}}."""
    if not isinstance(manifest, dict):
        raise BackupError("bad_manifest", detail="not a JSON object")
    if manifest.get("format") != FORMAT:
        raise BackupError("unknown_format", detail=str(manifest.get("format"))[:60])
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError("unknown_format", detail=f"format_version {str(manifest.get('format_version'))[:20]}")
    entries = manifest.get("files")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_FILES:
        raise BackupError("bad_manifest", detail="files")
    files: dict[str, dict] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise BackupError("bad_manifest", detail="files")
        name, size, sha256 = entry.get("name"), entry.get("size"), entry.get("sha256")
        if not isinstance(name, str) or not (name == DB_MEMBER or UPLOAD_MEMBER.match(name)):
            raise BackupError("unexpected_member", name=str(name)[:200])
        match = UPLOAD_MEMBER.match(name)
        if match and match.group(1) != match.group(3)[:2]:
            raise BackupError("unexpected_member", name=name)
        if name in files:
            raise BackupError("duplicate_member", name=name)
        if type(size) is not int or not 0 <= size <= MAX_FILE_BYTES:
            raise BackupError("bad_manifest", detail=f"size of {name}")
        if not isinstance(sha256, str) or not _HEX64.match(sha256):
            raise BackupError("bad_manifest", detail=f"sha256 of {name}")
        if match and match.group(3) != sha256:
            raise BackupError("checksum", name=name)
        files[name] = {"size": size, "sha256": sha256}
    if DB_MEMBER not in files:
        raise BackupError("missing_file", name=DB_MEMBER)
    return files


def read_manifest(path: str | Path) -> dict:
    """The manifest of an archive (only its first member is read): for listing."""
    try:
        with gzip.open(path, "rb") as gz, tarfile.open(
                fileobj=_Bounded(gz, MAX_MANIFEST_BYTES + (1 << 20)), mode="r|") as tar:
            return _read_manifest_member(tar.next(), tar)
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:   # BadGzipFile is an OSError
        raise BackupError("not_archive", detail=type(exc).__name__) from None


def _read_manifest_member(member, tar) -> dict:
    if member is None or member.name != MANIFEST_MEMBER or not member.isreg():
        raise BackupError("no_manifest")
    if member.size > MAX_MANIFEST_BYTES:
        raise BackupError("too_big", detail=f"manifest.json {member.size} bytes")
    data = tar.extractfile(member).read(MAX_MANIFEST_BYTES + 1)
    try:
        manifest = json.loads(data)
    except ValueError:
        raise BackupError("bad_manifest", detail="not JSON") from None
    _manifest_files(manifest)
    return manifest


def _copy_member(tar, member, expected: dict, target: Path | None) -> None:
    """Stream one member through SHA-256 (into ``target`` when given)."""
    digest, left = hashlib.sha256(), expected["size"]
    source = tar.extractfile(member)
    out = open(target, "xb") if target is not None else None
    try:
        while left > 0:
            chunk = source.read(min(CHUNK, left))
            if not chunk:
                raise BackupError("damaged", detail=member.name)
            digest.update(chunk)
            left -= len(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    if digest.hexdigest() != expected["sha256"]:
        raise BackupError("checksum", name=member.name)


def check_archive(path: str | Path, *, into: str | Path | None = None, room=None) -> Checked:
    """Check every byte of the archive at ``path``. With ``into`` (a new,
    empty folder), its files are extracted there as ``ars.db`` and
    ``uploads/sha256/…``; without, only the database copy is written (to a
    temporary folder beside the archive) for its integrity check, and removed.
    ``room(total_bytes)`` may refuse before anything is written (the disk guard).
    Raises ``BackupError`` naming the first problem found."""
    path = Path(path)
    keep = into is not None
    folder = Path(into) if keep else Path(tempfile.mkdtemp(prefix=".tmp-verify-", dir=path.parent))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        checked = _check(path, folder, keep, room)
        _check_database(folder / DB_MEMBER)
        return Checked(checked.manifest, folder if keep else None, checked.uploads)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _check(path: Path, folder: Path, keep_uploads: bool, room) -> Checked:
    try:
        with gzip.open(path, "rb") as gz, tarfile.open(
                fileobj=(bounded := _Bounded(gz, MAX_MANIFEST_BYTES + (1 << 20))), mode="r|") as tar:
            manifest = _read_manifest_member(tar.next(), tar)
            files = _manifest_files(manifest)
            bounded.limit = _unpacked_limit(files)
            if room is not None:
                room(sum(f["size"] for f in files.values()))
            seen: set[str] = set()
            uploads: list[str] = []
            while (member := tar.next()) is not None:
                try:
                    tarfile.data_filter(member, str(folder))
                except tarfile.FilterError as exc:
                    raise BackupError("unsafe_member", name=member.name[:200],
                                      detail=type(exc).__name__) from None
                if not member.isreg():
                    raise BackupError("unsafe_member", name=member.name[:200], detail="not a regular file")
                if member.name not in files:
                    raise BackupError("unexpected_member", name=member.name[:200])
                if member.name in seen:
                    raise BackupError("duplicate_member", name=member.name)
                if member.size != files[member.name]["size"]:
                    raise BackupError("size_mismatch", name=member.name)
                seen.add(member.name)
                target = None
                if member.name == DB_MEMBER:
                    target = folder / DB_MEMBER
                elif keep_uploads:
                    match = UPLOAD_MEMBER.match(member.name)
                    target = folder / "uploads" / "sha256" / match.group(1) / match.group(2)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    uploads.append(member.name)
                else:
                    uploads.append(member.name)
                _copy_member(tar, member, files[member.name], target)
            while bounded.read(CHUNK):     # to the end, so gzip checks its CRC and length
                pass
    except BackupError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BackupError("damaged", detail=type(exc).__name__) from None
    except tarfile.ReadError as exc:
        raise BackupError("not_archive" if "first" in str(exc) or "empty" in str(exc) else "damaged",
                          detail=str(exc)[:80]) from None
    except (tarfile.TarError, OSError) as exc:
        raise BackupError("damaged", detail=type(exc).__name__) from None
    missing = sorted(set(files) - seen)
    if missing:
        raise BackupError("missing_file", name=missing[0])
    return Checked(manifest, folder, uploads)


def _check_database(path: Path) -> None:
    """The extracted database copy opens, passes integrity_check, and its
    schema is one this code knows (an older one is upgraded at start)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise BackupError("integrity", detail="; ".join(problems[:3]))
            store = db.Database(conn)
            applied = db.applied_migrations(store)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError("integrity", detail=str(exc)[:120]) from None
    unknown = [name for name in applied if name not in set(known_migrations())]
    if unknown:
        raise BackupError("newer_schema", detail=", ".join(unknown[:3]))
