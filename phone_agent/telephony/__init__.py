"""Telephony backends behind one interface (``base.Telephony``).

``sim`` is a simulated phone and voter; ``adb`` is a real Android phone over
adb (``create("adb", serial="172.16.0.23:5555")``). The call script never
knows which one it drives.
"""

from .base import (ACTIVE, AGENT, ALERTING, CAUSES, DIALING, DISCONNECTED, INCOMING, VOTER,
                   AudioError, CallFailed, CallStateChange, DeviceUnavailable, InvalidNumber,
                   NoActiveCall, Telephony, TelephonyError)

__all__ = [
    "ACTIVE", "AGENT", "ALERTING", "CAUSES", "DIALING", "DISCONNECTED", "INCOMING", "VOTER",
    "AudioError", "CallFailed", "CallStateChange", "DeviceUnavailable", "InvalidNumber",
    "NoActiveCall", "Telephony", "TelephonyError", "create",
]


def create(name: str, **options) -> Telephony:
    """A backend by its protocol name."""
    if name == "sim":
        from .sim import SimTelephony
        return SimTelephony(**options)
    if name == "adb":
        from .adb import AdbTelephony
        return AdbTelephony(**options)
    raise ValueError(f"unknown telephony backend {name!r}")
