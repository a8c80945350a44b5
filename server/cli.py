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
        from . import config
        settings["db"] = db_path or settings["db"]
        settings["uploads"] = uploads_dir or settings["uploads"]
        return command(config.resolve_paths(settings), *args, **kwargs)
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
        done = {}
        if update:
            done = db.update_manager_secrets(store, login_id, password_hash, pin_hash, now=time.time())
            for key in done["lockouts_lifted"]:
                db.audit(store, "unlock", actor="cli", address="cli", target=key,
                         detail={"by": "create-manager --update"})
        else:
            db.create_manager(store, login_id, password_hash, pin_hash)
        db.audit(store, "settings", actor="cli", target=f"manager {login_id}",
                 detail={"updated": True, "sessions_ended": done["sessions_ended"]} if update
                 else {"created": True})
        still_locked = [row["key"] for row in db.active_lockouts(store, time.time())
                        if row["key"].startswith("address:")] if update else []
    except (db.Conflict, db.NotFound) as exc:
        raise click.ClickException(str(exc) + (" (use --update to reset it)" if not update else "")) from None
    finally:
        store.conn.close()
    click.echo(f"manager {login_id} {'updated' if update else 'created'}")
    if update:
        click.echo(f"{done['sessions_ended']} console session(s) ended; "
                   + (f"lock-out lifted: {', '.join(done['lockouts_lifted'])}" if done["lockouts_lifted"]
                      else "the id was not locked"))
        for key in still_locked:
            click.echo(f"still locked: {key} (lift it with: ars unlock --address {key.split(':', 1)[1]})")


# -- lock-outs and managers (console access) ------------------------------------

@cli.command("unlock")
@storage_options
@click.option("--id", "login_ids", multiple=True, help="lift the lock-out of this manager id (repeatable)")
@click.option("--address", "addresses", multiple=True, help="lift the lock-out of this address (repeatable)")
@click.option("--all", "everything", is_flag=True, help="lift every lock-out")
def unlock(settings, login_ids, addresses, everything):
    """List the console's login lock-outs, or lift them.

    \b
    Without options it lists the lock-outs in force and lifts none:
      ars unlock
      ars unlock --id admin --address 172.16.0.31
      ars unlock --all
    Each lift is written to the audit log (감사 로그)."""
    from . import db
    from .console.auth import seoul_time
    if everything and (login_ids or addresses):
        raise click.ClickException("--all lifts every lock-out: give it alone, without --id or --address")
    db.init_db(settings["db"])
    store = db.connect(settings["db"])
    try:
        now = time.time()
        if not (everything or login_ids or addresses):
            rows = db.active_lockouts(store, now)
            if not rows:
                click.echo("no lock-outs in force")
            for row in rows:
                click.echo(f"{row['key']}\tuntil {seoul_time(row['until'])} (KST)")
            if rows:
                click.echo("lift with: ars unlock --id ID, ars unlock --address ADDRESS, or ars unlock --all")
            return
        keys = None if everything else [*(f"login_id:{i}" for i in login_ids),
                                         *(f"address:{a}" for a in addresses)]
        lifted = db.lift_lockouts(store, keys)
        for key in lifted:
            db.audit(store, "unlock", actor="cli", address="cli", target=key, detail={"by": "ars unlock"})
    finally:
        store.conn.close()
    not_locked = [key for key in (keys or []) if key not in lifted]
    for key in lifted:
        click.echo(f"lifted: {key}")
    for key in not_locked:
        click.echo(f"not locked: {key}")
    if not lifted and not not_locked:
        click.echo("no lock-outs in force")


