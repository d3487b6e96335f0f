"""Text over a picture: the post's title (and, small, the series) set readable on any background.

Used twice: the `card` provider sets the title on its own background, and `--title-overlay` puts
the same text in a band along the bottom of an AI cover (`draw_band`, called by the pipeline while
the cover is finished). One font chain, one fitting rule, one contrast rule for both.

The contrast rule: every text is checked against the pixels behind it and the picture is shaded
on the text's side until the contrast is at least WCAG AA (4.5:1), so a title is readable on any
background. The fonts: a chain (`imagegen.images.fonts`) that draws Latin, Greek, Cyrillic,
Arabic, Hebrew, Chinese, Japanese, Korean and colour emoji, each character in the first font
that has it; a title in a right-to-left script (its first strong character is Arabic or Hebrew)
is right-aligned, on a card whose background is mirrored. `CardStyle` carries the blog's own
choices (colours, a font file set first, a logo, whether the series shows).
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagegen.words import cut
from imagegen.images import fonts
from imagegen.images.fonts import Face

__all__ = ["DEFAULT_STYLE", "MAX_TITLE_CHARS", "MIN_CONTRAST", "CardStyle", "CoverText", "Layout", "Setter",
           "contrast", "draw_band", "draw_text", "fit_title", "hls", "check_font", "check_logo", "is_rtl",
           "luminance", "parse_color", "parse_colors", "seeded", "worst_contrast", "wrap"]

MAX_TITLE_CHARS = 120
MAX_SERIES_CHARS = 60
MIN_CONTRAST = 4.5
"""WCAG 2 AA for normal text (large text needs only 3:1; every text here meets 4.5:1)."""


@dataclass(frozen=True)
class CoverText:
    """What goes on the picture: the post's title and, small, the blog's or series' name."""

    title: str
    series: str = ""


