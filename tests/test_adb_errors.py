"""What the adb backend makes of adb's errors: one map from what adbutils,
the adb server and sockets raise to our typed errors, each with the short
reason the console shows for the phone."""

from __future__ import annotations

import socket

import adbutils
import pytest
from adbutils.errors import AdbConnectionError

from phone_agent.telephony.adb import AdbServerUnreachable, adb_error
from phone_agent.telephony.adb.errors import SessionBroken, state_error
from phone_agent.telephony.adb.transport import Transport
from phone_agent.telephony.base import (AudioError, ConnectionLost, DeviceNotAnswering,
                                        DeviceNotConnected, DeviceOffline, DeviceUnauthorized,
                                        DeviceUnavailable)
from phone_agent.simulator.virtual.adb_server import free_port
from tests.adb_fixtures import adb_server  # noqa: F401  (fixture)


def raised(call) -> BaseException:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the error is what is tested
        return exc
    raise AssertionError("nothing was raised")


@pytest.mark.parametrize("exc, kind, reason", [
    # What adbutils raises when no adb server answers its port (built here: reaching
    # for a missing server makes adbutils start one on the default port).
    (AdbConnectionError("connect to adb server failed: [Errno 111] Connection refused"),
     AdbServerUnreachable, "adb server unreachable (connect to adb server failed: [Errno 111] "
                           "Connection refused)"),
    (adbutils.AdbTimeout("connect to adb server timeout"), DeviceNotAnswering,
     "not answering (connect to adb server timeout)"),
])
def test_no_adb_server_is_adb_server_unreachable_or_not_answering(exc, kind, reason):
    error = adb_error(exc)
    assert type(error) is kind and str(error) == reason


def test_an_adb_server_that_does_not_answer_is_not_answering():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        client = adbutils.AdbClient(host="127.0.0.1", port=silent.getsockname()[1])

        def ask():
            with client.make_connection(timeout=0.3) as conn:
                conn.send_command("host:devices")
                conn.check_okay()

        error = adb_error(raised(ask))
    finally:
        silent.close()
    assert isinstance(error, DeviceNotAnswering) and str(error).startswith("not answering (")


def test_a_phone_the_adb_server_does_not_know_is_not_connected(adb_server):
    transport = Transport(adb_server.client(), f"127.0.0.1:{free_port()}", 5.0)
    error = adb_error(raised(transport.state))
    assert isinstance(error, DeviceNotConnected) and str(error) == "not connected"


@pytest.mark.parametrize("message, kind, reason", [
    # The adb server's FAIL texts, as adbutils raises them (AdbError with the text only).
    ("device offline", DeviceOffline, "offline"),
    ("device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set\n", DeviceUnauthorized,
     "unauthorized: accept the debugging prompt on the phone"),
    ("device '172.16.0.23:5555' not found", DeviceNotConnected, "not connected"),
    ("closed", DeviceUnavailable, "closed"),
])
def test_the_adb_servers_refusals_map_to_their_kind(message, kind, reason):
    error = adb_error(adbutils.AdbError(message))
    assert type(error) is kind and str(error) == reason


@pytest.mark.parametrize("exc, reason", [
    (SessionBroken("shell closed by the phone"), "connection lost (shell closed by the phone)"),
    (ConnectionResetError(104, "Connection reset by peer"), "connection lost ([Errno 104] Connection reset by peer)"),
    (EOFError(), "connection lost (EOFError)"),
])
def test_a_broken_connection_is_connection_lost(exc, reason):
    error = adb_error(exc)
    assert isinstance(error, ConnectionLost) and str(error) == reason


def test_our_own_errors_keep_their_kind_and_text():
    offline = DeviceOffline("offline")
    assert adb_error(offline) is offline
    assert type(adb_error(AudioError("no helper"))) is DeviceUnavailable
    assert str(adb_error(AudioError("no helper"))) == "no helper"


@pytest.mark.parametrize("state, answer, kind, reason", [
    ("unauthorized", "", DeviceUnauthorized, "unauthorized: accept the debugging prompt on the phone"),
    ("offline", "", DeviceOffline, "offline"),
    ("offline", "failed to authenticate", DeviceOffline, "offline (adb connect: failed to authenticate)"),
    ("recovery", "", DeviceUnavailable, "recovery"),
])
def test_a_phone_adb_lists_in_another_state_than_device(state, answer, kind, reason):
    error = state_error(state, answer)
    assert type(error) is kind and str(error) == reason
