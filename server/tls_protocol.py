"""The HTTP protocol ``ars serve --tls`` hands eventlet's WSGI server.

eventlet reads the request line of a TLS connection through the TLS layer,
so whatever breaks the handshake surfaces there as ``ssl.SSLError``: a
browser or script speaking plain http to the https port, an internet
scanner's odd hello, a phone that closed the connection because the
certificate was not the one it pins. eventlet lets that error escape and
its hub prints a traceback per connection. Here it ends the connection
with one debug line instead; nothing was read, so nothing is lost.

Imported only by ``ars serve``, after eventlet has patched the standard
library.
"""

from __future__ import annotations

import logging
import ssl

from eventlet import wsgi

log = logging.getLogger("server.tls")


class TlsHttpProtocol(wsgi.HttpProtocol):
    """eventlet's HttpProtocol, quiet about connections that fail TLS."""

    def _read_request_line(self):
        try:
            return super()._read_request_line()
        except ssl.SSLError as exc:
            log.debug("TLS connection from %s ended before a request: %s",
                      self.client_address[0] if self.client_address else "?", exc.reason or exc)
            self.close_connection = 1
            return ""
