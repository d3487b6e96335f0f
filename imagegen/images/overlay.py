"""Text over a picture: the post's title (and, small, the series) set readable on any background.

Used twice: the `card` provider sets the title on its own background, and `--title-overlay` puts
the same text in a band along the bottom of an AI cover (`draw_band`, called by the pipeline while
the cover is finished). One set of fonts, one fitting rule, one contrast rule for both.

The contrast rule: every text is checked against the pixels behind it and the picture is shaded
on the text's side until the contrast is at least WCAG AA (4.5:1), so a title is readable on any
background. Fonts: DejaVu Sans (Debian's fonts-dejavu-core, installed by .ci/run and the
Dockerfile: Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew ...; never downloaded at run time);
where it is missing, Pillow's own built-in font is used, which covers Latin only.
"""

from __future__ import annotations

import colorsys
import hashlib
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["BOLD", "MAX_TITLE_CHARS", "MIN_CONTRAST", "REGULAR", "CoverText", "Layout", "contrast", "draw_band",
           "draw_text", "fit_title", "font_path", "hls", "luminance", "seeded", "worst_contrast", "wrap"]

MAX_TITLE_CHARS = 120
MAX_SERIES_CHARS = 60
MIN_CONTRAST = 4.5
"""WCAG 2 AA for normal text (large text needs only 3:1; every text here meets 4.5:1)."""

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/truetype/dejavu"))
BOLD, REGULAR = "DejaVuSans-Bold.ttf", "DejaVuSans.ttf"


@dataclass(frozen=True)
class CoverText:
    """What goes on the picture: the post's title and, small, the blog's or series' name."""

    title: str
    series: str = ""


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


def seeded(text: str) -> random.Random:
    """A random generator seeded by `text`: the same text always gives the same picture."""
    return random.Random(int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big"))


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


def hls(h: float, l: float, s: float) -> tuple[int, int, int]:  # noqa: E741
    """An sRGB colour from hue, lightness and saturation (each clamped to 0..1; hue wraps)."""
    r, g, b = colorsys.hls_to_rgb(h % 1.0, max(0.0, min(1.0, l)), max(0.0, min(1.0, s)))
    return int(r * 255), int(g * 255), int(b * 255)


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


def _cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut (at a word boundary when close) + '…'.
    The same rule as `prompts.cut`, kept here because `images` sits below `prompts` (which imports
    the report, which imports the providers, which import `images`)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= int(limit * 0.8):
        head = head[:space]
    return head.rstrip(" ,;:-") + "…"


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


def _fit_line(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """`text` on one line of `width` pixels, cut with '…' when it is wider."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1].rstrip()
    return text + "…" if text else ""


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


# --------------------------------------------------------------------------- shading


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


def _bottom_band(base: Image.Image, block_h: int, margin: int) -> Image.Image:
    """`base` with a soft dark gradient up from the bottom edge, under the whole text block."""
    w, h = base.size
    grad = Image.linear_gradient("L").resize((1, 256))
    band_h = min(h, block_h + margin * 2 + h // 6)
    mask = Image.new("L", (w, h), 0)
    mask.paste(grad.resize((w, band_h)).point(lambda v: int(v * 0.82)), (0, h - band_h))
    return Image.composite(Image.new("RGB", (w, h), (6, 6, 10)), base, mask)


# --------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class _Block:
    """The text block's measures: fonts, lines and where they start."""

    margin: int
    font: ImageFont.FreeTypeFont
    lines: list[str]
    line_h: int
    series: str
    series_font: ImageFont.FreeTypeFont
    top: int
    title_top: int

    @property
    def title_box(self) -> tuple[int, int, int, int]:
        width = round(max(self.font.getlength(line) for line in self.lines))
        return (self.margin, self.title_top, self.margin + width, self.title_top + self.line_h * len(self.lines))

    @property
    def series_box(self) -> tuple[int, int, int, int]:
        f = self.series_font
        return (self.margin, self.top, self.margin + round(f.getlength(self.series.upper()) * 1.0 + 4),
                self.top + round(f.size * 1.25))


def _measure(size: tuple[int, int], text: CoverText, overlay: bool) -> _Block:
    """Fit the title (and series) into the left part of the picture (card) or a bottom band."""
    w, h = size
    title = _cut(_clean(text.title), MAX_TITLE_CHARS) or "Untitled"
    series = _cut(_clean(text.series), MAX_SERIES_CHARS)
    margin = round(w * 0.075)
    text_w = w - 2 * margin if overlay else w * 0.74
    if overlay:
        max_size, area_h = round(h * 0.095), h * 0.34
    else:
        max_size, area_h = round(h * 0.13), h * 0.56
    # Sizes follow the height, but never past what the width holds: a 64x4096 card would set a
    # 184 px title on a 47 px column, off the canvas.
    max_size = max(8, min(max_size, round(text_w * 0.28)))
    min_size = min(max(12, round(h * 0.045)), max_size)
    font, lines, line_h = fit_title(title, text_w, area_h, max_size=max_size, min_size=min_size)
    series_font = _font(REGULAR, max(8, min(max(11, round(h * 0.04)), round(text_w * 0.2))))
    series = _fit_line(series.upper(), series_font, text_w - 4) if series else ""
    series_h = round(series_font.size * 1.9) if series else 0
    block_h = series_h + line_h * len(lines)
    top = h - margin - block_h if overlay else round((h - block_h) / 2 + h * 0.02)
    return _Block(margin, font, lines, line_h, series, series_font, top, top + series_h)


def draw_text(img: Image.Image, text: CoverText, hue: float, *, overlay: bool = False) -> Layout:
    """Set the title (and the series name above it) on `img`, in place, left-aligned in the left
    part of the picture (card) or in a band along the bottom (overlay). Returns where they went."""
    w, h = img.size
    b = _measure(img.size, text, overlay)
    white = (255, 255, 255)
    series_fill = hls(hue + 0.5, 0.85, 0.55) if b.series else white
    base = img.copy()
    if overlay:
        base = _bottom_band(base, b.title_top - b.top + b.line_h * len(b.lines), b.margin)
    base = _darken_for(base, b.title_box, white, vertical=overlay)
    series_box = None
    if b.series:
        series_box = b.series_box
        if worst_contrast(base, series_box, series_fill) < MIN_CONTRAST:
            series_fill = white
        base = _darken_for(base, series_box, series_fill, vertical=overlay)
    layout = Layout(background=base.copy(), title_box=b.title_box, title_fill=white, title_size=b.font.size,
                    title_lines=b.lines, series_box=series_box, series_fill=series_fill,
                    font=font_path(BOLD) or "Pillow built-in")
    img.paste(base)
    d = ImageDraw.Draw(img)
    if b.series:
        d.text((b.margin, b.top), b.series.upper(), font=b.series_font, fill=series_fill)
        bar_y = b.top + round(b.series_font.size * 1.45)
        d.rectangle((b.margin, bar_y, b.margin + round(w * 0.06), bar_y + max(2, h // 160)),
                    fill=hls(hue + 0.5, 0.6, 0.7))
    for i, line in enumerate(b.lines):
        d.text((b.margin, b.title_top + i * b.line_h), line, font=b.font, fill=white)
    return layout


def draw_band(img: Image.Image, text: CoverText) -> Image.Image:
    """The title band over any picture (`--title-overlay`): same fonts, same contrast rule."""
    out = img.convert("RGB").copy()
    draw_text(out, text, seeded(text.title).random(), overlay=True)
    return out
