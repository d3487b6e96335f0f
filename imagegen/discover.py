"""Which posts need a cover, in which order, and why every other post is skipped.

Which files are posts is the site's decision (imagegen.sites: Obsidian's dated `.md` notes,
Hugo's `content/**`, Jekyll's `_posts/`, Astro's `src/content/`), as are dates, drafts, opt-outs
and what counts as a cover already. Each file is read exactly once. A post is then, in this order
of checks:

    unreadable/invalid      -> Skip(PostError reason)
    dated after today       -> Skip("future")
    a draft                 -> Skip("draft")
    image/cover/... : false -> Skip("opted-out")
    no frontmatter where the site keeps the cover there -> Skip("no-frontmatter")
    without a title         -> Skip("no-title")
    regenerate_image        -> Candidate("regenerate")
    with a cover            -> Skip("has-image")
    the edit cannot be made -> Skip("cannot-edit") (covers.check, before any image is paid for)
    otherwise               -> Candidate("missing")

Selection: every post; or `settings.posts` (an explicit list: a named file counts as a post even
when undated, because someone asked for it, but an excluded name stays excluded and is reported);
or `changed_since` (posts changed since a git ref, committed or not, plus untracked ones). With
both, the explicit list is narrowed to the changed files.

Speed: the walk uses os.scandir and never stats a plain file; YAML is parsed only when the
frontmatter is outside the simple subset `frontmatter.quick_keys` recognises or when a value is
actually needed to decide (title without an H1, regenerate_image, the cover field).
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
from dataclasses import dataclass, field

from imagegen import covers, sites
from imagegen import frontmatter as fm
from imagegen.posts import Post, PostError
from imagegen.errors import DiscoveryError, GitError
from imagegen.report import SkipReason, Skipped
from imagegen.git import Git
from imagegen.settings import Settings
from imagegen.sites.base import OPT_OUT_FIELDS, Site

__all__ = ["Candidate", "Discovery", "DiscoveryError", "Skip", "discover"]


@dataclass(frozen=True)
class Candidate:
    post: Post
    why: str
    """missing | regenerate"""


Skip = Skipped
"""A post discovery leaves alone (repo-relative path, reason, message): the report's own type."""


@dataclass
class Discovery:
    todo: list[Candidate] = field(default_factory=list)
    """Newest first (by date, undated last), ties by path. The caller applies max_images."""
    skipped: list[Skip] = field(default_factory=list)
    """Sorted by path."""
    site: Site | None = None
    """The site whose conventions were followed."""
    posts: list[Post] = field(default_factory=list)
    """Every selected post that could be read (whether an old cover is still mentioned anywhere is
    asked of imagegen.references, which searches every text file)."""


@dataclass(frozen=True)
class _Entry:
    rel: str
    path: str
    real: str | None
    """Its real path when known without a syscall (None: a symlink, resolve it first)."""
    linked: bool = False
    """Reached through a symlink (file or folder): loses to the same file reached directly."""


# --------------------------------------------------------------------------- walking


def _inside(real: str, repo_real: str) -> bool:
    return real == repo_real or real.startswith(repo_real.rstrip(os.sep) + os.sep)


class _Walker:
    def __init__(self, site: Site, repo: str, repo_real: str, *, any_markdown: bool = False) -> None:
        self.repo = repo
        self.repo_real = repo_real
        self.site = site
        self.exclude = {n.casefold() for n in site.exclude}
        self.any_markdown = any_markdown
        """Every Markdown file (reference counting), not only the site's posts."""
        self.entries: list[_Entry] = []
        self.seen_dirs: set[str] = set()
        self.linked_dirs: list[tuple[str, str]] = []

    def is_post_name(self, name: str) -> bool:
        if self.any_markdown:
            return not name.startswith(".") and name.lower().endswith((".md", ".markdown", ".mdx"))
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
            if target in self.seen_dirs or not _inside(target, self.repo_real) or not os.path.isdir(target):
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
                        self.entries.append(_Entry(e_rel, e.path, None if is_link else f"{d_real}{os.sep}{name}",
                                                   linked or is_link))


# --------------------------------------------------------------------------- git


def changed_files(repo: str, ref: str) -> set[str]:
    """Repo-relative paths changed since `ref`: committed, staged, unstaged, and untracked files.
    Deleted files are left out. Raises DiscoveryError for an unknown ref, a folder outside git, or
    git failing or hanging (imagegen.git's timeout)."""
    if not ref or ref.startswith("-"):
        raise DiscoveryError(f"changed-since: {ref!r} is not a git ref")
    git = Git(repo)
    try:
        commit = git.commit_of(ref)
        if commit is None:
            if not git.ok("rev-parse", "--is-inside-work-tree"):
                raise DiscoveryError(f"changed-since: {repo} is not inside a git repository")
            raise DiscoveryError(f"changed-since: unknown git ref {ref!r} (no such branch, tag or commit here)")
        return git.changed_since(commit)
    except GitError as exc:
        raise DiscoveryError(f"changed-since: {exc}") from None


# --------------------------------------------------------------------------- discover


def _explicit(settings: Settings, walker: _Walker, skipped: list[Skip]) -> None:
    """Entries for the files named in settings.posts."""
    seen: set[str] = set()
    for raw in settings.posts:
        rel = posixpath.normpath(raw.replace(os.sep, "/")).lstrip("/")
        if rel in seen:
            continue
        seen.add(rel)
        path = os.path.join(walker.repo, rel)
        name = posixpath.basename(rel)
        if not os.path.lexists(path):
            skipped.append(Skip(rel, SkipReason.NOT_FOUND, f"{rel} does not exist"))
        elif os.path.isdir(path):
            skipped.append(Skip(rel, SkipReason.NOT_A_POST, f"{rel} is a folder, not a post"))
        elif not name.lower().endswith(walker.site.extensions):
            skipped.append(Skip(rel, SkipReason.NOT_A_POST, f"{rel} is not a Markdown ({', '.join(walker.site.extensions)}) file"))
        elif name.casefold() in walker.exclude:
            skipped.append(Skip(rel, SkipReason.EXCLUDED, f"{name} is in the exclude list"))
        else:
            walker.entries.append(_Entry(rel, path, None))


