"""The `card` provider: an offline, deterministic title card a blogger would keep as a cover.

The post's title set large and readable over a background derived from the prompt (a diagonal
gradient in two neighbouring hues, soft out-of-focus shapes kept away from the text), with the
blog's or series' name small above it. The title is wrapped and sized to fit anything from one to
120 characters, in DejaVu Sans (Debian's fonts-dejavu-core, installed by .ci/run and the
Dockerfile: Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew ...; never downloaded at run time;
where it is missing, Pillow's own built-in font is used, which covers Latin only). Every text is
checked against the pixels behind it and the band behind the text is darkened until the contrast
is at least WCAG AA (4.5:1), so a title is readable on any background.

It needs no key and no network: the quick start's provider, the tests' provider, and a sensible
last member of a chain (`--providers cloudflare,...,card`). `local` is an alias (older configs).

`draw_band` is the same title band over any picture: `--title-overlay` puts it on AI covers.

Which title: the provider interface passes only the prompt, so the pipeline tells the card the
post's title and series through the `COVER_TEXT` context variable (set around the chain call; a
context variable follows the call into tasks and threads and cannot leak between posts). Without
one (a direct call), the title is taken from the prompt's first sentence.
"""

from __future__ import annotations

import asyncio
import colorsys
import contextvars
import hashlib
import io
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from imagegen.images import checked_image
from imagegen.prompts import cut
from imagegen.providers.base import GeneratedImage, Limits, ProviderSpec

NAME = "card"
DEFAULT_MODEL = "title-card-v1"
MAX_TITLE_CHARS = 120
MIN_CONTRAST = 4.5
"""WCAG 2 AA for normal text (large text needs only 3:1; every text here meets 4.5:1)."""

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/truetype/dejavu"))
BOLD, REGULAR = "DejaVuSans-Bold.ttf", "DejaVuSans.ttf"


@dataclass(frozen=True)
class CoverText:
    """What a card writes: the post's title and, small, the blog's or series' name."""

    title: str
    series: str = ""


COVER_TEXT: contextvars.ContextVar[CoverText | None] = contextvars.ContextVar("imagegen_cover_text", default=None)


@dataclass
class Layout:
    """Where the texts went and in which colours (tests check contrast against `background`)."""

    background: Image.Image
    title_box: tuple[int, int, int, int] = (0, 0, 0, 0)
    title_fill: tuple[int, int, int] = (255, 255, 255)
    title_size: int = 0
    title_lines: list[str] = field(default_factory=list)
    series_box: tuple[int, int, int, int] | None = None
    series_fill: tuple[int, int, int] = (255, 255, 255)
    font: str = ""


# --------------------------------------------------------------------------- colour and contrast


