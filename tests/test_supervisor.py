"""Router mode (공유기접속): the adb supervisor scans addresses, enrols what
answers and runs a campaign through the real adb server.

The phones are virtual handsets (phone_agent.simulator.virtual) on 127.0.0.2-4 at one
port — handset-like addresses for a scan range — behind the private adb
server of tests/adb_fixtures.py; the server is a real ``ars serve``. Also the
scan-range parser and the refusals of the two commands.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from click.testing import CliRunner

from phone_agent.script import ScriptConfig
from phone_agent.enrol import TokenStore
from phone_agent.supervisor import AdbSupervisor, ScanSpecError, parse_scan, phone_name
from phone_agent.simulator.virtual.adb_server import free_port
from phone_agent.simulator.virtual.rack import VirtualRack
from phone_agent.simulator.virtual.serve import scan_hint, virtual_addresses
from server import db
from server.cli import cli
from tests.adb_fixtures import adb_server  # noqa: F401  (fixture)

from .calling import Console
from .test_campaign_fleet import (ENROL_KEY, assert_each_contact_dialled_once, campaign_server,
                                  campaign_state, records)


# -- the scan range ----------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("127.0.0.23", ["127.0.0.23:5555"]),
    ("127.0.0.23:5556", ["127.0.0.23:5556"]),
    ("127.0.0.20-127.0.0.22", ["127.0.0.20:5555", "127.0.0.21:5555", "127.0.0.22:5555"]),
    ("127.0.0.20-22", ["127.0.0.20:5555", "127.0.0.21:5555", "127.0.0.22:5555"]),
    ("127.0.0.20-22:40000", ["127.0.0.20:40000", "127.0.0.21:40000", "127.0.0.22:40000"]),
    ("127.0.0.0/30", ["127.0.0.1:5555", "127.0.0.2:5555"]),
    ("127.0.0.8/31", ["127.0.0.8:5555", "127.0.0.9:5555"]),
    ("127.0.0.8/32:7000", ["127.0.0.8:7000"]),
    ("127.0.0.254-127.0.1.1", ["127.0.0.254:5555", "127.0.0.255:5555", "127.0.1.0:5555", "127.0.1.1:5555"]),
    (" 127.0.0.3, 127.0.0.2-3 ,127.0.0.3:6000", ["127.0.0.3:5555", "127.0.0.2:5555", "127.0.0.3:6000"]),
    ("127.0.0.7-7", ["127.0.0.7:5555"]),
])
def test_scan_specs(spec, expected):
    assert parse_scan(spec) == expected


def test_scan_default_port_and_limit():
    assert parse_scan("127.0.0.5", default_port=5556) == ["127.0.0.5:5556"]
    assert len(parse_scan("127.0.0.0/22")) == 1022
    assert len(parse_scan("127.0.0.0-127.0.3.255")) == 1024


@pytest.mark.parametrize("spec, message", [
    ("", "no address given"),
    (" , ", "no address given"),
    ("127.0.0.1,,127.0.0.2", "empty part"),
    ("127.0.0.300", "'127.0.0.300' is not an IPv4 address, range"),
    ("phone-07", "'phone-07' is not an IPv4 address, range"),
    ("127.0.0.20-10", "ends before it starts"),
    ("127.0.0.20-300", "last octet 0-255"),
    ("127.0.0.20-x", "last octet 0-255"),
    ("127.0.0.20-127.0.0", "'127.0.0' is not an IPv4 address"),
    ("127.0.0.1:0", "'0' is not a TCP port"),
    ("127.0.0.1:70000", "'70000' is not a TCP port"),
    ("127.0.0.1:", "'' is not a TCP port"),
    ("127.0.0.1:adb", "'adb' is not a TCP port"),
    ("::1", "only IPv4"),
    ("127.0.0.1/28", "not an IPv4 network"),
    ("127.0.0.0/33", "not an IPv4 network"),
    ("127.0.0.0/16", "more than 1024 addresses"),
    ("127.0.0.0/22,127.0.8.0-3", "more than 1024 addresses"),
])
def test_bad_scan_specs_are_refused_with_the_reason(spec, message):
    with pytest.raises(ScanSpecError, match=message):
        parse_scan(spec)


def test_phone_names():
    assert phone_name("127.0.0.23:5555") == "router-127.0.0.23"
    assert phone_name("127.0.0.23:5556") == "router-127.0.0.23:5556"
    assert phone_name("R3CR40ABCDE") == "router-R3CR40ABCDE"


# -- virtual phones' addresses ------------------------------------------------------------------

def test_virtual_phone_addresses():
    assert virtual_addresses(3, "127.0.0.2", 5555, "host") == [
        ("127.0.0.2", 5555), ("127.0.0.3", 5555), ("127.0.0.4", 5555)]
    assert virtual_addresses(2, "127.0.0.1", 15555) == [("127.0.0.1", 15555), ("127.0.0.1", 15556)]
    with pytest.raises(ValueError, match="loopback only"):
        virtual_addresses(1, "192.0.2.10")
    with pytest.raises(ValueError, match="not an IPv4 address"):
        virtual_addresses(1, "localhost")
    with pytest.raises(ValueError, match="emulator scan range"):
        virtual_addresses(3, "127.0.0.1", 5553)
    with pytest.raises(ValueError, match="run past 127.255.255.255"):
        virtual_addresses(3, "127.255.255.254", 15555, "host")
    with pytest.raises(ValueError, match="not a TCP port"):
        virtual_addresses(2, "127.0.0.1", 65535)
    assert scan_hint(["127.0.0.2:4000", "127.0.0.3:4000"]) == "127.0.0.2-127.0.0.3:4000"
    assert scan_hint(["127.0.0.1:4000", "127.0.0.1:4001"]) == "127.0.0.1:4000,127.0.0.1:4001"


# -- the commands' refusals ---------------------------------------------------------------------

def test_virtual_phones_command_refuses_addresses_off_loopback():
    result = CliRunner().invoke(cli, ["virtual-phones", "--host", "192.0.2.10"])
    assert result.exit_code == 2
    assert "virtual phones listen on loopback only (127.0.0.0/8), not on 192.0.2.10" in result.output
    result = CliRunner().invoke(cli, ["virtual-phones", "--host", "127.0.0.1", "--base-port", "5555"])
    assert result.exit_code == 2
    assert "127.0.0.1:5555 is in the adb server's emulator scan range" in result.output


def test_phones_adb_command_refuses_a_bad_scan_range(tmp_path):
    database = str(tmp_path / "untouched.db")
    for spec, message in (("127.0.0.9-3", "'127.0.0.9-3': the range ends before it starts"),
                          ("127.0.0.0/8", "covers more than 1024 addresses"),
                          ("127.0.0.1:99999", "'99999' is not a TCP port")):
        result = CliRunner().invoke(cli, ["phones", "adb", "--scan", spec, "--db", database])
        assert result.exit_code == 2, result.output
        assert "Invalid value for --scan" in result.output and message in result.output
    assert not os.path.exists(database)


def test_phones_adb_command_needs_a_key_or_the_servers_database(tmp_path):
    result = CliRunner().invoke(cli, ["phones", "adb", "--scan", "127.0.0.2", "--db",
                                      str(tmp_path / "missing.db")])
    assert result.exit_code == 1
    assert "no database at" in result.output and "--enrol-key" in result.output


# -- end to end ---------------------------------------------------------------------------------

async def until(predicate, timeout: float, message: str, every: float = 0.2):
    """Poll ``predicate`` (a plain function, run in a thread) until truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"{message} not reached within {timeout} s")


