"""The phone's link to the server: the Socket.IO client (the protocol
package is the contract in code).

:class:`Link` connects to namespace ``/phone`` with
``auth={"token", "protocol": 1}`` and keeps reconnecting (backing off up to
10 s) until closed, unless the server refuses the phone (``bad_token``,
``disabled``, ``protocol``: :attr:`Link.refused`, :meth:`Link.wait_ready`
raises :class:`LinkRefused`). After every (re)connect it sends ``hello``
first — with the asset hashes held and the calls still in hand — and sends
nothing else until ``hello`` is acknowledged.

Phone → server events that change something go through the outbox
(:mod:`phone_agent.link.outbox`: sent again until acknowledged, a call's
events in order; final refusals counted in :attr:`Link.refused_events`).
A call's ``dialing`` event is the exception: it is a claim
(:meth:`Link.claim`), sent once and answered at once or not at all, because
a phone may dial only on the server's fresh yes.

``lease`` and ``heartbeat`` are plain requests: a lost lease is asked again
by the runner, and ``hello`` tells the server which calls the phone holds.

Server → phone: ``campaign`` is acknowledged at once; the link fetches the
campaign's missing assets (:class:`~phone_agent.link.assets.AssetStore`),
reports ``assets`` and tells its listener. ``command`` is passed to the
listener; an id seen before gets the first answer again without acting
twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import socketio

from .. import __version__, protocol
from ..backoff import Backoff
from .assets import AssetStore, campaign_assets, is_sha
from .outbox import LinkDown, Outbox
from .pin import ServerTrust

log = logging.getLogger(__name__)

__all__ = ["FATAL_REFUSALS", "Link", "LinkListener", "LinkRefused"]

FATAL_REFUSALS = ("bad_token", "disabled", "protocol")
_DEVICE_KEYS = ("model", "android", "serial", "number", "manufacturer")


class LinkRefused(ConnectionError):
    """The server refused this phone (bad_token, disabled, protocol), or the
    phone refused the server (``certificate``: not the pinned one)."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class LinkListener(Protocol):
    """What the link tells its phone (the runner)."""

    def campaign_changed(self, campaign: dict | None) -> None: ...

    async def command(self, command: dict) -> dict: ...

    def held_calls(self) -> list[str]: ...


