"""The ``ars`` command.

Only click is imported at module level: ``main`` monkey-patches the standard
library for eventlet before anything else is imported when the command runs
the server, as Flask-SocketIO requires ("as early as possible").
"""

from __future__ import annotations

import functools
import json
import sys
import time

import click

# Commands that run the eventlet loop and need the standard library patched.
EVENTLET_COMMANDS = {"serve"}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in EVENTLET_COMMANDS:
        import warnings
        # The project runs on eventlet by decision (docs/decisions.md); its
        # deprecation notice is known and only clutters the operator's console.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet
        eventlet.monkey_patch()
    cli.main(args=args, prog_name="ars")


def _settings():
    from . import config
    try:
        return config.load()
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def storage_options(command):
    """--db and --uploads, on every command (defaults: config file, then environment)."""
    @click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
                  help="SQLite database file [env ARS_DB; default var/ars.db]")
    @click.option("--uploads", "uploads_dir", type=click.Path(file_okay=False), default=None,
                  help="folder for uploaded files [env ARS_UPLOADS; default uploads/]")
    @functools.wraps(command)
    def wrapped(*args, db_path, uploads_dir, **kwargs):
        settings = _settings()
        settings["db"] = db_path or settings["db"]
        settings["uploads"] = uploads_dir or settings["uploads"]
        return command(settings, *args, **kwargs)
    return wrapped


@click.group()
@click.version_option(package_name="mobile-ars")
def cli():
    """Mobile ARS: a rack of Android phones as an outbound calling system.

    \b
    Examples:
      ars init-db --db var/ars.db
      ars create-manager --id admin --password 'long secret' --pin 1234
      ars import-contacts voters.xlsx --list "1차 발신"
      ars gc --dry-run
      ars serve --host 172.16.0.100 --port 8000 --adb-phones 172.16.0.20-99
      ars phones adb --scan 172.16.0.20-99
      ars virtual-phones --count 3 --host 127.0.0.2 --base-port 15555 --vary host
    """


@cli.command("init-db")
@storage_options
def init_db(settings):
    """Create the database, or upgrade it to the current schema."""
    from . import db
    applied = db.init_db(settings["db"])
    click.echo(f"{settings['db']}: applied {len(applied)} migration(s)"
               + (f" ({', '.join(applied)})" if applied else ""))


@cli.command("create-manager")
@storage_options
@click.option("--id", "login_id", required=True, help="manager id (관리자 아이디)")
@click.option("--password", required=True, help="password (패스워드), at least 8 characters")
@click.option("--pin", required=True, help="admin PIN (관리자비번), 4-12 digits")
@click.option("--update", is_flag=True, help="reset the password and PIN of an existing manager")
def create_manager(settings, login_id, password, pin, update):
    """Create a console manager (or reset one with --update)."""
    from . import db, security
    problems = security.validate_new_credentials(login_id, password, pin)
    if problems:
        raise click.ClickException("; ".join(problems))
    db.init_db(settings["db"])
    store = db.connect(settings["db"])
    try:
        password_hash, pin_hash = security.hash_secret(password), security.hash_secret(pin)
        if update:
            db.update_manager_secrets(store, login_id, password_hash, pin_hash)
        else:
            db.create_manager(store, login_id, password_hash, pin_hash)
        db.audit(store, "settings", actor="cli", target=f"manager {login_id}",
                 detail={"updated" if update else "created": True})
    except (db.Conflict, db.NotFound) as exc:
        raise click.ClickException(str(exc) + (" (use --update to reset it)" if not update else "")) from None
    finally:
        store.conn.close()
    click.echo(f"manager {login_id} {'updated' if update else 'created'}")


@cli.command("import-contacts")
@storage_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--list", "list_name", required=True, help="name of the new call list")
def import_contacts(settings, file, list_name):
    """Import a call list (.txt, .csv, .xlsx, .xls); print a JSON summary last.

    Refused up front, nothing stored, when the disk is too full for it
    (min_free_disk_mb). The file is read in a child process with the
    parse_memory_mb and parse_timeout_s limits; a refused file is not kept."""
    from pathlib import Path

    from . import config, db
    from .contacts import importer
    from .disk import DiskFull, DiskGuard
    from .guarded import Limits
    from .storage import UploadStore
    guard = DiskGuard(Path(settings["db"]).parent, config.app_config(settings)["MIN_FREE_DISK_BYTES"],
                      uploads_path=settings["uploads"])
    try:
        guard.check_room(Path(file).stat().st_size)
    except DiskFull as exc:
        raise click.ClickException(exc.user_message) from None
    db.init_db(settings["db"])
    store = db.connect(settings["db"])
    last = {"stage": None}

    def progress(stage, fraction):
        if stage != last["stage"]:
            last["stage"] = stage
            click.echo(f"{stage}…", err=True)

    started = time.perf_counter()
    try:
        cfg = config.app_config(settings)
        result = importer.import_file(store, UploadStore(settings["uploads"]), file,
                                      name=list_name, progress=progress,
                                      limits=Limits(cfg["PARSE_MEMORY_BYTES"], cfg["PARSE_TIMEOUT_S"]))
        db.audit(store, "import", actor="cli", target=f"call list {result.name}", detail=result.summary())
    except importer.CallListError as exc:
        # the caps' and the guard's messages do not name the file themselves
        raise click.ClickException(f"{Path(file).name}: {exc}" if exc.template else str(exc)) from None
    finally:
        store.conn.close()
    summary = dict(result.summary(), seconds=round(time.perf_counter() - started, 3))
    click.echo(json.dumps(summary, ensure_ascii=False))


