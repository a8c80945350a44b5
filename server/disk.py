"""Free disk space: watched so that a full disk never hurts voters or half-writes data.

Why it matters: when the disk holding the SQLite database fills up, SQLite can
no longer write. A call that is answered could then not be recorded, a lease
could not be taken or given back, and an import would stop half way. So:

* the calling engine asks ``low()`` before it hands phones new calls. While
  free space is below the minimum it gives out no new work (calls already
  under way finish and are recorded in the room that is left), and it resumes
  by itself as soon as space returns; no one has to restart anything.
* the console shows ``status()`` so the manager sees the warning.
* uploads and imports call ``check_room(size)`` before they store anything
  and are refused up front with a message the manager can act on, so nothing
  is ever half written.

``free_bytes()`` is cached for ``check_every_s`` because the engine asks on
every claim; ``check_room`` always measures, because it guards a write.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

MB = 1024 * 1024

# An upload of n bytes needs about 3n of room before it is done: the file is
# stored (n), parsed into a working copy (up to n: a preview, or the converted
# announcement / image), and written into the database with its indexes and
# write-ahead log (up to n). The factor is deliberately generous.
SPACE_FACTOR = 3


def _mb(value: int | float) -> float:
    return round(value / MB, 1)


def _mb_text(value: int | float) -> str:
    """200 -> "200", 120.04 -> "120.0"-style text of a MB figure."""
    mb = _mb(value)
    return f"{mb:.0f}" if mb == int(mb) else f"{mb:.1f}"


class DiskFull(Exception):
    """Not enough free disk space for an upload or import; nothing was stored."""

    TEXT = ("디스크 공간이 부족합니다: 남은 공간 {free_mb} MB, 이 파일과 작업 공간에 "
            "{need_mb} MB가 필요합니다 (최소 여유 {min_free_mb} MB). 공간을 확보한 뒤 다시 올려 주세요.")

    def __init__(self, free_bytes: int, incoming_bytes: int, min_free_bytes: int):
        self.free_bytes = free_bytes
        self.incoming_bytes = incoming_bytes
        self.min_free_bytes = min_free_bytes
        self.need_bytes = incoming_bytes * SPACE_FACTOR + min_free_bytes
        super().__init__(self.TEXT.format(**self.values))

    @property
    def values(self) -> dict[str, str]:
        return {"free_mb": f"{_mb(self.free_bytes):.1f}", "need_mb": f"{_mb(self.need_bytes):.1f}",
                "min_free_mb": _mb_text(self.min_free_bytes)}

    @property
    def user_message(self) -> str:
        """For the manager: Korean (English when the console is switched to English)."""
        from .i18n import gettext
        return gettext(self.TEXT, **self.values)

    def detail(self) -> dict:
        """For the audit log."""
        return {"error": "disk_full", "free_mb": _mb(self.free_bytes),
                "need_mb": _mb(self.need_bytes), "min_free_mb": _mb(self.min_free_bytes)}


def _existing(path: Path) -> Path:
    """The folder itself, or its nearest existing parent (a folder not made yet
    will live on the same filesystem as its parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class DiskGuard:
    """Free space on the filesystems holding the database folder and the uploads.

    ``path`` is the folder holding the SQLite database; ``uploads_path`` (if
    given) the uploads folder. When they are on different filesystems, the
    lower free space counts."""

    def __init__(self, path, min_free_bytes: int, clock=time.monotonic, check_every_s: float = 5.0,
                 uploads_path=None):
        self.paths = [Path(path)] + ([Path(uploads_path)] if uploads_path is not None else [])
        self.min_free_bytes = int(min_free_bytes)
        self.clock = clock
        self.check_every_s = check_every_s
        self._cached: tuple[float, int] | None = None  # (measured at, free bytes)

    def measure(self) -> int:
        """Free bytes now, the lowest of the watched filesystems (no cache)."""
        free = min(shutil.disk_usage(_existing(path)).free for path in self.paths)
        self._cached = (self.clock(), free)
        return free

    def free_bytes(self) -> int:
        """Free bytes, measured at most once every ``check_every_s`` seconds."""
        cached = self._cached
        if cached is not None and self.clock() - cached[0] < self.check_every_s:
            return cached[1]
        return self.measure()

    def low(self) -> bool:
        return self.free_bytes() < self.min_free_bytes

    def status(self) -> dict:
        free = self.free_bytes()
        return {"low": free < self.min_free_bytes, "free_mb": _mb(free),
                "min_free_mb": _mb(self.min_free_bytes)}

    def check_room(self, incoming_bytes: int) -> None:
        """Raise DiskFull unless ``incoming_bytes`` (times SPACE_FACTOR) fits and
        still leaves ``min_free_bytes`` free. Always measures: it guards a write."""
        incoming_bytes = max(0, int(incoming_bytes or 0))
        free = self.measure()
        if free - incoming_bytes * SPACE_FACTOR < self.min_free_bytes:
            raise DiskFull(free, incoming_bytes, self.min_free_bytes)
