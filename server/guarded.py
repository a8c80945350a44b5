"""One step of risky work (parsing an uploaded file) in a child process that
may die without taking the server with it.

The parent starts ``python -m MODULE`` (a fresh interpreter: never a fork of
the server, whose standard library eventlet has patched; docs/decisions.md
#51), gives it the request as one JSON line on stdin and reads JSON lines
back on its stdout: ``{"progress": [stage, fraction]}`` any number of times,
then ``{"result": …}`` or ``{"error": …}``. The child caps its own address
space (``RLIMIT_AS``) before it reads anything; the parent kills it when the
time limit passes or when the manager cancels. Whatever happens in the child
(MemoryError, an abort in native code, the kernel's OOM killer, a hang), the
parent gets a :class:`ChildFailed` with a Korean message and a ``kind``.

The parent side blocks: call :meth:`GuardedRun.run` from a real OS thread
(``server.jobs``). The child side is :func:`child_main`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[1]
#: What a native library says on stderr when an allocation fails (Rust's
#: alloc error handler, C++, glibc) before it aborts.
_OUT_OF_MEMORY = ("memory allocation of", "std::bad_alloc", "Cannot allocate memory", "MemoryError")
_MAX_LINE = 16 << 20


@dataclass(frozen=True)
class Limits:
    """What one child may use: bytes of address space and seconds of wall time."""

    memory_bytes: int = 1536 << 20
    timeout_s: float = 300.0


class ChildFailed(Exception):
    """The child did not deliver a result. ``kind``: ``refused`` (the work said
    no, e.g. a file over a cap), ``memory``, ``timeout``, ``crashed`` or
    ``cancelled``; ``template``/``values`` are the Korean message for
    ``server.i18n``; ``message`` is it filled in."""

    def __init__(self, kind: str, template: str, **values):
        self.kind = kind
        self.template = template
        self.values = values
        self.message = template.format(**values)
        super().__init__(self.message)

    @property
    def user_message(self) -> str:
        return self.message


MEMORY = "파일을 읽는 데 메모리가 부족합니다 (한도 {limit_mb:,} MB)."
TIMEOUT = "파일을 읽는 데 시간이 너무 오래 걸립니다 ({seconds:,}초)."
CRASHED = "파일을 읽다가 처리 과정이 비정상 종료되었습니다 ({reason})."
CANCELLED = "취소했습니다."


def _std_modules():
    """subprocess and threading as the interpreter has them, even when eventlet
    has patched them (this runs in a real OS thread, not a green one)."""
    from .jobs import _eventlet_patched
    if _eventlet_patched():
        from eventlet import patcher
        return patcher.original("subprocess"), patcher.original("threading")
    import subprocess
    import threading
    return subprocess, threading


class GuardedRun:
    """``GuardedRun("server.contacts.import_child", request, limits, progress).run()``."""

    def __init__(self, module: str, request: dict, limits: Limits = Limits(),
                 progress: Callable[[str, float], None] | None = None):
        self.module = module
        self.request = request
        self.limits = limits
        self.progress = progress
        self.process = None
        self.cancelled = False
        self.timed_out = False

    def cancel(self) -> None:
        """Kill the child now (or never start it); :meth:`run` raises ``cancelled``."""
        self.cancelled = True
        process = self.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()

    def run(self) -> dict:
        subprocess, threading = _std_modules()
        if self.cancelled:
            raise ChildFailed("cancelled", CANCELLED)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   RUST_BACKTRACE="0",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")])))
        request = dict(self.request, _memory_bytes=int(self.limits.memory_bytes))
        messages: list[dict] = []
        with tempfile.TemporaryFile() as errors:
            self.process = process = subprocess.Popen(
                [sys.executable, "-m", self.module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=errors, env=env, start_new_session=True)
            if self.cancelled:   # cancelled while starting
                self.cancel()
            reader = threading.Thread(target=self._read, args=(process.stdout, messages),
                                      name=f"guarded-{process.pid}", daemon=True)
            reader.start()
            try:
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.close()
            except OSError:
                pass   # it died already; its exit status says why
            try:
                process.wait(timeout=self.limits.timeout_s)
            except subprocess.TimeoutExpired:
                self.timed_out = True
                self.cancel()
                process.wait()
            reader.join(timeout=10)
            errors.seek(0)
            head = errors.read(4096)
            errors.seek(0, 2)
            errors.seek(max(len(head), errors.tell() - 4096))
            said = (head + errors.read()).decode("utf-8", "replace")
        return self._outcome(process.returncode, messages, said)

    def _read(self, stream, messages: list[dict]) -> None:
        for line in iter(lambda: stream.readline(_MAX_LINE), b""):
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if "progress" in message and self.progress is not None:
                try:
                    stage, fraction = message["progress"]
                    self.progress(str(stage), float(fraction))
                except (TypeError, ValueError):
                    pass
            elif "result" in message or "error" in message:
                messages.append(message)
        stream.close()

    def _outcome(self, code: int, messages: list[dict], stderr: str) -> dict:
        if self.cancelled and not self.timed_out:
            raise ChildFailed("cancelled", CANCELLED)
        if self.timed_out:
            raise ChildFailed("timeout", TIMEOUT, seconds=round(self.limits.timeout_s))
        final = messages[-1] if messages else {}
        if code == 0 and "result" in final:
            return final["result"]
        error = final.get("error") if isinstance(final.get("error"), dict) else None
        limit_mb = self.limits.memory_bytes >> 20
        if error is not None and error.get("kind") == "refused" and isinstance(error.get("template"), str):
            values = error.get("values") if isinstance(error.get("values"), dict) else {}
            try:
                return_error = ChildFailed("refused", error["template"], **values)
            except (KeyError, IndexError, ValueError):
                return_error = ChildFailed("refused", "{message}", message=str(error.get("message", "")))
            raise return_error
        if (error is not None and error.get("kind") == "memory") or code == -signal.SIGKILL \
                or any(sign in stderr for sign in _OUT_OF_MEMORY):
            # MemoryError in Python; a native allocator's abort; the kernel's OOM killer
            log.warning("guarded %s: out of memory (exit %s, limit %d MB)", self.module, code, limit_mb)
            raise ChildFailed("memory", MEMORY, limit_mb=limit_mb)
        reason = (f"신호 {-code}" if code < 0 else f"종료 코드 {code}") if not error else \
            str(error.get("type") or "오류")[:80]
        log.warning("guarded %s failed: exit %s, %s", self.module, code,
                    str(error.get("type")) if error else "no answer")
        raise ChildFailed("crashed", CRASHED, reason=reason)


# -- the child's side ----------------------------------------------------------


def _plain(value):
    """JSON for numpy scalars and other values our results may hold."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return str(value)


