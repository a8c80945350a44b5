"""The telephony interface: what the call script asks of a phone.

One small interface, honoured by every backend — ``adb`` (a real Android
phone driven over adb, synchronous underneath: it runs its blocking calls in
a thread executor) and ``sim`` (a simulated phone and voter). Nothing here is
simulator-only: every method is something a stock phone driven from the adb
shell can do (``am start -a …CALL``, ``dumpsys telecom``, key events, media
playback on the speakerphone, the microphone).

Two sides:

Call control
    ``dial(number)`` places the voter call, ``hang_up()`` ends every call on
    the phone, ``answer()`` picks up an incoming call. ``call_events()``
    yields :class:`CallStateChange` for both legs, tagged ``leg="voter"`` (the
    call we placed or answered) or ``leg="agent"`` (the second call to an
    agent handset): ``dialing``, ``alerting``, ``active``,
    ``disconnected`` (with a ``cause``, one of :data:`CAUSES`) and
    ``incoming`` (with the caller's ``number``). The agent leg:
    ``ring_agent(dial_target)`` starts the second call while the voter call is
    active, ``bridge()`` merges the two (conference), ``drop_agent()`` ends
    only the agent leg.

Audio
    ``play(path)`` plays a WAV into the call (speakerphone or announcement
    device) and returns when it has finished (``True``) or was stopped
    (``False``); it is cancellable. ``stop()`` stops it. ``frames()`` yields
    the call audio as the phone hears it, PCM16LE 8 kHz mono, in chunks of
    100 ms or more, until the voter call ends.

Device
    ``health()`` is a :data:`phone_agent.protocol.HEALTH` dict (battery,
    charging, signal, network, sim, call_state); ``device()`` a
    :data:`phone_agent.protocol.DEVICE` dict for ``hello``; ``close()``.

Errors are backend independent::

    TelephonyError                 anything the phone could not do
     ├── DeviceUnavailable         phone not reachable or not ready (adb offline,
     │    │                        no SIM, closed); says nothing about the voter
     │    ├── DeviceOffline        known, but not answering its link (adb: offline)
     │    ├── DeviceUnauthorized   refuses us until someone accepts a prompt on it
     │    ├── DeviceNotConnected   not connected at all (adb lists no such phone)
     │    ├── DeviceNotAnswering   a request to it timed out
     │    └── ConnectionLost       the open connection to it broke
     ├── CallFailed                a call could not be placed or was lost;
     │    │                        ``cause`` is one of CAUSES
     │    └── InvalidNumber        the number cannot be dialled at all
     ├── NoActiveCall              the operation needs a call or leg that is not
     │                             there (bridge without an agent, …)
     └── AudioError                audio could not be played or captured
                                   (missing file, unsupported format, mic busy)

Concurrency: one consumer reads ``call_events()`` for the life of the
backend (the call script's pump); ``frames()`` may be opened once per call.
Backends push state changes with :meth:`Telephony._emit` (from the event
loop) or :meth:`Telephony._emit_threadsafe` (from a worker thread).
"""

from __future__ import annotations

import abc
import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

__all__ = [
    "AGENT", "VOTER", "LEGS", "DIALING", "ALERTING", "ACTIVE", "DISCONNECTED", "INCOMING",
    "STATES", "CAUSES", "CallStateChange", "Telephony", "TelephonyError", "DeviceUnavailable",
    "DeviceOffline", "DeviceUnauthorized", "DeviceNotConnected", "DeviceNotAnswering",
    "ConnectionLost", "CallFailed", "InvalidNumber", "NoActiveCall", "AudioError",
]

VOTER, AGENT = "voter", "agent"
LEGS = (VOTER, AGENT)

DIALING, ALERTING, ACTIVE, DISCONNECTED, INCOMING = (
    "dialing", "alerting", "active", "disconnected", "incoming")
STATES = (DIALING, ALERTING, ACTIVE, DISCONNECTED, INCOMING)

# Why a leg ended. ``remote_hangup``: the other party hung up after
# answering; ``local_hangup``: we did (hang_up / drop_agent).
CAUSES = ("busy", "no_answer", "rejected", "invalid_number", "failed", "remote_hangup",
          "local_hangup")


# -- errors ---------------------------------------------------------------------

class TelephonyError(Exception):
    """Anything the phone could not do."""


class DeviceUnavailable(TelephonyError):
    """The phone cannot be reached or is not ready."""


class DeviceOffline(DeviceUnavailable):
    """The phone is known but does not answer its link (adb lists it offline)."""


class DeviceUnauthorized(DeviceUnavailable):
    """The phone refuses us until someone accepts the debugging prompt on it."""


class DeviceNotConnected(DeviceUnavailable):
    """The phone is not connected at all (adb does not list it)."""


class DeviceNotAnswering(DeviceUnavailable):
    """A request to the phone timed out."""


