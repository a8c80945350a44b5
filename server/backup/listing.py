"""The archives in a backups folder, and what the last check of each found.

A check's result is kept beside its archive as ``<archive>.check.json``
(time, ok, the error) together with the archive's size and modification
time: an archive changed since its check shows as not verified again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from ..operating import SEOUL
from . import NAME, BackupError
from .check import read_manifest


def created_at(name: str) -> dt.datetime | None:
    """When an archive was taken, from its name (Seoul time in the name)."""
    match = NAME.match(name)
    if not match:
        return None
    return dt.datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S").replace(tzinfo=SEOUL)


def archives(directory: str | Path, kind: str | None = None) -> list[Path]:
    """The archives in ``directory`` (of one ``kind``), oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if NAME.match(p.name) and p.is_file() and not p.is_symlink()
             and (kind is None or NAME.match(p.name).group(4) == kind)]
    return sorted(found, key=lambda p: (created_at(p.name), p.name))


def _check_file(path: Path) -> Path:
    return path.with_name(path.name + ".check.json")


def record_check(path: Path, ok: bool, error: str | None = None, at: float | None = None) -> None:
    stat = path.stat()
    body = {"ok": ok, "error": error, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "at": dt.datetime.fromtimestamp(at if at is not None else dt.datetime.now().timestamp(),
                                            dt.timezone.utc).isoformat(timespec="seconds")}
    target = _check_file(path)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(body, fh, ensure_ascii=False)
    os.replace(tmp, target)


def last_check(path: Path) -> dict | None:
    """The last check of this archive, unless the archive changed since."""
    try:
        body = json.loads(_check_file(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or body.get("size") != stat.st_size or body.get("mtime_ns") != stat.st_mtime_ns:
        return None
    return body


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    _check_file(path).unlink(missing_ok=True)


def describe(path: Path) -> dict:
    """What the 백업 page shows of one archive."""
    entry = {"name": path.name, "kind": NAME.match(path.name).group(4), "size": path.stat().st_size,
             "created_at": created_at(path.name), "check": last_check(path), "manifest": None, "error": None}
    try:
        entry["manifest"] = read_manifest(path)
    except BackupError as exc:
        entry["error"] = exc.user_message
    return entry


def remove_stale_temporaries(directory: str | Path, older_than_s: float) -> list[str]:
    """Remove what a backup, check or upload cut short by a crash left
    (``.tmp-*``, never an archive) when older than ``older_than_s``."""
    import shutil
    import time
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for path in directory.glob(".tmp-*"):
        try:
            if time.time() - path.lstat().st_mtime > older_than_s:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
                removed.append(path.name)
        except OSError:
            continue
    return removed


def prune(directory: str | Path, keep: int, kind: str = "auto") -> list[str]:
    """Remove all but the newest ``keep`` archives of ``kind``; return the names removed."""
    found = archives(directory, kind)
    doomed = found[:-keep] if keep > 0 else found
    for path in doomed:
        remove(path)
    return [p.name for p in doomed]
