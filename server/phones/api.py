"""HTTP endpoints for phones: enrolment, assets by hash, the agent package.

No console login here (phones are not managers) and no console allow-list
(internet-mode phones come from carrier addresses); phones prove themselves
with a token, an enrolment key or a join request the manager approves.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import logging
import math
import secrets
import tarfile
from pathlib import Path

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_file

from phone_agent import SIMULATOR_ONLY
from phone_agent import __version__ as AGENT_VERSION
from phone_agent import protocol as p
from phone_agent.android import BUILT_JAR
from phone_agent.android.build import BuildError, ensure_built, missing_tools

from .. import db
from ..extensions import csrf
from ..security import new_token, token_sha256
from ..storage import uploads

log = logging.getLogger(__name__)

bp = Blueprint("phone_api", __name__)
csrf.exempt(bp)

ENROL_KEY_SETTING = "phone_enrol_key"

_JOIN = p.obj(required={"name": p.string(60), "mode": p.one_of("router", "internet", "sim")},
              optional={"device": p.DEVICE, "enrol_key": p.string(200)})


def _error(status: int, code: str, message: str):
    return jsonify(p.error_ack(code, message)), status


@bp.route("/api/phones/join", methods=["POST"])
def join():
    """A phone without a token asks to join (docs/protocol.md "Enrolment")."""
    try:
        message = _JOIN(request.get_json(silent=True), "join")
    except p.ProtocolError as exc:
        return _error(400, exc.code, exc.message)
    if not message["name"].strip():
        return _error(400, p.BAD_PAYLOAD, "join.name: must not be empty")
    store = db.get_db()
    enrol_key = db.get_setting(store, ENROL_KEY_SETTING)
    offered = message.get("enrol_key")
    engine = current_app.extensions["ars_engine"]
    if offered is not None:
        if not enrol_key or not hmac.compare_digest(offered.encode(), enrol_key.encode()):
            return _error(403, "bad_enrol_key", "the enrolment key is not valid")
        token = new_token()
        phone_id = db.create_phone(store, name=message["name"].strip(), mode=message["mode"],
                                   token_sha256=token_sha256(token))
        db.audit(store, "settings", actor="enrolment key", address=request.remote_addr,
                 target=f"phone {phone_id}", detail={"name": message["name"], "mode": message["mode"]})
        engine.reload_phone(phone_id)
        return jsonify({"status": "approved", "phone_id": phone_id, "token": token}), 201
    return _ask_to_join(store, message)


def _ask_to_join(store, message: dict):
    """A join request without an enrolment key, within the limits: at most
    JOIN_RATE_MAX from one address in JOIN_RATE_WINDOW_S, at most
    JOIN_PENDING_MAX waiting at once (429 with Retry-After otherwise); it
    expires after JOIN_EXPIRY_S. Counting and storing are one transaction, so
    requests arriving together cannot pass the limits."""
    cfg = current_app.config
    now, window = cfg["CLOCK"](), cfg["JOIN_RATE_WINDOW_S"]
    address = request.remote_addr or ""
    request_id, poll_secret = secrets.token_urlsafe(12), secrets.token_urlsafe(24)
    with db.transaction(store):
        db.expire_join_requests(store, now)
        load = db.join_request_load(store, address, since=now - window, now=now)
        if load["from_address"] >= cfg["JOIN_RATE_MAX"]:
            wait = max(1, math.ceil(load["oldest_from_address"] + window - now))
            log.warning("join request refused: %d from %s in the last %d s (limit %d)",
                        load["from_address"], address, window, cfg["JOIN_RATE_MAX"])
            return _refuse_join(p.JOIN_RATE_LIMITED, wait,
                                f"too many join requests from this address: at most {cfg['JOIN_RATE_MAX']} "
                                f"in {window} s; ask again in {wait} s")
        if load["pending"] >= cfg["JOIN_PENDING_MAX"]:
            log.warning("join request from %s refused: %d requests already wait for the manager",
                        address, load["pending"])
            return _refuse_join(p.JOIN_QUEUE_FULL, window,
                                f"{load['pending']} join requests already wait for the manager's approval; "
                                f"ask again in {window} s")
        db.create_join_request(store, request_id=request_id,
                               poll_secret_sha256=hashlib.sha256(poll_secret.encode()).hexdigest(),
                               name=message["name"].strip(), mode=message["mode"],
                               device=message.get("device", {}), address=address,
                               now=now, expires_at=now + cfg["JOIN_EXPIRY_S"])
    return jsonify({"status": "pending", "request_id": request_id, "poll_secret": poll_secret,
                    "expires_in_s": cfg["JOIN_EXPIRY_S"]}), 202


def _refuse_join(code: str, retry_after_s: int, message: str):
    response, status = _error(429, code, message)
    response.headers["Retry-After"] = str(int(retry_after_s))
    return response, status


@bp.route("/api/phones/join/<request_id>")
def join_status(request_id: str):
    store = db.get_db()
    row = db.join_request(store, request_id[:40])
    secret = request.headers.get("X-Poll-Secret", "")
    if row is None or not hmac.compare_digest(hashlib.sha256(secret.encode()).hexdigest(),
                                              row["poll_secret_sha256"]):
        return _error(404, "unknown_request", "no such join request")
    if row["status"] == "pending" and row["expires_at"] <= current_app.config["CLOCK"]():
        db.expire_join_requests(store, current_app.config["CLOCK"]())
        return jsonify({"status": "expired"})
    if row["status"] == "approved":
        token = db.deliver_join_token(store, request_id)
        if token:
            return jsonify({"status": "approved", "phone_id": row["phone_id"], "token": token})
    status = {"delivered": "approved"}.get(row["status"], row["status"])
    return jsonify({"status": status} | ({"phone_id": row["phone_id"]} if row["phone_id"] else {}))


def phone_from_bearer() -> dict | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    row = db.phone_by_token(db.get_db(), token_sha256(header[7:].strip()[:200]))
    return row if row and row["enabled"] else None


@bp.route("/api/assets/<sha256>")
def asset(sha256: str):
    """An announcement or image by content hash, for a phone with a token."""
    if phone_from_bearer() is None:
        return _error(401, "bad_token", "a valid phone token is required")
    try:
        p.SHA256(sha256, "sha256")
    except p.ProtocolError as exc:
        return _error(400, exc.code, exc.message)
    store = db.get_db()
    if any(m["sha256"] == sha256 for m in db.ments(store)):
        return send_file(uploads().path(sha256, ".wav"), mimetype="audio/wav", max_age=86400)
    if any(i["sha256"] == sha256 for i in db.images(store)):
        return send_file(uploads().path(sha256, ".jpg"), mimetype="image/jpeg", max_age=86400)
    return _error(404, "unknown_asset", "no announcement or image with this hash")


# -- the phone_agent package, for phones on a LAN without internet -----------

PACKAGE_NAME = "mobile-ars-phone-agent"

_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "Mobile ARS phone agent"
requires-python = ">=3.10"
dependencies = ["python-socketio[asyncio_client]>=5.11", "aiohttp>=3.9", "numpy>=1.24", "adbutils>=2.8"]

[project.scripts]
ars-phone = "phone_agent.cli:main"

[tool.setuptools.packages.find]
include = ["phone_agent*"]

[tool.setuptools.package-data]
"phone_agent.android" = ["dist/*.jar"]
"""

