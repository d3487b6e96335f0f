"""Image embeds in a Markdown body: find them, find the cover, move it, and write a new one.

The syntaxes a blog's engines show as images: Obsidian's `![[x.png]]` (and `![[x.png|alt]]`),
Markdown's inline `![alt](x.png "title")` and reference-style `![alt][ref]` (real only when the
label is defined), and HTML's `<img src=...>`. They are searched in the masked body
(imagegen.markdown.document), so an embed shown as code is not one, and offsets found are exact.
An image the parser sees where these patterns cannot place it still counts as an image (the safe
direction: such a post is skipped, never given a second cover).
"""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import quote, unquote

from markdown_it.common.utils import normalizeReference

from imagegen.images import IMAGE_EXTENSIONS
from imagegen.markdown.document import Body, Structure

__all__ = ["CoverRef", "Embed", "cover", "embed_line", "find", "has_image", "is_image_path", "place_cover",
           "quick_has_image"]

_EXT = "|".join(IMAGE_EXTENSIONS)
_IMAGE_EXT = re.compile(rf"\.(?:{_EXT})\Z", re.IGNORECASE)
# ![[target|alias]]; a literal prefix keeps the scan fast
_WIKI_EMBED = re.compile(r"!\[\[([^\[\]\n|]*)(?:\|[^\[\]\n]*)?\]\]")
# ![alt](dest "title"): dest may be <...>; one level of nested brackets/parens.
_MD_IMAGE = re.compile(
    r"!\[(?:\\.|[^\[\]\\\n]|\[(?:\\.|[^\[\]\\\n])*\])*\]"
    r"\([ \t]*(<(?:\\.|[^<>\\\n])*>|(?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\])*\))+)"
    r"(?:[ \t]+(?:\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|\((?:\\.|[^()\\\n])*\)))?[ \t]*\)"
)
# ![alt][label], ![alt][] and ![alt]: reference-style images, real only when the label is defined
_MD_REF_IMAGE = re.compile(r"!\[((?:\\.|[^\[\]\\\n]|\[(?:\\.|[^\[\]\\\n])*\])*)\](?:\[((?:\\.|[^\[\]\\\n])*)\])?")
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_ESCAPED = re.compile(r"\\(.)")


@dataclass(frozen=True)
class CoverRef:
    """The existing cover embed: where it is in the body and what it points at."""

    line_index: int
    """Index into the body's lines (the text after the frontmatter)."""
    target: str
    """The image target: `attachments/foo.png` (Obsidian target without alias; Markdown URL-decoded)."""
    start: int = 0
    end: int = 0
    """Column span of the embed from the start of its line (so an embed sharing a line is removed
    alone); `end` runs past the line for an `<img>` tag written over several lines."""


def _clean_target(raw: str) -> str:
    """A Markdown destination as a path: no <>, backslash escapes resolved, URL-decoded."""
    raw = raw.strip()
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1]
    return unquote(_ESCAPED.sub(r"\1", raw))


def is_image_path(target: str) -> bool:
    path = target.split("#", 1)[0].split("?", 1)[0].strip()
    return bool(_IMAGE_EXT.search(path))


@dataclass(frozen=True)
class Embed:
    """An image embed found in the masked body (body offsets)."""

    start: int
    end: int
    target: str


def _iter(masked: str, structure: Structure | None = None) -> Iterator[Embed]:
    """Image embeds (Obsidian, Markdown inline and reference-style, `<img>`), grouped by kind.
    Reference-style images need the parser's definitions (`structure`); without it they are not
    looked for. Cheap substring tests first: most posts have few brackets."""
    if "[[" in masked:
        for m in _WIKI_EMBED.finditer(masked):
            target = m.group(1).strip()
            if is_image_path(target):
                yield Embed(m.start(), m.end(), target)
    if "](" in masked and "![" in masked:
        for m in _MD_IMAGE.finditer(masked):
            target = _clean_target(m.group(1))
            if is_image_path(target):
                yield Embed(m.start(), m.end(), target)
    if structure is not None and structure.references and "![" in masked:
        for m in _MD_REF_IMAGE.finditer(masked):
            if m.group(2) is None and masked.startswith("(", m.end()):
                continue  # an inline image, found above
            label = m.group(2) if m.group(2) else m.group(1)
            target = structure.references.get(normalizeReference(label)) if "[" not in label else None
            if target is not None and is_image_path(target):
                yield Embed(m.start(), m.end(), target)
    if "<" in masked:
        for m in _IMG_TAG.finditer(masked):
            src = _SRC.search(m.group(0))
            target = next((g for g in src.groups() if g is not None), "") if src else ""
            yield Embed(m.start(), m.end(), html.unescape(target.strip()))


def find(body: Body) -> list[Embed]:
    """Every image embed outside code, in text order (found once per body)."""
    if body.embeds is None:
        body.embeds = sorted(_iter(body.masked, body.structure), key=lambda r: (r.start, -r.end))
    return body.embeds


