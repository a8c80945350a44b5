"""The phone side as the server PC runs it: the one entry the ``ars`` command
(``server/cli.py``) calls for its phone-side commands.

- ``ars sim``: :func:`run_sim_fleet` (``python -m phone_agent fleet``);
- ``ars phones adb`` (router mode, 공유기접속): :func:`check_scan`,
  :func:`router_supervisor` and :func:`supervise`;
- ``ars virtual-phones``: :func:`check_virtual_phones` and
  :func:`serve_virtual_phones`.

``server/cli.py`` imports this module only inside those commands, so ``ars
serve`` (under eventlet) loads none of it; the simulator is imported only by
the functions that need it, so a phone install (which has none) can import
this module too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from .supervisor.scan import ScanSpecError

__all__ = ["ScanSpecError", "check_scan", "check_virtual_phones", "router_supervisor", "run_sim_fleet",
           "serve_virtual_phones", "supervise"]


def run_sim_fleet(server_url: str, phones: int, *, enrol_key: str, state: str, seed: int = 0,
                  speed: float = 1.0, duration: float | None = None, cert_sha256: str | None = None) -> int:
    """Run ``phones`` simulated phones against ``server_url`` until stopped
    (or ``duration`` seconds); the fleet's metrics are printed as one JSON
    line last. Returns the exit status."""
    from .cli import main
    argv = ["fleet", "--server", server_url, "--phones", str(phones), "--seed", str(seed),
            "--speed", str(speed), "--enrol-key", enrol_key, "--state", state]
    if duration is not None:
        argv += ["--duration", str(duration)]
    if cert_sha256:
        argv += ["--cert-sha256", cert_sha256]
    return main(argv)


def check_scan(spec: str, default_port: int) -> list[str]:
    """The addresses of a scan range (``172.16.0.20-99,172.16.0.70:5556``);
    :class:`ScanSpecError` naming what is wrong."""
    from .supervisor.scan import parse_scan
    return parse_scan(spec, default_port)


def router_supervisor(server_url: str, *, adb_host: str, adb_port: int, addresses: list[str],
                      enrol_key: str, state_file: str, cache_dir: str | None, speed: float = 1.0,
                      prefetch: int = 2, scan_every_s: float = 30.0, cert_sha256: str | None = None):
    """The router-mode supervisor: the phones adb lists or the scan finds,
    each enrolled and driven through the adb server at ``adb_host:adb_port``.
    ``cert_sha256``: the pinned certificate of an https server (PinError
    when it is not a fingerprint, or the server is http)."""
    import os

    import adbutils

    from .cli import DEFAULT_CACHE
    from .link import ServerTrust
    from .script import ScriptConfig
    from .supervisor import AdbSupervisor
    if adb_host in ("127.0.0.1", "localhost"):
        # adbutils starts an adb server when none answers: on this port, not the default.
        os.environ["ANDROID_ADB_SERVER_PORT"] = str(adb_port)
    return AdbSupervisor(server_url, adbutils.AdbClient(host=adb_host, port=adb_port), addresses,
                         enrol_key=enrol_key, state_file=state_file, cache_dir=cache_dir or DEFAULT_CACHE,
                         script_config=ScriptConfig(speed=speed), prefetch=prefetch,
                         scan_every_s=scan_every_s, trust=ServerTrust(server_url, cert_sha256))


async def supervise(supervisor, every_s: float = 60.0) -> None:
    """Run the supervisor; a one-line summary in the log every ``every_s``."""
    run = asyncio.ensure_future(supervisor.run())
    try:
        while not run.done():
            await asyncio.wait({run}, timeout=every_s)
            if not run.done():
                logging.getLogger("ars").info(supervisor.summary())
        run.result()
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


def check_virtual_phones(count: int, host: str, base_port: int, vary: str) -> None:
    """ValueError naming what is wrong with where the virtual phones would listen."""
    from .simulator.virtual.serve import virtual_addresses
    virtual_addresses(count, host, base_port, vary)


def serve_virtual_phones(count: int, host: str, base_port: int, *, seed: int, speed: float, vary: str,
                         echo: Callable[[str], None]):
    """The coroutine that serves ``count`` virtual handsets until cancelled."""
    from .simulator.virtual.serve import run_virtual_phones
    return run_virtual_phones(count, host, base_port, seed=seed, speed=speed, vary=vary, echo=echo)