def child_main(handler: Callable[[dict, Callable[[str, float], None]], dict]) -> None:
    """Run ``handler(request, progress)`` as the child: limits first, then the
    work; every outcome is one JSON line on the original stdout."""
    import resource
    request = json.loads(sys.stdin.buffer.readline() or b"{}")
    limit = int(request.pop("_memory_bytes", 0) or 0)
    if limit > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)   # a lower limit set from outside stays
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard if hard != resource.RLIM_INFINITY else limit))
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)   # a stray print goes to stderr, never into the answer
    sys.stdout = sys.stderr
    last = {"at": 0.0}

    def send(message: dict) -> None:
        out.write(json.dumps(message, ensure_ascii=False, default=_plain) + "\n")
        out.flush()

    def progress(stage: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction in (0.0, 1.0) or now - last["at"] >= 0.2:
            last["at"] = now
            send({"progress": [stage, round(float(fraction), 3)]})

    code = 0
    try:
        send({"result": handler(request, progress)})
    except MemoryError:
        send({"error": {"kind": "memory"}})
        code = 3
    except Exception as exc:   # every failure is reported; the parent decides what the manager sees
        template = getattr(exc, "template", None)
        if template is None and isinstance(exc, ValueError):
            template, values = "{message}", {"message": str(exc)}
        else:
            values = getattr(exc, "values", {})
        if template is not None:
            send({"error": {"kind": "refused", "template": template, "values": values}})
            code = 2
        else:
            import traceback
            traceback.print_exc()
            send({"error": {"kind": "crashed", "type": type(exc).__name__}})
            code = 1
    out.close()
    sys.exit(code)
