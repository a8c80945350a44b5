"""Caller-display images made into the phones' 720×1280 portrait JPEG.

Every input is generated here with Pillow, or built byte by byte where a
broken or hostile file is needed (truncated files, decompression bombs).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from server.media import images
from server.media.images import MAX_BYTES, TARGET_SIZE, ImageError, PreparedImage, prepare_image, thumbnail

RED, GREEN, BLUE, WHITE = (220, 20, 20), (20, 200, 20), (20, 20, 220), (255, 255, 255)

# --------------------------------------------------------------------------- helpers


def save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def two_halves(size, first, second, mode="RGB", vertical_split=True):
    """Left/right (or top/bottom) halves in two colours."""
    w, h = size
    im = Image.new(mode, size, first)
    box = (w // 2, 0, w, h) if vertical_split else (0, h // 2, w, h)
    im.paste(second, box)
    return im


def result_image(result: PreparedImage) -> Image.Image:
    im = Image.open(io.BytesIO(result.jpeg))
    assert im.format == "JPEG"
    assert im.size == TARGET_SIZE == (result.width, result.height)
    assert len(result.jpeg) <= MAX_BYTES
    im.load()
    return im


def close(pixel, colour, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(pixel, colour))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit greyscale PNG of all-black rows, compressed ~1000:1.

    Deflating hundreds of megabytes of zeros is slow, so the stream is built
    the way a bomb maker would: one 2,000-row block compressed with a full
    flush (which resets the compressor), the identical output repeated, and
    the Adler-32 of the whole worked out arithmetically.
    """
    row = b"\x00" * (1 + (width + 7) // 8)
    rows_per_block = 2000
    assert height % rows_per_block == 0
    block = row * rows_per_block
    c = zlib.compressobj(9)
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    repeat = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush(zlib.Z_FINISH)[:-4]  # final empty block, without the (wrong) checksum
    adler = 1
    for _ in range(height // rows_per_block):  # the checksum of the whole uncompressed stream
        adler = zlib.adler32(block, adler)
    stream = first + repeat * (height // rows_per_block - 1) + end + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", stream) + png_chunk(b"IEND", b"")


def test_png_bomb_helper_is_a_real_png():
    small = png_bomb(3000, 4000)
    im = Image.open(io.BytesIO(small))
    assert im.size == (3000, 4000)
    im.load()
    assert im.getextrema() == (0, 0)


# --------------------------------------------------------------------------- the target


def test_landscape_png_is_letterboxed_onto_white():
    src = two_halves((1920, 1080), RED, BLUE)
    result = prepare_image(save(src, "PNG"), "poster.png")
    im = result_image(result)

    assert result.source == "PNG 1920×1080"
    assert result.changes == [
        "720×1280 크기로 축소 (1920×1080 → 720×405)",
        "세로 화면(720×1280)에 맞춰 위아래에 흰 여백 추가",
        "PNG → JPEG 변환",
        "JPEG 품질 90",
    ]
    assert result.quality == 90
    # picture in the middle band (1280-405)/2 = 437 .. 842, white above and below
    assert close(im.getpixel((100, 640)), RED)
    assert close(im.getpixel((620, 640)), BLUE)
    assert close(im.getpixel((360, 100)), WHITE, 3)
    assert close(im.getpixel((360, 1200)), WHITE, 3)


def test_exact_size_jpeg_needs_no_resizing():
    src = two_halves(TARGET_SIZE, RED, GREEN, vertical_split=False)
    result = prepare_image(save(src, "JPEG", quality=95), "ready.jpg")
    im = result_image(result)
    assert result.changes == ["JPEG 품질 90"]
    assert close(im.getpixel((360, 100)), RED)
    assert close(im.getpixel((360, 1200)), GREEN)


def test_exif_orientation_6_is_applied_and_exif_stripped():
    # Stored landscape 400×200, red left / blue right. Orientation 6 means
    # "rotate 90° clockwise to view": the viewer sees portrait 200×400,
    # red on top and blue below.
    src = two_halves((400, 200), RED, BLUE)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "CameraMaker"
    exif[0x0110] = "SecretPhone 9"
    gps = {1: "N", 2: (37.0, 33.0, 59.0), 3: "E", 4: (126.0, 58.0, 41.0)}
    exif[0x8825] = gps
    data = save(src, "JPEG", quality=95, exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == 6

    result = prepare_image(data, "photo.jpg")
    im = result_image(result)
    assert "EXIF 회전 보정" in result.changes
    assert "EXIF 등 메타데이터 제거" in result.changes
    assert "720×1280 크기로 축소" not in " ".join(result.changes)
    assert "화면 크기에 맞게 확대 (200×400 → 640×1280)" in result.changes
    # portrait content: red top, blue bottom, white bars left and right
    assert close(im.getpixel((360, 320)), RED)
    assert close(im.getpixel((360, 960)), BLUE)
    assert close(im.getpixel((10, 640)), WHITE, 3)
    assert close(im.getpixel((710, 640)), WHITE, 3)
    # no metadata at all
    assert not im.getexif()
    assert "exif" not in im.info and "icc_profile" not in im.info
    assert b"Exif" not in result.jpeg
    assert b"CameraMaker" not in result.jpeg and b"SecretPhone" not in result.jpeg


def test_large_rotated_photo_is_scaled_from_its_true_size():
    src = two_halves((4000, 3000), RED, BLUE)
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° counter-clockwise to view: red ends at the bottom
    result = prepare_image(save(src, "JPEG", exif=exif.tobytes()), "big.jpg")
    im = result_image(result)
    assert "720×1280 크기로 축소 (3000×4000 → 720×960)" in result.changes
    assert close(im.getpixel((360, 300)), BLUE)
    assert close(im.getpixel((360, 1000)), RED)


def test_rgba_png_transparency_becomes_white():
    src = Image.new("RGBA", (720, 1280), (0, 0, 0, 0))  # fully transparent *black*
    src.paste((*RED, 255), (200, 400, 520, 880))
    src.paste((0, 0, 255, 128), (0, 1100, 720, 1280))  # half-transparent blue strip
    result = prepare_image(save(src, "PNG"), "logo.png")
    im = result_image(result)
    assert "투명 배경을 흰색으로" in result.changes
    assert close(im.getpixel((20, 20)), WHITE, 3)  # not black
    assert close(im.getpixel((360, 640)), RED)
    assert close(im.getpixel((360, 1200)), (127, 127, 255), 12)  # blue over white at 50 %


def test_opaque_rgba_is_not_reported_as_transparent():
    src = Image.new("RGBA", (720, 1280), (*GREEN, 255))
    result = prepare_image(save(src, "PNG"), "a.png")
    assert "투명 배경을 흰색으로" not in result.changes
    assert close(result_image(result).getpixel((360, 640)), GREEN)


def test_animated_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (360, 640), c).convert("P", palette=Image.Palette.ADAPTIVE) for c in (RED, GREEN)]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2

    result = prepare_image(data, "banner.gif")
    im = result_image(result)
    assert result.source == "GIF 360×640"
    assert result.changes[0] == "움직이는 이미지(2프레임) → 첫 프레임만 사용"
    assert "화면 크기에 맞게 확대 (360×640 → 720×1280)" in result.changes
    assert "GIF → JPEG 변환" in result.changes
    assert close(im.getpixel((360, 640)), RED)


def test_gif_with_transparent_palette_entry():
    src = Image.new("P", (300, 300), 0)
    src.putpalette([0, 0, 0, *RED] + [0] * (254 * 3))
    src.paste(1, (100, 100, 200, 200))
    result = prepare_image(save(src, "GIF", transparency=0), "a.gif")
    im = result_image(result)
    assert "투명 배경을 흰색으로" in result.changes
    assert close(im.getpixel((20, 640)), WHITE, 3)
    assert close(im.getpixel((360, 640)), RED)


def test_webp_is_converted():
    src = two_halves((1080, 1920), RED, BLUE, vertical_split=False)
    result = prepare_image(save(src, "WEBP", quality=90), "poster.webp")
    im = result_image(result)
    assert result.source == "WebP 1080×1920"
    assert result.changes == ["720×1280 크기로 축소 (1080×1920 → 720×1280)", "WebP → JPEG 변환", "JPEG 품질 90"]
    assert close(im.getpixel((360, 200)), RED)
    assert close(im.getpixel((360, 1100)), BLUE)


def test_animated_webp_uses_the_first_frame():
    frames = [Image.new("RGB", (720, 1280), c) for c in (BLUE, GREEN, RED)]
    data = save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    result = prepare_image(data, "a.webp")
    assert result.changes[0] == "움직이는 이미지(3프레임) → 첫 프레임만 사용"
    assert close(result_image(result).getpixel((360, 640)), BLUE)


def test_cmyk_jpeg_becomes_rgb():
    src = Image.new("CMYK", (720, 1280), (0, 255, 255, 0))  # 0 % cyan, 100 % magenta and yellow: red
    data = save(src, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    result = prepare_image(data, "print.jpg")
    im = result_image(result)
    assert im.mode == "RGB"
    assert "CMYK → RGB 변환" in result.changes
    r, g, b = im.getpixel((360, 640))
    assert r > 200 and g < 60 and b < 60


def test_16bit_greyscale_png_is_scaled_not_clipped():
    ramp = np.tile(np.linspace(0, 65535, 720), (1280, 1)).round().astype(np.uint16)
    src = Image.fromarray(ramp)
    data = save(src, "PNG")
    assert data[24] == 16  # bit depth in IHDR
    result = prepare_image(data, "scan.png")
    im = result_image(result).convert("L")
    assert "16비트 색 → 8비트" in result.changes
    assert im.getpixel((5, 640)) < 15
    assert abs(im.getpixel((360, 640)) - 128) < 10  # clipping instead of scaling would give 255
    assert im.getpixel((715, 640)) > 240


def test_16bit_rgb_png():
    arr = np.zeros((400, 300, 3), dtype=np.uint16)
    arr[..., 0] = 60000
    png = io.BytesIO()
    # Pillow cannot write 16-bit RGB; build the PNG by hand (filter byte 0 per row).
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(400))
    png.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 300, 400, 16, 2, 0, 0, 0)))
    png.write(png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))
    result = prepare_image(png.getvalue(), "deep.png")
    assert "16비트 색 → 8비트" in result.changes
    r, g, b = result_image(result).getpixel((360, 640))
    assert r > 220 and g < 20 and b < 20


