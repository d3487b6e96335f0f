"""Why a run found no posts at all, in one sentence a new user can act on.

"found 0 posts" alone sends people guessing; the usual causes are a wrong `--paths`, files not
named `YYYY-MM-DD-title.md`, every post excluded by name, or a site detected other than the user
thought. This looks at the repository the way a person would (a plain walk that skips hidden
folders and node_modules), with the site's folders, extensions and exclusions (imagegen.sites),
and says which one it is. It only explains; it decides nothing (discover.py and the site do).
"""

from __future__ import annotations

import os
from collections import Counter

from imagegen.posts import date_prefix
from imagegen.config.settings import Settings
from imagegen.sites.base import Site
from imagegen.sites.walk import MARKDOWN, Walker

__all__ = ["explain_no_posts"]


def _markdown(site: Site, rel: str) -> list[str]:
    """Repo-relative paths of the Markdown files under `rel` ('.': the repository), through the
    one walk of the repository (imagegen.sites.walk) with the site's folders to skip."""
    repo = os.path.abspath(site.repo)
    full = os.path.join(repo, rel)
    if os.path.isfile(full):
        return [rel] if rel.lower().endswith(MARKDOWN) else []
    walker = Walker(site, repo, os.path.realpath(repo), any_markdown=True)
    walker.walk(rel)
    walker.walk_links()
    return sorted({e.rel for e in walker.entries})


def _top(paths: list[str]) -> str:
    """The folder holding most of `paths` (first level below the repo), or '.'."""
    tops = Counter(p.split("/", 1)[0] if "/" in p else "." for p in paths)
    return tops.most_common(1)[0][0]


def explain_no_posts(settings: Settings, site: Site) -> str:
    """'found no posts: ...' — why, and what to try, following the site's rules (imagegen.sites)."""
    repo = settings.repo
    paths = site.paths
    where = ", ".join(paths) if paths != (".",) else "the repository"
    why = site.why[len("detected: "):] if site.why.startswith("detected: ") else site.why
    prefix = f"found no posts in {where} ({site.name} site" + (f": {why})" if why else ")")
    if settings.posts:
        return f"{prefix}: none of the files given with --posts is a post"
    files: list[str] = []
    for p in paths:
        if (repo / p).exists():
            files.extend(_markdown(site, p))
    exts = tuple(e.lower() for e in site.extensions)
    md = [f for f in files if f.lower().endswith(exts)]
    kinds = "/".join(exts)
    other = len(files) - len(md)
    others_note = (f" ({other} {'/'.join(e for e in MARKDOWN if e not in exts)} file{'s' if other != 1 else ''} "
                   f"there {'is' if other == 1 else 'are'} not read as posts by this site)") if other else ""
    exclude = {n.casefold() for n in site.exclude}
    named = [f for f in md if f.rsplit("/", 1)[-1].casefold() not in exclude]
    undated_ok = site.include_undated
    dated = [f for f in named if undated_ok or date_prefix(f.rsplit("/", 1)[-1]) is not None]
    if settings.changed_since and dated:
        return f"{prefix}: no post changed since {settings.changed_since}"
    if not md:
        reason = f"{prefix}: there is no {kinds} file there{others_note}"
        if paths != (".",):
            elsewhere = [f for f in _markdown(site, ".")
                         if f.lower().endswith(exts) and date_prefix(f.rsplit("/", 1)[-1]) is not None]
            if elsewhere:
                top = _top(elsewhere)
                n = len(elsewhere)
                reason += (f"; the repository has {n} dated post{'s' if n != 1 else ''} elsewhere, most in "
                           f"{top}/ (try --paths {top}" + (", or leave --paths out to search everything)"
                                                          if settings.paths is not None else ")"))
        return reason
    if not named:
        return (f"{prefix}: all {len(md)} {kinds} file{'s' if len(md) != 1 else ''} there are excluded by name "
                f"(--exclude {','.join(site.exclude)})")
    if not dated:
        n = len(named)
        return (f"{prefix}: {n} {kinds} file{'s' if n != 1 else ''} there, but none is named like "
                f"YYYY-MM-DD-title.md (e.g. {named[0]}); add --include-undated to treat them as posts{others_note}")
    n = len(dated)
    return (f"{prefix}: {n} {kinds} file{'s' if n != 1 else ''} there, none of them a post by the {site.name} "
            "site's rules (section pages such as _index.md and files outside its content folders are not posts)")
