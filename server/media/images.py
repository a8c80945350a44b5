"""Caller-display images (발신시/착신시 표시 이미지) made ready for the phones.

The carrier's caller-display service shows the image full screen on the
voter's phone, in portrait, while it rings. The target is therefore fixed:

- **720×1280 pixels, portrait** (:data:`TARGET_SIZE`), exactly;
- **baseline JPEG of at most 300,000 bytes** (:data:`MAX_BYTES`), quality
  90 lowered in steps of 5 down to 60 until it fits;
- **sRGB**, 8 bits per channel, no alpha; an embedded ICC profile (Display
  P3 photos from phones, Adobe RGB, CMYK) is converted to sRGB, and no
  profile is written (viewers take untagged JPEG as sRGB);
- **no metadata**: EXIF (camera, GPS position, orientation), ICC, XMP and
  comments are all stripped; the EXIF orientation is applied to the pixels
  first, so a photo taken sideways shows the right way up.

The picture is scaled to fit inside 720×1280 keeping its aspect ratio, up or
down (a small poster is enlarged to fill the screen; the change list says
so), and centred on a white 720×1280 canvas: letterboxing, not cropping,
so no part of a poster (a candidate's name, a number) is ever cut off.
Transparent areas become white. Of an animated GIF or WebP only the first
frame is used.

Accepted input, judged by content and not by file name: JPEG, PNG, WebP and
GIF. Refusals raise :class:`ImageError` with one of these codes:

``empty_file``          zero bytes
``unsupported_format``  a known image or document format we do not take
                        (BMP, TIFF, HEIC, SVG, PDF, …)
``not_image``           not an image at all
``corrupt``             a JPEG/PNG/WebP/GIF that cannot be decoded
                        (truncated, bad checksums, broken header)
``too_many_pixels``     more than :data:`MAX_PIXELS` pixels
                        (decompression bombs included)
``too_small``           narrower or lower than :data:`MIN_SIDE` pixels
``too_large``           still over :data:`MAX_BYTES` at the lowest quality
                        (pure noise; not seen with real posters)
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageCms, ImageOps

from . import MediaError, exception_text

TARGET_SIZE = (720, 1280)
MAX_BYTES = 300_000
MAX_PIXELS = 40_000_000
MIN_SIDE = 100
BACKGROUND = (255, 255, 255)
QUALITY_STEPS = (90, 85, 80, 75, 70, 65, 60)
#: Upscaling by more than this factor earns a warning (the image will look soft).
UPSCALE_WARNING = 2.0
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF"

_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
_OTHER_FORMATS = (
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD (포토샵)"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"P1", "PBM"), (b"P2", "PGM"), (b"P3", "PPM"), (b"P4", "PBM"), (b"P5", "PGM"), (b"P6", "PPM"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


class ImageError(MediaError):
    """An image that cannot be used; ``code`` is stable, ``message`` is for people."""


@dataclass(frozen=True)
class PreparedImage:
    """A caller-display image in the phone format, and what it took to get there."""

    jpeg: bytes
    width: int
    height: int
    source: str
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    quality: int = QUALITY_STEPS[0]


# --------------------------------------------------------------------------- recognising


def sniff_format(data: bytes) -> str | None:
    """``JPEG``, ``PNG``, ``WEBP`` or ``GIF`` from the first bytes, else None."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _other_format(data: bytes) -> str | None:
    """Name a format we recognise but do not accept."""
    for magic, name in _OTHER_FORMATS:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC (아이폰 사진)"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        return "MP4/동영상"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "SVG"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "WAV 오디오"
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return "오피스 문서/압축 파일"
    return None


def _refuse_unknown(data: bytes) -> ImageError:
    other = _other_format(data)
    if other is not None:
        return ImageError(
            "unsupported_format",
            f"지원하지 않는 형식입니다 ({other}). {ACCEPTED_NAMES} 이미지만 사용할 수 있습니다 "
            f"(unsupported format {other.split(' ')[0]}; accepted: {ACCEPTED_NAMES})",
        )
    return ImageError(
        "not_image",
        f"이미지 파일이 아닙니다. {ACCEPTED_NAMES} 이미지를 올려 주세요 "
        f"(not an image; accepted: {ACCEPTED_NAMES})",
    )


