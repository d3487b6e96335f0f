"""What a blog engine decides, and the rules every engine shares.

A `Site` answers, for one repository, following its engine's own conventions: which files are
posts, a post's date, whether it is a draft or opted out, whether it already has a cover, where a
new cover file goes (`cover_place`) and how the post refers to it (`reference`: a line in the body,
or a frontmatter field, with a path the engine resolves), which field holds the cover's alt text,
which old cover file a regenerated cover replaces (`previous_cover`), and where cover files live
(`cover_folders`, for the cleanup of a killed run's files). Each engine is one module next to this
one, declaring its own defaults as class attributes; `imagegen.sites` holds the registry.

A Site is built once per run (`imagegen.sites.resolve`) from the user's settings: every path
setting the user gives overrides the engine's default for that one thing (`paths`, `exclude`,
`attachments-dir`, `embed-style`, `frontmatter-field` (dotted for a nested key) and
`image-url-prefix`); a setting left out (None) means "the engine decides".
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Mapping, TYPE_CHECKING
from urllib.parse import quote, unquote

from imagegen import frontmatter as fm
from imagegen.images import IMAGE_EXTENSIONS
from imagegen.markdown.embeds import embed_line
from imagegen.posts import Post, date_prefix, slug, truthy

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.config.settings import Settings

__all__ = ["COVER_FIELDS", "OPT_OUT_FIELDS", "CoverPlace", "Reference", "Site", "get_dotted", "present"]

OPT_OUT_FIELDS = ("image", "cover", "cover_image", "imagegen")
"""Set to `false`, any of these means "no cover for this post, thank you" (reason `opted-out`)."""

COVER_FIELDS = ("image", "images", "cover", "cover_image", "heroImage", "featured_image", "thumbnail")
"""Fields that, when set, mean the post already has a cover (frontmatter-based engines)."""

IMAGE_SUFFIXES = tuple("." + e for e in IMAGE_EXTENSIONS)
MAX_TEMPLATES = 2000
"""Template files read to find which cover field a theme shows (a bound for huge theme folders)."""
MAX_TEMPLATE_BYTES = 256 * 1024


def read_templates(folders: list[Path], suffixes: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    """The text of the template files under `folders` (bounded: MAX_TEMPLATES files of at most
    MAX_TEMPLATE_BYTES each; unreadable ones and those whose name starts with one of `skip` are
    left out)."""
    texts: list[str] = []
    for folder in folders:
        for dirpath, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
            for name in sorted(files):
                if not name.endswith(suffixes) or name.startswith(skip or ("\0",)) or len(texts) >= MAX_TEMPLATES:
                    continue
                try:
                    with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                        texts.append(f.read(MAX_TEMPLATE_BYTES))
                except OSError:
                    continue
    return texts


def get_dotted(data: Any, name: str) -> Any:
    """`data["cover"]["image"]` for `cover.image`; None when any step is missing."""
    for part in name.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def present(value: Any) -> bool:
    """A cover field that names a cover: a non-blank text, a list holding one, or a map whose
    `image`, `path` or `src` does."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(present(v) for v in value)
    if isinstance(value, dict):
        return any(present(value.get(k)) for k in ("image", "path", "src", "url"))
    return False


def first_path(value: Any) -> str | None:
    """The path a cover field's value names: the text, a list's first text, a map's image/path/src."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if isinstance(value, dict):
        value = next((value[k] for k in ("image", "path", "src") if isinstance(value.get(k), str)), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class CoverPlace:
    """Where a post's new cover file goes, before the writer picks a free name."""

    folder: str
    """Repo-relative folder of the cover file."""
    name: str
    """File name without extension (the writer adds -2, -3 ... when it is taken)."""


@dataclass(frozen=True)
class Reference:
    """How a post will refer to its new cover."""

    embed: str | None
    """A line for the body, after the first H1 (None: the body is not touched)."""
    fields: dict[str, fm.Value] = field(default_factory=dict)
    """Frontmatter fields naming the cover (dotted names for nested keys)."""


