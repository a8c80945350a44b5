"""The simulator: everything that plays a phone without being one, for demos,
tests and benchmarks. Left out of the package served to phones
(``phone_agent.SIMULATOR_ONLY``).

``sim``: the ``sim`` telephony backend (:class:`~.sim.SimTelephony`) and the
agent handsets it rings (:class:`~.sim.SimAgentDesk`). ``voter``: the seeded
people on the other end. ``fleet``: N simulated phones in one process.
``virtual``: virtual Android handsets behind a device-side adbd that the real
``adb`` binary connects to, so the adb backend is tested without handsets.
"""