def test_small_poster_is_enlarged_with_a_warning():
    result = prepare_image(save(Image.new("RGB", (180, 320), RED), "PNG"), "tiny.png")
    im = result_image(result)
    assert "화면 크기에 맞게 확대 (180×320 → 720×1280)" in result.changes
    assert len(result.warnings) == 1 and "4.0배 확대" in result.warnings[0]
    assert close(im.getpixel((360, 640)), RED)


def test_icc_profile_is_converted_to_srgb():
    # A profile whose red and blue primaries are swapped: pixel (255, 0, 0)
    # in it *is* blue, and must come out blue in sRGB.
    swapped = icc_profile("Swapped RB", (0.1431, 0.0606, 0.7141), (0.3851, 0.7169, 0.0971),
                          (0.4361, 0.2225, 0.0139))
    src = Image.new("RGB", (720, 1280), (255, 0, 0))
    result = prepare_image(save(src, "PNG", icc_profile=swapped), "wide.png")
    im = result_image(result)
    assert "색 공간을 sRGB로 변환 (원본 프로필: Swapped RB)" in result.changes
    r, g, b = im.getpixel((360, 640))
    assert b > 200 and r < 40
    assert b"Swapped" not in result.jpeg  # no profile written


def test_srgb_profile_is_left_alone():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    result = prepare_image(save(Image.new("RGB", (720, 1280), RED), "JPEG", icc_profile=srgb), "a.jpg")
    assert not any("sRGB" in c for c in result.changes)
    assert "icc_profile" not in result_image(result).info


