"""Refusals of dangerous settings that need the disk or git, checked once before any work.

Each rule protects something a user could lose by a typo or a bad default:

* `--state-file` and `--report` name files this tool overwrites. An existing one must be a regular
  file the tool wrote itself (it starts with the tool's own first key), never a post, a README or
  someone's JSON; a FIFO or a device is refused without being opened (opening would block). The
  report may not be a file git tracks, nor lie inside the git directory.
* `--attachments-dir` must be a plain folder of the repository: not the git directory or any other
  hidden folder (cover files there create fake refs, or vanish from the site), not outside.
* `--frontmatter-field` must not name a field that means something else (title, date, draft, the
  tool's own `image_*` fields, `regenerate_image`, ...): the cover path would overwrite it.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from imagegen.chain.state import MAX_BYTES as MAX_STATE_BYTES
from imagegen.errors import SettingsError
from imagegen.git import Git

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.config.settings import Settings

STATE_SIGNATURE = re.compile(rb'\A\s*\{\s*"version"\s*:')
"""How a state file written by this tool starts (it always writes `version` first)."""
REPORT_SIGNATURE = re.compile(rb'\A\s*\{\s*"generated"\s*:')
"""How a report written by this tool starts."""

RESERVED_FIELDS = frozenset({
    "title", "date", "draft", "regenerate_image", "description", "summary", "excerpt", "tags",
    "categories", "category", "keywords", "series", "slug", "permalink", "url", "aliases", "layout",
    "type", "author", "authors", "lang", "language", "lastmod", "updated", "pubdate", "publishdate",
    "published", "expirydate", "weight", "id", "uuid",
})
"""Frontmatter fields with a meaning of their own (any case). Plus every `image_*` field: the
tool writes `image_date`, `image_provider`, `image_model`, `image_prompt`, `image_alt` there."""

SIGNATURE_BYTES = 64


class Refusal(SettingsError):
    """A dangerous setting; one line for the user (settings turn it into a SettingsError)."""


def _absolute(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path


def _existing(path: Path, what: str) -> os.stat_result | None:
    """stat (following a symlink) without opening: a FIFO or device is refused, a folder too."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Refusal(f"{what}: {str(path)!r} cannot be checked ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise Refusal(f"{what}: {str(path)!r} is a folder; name a file")
    if not stat.S_ISREG(st.st_mode):
        raise Refusal(f"{what}: {str(path)!r} is not a regular file (a pipe or a device); name a regular file")
    return st


def _head(path: Path) -> bytes:
    """The first bytes of a regular file, opened non-blocking (it may have been swapped since)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"\0"
        return os.read(fd, SIGNATURE_BYTES)
    finally:
        os.close(fd)


def check_state_file(path: Path) -> None:
    """Refuse a state file that exists but was not written by this tool (or is no regular file)."""
    path = _absolute(path)
    st = _existing(path, "state-file")
    if st is None or st.st_size == 0 or st.st_size > MAX_STATE_BYTES:
        return  # absent, empty, or too large: the run ignores it (with a warning) and keeps it
    head = _head(path).lstrip(b"\xef\xbb\xbf")
    if not STATE_SIGNATURE.match(head):
        raise Refusal(f"state-file: {str(path)!r} exists and is not an imagegen state file; "
                      "refusing to overwrite it (name a new file, or delete this one if it is yours)")


def _git_tracked(repo: Path, path: Path) -> bool:
    try:
        rel = path.resolve().relative_to(repo.resolve())
    except (ValueError, OSError):
        return False
    return Git(repo).is_tracked(rel.as_posix())


def _git_dir(repo: Path) -> Path | None:
    d = Git(repo).git_dir()
    return d.resolve() if d is not None else None


def check_report(path: Path, repo: Path, *, state_file: Path | None = None) -> None:
    """Refuse a report path that would overwrite something of the user's."""
    path = _absolute(path)
    if state_file is not None and _absolute(state_file).resolve() == path.resolve():
        raise Refusal("report: the report and the state file are the same file")
    git = _git_dir(repo)
    real = path.resolve()
    if git is not None and (real == git or git in real.parents):
        raise Refusal(f"report: {str(path)!r} is inside the git directory")
    st = _existing(path, "report")
    if st is None:
        return
    if _git_tracked(repo, path):
        raise Refusal(f"report: {str(path)!r} is a file tracked by git; refusing to overwrite it")
    if st.st_size and not REPORT_SIGNATURE.match(_head(path).lstrip(b"\xef\xbb\xbf")):
        raise Refusal(f"report: {str(path)!r} exists and is not an imagegen report; "
                      "refusing to overwrite it (name a new file)")


def check_attachments(repo: Path, given: str, resolved: str) -> None:
    """Refuse an attachments folder that is hidden (the git directory included) in the path as
    given or where it really leads."""
    for label, rel in (("", given), (" (where it leads)", resolved)):
        parts = [p for p in PurePosixPath(rel.replace(os.sep, "/")).parts if p not in ("", ".")]
        hidden = next((p for p in parts if p.startswith(".") and p != ".."), None)
        if hidden is not None:
            what = "the git directory" if hidden == ".git" else f"a hidden folder ({hidden})"
            raise Refusal(f"attachments-dir: {given!r}{label} is inside {what}; "
                          "choose a plain folder of the repository such as 'attachments'")
    git = _git_dir(repo)
    if git is not None:
        target = (repo / resolved).resolve()
        if target == git or git in target.parents:
            raise Refusal(f"attachments-dir: {given!r} is inside the git directory")


def check_frontmatter_field(name: str) -> None:
    """Refuse a field with a meaning of its own: checked on the whole key and on the first
    segment of a dotted key (`cover.image` is fine, `title.x` is not)."""
    key = name.strip()
    first = key.split(".", 1)[0]
    for part in {key, first}:
        low = part.lower()
        if low in RESERVED_FIELDS or low.startswith("image_"):
            raise Refusal(f"frontmatter-field: {name!r} is a field with its own meaning, which the cover "
                          "path would overwrite; use e.g. 'image', 'cover' or 'cover.image'")


def preflight(settings: "Settings") -> None:
    """The refusals that look at the disk or git, for settings already validated: the files this
    tool would overwrite (state file, report). The attachments folder and the frontmatter field
    are checked as they are read (imagegen.config.settings)."""
    if settings.state_file is not None:
        check_state_file(settings.state_file)
    if settings.report is not None:
        check_report(settings.report, settings.repo, state_file=settings.state_file)