class Site:
    """Base class: the shared rules, and the hooks each engine module fills in."""

    # ------------------------------------------------------------------ each engine's defaults
    name: ClassVar[str] = ""
    help_notes: ClassVar[Mapping[str, str]] = {}
    """How this engine's default reads in a setting's help (`imagegen run --help`, action.yml),
    where the class attributes alone would not say it (Hugo's `images or cover.image`); see
    `describe_default`."""
    default_paths: ClassVar[tuple[str, ...]] = (".",)
    default_exclude: ClassVar[tuple[str, ...]] = ()
    extensions: ClassVar[tuple[str, ...]] = (".md",)
    dated_names: ClassVar[bool] = False
    """Only files named YYYY-MM-DD-... are posts."""
    default_style: ClassVar[str] = "frontmatter"
    default_field: ClassVar[str] = "image"
    """The frontmatter field that names the cover (dotted: nested), unless a post says otherwise."""
    has_drafts: ClassVar[bool] = True
    date_fields: ClassVar[tuple[str, ...]] = ("date",)
    needs_frontmatter: ClassVar[bool] = True
    """A post without frontmatter is left alone (reason `no-frontmatter`): the engine keeps the
    cover there, and creating a block could shadow one the engine reads differently."""
    skip_dirs: ClassVar[frozenset[str]] = frozenset({"node_modules"})
    cover_dir: ClassVar[str] = "attachments"
    """Where cover files go (repo-relative) unless the engine says otherwise for a post."""
    served_root: ClassVar[str] = ""
    """The site's folder the built site serves from its root (Hugo `static`, Astro `public`)."""
    fold_keys: ClassVar[bool] = False
    """The engine reads frontmatter keys case-insensitively (Hugo): posts are read that way."""
    name_title: ClassVar[bool] = False
    """A post without a title or H1 is titled by its file name, as the engine shows it."""

    def __init__(self, repo: Path | str, *, why: str = "", paths: tuple[str, ...] | None = None,
                 exclude: tuple[str, ...] | None = None, include_undated: bool = False,
                 embed_style: str | None = None, field: str | None = None, cover_dir: str | None = None,
                 url_prefix: str | None = None, sections: tuple[str, ...] | None = None, root: str = "",
                 body_image: str = "cover") -> None:
        self.repo = Path(repo)
        self.root = posixpath.normpath(root).strip("/") if root and posixpath.normpath(root) != "." else ""
        """The site's folder in the repository ('' the repository itself): `site/`, `docs/`, `blog/`
        of a larger repository. The engine's own folders are under it; post paths stay repo-relative."""
        self.home = self.repo / self.root if self.root else self.repo
        """The site's folder on disk (where its configuration is read)."""
        self.why = why
        self.body_image = body_image
        """A post whose only image is in its body: `cover` (that image is named as the cover),
        `generate`, or `skip` (frontmatter engines; in a body-embed style the body holds the cover)."""
        self.paths_given = bool(paths)
        """The user named the content paths: they decide, not the engine's sections."""
        self.sections_override = tuple(s.strip("/") for s in sections) if sections else None
        """The user's `sections`, or None (the engine's main sections or collections)."""
        self.paths: tuple[str, ...] = paths or self.engine_paths()
        self.exclude: tuple[str, ...] = self.default_exclude if exclude is None else exclude
        self._exclude_folded = frozenset(n.casefold() for n in self.exclude)
        self.include_undated = include_undated or not self.dated_names
        self.embed_style: str = embed_style or self.engine_style()
        self.field_override = field
        """The user's `frontmatter-field`, or None (the engine's per-post choice)."""
        self.cover_dir_override = cover_dir
        """The user's `attachments-dir`, or None (the engine's per-post choice)."""
        self.url_prefix_override = url_prefix
        """The user's `image-url-prefix`, or None."""

    @classmethod
    def from_settings(cls, settings: "Settings", why: str = "", root: str = "") -> "Site":
        """The site with the user's path settings applied (each None: the engine's default)."""
        return cls(settings.repo, why=why, root=root, paths=settings.paths, exclude=settings.exclude,
                   include_undated=settings.include_undated, embed_style=settings.embed_style,
                   field=settings.frontmatter_field, cover_dir=settings.attachments_dir,
                   url_prefix=settings.image_url_prefix, sections=settings.sections,
                   body_image=settings.body_image)

    @classmethod
    def describe_default(cls, setting: str) -> str:
        """This engine's default for one of the settings it owns, in words for the help texts:
        so adding an engine never means editing the settings' declarations."""
        note = cls.help_notes.get(setting)
        if note:
            return note
        said = {"paths": "the whole repository" if cls.default_paths == (".",) else ", ".join(cls.default_paths),
                "exclude": ", ".join(cls.default_exclude) or "none", "attachments-dir": cls.cover_dir,
                "embed-style": cls.default_style, "frontmatter-field": cls.default_field}
        return said[setting]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.why!r}>"

    def post_rules(self) -> dict[str, bool]:
        """How this engine reads a post (imagegen.posts.Post's keyword arguments)."""
        return {"fold_keys": self.fold_keys, "name_title": self.name_title}

    def at(self, rel: str) -> str:
        """A path of the site (`content`, `static/images/covers`) as a repo-relative path."""
        return posixpath.normpath(posixpath.join(self.root, rel)) if self.root else rel

    def site_rel(self, rel: str) -> str:
        """A repo-relative path as a path of the site (inverse of `at`)."""
        return rel[len(self.root) + 1:] if self.root and rel.startswith(self.root + "/") else rel

    def describe(self) -> str:
        """The run's first line: which site, where, and why (and, where the engine chose them,
        where the posts are)."""
        name = f"{self.name} in {self.root}/" if self.root else self.name
        line = f"site: {name} ({self.why})" if self.why else f"site: {name}"
        note = self.posts_note()
        return f"{line}, {note}" if note else line

    def posts_note(self) -> str:
        """Where the engine's posts are, when the site's configuration chose it ('' otherwise)."""
        return ""

    # ------------------------------------------------------------------ which files are posts

    def engine_paths(self) -> tuple[str, ...]:
        """The content paths when the user names none: the engine's default, or what the site's
        own configuration says (Hugo's `contentDir`, Astro's collection folders)."""
        return tuple(self.at(p) for p in self.default_paths)

    def engine_style(self) -> str:
        """How a post refers to its cover when the user does not say: the engine's default, or
        what the site's own settings say (an Obsidian vault's link format)."""
        return self.default_style

    def not_a_post(self, post: Post) -> str | None:
        """Why a file the walk found is, by its frontmatter, a page the engine does not publish as
        a post (Hugo's `build: {list: never}`, `headless: true`); None for a post. Such a file is
        left out of the run entirely (named with --posts: skipped, `not-a-post`)."""
        return None

    def shared_cover(self, post: Post) -> tuple[str, tuple[int, str]] | None:
        """Posts that share one cover file (a multilingual Hugo bundle's translations): (what they
        share, this post's rank among them). Only the first needing a cover gets one made; the
        others are skipped (`shared-cover`). None: the post's cover is its own."""
        return None

    def is_post_name(self, name: str) -> bool:
        """A file name that can be a post (the walker asks before reading anything)."""
        low = name.lower()
        if name.startswith(".") or not low.endswith(self.extensions):
            return False
        if name.casefold() in self._exclude_folded:
            return False
        return self.include_undated or date_prefix(name) is not None

    def is_post_path(self, rel: str) -> bool:
        """The whole repo-relative path (folders too) fits the engine's content layout."""
        return True

    def skip_dir(self, rel: str, name: str) -> bool:
        """A folder the walker never enters."""
        return name.startswith(".") or name in self.skip_dirs

    # ------------------------------------------------------------------ facts about a post

    def date(self, post: Post) -> dt.date | None:
        """The post's date: the file name's YYYY-MM-DD, else the first date field that has one."""
        if post.date is not None:
            return post.date
        if not post.doc.has_frontmatter:
            return None
        for key in self.post_date_fields(post):
            value = post.frontmatter.get(key)
            if isinstance(value, str) and date_prefix(value.strip()) is not None:
                return date_prefix(value.strip())
        return None

    def post_date_fields(self, post: Post) -> tuple[str, ...]:
        """The frontmatter fields that date this post, first found wins (Astro: the schema's)."""
        return self.date_fields

    def sort_date(self, post: Post) -> dt.date | None:
        """The date posts are ordered by (newest first)."""
        return self.date(post)

    def is_draft(self, post: Post) -> bool:
        if not self.has_drafts or not post.doc.has_frontmatter:
            return False
        return truthy(post.frontmatter.get("draft"))

    def opt_out_fields(self, post: Post | None = None) -> tuple[str, ...]:
        """Fields that, set to `false`, mean "no cover": the shared ones and the cover field."""
        return tuple(dict.fromkeys(OPT_OUT_FIELDS + ((self.field(post),) if post is not None else
                                                     (self.field_override or self.default_field,))))

    def opted_out(self, post: Post) -> str | None:
        """The field that says "no cover" (`image: false` ...), or None."""
        if not post.doc.has_frontmatter:
            return None
        data = post.frontmatter
        for name in self.opt_out_fields(post):
            if get_dotted(data, name) is False:
                return name
        return None

    def cover_fields(self, post: Post) -> tuple[str, ...]:
        """Frontmatter fields whose value means the post has a cover."""
        return tuple(dict.fromkeys(COVER_FIELDS + (self.field(post),)))

    def body_is_cover(self) -> bool:
        """An image in the body counts as the post's cover: the cover is embedded in the body
        (embed styles obsidian/markdown), or the user keeps body images as covers (`body-image:
        skip`). Otherwise no theme shows a body image as the cover or in og:image."""
        return self.embed_style != "frontmatter" or self.body_image == "skip"

    def has_cover(self, post: Post) -> bool:
        """Any cover field set (or, where the body holds the cover, an image in the body outside code)."""
        if self.body_is_cover() and post.has_image():
            return True
        data = post.frontmatter if post.doc.has_frontmatter else {}
        return any(present(get_dotted(data, f)) for f in self.cover_fields(post))

    def cover_value(self, post: Post) -> str | None:
        """The path the cover field holds now (regenerating: the old cover to replace)."""
        return first_path(get_dotted(post.frontmatter, self.field(post))) if post.doc.has_frontmatter else None

    # ------------------------------------------------------------------ where the cover goes

    def field(self, post: Post) -> str:
        """The frontmatter field that names the cover (dotted: nested)."""
        return self.field_override or self.post_field(post)

    def post_field(self, post: Post) -> str:
        """The engine's cover field for this post (the user's `frontmatter-field` wins over it)."""
        return self.default_field

    def alt_field(self, post: Post) -> str:
        """The frontmatter field for the cover's alt text."""
        return "image_alt"

    def cover_folder(self, post: Post) -> str:
        """Repo-relative folder for this post's cover file."""
        return self.cover_dir_override or self.post_cover_folder(post)

    def post_cover_folder(self, post: Post) -> str:
        return self.at(self.cover_dir)

    def cover_name(self, post: Post) -> str:
        """The cover file's name without extension (the writer adds -2, -3 ... when taken)."""
        p = PurePosixPath(post.rel)
        stem = p.parent.name if p.stem.lower() == "index" and p.parent.name else p.stem
        return slug(stem) or "cover"

    def cover_place(self, post: Post) -> CoverPlace:
        return CoverPlace(posixpath.normpath(self.cover_folder(post)), self.cover_name(post))

    def cover_folders(self) -> tuple[str, ...]:
        """Repo-relative folders this site puts cover files in, whatever the post (a place that
        depends on the post, like a Hugo page bundle, is recognised by `is_cover_file`). The
        cleanup of a killed run's files looks only here."""
        return (self.cover_dir_override or self.at(self.cover_dir),)

    def is_cover_file(self, rel: str) -> bool:
        """Whether a repo-relative image file is where this site puts covers (so a file a killed
        run wrote there, and no post names, may be removed)."""
        if not rel.lower().endswith(IMAGE_SUFFIXES):
            return False
        return any(rel.startswith(posixpath.normpath(f).rstrip("/") + "/") for f in self.cover_folders())

    # ------------------------------------------------------------------ how the post names it

    def url(self, post: Post, image_rel: str) -> str:
        """How the post names the cover file: by default a site-absolute URL, the prefix plus the
        path under the folder the engine serves as the site root."""
        return self.prefix() + self.served_path(image_rel)

    def prefix(self) -> str:
        p = self.url_prefix_override if self.url_prefix_override is not None else self.default_prefix()
        return p if p.endswith("/") else p + "/"

    def default_prefix(self) -> str:
        return "/"

    def served_path(self, image_rel: str) -> str:
        """The repo path of a file as the built site serves it (no leading slash)."""
        return self.served(self.site_rel(image_rel))

    def served(self, site_path: str) -> str:
        """A path of the site as the built site serves it: Hugo's `static/x` is `x`."""
        root = self.served_root
        return site_path[len(root) + 1:] if root and site_path.startswith(root + "/") else site_path

    # ------------------------------------------------------------------ what the theme shows

    reads: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(regular expression, cover field) pairs: a template matching the expression shows that field
    (as the page's cover element or its og:image). Most specific first."""

    def templates(self) -> list[str] | None:
        """The site's layout templates, or None when they are not all in the repository (a theme
        from a gem or a module: what it shows cannot be read here)."""
        return None

    @cached_property
    def theme_fields(self) -> tuple[str, ...] | None:
        """The cover fields the site's templates show, in `reads` order; () when the templates are
        all here and none shows one; None when that cannot be told."""
        texts = self.templates()
        if texts is None:
            return None
        found = [name for pattern, name in self.reads if any(re.search(pattern, t, re.I) for t in texts)]
        return tuple(dict.fromkeys(found))

    def theme_field(self, default: str) -> str:
        """The field to write: `default` when the templates show it (or cannot be read), else the
        first field they do show."""
        fields = self.theme_fields
        if not fields or default in fields:
            return default
        return next((f for f in fields if not f.startswith("bundle:")), default)

    def unseen(self) -> str | None:
        """One sentence when the site's templates show no cover from front matter (the covers
        would be invisible): said once, before any quota is spent. None otherwise."""
        if self.theme_fields != () or self.embed_style != "frontmatter" or self.field_override is not None:
            return None
        return (f"this {self.name} theme never shows a cover from front matter (no layout reads "
                f"{self.theme_hint()}): the covers would be invisible on the site")

    def theme_hint(self) -> str:
        """What a layout would have to read, for `unseen`'s sentence."""
        return " or ".join(dict.fromkeys(name for _, name in self.reads)) or "a cover field"

    # ------------------------------------------------------------------ the post's own image

    def own_cover(self, post: Post) -> str | None:
        """The repo-relative file of the post's first body image, when it is one the cover field
        can name (`can_name`); None for a remote image, one that resolves to no file, or one the
        engine cannot reach from the field."""
        ref = post.cover()
        if ref is None:
            return None
        target = re.sub(r"^\{\{[^}]*\}\}", "", ref.target.split("|", 1)[0]).split("#", 1)[0].split("?", 1)[0].strip()
        if not target or "://" in target or target.startswith(("data:", "//")):
            return None
        for rel in self.own_cover_candidates(post, target):
            rel = posixpath.normpath(rel)
            if rel.startswith("..") or not rel.lower().endswith(IMAGE_SUFFIXES):
                continue
            try:
                real = (self.repo / rel).resolve()
                real.relative_to(self.repo.resolve())
            except (ValueError, OSError):
                continue
            if real.is_file() and self.can_name(post, rel):
                return rel
        return None

    def own_cover_candidates(self, post: Post, target: str) -> list[str]:
        """Files a body image's target may be: a site path (`/images/x.png`: under the folder the
        site serves from its root, past the URL prefix), or a path relative to the post."""
        if target.startswith("/"):
            path = target.lstrip("/")
            prefix = self.prefix().strip("/")
            if prefix and path.startswith(prefix + "/"):
                path = path[len(prefix) + 1:]
            return [self.at(posixpath.join(self.served_root, path) if self.served_root else path)]
        return [posixpath.join(posixpath.dirname(post.rel), target)]

    def can_name(self, post: Post, rel: str) -> bool:
        """Whether the cover field can name this file so that the built site shows it: it is under
        the folder the site serves (when the engine has one)."""
        root = self.at(self.served_root) if self.served_root else self.root
        return not root or rel.startswith(root + "/")

    def reference(self, post: Post, image_rel: str, alt: str) -> Reference:
        style = self.embed_style
        if style == "obsidian":  # vault-relative: from the vault's (the site's) folder
            return Reference(embed_line("obsidian", self.site_rel(image_rel), post.rel, alt))
        if style == "markdown":
            url = self.body_url(post, image_rel)
            if url == posixpath.relpath(image_rel, posixpath.dirname(post.rel) or "."):
                return Reference(embed_line("markdown", image_rel, post.rel, alt))
            alt = " ".join(alt.split()).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
            return Reference(f"![{alt}]({quote(url)})")
        name = self.field(post)
        return Reference(None, {name: self.field_value(post, name, self.url(post, image_rel))})

    def body_url(self, post: Post, image_rel: str) -> str:
        """The URL a Markdown image in the body uses."""
        return self.url(post, image_rel)

    def field_value(self, post: Post, name: str, url: str) -> fm.Value:
        """The value for the cover field: a list when the field is one (`images`), the old cover
        replaced in it when regenerating; else the URL."""
        current = get_dotted(post.frontmatter, name) if post.doc.has_frontmatter else None
        if isinstance(current, list) or (current is None and name.rsplit(".", 1)[-1] == "images"):
            items = [v for v in (current or []) if isinstance(v, str)] if isinstance(current, list) else []
            if items and len(items) == len(current or []):
                old = self.cover_value(post) if post.regenerate else None
                if old is not None and old in [i.strip() for i in items]:
                    return [url if i.strip() == old else i for i in items]
                return items + [url]
            return [url]
        return url

    # ------------------------------------------------------------------ the old cover

    def removes_body_cover(self, post: Post, regenerate: bool) -> bool:
        """Regenerating replaces the cover embed in the body only where the body holds the cover
        (embed styles obsidian/markdown): in a frontmatter site, images in the body are content."""
        return regenerate and self.embed_style != "frontmatter" and post.cover() is not None

    def previous_cover(self, post: Post, *, new_name: str = "") -> str | None:
        """Regenerating: the repo-relative file of the cover being replaced, when it exists and is
        ours to delete (inside the folder covers go to); None otherwise. `new_name` is the new
        cover's file name (never the old one). Looks at the file system; changes nothing."""
        if self.removes_body_cover(post, True):
            cover = post.cover()
            return self.existing_cover(post, cover.target) if cover is not None else None
        value = self.cover_value(post)
        return self.existing_cover(post, value) if value is not None else None

    def cover_file(self, post: Post) -> str | None:
        """The repo-relative image file the post's cover is now (its embed after the title, else
        its cover fields), whether or not it is ours to delete; None when the post names none or
        names a file that is not there (a URL, a typo). `imagegen preview` shows it."""
        targets = []
        cover = post.cover()
        if cover is not None:
            targets.append(cover.target)
        data = post.frontmatter if post.doc.has_frontmatter else {}
        for name in (self.field(post), *self.cover_fields(post)):
            value = first_path(get_dotted(data, name))
            if value:
                targets.append(value)
        repo_real = self.repo.resolve()
        for target in targets:
            clean = unquote(target.split("|", 1)[0].strip())
            if not clean or "://" in clean:
                continue
            for rel in self.old_cover_candidates(post, clean):
                try:
                    real = (self.repo / rel).resolve()
                    if real.is_file() and rel.lower().endswith(IMAGE_SUFFIXES):
                        return real.relative_to(repo_real).as_posix()
                except (ValueError, OSError):
                    continue
        return None

    def existing_cover(self, post: Post, target: str) -> str | None:
        """The file a cover reference names, if it exists and may be deleted."""
        clean = unquote(target.split("|", 1)[0].strip())
        if not clean or "://" in clean:
            return None
        repo_real = self.repo.resolve()
        for rel in self.old_cover_candidates(post, clean):
            try:
                real = (self.repo / rel).resolve()
                real_rel = real.relative_to(repo_real).as_posix()
            except (ValueError, OSError):
                continue
            if self.may_delete(post, real_rel) and real.is_file():
                return real_rel
        return None

    def may_delete(self, post: Post, rel: str) -> bool:
        """Whether a regenerated cover's old file (repo-relative) is ours to delete: only inside the
        folder covers go to."""
        folder = posixpath.normpath(self.cover_folder(post))
        return rel.startswith(folder.rstrip("/") + "/") and rel.lower().endswith(IMAGE_SUFFIXES)

    def old_cover_candidates(self, post: Post, target: str) -> list[str]:
        """Repo-relative paths an old cover reference may name (the caller keeps existing ones)."""
        clean = target.split("#", 1)[0].split("?", 1)[0].strip()
        out = [clean.lstrip("/"), self.at(clean.lstrip("/"))]
        prefix = self.prefix()
        if clean.startswith(prefix) and prefix != "/":
            out.append(clean[len(prefix):])
        post_dir = posixpath.dirname(post.rel)
        out.append(posixpath.normpath(posixpath.join(post_dir, clean)))
        out.append(posixpath.join(self.cover_folder(post), posixpath.basename(clean)))
        return [o for o in out if o and not o.startswith("..")]


def exists(repo: os.PathLike[str] | str, *names: str) -> str | None:
    """The first of `names` that exists in the repository."""
    for n in names:
        if os.path.exists(os.path.join(repo, n)):
            return n
    return None
