"""The audio helper on the phone: pushed when missing or different, and
run once to see that it works.

:func:`ensure_helper` compares the jar on the phone with the built one by
size and SHA-256 (``stat -c %s`` and ``sha256sum``, as for assets), pushes
the built jar when they differ (or the phone has none), verifies the push,
and runs ``mobilears.Audio version`` on an ``exec:`` stream: a phone that
cannot run it (Android prints ``Aborted`` when app_process finds no class
in the jar; the details are in ``adb logcat``) gets an
:class:`~phone_agent.telephony.base.AudioError` saying so, which
``ready()`` turns into "not ready: …". Verified once per connection.

Where the built jar is: :func:`phone_agent.android.built_jar` (the
checkout's ``phone_agent/android/dist/`` in router mode, the installed
package's in internet mode).
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import adbutils

from ...android import HELPER_CLASS, VERSION_LINE, HelperNotBuilt, built_jar, jar_digest
from ..base import AudioError
from .transport import close_quietly

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["ensure_helper", "helper_command"]

log = logging.getLogger(__name__)


def helper_command(jar: str, *args: str) -> str:
    """The shell line that runs the helper at ``jar`` with ``args``."""
    return f"CLASSPATH={jar} app_process / {HELPER_CLASS} " + " ".join(args)


async def ensure_helper(backend: "AdbTelephony", remote: str, local: Path | None = None) -> None:
    """The helper at ``remote`` on the phone is ``local`` (default: the
    built jar) and runs; AudioError naming what is wrong otherwise."""
    try:
        path = local if local is not None else built_jar()
        size, sha = jar_digest(path)
    except HelperNotBuilt as exc:
        raise AudioError(str(exc)) from None
    except OSError as exc:
        raise AudioError(f"audio helper {local}: {exc.strerror or exc}") from None
    key = f"{remote}@{sha}"
    if key in backend._helper_ok:
        return
    if not await backend.asset_store.verify(remote, size, sha):
        data = path.read_bytes()
        await backend.blocking(backend._link.push, data, remote)
        if not await backend.asset_store.verify(remote, size, sha):
            raise AudioError(f"audio helper {remote} arrived damaged on the phone (size or SHA-256 differ)")
        log.info("%s: pushed the audio helper %s (%d bytes, sha256 %s)", backend.serial, remote, size, sha[:12])
    answer = await _run(backend, helper_command(remote, "version"), 30.0)
    if answer.strip() != VERSION_LINE:
        said = " / ".join(line.strip() for line in answer.splitlines() if line.strip())[:300]
        raise AudioError(f"audio helper does not run: {said or 'no answer'} ({remote}, sha256 {sha[:12]}…, "
                         f"from {path}; adb logcat -s appproc AndroidRuntime mobile-ars-audio says why)")
    backend._helper_ok.add(key)


async def _run(backend: "AdbTelephony", command: str, timeout: float) -> str:
    """All a command prints on an ``exec:`` stream (stdout and stderr together)."""
    conn = await backend.open_stream("exec:" + command)
    try:
        return await backend.blocking(_read_all, conn.conn, timeout)
    finally:
        close_quietly(conn)  # never blocks: no await to be cut short


def _read_all(sock: socket.socket, timeout: float) -> str:
    sock.settimeout(timeout)
    data = b""
    try:
        while len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise AudioError(f"the phone's audio helper did not answer within {timeout:.0f} s") from None
    except (OSError, adbutils.AdbError):
        pass
    return data.decode(errors="replace")
