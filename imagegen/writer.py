"""Writing covers without ever losing data.

Order of operations for one post, each step atomic:
1. the image goes to a fresh name in the attachments folder (never overwriting anything);
2. the post is replaced in one rename (if that fails, the new image is removed again);
3. only then, when regenerating, the old image is deleted (if nothing else uses it).
A run killed between 1 and 2 leaves an unreferenced image and an untouched post; never a post
whose embed points nowhere, and never a half-written post.

Temporary files: where the kernel allows it, a new image is written into an anonymous `O_TMPFILE`
inode that only gets a name once complete (`linkat(..., AT_SYMLINK_FOLLOW)`: a plain `link()` of
`/proc/self/fd/N` never works, and Python's `os.link` calls plain `link()`). Otherwise (and for
posts, which must be swapped in) a named temp file `.imagegen-tmp-*` is used, kept in the git
directory (`git rev-parse --git-dir`, so a worktree whose `.git` is a file works too) or, without
git, in one hidden `.imagegen-tmp/` folder at the repository root: same filesystem, so renames
stay atomic, never among the posts. `clean_stale_temps` removes what a killed run left.

Posts are replaced conditionally (`replace_if_unchanged`): the new version is swapped in with
`renameat2(RENAME_EXCHANGE)` while holding a read lease on the version the edit was based on, and
swapped back if what came out is not exactly that version, so a save made by an editor meanwhile
(by rename or by writing in place) is never dropped. See that function for the proof sketch.
"""

from __future__ import annotations

import contextlib
import functools
import ctypes
import errno
import fcntl
import itertools
import os
import platform
import secrets as _random
import shutil
import signal
import stat
from pathlib import Path
from enum import StrEnum
from typing import Callable, Iterator, Protocol

from imagegen.errors import WriteError
from imagegen.git import Git

TMP_PREFIX = ".imagegen-tmp-"
SCRATCH_NAME = "imagegen-tmp"
"""The scratch folder inside the git directory."""
HIDDEN_SCRATCH = ".imagegen-tmp"
"""Without git: the one hidden scratch folder at the repository root (the next run empties it)."""

AT_FDCWD = -100
AT_SYMLINK_FOLLOW = 0x400
RENAME_EXCHANGE = 2
_RENAMEAT2_NR = {"x86_64": 316, "aarch64": 276, "arm64": 276, "i686": 353, "i386": 353}
_F_SETSIG = getattr(fcntl, "F_SETSIG", 10)
_F_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
_F_GETLEASE = getattr(fcntl, "F_GETLEASE", 1025)
_LEASE_SIGNAL = int(getattr(signal, "SIGURG", 0))
"""A lease break is announced by a signal, SIGIO by default, which would kill the process; SIGURG
is ignored unless someone handles it, so breaks are read with F_GETLEASE instead."""

_libc_handle: object = None


def _libc() -> ctypes.CDLL | None:
    global _libc_handle
    if _libc_handle is None:
        try:
            _libc_handle = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _libc_handle = False
    return _libc_handle or None  # type: ignore[return-value]


def _raise_errno(what: str, path: object) -> None:
    e = ctypes.get_errno()
    raise OSError(e, f"{what}: {os.strerror(e)}", str(path))


def linkat_follow(src: str, dst: Path) -> None:
    """`linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW)`: gives an `O_TMPFILE` inode
    (`/proc/self/fd/N`) a name. Raises OSError (ENOSYS where libc has no linkat)."""
    lib = _libc()
    fn = getattr(lib, "linkat", None) if lib is not None else None
    if fn is None:
        raise OSError(errno.ENOSYS, "linkat is not available")
    if fn(ctypes.c_int(AT_FDCWD), os.fsencode(src), ctypes.c_int(AT_FDCWD), os.fsencode(dst),
          ctypes.c_int(AT_SYMLINK_FOLLOW)) != 0:
        _raise_errno("linkat", dst)


def exchange(a: Path, b: Path) -> None:
    """Swap the names `a` and `b` atomically (`renameat2(RENAME_EXCHANGE)`); both must exist.
    Raises OSError: ENOSYS/EINVAL where the kernel or filesystem cannot, EXDEV across filesystems."""
    lib = _libc()
    if lib is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    fa, fb = os.fsencode(a), os.fsencode(b)
    fn = getattr(lib, "renameat2", None)
    if fn is not None:
        r = fn(ctypes.c_int(AT_FDCWD), fa, ctypes.c_int(AT_FDCWD), fb, ctypes.c_uint(RENAME_EXCHANGE))
    else:  # glibc before 2.28: the raw system call
        nr = _RENAMEAT2_NR.get(platform.machine())
        if nr is None:
            raise OSError(errno.ENOSYS, "renameat2 is not available")
        r = lib.syscall(ctypes.c_long(nr), ctypes.c_long(AT_FDCWD), fa, ctypes.c_long(AT_FDCWD), fb,
                        ctypes.c_long(RENAME_EXCHANGE))
    if r != 0:
        _raise_errno("renameat2", b)


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(_real(root))


