"""The link's outbox: phone → server events sent until acknowledged.

Every phone → server event that changes something (``call``, ``agent``,
``release``, ``assets``) goes through the outbox and is sent again until it
is acknowledged, after a reconnect if need be; the server deduplicates
``call`` events by ``(call_id, seq)``. The events of one call — and its
``agent`` requests — form a *chain*: each is sent only after the one
before it was acknowledged, so the server always sees a call's events in
order even if it handles events concurrently. An ack
``{"ok": false, …}`` is final (logged and counted in
:attr:`Outbox.refused`) except for the codes in ``protocol.RETRY_CODES``
(``hello_first``, ``seq_gap``, ``storage``: the server could not take it
*now*), which are sent again with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Awaitable, Callable

from .. import protocol
from ..backoff import Backoff

log = logging.getLogger(__name__)

__all__ = ["LinkDown", "Outbox"]


class LinkDown(ConnectionError):
    """Not connected (or the connection dropped before the ack)."""


class _Item:
    __slots__ = ("event", "payload", "future", "chain")

    def __init__(self, event: str, payload: dict, future: asyncio.Future, chain: str | None):
        self.event, self.payload, self.future, self.chain = event, payload, future, chain


class Outbox:
    """Events queued for the server; see the module docstring.

    ``send(event, payload, timeout)`` emits one event and returns its ack
    (:class:`LinkDown` if the connection drops first, ``asyncio.TimeoutError``
    after ``timeout``); ``ready`` is set while the link is connected and
    greeted: nothing is sent while it is clear.
    """

    def __init__(self, send: Callable[[str, dict, float], Awaitable[Any]], ready: asyncio.Event,
                 *, ack_timeout: float, name: str):
        self._send = send
        self._ready = ready
        self.ack_timeout = ack_timeout
        self.name = name
        self.refused = 0  # events the server answered {"ok": false}
        self.chains: dict[str, deque[_Item]] = {}  # call id -> its events not yet acknowledged
        self.workers: set[asyncio.Task] = set()

    def put(self, event: str, payload: dict, chain: str | None) -> asyncio.Future:
        """Queue an event (after the others of its ``chain``); resolves with the ack."""
        future = asyncio.get_running_loop().create_future()
        item = _Item(event, payload, future, chain)
        if chain is None:
            self._spawn(self._deliver_one(item))
        else:
            queue = self.chains.get(chain)
            if queue is None:
                queue = self.chains[chain] = deque()
                self._spawn(self._deliver_chain(chain, queue))
            queue.append(item)
        return future

    async def flush(self, timeout: float) -> None:
        """Give what is queued up to ``timeout`` seconds to be delivered."""
        if self.workers:
            await asyncio.wait(set(self.workers), timeout=timeout)

    def cancel(self) -> None:
        for task in list(self.workers):
            task.cancel()

    def _spawn(self, coro: Awaitable) -> None:
        task = asyncio.ensure_future(coro)
        self.workers.add(task)
        task.add_done_callback(self.workers.discard)

    async def _deliver_chain(self, chain: str, queue: deque[_Item]) -> None:
        try:
            while queue:
                await self._deliver_one(queue[0])
                queue.popleft()
        finally:
            if self.chains.get(chain) is queue and not queue:
                del self.chains[chain]

    async def _deliver_one(self, item: _Item) -> None:
        backoff = Backoff(0.2, 5.0)
        while True:
            await self._ready.wait()
            try:
                ack = await self._send(item.event, item.payload, self.ack_timeout)
            except LinkDown:
                continue
            except asyncio.TimeoutError:
                log.warning("%s: no ack for %s within %.0f s; sending again", self.name, item.event,
                            self.ack_timeout)
                continue
            if not isinstance(ack, dict):
                ack = protocol.error_ack("bad_ack", f"unexpected ack {ack!r}"[:200])
            if not ack.get("ok"):
                code = (ack.get("error") or {}).get("code")
                if code in protocol.RETRY_CODES:
                    if code != protocol.NOT_HELLO:
                        log.info("%s: %s %s not taken now (%s); sending again", self.name, item.event,
                                 _describe(item.payload), code)
                    await asyncio.sleep(backoff.next())
                    continue
                self.refused += 1
                log.warning("%s: server refused %s %s: %s", self.name, item.event,
                            _describe(item.payload), ack.get("error"))
            if not item.future.done():
                item.future.set_result(ack)
            return


def _describe(payload: dict) -> str:
    if "event" in payload and "call_id" in payload:
        return f"{payload['call_id']}#{payload.get('seq')} {payload['event']}"
    if "call_id" in payload:
        return f"{payload['call_id']} attempt {payload.get('attempt')}"
    return ""
