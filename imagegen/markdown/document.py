"""The block structure of a Markdown body, parsed once: which lines are code, where the first H1
is, the link reference definitions; and the body with code blanked out, for exact-offset searches.

The structure comes from a CommonMark parser (markdown-it-py, with the footnote plugin because
Obsidian, Hugo, Jekyll and Astro all render footnotes: without it a footnote's indented second
paragraph would read as indented code): code lines (fenced blocks, also inside lists and quotes, and
indented code blocks), the first H1 (ATX or setext), and the link reference definitions that
`![alt][ref]` images use.

markdown-it-py's inline tokens carry no source positions, and the tool must know exactly where an
embed is to replace it, so inline work (imagegen.markdown.embeds) happens on a *masked* copy of the
body: code blocks and code spans blanked out (same length, line breaks kept; code spans found by the
CommonMark rule, paragraph by paragraph), so a post that merely *shows* `![[attachments/x.png]]` or
`# Title` inside code has neither an image nor a title there, and offsets found in the mask are
offsets in the real body.

Parsing costs about 0.07 ms for a typical post, which a 10,000-post no-op scan cannot afford
(0.7 s against its 0.5 s budget), so a scan first asks the raw text (`Body.quick_has_h1`,
`embeds.quick_has_image`) and parses only posts whose answer is not plain from it: the raw-text
shortcut implements the rule a second time, guarded by a property test
(tests/test_markdown_structure.py).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

__all__ = ["EMBED_NEEDLES", "Body", "Structure", "code_spans", "fenced", "lines", "mask_code", "parse_structure"]

_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")
_BACKTICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\r?\n")
_NOT_BREAK = re.compile(r"[^\r\n]")
_H1 = re.compile(r"^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*\r?$", re.MULTILINE)

MD = MarkdownIt("commonmark").use(footnote_plugin)
"""The one parser (prose for prompts is read from its tokens too: imagegen.prompts.plaintext)."""
_LONE_CR = re.compile(r"\r(?!\n)")


def lines(text: str) -> list[str]:
    """Lines with their endings; only `\\n` ends a line (CRLF keeps its `\\r`)."""
    return _LINES.findall(text)


@dataclass(frozen=True)
class Structure:
    """What the CommonMark parser says about a body. Lines are indexes into `lines(body)`."""

    code: tuple[tuple[int, int], ...]
    """[start, end) line ranges of code blocks (fenced, at any depth, and indented)."""
    h1: tuple[int, int, str] | None
    """First top-level H1 with text: (first line, last line, text with whitespace collapsed)."""
    references: dict[str, str]
    """Link reference definitions: normalised label -> URL-decoded destination."""
    images: tuple[str, ...]
    """Image sources the parser found (inline and reference-style, URL-decoded)."""


def parse_structure(body: str) -> Structure:
    """Parse `body` once with markdown-it-py. A lone CR is a line break to the parser but not to
    this module (only LF ends a line here), so it is handed over as a space to keep lines aligned."""
    src = _LONE_CR.sub(" ", body) if "\r" in body else body
    env: dict[str, Any] = {}
    tokens = MD.parse(src, env)
    code: list[tuple[int, int]] = []
    h1: tuple[int, int, str] | None = None
    images: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type in ("fence", "code_block") and tok.map:
            code.append((tok.map[0], tok.map[1]))
        elif tok.type == "heading_open" and tok.tag == "h1" and tok.level == 0 and h1 is None and tok.map:
            content = tokens[i + 1].content if i + 1 < len(tokens) else ""
            text = " ".join(content.split())
            if text.strip("#").strip():
                h1 = (tok.map[0], tok.map[1] - 1, text)
        elif tok.type == "inline" and tok.children:
            images.extend(unquote(c.attrs.get("src", "") or "") for c in tok.children if c.type == "image")
    refs = {label: unquote(str(d.get("href", ""))) for label, d in env.get("references", {}).items()}
    return Structure(tuple(code), h1, refs, tuple(images))


def fenced(lines: list[str]) -> list[bool]:
    """Per line: is it part of a code block (fenced, or indented; see `parse_structure`)?"""
    out = [False] * len(lines)
    text = "".join(lines)
    if "```" not in text and "~~~" not in text and "    " not in text and "\t" not in text:
        return out
    for a, b in parse_structure(text).code:
        for i in range(a, min(b, len(lines))):
            out[i] = True
    return out


def code_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, end, backtick count) of inline code spans: a run of N backticks up to the next run
    of exactly N, not across a blank line. A backslash-escaped backtick does not open a span."""
    runs = list(_BACKTICKS.finditer(text))
    spans: list[tuple[int, int, int]] = []
    i = 0
    while i < len(runs):
        start, end = runs[i].span()
        slashes = 0
        while start - slashes - 1 >= 0 and text[start - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2:
            start += 1
        n = end - start
        if n == 0:
            i += 1
            continue
        for j in range(i + 1, len(runs)):
            r = runs[j]
            if _BLANK_LINE.search(text, end, r.start()):
                break
            if r.end() - r.start() == n:
                spans.append((start, r.end(), n))
                i = j
                break
        i += 1
    return spans


def _blank(segment: str) -> str:
    return _NOT_BREAK.sub(" ", segment)


_PARAGRAPHS = re.compile(r"(\n(?:[ \t]*\r?\n)+)")
EMBED_NEEDLES = ("![", "<")
"""Substrings without which a paragraph cannot hold an image embed (the H1 comes from the parser)."""


def _mask_spans(text: str) -> str:
    spans = code_spans(text)
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for s, e, _ in spans:
        parts.append(text[pos:s])
        parts.append(_blank(text[s:e]))
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def line_offsets(body: str) -> list[int]:
    """Offset of each line's start (only LF ends a line)."""
    starts = [0]
    i = body.find("\n")
    while i != -1 and i + 1 < len(body):
        starts.append(i + 1)
        i = body.find("\n", i + 1)
    return starts


def mask_code(body: str, needles: tuple[str, ...] | None = None, structure: Structure | None = None) -> str:
    """`body` with code blocks and inline code spans replaced by spaces (same length, breaks kept).

    Code blocks come from the parser (`structure`, parsed here when not given). Code spans never
    cross a blank line, so they are found paragraph by paragraph; with `needles`, only paragraphs
    containing one of them are masked (the others cannot matter to the caller, and masking every
    paragraph of a long post costs more than the rest of a scan).
    """
    if structure is None:
        structure = parse_structure(body)
    text = body
    if structure.code:
        starts = line_offsets(body)
        parts: list[str] = []
        pos = 0
        for a, b in structure.code:
            start = starts[a] if a < len(starts) else len(body)
            end = starts[b] if b < len(starts) else len(body)
            if start < pos:
                start = pos
            parts.append(body[pos:start])
            parts.append(_blank(body[start:end]))
            pos = max(pos, end)
        parts.append(body[pos:])
        text = "".join(parts)
    if "`" not in text:
        return text
    chunks = _PARAGRAPHS.split(text)
    for i in range(0, len(chunks), 2):  # odd indexes are the blank-line separators
        chunk = chunks[i]
        if "`" in chunk and (needles is None or any(n in chunk for n in needles)):
            chunks[i] = _mask_spans(chunk)
    return "".join(chunks)




class Body:
    """A post's Markdown body, analysed on first use (parse, mask, line offsets, H1)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.embeds: list[Any] | None = None
        """The image embeds in the masked body, found once by imagegen.markdown.embeds."""

    @cached_property
    def structure(self) -> Structure:
        return parse_structure(self.text)

    @cached_property
    def masked(self) -> str:
        """The body with code blanked where an embed could be (see mask_code)."""
        return mask_code(self.text, EMBED_NEEDLES, self.structure)

    @cached_property
    def line_starts(self) -> list[int]:
        starts = [0]
        for line in lines(self.text)[:-1]:
            starts.append(starts[-1] + len(line))
        return starts

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    @cached_property
    def h1(self) -> tuple[int, str] | None:
        """(body offset of the heading's last line, text) of the first top-level H1 with text,
        ATX (`# Title`) or setext (`Title` over `===`), outside code. A new embed goes after it."""
        h1 = self.structure.h1
        if h1 is None:
            return None
        return self.line_starts[min(h1[1], len(self.line_starts) - 1)], h1[2]

    def h1_line(self) -> int | None:
        """Body line index of the first H1 (see `h1`)."""
        return self.line_of(self.h1[0]) if self.h1 else None

    def plainly_outside_code(self, start: int, end: int, *, heading: bool = False) -> bool:
        """True only when body[start:end] certainly lies outside code: no fence marker before its
        end, at most 3 spaces and no container marker (quote, list) before it on its line (so it
        cannot be indented code), and no backtick in the stretch between the nearest "\\n\\n" on
        either side (which contains its whole paragraph, and code spans never leave a paragraph).
        With `heading`, also no `<` before it (an HTML block would swallow the line). False means
        "maybe": the caller then asks the parser."""
        body = self.text
        if body.find("```", 0, end) != -1 or body.find("~~~", 0, end) != -1:
            return False
        line_start = body.rfind("\n", 0, start) + 1
        prefix = body[line_start:start]
        rest = prefix.lstrip(" ")
        if len(prefix) - len(rest) > 3 or "\r" in prefix or rest[:1] in ("\t", ">", "-", "*", "+") or rest[:1].isdigit():
            return False  # a lone CR is a line break to the parser: what follows may be indented code
        if heading and body.find("<", 0, start) != -1:
            return False
        if "`" not in body:
            return True
        lo = max(body.rfind("\n\n", 0, start), 0)
        hi = body.find("\n\n", end)
        return body.find("`", lo, len(body) if hi == -1 else hi) == -1

    def quick_has_h1(self) -> bool:
        """Whether there is an H1 outside code; answered from the raw text when it is unambiguous
        (the usual case), so a scan need not mask the whole body. Same answer as `h1`."""
        if "h1" not in self.__dict__ and "#" in self.text:
            for m in _H1.finditer(self.text):
                if m.group(1).strip().strip("#").strip():
                    if self.plainly_outside_code(m.start(), m.end(), heading=True):
                        return True
                    break
        return self.h1 is not None
