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
    regenerate_image, or named in `regenerate` -> Candidate("regenerate")
    a title card drawn from another title or card settings (`image_card` differs) -> Candidate("redraw")
    with a cover            -> Skip("has-image")
    the edit cannot be made -> Skip("cannot-edit") (covers.check, before any image is paid for)
    otherwise               -> Candidate("missing")

Selection: every post; or `settings.posts` (an explicit list: a named file counts as a post even
when undated, because someone asked for it, but an excluded name stays excluded and is reported);
or `changed_since` (posts changed since a git ref, committed or not, plus untracked ones). With
both, the explicit list is narrowed to the changed files.

Speed: the walk uses os.scandir and never stats a plain file; YAML is parsed only when the
frontmatter is outside the simple subset `frontmatter.quick_keys` recognises or when a value is
actually needed to decide (title without an H1, regenerate_image, the cover field, a title
card's `image_card`: only cards carry it, so a blog of AI covers is still decided without YAML).
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
from dataclasses import dataclass, field

from imagegen import covers
from imagegen import frontmatter as fm
from imagegen.errors import DiscoveryError, GitError
from imagegen.git import Git
from imagegen.posts import Post, PostError
from imagegen.providers import SPECS
from imagegen.report import SkipReason, Skipped
from imagegen.config.settings import Settings
from imagegen.sites.base import OPT_OUT_FIELDS, CoverPlace, Site
from imagegen.sites.walk import Entry, Walker, inside

__all__ = ["Candidate", "Discovery", "DiscoveryError", "Redraw", "Skip", "discover"]


@dataclass(frozen=True)
class Candidate:
    post: Post
    why: str
    """missing | regenerate | redraw (a title card whose title or card settings changed) | body-image"""
    place: CoverPlace | None = None
    """Where the post's cover file goes (the site's `cover_place`, decided once in discovery)."""
    image: str | None = None
    """body-image: the post's own picture (repo-relative) its cover field will name; no image is made."""


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


def _explicit(settings: Settings, walker: Walker, skipped: list[Skip]) -> None:
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
            walker.entries.append(Entry(rel, path, None))


@dataclass(frozen=True)
class Redraw:
    """Which covers are made again although they exist: the posts named in `regenerate`, and title
    cards whose `image_card` is not what the card would be drawn from now."""

    settings: Settings | None = None
    forced: frozenset[str] = frozenset()

    def stale_card(self, post: Post) -> bool:
        if self.settings is None:
            return False
        data = post.frontmatter
        made_by, drawn_from = data.get("image_provider"), data.get(covers.CARD_FIELD)
        spec = SPECS.get(made_by) if isinstance(made_by, str) else None
        if spec is None or not spec.renders_title or not isinstance(drawn_from, str):
            return False  # not a card, or a card from before image_card (left alone)
        s = self.settings
        return drawn_from != covers.card_fingerprint(post, s.card_style)


def _classify(post: Post, site: Site, today: dt.date, redraw: Redraw = Redraw()) -> Candidate | Skip:
    keys = (fm.quick_keys(post.doc.block) if post.doc.kind == "yaml" else None) if post.doc.has_frontmatter \
        else frozenset()
    if keys is None:
        post.frontmatter  # noqa: B018 - the real parse: raises PostError for invalid frontmatter
    elif post.fold_keys:
        keys = frozenset(k.casefold() for k in keys)
    date = site.date(post)
    if date is not None and date > today:
        return Skip(post.rel, SkipReason.FUTURE, f"dated {date.isoformat()}, after today ({today.isoformat()})")
    # Drafts and opt-outs need a look at the frontmatter only when one of their keys is there.
    if keys is None or keys & _DECIDING_KEYS or site.field_override in keys \
            or (post.fold_keys and (site.field_override or "").casefold() in keys):
        if site.is_draft(post):
            return Skip(post.rel, SkipReason.DRAFT, "a draft: the engine does not publish it")
        field = site.opted_out(post)
        if field is not None:
            return Skip(post.rel, SkipReason.OPTED_OUT, f"{field}: false")
    if keys is not None and "regenerate_image" not in keys and covers.CARD_FIELD not in keys \
            and post.rel not in redraw.forced and site.body_is_cover() and post.quick_has_image() \
            and post.quick_has_h1():
        return Skip(post.rel, SkipReason.HAS_IMAGE)  # the common no-op case, decided without YAML
    if site.needs_frontmatter and not post.doc.has_frontmatter:
        return Skip(post.rel, SkipReason.NO_FRONTMATTER,
                    f"no frontmatter: {site.name} keeps the cover there, so the post is left alone")
    if post.title is None:
        return Skip(post.rel, SkipReason.NO_TITLE, "no title in the frontmatter and no '# ' heading")
    if post.regenerate or post.rel in redraw.forced:
        verdict = Candidate(post, "regenerate")
    elif site.has_cover(post):
        if not redraw.stale_card(post):
            return Skip(post.rel, SkipReason.HAS_IMAGE)
        verdict = Candidate(post, "redraw")
    elif site.body_image == "cover" and not site.body_is_cover() and (post.has_image() or site.own_cover(post)):
        return _own_image(post, site)
    else:
        verdict = Candidate(post, "missing")
    try:
        place = covers.check(site, post, regenerate=verdict.why != "missing")
    except fm.FrontmatterError as exc:
        return Skip(post.rel, exc.reason, str(exc))
    return Candidate(post, verdict.why, place)


def _own_image(post: Post, site: Site) -> Candidate | Skip:
    """A post whose only image is in its body (a frontmatter engine, `body-image: cover`): its
    cover field names that picture, when the engine can reach it; else it is left alone."""
    own = site.own_cover(post)
    if own is None:
        return Skip(post.rel, SkipReason.HAS_IMAGE, "its only image is in the body, where the theme does not show it "
                    "as the cover, and the cover field cannot name it (a remote or unresolvable picture); "
                    "body-image: generate makes a cover")
    try:
        covers.plan(site, post, image=own, meta=None, regenerate=False)
    except fm.FrontmatterError as exc:
        return Skip(post.rel, exc.reason, str(exc))
    return Candidate(post, "body-image", image=own)


_NOT_A_POST = Skip("", SkipReason.NOT_A_POST)
"""A file the walk found that the engine does not publish as a post: left out of the run."""


def _not_a_post(post: Post, site: Site, *, explicit: bool) -> Skip | None:
    """None for a post; else the file is left out (named with --posts: skipped, `not-a-post`)."""
    why = site.not_a_post(post)
    if why is None:
        return None
    return Skip(post.rel, SkipReason.NOT_A_POST, why) if explicit else _NOT_A_POST


def _share_covers(found: Discovery, site: Site) -> None:
    """Posts that share one cover file (site.shared_cover): the first of each group that needs a
    cover gets it; the others are skipped, since that one file becomes their cover too."""
    groups: dict[str, list[Candidate]] = {}
    for cand in found.todo:
        shared = site.shared_cover(cand.post) if cand.why == "missing" else None
        if shared is not None:
            groups.setdefault(shared[0], []).append(cand)
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda c: site.shared_cover(c.post)[1])  # type: ignore[index]
        lead = members[0].post.rel
        for cand in members[1:]:
            found.todo.remove(cand)
            found.skipped.append(Skip(cand.post.rel, SkipReason.SHARED_COVER,
                                      f"shares one cover with {lead}: that post's cover is this one's too"))


