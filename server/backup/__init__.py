"""Backups of a running server's data, and restoring one (``ars backup``,
``ars restore``, the 백업 page).

One archive, ``ars-backup-YYYYMMDD-HHMMSS-<kind>.tar.gz`` (Seoul time; kind:
``manual``, ``auto``, ``prerestore`` or ``uploaded``), holds in this order:

* ``manifest.json`` — format and version, when, the app version, the
  schema's migrations, every other file with its size and SHA-256, the row
  counts of the main tables and the campaign it is about;
* ``ars.db`` — an SQLite online backup (``sqlite3.Connection.backup``) taken
  while the server writes, in rollback-journal mode so the file stands alone;
* ``uploads/sha256/ab/<sha256>.<ext>`` — every upload a row refers to
  (``db.referenced_upload_hashes``).

The parts: ``archive`` writes one, ``check`` reads one as hostile input
(verify, and extraction for a restore), ``restore`` swaps it in, ``schedule``
takes them every N minutes while a campaign runs, ``listing`` lists them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from ..i18n import gettext
from ..operating import SEOUL

FORMAT = "mobile-ars-backup"
FORMAT_VERSION = 1
SUFFIX = ".tar.gz"
KINDS = ("manual", "auto", "prerestore", "uploaded")
NAME = re.compile(r"^ars-backup-(\d{8})-(\d{6})(?:-(\d{1,3}))?-(manual|auto|prerestore|uploaded)\.tar\.gz$")
DB_MEMBER = "ars.db"
MANIFEST_MEMBER = "manifest.json"
UPLOAD_MEMBER = re.compile(r"^uploads/sha256/([0-9a-f]{2})/(([0-9a-f]{64})\.[a-z0-9]{1,5})$")

# What the manager reads when an archive is refused (Korean; English in
# server/i18n.py). ``{name}`` is a file inside the archive.
MESSAGES = {
    "not_archive": "백업 파일이 아닙니다: {detail}",
    "damaged": "백업 파일이 손상되었습니다 (읽다가 끊김): {detail}",
    "no_manifest": "백업 파일의 첫 항목이 manifest.json이 아닙니다.",
    "bad_manifest": "백업 목록(manifest.json)이 올바르지 않습니다: {detail}",
    "unknown_format": "이 프로그램이 모르는 백업 형식입니다 ({detail}).",
    "unsafe_member": "백업 파일에 허용되지 않는 항목이 있습니다: {name} ({detail})",
    "unexpected_member": "백업 목록에 없는 파일이 들어 있습니다: {name}",
    "duplicate_member": "같은 파일이 두 번 들어 있습니다: {name}",
    "size_mismatch": "파일 크기가 백업 목록과 다릅니다: {name}",
    "checksum": "파일이 손상되었습니다 (SHA-256 불일치): {name}",
    "missing_file": "백업 목록에 있는 파일이 빠져 있습니다: {name}",
    "too_big": "백업 파일이 너무 큽니다: {detail}",
    "integrity": "데이터베이스 사본이 손상되었습니다 (integrity_check): {detail}",
    "newer_schema": "이 백업은 더 새로운 버전의 프로그램에서 만들어졌습니다 (모르는 스키마: {detail}). "
                    "프로그램을 먼저 업데이트하세요.",
    "no_archive": "백업 파일이 없습니다: {name}",
    "bad_name": "백업 파일 이름이 올바르지 않습니다: {name}",
    "server_running": "서버(ars serve)가 이 데이터베이스를 사용 중입니다. 서버를 멈춘 뒤 다시 실행하세요.",
    "db_in_use": "다른 프로그램이 데이터베이스를 열고 있어 바꾸지 않았습니다 ({detail}). 그 프로그램을 닫은 뒤 "
                 "다시 하세요.",
    "campaign_running": "캠페인 '{name}'이(가) 진행 중입니다. 캠페인을 일시정지한 뒤 복원하세요.",
    "source_integrity": "현재 데이터베이스가 손상되어 백업하지 않았습니다 (integrity_check): {detail}",
    "source_changed": "백업하는 동안 업로드 파일이 바뀌었습니다: {name}",
    "write_failed": "백업 파일을 쓰지 못했습니다: {detail}",
    "no_database": "데이터베이스 파일이 없습니다: {detail}",
    "no_room": "디스크 공간이 부족합니다: 남은 공간 {free_mb} MB, 필요한 공간 {need_mb} MB. 공간을 확보한 뒤 "
               "다시 하세요.",
}


class BackupError(Exception):
    """An archive refused, or a backup or restore that could not be done;
    nothing was half written. ``user_message`` is the manager's text."""

    def __init__(self, code: str, **values):
        self.code = code
        self.values = {k: str(v) for k, v in values.items()}
        super().__init__(MESSAGES[code].format(**{"detail": "", "name": "", **self.values}))

    @property
    def user_message(self) -> str:
        return gettext(MESSAGES[self.code], **{"detail": "", "name": "", **self.values})


def room_check(disk):
    """``room(bytes)`` for the disk guard (server/disk.py): refuses with a
    ``BackupError`` before anything is written. None: no guard."""
    if disk is None:
        return None
    from ..disk import DiskFull

    def room(size: int) -> None:
        try:
            disk.check_room(size)
        except DiskFull as exc:
            raise BackupError("no_room", free_mb=exc.values["free_mb"], need_mb=exc.values["need_mb"]) from None
    return room


def default_dir(db_path: str | Path) -> Path:
    """Where backups go unless told: ``<db dir>/backups``."""
    return Path(db_path).resolve().parent / "backups"


def ensure_dir(path: str | Path) -> Path:
    """The backups folder, created owner-only (0700): archives hold every voter's number."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def archive_name(moment: dt.datetime, kind: str, taken: set[str] | None = None) -> str:
    """``ars-backup-YYYYMMDD-HHMMSS-<kind>.tar.gz`` in Seoul time, with ``-2``… when
    that second's name is ``taken`` already."""
    if kind not in KINDS:
        raise ValueError(f"unknown backup kind {kind!r}")
    stamp = moment.astimezone(SEOUL).strftime("%Y%m%d-%H%M%S")
    taken = taken or set()
    name, n = f"ars-backup-{stamp}-{kind}{SUFFIX}", 1
    while name in taken:
        n += 1
        name = f"ars-backup-{stamp}-{n}-{kind}{SUFFIX}"
    return name


def archive_path(directory: str | Path, name: str) -> Path:
    """The archive called ``name`` in ``directory``; a name that is not an
    archive's (a path, ``..``, anything else) is refused."""
    if not NAME.match(name or ""):
        raise BackupError("bad_name", name=name)
    path = Path(directory) / name
    if not path.is_file():
        raise BackupError("no_archive", name=name)
    return path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
