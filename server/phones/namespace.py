"""The ``/phone`` Socket.IO namespace: one connection per phone.

Every phone message is checked against ``phone_agent.protocol`` here, at the
boundary, before the engine sees it. A refused message gets an error ack, a
log line (phone id, event, code; never a phone number) and changes nothing.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict

from flask import request
from flask_socketio import Namespace, disconnect, join_room

from phone_agent import protocol as p

from ..calling import EngineError
from ..calling.engine import CallingEngine
from ..extensions import connection_refused
from . import wire_json

log = logging.getLogger(__name__)

PHONE_EVENTS = {
    p.HELLO: "hello", p.HEARTBEAT: "heartbeat", p.ASSETS: "assets", p.LEASE: "lease",
    p.CALL: "call_event", p.AGENT: "agent", p.RELEASE: "release",
}

class PhoneNamespace(Namespace):
    """/phone: one connection per phone, authenticated by its token."""

    def __init__(self, engine: CallingEngine):
        super().__init__(p.NAMESPACE)
        self.engine = engine
        self.phone_of_sid: dict[str, int] = {}
        self.handling_s: dict[str, list[float]] = defaultdict(list)   # event -> recent handling times

    def on_connect(self, auth=None):
        """Sent by a phone on connect with ``{"token", "protocol"}``; refused
        with ``{"code", "message"}`` when the token or protocol is wrong."""
        try:
            phone = self.engine.authenticate(auth)
        except EngineError as exc:
            log.warning("phone connection refused from %s: %s", request.remote_addr, exc.code)
            raise connection_refused(exc.code, exc.message) from None
        older = self.engine.roster.connected(phone, request.sid)
        self.phone_of_sid[request.sid] = phone.id
        join_room(f"phone:{phone.id}")
        if older:
            self.phone_of_sid.pop(older, None)
            disconnect(sid=older, namespace=p.NAMESPACE)
        log.info("phone %s connected (%s)", phone.id, request.remote_addr)

    def on_disconnect(self, reason=None):
        phone_id = self.phone_of_sid.pop(request.sid, None)
        if phone_id is not None:
            self.engine.roster.disconnected(phone_id, request.sid)
            log.info("phone %s disconnected", phone_id)

    def disconnect_phone(self, sid: str) -> None:
        """Close one phone connection now (the phone was revoked on the console)."""
        self.phone_of_sid.pop(sid, None)
        try:
            self.socketio.server.disconnect(sid, namespace=self.namespace)
        except Exception:  # noqa: BLE001 - already gone
            log.debug("disconnect of %s failed", sid, exc_info=True)

    def trigger_event(self, event, *args):
        if event in ("connect", "disconnect"):
            sid = args[0] if args else None
            if sid in self.phone_of_sid and (event == "connect" or self.server_connected(sid)):
                # A phone sent a message named like a connection event: not one.
                return p.error_ack(p.UNKNOWN_EVENT, f"'{event}' is reserved and cannot be sent")
            return super().trigger_event(event, *args)
        # args = (sid, payload...); the return value is the acknowledgement. Phone
        # messages need no Flask request context (the engine keeps its own
        # connection), and building one per message cost a tenth of the server's
        # CPU at 200 phones, so they skip Flask-SocketIO's per-event wrapper.
        sid, *payload = args
        started = time.perf_counter()
        try:
            return self.dispatch(event, sid, tuple(payload))
        finally:
            samples = self.handling_s[event]
            samples.append(time.perf_counter() - started)
            if len(samples) > 5000:
                del samples[:2500]

    def handling_summary(self) -> dict:
        """p50/p99 milliseconds the server took per event kind (recent samples)."""
        out = {}
        for event, samples in self.handling_s.items():
            if not samples:
                continue
            # The recent samples are the whole population: inclusive quantiles
            # stay within the fastest and the slowest one. quantiles() wants
            # two points; a single sample is every percentile of itself.
            cuts = statistics.quantiles(samples * 2 if len(samples) == 1 else samples, n=100,
                                        method="inclusive")
            out[event] = {"n": len(samples), "p50_ms": round(1000 * cuts[49], 2),
                          "p99_ms": round(1000 * cuts[98], 2)}
        return out

    def server_connected(self, sid: str) -> bool:
        return self.socketio.server.manager.is_connected(sid, self.namespace)

    def dispatch(self, event: str, sid: str, payload: tuple) -> dict:
        """Check one phone message and hand it to the engine; the ack is returned."""
        phone_id = self.phone_of_sid.get(sid)
        if phone_id is None:
            return p.error_ack(p.NOT_CONNECTED, "connect with a token first")
        if not self.engine.roster.connection_valid(phone_id, sid):
            # Revoked, or replaced by a newer connection of the same phone.
            self.disconnect_phone(sid)
            return p.error_ack(p.REVOKED, "this connection is no longer valid; connect again")
        method = PHONE_EVENTS.get(event)
        try:
            if event == wire_json.TOO_DEEP:
                raise p.ProtocolError(p.BAD_PAYLOAD, "the message is nested too deeply")
            if method is None:
                raise p.ProtocolError(p.UNKNOWN_EVENT, f"unknown event '{event}'")
            if len(payload) != 1:
                raise p.ProtocolError(p.BAD_PAYLOAD, f"{event}: expected one JSON object")
            message = p.validate(event, payload[0])
            return getattr(self.engine, method)(phone_id, message)
        except (p.ProtocolError, EngineError) as exc:
            log.warning("phone %s: %s refused (%s: %s)", phone_id, event, exc.code, exc.message)
            return p.error_ack(exc.code, exc.message)
        except RecursionError:
            return p.error_ack(p.BAD_PAYLOAD, f"{event}: nested too deeply")
        except Exception:
            log.exception("phone %s: %s failed", phone_id, event)
            return p.error_ack(p.INTERNAL, "the server could not handle this message")

    def notify(self, phone_id: int | None, event: str, payload: dict, on_reply=None) -> None:
        """Engine -> phones. ``on_reply(ok, error)`` is called with a command's
        reply, once it is checked against the protocol."""
        if phone_id is None:
            self.socketio.emit(event, payload, namespace=self.namespace)
            return
        phone = self.engine.phones.get(phone_id)
        if phone is None or phone.sid is None:
            return
        callback = None
        if on_reply is not None:
            def callback(answer=None):
                try:
                    answer = p.PHONE_REPLY(answer, "command reply")
                except p.ProtocolError as exc:
                    answer = {"ok": False, "error": exc.message}
                error = answer.get("error")
                on_reply(answer["ok"] is True, str(error)[:200] if error else None)
        self.socketio.emit(event, payload, namespace=self.namespace, to=phone.sid, callback=callback)
