"""The adb backend's errors, and the one place where what adbutils, the adb
server and sockets raise becomes a typed error of ours.

Every adbutils/adb/socket error the backend meets goes through
:func:`adb_error` (the backend's ``_lost``): it is logged once, the shell is
closed, the phone is marked unavailable (``AdbTelephony.available``,
``AdbTelephony.unavailable_reason``: ``offline``, ``unauthorized …``,
``not connected``, ``connection lost …``), live call legs end as
``disconnected`` with cause ``failed``, and the caller gets the typed
:class:`~phone_agent.telephony.base.DeviceUnavailable`:

======================================================  ==========================  ======================
raised                                                  becomes                     reason
======================================================  ==========================  ======================
``AdbError`` "device unauthorized …" (adb's FAIL)       ``DeviceUnauthorized``      ``unauthorized: accept …``
``AdbError`` "device offline"                           ``DeviceOffline``           ``offline``
``AdbError`` "device '…' not found"                     ``DeviceNotConnected``      ``not connected``
``AdbConnectionError`` (no adb server)                  :class:`AdbServerUnreachable`  ``adb server unreachable (…)``
``AdbTimeout``, ``socket.timeout``                      ``DeviceNotAnswering``      ``not answering (…)``
:class:`SessionBroken`, ``ConnectionError``, ``EOFError``  ``ConnectionLost``       ``connection lost (…)``
a ``DeviceUnavailable``                                 itself
any other                                               ``DeviceUnavailable``       its message
======================================================  ==========================  ======================

The next call to the backend (``health()`` is the cheap one) tries to
reconnect, at most once per ``retry_s`` (1 s); backing off further and
giving up are the runner's business.
"""

from __future__ import annotations

import socket

import adbutils
from adbutils.errors import AdbConnectionError

from ..base import (ConnectionLost, DeviceNotAnswering, DeviceNotConnected, DeviceOffline,
                    DeviceUnauthorized, DeviceUnavailable, TelephonyError)

__all__ = ["AdbServerUnreachable", "MergeUnavailable", "SessionBroken", "TRANSPORT_ERRORS",
           "UNAUTHORIZED", "adb_error", "on_phone", "state_error"]

# What adbutils and sockets raise when the phone or the adb server goes away.
TRANSPORT_ERRORS = (adbutils.AdbError, OSError, EOFError)
UNAUTHORIZED = "unauthorized: accept the debugging prompt on the phone"


class MergeUnavailable(TelephonyError):
    """The phone cannot merge the voter and agent legs from the shell (no
    Merge on its in-call screen, or the merge did not happen)."""


class AdbServerUnreachable(DeviceUnavailable):
    """The adb server that reaches the phone does not answer."""


class SessionBroken(ConnectionError):
    """The long-lived shell stopped answering (timeout or closed)."""


def adb_error(exc: BaseException) -> DeviceUnavailable:
    """The typed error, with a short and honest reason as its message, for
    what reaching the phone raised (see the module docstring's table)."""
    if isinstance(exc, DeviceUnavailable):
        return exc
    text = str(exc).strip()
    if isinstance(exc, TelephonyError):
        return DeviceUnavailable(text)
    if isinstance(exc, AdbConnectionError):
        return AdbServerUnreachable(f"adb server unreachable ({text})")
    if isinstance(exc, (adbutils.AdbTimeout, socket.timeout)):
        return DeviceNotAnswering(f"not answering ({text or 'timeout'})")
    if isinstance(exc, adbutils.AdbError):
        # The adb server refuses a request with FAIL and a message, and
        # adbutils raises a plain AdbError carrying only that message
        # ("device offline", "device unauthorized. …", "device 'x' not found"):
        # the message is all there is to tell these apart by.
        low = text.lower()
        if "unauthorized" in low:
            return DeviceUnauthorized(UNAUTHORIZED)
        if "offline" in low:
            return DeviceOffline("offline")
        if "not found" in low and "device" in low:
            return DeviceNotConnected("not connected")
    if isinstance(exc, (ConnectionError, EOFError)):
        return ConnectionLost(f"connection lost ({text or type(exc).__name__})")
    return DeviceUnavailable(text or type(exc).__name__)


def state_error(state: str, connect_answer: str = "") -> DeviceUnavailable:
    """The error for a phone adb lists in ``state`` (not ``device``);
    ``connect_answer``: what ``adb connect`` said, if it did not connect."""
    if state == "unauthorized":
        return DeviceUnauthorized(UNAUTHORIZED)
    reason = f"{state} (adb connect: {connect_answer})" if connect_answer else state
    return DeviceOffline(reason) if state == "offline" else DeviceUnavailable(reason)


def on_phone(serial: str, error: DeviceUnavailable) -> DeviceUnavailable:
    """``error`` again, of the same type, its message naming the phone."""
    return type(error)(f"{serial}: {error}")
