"""Why a run found no posts at all, in one sentence a new user can act on.

"found 0 posts" alone sends people guessing; the usual causes are a wrong `--paths`, files not
named `YYYY-MM-DD-title.md`, or every post excluded by name. This looks at the repository the way a
person would (a plain walk that skips hidden folders and node_modules) and says which one it is.
It only explains; it decides nothing (discover.py does).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from imagegen.posts import date_prefix
from imagegen.settings import Settings

__all__ = ["explain_no_posts"]

MARKDOWN = (".md", ".markdown", ".mdx")


def _walk(root: Path, attachments: str, repo: Path) -> list[str]:
    """Repo-relative paths of Markdown-looking files under `root`."""
    out: list[str] = []
    if root.is_file():
        return [root.relative_to(repo).as_posix()] if root.name.lower().endswith(MARKDOWN) else []
    for d, dirs, files in os.walk(root):
        rel_d = Path(d).relative_to(repo).as_posix()
        dirs[:] = [x for x in dirs if not x.startswith(".") and x != "node_modules"
                   and (x if rel_d == "." else f"{rel_d}/{x}") != attachments]
        for f in files:
            if f.lower().endswith(MARKDOWN) and not f.startswith("."):
                out.append(f if rel_d == "." else f"{rel_d}/{f}")
    return sorted(out)


def _top(paths: list[str]) -> str:
    """The folder holding most of `paths` (first level below the repo), or '.'."""
    tops = Counter(p.split("/", 1)[0] if "/" in p else "." for p in paths)
    return tops.most_common(1)[0][0]


def explain_no_posts(settings: Settings) -> str:
    """'found no posts: ...' — why, and what to try."""
    repo = settings.repo
    where = ", ".join(settings.paths) if settings.paths != (".",) else "the repository"
    site = getattr(settings, "site", "")
    if site == "auto":  # say which engine was detected, when it is not the plain-notes default
        from imagegen import sites

        site = sites.detect(repo)[0]
        site = "" if site == "obsidian" else site
    prefix = f"found no posts in {where}" + (f" (site: {site})" if site else "")
    if settings.posts:
        return f"{prefix}: none of the files given with --posts is a post"
    files: list[str] = []
    for p in settings.paths:
        files.extend(_walk(repo / p if p != "." else repo, settings.attachments_dir, repo))
    md = [f for f in files if f.lower().endswith(".md")]
    other = len(files) - len(md)
    exclude = {n.casefold() for n in settings.exclude}
    named = [f for f in md if f.rsplit("/", 1)[-1].casefold() not in exclude]
    dated = [f for f in named if date_prefix(f.rsplit("/", 1)[-1]) is not None]
    others_note = (f" ({other} .markdown/.mdx file{'s' if other != 1 else ''} there {'is' if other == 1 else 'are'} "
                   "not read as posts)") if other else ""
    if settings.changed_since and (dated or (settings.include_undated and named)):
        return f"{prefix}: no post changed since {settings.changed_since}"
    if not md:
        reason = f"{prefix}: there is no .md file there{others_note}"
        if settings.paths != (".",):
            elsewhere = [f for f in _walk(repo, settings.attachments_dir, repo)
                         if f.lower().endswith(".md") and date_prefix(f.rsplit("/", 1)[-1]) is not None]
            if elsewhere:
                top = _top(elsewhere)
                n = len(elsewhere)
                reason += (f"; the repository has {n} dated post{'s' if n != 1 else ''} elsewhere, most in "
                           f"{top}/ (try --paths {top}, or leave --paths out to search everything)")
        return reason
    if not named:
        return (f"{prefix}: all {len(md)} .md file{'s' if len(md) != 1 else ''} there are excluded by name "
                f"(--exclude {','.join(settings.exclude)})")
    if not dated and not settings.include_undated:
        n = len(named)
        example = named[0]
        return (f"{prefix}: {n} .md file{'s' if n != 1 else ''} there, but none is named like "
                f"YYYY-MM-DD-title.md (e.g. {example}); add --include-undated to treat them as posts{others_note}")
    return f"{prefix}: {len(named)} .md file(s) there, none readable as a post"
