"""Writing covers without ever losing data.

Order of operations for one post, each step atomic:
1. the image goes to a fresh name in the attachments folder (never overwriting anything);
2. the post is replaced in one rename (if that fails, the new image is removed again);
3. only then, when regenerating, the old image is deleted (if nothing else uses it).
A run killed between 1 and 2 leaves an unreferenced image and an untouched post; never a post
whose embed points nowhere, and never a half-written post.

Temporary files: where the kernel allows it, a new image is written into an anonymous `O_TMPFILE`
inode that only gets a name once complete. Otherwise (and for posts, which must be renamed over)
a named temp file `.imagegen-tmp-*` is used, kept in `.git/imagegen-tmp/` when the repo has one:
same filesystem, so the rename is atomic, but outside the work tree, so a SIGKILL never leaves
a stray file among the blog's posts. `clean_stale_temps` removes what a killed run left.
"""

from __future__ import annotations

import errno
import itertools
import os
import secrets as _random
from pathlib import Path
from typing import Iterator

TMP_PREFIX = ".imagegen-tmp-"


class WriteError(Exception):
    """A file could not be written safely; nothing was changed for this post."""


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def safe_target(path: Path, repo: Path) -> Path:
    """The real file to write for `path`: symlinks inside the repo are followed (so the link
    stays a link), and anything resolving outside the repo is refused."""
    real = path.resolve()
    if not _inside(real, repo):
        raise WriteError(f"{path.name}: refusing to write through a symlink that leads outside the repository")
    return real


def ensure_dir(folder: Path, repo: Path) -> Path:
    """Create `folder` (inside the repo) if needed; refuse one that resolves outside the repo."""
    if folder.exists() or folder.is_symlink():
        if not _inside(folder, repo):
            raise WriteError(f"{folder}: the attachments folder leads outside the repository")
        if not folder.is_dir():
            raise WriteError(f"{folder}: exists and is not a folder")
        return folder.resolve()
    if not _inside(folder.parent, repo):
        raise WriteError(f"{folder}: the attachments folder leads outside the repository")
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _tmp_name(folder: Path) -> Path:
    return folder / f"{TMP_PREFIX}{_random.token_hex(6)}"


def scratch_dir(repo: Path) -> Path | None:
    """Where named temp files go: `.git/imagegen-tmp` (same filesystem as the work tree, so
    renames stay atomic, but outside it, so a killed run leaves nothing in the blog's files).
    None when the repo has no plain `.git` folder; temp files then go beside their target."""
    git = repo / ".git"
    if git.is_dir() and not git.is_symlink():
        d = git / "imagegen-tmp"
        try:
            d.mkdir(exist_ok=True)
            return d
        except OSError:
            return None
    return None


def _move(tmp: Path, dest: Path, *, link: bool) -> None:
    """link=True: hard-link tmp to dest (fails if dest exists); else rename over dest."""
    if link:
        os.link(tmp, dest)
    else:
        os.replace(tmp, dest)


_tmpfile_works: bool | None = None
"""Whether O_TMPFILE + linkat works on this machine (learned on first use)."""


def write_new(path: Path, data: bytes, *, mode: int = 0o644, fsync: bool = True, tmp_dir: Path | None = None) -> None:
    """Create `path` with `data` atomically; raise FileExistsError if the name is taken.

    The file appears complete or not at all, and an existing file is never replaced.
    """
    folder = path.parent
    global _tmpfile_works
    o_tmpfile = getattr(os, "O_TMPFILE", 0)
    if o_tmpfile and _tmpfile_works is not False:
        try:
            fd = os.open(folder, o_tmpfile | os.O_WRONLY, mode)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise
            fd = -1
            _tmpfile_works = False
        if fd >= 0:
            try:
                _write_all(fd, data)
                if fsync:
                    os.fsync(fd)
                try:
                    os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
                    _tmpfile_works = True
                    return
                except OSError as exc:  # no /proc link support here (some sandboxes): fall back
                    if exc.errno not in (errno.EXDEV, errno.ENOENT, errno.EPERM, errno.EACCES, errno.EINVAL):
                        raise
                    _tmpfile_works = False
            finally:
                os.close(fd)
    # Portable fallback: a named temp file, then a hard link (fails if taken), then unlink.
    _via_temp(path, data, mode=mode, fsync=fsync, tmp_dir=tmp_dir, link=True)


def _via_temp(path: Path, data: bytes, *, mode: int, fsync: bool, tmp_dir: Path | None, link: bool) -> None:
    """Write a complete temp file, then link or rename it into place; the temp never survives
    a failure. The scratch dir is tried first; a cross-device error falls back to `path`'s folder."""
    for folder in ([tmp_dir] if tmp_dir is not None else []) + [path.parent]:
        tmp = _tmp_name(folder)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            try:
                _write_all(fd, data)
                if fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(tmp, mode)
            try:
                _move(tmp, path, link=link)
            except OSError as exc:
                if exc.errno == errno.EXDEV and folder != path.parent:
                    continue
                raise
            return
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def replace(path: Path, data: bytes, *, fsync: bool = True, tmp_dir: Path | None = None) -> None:
    """Replace the regular file `path` with `data` in one rename, keeping its permission bits."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    _via_temp(path, data, mode=mode, fsync=fsync, tmp_dir=tmp_dir, link=False)


def _free_names(folder: Path, base: str, ext: str, taken: set[str]) -> Iterator[str]:
    """`base.ext`, `base-2.ext`, `base-3.ext`, ...: the ones neither reserved in `taken` nor on
    disk (a dangling symlink counts as on disk), in order. The one naming rule for covers."""
    for n in itertools.count(1):
        name = f"{base}.{ext}" if n == 1 else f"{base}-{n}.{ext}"
        path = folder / name
        if name not in taken and not (path.exists() or path.is_symlink()):
            yield name


def write_image(folder: Path, base: str, ext: str, data: bytes, *, taken: set[str] | None = None,
                tmp_dir: Path | None = None) -> Path:
    """Write `data` as `folder/base.ext`, or `base-2.ext`, `base-3.ext`, ... when taken.

    `taken` holds names reserved by this run that may not exist on disk yet (dry runs)."""
    taken = taken if taken is not None else set()
    for name in _free_names(folder, base, ext, taken):
        try:
            write_new(folder / name, data, tmp_dir=tmp_dir)
        except FileExistsError:  # created by someone else since we looked
            continue
        taken.add(name)
        return folder / name
    raise AssertionError("unreachable: the name sequence is endless")


def free_name(folder: Path, base: str, ext: str, taken: set[str]) -> str:
    """The name `write_image` would pick now (for dry runs), reserving it in `taken`."""
    name = next(_free_names(folder, base, ext, taken))
    taken.add(name)
    return name


def clean_stale_temps(folders: list[Path]) -> list[Path]:
    """Remove `.imagegen-tmp-*` files a killed run may have left in these folders."""
    removed: list[Path] = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(TMP_PREFIX) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
                except OSError:
                    pass
    return removed