class Link:
    """One phone's connection to the server. See the module docstring.

    ``listener`` (the runner) hears about campaigns and commands and says
    which calls the phone holds; ``assets`` is the store announcements are
    fetched into; ``connect_gate`` (a semaphore shared by a fleet) limits
    how many phones connect at the same moment; ``trust`` says how the
    server's TLS certificate is checked (:class:`~phone_agent.link.pin.ServerTrust`:
    its pin, ``--cert-sha256``; plain http by default). A certificate that is
    not the pinned one is final: :attr:`refused` with code ``certificate``,
    and the link never sends the token.
    """

    def __init__(self, server: str, token: str, *, assets: AssetStore, mode: str = "sim",
                 backend: str = "sim", device: dict | None = None,
                 listener: LinkListener | None = None, transports: list[str] | None = None,
                 ack_timeout: float = 10.0, connect_timeout: float = 10.0,
                 connect_gate: asyncio.Semaphore | None = None, name: str = "phone",
                 trust: ServerTrust | None = None):
        self.trust = trust or ServerTrust(server)
        self.server = server.rstrip("/")
        self.token = token
        self.assets = assets
        self.mode = mode
        self.backend = backend
        self.device = {k: str(v) for k, v in (device or {}).items() if k in _DEVICE_KEYS and v}
        self.listener = listener
        self.transports = transports
        self.ack_timeout = ack_timeout
        self.connect_timeout = connect_timeout
        self.connect_gate = connect_gate
        self.name = name

        self.phone: dict | None = None  # {"id", "name"} from the hello ack
        self.heartbeat_s: float = 5.0
        self.campaign: dict | None = None
        self.refused: LinkRefused | None = None
        self.last_refusal: dict | None = None  # why the last connection attempt failed
        self.connects = 0
        # emit → ack seconds, by event ("call.dtmf" for call events), the latest 2000 of each
        self.ack_s: dict[str, deque[float]] = {}

        self._sio: socketio.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ready = asyncio.Event()
        self._down = asyncio.Event()
        self._failed = asyncio.Event()
        self._closing = False
        self._supervisor: asyncio.Task | None = None
        self._inflight: set[asyncio.Future] = set()
        self._outbox = Outbox(self._rpc, self._ready, ack_timeout=ack_timeout, name=name)
        self._commands: OrderedDict[str, asyncio.Future] = OrderedDict()
        self._connect_refusal: dict | None = None
        self._campaign_task: asyncio.Task | None = None
        self._assets_reported: tuple[str, ...] | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def refused_events(self) -> int:
        """Events the server answered ``{"ok": false}`` (final refusals)."""
        return self._outbox.refused

    @property
    def ready(self) -> bool:
        """Connected and ``hello`` acknowledged."""
        return self._ready.is_set()

    async def start(self) -> None:
        if self._supervisor is not None:
            return
        self._session = self.trust.session(limit=0)
        # handle_sigint=False: the process owner decides what SIGINT does (the
        # CLI lets the outbox flush); engineio would disconnect every client.
        sio = self._sio = socketio.AsyncClient(reconnection=False, http_session=self._session,
                                               handle_sigint=False)
        sio.on("connect_error", self._on_connect_error, namespace=protocol.NAMESPACE)
        sio.on("disconnect", self._on_disconnect, namespace=protocol.NAMESPACE)
        sio.on(protocol.CAMPAIGN, self._on_campaign, namespace=protocol.NAMESPACE)
        sio.on(protocol.COMMAND, self._on_command, namespace=protocol.NAMESPACE)
        self._supervisor = asyncio.create_task(self._supervise())

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Until connected and greeted; LinkRefused if the server refused
        the phone, asyncio.TimeoutError after ``timeout``."""
        ready = asyncio.ensure_future(self._ready.wait())
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            done, _ = await asyncio.wait({ready, failed}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            failed.cancel()
        if self.refused is not None:
            raise self.refused
        if not done:
            why = f" (last refusal: {self.last_refusal})" if self.last_refusal else ""
            raise asyncio.TimeoutError(f"{self.name}: not connected within {timeout} s{why}")

    async def close(self, flush_s: float = 0.0) -> None:
        """Disconnect; with ``flush_s``, first give the outbox that long to
        deliver what it holds."""
        if flush_s > 0 and self.ready:
            await self._outbox.flush(flush_s)
        self._closing = True
        for task in [self._supervisor, self._campaign_task]:
            if task is not None:
                task.cancel()
        self._outbox.cancel()
        if self._sio is not None and self._sio.connected:
            try:
                await self._sio.disconnect()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        if self._session is not None:
            await self._session.close()
        self._ready.clear()

    async def _supervise(self) -> None:
        backoff, failures = Backoff(0.5, 10.0, jitter=0.5), 0
        while not self._closing:
            self._connect_refusal = None
            self._down.clear()
            try:
                await self._connect()
            except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError,
                    asyncio.TimeoutError) as exc:
                if self.trust.refusal is not None:
                    self.refused = LinkRefused("certificate", str(self.trust.refusal))
                    log.error("%s: %s", self.name, self.trust.refusal)
                    self._failed.set()
                    return
                refusal = self._connect_refusal or {}
                code = refusal.get("code") if isinstance(refusal, dict) else None
                if code in FATAL_REFUSALS:
                    self.refused = LinkRefused(code, refusal.get("message", ""))
                    log.error("%s: the server refused the phone: %s", self.name, self.refused)
                    self._failed.set()
                    return
                self.last_refusal = refusal or None
                # A refusal without a code is still the server saying no: say so once.
                level = logging.WARNING if refusal and not failures else logging.INFO
                log.log(level, "%s: cannot connect (%s); trying again", self.name, refusal or exc)
                failures += 1
                await asyncio.sleep(backoff.next())
                continue
            if not await self._hello():
                await self._disconnect_quietly()
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            failures = 0
            self.last_refusal = None
            self._ready.set()
            await self._down.wait()
            log.info("%s: disconnected", self.name)

    async def _connect(self) -> None:
        auth = {"token": self.token, "protocol": protocol.PROTOCOL_VERSION}
        if self.connect_gate is not None:
            async with self.connect_gate:
                await self._sio.connect(self.server, auth=auth, namespaces=[protocol.NAMESPACE],
                                        transports=self.transports,
                                        wait_timeout=self.connect_timeout)
        else:
            await self._sio.connect(self.server, auth=auth, namespaces=[protocol.NAMESPACE],
                                    transports=self.transports, wait_timeout=self.connect_timeout)
        self.connects += 1

    async def _disconnect_quietly(self) -> None:
        try:
            await self._sio.disconnect()
        except Exception:  # noqa: BLE001
            pass

    async def _hello(self) -> bool:
        held = set(self.listener.held_calls() if self.listener else []) | set(self._outbox.chains)
        payload = {"agent": __version__, "mode": self.mode, "backend": self.backend,
                   "device": self.device, "assets": self.assets.have()[:500],
                   "calls": sorted(held)[:500]}
        try:
            ack = await self._rpc(protocol.HELLO, payload, self.ack_timeout)
        except (LinkDown, asyncio.TimeoutError) as exc:
            log.warning("%s: no answer to hello (%s)", self.name, type(exc).__name__)
            return False
        if not isinstance(ack, dict) or not ack.get("ok"):
            log.error("%s: hello refused: %s", self.name, ack)
            return False
        self.phone = ack.get("phone")
        self.heartbeat_s = float(ack.get("heartbeat_s") or self.heartbeat_s)
        self._assets_reported = tuple(payload["assets"])
        self._campaign_changed(ack.get("campaign"))
        return True

    # ------------------------------------------------------ socket handlers

    async def _on_connect_error(self, data=None) -> None:
        self._connect_refusal = data if isinstance(data, dict) else {"message": str(data)}

    async def _on_disconnect(self, reason=None) -> None:
        self._ready.clear()
        self._down.set()
        for future in list(self._inflight):
            if not future.done():
                future.set_exception(LinkDown("disconnected"))

    async def _on_campaign(self, data=None) -> dict:
        try:
            data = protocol.validate_from_server(protocol.CAMPAIGN, data)
        except protocol.ProtocolError as exc:
            log.error("%s: ignoring a campaign message that breaks the protocol: %s", self.name, exc.message)
            return {"ok": False, "error": exc.message[:500]}
        self._campaign_changed(data["campaign"])
        return protocol.ok_ack()

    async def _on_command(self, data=None) -> dict:
        try:
            data = protocol.validate_from_server(protocol.COMMAND, data)
        except protocol.ProtocolError as exc:
            log.error("%s: refusing a command that breaks the protocol: %s", self.name, exc.message)
            return {"ok": False, "error": exc.message[:500]}
        seen = self._commands.get(data["id"])
        if seen is None:
            seen = self._commands[data["id"]] = asyncio.ensure_future(self._run_command(data))
            while len(self._commands) > 1000:
                self._commands.popitem(last=False)
        return await asyncio.shield(seen)

    async def _run_command(self, command: dict) -> dict:
        kind = command.get("type")
        if kind not in protocol.COMMAND_TYPES:
            return {"ok": False, "error": f"unknown command type {kind!r}"}
        try:
            if kind == "apply_images":
                args = command.get("args") or {}
                wanted = [v for v in args.values() if isinstance(v, str) and is_sha(v)]
                images = [(self.campaign or {}).get("assets", {}).get(kind)
                          for kind in ("outgoing_image", "callback_image")]
                missing = await self.fetch_assets(wanted + [sha for sha in images if sha])
                if missing:
                    return {"ok": False, "error": f"cannot fetch {len(missing)} image(s)"}
            if self.listener is None:
                return {"ok": True}
            return await self.listener.command(command)
        except Exception as exc:  # noqa: BLE001 - the server gets the reason
            log.exception("%s: command %s failed", self.name, kind)
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}

    # --------------------------------------------------------------- campaign

    def _campaign_changed(self, campaign: dict | None) -> None:
        self.campaign = campaign
        if self._campaign_task is not None:
            self._campaign_task.cancel()
        self._campaign_task = asyncio.ensure_future(self._prepare(campaign))

    async def _prepare(self, campaign: dict | None) -> None:
        missing = await self.fetch_assets(campaign_assets(campaign))
        if missing:
            log.error("%s: %d asset(s) could not be fetched", self.name, len(missing))
        if tuple(self.assets.have()[:500]) != self._assets_reported:
            await self.report_assets()
        if self.listener is not None and self.campaign is campaign:
            self.listener.campaign_changed(campaign)

    def assets_ready(self, campaign: dict | None = None) -> bool:
        """Whether every asset of the campaign is on the phone."""
        campaign = self.campaign if campaign is None else campaign
        return all(self.assets.path(sha) for sha in campaign_assets(campaign))

    async def fetch_assets(self, hashes: list[str], attempts: int = 3) -> list[str]:
        """Download what is missing; returns the hashes still missing."""
        missing = [sha for sha in dict.fromkeys(hashes) if self.assets.path(sha) is None]
        for attempt in range(attempts):
            if not missing or self._session is None:
                break
            results = await asyncio.gather(
                *(self.assets.fetch(self._session, self.server, self.token, sha) for sha in missing),
                return_exceptions=True)
            for sha, result in zip(missing, results):
                if isinstance(result, BaseException):
                    log.warning("%s: asset %s…: %s", self.name, sha[:12], result)
            missing = [sha for sha in missing if self.assets.path(sha) is None]
            if missing:
                await asyncio.sleep(1.0 + attempt)
        return missing

    async def report_assets(self) -> dict:
        have = self.assets.have()[:500]
        self._assets_reported = tuple(have)
        return await self._outbox.put(protocol.ASSETS, {"have": have}, None)

    # ------------------------------------------------------ phone -> server

    def report(self, event: dict) -> asyncio.Future:
        """Queue a ``call`` event (in its call's chain); resolves with the ack."""
        return self._outbox.put(protocol.CALL, event, event["call_id"])

    async def claim(self, event: dict, timeout: float | None = None) -> dict:
        """Send a call's ``dialing`` event now, outside the outbox; the ack.
        LinkDown if not connected, asyncio.TimeoutError after ``timeout``.
        Never sent again: the caller must not dial without this ack."""
        if not self.ready:
            raise LinkDown("not connected")
        return await self._rpc(protocol.CALL, event, self.ack_timeout if timeout is None else timeout)

    def ask_agent(self, request: dict) -> asyncio.Future:
        """Queue an ``agent`` request after its call's events; resolves with
        the ack (``line`` or null)."""
        return self._outbox.put(protocol.AGENT, request, request["call_id"])

    def release(self, call_ids: list[str]) -> asyncio.Future:
        return self._outbox.put(protocol.RELEASE, {"call_ids": list(call_ids)[:500]}, None)

    async def lease(self, want: int, timeout: float | None = None) -> dict:
        """Ask for a contact batch; LinkDown / asyncio.TimeoutError if the
        server cannot be reached in time (the runner asks again)."""
        timeout = self.ack_timeout if timeout is None else timeout
        await asyncio.wait_for(self._ready.wait(), timeout)
        return await self._rpc(protocol.LEASE, {"want": max(1, min(protocol.MAX_LEASE, want))},
                               timeout)

    async def heartbeat(self, health: dict) -> dict | None:
        """Send one heartbeat if connected; None if it could not be sent."""
        if not self.ready:
            return None
        try:
            return await self._rpc(protocol.HEARTBEAT, health, self.ack_timeout)
        except (LinkDown, asyncio.TimeoutError):
            return None

    def asset_path(self, sha: str) -> Path | None:
        return self.assets.path(sha)

    def pending_calls(self) -> list[str]:
        """Calls with events not yet acknowledged."""
        return list(self._outbox.chains)

    # ------------------------------------------------------------------ emit

    async def _rpc(self, event: str, payload: dict, timeout: float) -> Any:
        """Emit with an ack; the ack's data. LinkDown if the connection
        drops first, asyncio.TimeoutError after ``timeout``."""
        sio = self._sio
        if sio is None or not sio.connected:
            raise LinkDown("not connected")
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def on_ack(*args):
            if not future.done():
                future.set_result(args[0] if args else None)

        self._inflight.add(future)
        try:
            try:
                await sio.emit(event, payload, namespace=protocol.NAMESPACE, callback=on_ack)
            except (socketio.exceptions.SocketIOError, ConnectionError, OSError) as exc:
                raise LinkDown(str(exc)) from None
            t0 = time.monotonic()
            ack = protocol.check_ack(event, await asyncio.wait_for(future, timeout))
            if ack.get("ok") is False and ack["error"]["code"] == protocol.BAD_ACK:
                log.error("%s: the server's answer to %s breaks the protocol: %s", self.name, event,
                          ack["error"]["message"])
            key = f"call.{payload.get('event')}" if event == protocol.CALL else event
            samples = self.ack_s.get(key)
            if samples is None:
                samples = self.ack_s[key] = deque(maxlen=2000)
            samples.append(time.monotonic() - t0)
            return ack
        finally:
            self._inflight.discard(future)


