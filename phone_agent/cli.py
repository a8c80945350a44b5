"""Command line of the phone agent (``python -m phone_agent``).

\b
One phone:
    python -m phone_agent run --server http://172.16.0.100:8000 --token T --backend sim --mode sim
    python -m phone_agent run --server URL --enrol-key K --name rack-07 --state var/phone.json
\b
A real phone driving itself (인터넷연결, in Termux; Wireless debugging paired once):
    python -m phone_agent run --server URL --backend adb --serial 127.0.0.1:37215 --mode internet \\
        --enrol-key K --name rack-07 --state ~/.mobile-ars.json
\b
A server run with `ars serve --tls` (https): the phone pins its certificate:
    python -m phone_agent run --server https://203.0.113.7:8443 --cert-sha256 HEX ...
    python -m phone_agent run --pairing "$(termux-clipboard-get)" ...   (the QR code's text)

\b
A fleet of simulated phones in one process (ars sim, demos, benchmarks):
    python -m phone_agent fleet --server URL --phones 50 --enrol-key K --seed 1 --speed 10
    python -m phone_agent fleet ... --duration 120 --report bench-fleet.json
    python -m phone_agent fleet ... --backend adb    (virtual handsets behind a private adb server)
    python -m phone_agent fleet ... --dial-log dials.jsonl    (one JSON line per real dial, sim)

\b
Enrol only (prints the token as JSON):
    python -m phone_agent enrol --server URL --name rack-07 [--enrol-key K]

The fleet prints a progress line every 10 s on stderr and the metrics as
one JSON line last on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from . import __version__, simulator_missing
from .link.pin import CertificateRefused, PinError, ServerTrust, read_pairing

log = logging.getLogger("phone_agent")

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mobile-ars" / "assets"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m phone_agent", description="Mobile ARS phone agent",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2].replace("\\b\n", ""))
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    def server(p, required=True):
        p.add_argument("--server", required=required,
                       help="the call server, e.g. http://172.16.0.100:8000 or https://HOST:PORT")
        p.add_argument("--cert-sha256", default=None, metavar="HEX",
                       help="https: the SHA-256 of the server's TLS certificate (폰 등록 page, "
                            "`ars tls-fingerprint`); a server with another certificate is refused")

    def common(p, required=True):
        server(p, required)
        p.add_argument("--seed", type=int, default=0, help="seed of the simulated phones and voters")
        p.add_argument("--speed", type=float, default=1.0,
                       help="sim: simulated time runs this many times faster than the clock")
        p.add_argument("--cache", type=Path, default=None,
                       help=f"asset cache directory (default {DEFAULT_CACHE})")

    run = sub.add_parser("run", help="run one phone")
    common(run, required=False)
    run.add_argument("--token", help="the phone's token (from the console's phone page)")
    run.add_argument("--pairing", metavar="JSON",
                     help="the 폰 등록 QR code's text: gives --server, --token and --cert-sha256")
    run.add_argument("--enrol-key", help="join with the enrolment key instead of a token")
    run.add_argument("--name", default=None, help="name to join with (default: the host name)")
    run.add_argument("--state", type=Path, default=None, help="keep the joined token in this JSON file")
    run.add_argument("--backend", choices=("sim", "adb"), default="sim")
    run.add_argument("--serial", help="adb: the phone as adb names it (127.0.0.1:PORT for Wireless "
                                      "debugging on the phone itself, IP:5555 on the router)")
    run.add_argument("--adb-host", default=None, help="adb: the adb server's host (default 127.0.0.1)")
    run.add_argument("--adb-port", type=int, default=None,
                     help="adb: the adb server's port (default $ANDROID_ADB_SERVER_PORT or 5037)")
    run.add_argument("--mode", choices=("router", "internet", "sim"), default=None,
                     help="reported in hello (default: sim for the sim backend, else internet)")
    run.add_argument("--prefetch", type=int, default=2, help="leased calls held ahead")

    fleet = sub.add_parser("fleet", help="run N simulated phones in one process")
    common(fleet)
    fleet.add_argument("--phones", type=int, required=True)
    fleet.add_argument("--enrol-key", help="enrolment key (needed for phones without a cached token)")
    fleet.add_argument("--state", type=Path, default=Path("var/sim-fleet.json"),
                       help="token cache (default var/sim-fleet.json)")
    fleet.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    fleet.add_argument("--report", type=Path, default=None, help="write full metrics (JSON) here")
    fleet.add_argument("--prefetch", type=int, default=2, help="leased calls each phone holds ahead")
    fleet.add_argument("--prefix", default=None, help="phone names: PREFIX-000, … (default: the backend)")
    fleet.add_argument("--backend", choices=("sim", "adb"), default="sim",
                       help="adb: virtual handsets driven by the real adb backend through adb")
    fleet.add_argument("--adb-port", type=int, default=None,
                       help="adb: use the adb server on this loopback port (default: start a private one)")
    fleet.add_argument("--dial-log", type=Path, default=None,
                       help="sim: append one JSON line per real dial to this file "
                            "({t, phone, call_id, number, attempt}; written at once, survives SIGKILL)")
    fleet.add_argument("--agent-talk-s", type=_seconds_range, default=None, metavar="LOW-HIGH",
                       help="sim: agents talk this long once answered, simulated seconds (default 20-120)")

    join = sub.add_parser("enrol", help="join the server and print the token")
    server(join)
    join.add_argument("--name", required=True)
    join.add_argument("--enrol-key", default=None,
                      help="without a key the request waits for the manager's approval")
    join.add_argument("--mode", choices=("router", "internet", "sim"), default="internet")
    return parser


def _seconds_range(text: str) -> tuple[float, float]:
    """"150-300" → (150.0, 300.0)."""
    try:
        low, high = (float(part) for part in text.split("-", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH seconds, e.g. 150-300, not {text!r}") from None
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"expected 0 <= LOW <= HIGH, not {text!r}")
    return low, high


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    command = {"run": _run, "fleet": _fleet, "enrol": _enrol}[args.command]
    try:
        args.trust = _trust(args)
    except PinError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return asyncio.run(_until_signal(command(args)))
    except KeyboardInterrupt:
        return 130
    except CertificateRefused as exc:
        print(f"refusing the server: {exc}", file=sys.stderr)
        return 3


def _trust(args) -> ServerTrust:
    """The server and its pin, from --server/--cert-sha256 or --pairing
    (checked here, before anything is sent)."""
    pairing = getattr(args, "pairing", None)
    if pairing is not None:
        if args.server or args.token or args.cert_sha256:
            raise PinError("--pairing gives the server, the token and the fingerprint: "
                           "leave out --server, --token and --cert-sha256")
        paired = read_pairing(pairing)
        args.server, args.token, args.cert_sha256 = paired["server"], paired["token"], paired["cert_sha256"]
    if not args.server:
        raise PinError("give --server (or --pairing)")
    return ServerTrust(args.server, args.cert_sha256)


async def _until_signal(work) -> int:
    """Run ``work``; SIGINT / SIGTERM cancel it (its cleanup runs)."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return 0


