"""Mobile ARS phone agent: the device plane.

Everything that runs "as a phone": the link to the server (Socket.IO client),
the call script (dial → intro → DTMF → agent or promise → hang up), and the
telephony backends — ``adb`` (router mode from the server machine, internet
mode on the phone itself through its own adbd) and ``sim`` (a simulated phone
and voter for demos, tests and benchmarks).
"""

__version__ = "0.1.0"
