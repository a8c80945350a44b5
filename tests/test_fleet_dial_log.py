"""The fleet's dial log: one JSON line per real dial, with the phone, the call
the runner is running and the attempt its lease gave (the chaos bench's
ground truth of what the phones dialled)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from phone_agent.cli import _parser
from phone_agent.simulator.fleet import Fleet, FleetPhone


def test_each_dial_is_one_json_line_written_at_once(tmp_path):
    path = tmp_path / "dials.jsonl"

    async def main():
        fleet = Fleet("http://127.0.0.1:9", 2, seed=4, speed=200, dial_log=path, state_file=None,
                      cache_dir=tmp_path / "cache")
        fleet.phones = [FleetPhone(i, f"sim-{i:03d}") for i in range(2)]
        await fleet._backends()
        first, second = fleet.phones
        first.runner = SimpleNamespace(current="call-a")
        first.attempts["call-a"] = 2
        second.runner = SimpleNamespace(current="call-b")  # leased before the log knew: no attempt
        await first.backend.dial("01012349996")
        lines = path.read_text().splitlines()  # on disk already, before any close
        await second.backend.dial("01012349990")
        for phone in fleet.phones:
            phone.runner = None
        await fleet.stop()  # hangs up and closes the log
        return lines

    before_close = asyncio.run(main())
    assert len(before_close) == 1
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(d["phone"], d["call_id"], d["number"], d["attempt"]) for d in lines] == [
        ("sim-000", "call-a", "01012349996", 2), ("sim-001", "call-b", "01012349990", None)]
    assert all(isinstance(d["t"], float) for d in lines)


def test_the_dial_log_is_for_the_sim_backend_only(tmp_path):
    with pytest.raises(ValueError):
        Fleet("http://127.0.0.1:9", 1, backend="adb", dial_log=tmp_path / "dials.jsonl")


def test_agent_talk_times_are_given_as_a_range():
    args = _parser().parse_args(["fleet", "--server", "http://x", "--phones", "1", "--agent-talk-s", "150-300",
                                 "--dial-log", "d.jsonl"])
    assert args.agent_talk_s == (150.0, 300.0) and str(args.dial_log) == "d.jsonl"
    with pytest.raises(SystemExit):
        _parser().parse_args(["fleet", "--server", "http://x", "--phones", "1", "--agent-talk-s", "300-150"])
