"""images.finish: exact size by scale-and-crop (never a stretch), the output format and its
quality, sRGB (a real ICC conversion), EXIF rotation honoured, and every kind of metadata gone."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageDraw, PngImagePlugin, features

from imagegen.images import FinishError, Output, checked_image, crop_box, finish, sniff, smart_offset
from imagegen.providers.base import GeneratedImage


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def swapped_rgb_profile() -> bytes:
    """A real ICC v2 RGB display profile whose red and green primaries are sRGB's green and red:
    a source pixel (255, 0, 0) *means* sRGB green, so a finish that converts profiles turns it
    green and one that ignores the profile leaves it red."""
    text = b"swapped RG\0"
    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + struct.pack(">II", 0, 0)
            + struct.pack(">HB", 0, 0) + b"\0" * 67)
    curv = b"curv\0\0\0\0" + struct.pack(">I", 1) + struct.pack(">H", int(2.2 * 256)) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(0.3851, 0.7169, 0.0971)), (b"gXYZ", _xyz(0.4361, 0.2225, 0.0139)),
            (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)), (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv),
            (b"cprt", b"text\0\0\0\0none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, blob in tags:
        blob += b"\0" * (-len(blob) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(blob))
        data += blob
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 28 + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    return header + body


def _gen(im: Image.Image, fmt: str = "PNG", **save: object) -> GeneratedImage:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return checked_image(buf.getvalue(), provider="p", model="m")


def _open(img: GeneratedImage) -> Image.Image:
    im = Image.open(io.BytesIO(img.data))
    im.load()
    return im


def _circle(size: tuple[int, int]) -> Image.Image:
    """A black disc of diameter 0.4*min(size) centred on white."""
    w, h = size
    im = Image.new("RGB", size, "white")
    r = 0.2 * min(w, h)
    ImageDraw.Draw(im).ellipse((w / 2 - r, h / 2 - r, w / 2 + r, h / 2 + r), fill="black")
    return im


@pytest.mark.parametrize("size", [(1024, 1024), (1200, 624), (1344, 768), (600, 1200), (100, 50), (1200, 630),
                                  (4000, 630)])
def test_every_shape_becomes_exactly_the_box_without_stretching(size: tuple[int, int]) -> None:
    out = finish(_gen(_circle(size)), Output())
    im = _open(out)
    assert im.size == (1200, 630) and (out.width, out.height) == (1200, 630)
    # the disc is still round: its bounding box in the output is square (a stretch would not be)
    dark = im.convert("L").point(lambda v: 255 if v < 128 else 0)
    x0, y0, x1, y1 = dark.getbbox()
    tol = max(3.0, 1.5 * 630 / min(size))  # a source pixel's rounding, scaled up
    assert abs((x1 - x0) - (y1 - y0)) <= tol, (x0, y0, x1, y1)
    assert abs((x0 + x1) / 2 - 600) <= tol and abs((y0 + y1) / 2 - 315) <= tol  # centre crop


def test_crop_box_covers_the_target_aspect() -> None:
    assert crop_box(1024, 1024, 1200, 630) == pytest.approx((0, (1024 - 1024 * 630 / 1200) / 2, 1024,
                                                             (1024 + 1024 * 630 / 1200) / 2))
    x0, y0, x1, y1 = crop_box(2000, 500, 1200, 630, offset=0.0)
    assert (x0, y0, y1) == (0, 0, 500) and x1 == pytest.approx(500 * 1200 / 630)


@pytest.mark.parametrize("fmt,ext,mime,pil", [("jpeg", "jpg", "image/jpeg", "JPEG"), ("webp", "webp", "image/webp", "WEBP"),
                                              ("png", "png", "image/png", "PNG"),
                                              pytest.param("avif", "avif", "image/avif", "AVIF", marks=pytest.mark.skipif(
                                                  not features.check("avif"), reason="no AVIF in this Pillow"))])
def test_formats(fmt: str, ext: str, mime: str, pil: str) -> None:
    out = finish(_gen(_circle((512, 512))), Output(format=fmt, width=320, height=200))
    im = _open(out)
    assert (out.ext, out.mime, im.format, im.size) == (ext, mime, pil, (320, 200))
    assert sniff(out.data) == (mime, ext)
    assert checked_image(out.data).ext == ext  # and it passes the same check provider bytes do


def test_jpeg_is_progressive_and_quality_changes_size() -> None:
    src = _gen(Image.effect_mandelbrot((800, 800), (-2, -1.5, 1, 1.5), 100).convert("RGB"))
    default = finish(src, Output())
    assert _open(default).info.get("progressive") == 1
    low, high = finish(src, Output(quality=30)), finish(src, Output(quality=95))
    assert len(low.data) < len(default.data) < len(high.data)


@pytest.mark.parametrize("source_fmt,expected", [("PNG", "PNG"), ("JPEG", "JPEG"), ("WEBP", "WEBP"), ("GIF", "PNG")])
def test_original_keeps_the_providers_format(source_fmt: str, expected: str) -> None:
    out = finish(_gen(_circle((300, 300)), source_fmt), Output(format="original", width=200, height=100))
    im = _open(out)
    assert im.format == expected and im.size == (200, 100)


def test_icc_profile_is_converted_to_srgb_and_dropped() -> None:
    src = _gen(Image.new("RGB", (64, 64), (255, 0, 0)), "PNG", icc_profile=swapped_rgb_profile())
    im = _open(finish(src, Output(format="png", width=64, height=32)))
    r, g, b = im.getpixel((32, 16))
    assert g > 200 and r < 60 and b < 60, (r, g, b)  # it meant sRGB green
    assert "icc_profile" not in im.info


def test_broken_icc_profile_keeps_the_pixels() -> None:
    src = _gen(Image.new("RGB", (64, 64), (255, 0, 0)), "PNG", icc_profile=b"not a profile at all")
    im = _open(finish(src, Output(format="png", width=64, height=32)))
    assert im.getpixel((32, 16)) == (255, 0, 0) and "icc_profile" not in im.info


def test_cmyk_and_palette_and_alpha_sources() -> None:
    cmyk = _gen(Image.new("CMYK", (50, 50), (0, 255, 255, 0)), "JPEG")
    r, g, b = _open(finish(cmyk, Output(width=40, height=20))).getpixel((20, 10))
    assert r > 200 and g < 60 and b < 60
    rgba = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    jpg = _open(finish(_gen(rgba), Output(width=40, height=20)))
    assert jpg.mode == "RGB" and jpg.getpixel((20, 10)) == (255, 255, 255)  # flattened on white
    png = _open(finish(_gen(rgba), Output(format="png", width=40, height=20)))
    assert png.mode == "RGBA" and png.getpixel((20, 10))[3] == 0  # PNG keeps transparency
    pal = _gen(Image.new("RGB", (50, 50), (0, 0, 255)).convert("P"), "GIF")
    assert _open(finish(pal, Output(format="webp", width=40, height=20))).mode == "RGB"


def test_exif_rotation_is_applied_before_the_exif_goes() -> None:
    stored = Image.new("RGB", (200, 100), "red")
    stored.paste((0, 0, 255), (0, 50, 200, 100))  # stored: red top half, blue bottom half
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display": displayed, red is the right half
    im = _open(finish(_gen(stored, "JPEG", exif=exif.tobytes()), Output(width=120, height=63)))
    left, right = im.getpixel((20, 31)), im.getpixel((100, 31))
    assert left[2] > 200 and left[0] < 60, left
    assert right[0] > 200 and right[2] < 60, right


def _meta_jpeg() -> GeneratedImage:
    exif = Image.Exif()
    exif[0x013B] = "SECRET-ARTIST"  # Artist
    exif[0x010F] = "SECRET-MAKE"  # Make
    return _gen(_circle((300, 300)), "JPEG", exif=exif.tobytes(), icc_profile=swapped_rgb_profile(),
                comment=b"SECRET-COMMENT", xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>')


def _meta_png() -> GeneratedImage:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "SECRET-PROMPT, steps 4, seed 42")  # what AI tools put in PNGs
    info.add_itxt("Description", "SECRET-ITXT")
    info.add_text("Comment", "SECRET-ZTXT", zip=True)
    exif = Image.Exif()
    exif[0x013B] = "SECRET-ARTIST"
    return _gen(_circle((300, 300)), "PNG", pnginfo=info, exif=exif.tobytes())


@pytest.mark.parametrize("make", [_meta_jpeg, _meta_png])
@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png", "original"]
                         + (["avif"] if features.check("avif") else []))
def test_metadata_is_stripped(make, fmt: str) -> None:  # type: ignore[no-untyped-def]
    src = make()
    assert b"SECRET-" in src.data or b"SECRET" in Image.open(io.BytesIO(src.data)).info.get("exif", b"") \
        or src.ext == "png"  # the source really carries it
    out = finish(src, Output(format=fmt, width=240, height=126))
    assert b"SECRET" not in out.data
    for marker in (b"Exif\0\0", b"ICC_PROFILE", b"http://ns.adobe.com/xap", b"xmpmeta", b"tEXt", b"iTXt", b"zTXt",
                   b"eXIf", b"iCCP"):
        assert marker not in out.data, marker
    im = _open(out)
    assert not im.getexif() and not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment"} & set(im.info)


def test_undecodable_after_check_is_a_finish_error() -> None:
    bogus = GeneratedImage(data=b"\x89PNG\r\n\x1a\n" + b"\0" * 40, mime="image/png", ext="png", width=1, height=1)
    with pytest.raises(FinishError):
        finish(bogus, Output())


def test_smart_crop_follows_the_detail_and_centres_flat_pictures() -> None:
    # a busy subject on the far right of a wide, otherwise flat picture
    im = Image.new("RGB", (2400, 630), (90, 120, 160))
    ImageDraw.Draw(im).rectangle((2000, 200, 2350, 500), fill="white")
    for x in range(2000, 2350, 12):
        ImageDraw.Draw(im).line((x, 200, x + 40, 500), fill="black", width=3)
    assert smart_offset(im, 1200, 630) > 0.9
    centre = _open(finish(_gen(im), Output(width=1200, height=630)))
    smart = _open(finish(_gen(im), Output(width=1200, height=630, crop="smart")))
    def detail(x: Image.Image) -> int:
        return x.convert("L").point(lambda v: 255 if v < 40 else 0).histogram()[255]
    assert detail(smart) > 10 * max(1, detail(centre))
    flat = Image.new("RGB", (2400, 630), (90, 120, 160))
    assert smart_offset(flat, 1200, 630) == pytest.approx(0.5)
