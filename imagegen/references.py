"""Is an image file still referred to anywhere in the repository? Asked before a regenerated
cover's old image is deleted, and before an orphan left by a killed run is removed.

The rule is deliberately blunt, because a wrong "no" deletes someone's image: the file's name is
looked for in **every** text file of the repository (tracked and untracked, not only posts:
config files such as `_config.yml`, layouts, data files), case-insensitively, with and without its
extension (`![[shared]]`), and URL- or HTML-encoded. Any mention counts, whatever the syntax
(frontmatter, reference-style links, `<img>`, `<source srcset>`, prose). A file that cannot be
read counts as a mention: when in doubt, the image is kept and the reason reported.

Scanned: with git, `git ls-files --cached --others --exclude-standard` (ignored files such as a
site's build output are not scanned); without git, every file outside hidden folders and
`node_modules`. Binary files (a NUL byte in the first 8 KiB, or an image/archive extension) are
skipped.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, quote_plus

from imagegen.errors import GitError
from imagegen.git import Git

MAX_TEXT_BYTES = 64 * 1024 * 1024
"""A text file larger than this is not read: it counts as a mention (kept, reported)."""
_SNIFF = 8192
_BINARY_EXT = frozenset(
    "png jpg jpeg gif webp avif bmp tif tiff ico heic psd pdf zip gz tgz bz2 xz 7z rar mp3 mp4 m4a "
    "mov webm ogg wav flac woff woff2 ttf otf eot pyc so dll exe bin class jar".split())


@dataclass(frozen=True)
class Mention:
    """Why an image is kept: the file that mentions it (repo-relative) and how."""

    file: str
    how: str

    def __str__(self) -> str:
        return f"{self.file} ({self.how})"


def needles(name: str) -> list[tuple[str, bool]]:
    """The lower-cased forms under which a file name can appear, each with whether it lacks the
    extension: with and without extension, URL-encoded (%20 and +) and HTML-escaped."""
    stem = PurePosixPath(name).stem
    out: list[tuple[str, bool]] = []
    for form, bare in ((name, False), (stem, True)):
        for v in (form, quote(form, safe="/"), quote(form, safe=""), quote_plus(form), html.escape(form)):
            v = v.lower()
            if v and (v, bare) not in out and (v, not bare) not in out:
                out.append((v, bare))
    return out


def _is_name_char(c: str) -> bool:
    return c.isalnum() or c in "_-"


def _mentions(text: str, forms: list[tuple[str, bool]]) -> str | None:
    """The first form found in `text` (lower-cased) as a whole name: not glued to letters,
    digits, `_` or `-` on either side (so `post-2.png` does not mention `post.png`), and a form
    without extension not followed by another extension (`post.jpg` is another file than
    `post.png`; `![[post]]` may be this one)."""
    for form, bare in forms:
        start = text.find(form)
        while start != -1:
            end = start + len(form)
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            other_ext = bare and after == "." and end + 1 < len(text) and _is_name_char(text[end + 1])
            if not _is_name_char(before) and not _is_name_char(after) and not other_ext:
                return form
            start = text.find(form, start + 1)
    return None


def _list_files(repo: Path) -> list[str]:
    """Repo-relative paths of the files to scan."""
    if (repo / ".git").exists():
        try:
            return Git(repo, timeout=120).ls_files()
        except GitError:
            pass  # walk the tree instead
    out: list[str] = []
    for folder, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "node_modules"]
        rel_folder = os.path.relpath(folder, repo)
        for f in files:
            out.append(f if rel_folder == "." else os.path.join(rel_folder, f))
    return out


class Scanner:
    """Scans the repository for mentions of a file name. Reads of unchanged files are cached for
    the run (keyed by inode, size and mtime), so many regenerated posts cost one full read."""

    def __init__(self, repo: Path, *, ignore: set[Path] | None = None) -> None:
        self.repo = repo
        self.ignore = {p.resolve() for p in (ignore or set())}
        self._cache: dict[str, tuple[tuple[int, int, int], str | None]] = {}

    def _text(self, rel: str) -> tuple[str | None, str | None]:
        """(lower-cased text or None for a binary file, doubt reason or None)."""
        path = self.repo / rel
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"could not be checked: {exc.strerror or exc}"
        if not os.path.isfile(path):
            return None, None
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        hit = self._cache.get(rel)
        if hit is not None and hit[0] == sig:
            return hit[1], None
        if st.st_size > MAX_TEXT_BYTES:
            return None, f"is over {MAX_TEXT_BYTES // (1024 * 1024)} MiB and was not read"
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
            try:
                head = os.read(fd, _SNIFF)
                if b"\0" in head:
                    text = None
                else:
                    rest = []
                    while True:
                        chunk = os.read(fd, 1 << 20)
                        if not chunk:
                            break
                        rest.append(chunk)
                    text = (head + b"".join(rest)).decode("utf-8", "replace").lower()
            finally:
                os.close(fd)
        except OSError as exc:
            return None, f"could not be read: {exc.strerror or exc}"
        self._cache[rel] = (sig, text)
        return text, None

    def find(self, name: str, *, skip: set[Path] = frozenset()) -> Mention | None:  # type: ignore[assignment]
        """The first mention of the file name `name` anywhere in the repository (None: none),
        not counting the files in `skip` (the image itself) and the ignored ones."""
        forms = needles(name)
        root = self.repo.resolve()
        skipped = set()
        for p in {q.resolve() for q in skip} | self.ignore:
            try:
                skipped.add(p.relative_to(root).as_posix())
            except ValueError:
                continue
        for rel in _list_files(self.repo):
            ext = rel.rsplit(".", 1)[-1].lower() if "." in rel else ""
            if ext in _BINARY_EXT or PurePosixPath(rel).as_posix() in skipped:
                continue
            text, doubt = self._text(rel)
            if doubt is not None:
                return Mention(PurePosixPath(rel).as_posix(), doubt)
            if text is None:
                continue
            form = _mentions(text, forms)
            if form is not None:
                return Mention(PurePosixPath(rel).as_posix(), f"mentions {form!r}")
        return None