def _corrupt(fmt: str, exc: BaseException | None = None, filename: str = "") -> ImageError:
    detail = f": {exception_text(exc, filename, 120)}" if exc is not None and str(exc).strip() else ""
    return ImageError(
        "corrupt",
        f"{fmt} 이미지가 손상되었거나 잘려 있어 읽을 수 없습니다 "
        f"(corrupt or truncated {fmt} image{detail})",
    )


def _too_many_pixels(size: tuple[int, int] | None) -> ImageError:
    dims = f"{size[0]}×{size[1]}, " if size else ""
    return ImageError(
        "too_many_pixels",
        f"이미지 해상도가 너무 큽니다 ({dims}최대 {MAX_PIXELS // 10_000}만 화소) "
        f"(image too large: {dims}max {MAX_PIXELS:,} pixels)",
    )


def _open(data: bytes, fmt: str, filename: str = "") -> Image.Image:
    """Open lazily (header only) with the one plugin for ``fmt``; bombs refused."""
    try:
        im = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError:
        raise _too_many_pixels(None) from None
    except Image.DecompressionBombWarning:
        raise _too_many_pixels(None) from None
    except Exception as exc:  # Pillow raises many types on malformed input
        raise _corrupt(fmt, exc, filename) from None
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise _too_many_pixels(im.size)
    return im


