"""Virtual phones: a device-side ADB implementation that the real ``adb``
binary connects to, so the adb telephony backend is tested without handsets.

``adbd`` speaks the wire (:class:`VirtualAdbd`, :class:`VirtualPhoneSet`);
``behaviour`` is what a phone answers (:class:`DeviceBehaviour`,
:class:`ShellIO`, and the trivial :class:`EchoDevice`).
"""

from .adbd import LoopThread, ProtocolError, VirtualAdbd, VirtualPhoneSet
from .behaviour import DeviceBehaviour, EchoDevice, ShellIO

__all__ = ["DeviceBehaviour", "EchoDevice", "LoopThread", "ProtocolError", "ShellIO",
           "VirtualAdbd", "VirtualPhoneSet"]