@cli.command("gc")
@storage_options
@click.option("--dry-run", is_flag=True, help="only list what would be removed")
@click.option("--min-age", "min_age_s", type=click.FloatRange(0), default=3600.0, show_default=True,
              help="keep files younger than this many seconds (a preview waiting for its import)")
def gc_uploads(settings, dry_run, min_age_s):
    """Remove upload files no database row references (personal data of
    deleted, cancelled or failed call lists; old announcements and images).

    Prints each file removed (kind, path, bytes; never its content), then one
    JSON line; the audit log records the count and the kinds."""
    from . import db, upload_gc
    from .storage import UploadStore
    db.init_db(settings["db"])
    store = db.connect(settings["db"])
    try:
        result = upload_gc.collect_and_audit(store, UploadStore(settings["uploads"]), actor="cli",
                                             min_age_s=min_age_s, dry_run=dry_run)
    finally:
        store.conn.close()
    verb = "would remove" if dry_run else "removed"
    for kind, path, size in result.removed:
        click.echo(f"{verb} {kind} {path} ({size:,} bytes)")
    click.echo(json.dumps(result.summary(), ensure_ascii=False))


@cli.command()
@storage_options
@click.option("--phones", type=click.IntRange(1, 2000), required=True, help="how many simulated phones")
@click.option("--server", "server_url", required=True, help="the server, e.g. http://127.0.0.1:8000")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the simulated phones and voters")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="simulated time runs this many times faster than the clock")
@click.option("--enrol-key", default=None,
              help="enrolment key from the 폰 등록 page [default: read from --db]")
@click.option("--state", type=click.Path(dir_okay=False), default="var/sim-fleet.json", show_default=True,
              help="where the phones' tokens are kept between runs")
@click.option("--duration", type=float, default=None, help="stop after this many seconds")
def sim(settings, phones, server_url, seed, speed, enrol_key, state, duration):
    """Run simulated phones (each a real Socket.IO client) against a server.

    \b
    The phones join with the enrolment key (POST /api/phones/join), keep their
    tokens in --state, and call through the campaign with simulated voters and
    agent handsets 1001/1002. Prints the fleet's metrics as one JSON line last.
    """
    from phone_agent import host
    if enrol_key is None:
        from . import db
        store = db.connect(settings["db"])
        try:
            enrol_key = db.get_setting(store, "phone_enrol_key")
        finally:
            store.conn.close()
        if not enrol_key:
            raise click.ClickException("no enrolment key: create one on the 폰 등록 page, or pass --enrol-key")
    raise SystemExit(host.run_sim_fleet(server_url, phones, enrol_key=enrol_key, state=state, seed=seed,
                                        speed=speed, duration=duration))


@cli.command()
@storage_options
@click.option("--host", default=None, help="address to listen on [env ARS_HOST; default 127.0.0.1]")
@click.option("--port", type=int, default=None, help="port [env ARS_PORT; default 8000]")
@click.option("--adb-phones", "adb_phones", default=None, metavar="RANGE",
              help="also drive the phones at these addresses over adb (router mode): runs "
                   "`ars phones adb --scan RANGE` beside the server, restarted if it stops")
def serve(settings, host, port, adb_phones):
    """Run the server (manager console and phone endpoint).

    With --adb-phones, the router-mode phones are driven by `ars phones adb`
    in a process of its own (asyncio, away from the server's eventlet loop),
    with the same --db and --uploads; it stops when the server stops.
    """
    import logging

    from . import config, create_app
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host = host or settings["host"]
    port = port or settings["port"]
    if adb_phones:
        _scan_list(adb_phones, 5555, "--adb-phones")
    app = create_app(config.app_config(settings))
    app.extensions["ars_live"].start()
    socketio = app.extensions["socketio"]
    router_phones = None
    if adb_phones:
        router_phones = ChildProcess([sys.executable, "-m", "server", "phones", "adb",
                               "--server", f"http://{_local_address(host)}:{port}", "--scan", adb_phones,
                               "--db", str(settings["db"]), "--uploads", str(settings["uploads"]),
                               "--stop-on-stdin-eof"], socketio, "ars phones adb")
        router_phones.start()
    click.echo(f"Mobile ARS console: http://{host}:{port}/", err=True)
    try:
        socketio.run(app, host=host, port=port, log_output=False)
    finally:
        if router_phones is not None:
            router_phones.stop()


