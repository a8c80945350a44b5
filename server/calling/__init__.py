"""Calling: what the server decides while phones call.

- ``engine``: the CallingEngine, which applies what phones report and keeps
  the live picture (I/O orchestration: storage, notifications, locks).
- ``policy``: the pure decisions (lease refusal, retries, claim refusal,
  what a call event changes), on plain values and a given clock reading.
- ``live``: the live state of a phone and of an open call, and how the
  dashboard shows them.
- ``routing``: which agent line a voter who pressed 1 gets.
"""


class EngineError(Exception):
    """A phone message the engine refuses: ``code`` (``phone_agent.protocol``)
    and ``message`` go back to the phone in its acknowledgement."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message
