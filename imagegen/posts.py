"""A Post: one Markdown file read once (bounded, never through a symlink that leaves the
repository), and the facts the tool needs about it: its frontmatter, title, date, flags, whether it
has an image and which embed is its cover. Its Markdown body is analysed by imagegen.markdown; the
one edit a post ever gets is decided by imagegen.covers.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from functools import cached_property
from pathlib import Path
from typing import Any

from imagegen import frontmatter as fm
from imagegen.errors import PostError
from imagegen.markdown import embeds
from imagegen.markdown.document import Body
from imagegen.markdown.embeds import CoverRef
from imagegen.prompts.plaintext import plain_text

__all__ = ["CoverRef", "Post", "PostError", "date_prefix", "slug", "truthy"]

truthy = fm.truthy

_DATE_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?!\d)")



# --------------------------------------------------------------------------- the Post


class Post:
    """One post, read once. Build with `Post.load`; everything else is computed on first use."""

    def __init__(self, path: Path | str, rel: str, text: str, doc: fm.Document,
                 data: dict[str, Any] | None = None, *, fold_keys: bool = False, name_title: bool = False) -> None:
        self._path = path
        self.fold_keys = fold_keys
        """Frontmatter keys are case-insensitive (Hugo): `Title:` is the title, `Date:` the date."""
        self.name_title = name_title
        """A post with no title and no H1 is titled by its file name (Obsidian, Quartz show it so)."""
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
    def load(cls, path: Path, repo: Path, *, max_bytes: int, fold_keys: bool = False,
             name_title: bool = False) -> "Post":
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
        post = cls._read(path, rel, max_bytes, fold_keys=fold_keys, name_title=name_title)
        post.frontmatter  # parse now: a broken frontmatter must surface here, as a PostError
        return post

    @classmethod
    def _read(cls, path: Path | str, rel: str, max_bytes: int, *, nofollow: bool = False,
              fold_keys: bool = False, name_title: bool = False) -> "Post":
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
        post = cls(path, rel, text, doc, fold_keys=fold_keys, name_title=name_title)
        post.__dict__["raw"] = data
        post.signature = (st.st_ino, st.st_size, st.st_mtime_ns)
        return post

    @classmethod
    def from_text(cls, text: str, rel: str = "post.md", path: Path | None = None, *,
                  fold_keys: bool = False, name_title: bool = False) -> "Post":
        """A Post from text already in memory (tests, previews). Raises PostError for bad frontmatter."""
        try:
            doc = fm.split(text)
        except fm.FrontmatterError as exc:
            raise PostError("bad-frontmatter", f"{rel}: {exc}") from None
        post = cls(path or Path(rel).absolute(), rel, text, doc, fold_keys=fold_keys, name_title=name_title)
        post.frontmatter
        return post

    # ------------------------------------------------------------------ facts

    @cached_property
    def frontmatter(self) -> dict[str, Any]:
        """The frontmatter as JSON-like values ({} when absent). Raises PostError if invalid."""
        if not self.doc.has_frontmatter:
            return {}
        try:
            data = fm.read(self.doc)
        except fm.FrontmatterError as exc:
            raise PostError("bad-frontmatter", f"{self.rel}: {exc}") from None
        return fm.fold(data) if self.fold_keys else data

    def spelled(self, dotted: str) -> str:
        """A (dotted) frontmatter key as this post already spells it: with case-insensitive keys,
        `images` is written to the post's `Images:` rather than beside it; else `dotted` itself."""
        if not self.fold_keys or not self.doc.has_frontmatter:
            return dotted
        out, data = [], self.frontmatter
        for part in dotted.split("."):
            name = data.spelled(part) if isinstance(data, fm.Folded) else part
            out.append(name)
            data = data.get(name) if isinstance(data, dict) else None
        return ".".join(out)

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
        """Frontmatter `title` (any scalar, as written, whitespace collapsed), else the first H1,
        else (`name_title`) the file name without its extension."""
        value = self.frontmatter.get("title")
        if value is not None and not isinstance(value, (list, dict)):
            text = " ".join((_scalar_text(self.doc.block, value, self.fold_keys) if self.doc.kind == "yaml"
                             else str(value)).split())
            if text:
                return text
        h1 = self.body.h1
        if h1:
            return h1[1]
        if self.name_title:
            return " ".join(os.path.splitext(os.path.basename(self.rel))[0].split()) or None
        return None

    @property
    def regenerate(self) -> bool:
        """`regenerate_image` says yes (frontmatter.truthy: true, "yes", "on", 1 ...)."""
        return fm.truthy(self.frontmatter.get("regenerate_image"))

    @property
    def cached_prompt(self) -> str | None:
        value = self.frontmatter.get("image_prompt")
        return value.strip() if isinstance(value, str) and value.strip() else None

    # ------------------------------------------------------------------ the body

    @cached_property
    def body(self) -> Body:
        """The Markdown body, analysed on first use (imagegen.markdown)."""
        return Body(self.doc.body)

    def quick_has_h1(self) -> bool:
        return self.body.quick_has_h1()

    def quick_has_image(self) -> bool:
        return embeds.quick_has_image(self.body)

    def has_image(self) -> bool:
        """An image embed (Obsidian, Markdown inline or reference-style, or <img>) anywhere in the
        body, outside code (imagegen.markdown.embeds)."""
        return embeds.has_image(self.body)

    def cover(self) -> CoverRef | None:
        """The first image embed after the first H1 (or the first in the body when there is no H1)."""
        return embeds.cover(self.body)

    def prompt_text(self, social_headings: tuple[str, ...] = ()) -> str:
        """The body as plain prose for an image prompt (imagegen.prompts.plaintext)."""
        return plain_text(self.doc.body, social_headings)

def _scalar_text(block: str, value: Any, fold_keys: bool = False) -> str:
    """A scalar frontmatter value as text, the way the author wrote it where that matters
    (`title: yes` is "yes", not "True"; `title: 2026` is "2026")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        node = _title_node(block, fold_keys)
        if node is not None:
            return str(node.value)
    return str(value)


def _title_node(block: str, fold_keys: bool = False) -> Any:
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
        key = getattr(k, "value", None)
        if isinstance(key, str) and (key.casefold() if fold_keys else key) == "title" \
                and isinstance(v, fm.yaml.ScalarNode):
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


_SLUG_OTHER = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lowercase ASCII letters, digits and '-'; anything else becomes '-', runs collapse, ends trimmed."""
    return _SLUG_OTHER.sub("-", text.lower()).strip("-")
