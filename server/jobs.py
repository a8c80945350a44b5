"""Long work (parsing a million-row call list) off the request path.

Under eventlet a pandas parse would freeze every green thread (the dashboard,
the phones) for seconds, so this work runs in real OS threads: eventlet's
``tpool`` for one blocking call, or an original (unpatched) thread for a job
whose progress the browser polls. Without eventlet (tests, the CLI) plain
threads do the same.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


def _eventlet_patched() -> bool:
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher
    return patcher.is_monkey_patched("thread")


def run_blocking(fn: Callable, *args, **kwargs):
    """Call ``fn`` where it cannot stall the event loop; return its result."""
    if _eventlet_patched():
        from eventlet import tpool
        return tpool.execute(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def real_lock():
    """A lock that works across real OS threads even when eventlet has patched
    ``threading`` (a patched Lock is a green lock, meaningless to tpool threads)."""
    if _eventlet_patched():
        from eventlet import patcher
        return patcher.original("threading").Lock()
    return threading.Lock()


class Writer:
    """One SQLite connection that a component's reads and writes go through,
    one at a time (one writer per component).

    ``writer(fn, *args)`` runs ``fn(conn, *args)`` and returns its result.

    ``inline=True`` (the calling engine) runs ``fn`` right where it is called:
    each statement takes well under a millisecond, and handing it to a thread
    pool cost more than the work (measured at 500 phones: tens of ms per
    acknowledgement, mostly waiting on the pool). So that the event loop never
    waits on SQLite's file lock (a million-row import holds it for seconds),
    the connection does not wait either (busy_timeout 0): a write that finds
    the database locked is retried after a short sleep, which yields to the
    other green threads under eventlet. ``connect`` must then give such a
    connection (``db.connect(path, lock_wait_s=0)``).

    ``inline=False`` (slow reads, e.g. dashboard counters over a big
    campaign) runs ``fn`` in a real thread via ``run_blocking``.
    """

    RETRY_FOR_S = 60.0

    def __init__(self, connect: Callable[[], Any], *, inline: bool = False):
        self._connect = connect
        self._conn = None
        self._lock = real_lock()
        self.inline = inline

    def __call__(self, fn: Callable, *args, **kwargs):
        if not self.inline:
            return run_blocking(self._run, fn, args, kwargs)
        delay, waited = 0.002, 0.0
        while True:
            try:
                return self._run(fn, args, kwargs)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if waited >= self.RETRY_FOR_S:
                    raise
                time.sleep(delay)   # green under eventlet: other phones go on meanwhile
                waited += delay
                delay = min(delay * 2, 0.1)

    def _run(self, fn, args, kwargs):
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return fn(self._conn, *args, **kwargs)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.conn.close()
                self._conn = None


def _real_thread(target: Callable, name: str):
    if _eventlet_patched():
        from eventlet import patcher
        thread_cls = patcher.original("threading").Thread
    else:
        thread_cls = threading.Thread
    thread = thread_cls(target=target, name=name, daemon=True)
    thread.start()
    return thread


@dataclass
class Job:
    id: str
    kind: str
    owner: Any
    state: str = "running"          # running | ready | done | error | cancelled
    stage: str = ""
    fraction: float = 0.0
    error: str | None = None
    # the Korean message of ``error`` for server.i18n, when the error had one
    error_template: str | None = None
    error_values: dict = field(default_factory=dict)
    result: Any = None
    data: dict = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    # called (with the job) when the registry forgets it after keep_s, e.g. a
    # preview never imported: its uploaded file goes too
    on_forget: Callable[["Job"], None] | None = None

    def progress(self, stage: str, fraction: float) -> None:
        self.stage, self.fraction = stage, max(0.0, min(1.0, fraction))


class JobRegistry:
    """In-memory jobs of one server process, each visible to its owner only."""

    keep_s = 3600

    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, owner, work: Callable[[Job], Any], *, done_state: str = "done",
              job: Job | None = None) -> Job:
        """Run ``work(job)`` in a real thread; its return value becomes ``job.result``.
        An exception whose class has a ``user_message`` (or is a ValueError) becomes
        ``job.error`` (with its ``template``/``values`` when it has them); one whose
        ``kind`` is ``cancelled`` ends the job ``cancelled``; anything else is
        logged and reported as an internal error."""
        if job is None:
            job = Job(id=secrets.token_urlsafe(12), kind=kind, owner=owner)
            with self._lock:
                self._purge()
                self._jobs[job.id] = job
        job.state, job.error, job.error_template, job.error_values = "running", None, None, {}

        def run():
            try:
                job.result = work(job)
                if job.state == "running":
                    job.state = done_state
            except Exception as exc:  # reported to the page, never lost
                known = getattr(exc, "user_message", None) or (
                    str(exc) if isinstance(exc, (ValueError, LookupError)) else None)
                if known is None:
                    log.exception("job %s (%s) failed", job.id, kind)
                job.error = known or f"internal error: {type(exc).__name__}"
                from .i18n import korean_template
                job.error_template = korean_template(exc) if known else None
                job.error_values = dict(getattr(exc, "values", None) or {}) if known else {}
                job.state = "cancelled" if getattr(exc, "kind", None) == "cancelled" else "error"

        _real_thread(run, f"job-{kind}-{job.id}")
        return job

    def get(self, job_id: str, owner) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def discard(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def _purge(self) -> None:
        old = time.time() - self.keep_s
        for job_id in [j.id for j in self._jobs.values() if j.started < old and j.state != "running"]:
            job = self._jobs.pop(job_id)
            if job.on_forget is not None:
                try:
                    job.on_forget(job)
                except Exception:   # forgetting one job must not stop the next upload
                    log.exception("job %s (%s): clean-up failed", job.id, job.kind)