def _classify(post: Post, site: Site, today: dt.date) -> Candidate | Skip:
    keys = (fm.quick_keys(post.doc.block) if post.doc.kind == "yaml" else None) if post.doc.has_frontmatter \
        else frozenset()
    if keys is None:
        post.frontmatter  # noqa: B018 - the real parse: raises PostError for invalid frontmatter
    date = site.date(post)
    if date is not None and date > today:
        return Skip(post.rel, SkipReason.FUTURE, f"dated {date.isoformat()}, after today ({today.isoformat()})")
    # Drafts and opt-outs need a look at the frontmatter only when one of their keys is there.
    if keys is None or keys & _DECIDING_KEYS or site.settings.frontmatter_field in keys:
        if site.is_draft(post):
            return Skip(post.rel, SkipReason.DRAFT, "a draft: the engine does not publish it")
        field = site.opted_out(post)
        if field is not None:
            return Skip(post.rel, SkipReason.OPTED_OUT, f"{field}: false")
    if keys is not None and "regenerate_image" not in keys and post.quick_has_image() and post.quick_has_h1():
        return Skip(post.rel, SkipReason.HAS_IMAGE)  # the common no-op case, decided without YAML
    if site.needs_frontmatter and not post.doc.has_frontmatter:
        return Skip(post.rel, SkipReason.NO_FRONTMATTER,
                    f"no frontmatter: {site.name} keeps the cover there, so the post is left alone")
    if post.title is None:
        return Skip(post.rel, SkipReason.NO_TITLE, "no title in the frontmatter and no '# ' heading")
    if post.regenerate:
        verdict = Candidate(post, "regenerate")
    elif site.has_cover(post):
        return Skip(post.rel, SkipReason.HAS_IMAGE)
    else:
        verdict = Candidate(post, "missing")
    try:
        covers.check(site, post, regenerate=verdict.why == "regenerate")
    except fm.FrontmatterError as exc:
        return Skip(post.rel, exc.reason, str(exc))
    return verdict


_DECIDING_KEYS = frozenset({"draft", "published", "imagegen", *OPT_OUT_FIELDS})


def discover(settings: Settings, today: dt.date, site: Site | None = None) -> Discovery:
    """Find the posts to do (see the module docstring). `today` is in the configured timezone;
    `site` defaults to the one the settings name or the repository looks like."""
    repo = os.path.abspath(settings.repo)
    repo_real = os.path.realpath(repo)
    if not os.path.isdir(repo_real):
        raise DiscoveryError(f"repository folder {repo!r} does not exist")
    site = site or sites.for_settings(settings)
    walker = _Walker(site, repo, repo_real)
    skipped: list[Skip] = []
    changed = changed_files(repo, settings.changed_since) if settings.changed_since else None

    if settings.posts:
        _explicit(settings, walker, skipped)
    else:
        for raw in site.paths or (".",):
            rel = posixpath.normpath(raw.replace(os.sep, "/")).strip("/") or "."
            full = os.path.join(repo, rel)
            if rel.startswith("../") or rel == ".." or not _inside(os.path.realpath(full), repo_real):
                raise DiscoveryError(f"paths: {raw!r} is outside the repository")
            if os.path.isdir(full):
                walker.walk(rel)
            elif os.path.isfile(full) and walker.is_post_name(posixpath.basename(rel)):
                walker.entries.append(_Entry(rel, full, None))
            elif not os.path.exists(full):
                raise DiscoveryError(f"paths: {raw!r} does not exist in the repository")
        walker.walk_links()

    entries = walker.entries
    if changed is not None:
        entries = [e for e in entries if e.rel in changed]

    # One post per real file: a file reached directly wins over the same file through a symlink.
    todo: list[Candidate] = []
    posts: list[Post] = []
    seen_real: set[str] = set()
    seen_rel: set[str] = set()
    for e in sorted(entries, key=lambda e: (e.linked, e.rel)):
        if e.rel in seen_rel:
            continue
        seen_rel.add(e.rel)
        real = e.real if e.real is not None else os.path.realpath(e.path)
        if not _inside(real, repo_real):
            skipped.append(Skip(e.rel, SkipReason.SYMLINK_OUTSIDE, f"{e.rel} is a symlink to {real}, outside the repository; not read"))
            continue
        if real in seen_real:
            continue
        seen_real.add(real)
        try:
            post = Post._read(e.path, e.rel, settings.max_post_bytes, nofollow=e.real is not None)
        except PostError as exc:
            skipped.append(Skip(e.rel, exc.reason, str(exc)))
            continue
        posts.append(post)
        try:
            verdict = _classify(post, site, today)
        except PostError as exc:
            verdict = Skip(e.rel, exc.reason, str(exc))
        if isinstance(verdict, Candidate):
            todo.append(verdict)
        else:
            skipped.append(verdict)

    def newest_first(c: Candidate) -> tuple[int, str]:
        try:
            d = site.sort_date(c.post)
        except PostError:
            d = None
        return (-(d.toordinal() if d else 0), c.post.rel)

    todo.sort(key=newest_first)
    skipped.sort(key=lambda s: (s.post, s.reason))
    posts.sort(key=lambda p: p.rel)
    return Discovery(todo=todo, skipped=skipped, posts=posts, site=site)
