"""Call audio for the DTMF tests and ``scripts/bench dtmf``: speech from
espeak-ng, the GSM 06.10 codec through ffmpeg, and the echo of an
announcement as a phone's microphone hears it. Everything random takes a
``numpy.random.Generator``; espeak-ng and ffmpeg are deterministic, so a
fixed seed gives the same audio every time.

The echo model (``echo_path`` + ``hear``): the announcement leaves a small
loudspeaker (no bass below ~300 Hz, a gentle roll-off above 3.4 kHz, and a
little distortion at the peaks), reaches the microphone through the phone's
body a few ms later (the strong direct path) and through the room (an
exponentially decaying tail, reverberation time 0.15-0.4 s, 10-20 dB
weaker), and the capture adds its own latency: tens of ms, up to a few
hundred with buffering.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import soundfile
from scipy.signal import butter, lfilter, resample_poly

from phone_agent.audio import tones

FS = 8000

KOREAN = (
    "후보지원 통화를 원하시면 1번을 눌러 주세요",
    "안녕하십니까, 기호 2번 후보의 선거사무소입니다",
    "이번 선거에서 소중한 한 표를 부탁드립니다",
    "투표는 오전 6시부터 오후 6시까지 가까운 투표소에서 하실 수 있습니다",
    "사전투표는 신분증만 있으면 전국 어디서나 가능합니다",
    "수신을 원하지 않으시면 9번을 눌러 주세요",
    "지역 경제를 살리고 아이 키우기 좋은 동네를 만들겠습니다",
    "교통 문제 해결을 위해 지하철 연장을 추진하겠습니다",
    "어르신들을 위한 복지관을 새로 짓겠습니다",
    "여러분의 목소리에 귀 기울이는 일꾼이 되겠습니다",
    "자세한 공약은 선거 공보물을 참고해 주시기 바랍니다",
    "바쁘신 가운데 전화를 받아 주셔서 감사합니다",
)
ENGLISH = (
    "Hello, this is a message from your local candidate",
    "If you would like to talk to our campaign team, please press one now",
    "Early voting opens on Friday at six in the morning",
    "We will build a safer and greener neighbourhood for every family",
    "Thank you for taking the time to listen to this message",
    "To stop receiving these calls, press nine",
    "Our office is open every day from nine to six",
    "Please remember to bring your identification card to the polling station",
)


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"{tool} is not installed (scripts/test installs it from Debian)")
    return path


def speech(text: str, voice: str = "ko", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """``text`` spoken by espeak-ng, as int16 samples at 8 kHz."""
    out = subprocess.run([require("espeak-ng"), "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         capture_output=True, check=True).stdout
    x, rate = soundfile.read(io.BytesIO(out), dtype="float64")
    x = resample_poly(x, FS, rate) if rate != FS else x
    return tones._to_int16(x * 32767.0)


def speech_pool(g: np.random.Generator, seconds: float, voices=("ko", "en")) -> list[np.ndarray]:
    """Utterances in the given voices, at random speeds and pitches, until
    ``seconds`` of speech (alternating voices, sentences in turn)."""
    out: list[np.ndarray] = []
    total, i = 0.0, 0
    while total < seconds:
        voice = voices[i % len(voices)]
        texts = KOREAN if voice == "ko" else ENGLISH
        text = texts[(i // len(voices)) % len(texts)]
        x = speech(text, voice, speed=int(g.integers(130, 200)), pitch=int(g.integers(25, 75)))
        out.append(x)
        total += len(x) / FS
        i += 1
    return out


def at_level(x: np.ndarray, rms_dbfs: float) -> np.ndarray:
    """``x`` scaled to an RMS level (dBFS, a full-scale sine = 0), over its
    active part (samples above -50 dBFS peak) so that pauses do not count."""
    f = np.asarray(x, dtype=np.float64)
    active = np.abs(f) > 32767 * 10 ** (-50 / 20)
    rms = float(np.sqrt(np.mean(f[active] ** 2))) if active.any() else 0.0
    if rms == 0:
        return np.zeros(len(f), dtype=np.int16)
    return tones._to_int16(f * (32767 / np.sqrt(2) * 10 ** (rms_dbfs / 20)) / rms)


def gsm(x: np.ndarray) -> np.ndarray:
    """``x`` (int16, 8 kHz) encoded with the GSM 06.10 full-rate codec
    (ffmpeg's libgsm) and decoded again; same length."""
    ff = require("ffmpeg")
    pcm = np.asarray(x, dtype="<i2").tobytes()
    coded = subprocess.run([ff, "-v", "error", "-f", "s16le", "-ar", str(FS), "-ac", "1", "-i", "pipe:0",
                            "-c:a", "libgsm", "-f", "gsm", "pipe:1"], input=pcm, capture_output=True,
                           check=True).stdout
    back = subprocess.run([ff, "-v", "error", "-f", "gsm", "-i", "pipe:0", "-f", "s16le", "-ar", str(FS),
                           "-ac", "1", "pipe:1"], input=coded, capture_output=True, check=True).stdout
    y = np.frombuffer(back, dtype="<i2").astype(np.int16)
    if len(y) < len(x):
        y = np.concatenate([y, np.zeros(len(x) - len(y), dtype=np.int16)])
    return y[: len(x)]


def echo_path(g: np.random.Generator, latency_s: tuple[float, float] = (0.02, 0.08)) -> np.ndarray:
    """A random impulse response from what the phone plays to what its
    microphone hears (unit energy; see the module docstring)."""
    lag = int(g.uniform(*latency_s) * FS)
    rt60 = g.uniform(0.15, 0.4)
    n_tail = int(rt60 * FS)
    t = np.arange(n_tail)
    tail = g.normal(0.0, 1.0, n_tail) * 10 ** (-3.0 * t / n_tail)  # -60 dB at rt60
    tail[: int(0.003 * FS)] = 0.0  # the first reflection comes a few ms after the direct path
    tail *= 10 ** (-g.uniform(10, 20) / 20) / np.sqrt(np.sum(tail**2))
    direct = np.zeros(n_tail)
    direct[0] = 1.0
    direct[1:4] = g.uniform(-0.4, 0.4, 3)  # the phone's body
    h = direct + tail
    b, a = butter(2, [300 / (FS / 2), 3400 / (FS / 2)], btype="band")  # the small loudspeaker
    h = lfilter(b, a, h)
    h = np.concatenate([np.zeros(lag), h])
    return h / np.sqrt(np.sum(h**2))


def hear(ref: np.ndarray, h: np.ndarray, level_dbfs: float | None = None) -> np.ndarray:
    """What the microphone hears of ``ref`` through the echo path ``h``
    (float64, same length as ref), scaled to ``level_dbfs`` RMS over its
    active part if given. The loudspeaker distorts its peaks a little."""
    x = np.asarray(ref, dtype=np.float64) / 32768.0
    x = x - 0.04 * x**3  # soft peaks: 1 % third harmonic for a full-scale sine
    y = np.convolve(x, h)[: len(x)] * 32768.0
    if level_dbfs is not None:
        active = np.abs(np.asarray(ref, dtype=np.float64)) > 32767 * 10 ** (-50 / 20)
        rms = float(np.sqrt(np.mean(y[active] ** 2))) if active.any() else 0.0
        if rms > 0:
            y *= 32767 / np.sqrt(2) * 10 ** (level_dbfs / 20) / rms
    return y
