"""Which font draws which character: the fallback chain the title text is set in.

A blog is written in any script, and a title card full of empty boxes ("tofu") is worse than no
cover. So the text is set in a chain of fonts, each character in the first font that has it:

1. DejaVu Sans (Debian `fonts-dejavu-core`): Latin, Greek, Cyrillic, Armenian, Georgian, Arabic,
   Hebrew and many symbols; the face the cards were designed around.
2. WenQuanYi Micro Hei (`fonts-wqy-microhei`, 5 MB installed): Chinese, Japanese kana and kanji,
   Korean Hangul. Chosen over Noto CJK (91 MB) and Droid Sans Fallback (7 MB): smallest with
   all three scripts.
3. Noto Color Emoji (`fonts-noto-color-emoji`, 10 MB): emoji, in colour. A bitmap font (CBDT)
   whose glyphs exist at one size only (109 px): they are drawn at that size and scaled.

All three are installed from Debian packages by the Dockerfile and `scripts/install-fonts.sh`,
never downloaded at run time. Without them the text falls back to Pillow's built-in font (Latin
only). A character no font of the chain has is never silently drawn as a box: `undrawable()`
names it and the run warns (with the post), and the character is left out of the picture.

Coverage comes from each font's own character map (`cmap`), read here (a few lines of the
OpenType format) rather than guessed by rendering: a missing glyph and an empty one (a space)
look the same in pixels.
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

__all__ = ["BUILTIN", "CHAIN", "EMOJI_SIZE", "REGULAR", "Face", "available", "coverage", "face_for", "font",
           "ignorable", "runs", "undrawable"]

FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


@dataclass(frozen=True)
class Face:
    """One font of the chain: its file (found under FONT_ROOTS by its Debian path's tail)."""

    name: str
    files: tuple[str, ...]
    """Paths below a font root, tried in order (bold first where the family has one)."""
    bitmap_size: int = 0
    """A colour bitmap font's only size (emoji): drawn at it, then scaled; 0 for outline fonts."""
    path_override: str = ""
    """A font file given by path (the `card-font` setting) instead of a packaged one."""

    @property
    def path(self) -> str | None:
        if self.path_override:
            return self.path_override
        return _find(self.files) if self.files else None


CHAIN: tuple[Face, ...] = (
    Face("DejaVu Sans", ("truetype/dejavu/DejaVuSans-Bold.ttf",)),
    Face("WenQuanYi Micro Hei", ("truetype/wqy/wqy-microhei.ttc",)),
    Face("Noto Color Emoji", ("truetype/noto/NotoColorEmoji.ttf",), bitmap_size=109),
)
REGULAR = Face("DejaVu Sans", ("truetype/dejavu/DejaVuSans.ttf",))
"""The series name's face (the first of the chain in its regular weight; the rest of the chain
is shared)."""
EMOJI_SIZE = 109
BUILTIN = Face("Pillow built-in", ())
"""Where no font of the chain is installed: Pillow's own font (Latin only), better than no cover."""


@lru_cache(maxsize=None)
def _find(files: tuple[str, ...]) -> str | None:
    for tail in files:
        for root in FONT_ROOTS:
            p = root / tail
            if p.is_file():
                return str(p)
    return None


def available() -> tuple[Face, ...]:
    """The faces of the chain whose file is installed, in order."""
    return tuple(f for f in CHAIN if f.path is not None)


# --------------------------------------------------------------------------- character maps


def _tables(data: bytes, offset: int) -> dict[bytes, tuple[int, int]]:
    (num,) = struct.unpack_from(">H", data, offset + 4)
    out = {}
    for i in range(num):
        tag, _, off, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
        out[tag] = (off, length)
    return out


def _format4(data: bytes, at: int) -> set[int]:
    seg2 = struct.unpack_from(">H", data, at + 6)[0]
    segs = seg2 // 2
    ends = struct.unpack_from(f">{segs}H", data, at + 14)
    starts = struct.unpack_from(f">{segs}H", data, at + 16 + seg2)
    deltas = struct.unpack_from(f">{segs}h", data, at + 16 + 2 * seg2)
    range_at = at + 16 + 3 * seg2
    ranges = struct.unpack_from(f">{segs}H", data, range_at)
    chars: set[int] = set()
    for i, (start, end) in enumerate(zip(starts, ends)):
        for c in range(start, min(end, 0xFFFE) + 1):
            if ranges[i] == 0:
                glyph = (c + deltas[i]) & 0xFFFF
            else:
                gi_at = range_at + 2 * i + ranges[i] + 2 * (c - start)
                glyph = struct.unpack_from(">H", data, gi_at)[0]
                glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
            if glyph:
                chars.add(c)
    return chars


def _format12(data: bytes, at: int) -> set[int]:
    (groups,) = struct.unpack_from(">I", data, at + 12)
    chars: set[int] = set()
    for g in range(groups):
        start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * g)
        chars.update(range(start, end + 1) if glyph else range(start + 1, end + 1))
    return chars


