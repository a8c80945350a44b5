"""Keys pressed during our own announcement, and through a speech codec.

The announcement is real synthetic speech (espeak-ng, Korean and English);
the microphone hears it back delayed and filtered through a loudspeaker and
a room (tests/dtmf_audio.py); the GSM 06.10 codec is ffmpeg's libgsm. The
phone's radio and audio HAL are the only fakes: ``AcousticPhone`` below
renders what its microphone would hear.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile

from phone_agent.audio import tones
from phone_agent.audio.dtmf import detect
from phone_agent.audio.echo import EchoCanceller
from phone_agent.audio.listener import KeyListener
from phone_agent.script import CallScript, ScriptConfig
from phone_agent.telephony.base import ACTIVE, DISCONNECTED, CallStateChange, Telephony, VOTER
from tests import dtmf_audio as da

FS = 8000
SEED = 20_261_203


@pytest.fixture(scope="module")
def announcements():
    """Eight announcements, Korean and English in turn, about 2-4 s each."""
    g = np.random.default_rng(SEED)
    return [da.at_level(x, -16.0) for x in da.speech_pool(g, 20.0)][:8]


def keys_of(events) -> str:
    return "".join(e.key for e in events)


def listen(mic: np.ndarray, reference: np.ndarray | None, play_at: int) -> str:
    """Feed ``mic`` in 100 ms chunks, as a phone delivers it; the phone starts
    playing ``reference`` at sample ``play_at``."""
    kl, events = KeyListener(), []
    for i in range(0, len(mic), 800):
        if reference is not None and i <= play_at < i + 800:
            kl.play(reference)
        events += kl.feed(mic[i : i + 800])
    return keys_of(events + kl.flush())


def double_talk(ann: np.ndarray, key: str, press_at_s: float, g: np.random.Generator,
                speech_to_tone_db: float = 0.0) -> tuple[np.ndarray, int]:
    """The microphone while the phone plays ``ann`` from 0.3 s on and the
    voter presses ``key`` (60 ms) ``press_at_s`` into it: the echo at
    ``speech_to_tone_db`` against the key, line noise 20 dB below it.
    Returns (mic, sample where playback starts)."""
    tone = tones.dtmf_tone(key, 0.06, level_dbfs=-12.0, rng=g)
    level = tones.rms_dbfs(tone)
    play_at, capture = int(0.3 * FS), int(0.12 * FS)
    mic = np.zeros(play_at + capture + len(ann) + int(0.3 * FS))
    mic[play_at + capture : play_at + capture + len(ann)] = da.hear(ann, da.echo_path(g), level + speech_to_tone_db)
    at = play_at + int(press_at_s * FS)
    mic[at : at + len(tone)] += tone
    mic += tones.white_noise(len(mic) / FS, level - 20.0, g)
    return np.clip(np.rint(mic), -32768, 32767).astype(np.int16), play_at


# --------------------------------------------------------------------------- the listener


def test_presses_during_the_announcement_are_heard_with_the_reference(announcements):
    g = np.random.default_rng(SEED + 1)
    with_ref = without = 0
    trials = 0
    for n, ann in enumerate(announcements):
        for frac in (0.4, 0.75):
            key = tones.KEYS[(3 * n + int(frac * 4)) % 16]
            mic, play_at = double_talk(ann, key, max(1.0, frac * len(ann) / FS), g)
            trials += 1
            got = listen(mic, ann, play_at)
            assert got in ("", key)  # never a wrong key
            with_ref += got == key
            without += keys_of(detect(mic)) == key
    # The echo is as loud as the key: alone, the detector's energy-share rule
    # throws many presses away; with the announcement as reference nearly all
    # are heard (scripts/bench dtmf: 193 of 200), and nothing else.
    assert with_ref >= trials - 1
    assert without <= trials - 4


def test_the_announcement_alone_is_never_a_key(announcements):
    g = np.random.default_rng(SEED + 2)
    for ann in announcements:
        for level in (-20.0, -6.0):  # heard back softly, very loudly
            mic = np.zeros(len(ann) + FS)
            mic[int(0.35 * FS) : int(0.35 * FS) + len(ann)] = da.hear(ann, da.echo_path(g), level)
            mic = np.clip(np.rint(mic + tones.white_noise(len(mic) / FS, -55.0, g)), -32768, 32767).astype(np.int16)
            assert keys_of(detect(mic)) == ""  # no reference: the detector as it always was
            assert listen(mic, ann, int(0.3 * FS)) == ""


def test_before_any_reference_the_listener_is_the_plain_detector():
    g = np.random.default_rng(SEED + 3)
    seq = tones.key_sequence("1590#*", tone_s=0.07, gap_s=0.06, rng=g)
    x = tones.mix(np.concatenate([tones.speech_like(0.4, g), seq]), tones.white_noise(1.2, -35, g))
    kl = KeyListener()
    got = []
    for i in range(0, len(x), 333):
        got += kl.feed(x[i : i + 333].astype("<i2").tobytes())
    got += kl.flush()
    plain = detect(x)
    assert keys_of(got) == keys_of(plain) == "1590#*"
    assert [e.start_s for e in got] == pytest.approx([e.start_s for e in plain], abs=1e-9)


def test_a_microphone_that_does_not_hear_the_reference_is_passed_through(announcements):
    g = np.random.default_rng(SEED + 4)
    ann = announcements[0]
    mic = tones.speech_like(len(ann) / FS, g, level_dbfs=-20)  # the other party, nothing of ours
    ec = EchoCanceller()
    out = np.concatenate([ec.cancel(mic[i : i + 800], ann[i : i + 800]) for i in range(0, len(ann), 800)])
    assert not ec.active
    assert ec.deaf  # a second of announcement with no echo: no more fitting this call
    assert np.array_equal(out, mic.astype(np.float64))
    with pytest.raises(ValueError, match="differ in length"):
        ec.cancel(np.zeros(10), np.zeros(12))
    with pytest.raises(TypeError):
        KeyListener().play(np.zeros(10))  # float samples: ambiguous scale


# --------------------------------------------------------------------------- the GSM codec


def test_presses_through_the_gsm_codec():
    g = np.random.default_rng(SEED + 5)
    keys = "".join(tones.KEYS[int(g.integers(0, 16))] for _ in range(40))
    parts = []
    for key in keys:
        tone = tones.dtmf_tone(key, 0.06, level_dbfs=float(g.uniform(-25, -5)), twist_db=float(g.uniform(-4, 4)),
                               freq_error=float(g.uniform(-0.015, 0.015)), rng=g)
        x = np.concatenate([tones.silence(0.2), tone, tones.silence(0.24)])
        parts.append(tones.mix(x, tones.white_noise(len(x) / FS, tones.rms_dbfs(tone) - 10.0, g)))
    coded = da.gsm(np.concatenate(parts))  # one call: the codec's state runs on
    bounds = np.cumsum([0] + [len(p) for p in parts])
    got = [keys_of(detect(coded[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]
    assert all(k in ("", want) for k, want in zip(got, keys))  # never a wrong or doubled key
    heard = sum(k == want for k, want in zip(got, keys))
    assert heard >= len(keys) - 2  # scripts/bench dtmf: 195 of 200
    assert sum(keys_of(detect(p)) == want for p, want in zip(parts, keys)) == len(keys)  # uncoded: all


def test_speech_through_the_gsm_codec_is_not_a_key(announcements):
    talk = np.concatenate([da.at_level(a, lvl) for a in announcements for lvl in (-25.0, -8.0)])
    assert len(talk) / FS > 40
    assert keys_of(detect(talk)) == ""
    assert keys_of(detect(da.gsm(talk))) == ""


# --------------------------------------------------------------------------- the command line


def run_cli(*args) -> subprocess.CompletedProcess:
    """``python -m phone_agent.audio.dtmf ARGS`` in a new process."""
    return subprocess.run([sys.executable, "-m", "phone_agent.audio.dtmf", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def call_cli(capsys, *args) -> subprocess.CompletedProcess:
    """The same command line, run in this process (no interpreter start-up)."""
    from phone_agent.audio.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_cli_prints_one_json_line_per_key(tmp_path):
    from scipy.signal import resample_poly

    x = np.concatenate([tones.silence(0.3), tones.key_sequence("1#9", tone_s=0.08, gap_s=0.12, level_dbfs=-12)])
    y = resample_poly(x.astype(np.float64), 441, 80) / 32768.0  # 44.1 kHz, stereo, 24-bit
    path = tmp_path / "call.wav"
    soundfile.write(str(path), np.stack([y, 0.8 * y], axis=1), 44100, subtype="PCM_24")
    out = run_cli(path)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["key"] for d in lines] == ["1", "#", "9"]
    assert [d["start_s"] for d in lines] == pytest.approx([0.3, 0.5, 0.7], abs=0.005)
    assert [d["duration_s"] for d in lines] == pytest.approx([0.08] * 3, abs=0.005)


def test_cli_with_the_announcement_as_reference(tmp_path, announcements, capsys):
    g = np.random.default_rng(SEED + 6)
    ann = announcements[1]
    for attempt in range(6):  # a recording the plain detector gets wrong
        mic, play_at = double_talk(ann, "1", 1.2 + 0.15 * attempt, g)
        if keys_of(detect(mic)) != "1":
            break
    else:
        pytest.fail("every press was heard without a reference: the recording is too easy")
    rec, ref = tmp_path / "call.wav", tmp_path / "ment.wav"
    soundfile.write(str(rec), mic, FS, subtype="PCM_16")
    soundfile.write(str(ref), ann, FS, subtype="PCM_16")
    plain = call_cli(capsys, rec)
    assert plain.returncode == 0 and '"key": "1"' not in plain.stdout
    out = call_cli(capsys, rec, "--reference", ref, "--reference-at", play_at / FS)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["key"] for line in out.stdout.splitlines()] == ["1"]


def test_cli_names_the_problem_with_a_bad_file(tmp_path, capsys):
    missing = run_cli(tmp_path / "nope.wav")  # the real entry point, once
    assert missing.returncode == 2 and "nope.wav: no such file" in missing.stderr
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    bad = call_cli(capsys, text)
    assert bad.returncode == 2 and "notes.wav: not an audio file" in bad.stderr
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
    out = call_cli(capsys, empty)
    assert out.returncode == 2 and "empty.wav: the file holds no audio" in out.stderr
    good = tmp_path / "good.wav"
    soundfile.write(str(good), tones.silence(0.5), FS, subtype="PCM_16")
    ref = call_cli(capsys, good, "--reference", text)
    assert ref.returncode == 2 and "notes.wav" in ref.stderr
    assert call_cli(capsys, good).stdout == ""  # silence: no keys, no error


# --------------------------------------------------------------------------- the call script


class AcousticPhone(Telephony):
    """A phone whose microphone hears its own loudspeaker: ``play`` adds the
    announcement's echo (delayed by the capture latency and the echo path)
    to what ``frames`` delivers, and the voter presses ``key`` ``press_at_s``
    into the first announcement at the echo's level. Call control is
    immediate: the voter answers at once and stays until we hang up."""

    name = "acoustic"

    def __init__(self, key: str, press_at_s: float, seed: int):
        super().__init__()
        self.g = np.random.default_rng(seed)
        self.key, self.press_at_s = key, press_at_s
        self.audio = np.zeros(60 * FS)  # the microphone's timeline
        self.level = tones.rms_dbfs(tones.dtmf_tone(key, 0.06, level_dbfs=-12.0))
        self.audio += tones.white_noise(60.0, self.level - 20.0, self.g)
        self.rendered = 0  # samples delivered by frames()
        self.pressed = False
        self.number: str | None = None
        self.playing: asyncio.Event | None = None

    async def dial(self, number: str) -> None:
        self.number = number
        self._emit(CallStateChange(VOTER, ACTIVE, number=number))

    async def hang_up(self) -> None:
        if self.number is not None:
            self._emit(CallStateChange(VOTER, DISCONNECTED, cause="local_hangup", number=self.number))
            self.number = None

    async def answer(self) -> None: ...
    async def ring_agent(self, dial_target: str) -> None: ...
    async def bridge(self) -> None: ...
    async def drop_agent(self) -> None: ...
    async def health(self) -> dict: return {"call_state": "idle"}

    async def play(self, path) -> bool:
        x, rate = soundfile.read(str(path), dtype="int16")
        start = self.rendered + int(0.15 * FS)  # the audio path's latency
        echo = da.hear(x, da.echo_path(self.g), self.level)[: len(self.audio) - start]
        self.audio[start : start + len(echo)] += echo
        if not self.pressed:
            self.pressed = True
            at = self.rendered + int(self.press_at_s * FS)
            tone = tones.dtmf_tone(self.key, 0.06, level_dbfs=-12.0, rng=self.g)
            self.audio[at : at + len(tone)] += tone
        self.playing = asyncio.Event()
        try:
            await asyncio.wait_for(self.playing.wait(), len(x) / rate / 50)  # 50× faster than real time
            return False
        except asyncio.TimeoutError:
            return True

    async def stop(self) -> None:
        if self.playing is not None:
            self.playing.set()

    async def frames(self):
        while self.number is not None and self.rendered + 800 <= len(self.audio):
            await asyncio.sleep(0.1 / 50)
            chunk = np.clip(np.rint(self.audio[self.rendered : self.rendered + 800]), -32768, 32767)
            self.rendered += 800
            yield chunk.astype("<i2").tobytes()


class Link:
    def __init__(self):
        self.events: list[dict] = []

    def _ok(self, **data):
        f = asyncio.get_running_loop().create_future()
        f.set_result({"ok": True, **data})
        return f

    def report(self, event):
        self.events.append(event)
        return self._ok()

    def ask_agent(self, request):
        return self._ok(line=None)

    async def claim(self, event, timeout):
        return {"ok": True}


def test_the_call_script_hears_a_press_made_during_its_announcement(tmp_path, announcements):
    ann = announcements[2]
    path = tmp_path / "intro.wav"
    soundfile.write(str(path), ann, FS, subtype="PCM_16")
    campaign = {"id": 1, "state": "running",
                "assets": {"intro": ["a" * 64], "promise": [], "callback": []},
                "settings": {"connect_agent_after_intro": False, "press1_wait_s": 1}}

    async def call():
        phone, link = AcousticPhone("1", press_at_s=1.3, seed=SEED + 7), Link()
        script = CallScript(phone, link, {"a" * 64: path}.get, ScriptConfig(speed=50.0, settle_s=0.1))
        rec = await asyncio.wait_for(script.run({"call_id": "c1", "number": "01012345678", "attempt": 1},
                                                campaign), 30)
        await script.close()
        return rec, [e["event"] for e in link.events]

    rec, events = asyncio.run(call())
    assert rec.digits == ["1"]
    assert rec.result == "callback_requested"
    # heard during the announcement: the intro never finished
    assert "intro_finished" not in events and events.index("dtmf") > events.index("intro_started")