def _local_address(host: str) -> str:
    """Where a process on this machine reaches a server listening on ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class ChildProcess:
    """A command run beside ``ars serve``, started again with backoff (1 s
    doubling to 60 s; back to 1 s after a minute's run) whenever it exits,
    and terminated when the server stops. Its stdin is a pipe it watches
    (``--stop-on-stdin-eof``): if the server dies without stopping it (even
    SIGKILL), the pipe closes and the child stops itself, so a restarted
    server never finds a second supervisor driving the same phones.

    ``background`` is the server's Flask-SocketIO: the keeper runs as one of
    its background tasks, so it sleeps the eventlet way."""

    def __init__(self, argv: list[str], background, name: str):
        self.argv = argv
        self.background = background
        self.name = name
        self.process = None
        self._stopping = False

    def start(self) -> None:
        self.background.start_background_task(self._keep)

    def _keep(self) -> None:
        import logging
        import subprocess
        log = logging.getLogger("ars")
        delay = 1.0
        while not self._stopping:
            started = time.monotonic()
            self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE)
            while self.process.poll() is None and not self._stopping:
                self.background.sleep(0.5)
            if self._stopping:
                return
            self.process.stdin.close()
            delay = 1.0 if time.monotonic() - started > 60 else min(60.0, delay * 2)
            log.warning("%s exited (code %s); starting it again in %.0f s", self.name,
                        self.process.returncode, delay)
            self.background.sleep(delay)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the child stops its phones cleanly), SIGKILL after ``timeout``."""
        import subprocess
        self._stopping = True
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- phones driven from this machine ---------------------------------------------------------

@cli.group()
def phones():
    """Phones driven from this machine (router mode).

    \b
    Examples:
      ars phones adb --scan 172.16.0.20-99
      ars phones adb --server http://172.16.0.100:8000 --scan 172.16.0.0/26,172.16.0.70:5556
    """


@phones.command("adb")
@storage_options
@click.option("--server", "server_url", default=None,
              help="the call server [default: http://127.0.0.1:<port of the configuration>]")
@click.option("--scan", "scan_spec", default=None, metavar="RANGE",
              help="phones' addresses (ADB over TCP): 172.16.0.20-99, 172.16.0.20-172.16.0.99, "
                   "172.16.0.0/28, 172.16.0.23:5556, comma-separated, at most 1024. Without it, "
                   "only phones adb lists already (USB, `adb connect` by hand) are driven")
@click.option("--port", "default_port", type=click.IntRange(1, 65535), default=5555, show_default=True,
              help="port of the addresses given without one")
@click.option("--adb-host", default="127.0.0.1", show_default=True, envvar="ANDROID_ADB_SERVER_HOST",
              show_envvar=True, help="the adb server's address")
@click.option("--adb-port", type=click.IntRange(1, 65535), default=5037, show_default=True,
              envvar="ANDROID_ADB_SERVER_PORT", show_envvar=True,
              help="the adb server's port (started there when none answers on this machine)")
@click.option("--enrol-key", default=None,
              help="enrolment key [default: the 폰 등록 page's, read from --db; made there if it has none]")
@click.option("--state", type=click.Path(dir_okay=False), default="var/adb-phones.json", show_default=True,
              help="where the phones' tokens are kept, per adb serial")
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="announcements and images fetched for the phones [default: ~/.cache/mobile-ars/assets]")
@click.option("--scan-every", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="seconds between scans (addresses that do not answer are tried less often)")
@click.option("--prefetch", type=click.IntRange(1, 50), default=2, show_default=True,
              help="leased calls each phone holds ahead")
@click.option("--speed", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="virtual phones only: the call script's waits run this many times faster "
                   "(match `ars virtual-phones --speed`)")