@lru_cache(maxsize=None)
def coverage(path: str) -> frozenset[int]:
    """The code points `path`'s Unicode character map gives a glyph (the first font of a .ttc)."""
    data = Path(path).read_bytes()
    offset = struct.unpack_from(">I", data, 12)[0] if data[:4] == b"ttcf" else 0
    off, _ = _tables(data, offset)[b"cmap"]
    (count,) = struct.unpack_from(">H", data, off + 2)
    best: set[int] = set()
    for i in range(count):
        platform, encoding, sub = struct.unpack_from(">HHI", data, off + 4 + 8 * i)
        if (platform, encoding) not in ((3, 1), (3, 10), (0, 3), (0, 4), (0, 6)):
            continue
        at = off + sub
        fmt = struct.unpack_from(">H", data, at)[0]
        chars = _format4(data, at) if fmt == 4 else _format12(data, at) if fmt == 12 else set()
        if len(chars) > len(best):
            best = chars
    return frozenset(best)


# --------------------------------------------------------------------------- which face draws what


def ignorable(ch: str) -> bool:
    """Characters that are never drawn on their own: joiners, variation selectors, marks that
    combine with the character before them (drawn with it, in its face). A space is not: it takes
    the first face that has one, so an emoji's neighbour space is not the emoji font's wide one."""
    cat = unicodedata.category(ch)
    return cat in ("Cf", "Mn", "Me") or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF


def face_for(ch: str, faces: tuple[Face, ...] | None = None, *, emoji: bool = False) -> Face | None:
    """The first face of the chain that has `ch` (None: no installed font has it). `emoji`: the
    character asks for its emoji form (U+FE0F follows it): a colour face that has it comes first."""
    chain = available() if faces is None else faces
    if emoji:
        chain = tuple(f for f in chain if f.bitmap_size) + tuple(f for f in chain if not f.bitmap_size)
    for face in chain:
        path = face.path
        if path is not None and ord(ch) in coverage(path):
            return face
    return None


def runs(text: str, faces: tuple[Face, ...] | None = None) -> list[tuple[Face | None, str]]:
    """`text` cut into runs set in one face each. A space, a joiner or a combining mark stays with
    the run before it (an emoji sequence with its zero-width joiners, an accent with its letter);
    a character no face has is its own run with face None (left out of the picture). With no
    font installed at all, the whole text is one run in Pillow's built-in font."""
    chain = available() if faces is None else tuple(f for f in faces if f.path is not None)
    if not chain:
        return [(BUILTIN, text)] if text else []
    out: list[tuple[Face | None, str]] = []
    for i, ch in enumerate(text):
        if out and ignorable(ch):
            face = out[-1][0]
        else:
            face = face_for(ch, chain, emoji=text[i + 1:i + 2] == "\ufe0f")
        if out and out[-1][0] == face:
            out[-1] = (face, out[-1][1] + ch)
        else:
            out.append((face, ch))
    return out


def undrawable(text: str, first: str = "") -> str:
    """The distinct characters of `text` that no installed font of the chain (after `first`, a
    font file set before it) can draw, in order of appearance ('' when every character can be
    drawn). Without any font installed, Pillow's built-in font draws Latin: what it lacks is not
    known, so nothing is reported."""
    faces = ((Face(Path(first).name, (), path_override=first),) if first else ()) + available()
    if not available() and not first:
        return ""
    seen: dict[str, None] = {}
    for face, run in runs(text, faces):
        if face is None:
            for ch in run:
                if not ignorable(ch) and not ch.isspace():
                    seen.setdefault(ch, None)
    return "".join(seen)


@lru_cache(maxsize=256)
def font(face: Face, size: int) -> ImageFont.FreeTypeFont:
    """`face` at `size` px (a bitmap face at its only size; the caller scales its drawing)."""
    path = face.path
    if path is None:
        return ImageFont.load_default(size)  # type: ignore[return-value]
    return ImageFont.truetype(path, face.bitmap_size or size, layout_engine=ImageFont.Layout.RAQM
                              if _raqm() else ImageFont.Layout.BASIC)


@lru_cache(maxsize=1)
def _raqm() -> bool:
    """Whether Pillow can shape text (libraqm with FriBiDi): Arabic's joined forms, right-to-left
    order, emoji sequences. The Dockerfile installs libfribidi0 for it."""
    from PIL import features

    return bool(features.check("raqm"))
