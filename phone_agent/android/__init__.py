"""The phone's audio helper: a small program for Android's ``app_process``,
built in this repository from the smali sources in ``smali/mobilears/``.

Stock Android has no shell command that plays a file or records the
microphone. The helper does both, run as the shell user the way
scrcpy-server runs::

    CLASSPATH=/data/local/tmp/mobile-ars-audio.jar app_process / mobilears.Audio version
    CLASSPATH=… app_process / mobilears.Audio play FILE [--volume 0..100] [--stream voice_call|music]
    CLASSPATH=… app_process / mobilears.Audio record RATE

(what each prints is in :mod:`phone_agent.telephony.adb.audio`). It is
assembled with Debian's ``smali`` (package ``libsmali-java``) into a
``classes.dex`` and zipped into :data:`BUILT_JAR` by
:mod:`phone_agent.android.build` (``scripts/build-helper``); no Android SDK
is needed: Android's classes are referenced by name only.

Where the jar is: :data:`BUILT_JAR`, inside this package, in the checkout
(router mode: the server PC drives the phones) and in the package the server
hands to phones (internet mode: ``phone_agent`` in Termux). The backend
pushes it to :data:`PHONE_PATH` when the phone lacks it or holds another
file there, verified by size and SHA-256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["BUILT_JAR", "HELPER_CLASS", "HELPER_VERSION", "HelperNotBuilt", "JAR_NAME", "PHONE_PATH",
           "SOURCES", "VERSION_LINE", "built_jar", "jar_digest"]

JAR_NAME = "mobile-ars-audio.jar"
HELPER_CLASS = "mobilears.Audio"
# Goes up with every change of the helper's behaviour; the smali source
# (Audio.VERSION) says the same and the build checks that they agree.
HELPER_VERSION = 1
VERSION_LINE = f"mobile-ars-audio {HELPER_VERSION}"
PHONE_PATH = f"/data/local/tmp/{JAR_NAME}"

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "smali"
BUILT_JAR = HERE / "dist" / JAR_NAME

_digests: dict[tuple[str, int, int], tuple[int, str]] = {}


class HelperNotBuilt(Exception):
    """The audio helper's jar is not where the backend looks for it."""


def built_jar() -> Path:
    """The built jar; :class:`HelperNotBuilt` saying how to build it."""
    if not BUILT_JAR.is_file():
        raise HelperNotBuilt(
            f"audio helper not built: {BUILT_JAR} is missing. Build it on the server PC with "
            "scripts/build-helper (needs `apt-get install libsmali-java dexdump`); "
            "in internet mode install phone_agent from the server again afterwards")
    return BUILT_JAR


def jar_digest(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, remembered while it is unchanged."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    digest = _digests.get(key)
    if digest is None:
        data = path.read_bytes()
        digest = _digests[key] = (len(data), hashlib.sha256(data).hexdigest())
    return digest