def test_broken_icc_profile_is_ignored_with_a_warning():
    data = save(Image.new("RGB", (720, 1280), RED), "PNG", icc_profile=b"this is not an ICC profile" * 4)
    result = prepare_image(data, "a.png")
    assert any("ICC" in w for w in result.warnings)
    assert close(result_image(result).getpixel((360, 640)), RED)


def test_busy_image_gets_a_lower_quality_to_fit():
    rng = np.random.default_rng(1)
    base = np.linspace(0, 255, 720)[None, :, None] * np.ones((1280, 1, 3))
    arr = np.clip(base + rng.normal(0, 16, (1280, 720, 3)), 0, 255).astype(np.uint8)
    result = prepare_image(save(Image.fromarray(arr), "PNG"), "noisy.png")
    assert result.quality < 90
    assert f"JPEG 품질 {result.quality}" in result.changes
    assert len(result.jpeg) <= MAX_BYTES


def test_content_decides_not_the_name():
    data = save(Image.new("RGB", (720, 1280), RED), "PNG")
    result = prepare_image(data, "poster.jpg")
    assert result.source == "PNG 720×1280"


def test_thumbnail():
    result = prepare_image(save(Image.new("RGB", (720, 1280), BLUE), "PNG"), "a.png")
    thumb = Image.open(io.BytesIO(thumbnail(result.jpeg)))
    assert thumb.format == "JPEG"
    assert thumb.size == (135, 240)
    assert close(thumb.convert("RGB").getpixel((67, 120)), BLUE)
    assert Image.open(io.BytesIO(thumbnail(result.jpeg, max_side=64))).size == (36, 64)