class ConnectionLost(DeviceUnavailable):
    """The open connection to the phone broke."""


class CallFailed(TelephonyError):
    """A call could not be placed, or was lost. ``cause`` is one of CAUSES."""

    def __init__(self, message: str, cause: str = "failed"):
        super().__init__(message)
        self.cause = cause


class InvalidNumber(CallFailed):
    """The number cannot be dialled at all."""

    def __init__(self, message: str):
        super().__init__(message, "invalid_number")


class NoActiveCall(TelephonyError):
    """The operation needs a call (or an agent leg) that is not there."""


class AudioError(TelephonyError):
    """Audio could not be played or captured."""


# -- events ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CallStateChange:
    """One change of one leg's state, as the phone saw it."""

    leg: str  # VOTER | AGENT
    state: str  # one of STATES
    cause: str | None = None  # for DISCONNECTED: one of CAUSES
    number: str | None = None  # for INCOMING: the caller; else the number dialled
    at: float = field(default_factory=time.time)


class _Changes:
    """An endless iterator over a queue. Unlike an async generator it
    survives a cancelled ``__anext__`` (``asyncio.wait_for(anext(it), t)``)."""

    __slots__ = ("_queue",)

    def __init__(self, queue: asyncio.Queue):
        self._queue = queue

    def __aiter__(self):
        return self

    def __anext__(self):
        return self._queue.get()


# -- the interface --------------------------------------------------------------

class Telephony(abc.ABC):
    """A phone as the call script sees it. See the module docstring."""

    name: str = "?"  # protocol backend name: "adb" | "sim"
    # False while the phone is known to be unreachable (the adb backend sets
    # it); the runner then dials nothing and reports the reason.
    available: bool = True
    unavailable_reason: str | None = None

    def __init__(self) -> None:
        self._changes: asyncio.Queue[CallStateChange] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None

    # call control
    @abc.abstractmethod
    async def dial(self, number: str) -> None:
        """Place the voter call. Returns once the phone has started it;
        progress arrives through ``call_events()``."""

    @abc.abstractmethod
    async def hang_up(self) -> None:
        """End every call on the phone (voter, agent, conference). No error
        when there is none."""

    @abc.abstractmethod
    async def answer(self) -> None:
        """Answer the incoming (ringing) call; NoActiveCall if none rings."""

    @abc.abstractmethod
    async def ring_agent(self, dial_target: str) -> None:
        """Start the agent leg while the voter call is active (the voter is
        put on hold or kept as the first call of a conference)."""

    @abc.abstractmethod
    async def bridge(self) -> None:
        """Merge the voter and the answered agent leg into one call."""

    @abc.abstractmethod
    async def drop_agent(self) -> None:
        """End the agent leg only; the voter call stays. No error when there
        is no agent leg."""

    def call_events(self) -> AsyncIterator[CallStateChange]:
        """State changes of both legs, in order, for the backend's life.
        Cancelling a wait for the next change (a timeout) loses nothing."""
        return _Changes(self._changes)

    # audio
    @abc.abstractmethod
    async def play(self, path: str | Path) -> bool:
        """Play a WAV into the call; True if it played to the end, False if
        stopped. Starting a new play stops the one before."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop the current play (no error when nothing plays)."""

    @abc.abstractmethod
    def frames(self) -> AsyncIterator[bytes]:
        """The call audio the phone hears, PCM16LE 8 kHz mono, chunks of
        ≥ 100 ms, ending with the voter call."""

    # device
    @abc.abstractmethod
    async def health(self) -> dict:
        """A protocol Health dict; ``call_state`` is always present."""

    async def device(self) -> dict:
        """A protocol Device dict (model, android, serial, number)."""
        return {}

    async def apply_images(self, images: dict[str, Path]) -> None:
        """Put the campaign's images on the phone (``{"outgoing": path,
        "callback": path}``), as far as the phone allows; TelephonyError if
        it could not. The sim phone has no screen: nothing to do."""

    async def probe_audio(self) -> dict | None:
        """Find the phone's audio path again (a protocol Audio dict, which
        :meth:`health` then carries), or None when this backend has no probe
        (the sim phone's audio is simulated). Not during a call."""
        return None

    async def ready(self) -> None:
        """Check that the phone can make calls now (connected, and holding
        what the audio path needs); DeviceUnavailable naming what is
        missing. The runner calls it before its first call and, with
        backoff, while the phone is down."""

    async def close(self) -> None:
        """Release the phone (end calls, close connections)."""

    # helpers for backends
    def _emit(self, change: CallStateChange) -> None:
        self._changes.put_nowait(change)

    def _emit_threadsafe(self, change: CallStateChange) -> None:
        """For backends whose monitor runs in a thread: hand the change to the
        event loop that created the backend's first coroutine."""
        if self._loop is None:
            raise RuntimeError("backend has no event loop yet")
        self._loop.call_soon_threadsafe(self._changes.put_nowait, change)
