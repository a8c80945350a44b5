"""Retry delays: the one backoff every reconnect and retry loop of the phone
agent takes its waits from.

:class:`Backoff` hands out the next delay — ``first``, then multiplied by
``factor`` after each failure, never more than ``longest`` — optionally
spread by ``jitter`` (each delay scaled by a random factor in
``[1 - jitter, 1 + jitter)``, after the cap), so phones that lost the
server together do not come back together. :meth:`Backoff.reset` after a
success starts again from ``first``.

It only counts and computes: the loop does its own waiting (``asyncio.sleep``,
an event with a timeout, a thread's ``Event.wait``, a "not before" time),
so a loop that can be woken early keeps that ability::

    backoff = Backoff(0.5, 10.0, jitter=0.5)
    while True:
        try:
            await connect()
        except OSError:
            await asyncio.sleep(backoff.next())
            continue
        backoff.reset()
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Growing delays with a cap and optional jitter; see the module docstring."""

    def __init__(self, first: float, longest: float, *, factor: float = 2.0, jitter: float = 0.0,
                 rng: random.Random | None = None):
        if first < 0 or longest < 0:
            raise ValueError(f"delays cannot be negative: {first}, {longest}")
        if factor < 1 or not 0 <= jitter < 1:
            raise ValueError(f"need factor >= 1 and 0 <= jitter < 1, not {factor} and {jitter}")
        self.first = first
        self.longest = longest
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random
        self._delay = first
        self.failures = 0  # next() calls since the last reset

    def next(self) -> float:
        """The delay to wait now; the one after it is longer (up to ``longest``)."""
        delay = min(self._delay, self.longest)
        self._delay = delay * self.factor
        self.failures += 1
        if self.jitter:
            delay *= 1.0 - self.jitter + 2.0 * self.jitter * self._rng.random()
        return delay

    def reset(self) -> None:
        """After a success: the next delay is ``first`` again."""
        self._delay = self.first
        self.failures = 0
