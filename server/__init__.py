"""Mobile ARS server: the control plane (manager console, data, campaigns)."""

from __future__ import annotations

import time


def create_app(config: dict | None = None):
    """Build the app. ``config`` overrides everything (tests pass a temporary
    DATABASE and UPLOADS); without it, settings come from ``server.config``.

    Imports happen here, not at module level, so that ``ars serve`` can let
    eventlet monkey-patch the standard library before Flask is imported."""
    from flask import Flask

    from . import config as config_module
    from . import db
    from flask_socketio import SocketIO

    from .extensions import csrf

    app = Flask(__name__)
    app.config.from_mapping(
        config_module.app_config(config_module.load()) if config is None else
        config_module.app_config(config_module.DEFAULTS),
    )
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,      # the token lives as long as the session
        CLOCK=time.time,               # injectable: lock-out and idle expiry read it
        SOCKETIO_ASYNC_MODE="eventlet",
        JSON_AS_ASCII=False,
    )
    if config:
        app.config.update(config)
    for key in ("DATABASE", "UPLOADS"):   # absolute, like server.config's (send_file needs it)
        app.config[key] = config_module.absolute_path(app.config[key])
    if app.config.get("TLS_CERT_SHA256"):
        # Served over TLS (ars serve --tls): the browser never sends the
        # session cookie over plain http.
        app.config["SESSION_COOKIE_SECURE"] = True

    db.init_db(app.config["DATABASE"])
    if not app.config.get("SECRET_KEY"):
        store = db.connect(app.config["DATABASE"])
        try:
            app.config["SECRET_KEY"] = db.app_secret(store, "session")
        finally:
            store.conn.close()

    db.init_app(app)
    from pathlib import Path
    from .disk import DiskGuard
    app.extensions["ars_disk"] = DiskGuard(Path(app.config["DATABASE"]).parent,
                                           app.config["MIN_FREE_DISK_BYTES"],
                                           uploads_path=app.config["UPLOADS"])
    csrf.init_app(app)
    from . import headers
    headers.init_app(app)
    from .phones import wire_json
    socketio = SocketIO(app, async_mode=app.config["SOCKETIO_ASYNC_MODE"], json=wire_json)

    from . import i18n
    from .console import register_console
    from .phones import register_phone_api
    from .storage import UploadStore
    app.extensions["ars_uploads"] = UploadStore(app.config["UPLOADS"])
    from .upload_gc import at_start
    at_start(app)   # files no row references (a crash mid-import, deleted lists) leave now
    i18n.init_app(app)
    register_console(app)
    register_phone_api(app)
    _start_engine(app, socketio)
    return app


def _start_engine(app, socketio) -> None:
    """The calling engine, its Socket.IO namespaces and background loops."""
    from .background import Live
    from .calling.engine import CallingEngine
    from .console.dashboard import ManagerNamespace
    from .phones.namespace import PhoneNamespace

    cfg = app.config
    engine = CallingEngine(cfg["DATABASE"], clock=cfg["CLOCK"], lease_base_s=cfg["LEASE_BASE_S"],
                           lease_per_call_s=cfg["LEASE_PER_CALL_S"], heartbeat_s=cfg["HEARTBEAT_S"],
                           lease_max_held=cfg["LEASE_MAX_HELD"], reconnect_grace_s=cfg["RECONNECT_GRACE_S"],
                           disk=app.extensions.get("ars_disk"))
    phone_namespace = PhoneNamespace(engine)
    engine.notify = phone_namespace.notify
    engine.disconnect = phone_namespace.disconnect_phone
    socketio.on_namespace(phone_namespace)
    socketio.on_namespace(ManagerNamespace())
    from .console.session_sockets import SessionSockets
    app.extensions["ars_session_sockets"] = SessionSockets(socketio)
    engine.start()
    app.extensions["ars_engine"] = engine
    app.extensions["ars_live"] = Live(socketio, engine, cfg["DATABASE"], phone_namespace,
                                      sessions=app.extensions["ars_session_sockets"], config=cfg)
