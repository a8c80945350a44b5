"""What a phone can do for a call's audio: the capability probe.

Whether a phone's audio HAL lets the shell user capture a call is per model
and per release, so it is measured, never assumed. The result is one dict,
the phone's ``"audio"`` in its heartbeat::

    {"path": "downlink" | "voice_call" | "speaker" | "none",
     "capture": "voice-call-downlink" | "voice-call" | "mic" | None,
     "sources": {"voice-call-downlink": V, "voice-call": V, "mic": V},
     "helper": "plays" | "missing" | "fails" | "untested",
     "android": "13", "problem": None | "why the path is none (≤ 120 chars)",
     "probed_at": 1764740000.0}

with V one of ``signal``, ``silent``, ``refused``, ``untested``. The path is
the first source, in the order voice-call-downlink (the voter alone: what
the DTMF detector should hear), voice-call (the voter and our announcement),
mic (the speakerphone: the room), that is neither ``refused`` nor
``silent``.

What is tested when
-------------------
**When the phone joins** (the backend's first ``ready()``) and on demand
(``AdbTelephony.probe_audio()``), each source is started through
scrcpy-server and listened to for :data:`LISTEN_S` seconds of audio:

* codec id 0, or the server failing to start it → ``refused`` (Android 10
  always; Android 11 with the lock screen up; a HAL without that source);
* the mic → ``signal`` if its level reaches :data:`SIGNAL_DBFS` (a working
  microphone always hears some room noise; a muted or blocked capture gives
  digital silence), else ``silent``;
* the two voice-call sources, on an idle phone → ``untested``: they started,
  but with no call up there is nothing to hear, so whether they carry a call
  cannot be known yet (when the probe runs during a call they are judged
  like the mic).

The helper is checked (its jar on the phone) and, on an idle phone, plays a
0.3 s 1 kHz tone on the loudspeaker: ``plays`` when it reports it played
the whole tone, ``missing`` without the jar, ``fails`` otherwise.

**During each call** (:mod:`.call_audio`) the chosen source is judged on its
first :data:`VERIFY_S` seconds: ``signal`` if the level reaches
:data:`SIGNAL_DBFS` (a live call always carries line noise), ``silent``
otherwise — and then the next source takes over in the same call, and the
result changes for every later call (:func:`heard`).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..base import ACTIVE, VOTER, AudioError, DeviceUnavailable
from .scrcpy import SOURCES, Capture
from .scrcpy_wire import CaptureRefused
from .server_file import SERVER_VERSION, ServerFileError, load

if TYPE_CHECKING:
    from .backend import AdbTelephony

__all__ = ["LISTEN_S", "PATH_OF", "SIGNAL_DBFS", "VERIFY_S", "choose", "heard", "level_dbfs", "probe",
           "result", "verdict"]

PATH_OF = {"voice-call-downlink": "downlink", "voice-call": "voice_call", "mic": "speaker"}
SIGNAL_DBFS = -80.0  # digital silence is −∞; a microphone or a live line is far above this
LISTEN_S = 0.5
VERIFY_S = 0.3  # a live call's line noise shows in every 0.1 s; digital silence stays 0
TONE_HZ, TONE_S = 1000.0, 0.3
RATE = 8000


# -- pure ---------------------------------------------------------------------------------

def level_dbfs(pcm: bytes) -> float:
    """RMS level of PCM16LE in dB full scale (−inf for digital silence)."""
    x = np.frombuffer(pcm[:len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
    if not len(x):
        return -math.inf
    rms = math.sqrt(float(np.mean(x * x)))
    return 20 * math.log10(rms / 32768.0) if rms > 0 else -math.inf


def verdict(pcm: bytes) -> str:
    return "signal" if level_dbfs(pcm) >= SIGNAL_DBFS else "silent"


def choose(sources: dict[str, str]) -> tuple[str, str | None]:
    """(path, capture source) from each source's verdict."""
    for source in SOURCES:
        if sources.get(source) in ("signal", "untested"):
            return PATH_OF[source], source
    return "none", None


