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
      ars serve --host 172.16.0.100 --port 8000
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
    """Import a call list (.txt, .csv, .xlsx, .xls); print a JSON summary last."""
    from . import contacts_import, db
    from .storage import UploadStore
    db.init_db(settings["db"])
    store = db.connect(settings["db"])
    last = {"stage": None}

    def progress(stage, fraction):
        if stage != last["stage"]:
            last["stage"] = stage
            click.echo(f"{stage}…", err=True)

    started = time.perf_counter()
    try:
        result = contacts_import.import_file(store, UploadStore(settings["uploads"]), file,
                                             name=list_name, progress=progress)
        db.audit(store, "import", actor="cli", target=f"call list {result.name}", detail=result.summary())
    except contacts_import.ImportError_ as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.conn.close()
    summary = dict(result.summary(), seconds=round(time.perf_counter() - started, 3))
    click.echo(json.dumps(summary, ensure_ascii=False))


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
    from phone_agent.cli import main as agent_main
    if enrol_key is None:
        from . import db
        store = db.connect(settings["db"])
        try:
            enrol_key = db.get_setting(store, "phone_enrol_key")
        finally:
            store.conn.close()
        if not enrol_key:
            raise click.ClickException("no enrolment key: create one on the 폰 등록 page, or pass --enrol-key")
    argv = ["fleet", "--server", server_url, "--phones", str(phones), "--seed", str(seed),
            "--speed", str(speed), "--enrol-key", enrol_key, "--state", state]
    if duration is not None:
        argv += ["--duration", str(duration)]
    raise SystemExit(agent_main(argv))


@cli.command()
@storage_options
@click.option("--host", default=None, help="address to listen on [env ARS_HOST; default 127.0.0.1]")
@click.option("--port", type=int, default=None, help="port [env ARS_PORT; default 8000]")
def serve(settings, host, port):
    """Run the server (manager console and phone endpoint)."""
    import logging

    from . import config, create_app
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host = host or settings["host"]
    port = port or settings["port"]
    app = create_app(config.app_config(settings))
    app.extensions["ars_live"].start()
    click.echo(f"Mobile ARS console: http://{host}:{port}/", err=True)
    app.extensions["socketio"].run(app, host=host, port=port, log_output=False)
