"""Finishing a cover: crop, scale, sRGB, encode, strip.

What lands in a blog is never what the provider sent: Cloudflare's FLUX ignores the size and
answers with a square, Hugging Face and Together with 1200x624, Gemini with 16:9, and the PNGs
weigh 100 KB to 1.5 MB each, in git for ever. `finish` makes every cover exactly the configured
size (scaled to cover the box, then cropped: never stretched), in the configured format, in sRGB,
with no metadata (EXIF, XMP, ICC, text chunks: a provider's or a camera's, never the blog's).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace
from typing import Callable

from PIL import Image, ImageCms, ImageFilter, ImageOps, features

from imagegen.errors import FinishError
from imagegen.images.check import GeneratedImage, decoding

FORMATS: tuple[str, ...] = ("jpeg", "webp", "png", "avif", "original")
"""`--image-format` choices; `original` keeps the provider's format (GIF becomes PNG)."""

CROPS: tuple[str, ...] = ("center", "smart")

DEFAULT_QUALITY: dict[str, int] = {"jpeg": 82, "webp": 80, "avif": 60}
"""Per-format quality when `--image-quality` is not set (PNG is lossless: no quality)."""

_EXT = {"jpeg": "jpg", "webp": "webp", "png": "png", "avif": "avif"}
_MIME = {"jpeg": "image/jpeg", "webp": "image/webp", "png": "image/png", "avif": "image/avif"}
_FROM_EXT = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp", "avif": "avif", "gif": "png"}


@dataclass(frozen=True)
class Output:
    """How a cover is finished: the box, the crop, the format and its quality."""

    width: int = 1200
    height: int = 630
    format: str = "jpeg"
    quality: int | None = None
    """None: the format's default (DEFAULT_QUALITY)."""
    crop: str = "center"

    def resolved_format(self, source_ext: str) -> str:
        """The concrete format for a source image (resolves `original`)."""
        return _FROM_EXT.get(source_ext, "png") if self.format == "original" else self.format

    def ext(self, source_ext: str = "png") -> str:
        """The file extension a cover gets (the naming code uses it)."""
        return _EXT[self.resolved_format(source_ext)]


def format_supported(fmt: str) -> bool:
    """Whether this Pillow build can write `fmt` (AVIF needs Pillow's libavif support)."""
    if fmt == "avif":
        return bool(features.check("avif"))
    if fmt == "webp":
        return bool(features.check("webp"))
    return fmt in FORMATS


def crop_box(src_w: int, src_h: int, width: int, height: int, offset: float = 0.5) -> tuple[float, float, float, float]:
    """The region of the source that, scaled, covers `width x height` exactly: the largest box of
    the target's aspect ratio that fits, placed at `offset` (0..1) along the axis that has room."""
    target = width / height
    if src_w / src_h > target:  # wider than the target: crop the sides
        w = src_h * target
        x = (src_w - w) * min(1.0, max(0.0, offset))
        return (x, 0.0, x + w, float(src_h))
    h = src_w / target  # taller (or equal): crop top and bottom
    y = (src_h - h) * min(1.0, max(0.0, offset))
    return (0.0, y, float(src_w), y + h)


def smart_offset(im: Image.Image, width: int, height: int) -> float:
    """Where along its free axis to place the crop so it keeps the most detail (edge energy of a
    small greyscale copy), with a mild pull towards the centre so flat pictures crop centred."""
    src_w, src_h = im.size
    wide = src_w / src_h > width / height
    small = im.convert("L")
    small.thumbnail((160, 160))
    if min(small.size) < 3:  # a sliver (10000x10 thumbnails to 160x1): no border to drop, no detail to find
        return 0.5
    energy = small.filter(ImageFilter.FIND_EDGES)
    energy = energy.crop((1, 1, energy.width - 1, energy.height - 1))  # the filter leaves the border as it was
    sw, sh = energy.size
    data = energy.tobytes()
    if wide:
        profile = [sum(data[x::sw]) for x in range(sw)]
        window = max(1, min(sw, round(sh * width / height)))
    else:
        profile = [sum(data[y * sw:(y + 1) * sw]) for y in range(sh)]
        window = max(1, min(sh, round(sw * height / width)))
    room = len(profile) - window
    if room <= 0:
        return 0.5
    total = sum(profile) or 1
    run = sum(profile[:window])
    best, best_score = room / 2, -1.0
    for start in range(room + 1):
        if start:
            run += profile[start + window - 1] - profile[start - 1]
        score = run / total - 0.15 * abs(start / room - 0.5)  # the centre wins unless detail says otherwise
        if score > best_score + 1e-9:
            best, best_score = start, score
    return best / room


