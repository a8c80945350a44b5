"""Security headers on every response the app makes (an ``after_request``
hook; docs/decisions.md "Security headers and a strict CSP").

* ``Content-Security-Policy``: the console loads everything from the app
  itself — its scripts and styles are files under ``/static/`` (no inline
  ``<script>``, ``style=`` or event handler attributes), the QR code of a
  phone's token is an SVG ``data:`` image, the announcements play from
  ``/ments/<id>.wav``, the dashboard talks Socket.IO to the same host. The
  WebSocket origin is named as well as ``'self'``: CSP Level 3 lets
  ``'self'`` match ``ws:``/``wss:`` of the page's own host (Chromium does),
  browsers that follow Level 2 (Safari before 15.5) do not.
* ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``: no page can be
  framed (clickjacking); ``X-Content-Type-Options: nosniff``.
* ``Referrer-Policy: same-origin``: links out of the console carry no URL;
  the console's own requests keep their Referer, which Flask-WTF's CSRF check
  requires over HTTPS.
* ``Cache-Control: no-store`` on everything except the static files and the
  content-addressed files phones fetch (when found): the pages, JSON and
  exports carry voters' numbers and names, and must not stay in a browser's
  cache.
"""

from __future__ import annotations

import re

from flask import request

# Endpoints whose responses may be cached: nothing personal, named by version
# or content hash.
CACHEABLE_ENDPOINTS = frozenset({"static", "phone_api.asset", "phone_api.agent_download"})

_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")

_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def content_security_policy(host: str | None) -> str:
    """The policy for a page served to ``host`` (the request's Host, e.g.
    ``172.16.0.100:8000``): :data:`_POLICY` and ``connect-src`` for the
    same host over HTTP and WebSocket. A Host that is not a plain host name
    or address (with a port) gets ``'self'`` alone. Pure."""
    connect = "connect-src 'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join((*_POLICY, connect))


def add_security_headers(response):
    """``after_request``: the headers above on ``response``."""
    if "Content-Security-Policy" not in response.headers:
        # A view may set a stricter one of its own (a chart's SVG: no script at all).
        response.headers["Content-Security-Policy"] = content_security_policy(request.host)
    for name, value in HEADERS.items():
        response.headers[name] = value
    if request.endpoint not in CACHEABLE_ENDPOINTS or response.status_code >= 400:
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def init_app(app) -> None:
    app.after_request(add_security_headers)