def router_phones(server) -> dict[str, dict]:
    store = server.store()
    try:
        rows = store.execute("SELECT id, name, mode FROM phone").fetchall()
        return {row["name"]: dict(row) for row in rows}
    finally:
        store.conn.close()


@pytest.mark.slow
@pytest.mark.xdist_group("fleet")
def test_supervisor_finds_enrols_and_drives_virtual_phones_through_a_campaign(tmp_path, adb_server, caplog):
    contacts = 60
    server = campaign_server(tmp_path, contacts=contacts)
    port = free_port("127.0.0.2")
    rack = VirtualRack(3, seed=3, speed=40, host="127.0.0.2", base_port=port, vary="host")
    serials = rack.serials
    assert serials == [f"127.0.0.{2 + i}:{port}" for i in range(3)]
    state_file = tmp_path / "adb-phones.json"
    client = adb_server.client()

    async def scenario():
        supervisor = AdbSupervisor(server.url, client, parse_scan(f"127.0.0.2-5:{port}"),
                                   enrol_key=ENROL_KEY, state_file=state_file,
                                   cache_dir=tmp_path / "assets", script_config=ScriptConfig(speed=40),
                                   scan_every_s=1.0, backend_options={"retry_s": 1.0})
        rack[2].unauthorized(True)  # its owner has not accepted the debugging prompt yet
        await supervisor.start()
        try:
            await until(lambda: all(supervisor.status().get(s, {}).get("online") for s in serials[:2])
                        and supervisor.status().get(serials[2], {}).get("adb") == "unauthorized",
                        30, "two phones online, one unauthorized")
            assert supervisor.status()[serials[2]]["stage"] == "waiting"
            assert "unauthorized: accept the 'Allow USB debugging?' prompt on the phone" in caplog.text
            rack[2].unauthorized(False)
            await until(lambda: all(supervisor.status()[s]["online"] for s in serials), 30,
                        "every phone joined and online")
            # Nothing answers on 127.0.0.5: that address backs off.
            await until(lambda: supervisor.addresses[f"127.0.0.5:{port}"].failures >= 2, 10,
                        "the empty address tried again")
            assert supervisor.addresses[f"127.0.0.5:{port}"].next_try > time.monotonic()
            Console(server.url).campaign(server.seeded["campaign_id"], "start")
            await until(lambda: records(server)["counters"]["dialled"] >= 6, 30, "calls under way")

            # One phone is switched off mid-run: adb shows it offline, then (as
            # adb does when it gives up on a phone) forgets it.
            gone = serials[1]
            await asyncio.to_thread(rack.loop_thread.run, rack[1].stop())
            await until(lambda: supervisor.status()[gone]["adb"] == "offline", 10, "phone offline")
            await asyncio.to_thread(client.disconnect, gone)
            await until(lambda: supervisor.status()[gone]["adb"] == "gone", 10, "phone gone")
            calls_before = supervisor.status()[gone]["calls"]
            # Switched on again: the scan connects it (or its backend does, reconnecting by itself).
            await asyncio.to_thread(rack.loop_thread.run, rack[1].start())
            await until(lambda: supervisor.status()[gone]["adb"] == "device", 10,
                        "phone connected again")
            await until(lambda: supervisor.status()[gone]["calls"] > calls_before, 40,
                        "the phone calls again")
            await until(lambda: campaign_state(server) == "finished", 90, "campaign finished")
        finally:
            await supervisor.stop()
        return supervisor.status()

    try:
        with rack.in_thread():
            status = asyncio.run(scenario())
        found = records(server)
        assert_each_contact_dialled_once(found, contacts)
        assert all(entry["stage"] == "stopped" for entry in status.values())
        joined = router_phones(server)
        names = [f"router-127.0.0.{2 + i}:{port}" for i in range(3)]
        assert {name: joined[name]["mode"] for name in names} == dict.fromkeys(names, "router")
        tokens = json.loads(state_file.read_text())["servers"][server.url]
        assert {serial: tokens[serial]["phone_id"] for serial in serials} == {
            serial: joined[name]["id"] for serial, name in zip(serials, names)}
        store = server.store()
        try:
            assert db.campaign_counters(store, server.seeded["campaign_id"])["in_progress"] == 0
        finally:
            store.conn.close()
        # 폰 등록 says how each phone hears the call, as its probe (and its calls) found.
        page = Console(server.url).http.get(f"{server.url}/phones/").text
        rows = {name: page[page.index(f'value="{name}"'):][:1500] for name in names}
        for name, row in rows.items():
            assert any(label in row for label in ("통화음 직접 수신", "통화음 혼합 수신", "스피커 방식")), name
            assert "점검 전" not in row and "오디오 불가" not in row, name
    finally:
        for serial in serials:
            client.disconnect(serial)
        server.stop()


@pytest.mark.slow
def test_a_phone_whose_token_the_server_refuses_joins_again(tmp_path, adb_server):
    server = campaign_server(tmp_path, contacts=1)
    port = free_port("127.0.0.2")
    rack = VirtualRack(1, seed=5, host="127.0.0.2", base_port=port, vary="host")
    serial = rack.serials[0]
    state_file = tmp_path / "adb-phones.json"
    TokenStore(state_file, server.url).put(serial, {"token": "not-a-token", "phone_id": 999})
    client = adb_server.client()

    async def scenario():
        supervisor = AdbSupervisor(server.url, client, [serial], enrol_key=ENROL_KEY,
                                   state_file=state_file, cache_dir=tmp_path / "assets",
                                   scan_every_s=1.0)
        await supervisor.start()
        try:
            await until(lambda: supervisor.status().get(serial, {}).get("online"), 6,
                        "the phone joined again and is online")
        finally:
            await supervisor.stop()

    try:
        with rack.in_thread():
            asyncio.run(scenario())
        entry = TokenStore(state_file, server.url).get(serial)
        assert entry["token"] != "not-a-token"
        assert entry["phone_id"] == router_phones(server)[phone_name(serial)]["id"]
    finally:
        client.disconnect(serial)
        server.stop()