@click.option("--stop-on-stdin-eof", is_flag=True, hidden=True)
def phones_adb(settings, server_url, scan_spec, default_port, adb_host, adb_port, enrol_key, state,
               cache, scan_every, prefetch, speed, stop_on_stdin_eof):
    """Drive phones over adb from this machine: router mode (공유기접속).

    \b
    Every --scan address adb does not list yet is `adb connect`-ed every
    --scan-every seconds (addresses that do not answer back off to 5 min).
    Each phone adb shows as `device` (scanned, USB, or connected by hand)
    joins the server as router-<address> and calls through the running
    campaign; a phone that goes offline or unauthorized keeps its place and
    calls again when it is back. Ctrl+C releases the calls the phones hold
    and stops them.

    \b
    The enrolment key: --enrol-key, else the one the 폰 등록 page shows
    (the server keeps it as the page shows it); when the page has none, a
    new one is made there, as its 새 등록 키 button does, and the audit log
    says so. Replacing or disabling it later does not affect phones that
    have joined. Their tokens are kept only in --state (the server keeps
    their SHA-256).
    """
    addresses = _scan_list(scan_spec, default_port, "--scan") if scan_spec else []
    server_url = server_url or f"http://127.0.0.1:{settings['port']}"
    if enrol_key is None:
        enrol_key = _enrol_key_for_router_phones(settings)
    import logging

    from phone_agent import host
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    supervisor = host.router_supervisor(server_url, adb_host=adb_host, adb_port=adb_port, addresses=addresses,
                                        enrol_key=enrol_key, state_file=state, cache_dir=cache, speed=speed,
                                        prefetch=prefetch, scan_every_s=scan_every)
    _run_until_signal(host.supervise(supervisor), stop_on_stdin_eof=stop_on_stdin_eof)


def _scan_list(spec: str, default_port: int, option: str) -> list[str]:
    from phone_agent import host
    try:
        return host.check_scan(spec, default_port)
    except host.ScanSpecError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _enrol_key_for_router_phones(settings) -> str:
    """The 폰 등록 page's enrolment key, made there if it has none (one
    transaction: two commands starting together agree on one key)."""
    import secrets
    from pathlib import Path

    from . import db
    from .phones.api import ENROL_KEY_SETTING
    if not Path(settings["db"]).exists():
        raise click.ClickException(f"no database at {settings['db']}: give the server's --db, "
                                   "or --enrol-key")
    db.init_db(settings["db"])
    store = db.connect(settings["db"])
    try:
        with db.transaction(store):
            key = db.get_setting(store, ENROL_KEY_SETTING)
            if not key:
                key = secrets.token_urlsafe(18)
                db.put_setting(store, ENROL_KEY_SETTING, key)
                db.audit(store, "settings", actor="cli", target="phone enrolment key",
                         detail={"action": "new", "for": "ars phones adb"})
                click.echo("the 폰 등록 page had no enrolment key: made one for the router phones "
                           "(shown there)", err=True)
    finally:
        store.conn.close()
    return key


@cli.command("virtual-phones")
@click.option("--count", type=click.IntRange(1, 500), default=3, show_default=True,
              help="how many virtual phones")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="loopback address of the (first) phone")
@click.option("--base-port", type=click.IntRange(0, 65535), default=15555, show_default=True,
              help="port of the first phone (0: any free ports)")
@click.option("--vary", type=click.Choice(["port", "host"]), default="port", show_default=True,
              help="port: phones on consecutive ports of --host; host: on consecutive addresses "
                   "from --host, all on --base-port")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the phones and voters")
@click.option("--speed", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="simulated time runs this many times faster than the clock")
def virtual_phones(count, host, base_port, vary, seed, speed):
    """Virtual Android handsets behind virtual adbds, on loopback only: try
    router mode without phones.

    \b
    Example:
      ars virtual-phones --count 3 --host 127.0.0.2 --base-port 15555 --vary host --speed 20
      ars phones adb --scan 127.0.0.2-4:15555 --speed 20
    """
    from phone_agent import host as phone_host
    try:
        phone_host.check_virtual_phones(count, host, base_port, vary)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        _run_until_signal(phone_host.serve_virtual_phones(count, host, base_port, seed=seed, speed=speed,
                                                          vary=vary, echo=click.echo))
    except OSError as exc:
        raise click.ClickException(f"cannot listen: {exc}") from None


def _run_until_signal(work, *, stop_on_stdin_eof: bool = False) -> None:
    """Run the coroutine ``work`` until Ctrl+C or SIGTERM (and, with
    ``stop_on_stdin_eof``, until stdin ends); then cancel it so its cleanup runs."""
    import asyncio
    import contextlib
    import signal
    import threading

    async def main():
        task = asyncio.ensure_future(work)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        if stop_on_stdin_eof:
            threading.Thread(target=_cancel_at_stdin_eof, args=(loop, task), name="stdin-eof",
                             daemon=True).start()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


def _cancel_at_stdin_eof(loop, task) -> None:
    import contextlib
    sys.stdin.buffer.read()  # returns when the parent's end of the pipe closes
    with contextlib.suppress(RuntimeError):  # the loop has finished already
        loop.call_soon_threadsafe(task.cancel)
