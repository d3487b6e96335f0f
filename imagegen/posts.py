"""A Post: one Markdown file read once, with what the tool needs to know about it and the one
edit it ever makes (cover embed + a few frontmatter fields).

The body's block structure comes from a CommonMark parser (markdown-it-py, with the footnote plugin
because Obsidian, Hugo, Jekyll and Astro all render footnotes: without it a footnote's indented
second paragraph would read as indented code): which lines are code (fenced blocks, also inside
lists and quotes, and indented code blocks), where the first H1 is (ATX or setext), and the link
reference definitions that `![alt][ref]` images use.

markdown-it-py's inline tokens carry no source positions, and the tool must know exactly where an
embed is to replace it, so inline work happens on a *masked* copy of the body: code blocks and code
spans blanked out (same length, line breaks kept; code spans found by the CommonMark rule, paragraph
by paragraph), so a post that merely *shows* `![[attachments/x.png]]` or `# Title` inside code has
neither an image nor a title there, and offsets found in the mask are offsets in the real body.
Images the parser sees but the patterns cannot place (an unusual syntax) still count as images, so
such a post is skipped as `has-image` rather than given a second cover.

Parsing costs about 0.07 ms for a typical post, which a 10,000-post no-op scan cannot afford
(0.7 s against its 0.5 s budget), so the scan first asks the raw text (`quick_has_image`,
`quick_has_h1`) and parses only posts whose answer is not plain from it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import os
import posixpath
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from mdit_py_plugins.footnote import footnote_plugin

from imagegen import frontmatter as fm
from imagegen.errors import PostError
from imagegen.images import IMAGE_EXTENSIONS

__all__ = ["CoverRef", "Post", "PostError", "embed_line", "slug", "truthy"]

truthy = fm.truthy



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


# --------------------------------------------------------------------------- Markdown scanning

_EXT = "|".join(IMAGE_EXTENSIONS)
_IMAGE_EXT = re.compile(rf"\.(?:{_EXT})\Z", re.IGNORECASE)

_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")
_BACKTICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\r?\n")
_NOT_BREAK = re.compile(r"[^\r\n]")

# [[target|alias]] (an embed when preceded by "!"); a literal prefix keeps the scan fast
_WIKI = re.compile(r"\[\[([^\[\]\n|]*)(?:\|[^\[\]\n]*)?\]\]")
_WIKI_EMBED = re.compile(r"!\[\[([^\[\]\n|]*)(?:\|[^\[\]\n]*)?\]\]")
# ![alt](dest "title") and [text](dest): dest may be <...>; one level of nested brackets/parens.
_MD_TAIL = (
    r"\[(?:\\.|[^\[\]\\\n]|\[(?:\\.|[^\[\]\\\n])*\])*\]"
    r"\([ \t]*(<(?:\\.|[^<>\\\n])*>|(?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\])*\))+)"
    r"(?:[ \t]+(?:\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|\((?:\\.|[^()\\\n])*\)))?[ \t]*\)"
)
_MD_IMAGE = re.compile("!" + _MD_TAIL)
_MD_LINK = re.compile(r"(?<!!)" + _MD_TAIL)  # a link around an image: the image is found by _MD_IMAGE
# ![alt][label], ![alt][] and ![alt]: reference-style images, real only when the label is defined
_MD_REF_IMAGE = re.compile(r"!\[((?:\\.|[^\[\]\\\n]|\[(?:\\.|[^\[\]\\\n])*\])*)\](?:\[((?:\\.|[^\[\]\\\n])*)\])?")
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_H1 = re.compile(r"^ {0,3}#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*\r?$", re.MULTILINE)
_ESCAPED = re.compile(r"\\(.)")
_DATE_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?!\d)")


def _lines(text: str) -> list[str]:
    """Lines with their endings; only `\\n` ends a line (CRLF keeps its `\\r`)."""
    return _LINES.findall(text)


_MD = MarkdownIt("commonmark").use(footnote_plugin)
_LONE_CR = re.compile(r"\r(?!\n)")


@dataclass(frozen=True)
class Structure:
    """What the CommonMark parser says about a body. Lines are indexes into `_lines(body)`."""

    code: tuple[tuple[int, int], ...]
    """[start, end) line ranges of code blocks (fenced, at any depth, and indented)."""
    h1: tuple[int, int, str] | None
    """First top-level H1 with text: (first line, last line, text with whitespace collapsed)."""
    references: dict[str, str]
    """Link reference definitions: normalised label -> URL-decoded destination."""
    definitions: tuple[tuple[int, str], ...]
    """(line, destination) of each definition, for the images a post refers to."""
    images: tuple[str, ...]
    """Image sources the parser found (inline and reference-style, URL-decoded)."""


def parse_structure(body: str) -> Structure:
    """Parse `body` once with markdown-it-py. A lone CR is a line break to the parser but not to
    this module (only LF ends a line here), so it is handed over as a space to keep lines aligned."""
    src = _LONE_CR.sub(" ", body) if "\r" in body else body
    env: dict[str, Any] = {}
    tokens = _MD.parse(src, env)
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
    defs = tuple((d["map"][0], refs[label]) for label, d in env.get("references", {}).items() if d.get("map"))
    return Structure(tuple(code), h1, refs, defs, tuple(images))


def _fenced(lines: list[str]) -> list[bool]:
    """Per line: is it part of a code block (fenced, or indented; see `parse_structure`)?"""
    out = [False] * len(lines)
    text = "".join(lines)
    if "```" not in text and "~~~" not in text and "    " not in text and "\t" not in text:
        return out
    for a, b in parse_structure(text).code:
        for i in range(a, min(b, len(lines))):
            out[i] = True
    return out


def _code_spans(text: str) -> list[tuple[int, int, int]]:
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
    spans = _code_spans(text)
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


def _line_offsets(body: str) -> list[int]:
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
        starts = _line_offsets(body)
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


def _clean_target(raw: str) -> str:
    """A Markdown destination as a path: no <>, backslash escapes resolved, URL-decoded."""
    raw = raw.strip()
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1]
    return unquote(_ESCAPED.sub(r"\1", raw))


def _is_image_path(target: str) -> bool:
    path = target.split("#", 1)[0].split("?", 1)[0].strip()
    return bool(_IMAGE_EXT.search(path))


@dataclass(frozen=True)
class _Ref:
    """An image (or a link to an image file) found in the masked body."""

    start: int
    end: int
    target: str
    embed: bool
    """True for an embed that shows the image; False for a plain link to an image file."""


def _iter_refs(masked: str, *, links: bool, structure: Structure | None = None) -> Iterator[_Ref]:
    """Image embeds (Obsidian, Markdown inline and reference-style, `<img>`) in the masked body,
    grouped by kind; with `links`, also plain links to image files and reference definitions of
    image files. Reference-style images need the parser's definitions (`structure`); without it
    they are not looked for. Cheap substring tests first: most posts have few brackets."""
    if "[[" in masked:
        for m in (_WIKI if links else _WIKI_EMBED).finditer(masked):
            target = m.group(1).strip()
            if _is_image_path(target):
                if links:
                    embed = m.start() > 0 and masked[m.start() - 1] == "!"
                    yield _Ref(m.start() - embed, m.end(), target, embed)
                else:
                    yield _Ref(m.start(), m.end(), target, True)
    if "](" in masked:
        for pattern, embed in ((_MD_IMAGE, True), (_MD_LINK, False)) if links else ((_MD_IMAGE, True),):
            if embed and "![" not in masked:
                continue
            for m in pattern.finditer(masked):
                target = _clean_target(m.group(1))
                if _is_image_path(target):
                    yield _Ref(m.start(), m.end(), target, embed)
    if structure is not None and structure.references and "![" in masked:
        for m in _MD_REF_IMAGE.finditer(masked):
            if m.group(2) is None and masked.startswith("(", m.end()):
                continue  # an inline image, found above
            label = m.group(2) if m.group(2) else m.group(1)
            target = structure.references.get(normalizeReference(label)) if "[" not in label else None
            if target is not None and _is_image_path(target):
                yield _Ref(m.start(), m.end(), target, True)
    if links and structure is not None:
        starts = None
        for line, target in structure.definitions:
            if _is_image_path(target):
                starts = starts or _line_offsets(masked)
                yield _Ref(starts[line], starts[line], target, False)
    if "<" in masked:
        for m in _IMG_TAG.finditer(masked):
            src = _SRC.search(m.group(0))
            target = next((g for g in src.groups() if g is not None), "") if src else ""
            yield _Ref(m.start(), m.end(), html.unescape(target.strip()), True)


def _refs(masked: str, *, links: bool, structure: Structure | None = None) -> list[_Ref]:
    """`_iter_refs` in text order."""
    return sorted(_iter_refs(masked, links=links, structure=structure), key=lambda r: (r.start, -r.end))


# --------------------------------------------------------------------------- the Post


class Post:
    """One post, read once. Build with `Post.load`; everything else is computed on first use."""

    def __init__(self, path: Path | str, rel: str, text: str, doc: fm.Document,
                 data: dict[str, Any] | None = None) -> None:
        self._path = path
        self.rel = rel
        """Repo-relative posix path."""
        self.text = text
        self.doc = doc
        self.signature: tuple[int, int, int] | None = None
        """(inode, size, mtime_ns) of the file as read: a writer compares it with the file's current
        stat to know, without reading it again, whether the post changed since."""
        if data is not None:
            self.__dict__["frontmatter"] = data

    def __repr__(self) -> str:
        return f"Post({self.rel!r})"

    @cached_property
    def raw(self) -> bytes:
        """The file's bytes as read (a conditional replace compares against exactly these)."""
        return self.text.encode("utf-8")

    @cached_property
    def path(self) -> Path:
        """Absolute path as found (may be a symlink inside the repo)."""
        return self._path if isinstance(self._path, Path) else Path(self._path)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path, repo: Path, *, max_bytes: int) -> "Post":
        """Read and check one post. Raises PostError (never reads a symlink that leaves the repo)."""
        path = Path(os.path.abspath(path))
        repo_abs = os.path.abspath(repo)
        rel = os.path.relpath(path, repo_abs)
        repo_real = os.path.realpath(repo_abs)
        real = os.path.realpath(path)
        if rel.startswith("..") or os.path.isabs(rel):
            # Given a path through another route (e.g. the resolved repo): judge where it really is.
            rel = os.path.relpath(real, repo_real)
        rel = Path(rel).as_posix()
        if not (real == repo_real or real.startswith(repo_real.rstrip(os.sep) + os.sep)):
            raise PostError("symlink-outside", f"{rel} resolves outside the repository; not read")
        post = cls._read(path, rel, max_bytes)
        post.frontmatter  # parse now: a broken frontmatter must surface here, as a PostError
        return post

    @classmethod
    def _read(cls, path: Path | str, rel: str, max_bytes: int, *, nofollow: bool = False) -> "Post":
        """Read and split, without parsing the YAML yet (discovery decides whether that is needed).
        The caller has already checked that `path` does not lead outside the repository; with
        `nofollow` (a file listed as not being a symlink) a symlink swapped in since is refused."""
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        if nofollow:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            if os.path.islink(path):
                raise PostError("unreadable", f"{rel} is a broken symbolic link") from None
            raise PostError("not-found", f"{rel} does not exist") from None
        except OSError as exc:
            raise PostError("unreadable", f"{rel} could not be opened: {exc.strerror or exc}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
                raise PostError("unreadable", f"{rel} is {what}")
            if st.st_size > max_bytes:
                raise PostError("too-large", f"{rel} is {st.st_size} bytes, over the limit of {max_bytes}")
            chunks: list[bytes] = []
            size = 0
            while size <= max_bytes:
                chunk = os.read(fd, max(st.st_size + 1 - size, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        except OSError as exc:
            raise PostError("unreadable", f"{rel} could not be read: {exc.strerror or exc}") from None
        finally:
            os.close(fd)
        if len(data) > max_bytes:
            raise PostError("too-large", f"{rel} is over the limit of {max_bytes} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PostError("not-utf8", f"{rel} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
        if not text.lstrip(fm.BOM).strip():
            raise PostError("empty", f"{rel} is empty")
        try:
            doc = fm.split(text)
        except fm.FrontmatterError as exc:
            raise PostError("bad-frontmatter", f"{rel}: {exc}") from None
        post = cls(path, rel, text, doc)
        post.__dict__["raw"] = data
        post.signature = (st.st_ino, st.st_size, st.st_mtime_ns)
        return post

    @classmethod
    def from_text(cls, text: str, rel: str = "post.md", path: Path | None = None) -> "Post":
        """A Post from text already in memory (tests, previews). Raises PostError for bad frontmatter."""
        try:
            doc = fm.split(text)
        except fm.FrontmatterError as exc:
            raise PostError("bad-frontmatter", f"{rel}: {exc}") from None
        post = cls(path or Path(rel).absolute(), rel, text, doc)
        post.frontmatter
        return post

    # ------------------------------------------------------------------ facts

    @cached_property
    def frontmatter(self) -> dict[str, Any]:
        """The frontmatter as JSON-like values ({} when absent). Raises PostError if invalid."""
        if not self.doc.has_frontmatter:
            return {}
        try:
            return fm.read(self.doc)
        except fm.FrontmatterError as exc:
            raise PostError("bad-frontmatter", f"{self.rel}: {exc}") from None

    @cached_property
    def date(self) -> dt.date | None:
        """From the file name's YYYY-MM-DD prefix; None when undated or not a real date."""
        return date_prefix(os.path.basename(self._path))

    @property
    def sort_date(self) -> dt.date | None:
        """The date used for ordering: the file name's, else (undated posts) the first of the
        frontmatter's updated/modified/date/created that starts with a valid YYYY-MM-DD."""
        if self.date is not None:
            return self.date
        for key in ("updated", "modified", "date", "created"):
            value = self.frontmatter.get(key)
            if value is not None:
                return date_prefix(str(value)) if isinstance(value, str) else None
        return None

    @cached_property
    def title(self) -> str | None:
        """Frontmatter `title` (any scalar, as written, whitespace collapsed), else the first H1."""
        value = self.frontmatter.get("title")
        if value is not None and not isinstance(value, (list, dict)):
            text = " ".join((_scalar_text(self.doc.block, value) if self.doc.kind == "yaml" else str(value)).split())
            if text:
                return text
        h1 = self._h1
        return h1[1] if h1 else None

    @property
    def regenerate(self) -> bool:
        """`regenerate_image` says yes (frontmatter.truthy: true, "yes", "on", 1 ...)."""
        return fm.truthy(self.frontmatter.get("regenerate_image"))

    @property
    def cached_prompt(self) -> str | None:
        value = self.frontmatter.get("image_prompt")
        return value.strip() if isinstance(value, str) and value.strip() else None

    # ------------------------------------------------------------------ body analysis

    @cached_property
    def _structure(self) -> Structure:
        """The body's block structure, from the CommonMark parser (see `parse_structure`)."""
        return parse_structure(self.doc.body)

    @cached_property
    def _masked(self) -> str:
        """The body with code blanked where an embed could be (see mask_code)."""
        return mask_code(self.doc.body, EMBED_NEEDLES, self._structure)

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        for line in _lines(self.doc.body)[:-1]:
            starts.append(starts[-1] + len(line))
        return starts

    def _line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset) - 1

    @cached_property
    def _h1(self) -> tuple[int, str] | None:
        """(body offset of the heading's last line, text) of the first top-level H1 with text,
        ATX (`# Title`) or setext (`Title` over `===`), outside code. A new embed goes after it."""
        h1 = self._structure.h1
        if h1 is None:
            return None
        return self._line_starts[min(h1[1], len(self._line_starts) - 1)], h1[2]

    def _plainly_outside_code(self, start: int, end: int, *, heading: bool = False) -> bool:
        """True only when body[start:end] certainly lies outside code: no fence marker before its
        end, at most 3 spaces and no container marker (quote, list) before it on its line (so it
        cannot be indented code), and no backtick in the stretch between the nearest "\\n\\n" on
        either side (which contains its whole paragraph, and code spans never leave a paragraph).
        With `heading`, also no `<` before it (an HTML block would swallow the line). False means
        "maybe": the caller then asks the parser."""
        body = self.doc.body
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
        (the usual case), so a scan need not mask the whole body. Same answer as `_h1`."""
        if "_h1" not in self.__dict__ and "#" in self.doc.body:
            for m in _H1.finditer(self.doc.body):
                if m.group(1).strip().strip("#").strip():
                    if self._plainly_outside_code(m.start(), m.end(), heading=True):
                        return True
                    break
        return self._h1 is not None

    def quick_has_image(self) -> bool:
        """`has_image()`, answered from the raw text when an embed there is plainly outside code.
        Masking only removes matches of these patterns inside code, so a match outside code in the
        raw text is also one in the masked text."""
        if "_masked" not in self.__dict__:
            for r in _iter_refs(self.doc.body, links=False):
                if self._plainly_outside_code(r.start, r.end):
                    return True
                break
        return self.has_image()

    def _h1_line(self) -> int | None:
        """Body line index of the first H1 (see `_h1`)."""
        return self._line_of(self._h1[0]) if self._h1 else None

    @cached_property
    def _embeds(self) -> list[_Ref]:
        return _refs(self._masked, links=False, structure=self._structure)

    def has_image(self) -> bool:
        """An image embed (Obsidian, Markdown inline or reference-style, or <img>) anywhere in the
        body, outside code. An image the parser found where the patterns cannot place it counts
        too (the safe direction: such a post is skipped, never given a second cover)."""
        if "_embeds" in self.__dict__:
            if self._embeds:
                return True
        elif next(_iter_refs(self._masked, links=False, structure=self._structure), None) is not None:
            return True
        return any(_is_image_path(src) for src in self._structure.images)

    def cover(self) -> CoverRef | None:
        """The first image embed after the first H1 (or the first in the body when there is no H1)."""
        h1 = self._h1_line()
        after = 0 if h1 is None else (
            self._line_starts[h1 + 1] if h1 + 1 < len(self._line_starts) else len(self.doc.body))
        for r in self._embeds:
            if r.start >= after:
                line = self._line_of(r.start)
                col = r.start - self._line_starts[line]
                return CoverRef(line, r.target, col, col + (r.end - r.start))
        return None

    def _cover_ref(self) -> _Ref | None:
        """`cover()` as body offsets."""
        c = self.cover()
        if c is None:
            return None
        start = self._line_starts[c.line_index] + c.start
        return next(r for r in self._embeds if r.start == start)

    def prompt_text(self, social_headings: tuple[str, ...] = ()) -> str:
        """The body as plain prose for an image prompt; see `plain_text`."""
        return plain_text(self.doc.body, social_headings)

    # ------------------------------------------------------------------ the edit

    def updated(self, *, embed: str | None, fields: dict[str, str | bool], remove_cover: bool) -> bytes:
        """The post's new bytes.

        1. `remove_cover`: the existing cover embed (see `cover()`) is removed; if it was alone on
           its line and a new `embed` is given, the new embed takes that line's place (the cover
           stays where the author put it); a line left empty is removed.
        2. `embed` (if not yet placed) goes on the line right after the first H1 outside code;
           with no H1 right after the frontmatter, or at the top of a file without one.
        3. `fields` are set in the frontmatter with a minimal diff (frontmatter.set_fields).

        BOM, line endings and the final-newline state are preserved; every other line is untouched.
        """
        doc = self.doc
        nl = doc.newline
        body = doc.body
        h1 = self._h1
        # Where a new embed goes: the start of the line after the H1 (None: the H1 ends the file
        # without a line break), or the top of the body.
        insert_at: int | None = 0
        if h1 is not None:
            eol = body.find("\n", h1[0])
            insert_at = None if eol == -1 else eol + 1
        placed = embed is None
        ref = self._cover_ref() if remove_cover else None
        if ref is not None:
            # Work on whole lines: from the start of the embed's line to the end of the line where
            # it ends (an <img> tag may span lines). The cover comes after the H1 line, so
            # insert_at is not moved by this.
            line_start = body.rfind("\n", 0, ref.start) + 1
            eol = body.find("\n", ref.end)
            line_end = len(body) if eol == -1 else eol + 1
            ending = "\r\n" if body.endswith("\r\n", 0, line_end) else ("\n" if eol != -1 else "")
            left, right = body[line_start: ref.start], body[ref.end: line_end - len(ending)]
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
            head = body[:line_start]
            if not replacement and not ending and head:
                head = head[: -2 if head.endswith("\r\n") else -1]  # the file still ends unbroken
            body = head + replacement + body[line_end:]
        if not placed:
            if insert_at is None:
                body = f"{body}{nl}{embed}"  # the H1 ended the file unbroken: now the embed does
            elif insert_at < len(body):
                body = f"{body[:insert_at]}{embed}{nl}{body[insert_at:]}"
            else:
                body = f"{body}{embed}{nl if doc.final_newline else ''}"
        text = doc.with_body(body) if body != doc.body else doc.text
        text = fm.set_fields(text, fields)
        after = fm.split(text)
        if after.body != body or after.bom != doc.bom:
            raise PostError("bad-frontmatter", f"{self.rel}: refusing to write: the edit did not land where intended")
        return text.encode("utf-8")


def _scalar_text(block: str, value: Any) -> str:
    """A scalar frontmatter value as text, the way the author wrote it where that matters
    (`title: yes` is "yes", not "True"; `title: 2026` is "2026")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        node = _title_node(block)
        if node is not None:
            return str(node.value)
    return str(value)


def _title_node(block: str) -> Any:
    try:
        loader = fm.Loader(block)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except Exception:
        return None
    title = None
    for k, v in getattr(node, "value", []) or []:
        if getattr(k, "value", None) == "title" and isinstance(v, fm.yaml.ScalarNode):
            title = v  # last one wins, as in the parsed dict
    return title


def date_prefix(name: str) -> dt.date | None:
    """The date a name starts with (YYYY-MM-DD, not followed by another digit), if valid."""
    m = _DATE_PREFIX.match(name)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


# --------------------------------------------------------------------------- embeds and names


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


_SLUG_OTHER = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lowercase ASCII letters, digits and '-'; anything else becomes '-', runs collapse, ends trimmed."""
    return _SLUG_OTHER.sub("-", text.lower()).strip("-")


# --------------------------------------------------------------------------- plain text for prompts

_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\Z")
_SOCIAL_HEADING = re.compile(
    r"(?:share|sharing|share (?:this|it)(?: post| article| page)?|share on [a-z0-9 ]+|social|socials|social media|"
    r"social links|comments?|comment on [a-z0-9 ]+|leave a comment|discussion|discuss(?: this)?(?: post)?|"
    r"discuss (?:this )?on [a-z0-9 ]+|follow|follow (?:me|us|along)(?: on [a-z0-9 ]+)?|"
    r"find (?:me|us) (?:on|online|elsewhere)[a-z0-9 ]*|connect|connect with (?:me|us)|subscribe|elsewhere|"
    r"tweet|tweets|tweet this|twitter|x|x twitter|bluesky|bsky|mastodon|toot|toots|fediverse|threads|linkedin|"
    r"reddit|hacker news|webmentions?|reactions|likes and reposts)\Z"
)
"""Headings (lower-cased, emoji and punctuation dropped: `## 🐦 Tweet` is `tweet`) whose section is
a social/share block, not the post: left out of image prompts."""


def social_heading_name(heading: str) -> str:
    """A heading's text as compared with social heading names: lower case, letters and digits only."""
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", heading.lower()).split())
_SOCIAL_HOST = (r"(?:[\w-]+\.)*(?:twitter\.com|x\.com|[\w-]*mastodon[\w.-]*\.[a-z]+|bsky\.app|bsky\.social|"
                r"linkedin\.com|youtube\.com|youtu\.be|instagram\.com|facebook\.com|fb\.com|reddit\.com|threads\.net)")
_SOCIAL_URL = rf"(?:https?://)?{_SOCIAL_HOST}(?:[/?#][^\s)>\]]*)?"
_SOCIAL_LINK = re.compile(rf"\[[^\]\n]*\]\(\s*<?{_SOCIAL_URL}>?(?:\s+\"[^\"]*\")?\s*\)|<{_SOCIAL_URL}>|{_SOCIAL_URL}",
                          re.IGNORECASE)
_LINE_MARKERS = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?(?:\[[ xX]\][ \t]+)?")
_RULE = re.compile(r"[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*\Z")
_TABLE_SEP = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*\Z")
_DEFINITION = re.compile(r"[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*\Z")

# (pattern, replacement, a substring without which the pattern cannot match: a cheap pre-check)
_INLINE_SUBS: tuple[tuple[re.Pattern[str], Any, str], ...] = (
    (re.compile(r"<!--.*?-->", re.DOTALL), " ", '<!--'),
    (re.compile(r"%%.*?%%", re.DOTALL), " ", '%%'),
    (re.compile(r"!\[\[[^\]\n]*\]\]"), " ", '![['),  # Obsidian embeds (images, transclusions)
    (re.compile(r"!\[(?:\\.|[^\[\]\\\n]|\[[^\[\]\n]*\])*\]\([^)\n]*\)"), " ", '!['),  # Markdown images
    (re.compile(r"!\[[^\]\n]*\]\[[^\]\n]*\]"), " ", '!['),  # reference-style images
    (re.compile(r"\[\[([^\]|\n]*)\|([^\]\n]*)\]\]"), r"\2", '[['),  # [[a|b]] -> b
    (re.compile(r"\[\[([^\]\n]*)\]\]"), lambda m: m.group(1).replace("#", " "), '[['),
    (re.compile(r"\[\^[^\]\n]+\]"), "", '[^'),  # footnote references
    (re.compile(r"\[((?:\\.|[^\[\]\\\n]|\[[^\[\]\n]*\])*)\]\([^)\n]*\)"), r"\1", ']('),  # [text](url)
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1", ']['),  # [text][ref]
    (re.compile(r"<(?:https?|mailto|ftp):[^>\s]*>", re.IGNORECASE), " ", '<'),  # autolinks
    (re.compile(r"\bhttps?://\S+", re.IGNORECASE), " ", '://'),  # bare URLs
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1", "**"),
    (re.compile(r"__(?=\S)(.+?)(?<=\S)__"), r"\1", "__"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1", '*'),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1", '_'),
    (re.compile(r"~~(.+?)~~"), r"\1", '~~'),
    (re.compile(r"==(.+?)=="), r"\1", '=='),
)


_SOCIAL_HINTS = ("twitter", "x.com", "mastodon", "bsky", "linkedin", "youtu", "instagram", "facebook", "fb.com",
                 "reddit", "threads")


def _social_line(line: str) -> bool:
    """A line that is nothing but links to social networks (optionally in a list or quote)."""
    low = line.lower()
    if not any(h in low for h in _SOCIAL_HINTS) or not _SOCIAL_LINK.search(line):
        return False
    rest = _SOCIAL_LINK.sub(" ", line)
    return not re.search(r"[^\W_]", rest)


_RAW_BLOCK = re.compile(
    r"<(script|style|iframe|noscript|template|object|video|audio|svg|canvas|textarea)\b.*?"
    r"(?:</\1\s*>|(?=\n[ \t]*\n)|\Z)", re.IGNORECASE | re.DOTALL)
"""Elements whose content is never prose; an unclosed one ends with its paragraph (a blank line)."""
_EMBED_QUOTE = re.compile(
    r"<blockquote\b[^>]*\bclass\s*=\s*[\"']?[^\"'>]*(?:embed|tweet|twitter|bluesky|mastodon|instagram|tiktok|"
    r"reddit|threads|toot)[^>]*>.*?(?:</blockquote\s*>|(?=\n[ \t]*\n)|\Z)", re.IGNORECASE | re.DOTALL)
"""`<blockquote class="twitter-tweet">`, `class="bluesky-embed"`, `class="mastodon-embed"` ...:
the post someone else wrote, pasted for its embed script."""
_COMMENT_BLOCK = re.compile(r"<!--.*?(?:-->|(?=\n[ \t]*\n)|\Z)", re.DOTALL)
_TEMPLATE_TAG = re.compile(r"\{\{[<%].*?[%>]\}\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
"""Hugo shortcodes (`{{< tweet user="x" id="1" >}}`), Liquid/Jinja tags: markup, not prose."""
_ANY_TAG = re.compile(
    r"<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)*\s*/?>"
    r"|</[A-Za-z][A-Za-z0-9-]*\s*>")
"""An HTML open or closing tag as CommonMark defines one (attributes may span lines), so prose
such as `a<b then 3 > 2` is not taken for a tag."""
_TAG_FRAGMENT = re.compile(r"</?[A-Za-z][\w:-]*(?=\s+[\w:.-]+\s*=|\s*(?:\n[ \t]*\n|\Z))(?:[^\n]|\n(?![ \t]*\n))*")
"""What is left of a tag that never closes (`<script data-allowed-prefixes="...`, the last thing in
its paragraph): from the `<` to the paragraph's end. `a<b then` is not one (no attribute follows)."""


def strip_blocks(text: str) -> str:
    """Embed blocks, raw HTML elements (with their content), comments and template tags removed.
    Runs on the whole body before it is read line by line, so a block's closing tag can never be
    lost with a line that is dropped for another reason."""
    if "<" in text:
        text = _COMMENT_BLOCK.sub(" ", text)
        text = _EMBED_QUOTE.sub(" ", text)
        text = _RAW_BLOCK.sub(" ", text)
    if "{" in text:
        text = _TEMPLATE_TAG.sub(" ", text)
    return text


def strip_tags(text: str) -> str:
    """Every HTML tag removed, closed or not, so no tag fragment survives into a prompt."""
    if "<" in text:
        text = _ANY_TAG.sub(" ", text)
        text = _TAG_FRAGMENT.sub(" ", text)
    return text


def plain_text(body: str, social_headings: tuple[str, ...] = ()) -> str:
    """Markdown body -> prose, whitespace collapsed to single spaces.

    Removed: fenced code blocks (code says little about a cover), social sections (a heading such
    as Share / Comments / `🐦 Tweet` / `🦋 Bluesky` / `🐘 Mastodon`, or one named in
    `social_headings`, and everything up to the next heading of the same or a higher level), lines
    that are only social-network links, embed blocks (`<blockquote class="...-embed">`, `<iframe>`,
    `<script>`, `<style>`), HTML tags (closed or not) and comments, template tags, image embeds,
    footnotes, link definitions, rules, table separator rows, URLs. Unwrapped: inline code (its
    text stays), links and wikilinks (their text), emphasis, headings, list/quote/table markers.
    """
    extra = {social_heading_name(h) for h in social_headings} - {""}
    lines = _lines(body)
    flags = _fenced(lines)
    if "<" in body or "{" in body:
        prose = "".join("\n" if f else line for line, f in zip(lines, flags))
        lines = _lines(strip_blocks(prose))
        flags = [False] * len(lines)
    kept: list[str] = []
    social_level = 0
    for line, fenced in zip(lines, flags):
        if fenced:
            continue
        content = line.rstrip("\r\n")
        h = _HEADING.match(content)
        if h:
            level = len(h.group(1))
            if social_level and level > social_level:
                continue
            social_level = 0
            name = social_heading_name(h.group(2) or "")
            if _SOCIAL_HEADING.match(name) or name in extra:
                social_level = level
                continue
            kept.append(h.group(2) or "")
            continue
        if social_level or _social_line(content) or _RULE.match(content) or _TABLE_SEP.match(content) \
                or _DEFINITION.match(content):
            continue
        kept.append(_LINE_MARKERS.sub("", content, count=1))
    text = strip_tags("\n".join(kept))
    spans = _code_spans(text) if "`" in text else []
    if spans:
        parts: list[str] = []
        pos = 0
        for s, e, n in spans:
            parts.append(text[pos:s])
            parts.append(" " + text[s + n: e - n].strip() + " ")
            pos = e
        parts.append(text[pos:])
        text = "".join(parts)
    for pattern, repl, needle in _INLINE_SUBS:
        if needle in text:
            text = pattern.sub(repl, text)
    text = text.replace("|", " ")
    return " ".join(html.unescape(text).split())
