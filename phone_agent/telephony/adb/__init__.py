"""The ``adb`` backend: a real Android phone driven from the adb shell
(:mod:`.backend`)."""

from .backend import (ASSET_DIR, AUDIO_HELPER_JAR, MERGE_LABELS, POLL_REGISTRY, POLL_TELECOM,
                      RESUME_LABELS, AdbTelephony, AnnouncementDeviceAudio, AudioPath, CallTracker,
                      MergeUnavailable, SpeakerphoneAudio, classify_disconnect, dial_uri,
                      find_button, own_number)

__all__ = ["ASSET_DIR", "AUDIO_HELPER_JAR", "MERGE_LABELS", "POLL_REGISTRY", "POLL_TELECOM",
           "RESUME_LABELS", "AdbTelephony", "AnnouncementDeviceAudio", "AudioPath", "CallTracker",
           "MergeUnavailable", "SpeakerphoneAudio", "classify_disconnect", "dial_uri",
           "find_button", "own_number"]
