"""Files the adb backend puts on the phone: :class:`AssetStore`.

Announcements and images go to :data:`~.android.ASSET_DIR` as
``<sha256><suffix>``, are verified on the phone by size and sha256 (``stat
-c %s``, ``sha256sum``; the media scan rides on the verifying line) and are
not sent again while the phone stays the same one (the backend forgets
them when the phone goes away: it may come back rebooted or wiped). A file
asked for twice at once is pushed once. The audio helper jar and
scrcpy-server are verified the same way (:meth:`AssetStore.verify`,
:attr:`AssetStore.pushed`).

The backend (:class:`~.backend.AdbTelephony`) owns one store; its
``push_asset`` and ``assets`` are the store's.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..base import AudioError

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["AssetStore"]


class AssetStore:
    """One phone's assets; see the module docstring. ``asset_dir``: where
    they go on the phone."""

    def __init__(self, backend: "AdbTelephony", asset_dir: str):
        self.backend = backend
        self.asset_dir = asset_dir.rstrip("/")
        self.pushed: dict[str, str] = {}  # sha256 -> remote path verified this session
        self._pushing: dict[str, asyncio.Future] = {}  # remote path -> the push under way
        self._hash_cache: dict[tuple[str, float, int], str] = {}

    def forget(self) -> None:
        """The phone may come back rebooted or wiped: verify again."""
        self.pushed.clear()

    def _sha256(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_mtime, st.st_size)
        sha = self._hash_cache.get(key)
        if sha is None:
            sha = self._hash_cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        return sha

    async def push(self, path: str | Path, *, sha256: str | None = None, scan: bool = True) -> str:
        """Put a file (announcement, image) in the asset directory as
        ``<sha256><suffix>``, verify its size and sha256 on the phone, and
        media-scan it. Returns the path on the phone; already-verified files
        are not sent again, and a file asked for twice at once is sent once."""
        p = Path(path)
        sha = sha256 or await asyncio.get_running_loop().run_in_executor(None, self._sha256, p)
        remote = f"{self.asset_dir}/{sha}{p.suffix.lower()}"
        if self.pushed.get(sha) == remote:
            return remote
        pending = self._pushing.get(remote)
        if pending is None:
            pending = self._pushing[remote] = asyncio.ensure_future(self._push(p, sha, remote, scan))
            pending.add_done_callback(lambda done: (self._pushing.pop(remote, None),
                                                    done.cancelled() or done.exception()))
        return await asyncio.shield(pending)

    async def _push(self, p: Path, sha: str, remote: str, scan: bool) -> str:
        backend = self.backend
        await backend._ensure_open()
        size = p.stat().st_size
        # The media scan rides on the line that verifies the file (one command line).
        then = f"am broadcast -a android.intent.action.MEDIA_SCANNER_SCAN_FILE -d file://{remote}" if scan else None
        if not await self.verify(remote, size, sha, then):
            data = await asyncio.get_running_loop().run_in_executor(None, p.read_bytes)
            await backend.blocking(backend._link.push, data, remote)
            if not await self.verify(remote, size, sha, then):
                raise AudioError(f"{p.name} arrived damaged on the phone (size or sha256 differ)")
        self.pushed[sha] = remote
        return remote

    async def verify(self, remote: str, size: int, sha: str, then: str | None = None) -> bool:
        """Size and sha256 of ``remote`` on the phone are these; ``then``
        runs after them on the same line when they could be read."""
        out, code = await self.backend.shell(f"stat -c %s {remote} && sha256sum {remote}"
                                             + (f" && {then}" if then else ""))
        lines = out.split()
        return (code == 0 or then is not None) and len(lines) >= 2 and lines[0] == str(size) \
            and lines[1].lower() == sha

    async def held(self) -> list[str]:
        """sha256 of every asset file in the asset directory on the phone (by name)."""
        out, code = await self.backend.shell(f"ls {self.asset_dir}")
        if code != 0:
            return []
        return sorted({m.group(1) for m in re.finditer(r"\b([0-9a-f]{64})\b", out)})
