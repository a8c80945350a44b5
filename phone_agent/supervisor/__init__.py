"""Router mode (공유기접속): the phones on the call server's Wi-Fi, driven
from the server machine over adb.

* :mod:`.supervisor` — :class:`AdbSupervisor`: scan, watch, and one runner
  per phone;
* :mod:`.scan` — the scan spec (:func:`parse_scan`) and the adb server's
  device list (:class:`~.scan.DeviceTracker`).
"""

from .scan import DEFAULT_ADB_PORT, MAX_SCAN, ScanSpecError, parse_scan, phone_name
from .supervisor import AdbSupervisor

__all__ = ["AdbSupervisor", "DEFAULT_ADB_PORT", "MAX_SCAN", "ScanSpecError", "parse_scan",
           "phone_name"]
