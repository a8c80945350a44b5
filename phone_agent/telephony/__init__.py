"""Telephony backends behind one interface (``base.Telephony``).

``sim`` is a simulated phone and voter (``phone_agent.simulator.sim``, not
part of a phone's install: asking for it there raises ImportError with
:func:`phone_agent.simulator_missing`'s message); ``adb`` is a real Android phone over
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
        try:
            from ..simulator.sim import SimTelephony
        except ModuleNotFoundError as exc:
            if exc.name not in ("phone_agent.simulator", "phone_agent.simulator.sim"):
                raise
            from .. import simulator_missing
            raise ModuleNotFoundError(simulator_missing(), name=exc.name) from None
        return SimTelephony(**options)
    if name == "adb":
        from .adb import AdbTelephony
        return AdbTelephony(**options)
    raise ValueError(f"unknown telephony backend {name!r}")
