"""Termux:API as the heartbeat's second source in internet mode: what the
phone's own commands print, read into protocol Health fields, and used when
adb cannot reach the phone. The commands are the edge we cannot run here
(they talk to the Termux:API app): small scripts on PATH print what the real
ones print."""

from __future__ import annotations

import asyncio
import stat

import pytest

from phone_agent import protocol, termux
from phone_agent.runner import Runner
from phone_agent.script import ScriptConfig
from phone_agent.simulator.virtual.adb_server import free_port
from phone_agent.telephony.adb import AdbTelephony
from tests.adb_fixtures import adb_server  # noqa: F401  (fixture)
from tests.test_call_script import LINES, InMemoryServer, campaign

BATTERY = ('{"health": "GOOD", "percentage": 64, "plugged": "PLUGGED_AC", "status": "CHARGING", '
           '"temperature": 29.8, "current": 812000}')
UNPLUGGED = '{"health": "GOOD", "percentage": 31, "plugged": "UNPLUGGED", "status": "DISCHARGING"}'
DEVICE_INFO = ('{"data_enabled": "true", "data_activity": "none", "data_state": "connected", '
               '"device_id": null, "phone_count": 2, "phone_type": "gsm", "network_operator": "45005", '
               '"network_operator_name": "SKTelecom", "network_country_iso": "kr", "network_type": "nr", '
               '"network_roaming": false, "sim_country_iso": "kr", "sim_operator": "45005", '
               '"sim_operator_name": "SKT", "sim_serial_number": null, "sim_subscriber_id": null, '
               '"sim_state": "ready"}')


def test_battery_status_is_read_into_health_fields():
    assert termux.parse_battery_status(BATTERY) == {"battery": 64, "charging": True}
    assert termux.parse_battery_status(UNPLUGGED) == {"battery": 31, "charging": False}
    assert termux.parse_battery_status('{"percentage": 140}') == {}  # out of range: left out


@pytest.mark.parametrize("network, sim, expected", [
    ("nr", "ready", {"network": "5g", "sim": "ready"}),
    ("lte", "pin_required", {"network": "lte", "sim": "locked"}),
    ("hdspa", "absent", {"network": "3g", "sim": "absent"}),
    ("edge", "7", {"network": "unknown", "sim": "unknown"}),
])
def test_device_info_is_read_into_health_fields(network, sim, expected):
    text = DEVICE_INFO.replace('"nr"', f'"{network}"').replace('"sim_state": "ready"', f'"sim_state": "{sim}"')
    fields = termux.parse_device_info(text)
    assert fields == expected
    protocol.HEALTH(dict(fields, call_state="idle"), "health")


@pytest.mark.parametrize("text, message", [
    ("", "termux-battery-status printed no JSON"),
    ("Termux:API is not installed", "printed no JSON: 'Termux:API is not installed'"),
    ("[1, 2]", "printed list, not an object"),
])
def test_what_is_not_json_is_refused_naming_the_command(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        termux.parse_battery_status(text)


@pytest.fixture
def commands(tmp_path, monkeypatch):
    """``commands(name=script_body)``: shell scripts on an otherwise empty PATH."""
    monkeypatch.setenv("PATH", str(tmp_path))

    def make(**scripts):
        for name, body in scripts.items():
            path = tmp_path / name.replace("_", "-")
            path.write_text(f"#!/bin/sh\n{body}\n")
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return make


def test_health_reads_both_commands_and_survives_one_that_hangs(commands, monkeypatch):
    assert not termux.available()
    assert asyncio.run(termux.health()) == {}  # no Termux:API: nothing, no error
    commands(termux_battery_status=f"echo '{BATTERY}'", termux_telephony_deviceinfo=f"echo '{DEVICE_INFO}'")
    assert termux.available()
    assert asyncio.run(termux.health()) == {"battery": 64, "charging": True, "network": "5g", "sim": "ready"}
    # The Termux:API app missing: the command waits for an answer that never comes.
    commands(termux_telephony_deviceinfo="exec sleep 30")
    monkeypatch.setattr(termux, "TIMEOUT_S", 0.3)
    assert asyncio.run(termux.health()) == {"battery": 64, "charging": True}


def test_while_adb_cannot_reach_the_phone_the_heartbeat_carries_termux_facts(commands, adb_server):
    """Internet mode with Wireless debugging off: the server still sees the
    phone's battery and network, marked unavailable with adb's reason."""
    commands(termux_battery_status=f"echo '{UNPLUGGED}'", termux_telephony_deviceinfo=f"echo '{DEVICE_INFO}'")
    server = InMemoryServer(LINES, campaign())
    server.heartbeat_s = 0.5
    nobody = f"127.0.0.1:{free_port()}"  # Wireless debugging off: nothing listens there

    async def main():
        backend = AdbTelephony(nobody, adb_port=adb_server.port, command_timeout_s=3.0)
        runner = Runner(server, backend, config=ScriptConfig(speed=4.0), fallback_health=termux.health)
        task = asyncio.create_task(runner.run())
        while len(server.heartbeats) < 2:
            await asyncio.sleep(0.05)
        runner.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await backend.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    beat = server.heartbeats[-1]
    assert beat["device"] == "unavailable" and nobody in beat["problem"]
    assert (beat["battery"], beat["charging"], beat["network"]) == (31, False, "5g")
    assert server.leases == []