# The files' time in the package: fixed, so the package's bytes depend only on
# the code; not before 1980, which the wheel (a zip) built from it cannot hold.
PACKAGE_MTIME = 1_700_000_000

HELPER_IN_PACKAGE = "phone_agent/" + BUILT_JAR.relative_to(BUILT_JAR.parents[2]).as_posix()


def helper_jar() -> Path | None:
    """The audio helper jar for the phone package: built here when its
    sources changed and smali is installed; None (logged) when there is none,
    and internet-mode phones will then say "audio helper not built"."""
    if not missing_tools():
        try:
            return ensure_built().path
        except BuildError as exc:
            log.error("the phone package goes without the audio helper: %s", exc)
    if BUILT_JAR.is_file():
        return BUILT_JAR
    log.warning("the phone package goes without the audio helper: %s is not built "
                "(scripts/build-helper; apt-get install libsmali-java dexdump)", BUILT_JAR)
    return None


def agent_sdist() -> tuple[str, bytes]:
    """A source distribution of phone_agent, built from the running code:
    only what a phone runs (the simulator and the virtual handsets, which
    the server and the tests use, stay out: ``phone_agent.SIMULATOR_ONLY``),
    and the built audio helper jar, which an internet-mode phone pushes to
    its own adbd from there (:data:`HELPER_IN_PACKAGE`).

    The same code gives the same bytes (fixed times in the tar and the gzip
    header), so the SHA-256 the install command carries (pip's ``#sha256=``)
    is the file's however often it is built."""
    root = Path(__file__).resolve().parents[2] / "phone_agent"
    base = f"{PACKAGE_NAME}-{AGENT_VERSION}"
    buffer = io.BytesIO()
    mtime = PACKAGE_MTIME
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_bytes(name: str, data: bytes):
            info = tarfile.TarInfo(f"{base}/{name}")
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            tar.addfile(info, io.BytesIO(data))
        add_bytes("pyproject.toml", _PYPROJECT.format(name=PACKAGE_NAME, version=AGENT_VERSION).encode())
        add_bytes("PKG-INFO", f"Metadata-Version: 2.1\nName: {PACKAGE_NAME}\nVersion: {AGENT_VERSION}\n".encode())
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(SIMULATOR_ONLY) or "__pycache__" in relative:
                continue
            add_bytes(f"phone_agent/{relative}", path.read_bytes())
        jar = helper_jar()
        if jar is not None:
            add_bytes(HELPER_IN_PACKAGE, jar.read_bytes())
    return f"{base}.tar.gz", buffer.getvalue()


def install_command(server_url: str, cert_sha256: str | None = None) -> str:
    """The one line a phone installs ``phone_agent`` with (Termux's pip).

    Over TLS (``cert_sha256``: the server's certificate is self-signed) pip
    could not verify the certificate, so the line tells pip to accept this
    one host (``--trusted-host HOST:PORT``) and carries the package's own
    SHA-256 in the URL (``#sha256=``), which pip checks against the download
    and refuses the file when it differs: what is installed is what this
    server built, whoever answered. Plain http: the line as before."""
    filename, data = agent_sdist()
    url = f"{server_url.rstrip('/')}/phone-agent/{filename}"
    if not cert_sha256:
        return f"pip install {url}"
    host = urlsplit(server_url).netloc
    return f"pip install --trusted-host {host} {url}#sha256={hashlib.sha256(data).hexdigest()}"


def server_certificate() -> str | None:
    """The SHA-256 of the certificate the server is serving with (None: plain http)."""
    return current_app.config.get("TLS_CERT_SHA256")


@bp.route("/phone-agent/")
def agent_page():
    server_url = request.host_url.rstrip("/")
    return render_template("phones/agent.html", command=install_command(server_url, server_certificate()),
                           server_url=server_url, cert_sha256=server_certificate())


@bp.route("/phone-agent/<filename>")
def agent_download(filename: str):
    name, data = agent_sdist()
    if filename != name:
        abort(404)
    return send_file(io.BytesIO(data), mimetype="application/gzip", as_attachment=True, download_name=name)
