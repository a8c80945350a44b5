"""Parsers of what Android prints (phone_agent.telephony.dumpsys), on the
real-format samples in phone_agent/telephony/fixtures — Android 10–14,
single and dual SIM — plus the layout no parser knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phone_agent.telephony import dumpsys as d
from phone_agent.telephony.adb import POLL_REGISTRY, POLL_TELECOM, find_button, own_number

FIXTURES = Path(d.__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def grep(text: str, command: str) -> str:
    """What ``… | grep -E 'PATTERN'`` on the phone leaves of ``text``."""
    pattern = re.search(r"grep -E '([^']*)'", command).group(1).replace("\\[", r"\[")
    return "".join(line + "\n" for line in text.splitlines() if re.search(pattern, line))


# -- every file is accounted for -----------------------------------------------------------

def test_every_fixture_is_listed_in_the_readme_and_every_listed_file_exists():
    readme = fixture("README.md")
    files = sorted(p.name for p in FIXTURES.glob("*.txt"))
    listed = sorted(set(re.findall(r"`([a-z0-9_]+\.txt)`", readme)))
    assert files == listed


# -- telephony.registry ----------------------------------------------------------------------

# file -> per slot: (call_state, ringing, foreground, background, cause, precise cause, number, network, signal)
REGISTRY = {
    "registry_a10_pixel3_idle.txt": [(0, 0, 0, 0, 2, 16, "", "LTE", 4)],
    "registry_a10_pixel3_alerting.txt": [(2, 0, 4, 0, 0, -1, "", "LTE", 4)],
    "registry_a11_galaxy_a52_dual_dialing.txt": [(2, 0, 3, 0, 0, -1, "", "LTE", 3),
                                                 (0, 0, 0, 0, -1, -1, "", None, 0)],
    "registry_a12_galaxy_s21_active.txt": [(2, 0, 1, 0, 0, -1, "", "NR_NSA", 4)],
    "registry_a13_pixel7_dual_ringing.txt": [(0, 0, 0, 0, 2, 16, "", "NR_NSA", 4),
                                             (1, 5, 0, 0, -1, -1, "01098765432", "NR_NSA", 4)],
    "registry_a14_galaxy_s23_busy.txt": [(0, 0, 7, 0, 4, 17, "", "NR_NSA", 4)],
    "registry_a14_galaxy_s23_held_agent.txt": [(2, 0, 4, 2, 0, -1, "", "NR_NSA", 4)],
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registry_sample_gives_each_slots_call_state(name):
    slots = d.parse_telephony_registry(fixture(name))
    got = [(s.call_state, s.ringing_call_state, s.foreground_call_state, s.background_call_state,
            s.disconnect_cause, s.precise_disconnect_cause, s.incoming_number, s.network, s.signal_level)
           for s in slots]
    assert got == REGISTRY[name]
    assert [s.slot for s in slots] == list(range(len(slots)))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_the_grep_the_backend_runs_on_the_phone_keeps_every_call_field(name):
    full = d.parse_telephony_registry(fixture(name))
    grepped = d.parse_telephony_registry(grep(fixture(name), POLL_REGISTRY))
    call_fields = ("slot", "call_state", "ringing_call_state", "foreground_call_state",
                   "background_call_state", "disconnect_cause", "precise_disconnect_cause",
                   "incoming_number", "precise_scope")
    assert [[getattr(s, f) for f in call_fields] for s in grepped] == \
        [[getattr(s, f) for f in call_fields] for s in full]


def test_android_10_prints_the_precise_state_once_and_it_goes_to_the_slot():
    slot, = d.parse_telephony_registry(fixture("registry_a10_pixel3_alerting.txt"))
    assert slot.precise_scope == "global" and slot.foreground == "alerting"
    slot, = d.parse_telephony_registry(fixture("registry_a12_galaxy_s21_active.txt"))
    assert slot.precise_scope == "slot" and slot.foreground == "active"


def test_dual_sim_slots_are_told_apart():
    idle, ringing = d.parse_telephony_registry(fixture("registry_a13_pixel7_dual_ringing.txt"))
    assert not idle.in_call and ringing.in_call
    assert ringing.incoming_number == "01098765432" and ringing.operator == "KT"
    dialing, empty = d.parse_telephony_registry(fixture("registry_a11_galaxy_a52_dual_dialing.txt"))
    assert dialing.foreground == "dialing" and dialing.operator == "KT"
    assert empty.voice_reg_state == 1 and d.network_kind(empty.network, empty.voice_reg_state) == "none"


def test_the_unknown_layout_is_refused_naming_what_is_missing():
    with pytest.raises(d.DumpsysFormatError) as caught:
        d.parse_telephony_registry(fixture("registry_unknown_layout.txt"))
    message = str(caught.value)
    assert "dumpsys telephony.registry" in message and "'Phone Id='" in message and "mCallState" in message
    assert caught.value.what == "dumpsys telephony.registry"


@pytest.mark.parametrize("text, missing", [
    ("", "'Phone Id=' block or 'mCallState=' field found (no output (or a grep kept nothing))"),
    ("Can't find service: telephony.registry\n", "service state"),
    ("Permission Denial: can't dump telephony.registry from pid=1, uid=10111\n", "service state"),
    ("last known state:\n  Phone Id=0\n    mCallIncomingNumber=\n", "'mCallState=' for Phone Id=0"),
    ("\x00\xff garbage \n\n\t", "'Phone Id=' block"),
])
def test_odd_registry_text_raises_a_clear_error_never_a_crash(text, missing):
    with pytest.raises(d.DumpsysFormatError, match=re.escape(missing)):
        d.parse_telephony_registry(text)


def test_a_slot_without_phone_id_lines_is_slot_0():
    slots = d.parse_telephony_registry("mCallState=2\nmForegroundCallState=1\n")
    assert [(s.slot, s.call_state, s.foreground_call_state) for s in slots] == [(0, 2, 1)]


# -- service state and signal ----------------------------------------------------------------

def test_service_state_tells_lte_from_5g_nsa_and_sa_and_out_of_service():
    lte = d.parse_service_state(fixture("registry_a10_pixel3_idle.txt"))
    assert lte["network"] == "LTE" and lte["operator"] == "SKTelecom" and lte["voice_reg_state"] == 0
    nsa = d.parse_service_state(fixture("registry_a12_galaxy_s21_active.txt"))
    assert nsa["network"] == "NR_NSA"
    sa = d.parse_service_state("{mVoiceRegState=0(IN_SERVICE), getRilDataRadioTechnology=20(NR_SA), "
                               "mNetworkRegistrationInfos=[NetworkRegistrationInfo{ domain=PS "
                               "transportType=WWAN registrationState=HOME accessNetworkTechnology=NR "
                               "nrState=NONE}]}")
    assert sa["network"] == "NR"
    assert [d.network_kind(x) for x in ("NR_NSA", "NR", "LTE", "LTE_CA", "HSPAP", "IWLAN", "EDGE", None)] == \
        ["5g", "5g", "lte", "lte", "3g", "wifi", "unknown", "unknown"]
    assert d.network_kind("LTE", voice_reg_state=3) == "none"


def test_signal_level_is_the_primary_technologys():
    text = ("SignalStrength:{mCdma=CellSignalStrengthCdma: cdmaDbm=2147483647 level=0,mGsm=CellSignalStrengthGsm: "
            "rssi=2147483647 mLevel=4,mLte=CellSignalStrengthLte: rssi=-80 rsrp=-110 level=2,mNr=CellSignalStrengthNr:"
            "{ ssRsrp = 2147483647 level = 0 },primary=CellSignalStrengthLte}")
    assert d.signal_level(text) == 2
    assert d.signal_level("mLte=CellSignalStrengthLte: level=3") == 3
    assert d.signal_level("nothing here") is None


# -- telecom -----------------------------------------------------------------------------------

# file -> [(id, state, children, has_parent, live, incoming, disconnect code, reason)]
TELECOM = {
    "telecom_a10_pixel3_dialing.txt": [("TC@3", "DIALING", 0, False, True, False, None, None),
                                       ("TC@2", "DISCONNECTED", 0, False, False, False, "LOCAL", "LOCAL")],
    "telecom_a12_galaxy_s21_active.txt": [("TC@14", "ACTIVE", 0, False, True, False, None, None),
                                          ("TC@13", "DISCONNECTED", 0, False, False, False, "LOCAL", "LOCAL")],
    "telecom_a13_pixel7_ringing.txt": [("TC@9", "RINGING", 0, False, True, True, None, None)],
    "telecom_a14_galaxy_s23_busy.txt": [("TC@21", "DISCONNECTED", 0, False, False, False, "BUSY", "BUSY")],
    "telecom_a14_galaxy_s23_held_agent.txt": [("TC@30", "ON_HOLD", 0, False, True, False, None, None),
                                              ("TC@31", "DIALING", 0, False, True, False, None, None)],
    "telecom_a14_galaxy_s23_conference.txt": [("TC@30", "ACTIVE", 0, True, True, False, None, None),
                                              ("TC@31", "ACTIVE", 0, True, True, False, None, None),
                                              ("TC@32", "ACTIVE", 2, False, True, None, None, None)],
}


@pytest.mark.parametrize("name", sorted(TELECOM))
def test_every_telecom_sample_gives_its_calls_old_and_new_layout(name):
    calls = d.parse_telecom_calls(fixture(name))
    got = [(c.call_id, c.state, c.children, c.has_parent, c.live, c.incoming, c.disconnect_code,
            c.disconnect_reason) for c in calls]
    assert got == TELECOM[name]
    # a user build masks every number: Telecom never says which number a call is
    assert all(c.number is None for c in calls)


@pytest.mark.parametrize("name", sorted(TELECOM))
def test_the_telecom_grep_keeps_the_calls_and_their_causes(name):
    assert d.parse_telecom_calls(grep(fixture(name), POLL_TELECOM)) == d.parse_telecom_calls(fixture(name))


def test_calls_repeated_outside_mcalls_are_not_counted_twice():
    calls = d.parse_telecom_calls(fixture("telecom_a10_pixel3_dialing.txt"))
    assert [c.call_id for c in calls if c.live] == ["TC@3"]  # also printed as the audio manager's foreground call


def test_an_unmasked_handle_gives_the_number():
    line = ("[Call id=TC@5, state=RINGING, tpac=ComponentInfo{a/b}, 1, UserHandle{0}, cmgr=null, "
            "handle=tel:010-9876-5432, vidst=A, childs(0), has_parent(false), cap=[ hld], prop=[]], voip=false")
    call, = d.parse_telecom_calls(line)
    assert call.number == "01098765432" and call.seq == 5
    partly = d.parse_telecom_calls(line.replace("010-9876-5432", "*********32"))[0]
    assert partly.number is None


def test_telecom_text_without_calls_or_a_callsmanager_section_is_refused():
    with pytest.raises(d.DumpsysFormatError, match="CallsManager"):
        d.parse_telecom_calls("Telecom service v2\n  calls: none\n")
    assert d.parse_telecom_calls("CallsManager: \n  mCalls: \n  mCallAudioManager:\n") == []


# -- battery, getprop ----------------------------------------------------------------------------

@pytest.mark.parametrize("name, level, charging, powered", [
    ("battery_a10_pixel3.txt", 81, True, ("USB",)),
    ("battery_a13_pixel7_discharging.txt", 67, False, ()),
    ("battery_a14_galaxy_s23.txt", 94, True, ("AC",)),
])
def test_battery_level_and_power_source(name, level, charging, powered):
    battery = d.parse_battery(fixture(name))
    assert (battery.level, battery.charging, battery.powered_by) == (level, charging, powered)


def test_battery_level_is_scaled_and_an_unknown_layout_is_refused():
    assert d.parse_battery("  level: 30\n  scale: 50\n  AC powered: false\n").level == 60
    with pytest.raises(d.DumpsysFormatError, match="'level:'"):
        d.parse_battery("Battery: 80%\n")


def test_getprop_and_the_per_slot_properties():
    props = d.parse_getprop(fixture("getprop_a14_galaxy_s23_dual.txt"))
    assert props["ro.product.model"] == "SM-S911N" and props["ro.build.version.release"] == "14"
    assert d.parse_sim_states(props["gsm.sim.state"]) == ["ready", "absent"]
    assert d.parse_network_types(props["gsm.network.type"]) == ["LTE", "Unknown"]
    single = d.parse_getprop(fixture("getprop_a12_galaxy_s21.txt"))
    assert d.parse_sim_states(single["gsm.sim.state"]) == ["ready"]
    assert d.parse_sim_states("PIN_REQUIRED,NOT_READY") == ["locked", "unknown"]
    assert d.parse_getprop("[a]: [one\ntwo]\n[b]: [2]\n") == {"a": "one\ntwo", "b": "2"}
    with pytest.raises(d.DumpsysFormatError):
        d.parse_getprop("no properties here\n")


# -- what the backend makes of screens and SIM rows -----------------------------------------------

def test_a_button_is_found_on_the_screen_by_its_label_in_english_or_korean():
    xml = ("UI hierchary dumped to: /sdcard/window_dump.xml\n<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
           '<hierarchy rotation="0"><node index="0" text="" clickable="false" bounds="[0,0][1080,2340]">'
           '<node index="1" text="" clickable="true" bounds="[90,1500][390,1700]">'
           '<node index="0" text="통화 병합" clickable="false" bounds="[100,1600][380,1690]" /></node>'
           '<node index="2" text="" content-desc="Resume" clickable="true" bounds="[400,1500][700,1700]" />'
           "</node></hierarchy>")
    assert find_button(xml, ("Merge", "통화 병합")) == (240, 1600)  # the clickable parent's centre
    assert find_button(xml, ("resume",)) == (550, 1600)
    assert find_button(xml, ("Swap",)) is None
    assert find_button("ERROR: could not get idle state.", ("Merge",)) is None


def test_own_number_from_the_sim_rows():
    rows = "Row: 0 sim_id=0, number=01012345678\nRow: 1 sim_id=-1, number=NULL\nRow: 2 sim_id=1, number=01055550000\n"
    assert own_number(rows) == "01012345678"
    assert own_number(rows, slot=1) == "01055550000"
    assert own_number("No result found.\n") == ""