@functools.lru_cache(maxsize=64)
def _real(root: Path) -> Path:
    """A repository root's real path, resolved once per process (every write asks)."""
    return root.resolve()


def safe_target(path: Path, repo: Path) -> Path:
    """The real file to write for `path`: symlinks inside the repo are followed (so the link
    stays a link), and anything resolving outside the repo is refused."""
    real = path.resolve()
    if not real.is_relative_to(_real(repo)):
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
    """Where named temp files go: `<git dir>/imagegen-tmp` (found with `git rev-parse --git-dir`,
    so a worktree works too), else one hidden `.imagegen-tmp/` folder at the repository root. It
    is on the repository's filesystem (renames stay atomic) and never among the posts, so a
    killed run leaves nothing beside them. None only when neither can be created; temp files
    then go beside their target."""
    try:
        repo_dev = os.stat(repo).st_dev
    except OSError:
        return None
    git = Git(repo).git_dir()
    for d in ([git / SCRATCH_NAME] if git is not None else []) + [repo / HIDDEN_SCRATCH]:
        try:
            d.mkdir(exist_ok=True)
            if d.is_dir() and not d.is_symlink() and os.stat(d).st_dev == repo_dev:
                return d
        except OSError:
            continue
    return None


def drop_scratch(repo: Path, scratch: Path | None) -> None:
    """At the end of a run: remove the hidden scratch folder at the repo root if it is empty."""
    if scratch is not None and scratch == repo / HIDDEN_SCRATCH:
        try:
            scratch.rmdir()
        except OSError:
            pass


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
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise  # ENOENT (no such folder) included: a fallback would fail the same way
            fd = -1
            _tmpfile_works = False
        if fd >= 0:
            try:
                _write_all(fd, data)
                if fsync:
                    os.fsync(fd)
                try:
                    linkat_follow(f"/proc/self/fd/{fd}", path)
                    _tmpfile_works = True
                    return
                except OSError as exc:  # no /proc or linkat here (some sandboxes): fall back
                    if exc.errno not in (errno.EXDEV, errno.ENOENT, errno.EPERM, errno.EACCES,
                                         errno.EINVAL, errno.ENOSYS):
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
        tmp = _temp_for(path, data, mode=mode, fsync=fsync, folder=folder)
        try:
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
                tmp_dir: Path | None = None, journal: "Journal | None" = None) -> Path:
    """Write `data` as `folder/base.ext`, or `base-2.ext`, `base-3.ext`, ... when taken.

    `taken` holds names reserved by this run that may not exist on disk yet (dry runs). With a
    `journal`, each name is noted there before it is written (see `Journal`)."""
    taken = taken if taken is not None else set()
    for name in _free_names(folder, base, ext, taken):
        if journal is not None:
            journal.begin(folder / name)
        try:
            write_new(folder / name, data, tmp_dir=tmp_dir)
        except FileExistsError:  # created by someone else since we looked: not ours
            if journal is not None:
                journal.done(folder / name)
            continue
        except BaseException:
            if journal is not None:
                journal.done(folder / name)
            raise
        taken.add(name)
        return folder / name
    raise AssertionError("unreachable: the name sequence is endless")


def free_name(folder: Path, base: str, ext: str, taken: set[str]) -> str:
    """The name `write_image` would pick now (for dry runs), reserving it in `taken`."""
    name = next(_free_names(folder, base, ext, taken))
    taken.add(name)
    return name


JOURNAL_PREFIX = "journal-"


