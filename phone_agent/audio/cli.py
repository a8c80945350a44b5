"""``python -m phone_agent.audio.dtmf RECORDING [--reference ANNOUNCEMENT]``:
the key presses in a recording of call audio, one JSON line per key::

    {"key": "1", "start_s": 2.431, "duration_s": 0.062}

``start_s`` counts from the start of the recording; ``duration_s`` is the
whole press. With ``--reference`` (the announcement file as it was played)
the announcement's echo is removed first, as the phone does during a call;
``--reference-at`` says when in the recording playback started (default 0;
the echo may come up to a second after that). Any sample rate and channel
count is read (mixed to mono, resampled to 8 kHz). Exit status 0, or 2 with
a message on stderr for a file that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .listener import KeyListener
from .wavfile import RATE, AudioFileError, read_8k_mono

__all__ = ["main"]

_CHUNK = RATE // 10  # fed 100 ms at a time, as call audio arrives


def find_keys(recording: np.ndarray, reference: np.ndarray | None = None, reference_at_s: float = 0.0):
    """The key presses (DtmfEvent, whole presses) in 8 kHz int16 audio."""
    keys = KeyListener(RATE, emit="release")
    at = min(len(recording), int(round(reference_at_s * RATE))) if reference is not None else len(recording)
    events = []
    for part, then_play in ((recording[:at], reference is not None), (recording[at:], False)):
        for i in range(0, len(part), _CHUNK):
            events += keys.feed(part[i : i + _CHUNK])
        if then_play:
            keys.play(reference)
    return events + keys.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m phone_agent.audio.dtmf",
                                 description="Print the DTMF key presses in a recording, one JSON line per key.")
    ap.add_argument("recording", help="call audio (WAV or any format libsndfile reads)")
    ap.add_argument("--reference", metavar="ANNOUNCEMENT",
                    help="the announcement played during the recording; its echo is removed first")
    ap.add_argument("--reference-at", type=float, default=0.0, metavar="SECONDS",
                    help="when playback of the reference started in the recording (default 0)")
    args = ap.parse_args(argv)
    if args.reference_at < 0:
        ap.error("--reference-at must be 0 or more seconds")
    try:
        recording = read_8k_mono(args.recording)
        reference = read_8k_mono(args.reference) if args.reference else None
    except AudioFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for ev in find_keys(recording, reference, args.reference_at):
        print(json.dumps({"key": ev.key, "start_s": round(ev.start_s, 3), "duration_s": round(ev.duration_s, 3)}))
    return 0