def _to_srgb(im: Image.Image) -> Image.Image:
    """Pixels in sRGB, mode RGB or RGBA. An embedded ICC profile is converted from (Display P3,
    Adobe RGB, a CMYK press profile ...); without one, sRGB is assumed, as browsers do."""
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    icc = im.info.get("icc_profile")
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        im = im.convert("I").point(lambda v: v / 256).convert("L") if im.mode != "F" else im.convert("L")
    if im.mode in ("P", "1", "LA", "PA") or (im.mode not in ("RGB", "RGBA", "L", "CMYK")):
        im = im.convert("RGBA" if has_alpha else "RGB")
    mode = "RGBA" if has_alpha else "RGB"
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, src, _SRGB, outputMode=mode) or im.convert(mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or mismatched profile: keep the pixels as they are
    return im.convert(mode) if im.mode != mode else im


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def finish(image: GeneratedImage, out: Output,
           overlay: Callable[[Image.Image], Image.Image] | None = None) -> GeneratedImage:
    """Crop, scale, convert to sRGB, strip metadata and encode `image` as `out` says.

    The result is exactly `out.width x out.height`; its `ext`/`mime` follow the format.
    `overlay`, if given, draws on the finished pixels before they are encoded (the title band of
    `--title-overlay`). Raises FinishError if the (already checked) image still cannot be processed.
    """
    fmt = out.resolved_format(image.ext)
    try:
        with Image.open(io.BytesIO(image.data)) as src:
            need = _needed(src, out)
            if src.format == "JPEG":
                src.draft(None, need)  # decoded at 1/2, 1/4 or 1/8 scale when that still covers the box
            with decoding(decode_cost(src)):  # held until the decoded source is let go
                src.load()
                if getattr(src, "n_frames", 1) > 1:
                    src.seek(0)
                im = _reduced(src, need)
                im = ImageOps.exif_transpose(im) or im  # the camera's rotation, before EXIF goes
                data = _finished(im, out, fmt, overlay)
                del im
                src.close()  # its pixels go now, before another decode may take the budget
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise FinishError(f"could not finish the {image.ext.upper()} from {image.provider or 'the provider'}: "
                          f"{type(exc).__name__}: {exc}") from None
    return replace(image, data=data, mime=_MIME[fmt], ext=_EXT[fmt], width=out.width, height=out.height)


def _needed(src: Image.Image, out: Output) -> tuple[int, int]:
    """The smallest size of the source whose crop box still covers `out` at full resolution. A
    camera's rotation is applied after decoding, so the box is the larger of both orientations
    (only a JPEG's EXIF is read here: a PNG's would make Pillow decode the whole image first)."""
    sizes = [(out.width, out.height), (out.height, out.width)]
    if src.format == "JPEG":
        try:
            sizes = [sizes[1] if src.getexif().get(0x0112) in (5, 6, 7, 8) else sizes[0]]
        except Exception:  # noqa: BLE001 - broken metadata: both orientations
            pass
    scale = 0.0
    for w, h in sizes:
        x0, y0, x1, y1 = crop_box(src.width, src.height, w, h)
        scale = max(scale, w / max(1e-9, x1 - x0), h / max(1e-9, y1 - y0))
    scale = min(1.0, scale)
    return max(1, math.ceil(src.width * scale)), max(1, math.ceil(src.height * scale))


REDUCE_KEEP = 2
"""`_reduced` keeps at least this many source pixels per output pixel on each axis, so the final
LANCZOS resize still has detail to work with."""


def _reduced(src: Image.Image, need: tuple[int, int]) -> Image.Image:
    """`src` shrunk by a whole factor right after decoding when it is much larger than needed, so
    every later copy (rotation, colour conversion, crop) is small; `src` itself when not.

    Pillow's `reduce` premultiplies an alpha channel first, which copies the whole decoded image;
    when the alpha is all opaque premultiplying changes nothing, so the core reduce runs on the
    pixels as they are (no full-size copy; see `decode_cost`)."""
    factor = min(src.width // max(1, need[0]), src.height // max(1, need[1])) // REDUCE_KEEP
    if factor < 2:
        return src
    try:
        if src.mode in ("RGBA", "LA") and src.getextrema()[-1] == (255, 255):
            return src._new(src.im.reduce((factor, factor), (0, 0, src.width, src.height)))
        return src.reduce(factor)
    except (ValueError, AttributeError):  # a mode reduce does not take (P, 1, I;16): keep the full size
        return src


def decode_cost(src: Image.Image) -> int:
    """Pixels to hold of the decode budget while `src` is decoded and reduced: twice its size when
    an alpha channel may need a premultiplied copy (see `_reduced`)."""
    pixels = src.size[0] * src.size[1]
    return pixels * 2 if src.mode in ("RGBA", "LA", "PA", "P") else pixels


def _finished(im: Image.Image, out: Output, fmt: str, overlay: Callable[[Image.Image], Image.Image] | None) -> bytes:
    """Colour, crop and scale, flatten, overlay, encode: the pixels of an opened, decoded image."""
    im = _to_srgb(im)
    offset = smart_offset(im, out.width, out.height) if out.crop == "smart" else 0.5
    box = crop_box(im.width, im.height, out.width, out.height, offset)
    if im.size != (out.width, out.height) or box != (0.0, 0.0, float(im.width), float(im.height)):
        im = im.resize((out.width, out.height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    if im.mode == "RGBA" and fmt == "jpeg":
        flat = Image.new("RGB", im.size, (255, 255, 255))
        flat.paste(im, mask=im.getchannel("A"))
        im = flat
    elif im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
        im = im.convert("RGB")  # an alpha channel that is all opaque only costs bytes
    if overlay is not None:
        im = overlay(im.convert("RGB") if im.mode != "RGB" else im)
    im.info.clear()  # nothing of the source's metadata travels with the pixels
    return encode(im, fmt, out.quality)


def encode(im: Image.Image, fmt: str, quality: int | None = None) -> bytes:
    """Encode pixels with no metadata: JPEG progressive + optimized Huffman tables, WebP/AVIF lossy,
    PNG lossless. `quality` None means the format's default."""
    q = quality if quality is not None else DEFAULT_QUALITY.get(fmt)
    buf = io.BytesIO()
    if fmt == "jpeg":
        im.save(buf, "JPEG", quality=q, progressive=True, optimize=True, subsampling="4:2:0")
    elif fmt == "webp":
        im.save(buf, "WEBP", quality=q, method=4)
    elif fmt == "avif":
        im.save(buf, "AVIF", quality=q, speed=8)
    elif fmt == "png":
        im.save(buf, "PNG", compress_level=6)
    else:
        raise ValueError(f"unknown image format {fmt!r}")
    return buf.getvalue()