@contextlib.contextmanager
def _guarded():
    """Pillow's warnings while we work: a bomb warning becomes an error (and so
    an ImageError), the others (odd EXIF, palette notes) are not ours to pass on.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


# --------------------------------------------------------------------------- preparing


def prepare_image(data: bytes, filename: str = "") -> PreparedImage:
    """Make an uploaded image into the 720×1280 portrait JPEG the phones show.

    ``filename`` is informational only; the format is judged by content.
    Raises :class:`ImageError`.
    """
    if not data:
        raise ImageError("empty_file", "빈 파일입니다 (empty file)")
    fmt = sniff_format(data)
    if fmt is None:
        raise _refuse_unknown(data)
    _check_decoder(fmt)

    with _guarded():
        return _prepare(data, fmt, filename)


def _check_decoder(fmt: str) -> None:
    """A Pillow built without (say) libwebp: say so, rather than calling the file corrupt."""
    Image.init()
    if fmt not in Image.OPEN:
        raise ImageError(
            "unsupported_format",
            f"이 서버에서는 {_format_name(fmt)} 이미지를 읽을 수 없습니다. JPEG나 PNG로 저장해서 올려 주세요 "
            f"(this server's Pillow cannot decode {_format_name(fmt)})",
        )


def _prepare(data: bytes, fmt: str, filename: str = "") -> PreparedImage:
    changes: list[str] = []
    notes: list[str] = []

    # 1. Header: format, size, pixel budget. Then a structural check.
    im = _open(data, fmt, filename)
    src_w, src_h = im.size
    source = f"{_format_name(fmt)} {src_w}×{src_h}"
    if min(src_w, src_h) < MIN_SIDE:
        raise ImageError(
            "too_small",
            f"이미지가 너무 작습니다 ({src_w}×{src_h}). 가로·세로 모두 {MIN_SIDE}픽셀 이상이어야 하며, "
            f"{TARGET_SIZE[0]}×{TARGET_SIZE[1]}에 가까울수록 선명합니다 "
            f"(image too small: at least {MIN_SIDE} px each side)",
        )
    try:
        im.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None) from None
    except Exception as exc:
        raise _corrupt(fmt, exc, filename) from None
    im = _open(data, fmt, filename)  # verify() leaves the image unusable

    # 2. Frames, decoding (shrinking JPEG in the decoder when it is large).
    n_frames = getattr(im, "n_frames", 1) if getattr(im, "is_animated", False) else 1
    if n_frames > 1:
        im.seek(0)
        changes.append(f"움직이는 이미지({n_frames}프레임) → 첫 프레임만 사용")
    orientation = _orientation(im)
    if fmt == "JPEG":
        fit = _fit_size(*_oriented(im.size, orientation))
        im.draft(None, _oriented(fit, orientation))
    try:
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(None) from None
    except Exception as exc:
        raise _corrupt(fmt, exc, filename) from None
    icc = im.info.get("icc_profile")
    png_16bit = fmt == "PNG" and len(data) > 24 and data[24] == 16

    # 3. Orientation from EXIF.
    shown = (src_w, src_h)  # the source's size as the viewer sees it
    if orientation not in (None, 1):
        try:
            im = ImageOps.exif_transpose(im)
        except Exception:
            notes.append("EXIF 회전 정보가 잘못되어 회전 보정을 하지 못했습니다 (bad EXIF orientation ignored)")
        else:
            changes.append("EXIF 회전 보정")
            shown = _oriented(shown, orientation)

    # 4. Colour: 8-bit RGB(A) in sRGB.
    if png_16bit or im.mode.startswith("I"):
        changes.append("16비트 색 → 8비트")
    im = _to_srgb(im, icc, changes, notes)
    if im.mode == "RGBA":
        alpha = im.getchannel("A")
        if alpha.getextrema()[0] < 255:
            canvas = Image.new("RGB", im.size, BACKGROUND)
            canvas.paste(im, mask=alpha)
            im = canvas
            changes.append("투명 배경을 흰색으로")
        else:
            im = im.convert("RGB")

    # 5. Size: fit inside the target, letterbox onto white.
    w, h = im.size  # smaller than ``shown`` when the JPEG decoder already scaled down
    tw, th = TARGET_SIZE
    fw, fh = _fit_size(*shown)
    if (fw, fh) != shown:
        scale = fw / shown[0]
        if scale < 1:
            changes.append(f"{tw}×{th} 크기로 축소 ({shown[0]}×{shown[1]} → {fw}×{fh})")
        else:
            changes.append(f"화면 크기에 맞게 확대 ({shown[0]}×{shown[1]} → {fw}×{fh})")
            if scale > UPSCALE_WARNING:
                notes.append(
                    f"작은 이미지를 {scale:.1f}배 확대해서 흐리게 보일 수 있습니다. "
                    f"{tw}×{th} 이미지를 올리면 가장 선명합니다 (upscaled {scale:.1f}×; may look soft)"
                )
    if (fw, fh) != (w, h):
        im = im.resize((fw, fh), Image.Resampling.LANCZOS, reducing_gap=3.0 if fw / w < 0.5 else None)
    if (fw, fh) != TARGET_SIZE:
        canvas = Image.new("RGB", TARGET_SIZE, BACKGROUND)
        canvas.paste(im, ((tw - fw) // 2, (th - fh) // 2))
        im = canvas
        side = "위아래" if fw == tw else "좌우"
        changes.append(f"세로 화면({tw}×{th})에 맞춰 {side}에 흰 여백 추가")
    else:
        # A fresh image: nothing of the source's metadata (EXIF, ICC, XMP, comments) travels on.
        im = Image.frombytes("RGB", im.size, im.tobytes())

    if _has_metadata(data, fmt):
        changes.append("EXIF 등 메타데이터 제거")

    # 6. Encode.
    jpeg, quality = _encode(im)
    if fmt != "JPEG":
        changes.append(f"{_format_name(fmt)} → JPEG 변환")
    changes.append(f"JPEG 품질 {quality}")
    return PreparedImage(
        jpeg=jpeg, width=tw, height=th, source=source, changes=changes, warnings=notes, quality=quality
    )


def _format_name(fmt: str) -> str:
    return {"WEBP": "WebP"}.get(fmt, fmt)


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(0x0112)
    except Exception:
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _oriented(size: tuple[int, int], orientation: int | None) -> tuple[int, int]:
    """Size after applying the EXIF orientation (5–8 swap the axes); also its own inverse."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _fit_size(w: int, h: int) -> tuple[int, int]:
    tw, th = TARGET_SIZE
    scale = min(tw / w, th / h)
    fw = min(tw, max(1, round(w * scale)))
    fh = min(th, max(1, round(h * scale)))
    return fw, fh


def _has_metadata(data: bytes, fmt: str) -> bool:
    """Did the source carry EXIF/XMP/comments that we drop? (for the change list)"""
    if fmt == "JPEG":
        return b"Exif\x00\x00" in data[:65536] or b"http://ns.adobe.com/xap/" in data[:65536]
    if fmt == "PNG":
        return any(tag in data for tag in (b"eXIf", b"tEXt", b"iTXt", b"zTXt"))
    if fmt == "WEBP":
        return b"EXIF" in data[:4096] or b"XMP " in data[:4096]
    return False


