"""Uploaded and derived files, stored by content hash.

Layout: ``<uploads>/sha256/ab/abcdef…<ext>``. A file is written to a
temporary name in the same folder and renamed into place, so a crash never
leaves a half-written file under a hash name. The same bytes uploaded twice
are stored once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


class UploadStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, sha256: str, ext: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        if not _EXT.match(ext):
            raise ValueError(f"bad file extension {ext!r}")
        return self.root / "sha256" / sha256[:2] / f"{sha256}{ext}"

    def put(self, data: bytes, ext: str) -> str:
        """Store bytes; return their sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256, ext)
        if not target.exists():
            self._write_atomically(target, data)
        return sha256

    def put_stream(self, stream, ext: str, chunk_size: int = 1 << 20) -> tuple[str, Path]:
        """Store a file-like object without holding it in memory; return (sha256, path)."""
        digest = hashlib.sha256()
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, suffix=ext)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(chunk_size):
                    digest.update(chunk)
                    out.write(chunk)
            sha256 = digest.hexdigest()
            target = self.path(sha256, ext)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return sha256, target

    def exists(self, sha256: str, ext: str) -> bool:
        return self.path(sha256, ext).exists()

    def read(self, sha256: str, ext: str) -> bytes:
        return self.path(sha256, ext).read_bytes()

    def remove(self, sha256: str, ext: str) -> None:
        self.path(sha256, ext).unlink(missing_ok=True)

    def stored_files(self):
        """Every file under this store: ``(path, sha256, ext)`` for a file
        stored by hash, ``(path, None, None)`` for anything else there (a
        temporary file left by a crash mid-upload, a stray name)."""
        for folder in (self.root / "sha256", self.root / "tmp"):
            if not folder.is_dir():
                continue
            for path in folder.rglob("*"):
                if not path.is_file() or path.is_symlink():
                    continue
                stem, ext = path.name[:64], path.name[64:]
                if folder.name == "sha256" and _SHA256.match(stem) and _EXT.match(ext) \
                        and path.parent.name == stem[:2]:
                    yield path, stem, ext
                else:
                    yield path, None, None

    def _write_atomically(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def uploads() -> UploadStore:
    """The running app's store (set up by ``create_app``)."""
    from flask import current_app
    return current_app.extensions["ars_uploads"]
