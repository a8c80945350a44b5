"""What phones talk to: the ``/phone`` Socket.IO namespace (``namespace``),
the HTTP endpoints for enrolment, assets and the agent package (``api``),
and the bounded JSON codec of the Socket.IO server (``wire_json``)."""


def register_phone_api(app) -> None:
    from . import api
    app.register_blueprint(api.bp)
