"""Uploaded media made ready for the phones.

Pure functions, bytes in and bytes out, with no Flask and no database:

- ``server.media.audio``: announcements (안내멘트) converted to the phone
  format, PCM WAV 8000 Hz 16-bit mono.
- ``server.media.images``: caller-display images (발신시/착신시 표시 이미지)
  made into a portrait 720×1280 JPEG of at most 300 KB.

Both refuse bad input with an error carrying a short ``code`` and a clear
Korean message with the English gist, and report what they changed, in
Korean, so that the console can tell the manager. A library's own words in
a message name the uploaded file, never a Python object
(:func:`exception_text`).
"""

import re

_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")


class MediaError(ValueError):
    """A file that cannot be used; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def exception_text(exc: BaseException, filename: str = "", limit: int = 160) -> str:
    """The last line of a library's error, with any ``<_io.BytesIO object at
    0x…>`` (libsndfile and Pillow name the stream they were given) replaced by
    the uploaded file's name."""
    lines = str(exc).strip().splitlines()
    text = lines[-1] if lines else type(exc).__name__
    text = _OBJECT_REPR.sub(f"'{filename}'" if filename else "file", text)
    return text[:limit]
