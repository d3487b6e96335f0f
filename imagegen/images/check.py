"""Checking image bytes before they are trusted: magic bytes first, then a full Pillow decode.

The extension and MIME type always come from the bytes, never from a header or a model name:
providers answer with the wrong content type often enough (see providers.md).

`GeneratedImage` lives here, not in `imagegen.providers`, because `images` sits below the
providers: `finish` takes and returns one, and the provider modules build theirs through
`checked_image`. If this package imported `providers.base`, importing any provider would import
the provider registry, which imports every provider, which imports `images` again: a cycle.
Failures raise this package's own `ImageError`; `providers.base.checked` maps it to the chain's
`BadImage`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from imagegen.errors import ImagegenError

__all__ = ["IMAGE_EXTENSIONS", "MAX_PIXELS", "GeneratedImage", "ImageError", "checked_image",
           "describe_non_image", "sniff"]

# (magic prefix, mime, extension). WebP needs a second check at offset 8.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)

IMAGE_EXTENSIONS: tuple[str, ...] = ("png", "jpg", "jpeg", "gif", "webp", "avif")
"""Extensions that count as an image embed in a post."""

MAX_PIXELS = 64_000_000
"""A decompression-bomb bound well above any cover size."""


class ImageError(ImagegenError):
    """These bytes are not a complete image we accept (HTML, JSON, truncated, too large).
    Providers turn it into `BadImage`, so the chain tries the next provider for the post."""


@dataclass(frozen=True)
class GeneratedImage:
    """Validated image bytes. Build it with `checked_image`, never by hand, so that `mime` and
    `ext` always come from the bytes themselves. `provider` and `model` say who made it (the
    report's attribution), as the provider was named in the settings."""

    data: bytes
    mime: str
    ext: str
    width: int
    height: int
    provider: str = ""
    model: str = ""


def sniff(data: bytes) -> tuple[str, str] | None:
    """Return (mime, ext) from the magic bytes, or None if this is not an image we accept."""
    for prefix, mime, ext in _MAGIC:
        if data.startswith(prefix):
            return mime, ext
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif", "avif"
    return None


def describe_non_image(data: bytes) -> str:
    """A short, safe description of what came back instead of an image (for error messages)."""
    head = data[:64].lstrip().lower()
    if not data:
        return "an empty body"
    if head.startswith((b"<!doctype html", b"<html", b"<")):
        return "HTML"
    if head.startswith((b"{", b"[")):
        return "JSON"
    try:
        data[:256].decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return f"{len(data)} bytes of unknown binary"


def checked_image(data: bytes, *, provider: str = "", model: str = "") -> GeneratedImage:
    """Validate `data` as a complete image and return it with its true type and size.

    Raises ImageError for anything that is not a fully decodable PNG/JPEG/GIF/WebP/AVIF.
    """
    who = provider or "provider"
    kind = sniff(data)
    if kind is None:
        raise ImageError(f"{who} returned {describe_non_image(data)}, not an image")
    mime, ext = kind
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise ImageError(f"{who} returned an image of {width}x{height}, too large")
                im.load()  # a full decode: truncated files fail here, not later
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{who} returned an undecodable {ext.upper()}: {type(exc).__name__}") from None
    return GeneratedImage(data=data, mime=mime, ext=ext, width=width, height=height, provider=provider, model=model)
