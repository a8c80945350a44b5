"""The phone's link to the server.

* :mod:`.client` — :class:`Link`, the Socket.IO client: connect, ``hello``,
  reconnect with backoff, claims, leases, heartbeats, server commands;
* :mod:`.outbox` — events sent again until acknowledged, a call's in order;
* :mod:`.assets` — :class:`AssetStore`, announcements and images by SHA-256;
* :mod:`.pin` — :class:`ServerTrust`, the server's URL and its pinned TLS
  certificate (``--cert-sha256``), for every request and the link.

Joining the server and keeping the token is :mod:`phone_agent.enrol`.
"""

from .assets import AssetStore, campaign_assets
from .client import FATAL_REFUSALS, Link, LinkListener, LinkRefused
from .outbox import LinkDown
from .pin import CertificateRefused, PinError, ServerTrust, parse_pin, read_pairing

__all__ = ["AssetStore", "CertificateRefused", "FATAL_REFUSALS", "Link", "LinkDown", "LinkListener",
           "LinkRefused", "PinError", "ServerTrust", "campaign_assets", "parse_pin", "read_pairing"]
