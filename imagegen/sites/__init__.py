"""Blog engines: one module each, this registry, and `detect()`.

Adding an engine = one module with a `Site` subclass and a `detect(repo) -> reason | None`, plus
one line in `ENGINES`. The order of `ENGINES` is the order detection tries them; Obsidian is the
fallback (a vault, or any folder of dated Markdown notes), as imagegen has always behaved.
"""

from __future__ import annotations

import os
from typing import Callable

from imagegen.settings import Settings
from imagegen.sites import astro, hugo, jekyll
from imagegen.sites.base import Reference, Site
from imagegen.sites.obsidian import Obsidian

__all__ = ["ENGINES", "Reference", "Site", "detect", "for_settings"]

ENGINES: dict[str, tuple[type[Site], Callable[[str], str | None] | None]] = {
    "hugo": (hugo.Hugo, hugo.detect),
    "jekyll": (jekyll.Jekyll, jekyll.detect),
    "astro": (astro.Astro, astro.detect),
    "obsidian": (Obsidian, None),
}


def detect(repo: str | os.PathLike[str]) -> tuple[str, str]:
    """(engine name, why) for a repository, from the files at its root."""
    root = os.fspath(repo)
    for name, (_, probe) in ENGINES.items():
        if probe is not None:
            why = probe(root)
            if why:
                return name, why
    if os.path.isdir(os.path.join(root, ".obsidian")):
        return "obsidian", ".obsidian/ found"
    return "obsidian", "no Hugo, Jekyll or Astro site found: dated Markdown notes, Obsidian style"


def for_settings(settings: Settings) -> Site:
    """The site the run follows: the one named by `--site`, or the detected one."""
    if settings.site != "auto":
        return ENGINES[settings.site][0](settings, f"--site {settings.site}")
    name, why = detect(settings.repo)
    return ENGINES[name][0](settings, f"detected: {why}")
