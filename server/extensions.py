"""Flask extensions, created unbound and bound in ``create_app``.

Flask-SocketIO is created per app inside ``create_app`` rather than here: its
namespace handlers belong to one server, and tests build many apps.
"""

from flask_socketio import ConnectionRefusedError
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def connection_refused(code: str, message: str) -> ConnectionRefusedError:
    """A refused Socket.IO connection whose ``connect_error`` payload is exactly
    ``{"code", "message"}`` (given a dict, python-socketio would send its
    ``str()`` as the message and the client could not read the code)."""
    refusal = ConnectionRefusedError(message)
    refusal.error_args = {"code": code, "message": message}
    return refusal