async def _enrol(args) -> int:
    from .enrol import enrol
    answer = await enrol(args.server, args.name, enrol_key=args.enrol_key, mode=args.mode, trust=args.trust)
    print(json.dumps({"phone_id": answer.get("phone_id"), "token": answer["token"]}))
    return 0


async def _run(args) -> int:
    from .enrol import THIS_PHONE, TokenStore, enrol, ready_or_rejoin, token_for
    from .link import AssetStore, Link, LinkRefused
    from .runner import Runner
    from .script import ScriptConfig
    from .telephony import create
    from .telephony.base import TelephonyError

    if args.backend == "adb":
        if not args.serial:
            print("--backend adb needs --serial (e.g. 127.0.0.1:37215 or 172.16.0.23:5555)",
                  file=sys.stderr)
            return 2
        backend = create("adb", serial=args.serial, adb_host=args.adb_host, adb_port=args.adb_port)
    else:
        try:
            backend = create("sim", seed=args.seed, speed=args.speed)
        except ImportError:
            print(simulator_missing(), file=sys.stderr)
            return 2
    mode = args.mode or ("sim" if args.backend == "sim" else "internet")
    try:
        device = await backend.device()
    except TelephonyError as exc:
        # Keep going: the runner reports the phone unavailable and retries with backoff.
        print(f"the phone is not reachable yet: {exc}", file=sys.stderr)
        device = {"serial": args.serial}
    tokens = TokenStore(args.state, args.server)
    if args.token is None and tokens.get(THIS_PHONE) is None and not args.enrol_key:
        print("give --token, or --enrol-key to join", file=sys.stderr)
        return 2

    async def join() -> dict:
        return await enrol(args.server, args.name or os.uname().nodename, enrol_key=args.enrol_key,
                           mode=mode, device=device, trust=args.trust)

    assets = AssetStore(args.cache or DEFAULT_CACHE)
    from . import termux
    fallback = termux.health if args.backend == "adb" and termux.available() else None

    def connect(token: str) -> Runner:
        link = Link(args.server, token, assets=assets, mode=mode, backend=backend.name,
                    device=device, name=args.name or "phone", trust=args.trust)
        return Runner(link, backend, config=ScriptConfig(speed=args.speed), prefetch=args.prefetch,
                      name=args.name or "phone", fallback_health=fallback)

    async def rejoin() -> Link:
        """The kept token is one the server no longer knows: join again with the key."""
        nonlocal runner
        tokens.drop(THIS_PHONE)
        runner = connect((await token_for(tokens, THIS_PHONE, join))["token"])
        await runner.link.start()
        return runner.link

    runner = connect(args.token or (await token_for(tokens, THIS_PHONE, join))["token"])
    await runner.link.start()
    try:
        try:
            await ready_or_rejoin(runner.link, rejoin if args.token is None and args.enrol_key else None)
        except LinkRefused as exc:
            if exc.code == "certificate":
                print(f"refusing the server: {exc.message}", file=sys.stderr)
            else:
                print(f"the server refused this phone: {exc}", file=sys.stderr)
            return 3
        log.warning("connected to %s as %s", args.server, runner.link.phone)
        await runner.run()
    finally:
        runner.stop()
        await runner.link.close(flush_s=2.0)
        await backend.close()
    return 0


