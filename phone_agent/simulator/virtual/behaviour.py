"""What a virtual phone does, as opposed to how it speaks ADB.

:class:`~phone_agent.simulator.virtual.adbd.VirtualAdbd` owns the wire (messages,
streams, flow control, the ``sync:`` byte stream); a *device behaviour*
owns what the phone answers. The interface is deliberately small and
stable — the Android behaviour (``dumpsys`` output, call state, pushed
files) is written against exactly this::

    class DeviceBehaviour(Protocol):
        serial: str
        def banner(self) -> dict[str, str]
        async def shell(self, command: str, io: ShellIO) -> int
        async def push(self, path: str, data: bytes, mode: int, mtime: int) -> None
        async def stat(self, path: str) -> tuple[int, int, int] | None
        async def pull(self, path: str) -> bytes | None

    class ShellIO(Protocol):
        async def read(self) -> bytes
        async def write(self, data: bytes) -> None

Contract, as the transport honours it (and where the real protocol forced a
precision on the first draft):

``serial``
    ``"host:port"`` the phone answers on (what ``adb devices`` lists). The
    transport owns the address: when a ``VirtualAdbd`` is built with
    ``port=0`` (any free port) it writes the bound address back into
    ``behaviour.serial``.

``banner()``
    Called on every connection handshake (CNXN). Keys used:
    ``ro.product.name``, ``ro.product.model``, ``ro.product.device`` (the
    ``product:``, ``model:`` and ``device:`` columns of ``adb devices -l``);
    others are ignored. The characters ``; : =`` cannot travel in the banner
    and are replaced by ``_``. The feature list is the transport's business.

``shell(command, io)``
    Runs one ``shell:<command>`` or ``exec:<command>`` stream; ``command``
    is ``""`` for an interactive ``shell:``. Output goes through
    ``io.write``; the stream is closed (CLSE) when the coroutine returns.
    The returned exit code is kept for a future ``shell_v2``: the legacy
    shell the transport offers cannot carry it (real phones without
    ``shell_v2`` lose it too), so callers append ``; echo $?`` as on a real
    phone. Many shells of one phone run concurrently (one long-lived
    monitor shell beside short commands).

    Fidelity note: a real adbd runs ``shell:`` without a command on a PTY
    (input echoed, a prompt such as ``phone:/ $ ``, lines ending ``\r\n``)
    and ``shell:<cmd>`` / ``exec:<cmd>`` raw (``\n``, no echo); a behaviour
    that wants to catch a client relying on either should answer the same
    way. (``EchoDevice`` does not: its interactive shell is a plain line
    shell.)

    When the host closes the stream (or the connection drops) ``io.read()``
    returns ``b""`` and ``io.write()`` raises :class:`BrokenPipeError`; a
    handler still running after a short grace is cancelled, like a process
    getting SIGHUP. Exceptions other than that are logged and close only
    this stream.

``push(path, data, mode, mtime)``
    A completed ``adb push`` (SEND…DATA…DONE): the whole file, ``mode`` as
    the client sent it — file type bits included (``0o100644``; adbutils
    sends ``0o100755`` by default) — and ``mtime`` in Unix seconds from the
    DONE request. Raise ``OSError("message")`` to make the push fail: the
    client sees ``FAIL`` with that message. Real adbd creates missing parent
    directories, and so should a behaviour.

``stat(path)``
    ``(mode, size, mtime)`` or ``None`` for no such file (answered as mode
    0, which is how adbd answers a missing path). ``adbutils`` ``push``
    stats the destination first and appends the file name when the mode
    says directory (``stat.S_IFDIR``), so directories should answer.

``pull(path)``
    The file's bytes, or ``None`` (the client sees ``FAIL`` "open failed:
    No such file or directory").

``ShellIO.read()``
    The next bytes the host wrote to the shell's stdin (in the chunks they
    arrived), ``b""`` once the host closed the stream. Reading is what
    acknowledges the host's write (OKAY), so a shell that never reads
    applies back-pressure exactly like a full pipe.

``ShellIO.write(data)``
    Sends to the host, split to the negotiated payload size, waiting for the
    host's OKAY after each WRTE; returns when the host has taken it all.

:class:`EchoDevice` is a trivial behaviour for the transport's own tests and
for trying the wire by hand: a line shell with ``echo``, ``cat``, ``seq``,
``sleep``, ``exit`` and an in-memory file store.
"""

from __future__ import annotations

import asyncio
import shlex
import stat as stat_module
from typing import Protocol, runtime_checkable

__all__ = ["DeviceBehaviour", "ShellIO", "EchoDevice"]


@runtime_checkable
class ShellIO(Protocol):
    """One shell stream, seen from the device: stdin in, stdout out."""

    async def read(self) -> bytes:
        """Bytes the host wrote to the shell's stdin; ``b""`` when the host closed."""
        ...

    async def write(self, data: bytes) -> None:
        """Send ``data`` to the host (flow control is the transport's)."""
        ...


