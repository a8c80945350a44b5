"""Pytest fixtures over the simulator's private adb server
(:mod:`phone_agent.simulator.virtual.adb_server`, which also says how it is
isolated), for tests that drive phones through adb.

Use the fixtures by importing them into a test module (``conftest.py`` stays
untouched)::

    from tests.adb_fixtures import adb_server, adb_client, virtual_phones  # noqa: F401

    def test_echo(adb_client, virtual_phones):
        phones = virtual_phones(2)                  # EchoDevice phones, connected
        device = adb_client.device(phones.serials[0])
        assert device.shell("echo hi") == "hi"

The binary is the one the adbutils wheel ships (adb 36 here).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import re
import warnings
from typing import Callable

import adbutils
import pytest

from phone_agent.simulator.virtual import EchoDevice, VirtualPhoneSet
from phone_agent.simulator.virtual.adb_server import LOOPBACK, AdbServer

__all__ = ["expect_adb_error", "adb_server", "adb_client", "virtual_phones"]


def expect_adb_error(call: Callable[[], object], match: str = "") -> str:
    """``call()`` must raise ``adbutils.AdbError`` matching ``match``; its message.

    Also closes the socket adbutils leaks when the server refuses a device
    command: adbutils 2.12 ``open_transport`` does not close its connection
    when ``check_okay`` fails ("device offline", "device unauthorized"), and
    under ``filterwarnings = error`` the ResourceWarning would fail whichever
    test the garbage collector happens to run in. (A ``with`` block cannot do
    this: the exception, and the frames holding the socket, live until its
    ``__exit__`` has returned.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            call()
        except adbutils.AdbError as exc:
            message = str(exc)
        else:
            raise AssertionError("adb did not refuse")
        gc.collect()
    assert re.search(match, message), f"{message!r} does not match {match!r}"
    return message


_shared: AdbServer | None = None


def _stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


@pytest.fixture(scope="session")
def adb_server() -> AdbServer:
    """One private adb server for the whole test session (shared across modules)."""
    global _shared
    if _shared is None:
        _shared = AdbServer().start()
        atexit.register(_stop_shared)
    # Any adbutils call that finds no server would start one on
    # ANDROID_ADB_SERVER_PORT: make that this private port, never 5037.
    previous = os.environ.get("ANDROID_ADB_SERVER_PORT")
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(_shared.port)
    yield _shared
    if previous is None:
        os.environ.pop("ANDROID_ADB_SERVER_PORT", None)
    else:
        os.environ["ANDROID_ADB_SERVER_PORT"] = previous
    _stop_shared()


@pytest.fixture
def adb_client(adb_server) -> adbutils.AdbClient:
    return adb_server.client()


@pytest.fixture
def virtual_phones(adb_server) -> Callable[..., VirtualPhoneSet]:
    """``virtual_phones(n, make_behaviour=EchoDevice, connect=True, **options)``.

    Starts ``n`` virtual phones on free loopback ports on their own event-loop
    thread, ``adb connect``s each (unless ``connect=False``) and waits until
    it shows ``device``. Everything is disconnected and stopped afterwards.
    """
    client = adb_server.client()
    with contextlib.ExitStack() as stack:

        def start(count: int = 1, make_behaviour: Callable = EchoDevice, *,
                  connect: bool = True, **options) -> VirtualPhoneSet:
            options.setdefault("base_port", 0)
            options.setdefault("host", LOOPBACK)
            phones = stack.enter_context(VirtualPhoneSet(count, make_behaviour,
                                                         **options).in_thread())
            stack.callback(_disconnect, client, phones.serials)
            if connect:
                for serial in phones.serials:
                    answer = client.connect(serial, timeout=10)
                    assert answer.startswith(("connected to", "already connected")), answer
                    adb_server.wait_for(serial, "device")
            return phones

        yield start


def _disconnect(client: adbutils.AdbClient, serials: list[str]) -> None:
    for serial in serials:
        client.disconnect(serial)
