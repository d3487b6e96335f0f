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

import contextlib
import io
import threading
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

from PIL import Image, UnidentifiedImageError

from imagegen.errors import ImagegenError

__all__ = ["DECODE_BUDGET", "IMAGE_EXTENSIONS", "MAX_PIXELS", "GeneratedImage", "ImageError", "checked_image",
           "decoding", "describe_non_image", "sniff"]

warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL(\.|$)")
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
"""Pillow warns on stderr about a provider's or a camera's broken metadata ("Corrupt EXIF data",
"Tag data larger than file"): noise for us, since every cover is re-encoded without metadata; and
its DecompressionBombWarning, since MAX_PIXELS refuses such an image before it is decoded. A
process-wide filter, set once: `warnings.catch_warnings` is not thread-safe, and images are
decoded in worker threads."""

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
"""A decompression-bomb bound well above any cover size: larger images are refused before decoding."""

DECODE_BUDGET = MAX_PIXELS
"""Pixels decoded at full size at once in the whole process (`decoding`). A 250 KB PNG can hold
8000x8000 RGBA pixels, 256 MB decoded: four posts decoding theirs at once reached 1.9 GB. With the
budget, at most one image of the largest size is in memory at a time, while many ordinary ones
(1200x630 is 0.76 megapixels) still decode side by side."""


Image.core.set_block_size(64 * 1024 * 1024)
"""Pillow allocates an image in blocks (16 MB by default). Blocks of 16 MB come from the C heap once
glibc's mmap threshold has risen past them, and a freed decode then stays resident in whichever
thread's arena it was made in: a run's memory grew with each worker thread that decoded a large
image. Blocks of 64 MB are above glibc's largest mmap threshold (32 MB), so a large decode is
mapped on its own and given back to the system the moment it is freed. Small images are one
smaller block, as before."""


class _PixelBudget:
    """A counting semaphore in pixels. A request larger than the whole budget is charged the
    budget (it then runs alone); a request waits while others hold too much."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()

    def acquire(self, pixels: int) -> int:
        n = max(1, min(pixels, self.limit))
        with self._cond:
            while self.used and self.used + n > self.limit:
                self._cond.wait()
            self.used += n
            self.peak = max(self.peak, self.used)
        return n

    def release(self, n: int) -> None:
        with self._cond:
            self.used -= n
            self._cond.notify_all()


_budget = _PixelBudget(DECODE_BUDGET)


TRIM_PIXELS = 4_000_000
"""After a decode this large, freed memory is handed back to the system at once (`_trim`)."""


def _load_trim() -> Callable[[], object] | None:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return lambda: libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, macOS): the allocator does as it does
        return None


_trim = _load_trim()


@contextlib.contextmanager
def decoding(pixels: int) -> Iterator[None]:
    """Hold `pixels` of the process's decode budget for the block (see DECODE_BUDGET). After a
    large decode, glibc's `malloc_trim` returns the freed copies (the reduced image, its colour
    conversion: a few tens of MB each) to the system, instead of leaving them resident in the
    worker thread's own arena where no other thread can reuse them."""
    n = _budget.acquire(pixels)
    try:
        yield
    finally:
        _budget.release(n)
        if _trim is not None and pixels >= TRIM_PIXELS:
            _trim()


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
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:  # refused from the header, before any pixel is decoded
                raise ImageError(f"{who} returned an image of {width}x{height}, too large")
            if im.format == "JPEG":  # every byte is still decoded (a truncated file fails), at 1/8 scale
                im.draft(None, (max(1, width // 8), max(1, height // 8)))
            with decoding(im.size[0] * im.size[1]):
                im.load()  # a full decode: truncated files fail here, not later
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{who} returned an undecodable {ext.upper()}: {type(exc).__name__}") from None
    return GeneratedImage(data=data, mime=mime, ext=ext, width=width, height=height, provider=provider, model=model)
