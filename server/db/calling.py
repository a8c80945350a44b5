"""Named reads and writes for the calling engine: phones, campaigns, leases, calls."""

from __future__ import annotations