@cli.command("disable-manager")
@storage_options
@click.option("--id", "login_id", required=True, help="manager id (관리자 아이디)")
@click.option("--enable", is_flag=True, help="allow the manager to log in again")
def disable_manager(settings, login_id, enable):
    """Disable a console manager (every session of theirs ends, log-in refused), or --enable again."""
    from . import db
    db.init_db(settings["db"])
    store = db.connect(settings["db"])
    try:
        db.set_manager_disabled(store, login_id, not enable, time.time())
        db.audit(store, "settings", actor="cli", address="cli", target=f"manager {login_id}",
                 detail={"enabled" if enable else "disabled": True})
    except db.NotFound as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.conn.close()
    click.echo(f"manager {login_id} {'enabled' if enable else 'disabled'}")


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
@click.option("--cert-sha256", default=None, metavar="HEX",
              help="https: the SHA-256 of the server's certificate (`ars tls-fingerprint`)")
def sim(settings, phones, server_url, seed, speed, enrol_key, state, duration, cert_sha256):
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
                                        speed=speed, duration=duration, cert_sha256=cert_sha256))


@cli.command()
@storage_options
@click.option("--host", default=None, help="address to listen on [env ARS_HOST; default 127.0.0.1]")
@click.option("--port", type=int, default=None, help="port [env ARS_PORT; default 8000]")
@click.option("--adb-phones", "adb_phones", default=None, metavar="RANGE",
              help="also drive the phones at these addresses over adb (router mode): runs "
                   "`ars phones adb --scan RANGE` beside the server, restarted if it stops")
@click.option("--tls", "tls", is_flag=True, default=None,
              help="serve https (internet mode) with a self-signed certificate made once in "
                   "<db dir>/tls/; phones pin its SHA-256 [env ARS_TLS]")
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None,
              help="serve https with this certificate (PEM, the server's first) instead [env ARS_TLS_CERT]")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None,
              help="the private key (PEM, no passphrase) of --tls-cert [env ARS_TLS_KEY]")
@click.option("--tls-name", "tls_names", multiple=True, metavar="NAME",
              help="another name or address for the self-signed certificate (the office's public "
                   "address or domain); repeatable")
def serve(settings, host, port, adb_phones, tls, tls_cert, tls_key, tls_names):
    """Run the server (manager console and phone endpoint).

    With --adb-phones, the router-mode phones are driven by `ars phones adb`
    in a process of its own (asyncio, away from the server's eventlet loop),
    with the same --db and --uploads; it stops when the server stops.

    \b
    With --tls (or --tls-cert and --tls-key) the console and the phones'
    endpoint are served over https only; the certificate's SHA-256, which
    phones pin (--cert-sha256, the 폰 등록 QR code), is printed at start
    and by `ars tls-fingerprint`.
    """
    import logging

    from . import config, create_app
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host = host or settings["host"]
    port = port or settings["port"]
    if adb_phones:
        _scan_list(adb_phones, 5555, "--adb-phones")
    from .cli_backup import hold_database
    database_lock = hold_database(settings)  # noqa: F841  (held until the process ends)
    certificate = _server_certificate(settings, host, tls, tls_cert, tls_key, tls_names)
    app_config = config.app_config(settings)
    if certificate is not None:
        app_config["TLS_CERT_SHA256"] = certificate.sha256
    app = create_app(app_config)
    app.extensions["ars_live"].start()
    socketio = app.extensions["socketio"]
    app.extensions["ars_auto_backup"].start(socketio)
    scheme = "https" if certificate else "http"
    router_phones = None
    if adb_phones:
        pin = ["--cert-sha256", certificate.sha256] if certificate else []
        router_phones = ChildProcess([sys.executable, "-m", "server", "phones", "adb",
                               "--server", f"{scheme}://{_local_address(host)}:{port}", *pin,
                               "--scan", adb_phones,
                               "--db", str(settings["db"]), "--uploads", str(settings["uploads"]),
                               "--stop-on-stdin-eof"], socketio, "ars phones adb")
        router_phones.start()
    click.echo(f"Mobile ARS console: {scheme}://{host}:{port}/", err=True)
    tls_options = {}
    if certificate is not None:
        from .tls import display_fingerprint
        click.echo(f"TLS certificate {certificate.cert_path}"
                   + (" (made now)" if certificate.created else "")
                   + f"\n  SHA-256, for the phones (--cert-sha256): {certificate.sha256}"
                   + f"\n  the same as a browser shows it: {display_fingerprint(certificate.sha256)}", err=True)
        from .tls_protocol import TlsHttpProtocol
        # Flask-SocketIO wraps eventlet's listening socket with eventlet.wrap_ssl
        # (the handshake runs at each connection's first read, not in accept)
        # and passes ``protocol`` on to eventlet.wsgi.server.
        tls_options = {"certfile": str(certificate.cert_path), "keyfile": str(certificate.key_path),
                       "protocol": TlsHttpProtocol}
    try:
        socketio.run(app, host=host, port=port, log_output=False, **tls_options)
    finally:
        if router_phones is not None:
            router_phones.stop()


