"""Virtual phones: a device-side ADB implementation that the real ``adb``
binary connects to, so the adb telephony backend is tested without handsets.

``adbd`` speaks the wire (:class:`VirtualAdbd`, :class:`VirtualPhoneSet`),
``sync`` its file sub-protocol; ``behaviour`` is what a phone answers
(:class:`DeviceBehaviour`, :class:`ShellIO`, and the trivial
:class:`EchoDevice`). ``handset`` is the virtual Android phone the adb
backend drives, made of ``shell``, ``telecom``, ``screen``, ``audio`` and
``dumps``; ``rack`` is N of them, ``serve`` runs a rack for ``ars
virtual-phones``, ``adb_server`` a private adb server in front of them.
"""

from .adbd import LoopThread, ProtocolError, VirtualAdbd, VirtualPhoneSet
from .behaviour import DeviceBehaviour, EchoDevice, ShellIO

__all__ = ["DeviceBehaviour", "EchoDevice", "LoopThread", "ProtocolError", "ShellIO",
           "VirtualAdbd", "VirtualPhoneSet"]
