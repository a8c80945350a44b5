"""Announcements and images on the phone, by SHA-256: :class:`AssetStore`
fetches ``GET /api/assets/<sha256>`` with the phone's bearer token, checks
the SHA-256 and caches the file under its hash; :func:`campaign_assets`
lists what a campaign needs."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from pathlib import Path

import aiohttp

__all__ = ["AssetStore", "campaign_assets", "is_sha"]


def campaign_assets(campaign: dict | None) -> list[str]:
    """Every asset hash a campaign needs, announcements first."""
    if not campaign:
        return []
    assets = campaign.get("assets") or {}
    out: list[str] = []
    for kind in ("intro", "promise", "callback", "refusal"):
        out.extend(assets.get(kind) or [])
    for kind in ("outgoing_image", "callback_image"):
        if assets.get(kind):
            out.append(assets[kind])
    return list(dict.fromkeys(out))


class AssetStore:
    """Announcements and images on disk, by SHA-256. One store may serve
    many phones of a process (the fleet): a hash is fetched once."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._have = {p.name for p in self.root.iterdir() if is_sha(p.name)}
        self._fetching: dict[str, asyncio.Future] = {}

    def path(self, sha: str) -> Path | None:
        return self.root / sha if sha in self._have else None

    def have(self) -> list[str]:
        return sorted(self._have)

    def add(self, data: bytes) -> str:
        """Store bytes (tests, demos); returns their hash."""
        sha = hashlib.sha256(data).hexdigest()
        self._write(sha, data)
        return sha

    def _write(self, sha: str, data: bytes) -> None:
        tmp = self.root / f".{sha}.{os.getpid()}.{random.getrandbits(32):08x}"
        tmp.write_bytes(data)
        os.replace(tmp, self.root / sha)
        self._have.add(sha)

    async def fetch(self, session: aiohttp.ClientSession, server: str, token: str, sha: str) -> Path:
        """The file for ``sha``, downloaded if not yet held."""
        if sha in self._have:
            return self.root / sha
        pending = self._fetching.get(sha)
        if pending is None:
            pending = self._fetching[sha] = asyncio.ensure_future(
                self._download(session, server, token, sha))
            pending.add_done_callback(lambda _f: self._fetching.pop(sha, None))
        return await asyncio.shield(pending)

    async def _download(self, session, server, token, sha) -> Path:
        url = f"{server.rstrip('/')}/api/assets/{sha}"
        async with session.get(url, headers={"Authorization": f"Bearer {token}"},
                               timeout=aiohttp.ClientTimeout(total=120)) as response:
            if response.status != 200:
                raise OSError(f"GET {url}: HTTP {response.status}")
            data = await response.read()
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            raise OSError(f"asset {sha[:12]}…: received content hashes to {got[:12]}…")
        await asyncio.get_running_loop().run_in_executor(None, self._write, sha, data)
        return self.root / sha


def is_sha(name: str) -> bool:
    """Whether ``name`` is a SHA-256 in hex (an asset's file name)."""
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)