async def _fleet(args) -> int:
    try:
        from .simulator.fleet import Fleet
        from .simulator.voter import AgentModel
    except ImportError:
        print(simulator_missing(), file=sys.stderr)
        return 2
    if args.backend != "sim" and (args.dial_log or args.agent_talk_s):
        print("--dial-log and --agent-talk-s are for the sim backend", file=sys.stderr)
        return 2
    fleet = Fleet(args.server, args.phones, enrol_key=args.enrol_key, seed=args.seed, trust=args.trust,
                  speed=args.speed, state_file=args.state, cache_dir=args.cache,
                  prefetch=args.prefetch, name_prefix=args.prefix or args.backend,
                  backend=args.backend, adb_port=args.adb_port, dial_log=args.dial_log,
                  agent_model=AgentModel(talk_s=args.agent_talk_s) if args.agent_talk_s else None)
    await fleet.start()
    print(f"{args.phones} simulated phones ({args.backend} backend) connected to {args.server} "
          f"(seed {args.seed}, speed {args.speed})", file=sys.stderr)
    loop = asyncio.get_running_loop()
    end = None if args.duration is None else loop.time() + args.duration
    try:
        while end is None or loop.time() < end:
            await asyncio.sleep(10.0 if end is None else max(0.0, min(10.0, end - loop.time())))
            m = fleet.metrics()
            gap = m["idle_gap_s"]
            print(f"calls {m['calls']}  in call {m['in_call']}  results {m['results']}  "
                  f"idle gap p99 {gap.get('p99', 0):.3f} s", file=sys.stderr)
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()
    finally:
        await fleet.stop()
    final = fleet.metrics(raw=args.report is not None)
    if args.report:
        args.report.write_text(json.dumps(final, indent=1), encoding="utf-8")
        final.pop("raw", None)
        final.pop("per_phone", None)
    print(json.dumps(final))
    return 0
