"""``ars backup`` and ``ars restore``, and the lock ``ars serve`` holds on its
database (a restore left by the 백업 page is applied under it, at start).

Like server/cli.py, only click is imported at module level."""

from __future__ import annotations

import json
import time

import click


def register(cli: click.Group, storage_options) -> None:
    """Add the commands to ``ars`` (with its --db/--uploads options)."""
    cli.command("backup")(storage_options(backup_command))
    cli.command("restore")(storage_options(restore_command))


def hold_database(settings):
    """``ars serve``'s lock on its database (``ars restore`` refuses while it is
    held), then the restore the 백업 page left for this start, if any."""
    from . import backup
    from .backup import restore
    lock = restore.ServerLock(settings["db"])
    if not lock.acquire(wait_s=10.0):
        raise click.ClickException(f"another `ars serve` is using {settings['db']} "
                                   f"(lock {restore.lock_path(settings['db'])})")
    if restore.pending(settings["db"]) is not None:
        try:
            done = restore.apply_pending(settings["db"], settings["uploads"], backup.default_dir(settings["db"]))
        except Exception as exc:  # the swap is one rename: the data is the old or the new, never half
            import logging
            logging.getLogger("ars").exception("the restore prepared on the 백업 page failed")
            info = restore.cancel_pending(settings["db"])
            reason = exc.user_message if isinstance(exc, backup.BackupError) else f"{type(exc).__name__}: {exc}"
            click.echo(f"the restore of {info and info.get('archive')} failed ({reason}); "
                       "starting on the data as it is", err=True)
            _audit_cli(settings, "restore", info and info.get("archive"),
                       {"step": "at start", "error": getattr(exc, "code", type(exc).__name__)}, ok=False)
        else:
            click.echo(f"restored {done['archive']}; the data before it is in {done['prerestore']}"
                       + (f"; paused: {', '.join(done['paused'])}" if done["paused"] else ""), err=True)
    return lock


def _disk_room(settings, directory):
    from pathlib import Path

    from . import config
    from .backup import room_check
    from .disk import DiskGuard
    return room_check(DiskGuard(Path(directory), config.app_config(settings)["MIN_FREE_DISK_BYTES"]))


@click.option("--to", "to_dir", type=click.Path(file_okay=False), default=None,
              help="folder for the archive [default: backups/ beside the database], created 0700")
def backup_command(settings, to_dir):
    """Write one backup archive (database + the uploads it uses + manifest).

    \b
    Safe while `ars serve` runs: the database is copied with SQLite's online
    backup. The archive (0600: it holds every voter's number) is written to a
    temporary name and renamed when complete. Prints one JSON line."""
    from pathlib import Path

    from . import backup
    from .backup.archive import create_backup
    directory = Path(to_dir) if to_dir else backup.default_dir(settings["db"])
    if not Path(settings["db"]).is_file():
        raise click.ClickException(f"no database at {settings['db']}")
    started = time.perf_counter()
    try:
        written = create_backup(settings["db"], settings["uploads"], directory, kind="manual",
                                room=_disk_room(settings, backup.ensure_dir(directory)))
    except backup.BackupError as exc:
        _audit_cli(settings, "backup", None, {"error": exc.code}, ok=False)
        raise click.ClickException(exc.user_message) from None
    _audit_cli(settings, "backup", written.path.name, {"kind": "manual", "size": written.path.stat().st_size})
    click.echo(json.dumps({"archive": str(written.path), "bytes": written.path.stat().st_size,
                           "files": len(written.manifest["files"]), "rows": written.manifest["rows"],
                           "missing_uploads": len(written.manifest["missing_uploads"]),
                           "seconds": round(time.perf_counter() - started, 3)}, ensure_ascii=False))


@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def restore_command(settings, archive, yes):
    """Replace the database and uploads with a backup archive's.

    \b
    Refused while `ars serve` uses the database (stop it first). The archive
    is checked first (every SHA-256, PRAGMA integrity_check, not from a newer
    schema); the current data is kept as a `prerestore` backup beside the
    others; a campaign that was running in the archive comes back paused."""
    from pathlib import Path

    from . import backup
    from .backup import check, restore
    directory = backup.default_dir(settings["db"])
    if restore.server_running(settings["db"]):
        raise click.ClickException(backup.BackupError("server_running").user_message)
    try:
        manifest = check.read_manifest(archive)
    except backup.BackupError as exc:
        raise click.ClickException(exc.user_message) from None
    rows, campaign = manifest.get("rows") or {}, manifest.get("campaign") or {}
    click.echo(f"{Path(archive).name}: taken {manifest.get('created_at')}, {rows.get('contact', 0)} contacts, "
               f"{rows.get('call', 0)} call records, campaign {campaign.get('name', '-')!r}", err=True)
    if not yes:
        click.confirm(f"replace the data of {settings['db']} with it (the current data is kept as a backup)?",
                      abort=True, err=True)
    try:
        done = restore.restore_now(archive, settings["db"], settings["uploads"], directory,
                                   room=_disk_room(settings, backup.ensure_dir(directory)))
    except backup.BackupError as exc:
        _audit_cli(settings, "restore", Path(archive).name, {"error": exc.code}, ok=False)
        raise click.ClickException(exc.user_message) from None
    click.echo(json.dumps({"restored": done["archive"], "prerestore": done["prerestore"],
                           "paused": done["paused"]}, ensure_ascii=False))


def _audit_cli(settings, action: str, name: str | None, detail: dict, ok: bool = True) -> None:
    """Best effort: the database may be the damaged one."""
    import sqlite3
    from pathlib import Path

    from . import db
    if not Path(settings["db"]).is_file():
        return
    try:
        store = db.connect(settings["db"])
        try:
            db.migrate(store)
            db.audit(store, action, actor="cli", target=f"backup {name}" if name else "backup", detail=detail,
                     ok=ok)
        finally:
            store.conn.close()
    except sqlite3.DatabaseError as exc:
        click.echo(f"(not on the audit log: {exc})", err=True)
