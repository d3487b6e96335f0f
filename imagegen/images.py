"""Checking image bytes before they are trusted: magic bytes first, then a full Pillow decode.

The extension and MIME type always come from the bytes, never from a header or a model name:
providers answer with the wrong content type often enough (see providers.md).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from imagegen.providers.base import BadImage, GeneratedImage

# (magic prefix, mime, extension). WebP needs a second check at offset 8.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)

IMAGE_EXTENSIONS: tuple[str, ...] = ("png", "jpg", "jpeg", "gif", "webp")
"""Extensions that count as an image embed in a post."""

MAX_PIXELS = 64_000_000
"""A decompression-bomb bound well above any cover size."""


def sniff(data: bytes) -> tuple[str, str] | None:
    """Return (mime, ext) from the magic bytes, or None if this is not an image we accept."""
    for prefix, mime, ext in _MAGIC:
        if data.startswith(prefix):
            return mime, ext
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
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

    Raises BadImage for anything that is not a fully decodable PNG/JPEG/GIF/WebP.
    """
    kind = sniff(data)
    if kind is None:
        raise BadImage(f"{provider or 'provider'} returned {describe_non_image(data)}, not an image")
    mime, ext = kind
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise BadImage(f"{provider or 'provider'} returned an image of {width}x{height}, too large")
                im.load()  # a full decode: truncated files fail here, not later
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise BadImage(f"{provider or 'provider'} returned an undecodable {ext.upper()}: {type(exc).__name__}") from None
    return GeneratedImage(data=data, mime=mime, ext=ext, width=width, height=height, provider=provider, model=model)