@runtime_checkable
class DeviceBehaviour(Protocol):
    """What a virtual phone answers. See the module docstring for the contract."""

    serial: str

    def banner(self) -> dict[str, str]:
        ...

    async def shell(self, command: str, io: ShellIO) -> int:
        ...

    async def push(self, path: str, data: bytes, mode: int, mtime: int) -> None:
        ...

    async def stat(self, path: str) -> tuple[int, int, int] | None:
        ...

    async def pull(self, path: str) -> bytes | None:
        ...


# Directories every Android phone has, so that ``push(src, "/sdcard/")`` and
# a stat of them answer like a handset.
_DIRECTORIES = ("/", "/sdcard", "/data", "/data/local", "/data/local/tmp", "/storage",
                "/storage/emulated", "/storage/emulated/0", "/system")
_DIR_MODE = stat_module.S_IFDIR | 0o771


class EchoDevice:
    """A phone that echoes: enough of a shell and a file store to test the wire.

    Commands (``shell:<command>``, ``exec:<command>``)::

        echo ARGS…       ARGS joined by spaces, newline
        cat              stdin back to stdout until the host closes
        cat PATH         a pushed file's bytes
        seq [FIRST] LAST numbers, one a line (``seq 200000`` is 1.3 MB)
        sleep SECONDS    nothing, later
        exit CODE        exit code CODE
        anything else    ``/system/bin/sh: NAME: inaccessible or not found``, 127

    ``shell:`` with no command is a line shell without prompt or echo: each
    line the host writes is run as a command and its output written back;
    ``exit`` or the host closing ends it. Pushes under ``/system`` fail as
    on a real, locked phone ("Read-only file system").
    """

    def __init__(self, serial: str = "", *, model: str = "EchoDevice"):
        self.serial = serial
        self.model = model
        self.files: dict[str, tuple[bytes, int, int]] = {}
        self.commands: list[str] = []

    def banner(self) -> dict[str, str]:
        return {"ro.product.name": "echo", "ro.product.model": self.model,
                "ro.product.device": "echo"}

    async def shell(self, command: str, io: ShellIO) -> int:
        if command:
            return await self._run(command, io)
        pending = b""
        code = 0
        while chunk := await io.read():
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                text = line.decode(errors="replace").strip()
                if not text:
                    continue
                if text == "exit" or text.startswith("exit "):
                    return _exit_code(text)
                code = await self._run(text, io)
        return code

    async def _run(self, command: str, io: ShellIO) -> int:
        self.commands.append(command)
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            await io.write(f"/system/bin/sh: syntax error: {exc}\n".encode())
            return 2
        if not argv:
            return 0
        name, args = argv[0], argv[1:]
        if name == "echo":
            await io.write((" ".join(args) + "\n").encode())
            return 0
        if name == "cat" and not args:
            while chunk := await io.read():
                await io.write(chunk)
            return 0
        if name == "cat":
            held = self.files.get(args[0])
            if held is None:
                await io.write(f"cat: {args[0]}: No such file or directory\n".encode())
                return 1
            await io.write(held[0])
            return 0
        if name == "seq" and 1 <= len(args) <= 2 and all(a.isdigit() for a in args):
            first, last = (1, int(args[0])) if len(args) == 1 else (int(args[0]), int(args[1]))
            numbers = "".join(f"{n}\n" for n in range(first, last + 1))
            await io.write(numbers.encode())
            return 0
        if name == "sleep" and len(args) == 1:
            await asyncio.sleep(float(args[0]))
            return 0
        if name == "exit":
            return _exit_code(command)
        await io.write(f"/system/bin/sh: {name}: inaccessible or not found\n".encode())
        return 127

    async def push(self, path: str, data: bytes, mode: int, mtime: int) -> None:
        if path == "/system" or path.startswith("/system/"):
            raise OSError("couldn't create file: Read-only file system")
        if path in _DIRECTORIES:
            raise OSError("couldn't create file: Is a directory")
        self.files[path] = (bytes(data), mode, mtime)

    async def stat(self, path: str) -> tuple[int, int, int] | None:
        path = path.rstrip("/") or "/"
        if path in _DIRECTORIES:
            return _DIR_MODE, 4096, 0
        held = self.files.get(path)
        if held is None:
            return None
        data, mode, mtime = held
        return mode, len(data), mtime

    async def pull(self, path: str) -> bytes | None:
        held = self.files.get(path)
        return None if held is None else held[0]


def _exit_code(text: str) -> int:
    parts = text.split()
    try:
        return int(parts[1]) & 0xFF if len(parts) > 1 else 0
    except ValueError:
        return 2
