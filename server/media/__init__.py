"""Uploaded media made ready for the phones.

Pure functions, bytes in and bytes out, with no Flask and no database:

- ``server.media.audio``: announcements (안내멘트) converted to the phone
  format, PCM WAV 8000 Hz 16-bit mono.
- ``server.media.images``: caller-display images (발신시/착신시 표시 이미지)
  made into a portrait 720×1280 JPEG of at most 300 KB.

Both refuse bad input with an error carrying a short ``code`` and a clear
Korean message with the English gist, and report what they changed, in
Korean, so that the console can tell the manager.
"""


class MediaError(ValueError):
    """A file that cannot be used; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message
