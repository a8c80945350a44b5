"""The phone's link to the server.

* :mod:`.client` — :class:`Link`, the Socket.IO client: connect, ``hello``,
  reconnect with backoff, claims, leases, heartbeats, server commands;
* :mod:`.outbox` — events sent again until acknowledged, a call's in order;
* :mod:`.assets` — :class:`AssetStore`, announcements and images by SHA-256.

Joining the server and keeping the token is :mod:`phone_agent.enrol`.
"""

from .assets import AssetStore, campaign_assets
from .client import FATAL_REFUSALS, Link, LinkListener, LinkRefused
from .outbox import LinkDown

__all__ = ["AssetStore", "FATAL_REFUSALS", "Link", "LinkDown", "LinkListener", "LinkRefused",
           "campaign_assets"]
