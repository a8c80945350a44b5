"""Flask extensions, created unbound and bound in ``create_app``.

Flask-SocketIO is created per app inside ``create_app`` rather than here: its
namespace handlers belong to one server, and tests build many apps.
"""

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