class Journal:
    """The images this run wrote whose post is not updated yet, in a small append-only file in
    the scratch folder (held under an exclusive `flock` for the whole run). A run killed between
    writing an image and updating its post leaves the image unreferenced; the next run reads the
    journal (`recover`), and removes each such image that nothing refers to, so the post gets
    its cover under the same name again. Only files this tool wrote are ever considered."""

    def __init__(self, scratch: Path) -> None:
        self.path = scratch / f"{JOURNAL_PREFIX}{os.getpid()}-{_random.token_hex(4)}"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
                          | getattr(os, "O_CLOEXEC", 0), 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _note(self, mark: str, path: Path) -> None:
        if self.fd >= 0:
            _write_all(self.fd, mark.encode() + os.fsencode(path) + b"\n")

    def begin(self, image: Path) -> None:
        self._note("+", image)

    def done(self, image: Path) -> None:
        self._note("-", image)

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(self.fd)
            self.fd = -1

    @staticmethod
    def recover(scratch: Path, handle: "Callable[[Path], None]",
                before: "Callable[[list[Path]], None] | None" = None) -> int:
        """Call `handle` with each image a killed run noted as written but never followed by its
        post (absolute paths; they may no longer exist); returns how many. `before`, if given, is
        told each journal's images first (the reference scan looks for them all in one pass). A journal is removed
        only after all its images were handled, so a run killed while recovering leaves it for
        the next one; a live run's (still locked) journal is left alone."""
        count = 0
        try:
            entries = [e for e in os.scandir(scratch) if e.name.startswith(JOURNAL_PREFIX)]
        except OSError:
            return count
        for entry in entries:
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a run in progress
                data = _read_all(fd, 16 * 1024 * 1024)
                open_: dict[bytes, None] = {}
                for line in data.split(b"\n"):
                    if line[:1] == b"+":
                        open_[line[1:]] = None
                    elif line[:1] == b"-":
                        open_.pop(line[1:], None)
                orphans = [Path(os.fsdecode(p)) for p in open_ if p]
                if before is not None and orphans:
                    before(orphans)
                for path in orphans:
                    handle(path)
                    count += 1
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            finally:
                os.close(fd)
        return count


def clean_stale_temps(folders: list[Path]) -> list[Path]:
    """Remove `.imagegen-tmp-*` files a killed run may have left in these folders (and stray
    files in a scratch folder, whose every file is a temp)."""
    removed: list[Path] = []
    for folder in folders:
        if folder.name in (SCRATCH_NAME, HIDDEN_SCRATCH):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(JOURNAL_PREFIX):
                    continue  # journals are read (and removed) by `Journal.recover`
                try:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed.append(Path(entry.path))
                except OSError:
                    pass
            continue
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


# --------------------------------------------------------------------------- conditional replace

class Outcome(StrEnum):
    """What a conditional replace did."""

    REPLACED = "replaced"
    CHANGED = "changed"
    """The post is no longer the version the edit was based on: nothing was changed; re-read it."""
    BUSY = "busy"
    """Another program has the post open for writing: nothing was changed; try again later."""


REPLACED, CHANGED, BUSY = Outcome.REPLACED, Outcome.CHANGED, Outcome.BUSY


class Edit(Protocol):
    """A planned post edit (imagegen.covers.CoverEdit): the post, the bytes it was made from, the new bytes."""

    @property
    def path(self) -> Path: ...

    @property
    def base(self) -> bytes: ...

    @property
    def data(self) -> bytes: ...


def apply(edit: Edit, repo: Path, *, tmp_dir: Path | None = None, fsync: bool = True) -> Outcome:
    """Swap a planned edit in: the post becomes `edit.data` only if it still holds `edit.base`
    (`replace_if_unchanged`); a post that is a symlink is written through it, never out of `repo`."""
    return replace_if_unchanged(safe_target(edit.path, repo), edit.data, edit.base, fsync=fsync, tmp_dir=tmp_dir)

_EXCHANGE_UNSUPPORTED = (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM)


def _read_lease(fd: int) -> bool | None:
    """Take a read lease on `fd` (opened read-only). True: taken, and from now on anyone opening
    the file for writing (or truncating it) breaks it, which `_lease_broken` sees. False: someone
    has the file open for writing right now. None: leases are not available here."""
    try:
        if _LEASE_SIGNAL:
            fcntl.fcntl(fd, _F_SETSIG, _LEASE_SIGNAL)
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_RDLCK)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EBUSY):
            return False
        return None


def _lease_broken(fd: int) -> bool:
    try:
        return fcntl.fcntl(fd, _F_GETLEASE) != fcntl.F_RDLCK
    except OSError:
        return True


def _release(fd: int) -> None:
    try:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
    except OSError:
        pass