def _server_certificate(settings, host, tls, tls_cert, tls_key, tls_names):
    """The certificate ``ars serve`` listens with (None: plain http): the
    operator's (--tls-cert/--tls-key or the config's), else with --tls the
    self-signed one beside the database, made on the first start."""
    from . import tls as server_tls
    cert_file = tls_cert or settings["tls_cert"]
    key_file = tls_key or settings["tls_key"]
    if bool(tls_cert) != bool(tls_key) or bool(cert_file) != bool(key_file):
        raise click.UsageError("--tls-cert and --tls-key go together: give both PEM files")
    wanted = tls or settings["tls"] or bool(cert_file)
    if not wanted:
        if tls_names:
            raise click.UsageError("--tls-name names the certificate of --tls: add --tls")
        return None
    try:
        if cert_file:
            return server_tls.load_operator(cert_file, key_file)
        names = server_tls.wanted_names(host, [*settings["tls_names"], *tls_names])
        for name in names:
            server_tls.check_name(name)
        return server_tls.ensure_self_signed(server_tls.tls_dir(settings["db"]), names)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tls-name") from None
    except server_tls.TlsError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("tls-fingerprint")
@storage_options
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None,
              help="the operator's certificate (PEM) [default: the config's, else <db dir>/tls/cert.pem]")
def tls_fingerprint(settings, tls_cert):
    """Print the SHA-256 of the certificate `ars serve --tls` uses (what phones pin).

    Prints only the 64 hex digits, for scripts; makes nothing (the first
    `ars serve --tls` makes the self-signed certificate)."""
    from . import tls as server_tls
    path = tls_cert or settings["tls_cert"] or server_tls.tls_dir(settings["db"]) / server_tls.CERT_FILE
    try:
        click.echo(server_tls.file_fingerprint(path))
    except server_tls.TlsError as exc:
        hint = "" if tls_cert or settings["tls_cert"] else " (`ars serve --tls` makes it on its first start)"
        raise click.ClickException(f"{exc}{hint}") from None


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
@click.option("--cert-sha256", default=None, metavar="HEX",
              help="an https server (ars serve --tls): the SHA-256 of its certificate "
                   "(`ars tls-fingerprint`); a server with another one is refused")
@click.option("--stop-on-stdin-eof", is_flag=True, hidden=True)
def phones_adb(settings, server_url, scan_spec, default_port, adb_host, adb_port, enrol_key, state,
               cache, scan_every, prefetch, speed, cert_sha256, stop_on_stdin_eof):
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
    from phone_agent.link import PinError
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        supervisor = host.router_supervisor(server_url, adb_host=adb_host, adb_port=adb_port,
                                            addresses=addresses, enrol_key=enrol_key, state_file=state,
                                            cache_dir=cache, speed=speed, prefetch=prefetch,
                                            scan_every_s=scan_every, cert_sha256=cert_sha256)
    except PinError as exc:
        raise click.UsageError(str(exc)) from None
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


# ars backup, ars restore (server/cli_backup.py)
from .cli_backup import register as _register_backup_commands  # noqa: E402  (imports only click)

_register_backup_commands(cli, storage_options)