def _problem(android: str, sources: dict[str, str]) -> str:
    major = android.split(".")[0]
    if major.isdigit() and int(major) <= 10 and all(v == "refused" for v in sources.values()):
        return f"audio capture impossible on Android {android} (the shell can capture from 11 on)"
    if major == "11" and all(v == "refused" for v in sources.values()):
        return "Android 11 captures audio only if the screen is on and unlocked when capture starts"
    return ("no source hears the call: " + ", ".join(f"{s} {v}" for s, v in sources.items()))[:120]


def result(android: str, sources: dict[str, str], helper: str, *, problem: str | None = None,
           now: float | None = None) -> dict:
    """The probe's dict (see the module docstring); a ``problem`` given
    means no path whatever the sources say (no server file to capture with)."""
    path, capture = ("none", None) if problem else choose(sources)
    if path == "none" and problem is None:
        problem = _problem(android, sources)
    return {"path": path, "capture": capture, "sources": {s: sources.get(s, "untested") for s in SOURCES},
            "helper": helper, "android": android,
            "problem": None if path != "none" else (problem or "")[:120],
            "probed_at": time.time() if now is None else now}


def heard(previous: dict, source: str, what: str, now: float | None = None) -> dict:
    """``previous`` with ``source`` judged ``what`` in a call (path chosen again)."""
    sources = dict(previous["sources"], **{source: what})
    return result(previous["android"], sources, previous["helper"], now=now)


# -- the probe (I/O) --------------------------------------------------------------------------

async def probe(backend: "AdbTelephony", listen_s: float = LISTEN_S) -> dict:
    """Probe ``backend``'s phone now (see the module docstring)."""
    await backend._ensure_open()
    android = backend.props.get("ro.build.version.release", "") or "unknown"
    sources = {s: "untested" for s in SOURCES}
    try:
        await backend.blocking(load, backend.scrcpy_server)
    except ServerFileError as exc:
        problem = {"missing": f"scrcpy-server v{SERVER_VERSION} missing on this computer: run "
                              "scripts/fetch-scrcpy-server",
                   "wrong": f"the scrcpy-server file on this computer is not v{SERVER_VERSION} "
                            "(size or sha256 differ): refused"}.get(exc.kind, str(exc))
        return result(android, sources, await _helper(backend), problem=problem)
    leg = backend.tracker.live(VOTER)
    in_call = leg is not None and leg.state == ACTIVE
    for source in SOURCES:
        sources[source] = await _try(backend, source, listen_s, judge=in_call or source == "mic")
    return result(android, sources, await _helper(backend))


async def _try(backend: "AdbTelephony", source: str, listen_s: float, judge: bool) -> str:
    capture = Capture(backend, source)
    try:
        await capture.start()
    except CaptureRefused:
        return "refused"
    except AudioError as exc:
        if isinstance(exc, ServerFileError):
            raise
        return "refused"
    try:
        pcm = b""
        while len(pcm) < listen_s * RATE * 2:
            chunk = await backend._run_blocking(capture.read)
            if not chunk:
                break
            pcm += chunk
    except AudioError:
        return "refused" if not pcm else verdict(pcm) if judge else "untested"
    finally:
        await capture.close()
    return verdict(pcm) if judge else "untested"


async def _helper(backend: "AdbTelephony") -> str:
    try:
        await backend.audio.check(backend)
    except NotImplementedError:
        return "untested"
    except AudioError as exc:
        return "missing" if "missing" in str(exc) else "fails"
    if backend.tracker.live(VOTER) is not None:
        return "untested"  # never beep into a call
    try:
        return "plays" if await backend.play(_tone()) else "fails"
    except (AudioError, DeviceUnavailable):
        return "fails"


def _tone() -> Path:
    """A 0.3 s 1 kHz tone, PCM16 8 kHz mono WAV (made once per computer)."""
    import soundfile

    path = Path(tempfile.gettempdir()) / "mobile-ars-probe-tone-1khz.wav"
    if not path.is_file():
        t = np.arange(int(TONE_S * RATE)) / RATE
        tone = (0.25 * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype("<i2")
        tmp = path.with_name(f".{os.getpid()}-{path.name}")
        soundfile.write(tmp, tone, RATE, subtype="PCM_16")
        tmp.replace(path)
    return path
