"""Blog engines: one module each, this registry, `detect()` and `resolve()`.

Adding an engine = one module with a `Site` subclass (its defaults as class attributes, its rules
as methods) and a `detect(repo) -> reason | None`, plus one line in `ENGINES`. The order of
`ENGINES` is the order detection tries them; Obsidian is the fallback (a vault, or any folder of
dated Markdown notes), as imagegen has always behaved.
"""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, Callable

from imagegen.sites import astro, hugo, jekyll, obsidian, quartz
from imagegen.sites.base import CoverPlace, Reference, Site

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.config.settings import Settings

__all__ = ["ENGINES", "NO_SITE", "CoverPlace", "Reference", "Site", "detect", "locate", "resolve"]

ENGINES: dict[str, tuple[type[Site], Callable[[str], str | None] | None]] = {
    "hugo": (hugo.Hugo, hugo.detect),
    "jekyll": (jekyll.Jekyll, jekyll.detect),
    "astro": (astro.Astro, astro.detect),
    "quartz": (quartz.Quartz, quartz.detect),
    "obsidian": (obsidian.Obsidian, None),
}


NO_SITE = "no Hugo, Jekyll, Astro or Quartz site found: dated Markdown notes, Obsidian style"
"""Why a folder is taken for Obsidian-style dated notes (the fallback)."""

CONVENTIONAL_FOLDERS = ("site", "docs", "blog", "website", "www")
"""Where a larger repository usually keeps its site, looked at when none is at the root."""


def detect(repo: str | os.PathLike[str]) -> tuple[str, str]:
    """(engine name, why) for a site folder, from the files in it."""
    root = os.fspath(repo)
    for name, (_, probe) in ENGINES.items():
        if probe is not None:
            why = probe(root)
            if why:
                return name, why
    if os.path.isdir(os.path.join(root, ".obsidian")):
        return "obsidian", ".obsidian/ found"
    return "obsidian", NO_SITE


def _chain(start: str) -> list[str]:
    """`start` and each folder above it, up to the repository root ('')."""
    chain, folder = [start], start
    while folder:
        folder = posixpath.dirname(folder)
        chain.append(folder)
    return chain


def _probe(path: str, only: str | None) -> tuple[str, str] | None:
    for name, (_, probe) in ENGINES.items():
        if probe is not None and only in (None, name):
            why = probe(path)
            if why:
                return name, why
    return None


def locate(repo: str | os.PathLike[str], start: str = "", site_dir: str | None = None,
           only: str | None = None) -> tuple[str, str, str]:
    """(engine, why, the site's folder) in a repository. `site_dir` when given; else the folder the
    run was pointed at and each one above it (the nearest with an engine's files, or with
    `.obsidian/`: a vault), then the conventional folders (site/, docs/, blog/ ...) in the folder
    the run was pointed at and at the root; else the folder the run was pointed at, as a folder of
    dated notes. `only`: that engine's files."""
    base = os.fspath(repo)
    tried = [site_dir] if site_dir is not None else _chain(start)
    conventional = [] if site_dir is not None else list(dict.fromkeys(
        [posixpath.join(start, c) for c in CONVENTIONAL_FOLDERS] + list(CONVENTIONAL_FOLDERS)))
    for i, folder in enumerate(tried + conventional):
        path = os.path.join(base, folder) if folder else base
        if not os.path.isdir(path):
            continue
        found = _probe(path, only)
        if found is not None:
            return found[0], found[1], folder
        if i < len(tried) and only in (None, "obsidian") and os.path.isdir(os.path.join(path, ".obsidian")):
            return "obsidian", ".obsidian/ found", folder
    folder = site_dir if site_dir is not None else start
    return (only or "obsidian"), ("" if only else NO_SITE), folder


def resolve(settings: "Settings") -> Site:
    """The site a run follows: the one named by `--site`, or the detected one, in the folder
    `site-dir` names or found (see `locate`). Called once per run (by the pipeline, the action,
    `imagegen init`); everything else is handed the result."""
    only = None if settings.site == "auto" else settings.site
    name, why, root = locate(settings.repo, settings.start, settings.site_dir, only)
    if only is not None:
        return ENGINES[name][0].from_settings(settings, f"--site {name}", root)
    return ENGINES[name][0].from_settings(settings, f"detected: {why}", root)
