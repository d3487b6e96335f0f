"""The offline provider: a deterministic abstract cover drawn with Pillow.

Same prompt, same bytes. It needs no key and no network, so it powers the quick-start demo and
the tests, and it is a safe last resort for a blog that would rather have a tasteful placeholder
than nothing. It has the same shape as the real providers (see base.py).
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io
import random
from typing import Mapping

from PIL import Image, ImageDraw, ImageFilter

from imagegen.images import checked_image
from imagegen.providers.base import GeneratedImage, Limits, ProviderContext, ProviderSpec

NAME = "local"
DEFAULT_MODEL = "abstract-v1"


def render(prompt: str, width: int, height: int) -> bytes:
    """Draw the cover for `prompt` as PNG bytes. Pure: depends on its arguments only."""
    seed = int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "big")
    rng = random.Random(seed)
    base_hue = rng.random()

    def colour(hue_shift: float, sat: float, light: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hls_to_rgb((base_hue + hue_shift) % 1.0, light, sat)
        return int(r * 255), int(g * 255), int(b * 255)

    # Vertical gradient background, drawn small then scaled (fast and smooth).
    top, bottom = colour(0.0, 0.45, 0.22), colour(0.08, 0.55, 0.48)
    grad = Image.new("RGB", (1, 64))
    for y in range(64):
        t = y / 63
        grad.putpixel((0, y), tuple(int(top[i] + (bottom[i] - top[i]) * t) for i in range(3)))
    img = grad.resize((width, height), Image.BILINEAR)

    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    unit = min(width, height)
    for _ in range(7):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.12, 0.45) * unit
        fill = colour(rng.choice((0.0, 0.33, 0.5, 0.66)), rng.uniform(0.4, 0.8), rng.uniform(0.45, 0.75))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill + (rng.randint(60, 140),))
    for _ in range(3):
        y = rng.uniform(0.2, 0.8) * height
        fill = colour(0.5, 0.3, 0.85)
        draw.line((0, y, width, y + rng.uniform(-0.3, 0.3) * height), fill=fill + (90,), width=max(2, unit // 90))
    layer = layer.filter(ImageFilter.GaussianBlur(radius=max(1, unit // 60)))
    img = Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")

    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


class LocalProvider:
    """Renders covers in a worker thread so a run's other posts keep moving meanwhile."""

    name = NAME

    def __init__(self, model: str, width: int, height: int) -> None:
        self.model = model or DEFAULT_MODEL
        self.width = width
        self.height = height

    async def generate(self, prompt: str, model: str | None = None) -> GeneratedImage:
        data = await asyncio.to_thread(render, prompt, self.width, self.height)
        return checked_image(data, provider=self.name, model=model or self.model)

    async def aclose(self) -> None:
        return None


def _create(opts: Mapping[str, str], ctx: ProviderContext) -> LocalProvider:
    return LocalProvider(opts.get("model", DEFAULT_MODEL), ctx.width, ctx.height)


SPEC = ProviderSpec(
    name=NAME,
    options=(),
    default_model=DEFAULT_MODEL,
    default_base_url="",
    model_env="LOCAL_IMAGE_MODEL",
    # Needs nothing: it joins whenever it is named in the provider order (never by default).
    enabled=lambda opts: True,
    create=_create,
    needs="nothing (name it in --providers)",
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=60.0, probe=False),
)
