"""Mobile ARS phone agent: the device plane.

Everything that runs "as a phone": the link to the server (Socket.IO client),
the call script (dial → intro → DTMF → agent or promise → hang up), and the
telephony backends — ``adb`` (router mode from the server machine, internet
mode on the phone itself through its own adbd) and ``sim`` (a simulated phone
and voter for demos, tests and benchmarks, in ``phone_agent.simulator``).
"""

__version__ = "0.1.0"

# What only the simulator, the benchmarks and the tests use: left out of the
# package the server hands to phones (``/phone-agent/``), which holds only
# what a phone runs. Paths relative to this package.
SIMULATOR_ONLY = ("simulator/",)


def simulator_missing() -> str:
    """The message for a phone install asked to simulate."""
    return ("the simulator (sim backend, fleet, virtual phones) is not part of the phone install; "
            "run it from a checkout of Mobile ARS")
