"""Where the server's settings come from.

Precedence, highest first: a command-line option, the environment
(``ARS_DB``, ``ARS_UPLOADS``, ``ARS_HOST``, ``ARS_PORT``, ``ARS_SECRET_KEY``),
the config file (``$ARS_CONFIG``, else ``./ars.toml`` when present), then the
built-in defaults below. The config file is TOML with the same lower-case
keys, for example::

    db = "/srv/ars/ars.db"
    uploads = "/srv/ars/uploads"
    host = "172.16.0.100"
    port = 8000
    lockout_max_failures = 3

Operating settings that a manager changes in the console (calling hours,
retries, ring repeats) live in the database, not here.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

DEFAULTS: dict[str, object] = {
    "db": "var/ars.db",
    "uploads": "uploads",
    "host": "127.0.0.1",
    "port": 8000,
    # Intrusion lock-out, as the IP-PBX appliances campaign offices know do it:
    # 3 failures within 600 s from one address or for one id -> 86,400 s ban.
    "lockout_max_failures": 3,
    "lockout_window_s": 600,
    "lockout_ban_s": 86_400,
    # A console session left alone this long is logged out.
    "session_idle_s": 30 * 60,
    # Largest upload accepted by the console (a 1,000,000-row CSV is ~60 MB).
    "max_upload_bytes": 200 * 1024 * 1024,
    # Contact leases (docs/protocol.md "Leases"): a batch of n calls is held
    # for lease_base_s + n * lease_per_call_s; each event of a call extends it.
    "lease_base_s": 60.0,
    "lease_per_call_s": 60.0,
    # Fair shares: a phone holds at most this many leased, undialled calls
    # (a phone asks for 2 ahead; more only starves the others).
    "lease_max_held": 5,
    # A phone whose connection closed gives back the calls it has not dialled
    # after this many seconds, unless it is back by then (a Wi-Fi blip).
    "reconnect_grace_s": 15.0,
    # Phones send a heartbeat this often; three missed ones mark a phone offline.
    "heartbeat_s": 5.0,
    # Below this much free disk space (MB) phones are given no new calls, the
    # dashboard warns and uploads and imports are refused (server/disk.py);
    # calling resumes by itself when space returns.
    "min_free_disk_mb": 200,
    # Reading an uploaded call list runs in a child process with these limits
    # (server/guarded.py): address space in MB, and seconds before it is killed.
    "parse_memory_mb": 1536,
    "parse_timeout_s": 300.0,
}

ENV_KEYS = {
    "db": "ARS_DB",
    "uploads": "ARS_UPLOADS",
    "host": "ARS_HOST",
    "port": "ARS_PORT",
    "secret_key": "ARS_SECRET_KEY",
}


class ConfigError(Exception):
    """The config file cannot be read or holds a value of the wrong kind."""


def config_file_path(environ=os.environ) -> Path | None:
    explicit = environ.get("ARS_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("ars.toml")
    return local if local.exists() else None


def load(environ=os.environ) -> dict[str, object]:
    """Defaults, overlaid with the config file, overlaid with the environment."""
    values = dict(DEFAULTS)
    path = config_file_path(environ)
    if path is not None:
        try:
            with open(path, "rb") as fh:
                from_file = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist (ARS_CONFIG)") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        unknown = set(from_file) - set(DEFAULTS) - {"secret_key"}
        if unknown:
            raise ConfigError(f"config file {path} has unknown keys: {', '.join(sorted(unknown))}")
        values.update(from_file)
    for key, env_name in ENV_KEYS.items():
        if environ.get(env_name):
            values[key] = environ[env_name]
    for key in ("port", "lockout_max_failures", "lockout_window_s", "lockout_ban_s",
                "session_idle_s", "max_upload_bytes", "lease_max_held"):
        try:
            values[key] = int(values[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a whole number, not {values[key]!r}") from None
    if not 1 <= values["lease_max_held"] <= 50:
        raise ConfigError("lease_max_held must be from 1 to 50")
    for key in ("lease_base_s", "lease_per_call_s", "heartbeat_s", "reconnect_grace_s"):
        try:
            values[key] = float(values[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number of seconds, not {values[key]!r}") from None
        if values[key] <= 0:
            raise ConfigError(f"{key} must be more than 0")
    for key, low in (("parse_memory_mb", 256), ("parse_timeout_s", 1)):
        try:
            values[key] = float(values[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number, not {values[key]!r}") from None
        if values[key] < low:
            raise ConfigError(f"{key} must be at least {low}")
    try:
        values["min_free_disk_mb"] = float(values["min_free_disk_mb"])
    except (TypeError, ValueError):
        raise ConfigError(f"min_free_disk_mb must be a number of MB, not {values['min_free_disk_mb']!r}") from None
    if values["min_free_disk_mb"] < 0:
        raise ConfigError("min_free_disk_mb must be 0 or more")
    return values


def app_config(values: dict[str, object]) -> dict[str, object]:
    """Translate loaded values into the Flask config keys ``create_app`` reads."""
    config = {
        "DATABASE": str(values["db"]),
        "UPLOADS": str(values["uploads"]),
        "LOCKOUT_MAX_FAILURES": values["lockout_max_failures"],
        "LOCKOUT_WINDOW_S": values["lockout_window_s"],
        "LOCKOUT_BAN_S": values["lockout_ban_s"],
        "SESSION_IDLE_S": values["session_idle_s"],
        "MAX_CONTENT_LENGTH": values["max_upload_bytes"],
        "LEASE_BASE_S": values["lease_base_s"],
        "LEASE_PER_CALL_S": values["lease_per_call_s"],
        "HEARTBEAT_S": values["heartbeat_s"],
        "LEASE_MAX_HELD": values["lease_max_held"],
        "RECONNECT_GRACE_S": values["reconnect_grace_s"],
        "MIN_FREE_DISK_BYTES": int(float(values["min_free_disk_mb"]) * 1024 * 1024),
        "PARSE_MEMORY_BYTES": int(float(values["parse_memory_mb"]) * 1024 * 1024),
        "PARSE_TIMEOUT_S": float(values["parse_timeout_s"]),
    }
    if values.get("secret_key"):
        config["SECRET_KEY"] = values["secret_key"]
    return config