def luminance(rgb: tuple[int, ...]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """WCAG contrast ratio (1..21)."""
    la, lb = luminance(a), luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def worst_contrast(img: Image.Image, box: tuple[int, int, int, int], fill: tuple[int, int, int]) -> float:
    """The lowest contrast between `fill` and any pixel of `img` inside `box` (the pixels are
    grouped by colour first, so this is fast even for a large box)."""
    region = img.convert("RGB").crop(box)
    colours = region.getcolors(maxcolors=region.width * region.height + 1) or []
    return min((contrast(fill, c) for _, c in colours), default=21.0)


def _hls(h: float, l: float, s: float) -> tuple[int, int, int]:  # noqa: E741
    r, g, b = colorsys.hls_to_rgb(h % 1.0, max(0.0, min(1.0, l)), max(0.0, min(1.0, s)))
    return int(r * 255), int(g * 255), int(b * 255)


def _dark(rgb: tuple[int, int, int], max_luminance: float) -> tuple[int, int, int]:
    """`rgb` scaled down until its luminance is at most `max_luminance` (yellows and greens are
    bright at any HLS lightness; this keeps every hue's background equally calm)."""
    while luminance(rgb) > max_luminance:
        rgb = tuple(int(c * 0.92) for c in rgb)  # type: ignore[assignment]
    return rgb


# --------------------------------------------------------------------------- fonts and text


@lru_cache(maxsize=None)
def font_path(name: str) -> str | None:
    for d in FONT_DIRS:
        p = d / name
        if p.is_file():
            return str(p)
    return None


@lru_cache(maxsize=256)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = font_path(name)
    if path is None:  # Pillow's built-in font (Latin only): better than failing the run
        return ImageFont.load_default(size)  # type: ignore[return-value]
    return ImageFont.truetype(path, size)


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def _break_word(word: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """A word wider than the line (a URL, a long compound, a script without spaces) in pieces."""
    parts, cur = [], ""
    for ch in word:
        if cur and font.getlength(cur + ch) > width:
            parts.append(cur)
            cur = ch
        else:
            cur += ch
    return parts + ([cur] if cur else [])


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap to `width` pixels."""
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        pieces = [word] if font.getlength(word) <= width else _break_word(word, font, width)
        for piece in pieces:
            trial = f"{cur} {piece}" if cur else piece
            if font.getlength(trial) <= width:
                cur = trial
            else:
                if cur:
                    lines.append(cur)
                cur = piece
    if cur:
        lines.append(cur)
    return lines


def fit_title(title: str, width: float, height: float, max_size: int, min_size: int,
              max_lines: int = 4) -> tuple[ImageFont.FreeTypeFont, list[str], int]:
    """The largest font size (max_size down to min_size) at which `title` wraps into at most
    `max_lines` lines inside width x height; at the minimum size, the last line is cut with '…'.
    Returns (font, lines, line height)."""
    size = max_size
    while True:
        font = _font(BOLD, size)
        lines = wrap(title, font, width)
        line_h = int(size * 1.18)
        if (len(lines) <= max_lines and line_h * len(lines) <= height) or size <= min_size:
            break
        size = max(min_size, int(size * 0.92))
    room = max(1, min(max_lines, int(height // line_h)))
    if len(lines) > room:
        lines = lines[:room]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return font, lines, line_h


# --------------------------------------------------------------------------- drawing


def _rng(prompt: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(prompt.encode("utf-8")).digest()[:8], "big"))


def background(prompt: str, width: int, height: int) -> tuple[Image.Image, float]:
    """A calm background from the prompt: a diagonal gradient between two dark neighbouring hues
    and soft, blurred shapes, mostly on the right (the title sits on the left). Returns the picture
    and its base hue."""
    rng = _rng(prompt)
    hue = rng.random()
    c0 = _dark(_hls(hue, 0.16 + rng.random() * 0.06, 0.45 + rng.random() * 0.25), 0.035)
    c1 = _dark(_hls(hue + rng.choice((-1, 1)) * (0.06 + rng.random() * 0.08), 0.30 + rng.random() * 0.08,
                    0.50 + rng.random() * 0.3), 0.12)
    # diagonal gradient: drawn small, scaled up smoothly
    small = Image.new("RGB", (64, 34))
    for y in range(34):
        for x in range(64):
            t = min(1.0, max(0.0, (x / 63) * 0.7 + (y / 33) * 0.3))
            small.putpixel((x, y), tuple(int(c0[i] + (c1[i] - c0[i]) * t) for i in range(3)))
    img = small.resize((width, height), Image.Resampling.BICUBIC).convert("RGBA")
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    unit = min(width, height)
    for _ in range(rng.randint(4, 7)):
        cx = width * (0.45 + rng.random() * 0.65)
        cy = height * rng.uniform(-0.1, 1.1)
        r = unit * rng.uniform(0.15, 0.55)
        col = _hls(hue + rng.uniform(-0.12, 0.12), rng.uniform(0.35, 0.6), rng.uniform(0.4, 0.8))
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col + (rng.randint(50, 120),))
    for _ in range(rng.randint(1, 3)):  # a few soft rings for depth
        cx, cy = width * rng.uniform(0.55, 1.0), height * rng.uniform(0.0, 1.0)
        r = unit * rng.uniform(0.2, 0.5)
        col = _hls(hue + 0.5, 0.7, 0.5)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=col + (60,), width=max(2, unit // 120))
    layer = layer.filter(ImageFilter.GaussianBlur(radius=max(2, unit // 25)))
    return Image.alpha_composite(img, layer).convert("RGB"), hue


def _scrim(size: tuple[int, int], edge: int, fade: int, alpha: float, *, vertical: bool) -> Image.Image:
    """A mask: `alpha` up to `edge` (from the left, or from the bottom when vertical), fading to
    nothing over `fade` pixels. A soft shade, not a box: it reads as light falling off."""
    w, h = size
    length = h if vertical else w
    ramp = []
    for i in range(length):
        d = (length - 1 - i) if vertical else i  # distance from the text side
        t = 1.0 if d <= edge else max(0.0, 1.0 - (d - edge) / max(1, fade))
        ramp.append(int(255 * alpha * (t * t * (3 - 2 * t))))  # smoothstep
    line = Image.new("L", (1, length) if vertical else (length, 1))
    line.putdata(ramp)
    return line.resize((w, h))


def _darken_for(img: Image.Image, box: tuple[int, int, int, int], fill: tuple[int, int, int], *,
                vertical: bool = False) -> Image.Image:
    """`img`, shaded on the text's side (left for a card, bottom for an overlay) just enough that
    `fill` has at least MIN_CONTRAST against every pixel in `box`."""
    if worst_contrast(img, box, fill) >= MIN_CONTRAST:
        return img
    w, h = img.size
    edge = (h - box[1]) if vertical else box[2]
    fade = (h // 3) if vertical else (w // 4)
    shade = Image.new("RGB", (w, h), (6, 6, 10))
    alpha = 0.3
    while True:
        out = Image.composite(shade, img, _scrim((w, h), edge, fade, alpha, vertical=vertical))
        if worst_contrast(out, box, fill) >= MIN_CONTRAST or alpha >= 1.0:
            return out
        alpha = min(1.0, alpha + 0.1)


def draw_text(img: Image.Image, text: CoverText, hue: float, *, overlay: bool = False) -> Layout:
    """Set the title (and the series name above it) on `img`, in place, left-aligned in the left
    part of the picture (card) or in a band along the bottom (overlay). Returns where they went."""
    w, h = img.size
    title = cut(_clean(text.title), MAX_TITLE_CHARS) or "Untitled"
    series = cut(_clean(text.series), 60)
    margin = round(w * 0.075)
    text_w = w - 2 * margin if overlay else w * 0.74
    if overlay:
        max_size, area_h = round(h * 0.095), h * 0.34
    else:
        max_size, area_h = round(h * 0.13), h * 0.56
    font, lines, line_h = fit_title(title, text_w, area_h, max_size=max_size, min_size=max(12, round(h * 0.045)))
    size = font.size
    series_font = _font(REGULAR, max(11, round(h * 0.04)))
    series_h = round(series_font.size * 1.9) if series else 0
    block_h = series_h + line_h * len(lines)
    top = h - margin - block_h if overlay else round((h - block_h) / 2 + h * 0.02)
    title_top = top + series_h
    title_box = (margin, title_top, margin + round(max(font.getlength(line) for line in lines)),
                 title_top + line_h * len(lines))
    white = (255, 255, 255)
    series_fill = _hls(hue + 0.5, 0.85, 0.55) if series else white
    base = img.copy()
    if overlay:  # a soft dark gradient up from the bottom edge, under the whole text block
        grad = Image.linear_gradient("L").resize((1, 256))
        band_h = min(h, block_h + margin * 2 + h // 6)
        mask = Image.new("L", (w, h), 0)
        mask.paste(grad.resize((w, band_h)).point(lambda v: int(v * 0.82)), (0, h - band_h))
        base = Image.composite(Image.new("RGB", (w, h), (6, 6, 10)), base, mask)
    base = _darken_for(base, title_box, white, vertical=overlay)
    series_box = None
    if series:
        series_box = (margin, top, margin + round(series_font.getlength(series.upper()) * 1.0 + 4),
                      top + round(series_font.size * 1.25))
        if worst_contrast(base, series_box, series_fill) < MIN_CONTRAST:
            series_fill = white
        base = _darken_for(base, series_box, series_fill, vertical=overlay)
    layout = Layout(background=base.copy(), title_box=title_box, title_fill=white, title_size=size,
                    title_lines=lines, series_box=series_box, series_fill=series_fill,
                    font=font_path(BOLD) or "Pillow built-in")
    img.paste(base)
    d = ImageDraw.Draw(img)
    if series:
        accent = _hls(hue + 0.5, 0.6, 0.7)
        d.text((margin, top), series.upper(), font=series_font, fill=series_fill)
        bar_y = top + round(series_font.size * 1.45)
        d.rectangle((margin, bar_y, margin + round(w * 0.06), bar_y + max(2, h // 160)), fill=accent)
    for i, line in enumerate(lines):
        d.text((margin, title_top + i * line_h), line, font=font, fill=white)
    return layout


def render_card(prompt: str, text: CoverText, width: int, height: int) -> tuple[Image.Image, Layout]:
    """The card as pixels, plus where its texts went. Pure: depends on its arguments only."""
    img, hue = background(prompt, width, height)
    layout = draw_text(img, text, hue)
    return img, layout


def draw_band(img: Image.Image, text: CoverText) -> Image.Image:
    """The title band over any picture (`--title-overlay`): same fonts, same contrast rule."""
    out = img.convert("RGB").copy()
    draw_text(out, text, _rng(text.title).random(), overlay=True)
    return out


def title_from_prompt(prompt: str) -> str:
    """A title when none was passed: the prompt's first sentence, without the text-prompt prefix."""
    from imagegen.prompts import PREFIX

    text = prompt[len(PREFIX):] if prompt.startswith(PREFIX) else prompt
    head = text.split(". ", 1)[0].strip()
    return head[:MAX_TITLE_CHARS]


def render(prompt: str, width: int, height: int, text: CoverText | None = None) -> bytes:
    """The card as PNG bytes (the chain's images.finish encodes it in the configured format)."""
    text = text or COVER_TEXT.get() or CoverText(title_from_prompt(prompt))
    img, _ = render_card(prompt, text, width, height)
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)  # re-encoded by images.finish: favour speed
    return out.getvalue()


class CardProvider:
    """Renders cards in a worker thread so a run's other posts keep moving meanwhile."""

    def __init__(self, name: str, model: str, width: int, height: int) -> None:
        self.name = name
        self.model = model or DEFAULT_MODEL
        self.width = width
        self.height = height

    async def generate(self, prompt: str, model: str | None = None) -> GeneratedImage:
        text = COVER_TEXT.get() or CoverText(title_from_prompt(prompt))
        data = await asyncio.to_thread(render, prompt, self.width, self.height, text)
        return checked_image(data, provider=self.name, model=model or self.model)

    async def aclose(self) -> None:
        return None


def spec(name: str = NAME, needs: str = "nothing (name it in --providers)") -> ProviderSpec:
    """The card's spec under `name` (`card`, and `local` as an alias for older configs)."""
    return ProviderSpec(
        name=name,
        options=(),
        default_model=DEFAULT_MODEL,
        default_base_url="",
        model_env=f"{name.upper()}_IMAGE_MODEL",
        # Needs nothing: it joins whenever it is named in the provider order (never by default).
        enabled=lambda opts: True,
        create=lambda opts, ctx: CardProvider(name, opts.get("model", DEFAULT_MODEL), ctx.width, ctx.height),
        needs=needs,
        limits=Limits(max_in_flight=2, min_interval=0.0, timeout=60.0, probe=False),
    )


SPEC = spec()

