"""Flask extensions, created unbound and bound in ``create_app``."""

from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

socketio = SocketIO()
csrf = CSRFProtect()
