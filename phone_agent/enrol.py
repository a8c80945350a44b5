"""Joining the server: the enrolment call (``POST /api/phones/join``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

__all__ = ["EnrolmentError", "enrol"]


class EnrolmentError(RuntimeError):
    """The server did not let the phone join (refused, rejected, not approved in time)."""


async def enrol(server: str, name: str, *, enrol_key: str | None = None, mode: str = "sim",
                device: dict | None = None, session: aiohttp.ClientSession | None = None,
                poll_s: float = 5.0, timeout: float | None = None) -> dict:
    """Join the server (``POST /api/phones/join``); returns
    ``{"phone_id", "token", …}``. Without an enrolment key the request waits
    for the manager's approval, polling every ``poll_s`` (up to ``timeout``)."""
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        body: dict[str, Any] = {"name": name, "mode": mode, "device": device or {}}
        if enrol_key:
            body["enrol_key"] = enrol_key
        url = f"{server.rstrip('/')}/api/phones/join"
        async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=30)) as r:
            answer = await _json(r)
            if r.status == 201 and answer.get("status") == "approved":
                return answer
            if r.status != 202 or answer.get("status") != "pending":
                raise EnrolmentError(f"POST {url}: HTTP {r.status} {answer}")
        request_id, secret = answer["request_id"], answer["poll_secret"]
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(poll_s)
            async with session.get(f"{url}/{request_id}", headers={"X-Poll-Secret": secret},
                                   timeout=aiohttp.ClientTimeout(total=30)) as r:
                answer = await _json(r)
            if answer.get("status") == "approved":
                return answer
            if answer.get("status") == "rejected":
                raise EnrolmentError(f"the manager rejected {name!r}")
        raise EnrolmentError(f"{name!r} was not approved within {timeout} s")
    finally:
        if own:
            await session.close()


async def _json(response: aiohttp.ClientResponse) -> dict:
    try:
        answer = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        answer = {"body": (await response.text())[:200]}
    return answer if isinstance(answer, dict) else {"body": answer}
