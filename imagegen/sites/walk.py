"""The one walk of a repository: discovery, the "found no posts" explanation and `imagegen init`
all see the repository the same way, through the site's rules.

Speed: os.scandir, and no stat of a plain file (a folder's entries say what they are).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from imagegen.sites.base import Site

__all__ = ["MARKDOWN", "Entry", "Walker", "inside"]

MARKDOWN = (".md", ".markdown", ".mdx")
"""Every Markdown extension any engine reads."""


@dataclass(frozen=True)
class Entry:
    rel: str
    path: str
    real: str | None
    """Its real path when known without a syscall (None: a symlink, resolve it first)."""
    linked: bool = False
    """Reached through a symlink (file or folder): loses to the same file reached directly."""


def inside(real: str, repo_real: str) -> bool:
    return real == repo_real or real.startswith(repo_real.rstrip(os.sep) + os.sep)


class Walker:
    """Collects the files that can be posts under the folders it is asked to walk, by the site's
    rules (`Site.is_post_name`, `is_post_path`, `skip_dir`), or every Markdown file
    (`any_markdown`: what the "found no posts" explanation and `imagegen init` look at).
    Symlinks that stay inside the repository are followed once; a file reached directly wins
    over the same file reached through a link; loops end."""

    def __init__(self, site: Site, repo: str, repo_real: str, *, any_markdown: bool = False) -> None:
        self.repo = repo
        self.repo_real = repo_real
        self.site = site
        self.exclude = {n.casefold() for n in site.exclude}
        self.any_markdown = any_markdown
        """Every Markdown file (reference counting), not only the site's posts."""
        self.entries: list[Entry] = []
        self.seen_dirs: set[str] = set()
        self.linked_dirs: list[tuple[str, str]] = []

    def is_post_name(self, name: str) -> bool:
        if self.any_markdown:
            return not name.startswith(".") and name.lower().endswith(MARKDOWN)
        return self.site.is_post_name(name)

    def is_post(self, rel: str, name: str) -> bool:
        return self.is_post_name(name) and (self.any_markdown or self.site.is_post_path(rel))

    def skip_dir(self, rel: str, name: str) -> bool:
        return self.site.skip_dir(rel, name)

    def walk(self, rel_dir: str) -> None:
        """Walk one content path's real folders; folders reached through a symlink wait for
        `walk_links`, so a post found directly is never first found through a link."""
        start = os.path.join(self.repo, rel_dir) if rel_dir != "." else self.repo
        real = os.path.realpath(start)
        direct = self.repo_real if rel_dir == "." else os.path.join(self.repo_real, rel_dir)
        if real != direct:  # the content path itself goes through a symlink
            self.linked_dirs.append((start, "" if rel_dir == "." else rel_dir))
            return
        self._walk_real(start, "" if rel_dir == "." else rel_dir, real, linked=False)

    def walk_links(self) -> None:
        """Folders reached through symlinks that stay inside the repo; each real folder is walked
        once, so symlink loops end."""
        while self.linked_dirs:
            path, rel = self.linked_dirs.pop(0)
            target = os.path.realpath(path)
            if target in self.seen_dirs or not inside(target, self.repo_real) or not os.path.isdir(target):
                continue
            self._walk_real(path, rel, target, linked=True)

    def _walk_real(self, path: str, rel: str, real: str, *, linked: bool) -> None:
        stack = [(path, rel, real)]
        while stack:
            d_path, d_rel, d_real = stack.pop()
            if d_real in self.seen_dirs:
                continue
            self.seen_dirs.add(d_real)
            try:
                it = os.scandir(d_path)
            except OSError:
                continue  # an unreadable folder holds no posts we could edit anyway
            with it:
                for e in it:
                    name = e.name
                    e_rel = f"{d_rel}/{name}" if d_rel else name
                    try:
                        is_link = e.is_symlink()
                        is_dir = not is_link and e.is_dir(follow_symlinks=False)
                    except OSError:
                        continue
                    if is_dir:
                        if self.skip_dir(e_rel, name):
                            continue
                        stack.append((e.path, e_rel, f"{d_real}{os.sep}{name}"))
                        continue
                    if is_link:
                        try:
                            points_to_dir = e.is_dir()  # follows the link
                        except OSError:
                            points_to_dir = False
                        if points_to_dir:
                            if not self.skip_dir(e_rel, name):
                                self.linked_dirs.append((e.path, e_rel))
                            continue
                    if self.is_post(e_rel, name):
                        self.entries.append(Entry(e_rel, e.path, None if is_link else f"{d_real}{os.sep}{name}",
                                                   linked or is_link))
