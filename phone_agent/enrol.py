"""Joining the server and keeping the token — one way for every kind of phone
(``python -m phone_agent run``, the router-mode supervisor, the sim fleet).

* :func:`enrol` — ``POST /api/phones/join``; with an enrolment key the
  answer is at once, without one it waits for the manager's approval.
* :class:`TokenStore` — the tokens a process's phones joined with, in one
  JSON file::

      {"servers": {"http://172.16.0.100:8000": {"<key>": {"token": "…", "phone_id": 7, …}}}}

  ``<key>`` names the phone within its process: the adb serial (supervisor),
  the phone's name (fleet), :data:`THIS_PHONE` (the one-phone command line).
  The file holds secrets: it is written atomically and readable by its owner
  only. A file in the command line's earlier layout, ``{server_url: token}``,
  is read as that layout's token of :data:`THIS_PHONE` and written in the
  layout above at the next change, so an installed phone keeps its token.
* :func:`token_for` — the stored token, or a new one from joining.
* :func:`ready_or_rejoin` — wait for a link to be greeted; when the server
  refuses its token (``bad_token``: the phone was deleted, or the database
  is another one) join again and connect anew.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp

from . import protocol as p
from .backoff import Backoff
from .link import CertificateRefused, Link, LinkRefused, ServerTrust

log = logging.getLogger(__name__)

__all__ = ["CertificateRefused", "EnrolmentError", "THIS_PHONE", "TokenStore", "enrol", "ready_or_rejoin", "token_for"]

THIS_PHONE = "phone"  # the key of the one phone of ``python -m phone_agent run``


class EnrolmentError(RuntimeError):
    """The server did not let the phone join (refused, rejected, not approved
    in time). ``status``: the HTTP status of a refused join request."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


async def enrol(server: str, name: str, *, enrol_key: str | None = None, mode: str = "sim",
                device: dict | None = None, session: aiohttp.ClientSession | None = None,
                poll_s: float = 5.0, timeout: float | None = None,
                trust: ServerTrust | None = None,
                refused_wait_s: tuple[float, float] = (5.0, 3600.0)) -> dict:
    """Join the server (``POST /api/phones/join``); returns
    ``{"phone_id", "token", …}``. Without an enrolment key the request waits
    for the manager's approval, polling every ``poll_s`` (up to ``timeout``).

    A request the server refuses for now (429 ``join_rate_limited`` or
    ``join_queue_full``) is made again after the Retry-After it gives, kept
    within ``refused_wait_s`` (least, most) and spread a little, growing while
    the refusals go on; a request that expired before a manager decided is
    made again at once.

    ``trust`` checks the server's certificate (its pin); a server that is
    not the pinned one raises :class:`~phone_agent.link.CertificateRefused`
    before the enrolment key is sent. A ``session`` given must come from
    the same trust (:meth:`ServerTrust.session`)."""
    trust = trust or ServerTrust(server)
    own = session is None
    session = session or trust.session()
    try:
        return await _join(session, server, name, enrol_key, mode, device, poll_s, timeout, refused_wait_s)
    except aiohttp.ClientError as exc:
        refused = trust.refused(exc)
        if refused is not None:
            raise refused from None
        raise
    finally:
        if own:
            await session.close()


async def _join(session, server, name, enrol_key, mode, device, poll_s, timeout,
                refused_wait_s) -> dict:
    body: dict[str, Any] = {"name": name, "mode": mode, "device": device or {}}
    if enrol_key:
        body["enrol_key"] = enrol_key
    url = f"{server.rstrip('/')}/api/phones/join"
    deadline = None if timeout is None else time.monotonic() + timeout
    refusals = Backoff(refused_wait_s[0], refused_wait_s[1], jitter=0.2)
    while True:
        async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=30)) as r:
            answer = await _json(r)
            retry_after = r.headers.get("Retry-After", "")
        if r.status == 201 and answer.get("status") == "approved":
            return answer
        refusal = _join_refusal(r.status, answer)
        if refusal is not None:
            wait = min(max(_seconds(retry_after), refusals.next()), refused_wait_s[1])
            if deadline is not None and time.monotonic() + wait >= deadline:
                raise EnrolmentError(f"{name!r}: the server refused to take a join request "
                                     f"({refusal}) until the time ran out", r.status)
            log.warning("%s: the server takes no join request now (%s: %s); asking again in %.0f s",
                        name, refusal, str(answer["error"].get("message", ""))[:200], wait)
            await asyncio.sleep(wait)
            continue
        if r.status != 202 or answer.get("status") != "pending":
            raise EnrolmentError(f"POST {url}: HTTP {r.status} {answer}", r.status)
        refusals.reset()
        approved = await _wait_for_decision(session, url, answer, name, poll_s, deadline)
        if approved is not None:
            return approved
        log.warning("%s: the join request expired before a manager approved it; asking again", name)


