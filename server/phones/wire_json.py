"""The JSON codec of the Socket.IO server, bounded.

python-socketio decodes every packet before any handler sees it; a message
nested deeper than Python's recursion limit (``{"a": {"a": …}}`` a thousand
times, a few kilobytes) makes ``json.loads`` raise inside the library, which
logs a traceback and sends nothing back. Here such a packet decodes to the
event :data:`TOO_DEEP` instead, so the phone namespace answers it with a
clear ``bad_payload`` error on the same acknowledgement id.
"""

from __future__ import annotations

import json

TOO_DEEP = "__nested_too_deeply__"


def loads(*args, **kwargs):
    try:
        return json.loads(*args, **kwargs)
    except RecursionError:
        return [TOO_DEEP]


def dumps(*args, **kwargs):
    return json.dumps(*args, **kwargs)