def test_thumbnail_refuses_garbage():
    with pytest.raises(ImageError) as err:
        thumbnail(b"nope" * 100)
    assert err.value.code == "not_image"


def test_repeatable():
    data = save(two_halves((1000, 1000), RED, GREEN), "PNG")
    assert prepare_image(data, "a.png").jpeg == prepare_image(data, "a.png").jpeg


# --------------------------------------------------------------------------- refusals


def refused(data: bytes, filename: str = "image.png") -> ImageError:
    with pytest.raises(ImageError) as err:
        prepare_image(data, filename)
    e = err.value
    assert str(e) == e.message
    assert any("가" <= ch <= "힣" for ch in e.message), "message should be in Korean"
    return e


def test_empty_file_refused():
    e = refused(b"")
    assert e.code == "empty_file"
    assert "빈 파일" in e.message


def test_text_file_refused():
    e = refused("이름,전화번호\n홍길동,010-1234-5678\n".encode() * 20, "list.png")
    assert e.code == "not_image"
    assert "이미지 파일이 아닙니다" in e.message and "not an image" in e.message
    assert "JPEG, PNG, WebP, GIF" in e.message


def test_random_bytes_refused():
    e = refused(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8).tobytes()[1:])
    assert e.code == "not_image"


def test_bmp_refused_naming_the_accepted_formats():
    e = refused(save(Image.new("RGB", (720, 1280), RED), "BMP"), "poster.png")
    assert e.code == "unsupported_format"
    assert "BMP" in e.message and "JPEG, PNG, WebP, GIF" in e.message


def test_tiff_refused():
    e = refused(save(Image.new("RGB", (720, 1280), RED), "TIFF"), "poster.tif")
    assert e.code == "unsupported_format"
    assert "TIFF" in e.message


def test_heic_refused_with_a_hint():
    fake_heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(100)
    e = refused(fake_heic, "IMG_0001.HEIC")
    assert e.code == "unsupported_format"
    assert "HEIC" in e.message


