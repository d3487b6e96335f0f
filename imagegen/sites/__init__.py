"""Blog engines: one module each, this registry, `detect()` and `resolve()`.

Adding an engine = one module with a `Site` subclass (its defaults as class attributes, its rules
as methods) and a `detect(repo) -> reason | None`, plus one line in `ENGINES`. The order of
`ENGINES` is the order detection tries them; Obsidian is the fallback (a vault, or any folder of
dated Markdown notes), as imagegen has always behaved.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

from imagegen.sites import astro, hugo, jekyll, obsidian, quartz
from imagegen.sites.base import CoverPlace, Reference, Site

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.config.settings import Settings

__all__ = ["ENGINES", "CoverPlace", "Reference", "Site", "detect", "resolve"]

ENGINES: dict[str, tuple[type[Site], Callable[[str], str | None] | None]] = {
    "hugo": (hugo.Hugo, hugo.detect),
    "jekyll": (jekyll.Jekyll, jekyll.detect),
    "astro": (astro.Astro, astro.detect),
    "quartz": (quartz.Quartz, quartz.detect),
    "obsidian": (obsidian.Obsidian, None),
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
    return "obsidian", "no Hugo, Jekyll, Astro or Quartz site found: dated Markdown notes, Obsidian style"


def resolve(settings: "Settings") -> Site:
    """The site a run follows: the one named by `--site`, or the detected one. Called once per
    run (by the pipeline, the action, `imagegen init`); everything else is handed the result."""
    if settings.site != "auto":
        return ENGINES[settings.site][0].from_settings(settings, f"--site {settings.site}")
    name, why = detect(settings.repo)
    return ENGINES[name][0].from_settings(settings, f"detected: {why}")