def _to_rgb_or_rgba(im: Image.Image) -> Image.Image:
    """Any decoded mode (palette, grey, 16-bit grey, with or without alpha) to 8-bit RGB or RGBA."""
    mode = im.mode
    if mode in ("RGB", "RGBA"):
        return im
    if mode == "CMYK":
        return im.convert("RGB")
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode in ("LA", "La", "RGBa"):
        return im.convert("RGBA")
    if mode in ("1", "L"):
        return im.convert("RGB")
    if mode.startswith("I"):
        # 16-bit greyscale PNG: scale 0–65535 down to 0–255 (Pillow's own
        # convert("L") clips instead of scaling, turning most images white).
        grey = np.asarray(im).astype(np.float64) / 257.0
        return Image.fromarray(np.clip(np.round(grey), 0, 255).astype(np.uint8)).convert("RGB")
    return im.convert("RGBA" if "A" in im.getbands() else "RGB")


#: Modes LittleCMS converts directly; others are made RGB(A) before the profile is applied.
_CMS_MODES = ("RGB", "RGBA", "CMYK", "L")


def _to_srgb(im: Image.Image, icc: bytes | None, changes: list[str], notes: list[str]) -> Image.Image:
    """8-bit RGB(A) in sRGB, honouring an embedded ICC profile (Display P3, Adobe RGB, CMYK, grey)."""
    was_cmyk = im.mode == "CMYK"
    if not icc:
        if was_cmyk:
            changes.append("CMYK → RGB 변환")
        return _to_rgb_or_rgba(im)
    if im.mode not in _CMS_MODES:
        im = _to_rgb_or_rgba(im)
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        name = (ImageCms.getProfileDescription(src) or "").strip()
    except Exception:
        notes.append("이미지에 들어 있는 색 프로필(ICC)이 잘못되어 무시했습니다 (invalid ICC profile ignored)")
        if was_cmyk:
            changes.append("CMYK → RGB 변환")
        return _to_rgb_or_rgba(im)
    if "srgb" in name.lower().replace(" ", "") and not was_cmyk:
        return _to_rgb_or_rgba(im)
    try:
        converted = ImageCms.profileToProfile(
            im, src, ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode="RGBA" if im.mode == "RGBA" else "RGB",
        )
    except Exception:
        notes.append(
            f"색 프로필({name or 'ICC'})을 sRGB로 바꾸지 못해 그대로 사용했습니다 "
            "(could not convert ICC profile to sRGB)"
        )
        if was_cmyk:
            changes.append("CMYK → RGB 변환")
        return _to_rgb_or_rgba(im)
    label = "CMYK → RGB 변환" if was_cmyk else "색 공간을 sRGB로 변환"
    changes.append(f"{label} (원본 프로필: {name or '이름 없음'})")
    return converted


def _encode(im: Image.Image) -> tuple[bytes, int]:
    size = None
    for quality in QUALITY_STEPS:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality, optimize=True, progressive=False, subsampling="4:2:0")
        size = buf.tell()
        if size <= MAX_BYTES:
            return buf.getvalue(), quality
    raise ImageError(
        "too_large",
        f"이미지가 너무 복잡해서 JPEG 품질 {QUALITY_STEPS[-1]}로도 {MAX_BYTES // 1000} KB 이하로 줄일 수 "
        f"없습니다 ({size // 1000} KB). 더 단순한 이미지를 사용해 주세요 "
        f"(cannot fit in {MAX_BYTES:,} bytes even at quality {QUALITY_STEPS[-1]})",
    )


# --------------------------------------------------------------------------- previews


def thumbnail(jpeg: bytes, max_side: int = 240) -> bytes:
    """A small JPEG preview (longest side ``max_side``) for the console."""
    if max_side < 16:
        raise ValueError("max_side must be at least 16")
    if not jpeg:
        raise ImageError("empty_file", "빈 파일입니다 (empty file)")
    fmt = sniff_format(jpeg)
    if fmt is None:
        raise _refuse_unknown(jpeg)
    _check_decoder(fmt)
    with _guarded():
        im = _open(jpeg, fmt)
        try:
            if fmt == "JPEG":
                im.draft("RGB", (max_side, max_side))
            im = ImageOps.exif_transpose(im)
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        except ImageError:
            raise
        except Exception as exc:
            raise _corrupt(fmt, exc) from None
        if im.mode != "RGB":
            rgba = im.convert("RGBA")
            im = Image.new("RGB", rgba.size, BACKGROUND)
            im.paste(rgba, mask=rgba.getchannel("A"))
        out = io.BytesIO()
        Image.frombytes("RGB", im.size, im.tobytes()).save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()