def _read_all(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while size <= limit:
        chunk = os.read(fd, max(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _temp_for(path: Path, data: bytes, *, mode: int, fsync: bool, folder: Path) -> Path:
    tmp = _tmp_name(folder)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        try:
            _write_all(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def replace_if_unchanged(path: Path, data: bytes, base: bytes, *, fsync: bool = True,
                         tmp_dir: Path | None = None) -> Outcome:
    """Replace the regular file `path` with `data`, but only if it still holds exactly `base`
    (the bytes the edit was made from). Returns REPLACED, CHANGED or BUSY; on CHANGED and BUSY the
    file is as the other program left it. Keeps the permission bits.

    Why no concurrent save is dropped (Linux, where leases and RENAME_EXCHANGE exist):
    1. The new version N is written completely to a temp name T on the same filesystem.
    2. The post's current inode O is opened read-only and a read *lease* is taken: it fails if
       anyone has O open for writing (-> BUSY), and from then on any open of O for writing or
       truncation breaks the lease (the opener waits until we release it) — so O cannot change
       without us seeing it.
    3. O's bytes are compared with `base` (-> CHANGED if they differ).
    4. `renameat2(T, path, RENAME_EXCHANGE)` swaps the names atomically: the post is now N and
       T names whatever the post was at that instant.
    5. If what came out is O (same inode) and the lease is unbroken, O is exactly `base` and no
       writer can still reach it through the post's name: it is dropped. Anything else (an editor
       renamed its save over the post between 3 and 4, or opened O for writing) is put back with
       another exchange, repeated while newer saves keep arriving, and the result is CHANGED.
    Saves that arrive after step 4 land on N (in place) or replace N (by rename): nothing of
    theirs is lost; at worst this run's edit is, and the next run sees a post without a cover.
    One window is left, and it is not observable from user space: a writer whose path lookup
    finished before step 4 but which reaches the kernel's lease check only after step 5.

    Without leases (other systems, some network filesystems) steps 2 and 5 compare bytes
    instead; without RENAME_EXCHANGE the check is followed by a plain rename (the previous,
    weaker behaviour: a save landing between the check and the rename can be lost)."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return CHANGED
    tmp = _temp_for(path, data, mode=mode, fsync=fsync, folder=tmp_dir if tmp_dir is not None else path.parent)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return CHANGED
    try:
        lease = _read_lease(fd)
        if lease is False:
            return BUSY
        st0 = os.fstat(fd)
        if not stat.S_ISREG(st0.st_mode) or _read_all(fd, len(base)) != base:
            return CHANGED
        tmp, swapped = _exchange_in(tmp, path, data, mode=mode, fsync=fsync)
        if not swapped:
            return REPLACED  # no exchange on this system: replaced after the check (see docstring)
        new_ino = os.stat(path, follow_symlinks=False).st_ino
        if _came_out_clean(fd, tmp, st0, lease, base):
            os.unlink(tmp)
            return REPLACED
        _put_back(tmp, path, expect=new_ino, ours=data)
        return CHANGED
    finally:
        if lease:
            _release(fd)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _came_out_clean(fd: int, tmp: Path, st0: os.stat_result, lease: bool | None, base: bytes) -> bool:
    """Step 5: what the exchange took out of the post is the inode we checked, and nobody wrote
    to it since (the lease is unbroken; without leases, its bytes are still `base`)."""
    out = os.stat(tmp, follow_symlinks=False)
    if (out.st_ino, out.st_dev) != (st0.st_ino, st0.st_dev):
        return False
    if lease:
        return not _lease_broken(fd)
    return _read_all(fd, len(base)) == base


def _exchange_in(tmp: Path, path: Path, data: bytes, *, mode: int, fsync: bool) -> tuple[Path, bool]:
    """Step 4: swap the temp file and the post. Returns the temp name (now holding what the post
    was) and True; or, where the system has no RENAME_EXCHANGE, renames over the post and returns
    False. A temp file on another filesystem than the post is rewritten beside the post first."""
    while True:
        try:
            exchange(tmp, path)
            return tmp, True
        except OSError as exc:
            if exc.errno == errno.EXDEV and tmp.parent != path.parent:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                tmp = _temp_for(path, data, mode=mode, fsync=fsync, folder=path.parent)
                continue
            if exc.errno in _EXCHANGE_UNSUPPORTED:
                os.replace(tmp, path)  # checked by the caller; no exchange here
                return tmp, False
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # the caller only knows the first temp name
            raise


def _put_back(tmp: Path, path: Path, *, expect: int, ours: bytes) -> None:
    """`tmp` holds a save that must be the post again, `path` (normally) our version, inode
    `expect`. Exchange them; if what comes out is not what we expected (a newer save arrived
    meanwhile, or someone wrote into our version while it was the post), that is newer still:
    put it back the same way. Leaves at `tmp` only a version nobody saved after."""
    is_ours = True
    for _ in range(1000):
        placed = os.stat(tmp, follow_symlinks=False).st_ino
        exchange(tmp, path)
        out = os.stat(tmp, follow_symlinks=False).st_ino
        if out == expect and not (is_ours and _written_since(tmp, ours)):
            return
        expect = placed
        is_ours = False
    raise WriteError(f"{path.name}: saved over and over by another program; left as it is")


def _written_since(tmp: Path, ours: bytes) -> bool:
    """Did someone write into our version while it was the post (it differs, or is open for writing)?"""
    if not ours:
        return False
    try:
        fd = os.open(tmp, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return True
    try:
        lease = _read_lease(fd)
        if lease is False:
            return True
        same = _read_all(fd, len(ours)) == ours
        if lease:
            _release(fd)
        return not same
    finally:
        os.close(fd)
