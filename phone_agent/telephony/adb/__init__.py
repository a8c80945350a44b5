"""The ``adb`` backend: a real Android phone driven from the adb shell.

* :mod:`.backend` — :class:`AdbTelephony`, the backend itself;
* :mod:`.monitor` — :class:`CallMonitor`, the backend's calls followed by
  the watch stream, else by polling;
* :mod:`.assets` — :class:`AssetStore`, the files put on the phone and
  verified by size and sha256;
* :mod:`.tracker` — :class:`CallTracker`, calls followed from dumpsys
  snapshots (pure);
* :mod:`.transport` — the adb streams and the long-lived shell session;
* :mod:`.audio` — where announcements play and the call is heard;
* :mod:`.helper` — the audio helper jar pushed to the phone and checked;
* :mod:`.call_audio`, :mod:`.scrcpy`, :mod:`.scrcpy_wire`, :mod:`.probe`,
  :mod:`.server_file` — the call heard through scrcpy-server v3.3.4, and
  the per-phone audio capability probe;
* :mod:`.android` — the shell commands and what Android prints (pure);
* :mod:`.errors` — adb's errors turned into typed errors, in one place.
"""

from .android import (ASSET_DIR, MERGE_LABELS, POLL_REGISTRY, POLL_TELECOM, RESUME_LABELS, dial_uri,
                      find_button, own_number)
from .audio import AUDIO_HELPER_JAR, AnnouncementDeviceAudio, AudioPath, SpeakerphoneAudio
from .backend import AdbTelephony
from .errors import AdbServerUnreachable, MergeUnavailable, adb_error
from .tracker import CallTracker, classify_disconnect

__all__ = ["ASSET_DIR", "AUDIO_HELPER_JAR", "MERGE_LABELS", "POLL_REGISTRY", "POLL_TELECOM",
           "RESUME_LABELS", "AdbServerUnreachable", "AdbTelephony", "AnnouncementDeviceAudio",
           "AudioPath", "CallTracker", "MergeUnavailable", "SpeakerphoneAudio", "adb_error",
           "classify_disconnect", "dial_uri", "find_button", "own_number"]
