"""The `card` provider: an offline, deterministic title card a blogger would keep as a cover.

The post's title set large and readable over a background derived from the prompt (a diagonal
gradient in two neighbouring hues, soft out-of-focus shapes kept away from the text), with the
blog's or series' name small above it. The title and series come with the request
(`ImageRequest.title`, `.series`); the text itself is set by `imagegen.images.overlay` (fonts,
fitting 1 to 120 characters, the WCAG AA contrast rule), which `--title-overlay` uses on AI
covers too. A request without a title gets "Untitled".

It needs no key and no network: the quick start's provider, the tests' provider, and a sensible
last member of a chain (`--providers cloudflare,...,card`). The registry also lists it as `local`
(the name older configs use); the report names the provider as configured.
"""

from __future__ import annotations

import asyncio
import colorsys
import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from imagegen.images.overlay import (DEFAULT_STYLE, CardStyle, CoverText, Layout, draw_text, hls, is_rtl, luminance,
                                     seeded)
from imagegen.providers.base import GeneratedImage, ImageRequest, Limits, ProviderSpec, checked

NAME = "card"
DEFAULT_MODEL = "title-card-v1"

__all__ = ["DEFAULT_MODEL", "NAME", "SPEC", "CardProvider", "CoverText", "background", "render", "render_card", "spec"]


def _dark(rgb: tuple[int, int, int], max_luminance: float) -> tuple[int, int, int]:
    """`rgb` scaled down until its luminance is at most `max_luminance` (yellows and greens are
    bright at any HLS lightness; this keeps every hue's background equally calm)."""
    while luminance(rgb) > max_luminance:
        rgb = tuple(int(c * 0.92) for c in rgb)  # type: ignore[assignment]
    return rgb


def _gradient(c0: tuple[int, int, int], c1: tuple[int, int, int], width: int, height: int) -> Image.Image:
    """A diagonal gradient from `c0` (top left) to `c1`: drawn small, scaled up smoothly."""
    small = Image.new("RGB", (64, 34))
    for y in range(34):
        for x in range(64):
            t = min(1.0, max(0.0, (x / 63) * 0.7 + (y / 33) * 0.3))
            small.putpixel((x, y), tuple(int(c0[i] + (c1[i] - c0[i]) * t) for i in range(3)))
    return small.resize((width, height), Image.Resampling.BICUBIC).convert("RGBA")


def _ends(rng: random.Random, colors: tuple[tuple[int, int, int], ...]) -> tuple[float, tuple[int, int, int],
                                                                             tuple[int, int, int]]:
    """(hue, gradient start, gradient end): from the blog's colours (`card-colors`: one colour
    gives a darker and a lighter shade of it) or, by default, from the prompt."""
    if colors:
        hue, light, sat = colorsys.rgb_to_hls(*(c / 255 for c in colors[0]))
        rng.random()  # the shapes below stay the prompt's own
        end = colors[1] if len(colors) > 1 else hls(hue, min(0.9, light + 0.18), sat)
        return hue, colors[0], end
    hue = rng.random()
    c0 = _dark(hls(hue, 0.16 + rng.random() * 0.06, 0.45 + rng.random() * 0.25), 0.035)
    c1 = _dark(hls(hue + rng.choice((-1, 1)) * (0.06 + rng.random() * 0.08), 0.30 + rng.random() * 0.08,
                   0.50 + rng.random() * 0.3), 0.12)
    return hue, c0, c1


def background(prompt: str, width: int, height: int,
               colors: tuple[tuple[int, int, int], ...] = ()) -> tuple[Image.Image, float]:
    """A calm background from the prompt: a diagonal gradient between two dark neighbouring hues
    (or the blog's colours) and soft, blurred shapes, mostly on the right (the title sits on the
    left). Returns the picture and its base hue."""
    rng = seeded(prompt)
    hue, c0, c1 = _ends(rng, colors)
    img = _gradient(c0, c1, width, height)
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    unit = min(width, height)
    for _ in range(rng.randint(4, 7)):
        cx = width * (0.45 + rng.random() * 0.65)
        cy = height * rng.uniform(-0.1, 1.1)
        r = unit * rng.uniform(0.15, 0.55)
        col = hls(hue + rng.uniform(-0.12, 0.12), rng.uniform(0.35, 0.6), rng.uniform(0.4, 0.8))
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col + (rng.randint(50, 120),))
    for _ in range(rng.randint(1, 3)):  # a few soft rings for depth
        cx, cy = width * rng.uniform(0.55, 1.0), height * rng.uniform(0.0, 1.0)
        r = unit * rng.uniform(0.2, 0.5)
        col = hls(hue + 0.5, 0.7, 0.5)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=col + (60,), width=max(2, unit // 120))
    layer = layer.filter(ImageFilter.GaussianBlur(radius=max(2, unit // 25)))
    return Image.alpha_composite(img, layer).convert("RGB"), hue


def render_card(prompt: str, text: CoverText, width: int, height: int,
                style: CardStyle = DEFAULT_STYLE) -> tuple[Image.Image, Layout]:
    """The card as pixels, plus where its texts went. Pure: depends on its arguments only. A
    right-to-left title sits on the right, so the background is mirrored (its shapes move left)."""
    img, hue = background(prompt, width, height, style.colors)
    if is_rtl(text.title):
        img = ImageOps.mirror(img)
    layout = draw_text(img, text, hue, style=style)
    return img, layout


def render(prompt: str, width: int, height: int, text: CoverText | None = None,
           style: CardStyle = DEFAULT_STYLE) -> bytes:
    """The card as PNG bytes (the pipeline's images.finish encodes it in the configured format)."""
    img, _ = render_card(prompt, text or CoverText(""), width, height, style)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)  # re-encoded by images.finish: favour speed
    return out.getvalue()


class CardProvider:
    """Renders cards in a worker thread so a run's other posts keep moving meanwhile."""

    def __init__(self, name: str, model: str) -> None:
        self.name = name
        self.model = model or DEFAULT_MODEL

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        text = CoverText(request.title, request.series)
        model = request.model or self.model

        def draw() -> GeneratedImage:  # drawing and checking the bytes both off the event loop
            data = render(request.prompt, request.width, request.height, text, request.style)
            return checked(data, provider=self.name, model=model)

        return await asyncio.to_thread(draw)

    async def aclose(self) -> None:
        return None


def spec(name: str = NAME, needs: str = "nothing (name it in --providers)", display_name: str = "",
         alias_of: str = "") -> ProviderSpec:
    """The card's spec under `name` (`card`, and in the registry `local` as an alias for older configs)."""
    return ProviderSpec(
        name=name,
        options=(),
        default_model=DEFAULT_MODEL,
        default_base_url="",
        model_env=f"{name.upper()}_IMAGE_MODEL",
        # Needs nothing: it joins whenever it is named in the provider order (never by default).
        enabled=lambda opts: True,
        create=lambda opts, ctx: CardProvider(name, opts.get("model", DEFAULT_MODEL)),
        needs=needs,
        limits=Limits(max_in_flight=2, min_interval=0.0, timeout=60.0, probe=False),
        renders_title=True,
        display_name=display_name,
        free="unlimited title cards, drawn offline",
        alias_of=alias_of,
    )


SPEC = spec()