def has_image(body: Body) -> bool:
    """An image embed anywhere in the body, outside code; or an image the parser found where the
    patterns cannot place it."""
    if body.embeds is not None:
        if body.embeds:
            return True
    elif next(_iter(body.masked, body.structure), None) is not None:
        return True
    return any(is_image_path(src) for src in body.structure.images)


def quick_has_image(body: Body) -> bool:
    """`has_image`, answered from the raw text when an embed there is plainly outside code.
    Masking only removes matches of these patterns inside code, so a match outside code in the
    raw text is also one in the masked text."""
    if "masked" not in body.__dict__:
        for r in _iter(body.text):
            if body.plainly_outside_code(r.start, r.end):
                return True
            break
    return has_image(body)


def cover(body: Body) -> CoverRef | None:
    """The first image embed after the first H1 (or the first in the body when there is no H1)."""
    embed = _cover_embed(body)
    if embed is None:
        return None
    line = body.line_of(embed.start)
    col = embed.start - body.line_starts[line]
    return CoverRef(line, embed.target, col, col + (embed.end - embed.start))


def _cover_embed(body: Body) -> Embed | None:
    h1 = body.h1_line()
    after = 0 if h1 is None else (body.line_starts[h1 + 1] if h1 + 1 < len(body.line_starts) else len(body.text))
    return next((r for r in find(body) if r.start >= after), None)


def place_cover(body: Body, embed: str | None, *, remove_cover: bool, newline: str, final_newline: bool) -> str:
    """The body with its cover embed line: `remove_cover` removes the existing cover embed (see
    `cover`); if it was alone on its line and a new `embed` is given, the new embed takes that
    line's place (the cover stays where the author put it); a line left empty is removed. A new
    `embed` not placed so goes on the line right after the first H1 outside code, or at the top.
    Every other character is kept."""
    text = body.text
    placed = embed is None
    old = _cover_embed(body) if remove_cover else None
    if old is not None:
        text, placed = _replace_line(text, old, embed, placed)
    if placed:
        return text
    # The line after the H1 (the H1 is before the old cover, so removing it moved nothing there).
    insert_at: int | None = 0
    if body.h1 is not None:
        eol = text.find("\n", body.h1[0])
        insert_at = None if eol == -1 else eol + 1
    if insert_at is None:
        return f"{text}{newline}{embed}"  # the H1 ended the file unbroken: now the embed does
    if insert_at < len(text):
        return f"{text[:insert_at]}{embed}{newline}{text[insert_at:]}"
    return f"{text}{embed}{newline if final_newline else ''}"


def _replace_line(text: str, old: Embed, embed: str | None, placed: bool) -> tuple[str, bool]:
    """Remove the old cover embed: whole lines, from the start of the embed's line to the end of
    the line where it ends (an <img> tag may span lines)."""
    line_start = text.rfind("\n", 0, old.start) + 1
    eol = text.find("\n", old.end)
    line_end = len(text) if eol == -1 else eol + 1
    ending = "\r\n" if text.endswith("\r\n", 0, line_end) else ("\n" if eol != -1 else "")
    left, right = text[line_start: old.start], text[old.end: line_end - len(ending)]
    if not left.strip() or left.endswith((" ", "\t")):
        right = right.lstrip(" \t")  # one separator, not two (and no new indentation)
    rest = left + right
    if rest.strip():
        replacement = rest.rstrip(" \t") + ending
    elif not placed:
        replacement = f"{embed}{ending}"
        placed = True
    else:
        replacement = ""
    head = text[:line_start]
    if not replacement and not ending and head:
        head = head[: -2 if head.endswith("\r\n") else -1]  # the file still ends unbroken
    return head + replacement + text[line_end:], placed


def embed_line(style: str, image_rel: str, post_rel: str, alt: str) -> str | None:
    """The line that embeds the cover, or None for style `frontmatter` (a field holds it instead).

    obsidian: `![[attachments/x.png|alt]]` (repo-relative, as Obsidian resolves it; the text after
    `|` is the image's alt text, left out when it would read as a size such as `300` or `300x200`);
    markdown: `![alt](../attachments/x.png)`, relative to the post's folder and URL-encoded.
    """
    if style == "obsidian":
        alias = " ".join(re.sub(r"[\[\]|#^]", " ", alt).split())
        if not alias or re.fullmatch(r"\d+(?:\s*x\s*\d+)?", alias):
            return f"![[{image_rel}]]"
        return f"![[{image_rel}|{alias}]]"
    if style == "markdown":
        rel = posixpath.relpath(image_rel, posixpath.dirname(post_rel) or ".")
        alt = " ".join(alt.split())
        alt = alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        return f"![{alt}]({quote(rel)})"
    if style == "frontmatter":
        return None
    raise ValueError(f"unknown embed style {style!r}")


