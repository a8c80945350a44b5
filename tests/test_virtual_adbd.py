"""Virtual adbd: the real adb 36 server and client against virtual phones.

Two kinds of tests. The first half speaks ADB by hand (a ``RawHost`` on a
socket) to pin down what the adb server hides: the handshake, one WRTE in
flight, the sync byte stream, malformed input. The second half is what the
project relies on: the real ``adb`` binary from the adbutils wheel, on a
private loopback port, connecting to virtual phones.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
import struct
import threading
import time

import adbutils
import pytest

import phone_agent.simulator.virtual as virtual
from phone_agent.simulator.virtual import (DeviceBehaviour, EchoDevice, LoopThread, ShellIO,
                                           VirtualAdbd, VirtualPhoneSet)
from phone_agent.simulator.virtual.adb_server import free_port
from phone_agent.simulator.virtual.connection import (A_AUTH, A_CLSE, A_CNXN, A_OKAY, A_OPEN,
                                                      A_VERSION, A_WRTE, HEADER, MAX_PAYLOAD,
                                                      pack_message)
from tests.adb_fixtures import adb_client, adb_server, virtual_phones  # noqa: F401 — fixtures
from tests.adb_fixtures import expect_adb_error

NAMES = {A_CNXN: "CNXN", A_AUTH: "AUTH", A_OPEN: "OPEN", A_OKAY: "OKAY", A_CLSE: "CLSE",
         A_WRTE: "WRTE"}
SEQ_200000 = "".join(f"{n}\n" for n in range(1, 200_001)).encode()


# -- a hand-written adb host ---------------------------------------------------

class RawHost:
    """The host side of ADB on a plain socket, one message at a time."""

    def __init__(self, serial: str, timeout: float = 5):
        host, _, port = serial.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # as adb does
        self.next_id = 100
        self.received: dict[int, bytes] = {}
        self.closed: set[int] = set()

    def close(self) -> None:
        self.sock.close()

    def send(self, command: int, arg0: int, arg1: int, payload: bytes = b"") -> None:
        self.sock.sendall(pack_message(command, arg0, arg1, payload))

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise EOFError("device closed the connection")
            data += chunk
        return data

    def recv(self, timeout: float | None = 5) -> tuple[str, int, int, bytes]:
        self.sock.settimeout(timeout)
        command, arg0, arg1, length, check, magic = HEADER.unpack(self._read(HEADER.size))
        assert magic == command ^ 0xFFFFFFFF
        payload = self._read(length)
        assert check == sum(payload) & 0xFFFFFFFF, "payload byte sum"
        return NAMES.get(command, hex(command)), arg0, arg1, payload

    def nothing_within(self, seconds: float) -> bool:
        self.sock.settimeout(seconds)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
        except TimeoutError:
            return True
        return False

    def connect(self, max_data: int = MAX_PAYLOAD) -> tuple[int, int, str]:
        self.send(A_CNXN, 0x01000001, max_data, b"host::features=shell_v2,stat_v2\0")
        name, version, payload_max, banner = self.recv()
        assert name == "CNXN"
        return version, payload_max, banner.decode()

    def open(self, service: str) -> tuple[int, int]:
        """OPEN a service; (our id, the device's id)."""
        self.next_id += 1
        self.send(A_OPEN, self.next_id, 0, service.encode() + b"\0")
        name, device_id, our_id, _ = self.recv()
        assert (name, our_id) == ("OKAY", self.next_id), (name, our_id)
        self.received[self.next_id] = b""
        return self.next_id, device_id

    # The helpers below pump messages: a WRTE from the device is kept for its
    # stream and acknowledged, a CLSE noted, an OKAY handed to the writer.
    def _pump(self) -> tuple[str, int, int]:
        name, arg0, arg1, payload = self.recv()
        if name == "WRTE":
            self.received[arg1] += payload
            self.send(A_OKAY, arg1, arg0)
        elif name == "CLSE":
            self.closed.add(arg1)
        return name, arg0, arg1

    def write(self, ours: int, theirs: int, data: bytes) -> None:
        """WRTE, and wait for the device's OKAY."""
        self.send(A_WRTE, ours, theirs, data)
        while self._pump() != ("OKAY", theirs, ours):
            pass

    def read_reply(self, ours: int, at_least: int = 1) -> bytes:
        """What the device wrote on a stream, once there are ``at_least`` bytes."""
        while len(self.received[ours]) < at_least:
            assert ours not in self.closed, "stream closed"
            self._pump()
        data, self.received[ours] = self.received[ours], b""
        return data

    def wait_closed(self, ours: int) -> bytes:
        """Everything the device wrote on a stream until its CLSE."""
        while ours not in self.closed:
            self._pump()
        return self.received[ours]

    def read_stream(self, ours: int, theirs: int) -> bytes:
        return self.wait_closed(ours)


class HoldingDevice(EchoDevice):
    """EchoDevice plus ``hold`` (never reads stdin until released) and ``boom``."""

    def __init__(self, serial: str = ""):
        super().__init__(serial)
        self.release = asyncio.Event()      # set on the phones' loop (phone_loop.call)
        self.cancelled = threading.Event()

    async def shell(self, command: str, io: ShellIO) -> int:
        if command == "hold":
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            await io.write(await io.read())
            return 0
        if command == "boom":
            raise RuntimeError("behaviour bug")
        return await super().shell(command, io)


@pytest.fixture
def phone_loop():
    with LoopThread(name="test-phones") as loop:
        yield loop


@pytest.fixture
def phone(phone_loop):
    """One HoldingDevice phone on a free port, without any adb server."""
    adbd = VirtualAdbd(HoldingDevice(), "127.0.0.1", 0)
    phone_loop.run(adbd.start())
    yield adbd
    phone_loop.run(adbd.stop())


@pytest.fixture
def raw(phone):
    host = RawHost(phone.serial)
    yield host
    host.close()


# -- the interface --------------------------------------------------------------

def test_public_surface():
    assert set(virtual.__all__) == {"DeviceBehaviour", "EchoDevice", "LoopThread",
                                    "ProtocolError", "ShellIO", "VirtualAdbd",
                                    "VirtualPhoneSet"}
    assert isinstance(EchoDevice("127.0.0.1:15555"), DeviceBehaviour)


def test_port_zero_writes_the_address_back_into_the_behaviour(phone):
    host, _, port = phone.behaviour.serial.rpartition(":")
    assert (host, int(port)) == ("127.0.0.1", phone.port) and phone.port > 0


def test_phone_sets_use_consecutive_ports_outside_the_emulator_scan():
    phones = VirtualPhoneSet(3, base_port=25555)
    assert phones.serials == ["127.0.0.1:25555", "127.0.0.1:25556", "127.0.0.1:25557"]
    assert [phone.behaviour.serial for phone in phones] == phones.serials
    with pytest.raises(ValueError, match="emulator scan range"):
        VirtualPhoneSet(2, base_port=5553)
    by_host = VirtualPhoneSet(2, host="127.0.0.2", base_port=5555, vary="host")
    assert by_host.serials == ["127.0.0.2:5555", "127.0.0.3:5555"]


# -- the wire, by hand --------------------------------------------------------------

def test_handshake_answers_cnxn_with_banner_and_the_smaller_payload(raw):
    version, max_payload, banner = raw.connect(max_data=256 * 1024)
    assert version == A_VERSION
    assert max_payload == 256 * 1024
    assert banner == ("device::ro.product.name=echo;ro.product.model=EchoDevice;"
                      "ro.product.device=echo;features=fixed_push_mkdir")


def test_unknown_service_and_delayed_ack_open_are_refused_with_clse(raw):
    raw.connect()
    raw.send(A_OPEN, 7, 0, b"reboot:\0")
    assert raw.recv()[:3] == ("CLSE", 0, 7)
    raw.send(A_OPEN, 8, 32768, b"shell:echo hi\0")      # delayed_ack was not negotiated
    assert raw.recv()[:3] == ("CLSE", 0, 8)
    raw.send(A_OPEN, 9, 0, b"shell,v2,raw:echo hi\0")   # shell_v2 was not advertised
    assert raw.recv()[:3] == ("CLSE", 0, 9)
    ours, theirs = raw.open("exec:echo still here")
    assert raw.read_stream(ours, theirs) == b"still here\n"


def test_one_wrte_in_flight_until_the_host_says_okay(raw):
    raw.connect(max_data=4096)
    ours, theirs = raw.open("shell:seq 5000")           # 23,893 bytes: 6 WRTEs of <= 4096
    received = b""
    writes = 0
    while True:
        name, _, _, payload = raw.recv()
        if name == "CLSE":
            break
        assert name == "WRTE" and len(payload) <= 4096
        writes += 1
        received += payload
        if writes == 1:
            assert raw.nothing_within(0.2), "a second WRTE came before our OKAY"
        raw.send(A_OKAY, ours, theirs)
    assert received == "".join(f"{n}\n" for n in range(1, 5001)).encode()
    assert writes == 6


def test_host_writes_are_acknowledged_when_the_shell_reads_them(raw, phone, phone_loop):
    raw.connect()
    ours, theirs = raw.open("shell:hold")
    raw.send(A_WRTE, ours, theirs, b"ping")
    assert raw.nothing_within(0.2), "OKAY before the shell read anything"
    phone_loop.call(phone.behaviour.release.set)
    assert raw.recv()[:3] == ("OKAY", theirs, ours)
    assert raw.wait_closed(ours) == b"ping"


def test_concurrent_streams_on_one_connection(raw):
    raw.connect()
    first = raw.open("shell:cat")
    second = raw.open("shell:")
    raw.write(*first, b"to first")
    raw.write(*second, b"echo to second\n")
    assert raw.read_reply(second[0], 10) == b"to second\n"
    assert raw.read_reply(first[0], 8) == b"to first"
    raw.send(A_CLSE, *first)
    assert raw.wait_closed(first[0]) == b""
    raw.write(*second, b"exit\n")
    assert raw.wait_closed(second[0]) == b""


def test_a_shell_that_ignores_the_hangup_is_cancelled(raw, phone):
    raw.connect()
    ours, theirs = raw.open("shell:hold")
    raw.send(A_CLSE, ours, theirs)
    assert raw.recv(timeout=3)[:3] == ("CLSE", theirs, ours)
    assert phone.behaviour.cancelled.wait(2)


def test_sync_is_parsed_as_a_byte_stream(raw, phone):
    raw.connect()
    ours, theirs = raw.open("sync:")
    path = b"/sdcard/ment.wav"
    body = os.urandom(100_000)
    requests = (b"STAT" + struct.pack("<I", len(b"/sdcard")) + b"/sdcard"
                + b"SEND" + struct.pack("<I", len(path) + 6) + path + b",33188"
                + b"DATA" + struct.pack("<I", 65536) + body[:65536]
                + b"DATA" + struct.pack("<I", len(body) - 65536) + body[65536:]
                + b"DONE" + struct.pack("<I", 1_700_000_000)
                + b"STAT" + struct.pack("<I", len(path)) + path)
    # Cut at awkward places: inside an id, inside a length, inside a chunk.
    for piece in (requests[:2], requests[2:13], requests[13:40], requests[40:70_001],
                  requests[70_001:]):
        raw.write(ours, theirs, piece)
    replies = raw.read_reply(ours, 16 + 8 + 16)
    assert struct.unpack("<4sIII", replies[:16]) == (b"STAT", stat.S_IFDIR | 0o771, 4096, 0)
    assert replies[16:24] == b"OKAY" + bytes(4)
    assert struct.unpack("<4sIII", replies[24:]) == (b"STAT", 0o100644, 100_000, 1_700_000_000)
    assert phone.behaviour.files["/sdcard/ment.wav"] == (body, 0o100644, 1_700_000_000)

    raw.write(ours, theirs, b"RECV" + struct.pack("<I", len(path)) + path)
    pulled = raw.read_reply(ours, 8 + 100_000 + 8 + 8)
    assert pulled == (b"DATA" + struct.pack("<I", 65536) + body[:65536]
                      + b"DATA" + struct.pack("<I", len(body) - 65536) + body[65536:]
                      + b"DONE" + bytes(4))
    raw.write(ours, theirs, b"QUIT" + bytes(4))
    assert raw.wait_closed(ours) == b""


def test_sync_v2_stat_list_and_failures(raw):
    raw.connect()
    ours, theirs = raw.open("sync:")
    raw.write(ours, theirs, b"STA2" + struct.pack("<I", 8) + b"/nothing")
    reply = raw.read_reply(ours, 72)
    assert len(reply) == 72 and reply[:8] == b"STA2" + struct.pack("<I", 2)   # ENOENT
    raw.write(ours, theirs, b"LST2" + struct.pack("<I", 7) + b"/sdcard")
    reply = raw.read_reply(ours, 72)
    assert struct.unpack_from("<4sI", reply) == (b"LST2", 0)
    assert struct.unpack_from("<I", reply, 24)[0] == stat.S_IFDIR | 0o771
    raw.write(ours, theirs, b"LIST" + struct.pack("<I", 7) + b"/sdcard")
    assert raw.read_reply(ours, 20) == b"DONE" + bytes(16)
    raw.write(ours, theirs, b"RCV2" + struct.pack("<I", 7) + b"/sdcard")
    message = b"unknown command 32564352"       # "RCV2": sendrecv_v2 was not advertised
    assert raw.wait_closed(ours) == b"FAIL" + struct.pack("<I", len(message)) + message


def test_failing_behaviour_closes_only_its_stream(raw, caplog):
    raw.connect()
    ours, theirs = raw.open("shell:boom")
    with caplog.at_level(logging.ERROR, logger="phone_agent.simulator.virtual.connection"):
        assert raw.wait_closed(ours) == b""
    assert "service 'shell:boom' failed" in caplog.text
    ours, theirs = raw.open("shell:echo alive")
    assert raw.read_stream(ours, theirs) == b"alive\n"


@pytest.mark.parametrize("garbage", [
    pytest.param(struct.pack("<6I", A_CNXN, 0x01000001, 4096, 0, 0, 0), id="bad-magic"),
    pytest.param(struct.pack("<6I", A_WRTE, 1, 1, MAX_PAYLOAD + 1, 0, A_WRTE ^ 0xFFFFFFFF),
                 id="oversized"),
    pytest.param(pack_message(A_CNXN, 0x02000000, 4096, b"host::\0"), id="bad-version"),
])
def test_malformed_message_closes_the_connection_not_the_phone(raw, phone, caplog, garbage):
    raw.connect()
    with caplog.at_level(logging.WARNING, logger="phone_agent.simulator.virtual.connection"):
        raw.sock.sendall(garbage)
        with pytest.raises(EOFError):
            raw.recv()
    assert "closing the connection" in caplog.text
    again = RawHost(phone.serial)
    try:
        again.connect()
        assert again.read_stream(*again.open("shell:echo fine")) == b"fine\n"
    finally:
        again.close()


def test_a_host_ignoring_flow_control_is_disconnected(raw, caplog):
    raw.connect()
    ours, theirs = raw.open("shell:hold")              # never reads, so never acks
    with caplog.at_level(logging.WARNING, logger="phone_agent.simulator.virtual.connection"):
        with pytest.raises((EOFError, ConnectionError)):
            for _ in range(100):
                raw.send(A_WRTE, ours, theirs, b"flood")
            raw.recv()
    assert "ignores flow control" in caplog.text


# -- the real adb ------------------------------------------------------------------------

@pytest.mark.slow
def test_connect_lists_the_phone_as_a_device(adb_server, adb_client, virtual_phones):
    phones = virtual_phones(1, connect=False)
    serial = phones.serials[0]
    assert adb_client.connect(serial, timeout=10) == f"connected to {serial}"
    adb_server.wait_for(serial, "device")
    assert (serial, "device") in {(d.serial, d.state) for d in adb_client.list()}
    assert serial in [d.serial for d in adb_client.device_list()]
    listing = adb_server.adb("devices", "-l")
    assert f"{serial}" in listing and "product:echo model:EchoDevice device:echo" in listing


@pytest.mark.slow
def test_shell_output_small_and_large(adb_client, virtual_phones):
    device = adb_client.device(virtual_phones(1).serials[0])
    assert device.shell("echo hi") == "hi"
    big = device.shell("seq 200000", encoding=None)       # 1.3 MB: two 1 MiB WRTEs
    assert len(big) > 1_000_000 and big == SEQ_200000
    assert device.shell("frobnicate") == "/system/bin/sh: frobnicate: inaccessible or not found"


@pytest.mark.slow
def test_streaming_shell_carries_several_exchanges(adb_client, virtual_phones):
    device = adb_client.device(virtual_phones(1).serials[0])
    interactive = device.shell("", stream=True)
    try:
        for word in ("one", "two", "three"):
            interactive.send(f"echo {word}\n".encode())
            assert interactive.read(len(word) + 1) == f"{word}\n".encode()
    finally:
        interactive.close()
    cat = device.shell("cat", stream=True)
    try:
        for chunk in (b"dumpsys telecom\n", b"x" * 100_000):
            cat.send(chunk)
            assert cat.read(len(chunk)) == chunk
    finally:
        cat.close()


@pytest.mark.slow
def test_push_stat_pull_round_trip(adb_client, virtual_phones):
    phones = virtual_phones(1)
    device = adb_client.device(phones.serials[0])
    before = int(time.time())
    assert device.sync.push(b"hello phone", "/sdcard/ars/hello.txt", mode=0o644) == 11
    info = device.sync.stat("/sdcard/ars/hello.txt")
    assert (info.mode, info.size) == (0o100644, 11)
    assert info.mtime.timestamp() >= before - 1
    assert device.sync.read_bytes("/sdcard/ars/hello.txt") == b"hello phone"
    assert device.sync.stat("/sdcard/nothing").mode == 0
    with pytest.raises(adbutils.AdbError, match="No such file"):
        device.sync.read_bytes("/sdcard/nothing")
    with pytest.raises(adbutils.AdbError):
        device.sync.push(b"x", "/system/app/x.apk")


@pytest.mark.slow
def test_push_of_3_mb_arrives_intact(adb_client, virtual_phones):
    phones = virtual_phones(1)
    device = adb_client.device(phones.serials[0])
    body = os.urandom(3_000_000)
    assert device.sync.push(body, "/sdcard/Download/big.wav") == 3_000_000
    assert phones.behaviours[0].files["/sdcard/Download/big.wav"][0] == body
    assert device.sync.read_bytes("/sdcard/Download/big.wav") == body


@pytest.mark.slow
def test_adb_command_line_push_and_pull(adb_server, virtual_phones, tmp_path):
    serial = virtual_phones(1).serials[0]
    source = tmp_path / "intro.wav"
    source.write_bytes(os.urandom(200_000))
    adb_server.adb("-s", serial, "push", str(source), "/sdcard/ment/intro.wav")
    adb_server.adb("-s", serial, "pull", "/sdcard/ment/intro.wav", str(tmp_path / "back.wav"))
    assert (tmp_path / "back.wav").read_bytes() == source.read_bytes()
    assert adb_server.adb("-s", serial, "shell", "echo", "from the cli") == "from the cli\n"


@pytest.mark.slow
def test_several_phones_at_once(adb_server, adb_client, virtual_phones):
    phones = virtual_phones(3, lambda serial: EchoDevice(serial, model=f"Phone{serial[-5:]}"))
    listing = adb_server.adb("devices", "-l")
    for serial in phones.serials:
        assert f"model:Phone{serial[-5:]}" in listing
    results: dict[str, str] = {}

    def run(serial: str) -> None:
        results[serial] = adb_client.device(serial).shell("seq 50000", encoding=None)

    threads = [threading.Thread(target=run, args=(serial,)) for serial in phones.serials]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(results) == sorted(phones.serials)
    expected = "".join(f"{n}\n" for n in range(1, 50_001)).encode()
    assert all(output == expected for output in results.values())
    for behaviour in phones.behaviours:
        assert len(behaviour.commands) == 1


@pytest.mark.slow
def test_handset_like_serials_on_consecutive_loopback_addresses(adb_server, adb_client,
                                                               virtual_phones):
    port = free_port("127.0.0.2")
    phones = virtual_phones(2, host="127.0.0.2", base_port=port, vary="host")
    assert phones.serials == [f"127.0.0.2:{port}", f"127.0.0.3:{port}"]
    assert [adb_client.device(serial).shell("echo hi") for serial in phones.serials] == ["hi"] * 2


@pytest.mark.slow
def test_drop_resets_the_connection_and_adb_reconnects(adb_server, adb_client, virtual_phones):
    phones = virtual_phones(1)
    serial, phone = phones.serials[0], phones[0]
    device = adb_client.device(serial)
    monitor = device.shell("cat", stream=True)       # a long-lived shell, as the backend keeps
    try:
        monitor.send(b"x")
        assert monitor.read(1) == b"x"
        with adb_server.track() as tracker:
            phone.drop()
            tracker.wait_for(serial, "offline")
            tracker.wait_for(serial, "device")
        monitor.conn.settimeout(5)
        assert monitor.conn.recv(10) == b""            # the shell died with the connection
    finally:
        monitor.close()
    assert device.shell("echo again") == "again"


@pytest.mark.slow
def test_go_offline_shows_offline_then_comes_back(adb_server, adb_client, virtual_phones):
    phones = virtual_phones(1)
    serial, phone = phones.serials[0], phones[0]
    with adb_server.track() as tracker:
        phone.go_offline(None)
        tracker.wait_for(serial, "offline")
        expect_adb_error(lambda: adb_client.device(serial).shell("echo x", timeout=3),
                         "device offline")
        assert "offline" in adb_server.adb("devices", "-l")
        phone.go_online()
        tracker.wait_for(serial, "device")
        phone.go_offline(0.5)
        tracker.wait_for(serial, "offline")
        tracker.wait_for(serial, "device", timeout=5)
    assert adb_client.device(serial).shell("echo back") == "back"


@pytest.mark.slow
def test_unauthorized_until_the_user_taps_allow(adb_server, adb_client, virtual_phones):
    phones = virtual_phones(1)
    serial, phone = phones.serials[0], phones[0]
    with adb_server.track() as tracker:
        phone.unauthorized(True)
        tracker.wait_for(serial, "unauthorized")
        assert f"{serial}\tunauthorized" in adb_server.adb("devices")
        expect_adb_error(lambda: adb_client.device(serial).shell("echo x", timeout=3),
                         "device unauthorized")
        adb_client.disconnect(serial)
        assert adb_client.connect(serial, timeout=10) == f"failed to authenticate to {serial}"
        phone.unauthorized(False)
        tracker.wait_for(serial, "device")
    assert adb_client.device(serial).shell("echo allowed") == "allowed"


@pytest.mark.slow
def test_delay_slows_every_answer(adb_server, adb_client, virtual_phones):
    phones = virtual_phones(1)
    serial, phone = phones.serials[0], phones[0]
    phone.delay(0.2)
    started = time.monotonic()
    assert adb_client.device(serial).shell("echo slowly") == "slowly"
    assert time.monotonic() - started >= 0.4          # OKAY to the OPEN, then the output
    assert adb_server.states()[serial] == "device"
    phone.delay(0)
