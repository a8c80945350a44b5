"""Where the server's settings come from.

Precedence, highest first: a command-line option, the environment
(``ARS_DB``, ``ARS_UPLOADS``, ``ARS_HOST``, ``ARS_PORT``, ``ARS_SECRET_KEY``,
``ARS_TLS``, ``ARS_TLS_CERT``, ``ARS_TLS_KEY``),
the config file (``$ARS_CONFIG``, else ``./ars.toml`` when present), then the
built-in defaults below. The config file is TOML with the same lower-case
keys, for example::

    db = "/srv/ars/ars.db"
    uploads = "/srv/ars/uploads"
    host = "172.16.0.100"
    port = 8000
    tls = true                # internet mode: https with a certificate phones pin
    lockout_max_failures = 3

A relative ``db`` or ``uploads`` (the defaults are) is made absolute here,
once, against the working directory the command was started in
(:func:`resolve_paths`), so nothing downstream sees a relative path: Flask's
``send_file`` would otherwise read a relative path against the ``server``
package's folder.

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
    # A console session ends this long after its log-in, however busy it is.
    "session_max_s": 24 * 60 * 60,
    # Largest upload accepted by the console (a 1,000,000-row CSV is ~60 MB).
    "max_upload_bytes": 200 * 1024 * 1024,
    # Exports of up to this many rows download at once; bigger ones run as a
    # job whose progress the page shows (console/exports.py).
    "export_direct_rows": 20_000,
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
    # Join requests without an enrolment key (docs/protocol.md "Enrolment"):
    # at most join_rate_max from one address in join_rate_window_s, at most
    # join_pending_max waiting for the manager at once; a request not decided
    # within join_expiry_s expires (the phone asks again).
    "join_rate_max": 10,
    "join_rate_window_s": 600,
    "join_pending_max": 200,
    "join_expiry_s": 86_400,
    # TLS (server/tls.py): ``tls`` serves https with a self-signed certificate
    # kept in <db dir>/tls/ (made once); ``tls_cert`` + ``tls_key`` (PEM files)
    # serve the operator's own instead; ``tls_names`` are extra names for the
    # self-signed one (the public address or domain phones use).
    "tls": False,
    "tls_cert": None,
    "tls_key": None,
    "tls_names": [],
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
    "tls": "ARS_TLS",
    "tls_cert": "ARS_TLS_CERT",
    "tls_key": "ARS_TLS_KEY",
}

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


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
                "session_idle_s", "session_max_s", "max_upload_bytes", "lease_max_held", "join_rate_max",
                "join_rate_window_s", "join_pending_max", "join_expiry_s"):
        try:
            values[key] = int(values[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a whole number, not {values[key]!r}") from None
    if not 1 <= values["lease_max_held"] <= 50:
        raise ConfigError("lease_max_held must be from 1 to 50")
    for key in ("join_rate_max", "join_rate_window_s", "join_pending_max", "join_expiry_s"):
        if values[key] < 1:
            raise ConfigError(f"{key} must be 1 or more")
    try:
        values["export_direct_rows"] = int(values["export_direct_rows"])
    except (TypeError, ValueError):
        raise ConfigError(f"export_direct_rows must be a whole number, not {values['export_direct_rows']!r}") from None
    if values["export_direct_rows"] < 0:
        raise ConfigError("export_direct_rows must be 0 or more")
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
    _tls_values(values)
    return resolve_paths(values)


PATH_KEYS = ("db", "uploads")


def absolute_path(path: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """``path`` as an absolute, normalised path: ``~`` expanded, a relative
    path taken from ``base`` (the working directory when None)."""
    expanded = Path(path).expanduser()
    if not expanded.is_absolute():
        expanded = Path(base if base is not None else os.getcwd()) / expanded
    return os.path.normpath(expanded)


def resolve_paths(values: dict[str, object], base: str | os.PathLike | None = None) -> dict[str, object]:
    """``values`` with its :data:`PATH_KEYS` made absolute (:func:`absolute_path`).
    Call it again after overriding one (a command-line option)."""
    for key in PATH_KEYS:
        if values.get(key) in (None, ""):
            raise ConfigError(f"{key} must name a path")
        values[key] = absolute_path(values[key], base)
    return values


def _tls_values(values: dict[str, object]) -> None:
    """``tls`` a bool, ``tls_cert``/``tls_key`` both or neither (either turns TLS on)."""
    tls = values["tls"]
    if isinstance(tls, str):
        if tls.strip().lower() not in _TRUE + _FALSE:
            raise ConfigError(f"tls must be true or false, not {tls!r}")
        tls = tls.strip().lower() in _TRUE
    if not isinstance(tls, bool):
        raise ConfigError(f"tls must be true or false, not {tls!r}")
    for key in ("tls_cert", "tls_key"):
        if values[key] is not None and not isinstance(values[key], str):
            raise ConfigError(f"{key} must be a file name, not {values[key]!r}")
        values[key] = absolute_path(values[key]) if values[key] else None   # like db and uploads
    if bool(values["tls_cert"]) != bool(values["tls_key"]):
        raise ConfigError("tls_cert and tls_key go together: give both PEM files, or neither")
    names = values["tls_names"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ConfigError(f"tls_names must be a list of host names or addresses, not {names!r}")
    values["tls"] = tls or bool(values["tls_cert"])


def app_config(values: dict[str, object]) -> dict[str, object]:
    """Translate loaded values into the Flask config keys ``create_app`` reads."""
    config = {
        "DATABASE": absolute_path(values["db"]),
        "UPLOADS": absolute_path(values["uploads"]),
        "LOCKOUT_MAX_FAILURES": values["lockout_max_failures"],
        "LOCKOUT_WINDOW_S": values["lockout_window_s"],
        "LOCKOUT_BAN_S": values["lockout_ban_s"],
        "SESSION_IDLE_S": values["session_idle_s"],
        "SESSION_MAX_S": values["session_max_s"],
        "MAX_CONTENT_LENGTH": values["max_upload_bytes"],
        "EXPORT_DIRECT_ROWS": values["export_direct_rows"],
        "LEASE_BASE_S": values["lease_base_s"],
        "LEASE_PER_CALL_S": values["lease_per_call_s"],
        "HEARTBEAT_S": values["heartbeat_s"],
        "LEASE_MAX_HELD": values["lease_max_held"],
        "RECONNECT_GRACE_S": values["reconnect_grace_s"],
        "MIN_FREE_DISK_BYTES": int(float(values["min_free_disk_mb"]) * 1024 * 1024),
        "JOIN_RATE_MAX": values["join_rate_max"],
        "JOIN_RATE_WINDOW_S": values["join_rate_window_s"],
        "JOIN_PENDING_MAX": values["join_pending_max"],
        "JOIN_EXPIRY_S": values["join_expiry_s"],
        "PARSE_MEMORY_BYTES": int(float(values["parse_memory_mb"]) * 1024 * 1024),
        "PARSE_TIMEOUT_S": float(values["parse_timeout_s"]),
    }
    if values.get("secret_key"):
        config["SECRET_KEY"] = values["secret_key"]
    return config