async def _wait_for_decision(session: aiohttp.ClientSession, url: str, pending: dict, name: str,
                             poll_s: float, deadline: float | None) -> dict | None:
    """Poll a pending join request: the approved answer, None when it
    expired; EnrolmentError when rejected or out of time."""
    request_id, secret = pending["request_id"], pending["poll_secret"]
    while deadline is None or time.monotonic() < deadline:
        await asyncio.sleep(poll_s)
        async with session.get(f"{url}/{request_id}", headers={"X-Poll-Secret": secret},
                               timeout=aiohttp.ClientTimeout(total=30)) as r:
            answer = await _json(r)
        if answer.get("status") == "approved":
            return answer
        if answer.get("status") == "rejected":
            raise EnrolmentError(f"the manager rejected {name!r}")
        if answer.get("status") == "expired":
            return None
    raise EnrolmentError(f"{name!r} was not approved in time")


def _join_refusal(status: int, answer: dict) -> str | None:
    """The code of a join request refused for now (429), else None."""
    error = answer.get("error")
    if status == 429 and isinstance(error, dict) and error.get("code") in p.JOIN_REFUSALS:
        return error["code"]
    return None


def _seconds(header: str) -> float:
    """A Retry-After in seconds (0 when absent or a date: the backoff decides)."""
    try:
        return max(0.0, float(header))
    except ValueError:
        return 0.0


async def _json(response: aiohttp.ClientResponse) -> dict:
    try:
        answer = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        answer = {"body": (await response.text())[:200]}
    return answer if isinstance(answer, dict) else {"body": answer}


# -- the token file -------------------------------------------------------------

class TokenStore:
    """Phone tokens of one server in the token file (see the module
    docstring), by key. ``path=None`` keeps nothing (every run joins again)."""

    def __init__(self, path: str | Path | None, server: str):
        self.path = Path(path) if path else None
        self.server = server.rstrip("/")

    def get(self, key: str) -> dict | None:
        """The entry (``token``, ``phone_id``, …) kept for ``key``, if any."""
        entry = self.all().get(key)
        return entry if isinstance(entry, dict) and entry.get("token") else None

    def all(self) -> dict[str, dict]:
        """Every entry kept for this server, by key."""
        entries = self._load().get("servers", {}).get(self.server)
        return entries if isinstance(entries, dict) else {}

    def put(self, key: str, entry: dict) -> None:
        self.update({key: entry})

    def update(self, entries: dict[str, dict]) -> None:
        """Keep these entries (others of the file stay)."""
        if self.path is None or not entries:
            return
        state = self._load()
        state.setdefault("servers", {}).setdefault(self.server, {}).update(entries)
        self._save(state)

    def drop(self, key: str) -> None:
        state = self._load()
        if state.get("servers", {}).get(self.server, {}).pop(key, None) is not None:
            self._save(state)

    def _load(self) -> dict:
        if self.path is None or not self.path.exists():
            return {}
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("token file %s unreadable (%s); phones join anew", self.path, exc)
            return {}
        if not isinstance(state, dict):
            return {}
        if "servers" not in state and state and all(isinstance(v, str) for v in state.values()):
            # The command line's earlier layout, {server_url: token}.
            return {"servers": {url.rstrip("/"): {THIS_PHONE: {"token": token}}
                                for url, token in state.items()}}
        return state

    def _save(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)


async def token_for(tokens: TokenStore, key: str, join: Callable[[], Awaitable[dict]],
                    **extra: Any) -> dict:
    """The entry kept for ``key``; without one, ``join()`` (an :func:`enrol`
    call) and keep its token and phone id (and ``extra``)."""
    entry = tokens.get(key)
    if entry is not None:
        return entry
    answer = await join()
    entry = {"token": answer["token"], "phone_id": answer.get("phone_id"), **extra}
    tokens.put(key, entry)
    return entry


async def ready_or_rejoin(link: Link, rejoin: Callable[[], Awaitable[Link]] | None,
                          timeout: float | None = None) -> Link:
    """Wait until ``link`` is connected and greeted, and return it. If the
    server refuses its token (``bad_token``) and ``rejoin`` is given, close
    the link, let ``rejoin()`` join again and start a new link, and wait for
    that one. Other refusals (and ``bad_token`` without ``rejoin``) raise
    :class:`~phone_agent.link.LinkRefused`."""
    try:
        await link.wait_ready(timeout)
        return link
    except LinkRefused as exc:
        if exc.code != "bad_token" or rejoin is None:
            raise
    log.warning("%s: the server refused the phone's token; joining again", link.name)
    await link.close()
    link = await rejoin()
    await link.wait_ready(timeout)
    return link
