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
`node_modules`. Binary files (an image/archive extension, or a NUL byte in the first 8 KiB, looked
at before the size: a 200 MB model file is binary, not an unreadable text) are skipped.

Once per run, not once per cover: the repository is listed once, and every name the run will ask
about (the old covers of the posts it regenerates, a killed run's orphans) is looked for in one
pass over the files (`expect`, then the first `find`). The pass keeps only which files mention which
names, never the texts: to find a name's candidates quickly, each file's words (runs of letters,
digits, `_` and `-`) are checked against the words of the names first, and only a file holding
one is searched exactly. A later `find` re-reads just the files that mentioned the name (they may
have changed since) and the files this run wrote (`wrote`: a regenerated post no longer mentions
its old cover). A file someone else creates or edits during the run is seen as it was when the
pass read it.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable
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


_WORDS = re.compile(r"(?:\w|-)+")
"""Runs of name characters: `\\w` is exactly `str.isalnum()` or `_` (what `_is_name_char` asks), plus
`-`. A mention starts and ends at the edges of such runs, so each of its words is one of the
text's words: the prefilter in `Scanner._pass` never misses one."""


_FEW_KEYS = 64
"""Up to this many words, each is looked up in a file's text directly (fast C substring search);
with more, the file's words are listed once and intersected."""


def _key(form: str) -> str | None:
    """The longest word of a form: a text that mentions the form holds it as one of its words."""
    words = _WORDS.findall(form)
    return max(words, key=len) if words else None


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
    """Answers "is this file name mentioned anywhere?" for one run (see the module docstring)."""

    def __init__(self, repo: Path, *, ignore: set[Path] | None = None) -> None:
        self.repo = repo
        self.ignore = {p.resolve() for p in (ignore or set())}
        self._files: list[str] | None = None
        self._expected: set[str] = set()
        self._hits: dict[str, dict[str, str]] = {}
        """name -> {file: the form it mentions} for every name looked for (files in listing order)."""
        self._doubts: dict[str, str] = {}
        """file -> why it could not be searched (it counts as mentioning every name)."""
        self._sigs: dict[str, tuple[int, int, int]] = {}
        self._written: set[str] = set()
        self._repo_real = self.repo.resolve()
        self.passes = 0
        """Full passes over the repository so far (one per run when names are expected up front)."""

    def expect(self, names: Iterable[str]) -> None:
        """Names the run will ask about: looked for together in the next pass."""
        self._expected.update(n for n in names if n and n not in self._hits)

    def wrote(self, path: Path) -> None:
        """This run changed `path`: it is read again at every `find`."""
        try:
            self._written.add(path.resolve().relative_to(self._repo_real).as_posix())
        except (OSError, ValueError):
            pass

    def _listing(self) -> list[str]:
        if self._files is None:
            self._files = [PurePosixPath(rel).as_posix() for rel in _list_files(self.repo)]
        return self._files

    def _read(self, rel: str) -> tuple[str | None, str | None, tuple[int, int, int] | None]:
        """(lower-cased text or None for a binary or missing file, doubt reason or None, signature).
        The binary sniff comes before the size check: a huge binary file is no doubt."""
        path = self.repo / rel
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None, None, None
        except OSError as exc:
            return None, f"could not be read: {exc.strerror or exc}", None
        try:
            st = os.fstat(fd)
            if not stat_is_file(st.st_mode):
                return None, None, None
            sig = (st.st_ino, st.st_size, st.st_mtime_ns)
            head = os.read(fd, _SNIFF)
            if b"\0" in head:
                return None, None, sig
            if st.st_size > MAX_TEXT_BYTES:
                return None, f"is over {MAX_TEXT_BYTES // (1024 * 1024)} MiB and was not read", sig
            rest = []
            while chunk := os.read(fd, 1 << 20):
                rest.append(chunk)
            return (head + b"".join(rest)).decode("utf-8", "replace").lower(), None, sig
        except OSError as exc:
            return None, f"could not be read: {exc.strerror or exc}", None
        finally:
            os.close(fd)

    def _pass(self, names: set[str]) -> None:
        """One pass over the repository for `names`: which files mention each, which are in doubt."""
        self.passes += 1
        forms = {n: needles(n) for n in names}
        keys: dict[str, set[str]] = {}
        always: list[str] = []
        for n, fs in forms.items():
            for form, _bare in fs:
                k = _key(form)
                if k is None:
                    always.append(n)
                else:
                    keys.setdefault(k, set()).add(n)
        for n in names:
            self._hits.setdefault(n, {})
        for rel in self._listing():
            ext = rel.rsplit(".", 1)[-1].lower() if "." in rel else ""
            if ext in _BINARY_EXT:
                continue
            text, doubt, sig = self._read(rel)
            if sig is not None:
                self._sigs[rel] = sig
            if doubt is not None:
                self._doubts[rel] = doubt
            if not text:
                continue
            present = {k for k in keys if k in text} if len(keys) <= _FEW_KEYS else \
                keys.keys() & set(_WORDS.findall(text))
            for n in {n for k in present for n in keys[k]} | set(always):
                form = _mentions(text, forms[n])
                if form is not None:
                    self._hits[n][rel] = form

    def _mentioned_now(self, rel: str, name: str) -> str | None:
        """Whether `rel` mentions `name` as it is now (the form), or a doubt."""
        text, doubt, _ = self._read(rel)
        if doubt is not None:
            return doubt
        form = _mentions(text, needles(name)) if text else None
        return None if form is None else f"mentions {form!r}"

    def find(self, name: str, *, skip: set[Path] = frozenset()) -> Mention | None:  # type: ignore[assignment]
        """The first mention of the file name `name` anywhere in the repository (None: none),
        not counting the files in `skip` (the image itself) and the ignored ones."""
        if name not in self._hits:
            self._pass(self._expected - set(self._hits) | {name})
            self._expected.clear()
        root = self.repo.resolve()
        skipped = set()
        for p in {q.resolve() for q in skip} | self.ignore:
            try:
                skipped.add(p.relative_to(root).as_posix())
            except ValueError:
                continue
        for rel, form in self._hits[name].items():
            if rel in skipped:
                continue
            if rel not in self._written and self._unchanged(rel):
                return Mention(rel, f"mentions {form!r}")
            how = self._mentioned_now(rel, name)
            if how is not None:
                return Mention(rel, how)
        for rel in sorted(self._written - set(self._hits[name]) - skipped):
            how = self._mentioned_now(rel, name)
            if how is not None:
                return Mention(rel, how)
        for rel, doubt in self._doubts.items():
            if rel not in skipped:
                return Mention(rel, doubt)
        return None

    def _unchanged(self, rel: str) -> bool:
        try:
            st = os.stat(self.repo / rel)
        except OSError:
            return False
        return self._sigs.get(rel) == (st.st_ino, st.st_size, st.st_mtime_ns)


def stat_is_file(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)
