"""The virtual handset's ``/system/bin/sh``: just enough shell, and the
files it works on.

:class:`Shell` runs command lines — ``;``, ``&&``, ``||``, pipes, ``$?``,
environment assignments before a command, ``2>&1`` and ``>/dev/null``
dropped — with the builtins every phone has (``echo``, ``true``, ``sleep``,
``grep [-E] [-v] [-i] [-q] [-e PATTERN]``, ``head -n N``, ``cat``, ``sha256sum``,
``stat -c FORMAT``, ``ls``, ``mkdir -p``, ``rm [-f]``, ``touch``) and hands any other
command name to the table the handset registers (``am``, ``input``,
``dumpsys`` …): ``handler(args, stdin) → (output, exit code)``. An
interactive ``shell:`` has a PTY, like a real one: it echoes what it is sent,
ends lines with CR LF and prints a ``device:/ $`` prompt.

:class:`Storage` is the phone's file system as adb sees it: pushed files by
path (``/sdcard/…`` is ``/storage/emulated/0/…``), the directories every
phone has, ``/system`` read-only.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import re
import shlex
import stat as stat_module
import time
from typing import Awaitable, Callable

__all__ = ["Shell", "Storage"]

Command = Callable[[list[str], str], Awaitable[tuple[str, int]]]

DIR_MODE = stat_module.S_IFDIR | 0o771
DIRECTORIES = {"/", "/sdcard", "/data", "/data/local", "/data/local/tmp", "/storage",
               "/storage/emulated", "/storage/emulated/0", "/storage/emulated/0/Download",
               "/storage/emulated/0/Music", "/storage/emulated/0/Pictures", "/system"}


class Storage:
    """Files (path → (bytes, mode, mtime)) and directories of one phone."""

    def __init__(self):
        self.files: dict[str, tuple[bytes, int, int]] = {}
        self.dirs: set[str] = set(DIRECTORIES)

    @staticmethod
    def norm(path: str) -> str:
        path = "/" + path.strip().strip("/") if path.strip() not in ("", "/") else "/"
        for alias in ("/sdcard", "/storage/self/primary", "/mnt/sdcard"):
            if path == alias or path.startswith(alias + "/"):
                path = "/storage/emulated/0" + path[len(alias):]
        return path

    def push(self, path: str, data: bytes, mode: int, mtime: int) -> None:
        path = self.norm(path)
        if path.startswith("/system/") or path == "/system":
            raise OSError("couldn't create file: Read-only file system")
        if path in self.dirs:
            raise OSError("couldn't create file: Is a directory")
        parent = path.rsplit("/", 1)[0] or "/"
        while parent not in self.dirs:  # adbd makes missing parents
            self.dirs.add(parent)
            parent = parent.rsplit("/", 1)[0] or "/"
        self.files[path] = (bytes(data), mode, mtime)

    def stat(self, path: str) -> tuple[int, int, int] | None:
        path = self.norm(path)
        if path in self.dirs:
            return DIR_MODE, 4096, 0
        held = self.files.get(path)
        return None if held is None else (held[1], len(held[0]), held[2])

    def file(self, path: str) -> bytes | None:
        held = self.files.get(self.norm(path))
        return None if held is None else held[0]


class Shell:
    """Command lines over a :class:`Storage`; ``commands``: name → handler."""

    def __init__(self, storage: Storage, commands: dict[str, Command] | None = None):
        self.storage = storage
        self.commands: dict[str, Command] = {
            "echo": self._echo, "true": self._true, "sleep": self._sleep, "grep": self._grep,
            "head": self._head, "cat": self._cat, "sha256sum": self._sha256sum, "stat": self._stat,
            "ls": self._ls, "mkdir": self._mkdir, "rm": self._rm, "touch": self._touch, **(commands or {})}
        self.log: collections.deque[str] = collections.deque(maxlen=5000)  # the latest command lines
        self.count = 0  # command lines run since start (benchmarks: adb commands per call)

    def note(self, line: str) -> None:
        """Log a command line (``run`` does it for the lines it runs)."""
        self.log.append(line)
        self.count += 1

    async def interactive(self, io, prompt: bytes, answer_delay_s: float = 0.0) -> int:
        """An interactive ``shell:`` until ``exit`` or the host closes stdin."""
        await io.write(prompt)
        pending = b""
        while True:
            chunk = await io.read()
            if not chunk:
                return 0
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                raw = raw.rstrip(b"\r")
                await io.write(raw + b"\r\n")  # the PTY echoes what it is sent
                line = raw.decode(errors="replace")
                if line.strip() == "exit" or line.strip().startswith("exit "):
                    return 0
                if line.strip():
                    output, _ = await self.run(line)
                    if answer_delay_s:
                        await asyncio.sleep(answer_delay_s)
                    if output:
                        await io.write(output.replace("\n", "\r\n").encode())
                await io.write(prompt)

    async def run(self, line: str, *, note: bool = True) -> tuple[str, int]:
        """Run one command line (``;``, ``&&``, ``||``, ``|``); (output, exit code).
        ``note=False``: a line a program on the phone runs (not one adb sent)."""
        if note:
            self.note(line)
        line = re.sub(r"\s\d?>&\d", " ", line)
        line = re.sub(r"\s\d?>\s*/dev/null", " ", line)
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError as exc:
            return f"/system/bin/sh: syntax error: {exc}\n", 2
        output, status = [], 0
        # split into "and-or lists" of pipelines
        sequence: list[tuple[str, list[list[str]]]] = []
        op, pipeline, words = ";", [], []
        for tok in tokens + [";"]:
            if tok in (";", "&&", "||", "|"):
                if words:
                    pipeline.append(words)
                words = []
                if tok == "|":
                    continue
                if pipeline:
                    sequence.append((op, pipeline))
                op, pipeline = tok, []
            else:
                words.append(tok)
        for op, pipeline in sequence:
            if op == "&&" and status != 0 or op == "||" and status == 0:
                continue
            text = ""
            for argv in pipeline:
                argv = [w.replace("$?", str(status)) for w in argv]
                text, status = await self._command(argv, text)
            output.append(text)
        return "".join(output), status

    async def _command(self, argv: list[str], stdin: str) -> tuple[str, int]:
        while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
            argv = argv[1:]  # environment assignments
        if not argv:
            return "", 0
        name, args = argv[0], argv[1:]
        handler = self.commands.get(name)
        if handler is None:
            return f"/system/bin/sh: {name}: inaccessible or not found\n", 127
        return await handler(args, stdin)

    # -- builtins ------------------------------------------------------------

    async def _echo(self, args, stdin):
        if args and args[0] == "-n":
            return " ".join(args[1:]), 0
        return " ".join(args) + "\n", 0

    async def _true(self, args, stdin):
        return "", 0

    async def _sleep(self, args, stdin):
        await asyncio.sleep(float(args[0]) if args else 0)
        return "", 0

    async def _grep(self, args, stdin):
        flags, patterns, rest = set(), [], []
        it = iter(args)
        for a in it:
            if a == "-e":
                patterns.append(next(it, ""))
            elif a.startswith("-") and len(a) > 1 and not patterns and not rest:
                flags.update(a[1:])
            else:
                rest.append(a)
        if not patterns and rest:
            patterns.append(rest.pop(0))
        try:
            rx = [re.compile(p if ("E" in flags or "F" not in flags) else re.escape(p),
                             re.I if "i" in flags else 0) for p in patterns]
        except re.error as exc:
            return f"grep: bad regex: {exc}\n", 2
        keep = [ln for ln in stdin.splitlines(keepends=True)
                if any(r.search(ln) for r in rx) != ("v" in flags)]
        return "" if "q" in flags else "".join(keep), 0 if keep else 1

    async def _head(self, args, stdin):
        n = 10
        if len(args) >= 2 and args[0] == "-n":
            n = int(args[1])
        elif args and args[0].startswith("-") and args[0][1:].isdigit():
            n = int(args[0][1:])
        return "".join(stdin.splitlines(keepends=True)[:n]), 0

    async def _cat(self, args, stdin):
        if not args:
            return stdin, 0
        out = []
        for path in args:
            data = self.storage.file(path)
            if data is None:
                return "".join(out) + f"cat: {path}: No such file or directory\n", 1
            out.append(data.decode(errors="replace"))
        return "".join(out), 0

    async def _sha256sum(self, args, stdin):
        out, code = [], 0
        for path in args:
            data = self.storage.file(path)
            if data is None:
                out.append(f"sha256sum: {path}: No such file or directory\n")
                code = 1
            else:
                out.append(f"{hashlib.sha256(data).hexdigest()}  {path}\n")
        return "".join(out), code

    async def _stat(self, args, stdin):
        fmt, paths = "%n", []
        it = iter(args)
        for a in it:
            if a == "-c":
                fmt = next(it, "%n")
            else:
                paths.append(a)
        out = []
        for path in paths:
            st = self.storage.stat(path)
            if st is None:
                return "".join(out) + f"stat: '{path}': No such file or directory\n", 1
            mode, size, mtime = st
            out.append(fmt.replace("%s", str(size)).replace("%Y", str(mtime))
                       .replace("%n", path).replace("%a", oct(mode & 0o777)[2:]) + "\n")
        return "".join(out), 0

    async def _ls(self, args, stdin):
        files, dirs = self.storage.files, self.storage.dirs
        paths = [a for a in args if not a.startswith("-")] or ["/sdcard"]
        out = []
        for path in paths:
            p = self.storage.norm(path)
            if p in files:
                out.append(path + "\n")
            elif p in dirs:
                names = sorted({f[len(p) + 1:].split("/")[0] for f in list(files) + list(dirs)
                                if f.startswith(p + "/") and f != p})
                out.extend(n + "\n" for n in names)
            else:
                return "".join(out) + f"ls: {path}: No such file or directory\n", 1
        return "".join(out), 0

    async def _mkdir(self, args, stdin):
        for a in args:
            if a.startswith("-"):
                continue
            p = self.storage.norm(a)
            while p not in self.storage.dirs:
                self.storage.dirs.add(p)
                p = p.rsplit("/", 1)[0] or "/"
        return "", 0

    async def _touch(self, args, stdin):
        for a in args:
            if a.startswith("-"):
                continue
            try:
                if self.storage.stat(a) is None:
                    self.storage.push(a, b"", stat_module.S_IFREG | 0o644, int(time.time()))
            except OSError as exc:
                return f"touch: '{a}': {str(exc).split(': ', 1)[-1]}\n", 1
        return "", 0

    async def _rm(self, args, stdin):
        force = any(a.startswith("-") and "f" in a for a in args)
        for a in args:
            if a.startswith("-"):
                continue
            if self.storage.files.pop(self.storage.norm(a), None) is None and not force:
                return f"rm: {a}: No such file or directory\n", 1
        return "", 0