@dataclass(frozen=True)
class CardStyle:
    """The blog's own look for title cards and the title band (settings `card-colors`, `card-font`,
    `card-logo`, `card-series`). The default is the generated look: colours from the prompt, the
    font chain, no logo, the series shown."""

    colors: tuple[tuple[int, int, int], ...] = ()
    """1 to 3 colours: the background's two ends (one colour: a darker and a lighter shade of it)
    and the accent (the series name's bar; default: the opposite hue)."""
    font: str = ""
    """A font file set before the chain (the chain still draws what it lacks)."""
    logo: str = ""
    """An image file drawn small in the top corner away from the text."""
    series: bool = True

    def fingerprint(self) -> str:
        """What a card drawn with this style depends on, as a short digest (files by content)."""
        files = {}
        for name in ("font", "logo"):
            path = getattr(self, name)
            files[name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else ""
        blob = json.dumps({"colors": self.colors, "series": self.series, **files}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


DEFAULT_STYLE = CardStyle()


def parse_color(text: str) -> tuple[int, int, int]:
    """`#rrggbb` or `#rgb` (the # may be left out) as an RGB triple; ValueError otherwise."""
    raw = text.strip().lstrip("#")
    if len(raw) == 3:
        raw = "".join(c * 2 for c in raw)
    if len(raw) != 6 or any(c not in "0123456789abcdefABCDEF" for c in raw):
        raise ValueError(f"{text!r} is not a colour (write #rrggbb, e.g. #1e3a5f)")
    return int(raw[0:2], 16), int(raw[2:4], 16), int(raw[4:6], 16)


def parse_colors(colors: tuple[str, ...]) -> tuple[tuple[int, int, int], ...]:
    """The `card-colors` setting: 1 to 3 colours; ValueError naming the first that is not one."""
    if len(colors) > 3:
        raise ValueError(f"{len(colors)} colours given; at most 3 (background start, end, accent)")
    return tuple(parse_color(c) for c in colors)


def check_font(path: str) -> None:
    """ValueError unless Pillow can open `path` as a font (checked before any cover is made)."""
    try:
        ImageFont.truetype(path, 20)
    except OSError as exc:
        raise ValueError(f"{Path(path).name} is not a font Pillow can open ({exc})") from None


def check_logo(path: str) -> None:
    """ValueError unless Pillow can open `path` as a picture."""
    try:
        with Image.open(path) as img:
            img.verify()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"{Path(path).name} is not a picture Pillow can open ({type(exc).__name__})") from None


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
    faces: list[str] = field(default_factory=list)
    """The fonts the title's characters were set in, in order of first use."""
    rtl: bool = False
    missing: str = ""
    """Characters no font could draw (left out of the picture; the run warns)."""


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


def is_rtl(text: str) -> bool:
    """The text's direction, by its first strong character (the Unicode bidi rule P2): Arabic or
    Hebrew first reads right to left."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


class Setter:
    """Sets text at one size in the font chain (a style's own font first): measures it and draws
    it, each run of characters in the face that has them; emoji (a bitmap face) drawn at their
    only size and scaled to the text's."""

    def __init__(self, size: int, first: str = "", *, regular: bool = False) -> None:
        self.size = size
        chain = fonts.available()
        if regular and chain and chain[0].name == fonts.REGULAR.name and fonts.REGULAR.path:
            chain = (fonts.REGULAR, *chain[1:])
        own = (Face(Path(first).name, (), path_override=first),) if first else ()
        self.faces: tuple[Face, ...] = own + chain

    def runs(self, text: str) -> list[tuple[Face | None, str]]:
        return fonts.runs(text, self.faces)

    def _font(self, face: Face) -> ImageFont.FreeTypeFont:
        return fonts.font(face, self.size)

    def _scale(self, face: Face) -> float:
        return self.size / face.bitmap_size if face.bitmap_size else 1.0

    def length(self, text: str) -> float:
        return sum(self._font(f).getlength(run) * self._scale(f) for f, run in self.runs(text) if f is not None)

    @property
    def ascent(self) -> int:
        return self._font(self.faces[0]).getmetrics()[0] if self.faces else self.size

    def draw(self, img: Image.Image, xy: tuple[float, float], text: str, fill: tuple[int, int, int],
             *, rtl: bool = False) -> None:
        """Draw `text` with its left edge at x (its runs right to left when `rtl`)."""
        x, y = xy
        baseline = y + self.ascent
        runs = [(f, r) for f, r in self.runs(text) if f is not None]
        for face, run in (reversed(runs) if rtl else runs):
            f = self._font(face)
            if face.bitmap_size:
                x += self._paste_bitmap(img, face, run, x, baseline)
                continue
            top = baseline - f.getmetrics()[0]
            ImageDraw.Draw(img).text((x, top), run, font=f, fill=fill)
            x += f.getlength(run)

    def _paste_bitmap(self, img: Image.Image, face: Face, run: str, x: float, baseline: float) -> float:
        f, scale = self._font(face), self._scale(face)
        asc, desc = f.getmetrics()
        width = f.getlength(run)
        tmp = Image.new("RGBA", (max(1, math.ceil(width)), asc + desc), (0, 0, 0, 0))
        ImageDraw.Draw(tmp).text((0, 0), run, font=f, embedded_color=True)
        tmp = tmp.resize((max(1, round(tmp.width * scale)), max(1, round(tmp.height * scale))),
                         Image.Resampling.LANCZOS)
        img.paste(tmp, (round(x), round(baseline - asc * scale * 0.92)), tmp)
        return width * scale


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def _break_word(word: str, setter: Setter, width: float) -> list[str]:
    """A word wider than the line (a URL, a long compound, a script without spaces) in pieces."""
    parts, cur = [], ""
    for ch in word:
        if cur and not fonts.ignorable(ch) and setter.length(cur + ch) > width:
            parts.append(cur)
            cur = ch
        else:
            cur += ch
    return parts + ([cur] if cur else [])


def wrap(text: str, setter: Setter, width: float) -> list[str]:
    """Greedy word wrap to `width` pixels (a script written without spaces breaks between characters)."""
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        pieces = [word] if setter.length(word) <= width else _break_word(word, setter, width)
        for piece in pieces:
            trial = f"{cur} {piece}" if cur else piece
            if setter.length(trial) <= width:
                cur = trial
            else:
                if cur:
                    lines.append(cur)
                cur = piece
    if cur:
        lines.append(cur)
    return lines


def _fit_line(text: str, setter: Setter, width: float) -> str:
    """`text` on one line of `width` pixels, cut with '…' when it is wider."""
    if setter.length(text) <= width:
        return text
    while text and setter.length(text + "…") > width:
        text = text[:-1].rstrip()
    return text + "…" if text else ""


def fit_title(title: str, width: float, height: float, max_size: int, min_size: int,
              max_lines: int = 4, first: str = "") -> tuple[Setter, list[str], int]:
    """The largest font size (max_size down to min_size) at which `title` wraps into at most
    `max_lines` lines inside width x height; at the minimum size, the last line is cut with '…'.
    Returns (setter, lines, line height)."""
    size = max_size
    while True:
        setter = Setter(size, first)
        lines = wrap(title, setter, width)
        line_h = int(size * 1.18)
        if (len(lines) <= max_lines and line_h * len(lines) <= height) or size <= min_size:
            break
        size = max(min_size, int(size * 0.92))
    room = max(1, min(max_lines, int(height // line_h)))
    if len(lines) > room:
        lines = lines[:room]
        last = lines[-1]
        while last and setter.length(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return setter, lines, line_h


# --------------------------------------------------------------------------- shading


def _scrim(size: tuple[int, int], edge: int, fade: int, alpha: float, *, side: str) -> Image.Image:
    """A mask: `alpha` up to `edge` from the text's side (left, right or bottom), fading to nothing
    over `fade` pixels. A soft shade, not a box: it reads as light falling off."""
    w, h = size
    vertical = side == "bottom"
    length = h if vertical else w
    ramp = []
    for i in range(length):
        d = (length - 1 - i) if side in ("bottom", "right") else i  # distance from the text side
        t = 1.0 if d <= edge else max(0.0, 1.0 - (d - edge) / max(1, fade))
        ramp.append(int(255 * alpha * (t * t * (3 - 2 * t))))  # smoothstep
    line = Image.new("L", (1, length) if vertical else (length, 1))
    line.putdata(ramp)
    return line.resize((w, h))


def _darken_for(img: Image.Image, box: tuple[int, int, int, int], fill: tuple[int, int, int], *,
                side: str = "left") -> Image.Image:
    """`img`, shaded on the text's side (left or right for a card, bottom for an overlay) just
    enough that `fill` has at least MIN_CONTRAST against every pixel in `box`."""
    if worst_contrast(img, box, fill) >= MIN_CONTRAST:
        return img
    w, h = img.size
    edge = {"bottom": h - box[1], "left": box[2], "right": w - box[0]}[side]
    fade = (h // 3) if side == "bottom" else (w // 4)
    shade = Image.new("RGB", (w, h), (6, 6, 10))
    alpha = 0.3
    while True:
        out = Image.composite(shade, img, _scrim((w, h), edge, fade, alpha, side=side))
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
    """The text block's measures: setters, lines and where they start; right-aligned when `rtl`."""

    width: int
    margin: int
    setter: Setter
    lines: list[str]
    line_h: int
    series: str
    series_setter: Setter
    top: int
    title_top: int
    rtl: bool

    def x(self, text_width: float) -> int:
        """Where a line of `text_width` starts: at the margin, or ending at the right margin."""
        return round(self.width - self.margin - text_width) if self.rtl else self.margin

    def _box(self, text_width: float, top: int, bottom: int) -> tuple[int, int, int, int]:
        x = self.x(text_width)
        return (x, top, x + round(text_width), bottom)

    @property
    def title_box(self) -> tuple[int, int, int, int]:
        width = max(self.setter.length(line) for line in self.lines)
        return self._box(width, self.title_top, self.title_top + self.line_h * len(self.lines))

    @property
    def series_box(self) -> tuple[int, int, int, int]:
        width = self.series_setter.length(self.series.upper()) + 4
        return self._box(width, self.top, self.top + round(self.series_setter.size * 1.25))


def _measure(size: tuple[int, int], text: CoverText, overlay: bool, style: CardStyle) -> _Block:
    """Fit the title (and series) into one side of the picture (card) or a bottom band."""
    w, h = size
    title = cut(_clean(text.title), MAX_TITLE_CHARS) or "Untitled"
    series = cut(_clean(text.series), MAX_SERIES_CHARS) if style.series else ""
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
    setter, lines, line_h = fit_title(title, text_w, area_h, max_size=max_size, min_size=min_size, first=style.font)
    series_setter = Setter(max(8, min(max(11, round(h * 0.04)), round(text_w * 0.2))), style.font, regular=True)
    series = _fit_line(series.upper(), series_setter, text_w - 4) if series else ""
    series_h = round(series_setter.size * 1.9) if series else 0
    block_h = series_h + line_h * len(lines)
    top = h - margin - block_h if overlay else round((h - block_h) / 2 + h * 0.02)
    return _Block(w, margin, setter, lines, line_h, series, series_setter, top, top + series_h, is_rtl(title))


def _logo(img: Image.Image, path: str, *, left: bool) -> tuple[int, int, int, int] | None:
    """The blog's logo, small, in a top corner (the one away from the text's alignment)."""
    try:
        with Image.open(path) as src:
            logo = src.convert("RGBA")
    except (OSError, ValueError):
        return None  # settings checked that it opens; a file changed meanwhile costs only the logo
    w, h = img.size
    logo.thumbnail((round(w * 0.2), round(h * 0.12)), Image.Resampling.LANCZOS)
    pad = round(min(w, h) * 0.05)
    x = pad if left else w - pad - logo.width
    img.paste(logo, (x, pad), logo)
    return (x, pad, x + logo.width, pad + logo.height)


def draw_text(img: Image.Image, text: CoverText, hue: float, *, overlay: bool = False,
              style: CardStyle = DEFAULT_STYLE) -> Layout:
    """Set the title (and the series name above it) on `img`, in place: in one side of the picture
    (card; left, or right for a right-to-left title) or in a band along the bottom (overlay).
    Returns where the texts went."""
    w, h = img.size
    b = _measure(img.size, text, overlay, style)
    side = "bottom" if overlay else ("right" if b.rtl else "left")
    white = (255, 255, 255)
    accent = style.colors[2] if len(style.colors) > 2 else hls(hue + 0.5, 0.6, 0.7)
    series_fill = _lighter(accent) if b.series else white
    base = img.copy()
    if overlay:
        base = _bottom_band(base, b.title_top - b.top + b.line_h * len(b.lines), b.margin)
    base = _darken_for(base, b.title_box, white, side=side)
    series_box = None
    if b.series:
        series_box = b.series_box
        if worst_contrast(base, series_box, series_fill) < MIN_CONTRAST:
            series_fill = white
        base = _darken_for(base, series_box, series_fill, side=side)
    title_runs = [f.name for f, _ in b.setter.runs(" ".join(b.lines)) if f is not None]
    layout = Layout(background=base.copy(), title_box=b.title_box, title_fill=white, title_size=b.setter.size,
                    title_lines=b.lines, series_box=series_box, series_fill=series_fill,
                    font=b.setter.faces[0].path or "Pillow built-in" if b.setter.faces else "Pillow built-in",
                    faces=list(dict.fromkeys(title_runs)), rtl=b.rtl,
                    missing=fonts.undrawable(" ".join(b.lines), style.font))
    img.paste(base)
    if style.logo:
        _logo(img, style.logo, left=b.rtl)
    if b.series:
        label = b.series.upper()
        b.series_setter.draw(img, (b.x(b.series_setter.length(label)), b.top), label, series_fill, rtl=is_rtl(label))
        bar_y = b.top + round(b.series_setter.size * 1.45)
        bar_w = round(w * 0.06)
        bar_x = b.x(bar_w)
        ImageDraw.Draw(img).rectangle((bar_x, bar_y, bar_x + bar_w, bar_y + max(2, h // 160)), fill=accent)
    for i, line in enumerate(b.lines):
        b.setter.draw(img, (b.x(b.setter.length(line)), b.title_top + i * b.line_h), line, white, rtl=b.rtl)
    return layout


def _lighter(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A light tint of the accent, for the series name (the contrast rule still checks it)."""
    h, _, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    return hls(h, 0.85, min(0.55, s))


def draw_band(img: Image.Image, text: CoverText, style: CardStyle = DEFAULT_STYLE) -> Image.Image:
    """The title band over any picture (`--title-overlay`): same fonts, style and contrast rule."""
    out = img.convert("RGB").copy()
    draw_text(out, text, seeded(text.title).random(), overlay=True, style=style)
    return out