_DECIDING_KEYS = frozenset({"draft", "published", "imagegen", *OPT_OUT_FIELDS})


def _walk(settings: Settings, site: Site, repo: str, repo_real: str, skipped: list[Skip]) -> list[Entry]:
    """The files to read: those named by --posts, or the site's posts under its content paths
    (narrowed to the changed ones with --changed-since)."""
    walker = Walker(site, repo, repo_real)
    changed = changed_files(repo, settings.changed_since) if settings.changed_since else None
    if settings.posts:
        _explicit(settings, walker, skipped)
    else:
        for raw in site.paths or (".",):
            rel = posixpath.normpath(raw.replace(os.sep, "/")).strip("/") or "."
            full = os.path.join(repo, rel)
            if rel.startswith("../") or rel == ".." or not inside(os.path.realpath(full), repo_real):
                raise DiscoveryError(f"paths: {raw!r} is outside the repository")
            if os.path.isdir(full):
                walker.walk(rel)
            elif os.path.isfile(full) and walker.is_post_name(posixpath.basename(rel)):
                walker.entries.append(Entry(rel, full, None))
            elif not os.path.exists(full):
                raise DiscoveryError(f"paths: {raw!r} does not exist in the repository")
        walker.walk_links()
    entries = walker.entries
    return entries if changed is None else [e for e in entries if e.rel in changed]


def _read(e: Entry, repo_real: str, max_bytes: int, site: Site) -> Post | Skip | None:
    """The post an entry names, or why it is skipped (None: already read through another name)."""
    real = e.real if e.real is not None else os.path.realpath(e.path)
    if not inside(real, repo_real):
        return Skip(e.rel, SkipReason.SYMLINK_OUTSIDE, f"{e.rel} is a symlink to {real}, outside the repository; not read")
    try:
        return Post._read(e.path, e.rel, max_bytes, nofollow=e.real is not None, **site.post_rules())
    except PostError as exc:
        return Skip(e.rel, exc.reason, str(exc))


def discover(settings: Settings, today: dt.date, site: Site) -> Discovery:
    """Find the posts to do (see the module docstring), by `site`'s rules (resolved once per run,
    imagegen.sites.resolve). `today` is in the configured timezone."""
    repo = os.path.abspath(settings.repo)
    repo_real = os.path.realpath(repo)
    if not os.path.isdir(repo_real):
        raise DiscoveryError(f"repository folder {repo!r} does not exist")
    found = Discovery(site=site)
    redraw = Redraw(settings, frozenset(settings.regenerate))
    entries = _walk(settings, site, repo, repo_real, found.skipped)
    # One post per real file: a file reached directly wins over the same file through a symlink.
    seen_real: set[str] = set()
    seen_rel: set[str] = set()
    for e in sorted(entries, key=lambda e: (e.linked, e.rel)):
        if e.rel in seen_rel:
            continue
        seen_rel.add(e.rel)
        real = e.real if e.real is not None else os.path.realpath(e.path)
        if real in seen_real and inside(real, repo_real):
            continue
        seen_real.add(real)
        post = _read(e, repo_real, settings.max_post_bytes, site)
        if not isinstance(post, Post):
            found.skipped.append(post)
            continue
        try:
            verdict = _not_a_post(post, site, explicit=bool(settings.posts)) or _classify(post, site, today, redraw)
        except PostError as exc:
            verdict = Skip(e.rel, exc.reason, str(exc))
        if verdict is _NOT_A_POST:
            continue
        found.posts.append(post)
        (found.todo if isinstance(verdict, Candidate) else found.skipped).append(verdict)  # type: ignore[arg-type]
    _share_covers(found, site)

    def newest_first(c: Candidate) -> tuple[int, str]:
        try:
            d = site.sort_date(c.post)
        except PostError:
            d = None
        return (-(d.toordinal() if d else 0), c.post.rel)

    found.todo.sort(key=newest_first)
    found.skipped.sort(key=lambda s: (s.post, s.reason))
    found.posts.sort(key=lambda p: p.rel)
    return found
