"""The live dashboard's socket (/manager) obeys the console's session and
접근관리: refused without a usable session or from a blocked address, and
closed the moment its session ends (log-out, password change, idle time,
an allow-list that no longer admits it). In-process through Flask-SocketIO's
test client (it carries the Flask test client's cookies and address); the
last test runs the real server and a real Socket.IO client over loopback."""

from __future__ import annotations

import pytest
import requests
import socketio as socketio_client
from click.testing import CliRunner

from server.cli import cli
from server.console.dashboard import MANAGERS_ROOM

from .calling import Console, wait_until
from .conftest import MANAGER_ID, PIN, LiveServer, Manager


def dashboard_socket(app, client):
    return app.extensions["socketio"].test_client(app, namespace="/manager", flask_test_client=client)


def broadcast(app, marker: str) -> None:
    """What the dashboard loop does: one update to every manager's socket."""
    app.extensions["socketio"].emit("dashboard", {"marker": marker}, namespace="/manager", to=MANAGERS_ROOM)


def received(socket) -> list:
    """The dashboard updates that reached this socket (kept by the test client
    even after the server closed it)."""
    return [event["args"][0]["marker"] for event in socket.queue
            if event["namespace"] == "/manager" and event["name"] == "dashboard"]


def logged_in_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    assert Manager(client).login().status_code == 302
    return client


def test_without_a_login_the_dashboard_socket_is_refused(app, client):
    assert not dashboard_socket(app, client).is_connected("/manager")


def test_a_logged_in_manager_gets_dashboard_updates(app, logged_in, client):
    socket = dashboard_socket(app, client)
    assert socket.is_connected("/manager")
    broadcast(app, "first")
    assert received(socket) == ["first"]


def test_a_blocked_address_cannot_open_the_dashboard_socket(app, logged_in):
    logged_in.post("/settings/access", {"networks": "172.16.0.0/24", "pin": PIN})
    inside = logged_in_from(app, "172.16.0.77")
    assert dashboard_socket(app, inside).is_connected("/manager")
    # The same session's cookie, from an address the allow-list does not admit.
    outside = app.test_client()
    outside.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    outside.set_cookie("session", inside.get_cookie("session").value)
    assert not dashboard_socket(app, outside).is_connected("/manager")


def test_logout_in_another_tab_closes_the_live_socket(app, logged_in, client):
    socket = dashboard_socket(app, client)
    assert socket.is_connected("/manager")
    logged_in.logout()
    assert not socket.is_connected("/manager")
    broadcast(app, "after logout")
    assert "after logout" not in received(socket)
    assert not dashboard_socket(app, client).is_connected("/manager")   # nor can it come back


def test_idle_expiry_closes_the_live_socket(app, logged_in, client, clock):
    socket = dashboard_socket(app, client)
    other = logged_in_from(app, "127.0.0.7")
    busy = dashboard_socket(app, other)
    clock.advance(20 * 60)
    assert other.get("/home").status_code == 200       # this one is in use
    clock.advance(11 * 60)
    app.extensions["ars_live"].session_sweep()          # the dashboard loop runs it before each update
    assert not socket.is_connected("/manager")
    assert busy.is_connected("/manager")
    broadcast(app, "later")
    assert received(busy)[-1:] == ["later"] and "later" not in received(socket)
    assert client.get("/home").status_code == 302        # the session itself is over


def test_a_password_changed_from_the_command_line_closes_the_live_socket(app, logged_in, client):
    socket = dashboard_socket(app, client)
    result = CliRunner().invoke(cli, ["create-manager", "--db", app.config["DATABASE"], "--id", MANAGER_ID,
                                      "--password", "another long one", "--pin", "9753", "--update"])
    assert result.exit_code == 0, result.output
    assert socket.is_connected("/manager")               # another process: found by the sweep
    app.extensions["ars_live"].session_sweep()
    assert not socket.is_connected("/manager")


def test_an_allow_list_change_closes_sockets_it_excludes(app, logged_in):
    outside = logged_in_from(app, "10.9.9.9")
    socket = dashboard_socket(app, outside)
    assert socket.is_connected("/manager")
    logged_in.post("/settings/access", {"networks": "172.16.0.0/24", "pin": PIN})
    assert not socket.is_connected("/manager")


@pytest.mark.slow
def test_over_loopback_the_live_socket_is_closed_on_logout_and_on_idle_expiry(tmp_path):
    server = LiveServer(tmp_path, config={"session_idle_s": 2})
    try:
        def connect(console: Console):
            client = socketio_client.Client(reconnection=False)
            cookie = "; ".join(f"{c.name}={c.value}" for c in console.http.cookies)
            client.connect(server.url, namespaces=["/manager"], headers={"Cookie": cookie},
                           transports=["websocket"], wait_timeout=10)
            return client

        console = Console(server.url)
        client = connect(console)
        assert client.connected
        console.post("/logout")
        wait_until(lambda: not client.connected, timeout=10, message="socket closed after log-out")
        refused = socketio_client.Client(reconnection=False)
        with pytest.raises(socketio_client.exceptions.ConnectionError):
            refused.connect(server.url, namespaces=["/manager"], transports=["websocket"],
                            headers={"Cookie": "; ".join(f"{c.name}={c.value}" for c in console.http.cookies)},
                            wait_timeout=10)
        idle = connect(Console(server.url))
        assert idle.connected
        wait_until(lambda: not idle.connected, timeout=15, message="socket closed after 2 s idle")
        assert requests.get(f"{server.url}/home", allow_redirects=False).status_code == 302
    finally:
        server.stop()