def test_svg_refused():
    e = refused(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"/>', "logo.svg")
    assert e.code == "unsupported_format"
    assert "SVG" in e.message


def test_truncated_png_refused():
    arr = np.random.default_rng(5).integers(0, 256, (600, 400, 3), dtype=np.uint8)
    data = save(Image.fromarray(arr), "PNG")
    for cut in (30, len(data) // 2, len(data) - 20):
        e = refused(data[:cut])
        assert e.code == "corrupt", cut
        assert "손상" in e.message and "corrupt" in e.message


def test_png_with_bad_checksum_refused():
    data = bytearray(save(Image.new("RGB", (300, 300), RED), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF  # flip bits inside the compressed data; the CRC no longer matches
    e = refused(bytes(data))
    assert e.code == "corrupt"


def test_truncated_jpeg_refused():
    arr = np.random.default_rng(6).integers(0, 256, (600, 400, 3), dtype=np.uint8)
    data = save(Image.fromarray(arr), "JPEG", quality=90)
    for cut in (10, 200, len(data) // 2):
        e = refused(data[:cut], "photo.jpg")
        assert e.code == "corrupt", cut
        assert "JPEG" in e.message


def test_png_bomb_refused():
    bomb = png_bomb(50000, 50000)  # 2.5 gigapixels (7.5 GB as RGB) in about 300 KB
    assert len(bomb) < 400_000
    e = refused(bomb, "bomb.png")
    assert e.code == "too_many_pixels"
    assert "너무 큽니다" in e.message and "too large" in e.message


def test_pixel_count_in_pillows_warning_range_refused():
    # 100 megapixels: above Pillow's own warning limit (~89 Mpx) but below its
    # error limit; the DecompressionBombWarning must become our error, never
    # escape as a warning (pytest runs with warnings as errors).
    e = refused(png_bomb(10000, 10000), "bomb.png")
    assert e.code == "too_many_pixels"


def test_pixel_count_above_our_limit_refused():
    e = refused(png_bomb(8000, 6000), "big.png")  # 48 Mpx: Pillow would allow it, we do not
    assert e.code == "too_many_pixels"
    assert "8000×6000" in e.message


def test_gif_with_huge_canvas_refused():
    header = b"GIF89a" + struct.pack("<HH", 60000, 60000) + b"\x00\x00\x00"
    image = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00" + b"\x3b"
    e = refused(header + image, "huge.gif")
    assert e.code == "too_many_pixels"


def test_too_small_refused():
    for size in ((50, 50), (99, 1000), (1000, 99)):
        e = refused(save(Image.new("RGB", size, RED), "PNG"))
        assert e.code == "too_small"
        assert f"{size[0]}×{size[1]}" in e.message and "100" in e.message


def test_noise_too_big_even_at_lowest_quality_refused():
    arr = np.random.default_rng(9).integers(0, 256, (1280, 720, 3), dtype=np.uint8)
    e = refused(save(Image.fromarray(arr), "PNG"), "noise.png")
    assert e.code == "too_large"
    assert "300 KB" in e.message


def test_webp_refused_clearly_where_pillow_has_no_webp(monkeypatch):
    data = save(Image.new("RGB", (720, 1280), RED), "WEBP")
    monkeypatch.delitem(Image.OPEN, "WEBP")
    e = refused(data, "a.webp")
    assert e.code == "unsupported_format"
    assert "WebP" in e.message


def test_constants():
    assert images.TARGET_SIZE == (720, 1280)
    assert images.MAX_BYTES == 300_000
    assert images.ACCEPTED_FORMATS == ("JPEG", "PNG", "WEBP", "GIF")


# --------------------------------------------------------------------------- an ICC profile by hand


def _s15(v):
    return struct.pack(">i", int(round(v * 65536)))


def _xyz(x, y, z):
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def _desc(text):
    a = text.encode("ascii") + b"\0"
    return b"desc" + bytes(4) + struct.pack(">I", len(a)) + a + bytes(8) + bytes(3) + bytes(67)


def _curv(gamma):
    return b"curv" + bytes(4) + struct.pack(">IH", 1, int(gamma * 256)) + bytes(2)


def icc_profile(name, red, green, blue, gamma=2.2):
    """A minimal ICC v2 RGB display profile (matrix/TRC) with the given D50 colorants."""
    tags = [
        (b"desc", _desc(name)), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(*red)), (b"gXYZ", _xyz(*green)), (b"bXYZ", _xyz(*blue)),
        (b"rTRC", _curv(gamma)), (b"gTRC", _curv(gamma)), (b"bTRC", _curv(gamma)),
        (b"cprt", b"text" + bytes(4) + b"none" + bytes(4)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table = blob = b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(blob), len(body))
        blob += body
    header = struct.pack(">I", offset + len(blob)) + bytes(4) + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + bytes(24)
    header += bytes(4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + bytes(48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + blob
