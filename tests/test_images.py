"""Image bytes are checked before they are trusted; type and extension come from the bytes.
`images` raises its own ImageError; a provider's `checked` turns it into the chain's BadImage."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imagegen.images import ImageError, checked_image, sniff
from imagegen.providers.base import BadImage, checked
from imagegen.providers.card import render


def _encode(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), (10, 200, 30)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt,ext,mime", [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"),
                                          ("GIF", "gif", "image/gif"), ("WEBP", "webp", "image/webp")])
def test_formats_are_sniffed_from_bytes(fmt: str, ext: str, mime: str) -> None:
    data = _encode(fmt)
    img = checked_image(data, provider="p", model="m")
    assert (img.ext, img.mime, img.width, img.height) == (ext, mime, 32, 16)
    assert sniff(data) == (mime, ext)


@pytest.mark.parametrize("body,what", [
    (b"<!DOCTYPE html><html><body>rate limited</body></html>", "HTML"),
    (b'{"error": "quota"}', "JSON"),
    (b"Internal Server Error", "text"),
    (b"", "empty"),
])
def test_non_images_are_bad_images(body: bytes, what: str) -> None:
    with pytest.raises(ImageError) as e:
        checked_image(body, provider="pollinations")
    assert what in str(e.value)
    with pytest.raises(BadImage) as b:  # what a provider raises for the same bytes: same words
        checked(body, provider="pollinations", model="flux")
    assert str(b.value) == str(e.value) and b.value.kind == "bad_image"


def test_truncated_image_is_bad() -> None:
    data = _encode("PNG")
    with pytest.raises(ImageError):
        checked_image(data[: len(data) // 2])
    jpg = render("truncate me", 200, 100)
    with pytest.raises(BadImage):
        checked(jpg[:-200], provider="p", model="m")


def test_card_provider_is_deterministic() -> None:
    a = render("same prompt", 300, 160)
    assert a == render("same prompt", 300, 160)
    assert a != render("other prompt", 300, 160)
    img = checked_image(a)
    assert (img.ext, img.width, img.height) == ("png", 300, 160)
