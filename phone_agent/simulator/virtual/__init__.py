"""Virtual phones: a device-side ADB implementation that the real ``adb``
binary connects to, so the adb telephony backend is tested without handsets.

``adbd`` serves phones (:class:`VirtualAdbd`, :class:`VirtualPhoneSet`),
``connection`` speaks the wire, ``sync`` its file sub-protocol; ``behaviour`` is what a phone answers
(:class:`DeviceBehaviour`, :class:`ShellIO`, and the trivial
:class:`EchoDevice`). ``handset`` is the virtual Android phone the adb
backend drives, made of ``shell``, ``telecom``, ``screen``, ``audio`` and
``dumps``; ``rack`` is N of them, ``serve`` runs a rack for ``ars
virtual-phones``, ``adb_server`` a private adb server in front of them.
"""

from .adbd import LoopThread, VirtualAdbd, VirtualPhoneSet
from .behaviour import DeviceBehaviour, EchoDevice, ShellIO
from .connection import ProtocolError

__all__ = ["DeviceBehaviour", "EchoDevice", "LoopThread", "ProtocolError", "ShellIO",
           "VirtualAdbd", "VirtualPhoneSet"]
