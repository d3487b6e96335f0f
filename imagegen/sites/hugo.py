"""Hugo sites.

Conventions followed:
- Content is the Markdown under the content folder (`contentDir`, `content/` by default, one per
  language when `languages.<lang>.contentDir` says so;
  https://gohugo.io/content-management/organization/). A leaf bundle's `index.md` (or, multilingual,
  `index.<lang>.md`) is a page and every other file in its folder a resource, never a page; a
  branch bundle's `_index.md` is a section list, never a post
  (https://gohugo.io/content-management/page-bundles/).
- Posts are the pages of the site's main sections: `params.mainSections` (or `mainSections`), else
  the section with the most pages, as Hugo computes `.Site.MainSections`
  (https://gohugo.io/methods/site/mainsections/); `about.md`, `search.md`, `archives.md` at the
  content root and pages in other sections are not posts. The `sections` setting widens or
  narrows that; `paths` replaces it. A page with `build: {list: never}` or `{render: never}`
  (https://gohugo.io/content-management/build-options/) or `headless: true` is not a post either.
- Front matter keys are case-insensitive (`Title:` is the title, `Date:` the date;
  https://gohugo.io/content-management/front-matter/), and so are configuration keys
  (`baseURL`/`baseurl`). The configuration is the root `hugo.*`/`config.*` file merged with
  `config/_default/` (`params.toml` is the `params` table, `languages.toml` the `languages` one;
  https://gohugo.io/getting-started/configuration/#configuration-directory).
- Frontmatter is YAML (`---`), TOML (`+++`) or JSON (`{`); `date`/`publishDate` date a page;
  `draft: true` pages are not built by default, nor are future ones
  (https://gohugo.io/getting-started/usage/#draft-future-and-expired-content).
- The cover reaches the page through Hugo's embedded Open Graph / Twitter templates
  (https://gohugo.io/templates/embedded/#open-graph): they read the `images` list (each entry goes
  through `absURL`; a plain string crashes Hugo 0.111's template, so it is always a list) or, for a
  page bundle without `images`, a bundle image named like `*feature*`, `*cover*` or `*thumbnail*`.
  So a page bundle gets `<bundle>-cover.<ext>` beside its `index.md` and no field (a bundle-relative
  `images` entry would become a wrong site-root URL through `absURL`); a single-file page gets
  `static/images/covers/<name>.<ext>` (files under `static/` are served from the site root,
  https://gohugo.io/content-management/static-files/) and `images: ["/images/covers/<name>.<ext>"]`.
  The URL starts with the path of `baseURL` (a site served under `/blog/` gets `/blog/images/...`),
  because `absURL` resolves a path starting with `/` against the host, not the base URL
  (https://gohugo.io/functions/urls/absurl/).
- A multilingual bundle's translations (`index.en.md`, `index.my.md`) share the bundle's
  resources, so they share one cover: the first translation (`index.md`, else the default
  language's, else by name) gets it, the others are skipped (`shared-cover`) and are covered by it.
- Themes with a `cover:` map (PaperMod and its kin: `cover.image`, `cover.alt`) get `cover.image`
  when the post already has a `cover:` map or the site config has `params.cover`/`theme = PaperMod`;
  PaperMod looks the value up among the bundle's resources first, so a bundle's value is the file name.
- Why `<bundle>-cover` and not plain `cover`: a regenerated cover's old file is deleted only when
  its name appears in no text file of the repository (imagegen/references.py), and the bare word
  `cover` appears in almost every blog; kept, the old `cover.jpg` would go on matching `*cover*`
  beside the new file, and the page could keep showing the old picture.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tomllib
from collections import Counter
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from imagegen import frontmatter as fm
from imagegen.images import IMAGE_EXTENSIONS
from imagegen.posts import Post, slug
from imagegen.sites.base import Reference, Site, exists, read_templates

ROOT_CONFIGS = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml", "config.yaml", "config.yml",
                "config.json")
CONFIG_DIR = "config/_default"
CONFIG_FILES = ROOT_CONFIGS + tuple(f"{CONFIG_DIR}/{n}" for n in ROOT_CONFIGS)
BUNDLE_COVER_WORDS = ("cover", "feature", "thumbnail")
PAGE_EXTENSIONS = (".md", ".markdown")
_INDEX = re.compile(r"index(?:\.[A-Za-z0-9_-]+)?\.(?:md|markdown)", re.IGNORECASE)
"""A leaf bundle's index file: `index.md`, or a translation's `index.<lang>.md`."""


def _parse(path: str) -> Any:
    text = open(path, encoding="utf-8").read()
    if path.endswith(".toml"):
        return tomllib.loads(text)
    if path.endswith(".json"):
        return json.loads(text)
    return fm.parse(text)


def read_config(repo: str) -> dict[str, Any]:
    """The site configuration (case-insensitive keys): the root file merged with config/_default/,
    where a file other than hugo.*/config.* is the table of its name. {} where unreadable."""
    data: dict[str, Any] = {}
    names = [n for n in ROOT_CONFIGS if os.path.isfile(os.path.join(repo, n))][:1]
    try:
        names += sorted(f"{CONFIG_DIR}/{n}" for n in os.listdir(os.path.join(repo, CONFIG_DIR))
                        if n.endswith((".toml", ".yaml", ".yml", ".json")))
    except OSError:
        pass
    for name in names:
        try:
            part = _parse(os.path.join(repo, name))
        except (OSError, ValueError, UnicodeDecodeError, fm.FrontmatterError):
            continue
        if not isinstance(part, dict):
            continue
        stem = posixpath.basename(name).rsplit(".", 1)[0]
        if stem not in ("hugo", "config"):
            part = {stem: part}
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data.setdefault(key, value)
    return fm.fold(data)


def detect(repo: str) -> str | None:
    """Why this repository is a Hugo site, or None."""
    config = exists(repo, *CONFIG_FILES)
    if config is None:
        return None
    content = read_config(repo).get("contentDir") or "content"
    if isinstance(content, str) and os.path.isdir(os.path.join(repo, content)):
        return f"{config} and {content.strip('/')}/ found"
    return None


class Hugo(Site):
    name = "hugo"
    help_notes = {"paths": "content (or contentDir)", "attachments-dir": "static/images/covers or the page bundle",
                  "frontmatter-field": "images or cover.image"}
    default_paths = ("content",)
    default_exclude = ("README.md",)
    extensions = (".md", ".markdown")
    date_fields = ("date", "publishDate", "pubDate")
    cover_dir = "static/images/covers"
    served_root = "static"
    fold_keys = True

    @cached_property
    def config(self) -> dict[str, Any]:
        """The site configuration (case-insensitive keys; {} if unreadable): see read_config."""
        return read_config(str(self.home))

    def params(self) -> dict[str, Any]:
        params = self.config.get("params")
        return params if isinstance(params, dict) else {}

    # ------------------------------------------------------------------ which files are pages

    def engine_paths(self) -> tuple[str, ...]:
        """`contentDir` (default `content`), and each language's own `contentDir`."""
        dirs = [self.config.get("contentDir") or "content"]
        languages = self.config.get("languages")
        for lang in (languages.values() if isinstance(languages, dict) else ()):
            if isinstance(lang, dict) and isinstance(lang.get("contentDir"), str):
                dirs.append(lang["contentDir"])
        out = [posixpath.normpath(d).strip("/") for d in dirs if isinstance(d, str)]
        return tuple(dict.fromkeys(self.at(d) for d in out if d and not d.startswith("..")))

    def is_post_name(self, name: str) -> bool:
        return not name.startswith("_index.") and super().is_post_name(name)

    def is_post_path(self, rel: str) -> bool:
        """A page (not a bundle's resource) in one of the main sections."""
        under = self.under_content(rel)
        if under is None:
            return True  # a path the user named outside the content folder: theirs to decide
        if self.in_leaf_bundle(rel):
            return False
        if self.paths_given and self.sections_override is None:
            return True
        sections = self.main_sections
        return sections is None or any(under.startswith(s + "/") for s in sections)

    def under_content(self, rel: str) -> str | None:
        """`rel` relative to the content folder holding it (None: in none of them)."""
        for root in self.engine_paths():
            if rel.startswith(root + "/"):
                return rel[len(root) + 1:]
        return None

    @cached_property
    def _leaf_dirs(self) -> dict[str, bool]:
        return {}

    def is_leaf_dir(self, rel_dir: str) -> bool:
        """A folder holding an `index.md` (a leaf bundle). Asked once per folder."""
        known = self._leaf_dirs.get(rel_dir)
        if known is None:
            try:
                known = any(_INDEX.fullmatch(n) for n in os.listdir(os.path.join(self.repo, rel_dir)))
            except OSError:
                known = False
            self._leaf_dirs[rel_dir] = known
        return known

    def in_leaf_bundle(self, rel: str) -> bool:
        """A bundle's resource: inside a leaf bundle's folder (at any depth) and not its index."""
        folder, name = posixpath.split(rel)
        if not _INDEX.fullmatch(name) and self.is_leaf_dir(folder):
            return True
        root = next((r for r in self.engine_paths() if rel.startswith(r + "/")), "")
        while folder and posixpath.dirname(folder) and folder != root:
            folder = posixpath.dirname(folder)
            if folder != root and self.is_leaf_dir(folder):
                return True
        return False

    @cached_property
    def main_sections(self) -> tuple[str, ...] | None:
        """The sections whose pages are posts (None: every page is). The user's `sections`, else
        `mainSections` from the configuration, else the section with the most pages."""
        if self.sections_override is not None:
            return self.sections_override
        for where in (self.params(), self.config):
            value = where.get("mainSections")
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value) and value:
                return tuple(v.strip("/") for v in value)
        counts = self.section_pages()
        return (counts.most_common(1)[0][0],) if counts else None

    def section_pages(self) -> Counter[str]:
        """Regular pages per top-level section (a leaf bundle is one page), as Hugo counts them."""
        counts: Counter[str] = Counter()
        for root in self.engine_paths():
            base = os.path.join(self.repo, root)
            for folder, dirs, files in os.walk(base):
                rel = os.path.relpath(folder, base).replace(os.sep, "/")
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                if rel == ".":
                    continue
                section = rel.split("/", 1)[0]
                if any(_INDEX.fullmatch(f) for f in files):
                    counts[section] += 1
                    dirs[:] = []
                    continue
                counts[section] += sum(1 for f in files if f.lower().endswith(PAGE_EXTENSIONS)
                                       and not f.startswith(("_index.", ".")))
        return Counter({k: v for k, v in counts.items() if v})

    def not_a_post(self, post: Post) -> str | None:
        if not post.doc.has_frontmatter:
            return None
        keys = fm.quick_keys(post.doc.block) if post.doc.kind == "yaml" else None
        if keys is not None and not {k.casefold() for k in keys} & {"build", "_build", "headless"}:
            return None  # decided from the key names alone: no YAML parse for the common page
        data = post.frontmatter
        build = data.get("build") if isinstance(data.get("build"), dict) else data.get("_build")
        if isinstance(build, dict):
            for option in ("list", "render"):
                if build.get(option) in ("never", False):
                    return f"build: {{{option}: never}}: Hugo does not publish it as a post"
        if fm.truthy(data.get("headless")):
            return "headless: true: a headless bundle is not a page"
        return None

    def posts_note(self) -> str:
        if self.paths_given and self.sections_override is None or self.main_sections is None:
            return ""
        roots = self.engine_paths()
        return "posts in " + ", ".join(f"{r}/{s}/" for r in roots[:1] for s in self.main_sections)

    # ------------------------------------------------------------------ bundles

    @staticmethod
    def is_bundle(post: Post) -> bool:
        return bool(_INDEX.fullmatch(posixpath.basename(post.rel)))

    def shared_cover(self, post: Post) -> tuple[str, tuple[int, str]] | None:
        """A multilingual bundle's translations share its cover: (the bundle, this translation's
        rank: `index.md`, then the default language's, then by name)."""
        if not self.is_bundle(post):
            return None
        folder, name = posixpath.split(post.rel)
        lang = name.split(".")[1] if name.count(".") == 2 else ""
        default = self.config.get("defaultContentLanguage") or "en"
        return folder, (0 if not lang else 1 if lang == default else 2, name)

    def bundle_covers(self, post: Post) -> list[str]:
        """Images in the post's bundle folder named so Hugo's templates take them as the cover."""
        folder = os.path.dirname(post.path)
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        return sorted(n for n in names
                      if n.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS and any(w in n.lower() for w in BUNDLE_COVER_WORDS))

    def cover_file(self, post: Post) -> str | None:
        """A page bundle's cover image (`*cover*`, `*feature*`, `*thumbnail*`) when the post names none."""
        named = super().cover_file(post)
        if named is not None or not self.is_bundle(post):
            return named
        covers = self.bundle_covers(post)
        return posixpath.join(posixpath.dirname(post.rel), covers[0]) if covers else None

    def uses_cover_map(self, post: Post) -> bool:
        if post.doc.has_frontmatter and isinstance(post.frontmatter.get("cover"), dict):
            return True
        theme = self.config.get("theme")
        themes = theme if isinstance(theme, list) else [theme]
        return isinstance(self.params().get("cover"), dict) or any(
            isinstance(t, str) and "papermod" in t.lower() for t in themes)

    def has_cover(self, post: Post) -> bool:
        """A cover field set, or a bundle image named like a cover where the templates take one by
        its name (a theme that shows only `cover.image` needs the field, even in a bundle)."""
        return super().has_cover(post) or (self.is_bundle(post) and bool(self.bundle_covers(post))
                                           and self.shown_by_name(post))

    def shown_by_name(self, post: Post) -> bool:
        """The post's cover is found by its file name in the bundle (no field needed)."""
        return self.field(post) in ("images", self.theme_field("images")) and self.bundle_by_name()

    def own_cover(self, post: Post) -> str | None:
        """Also a bundle's cover file that the theme needs named in a field (a translation of a
        bundle whose first translation got the cover: its `cover.image` names the same file)."""
        if self.is_bundle(post) and self.field_override is None:
            found = self.bundle_covers(post)
            if found:
                return posixpath.join(posixpath.dirname(post.rel), found[0])
        return super().own_cover(post)

    reads = (
        (r"\.Params\.cover\.image\b", "cover.image"),
        (r"_internal/opengraph|_internal/twitter_cards|partial\s+\"(?:_internal/)?opengraph(?:\.html)?\"", "images"),
        (r"\.Params\.images\b", "images"),
        (r"\.Params\.image\b", "image"),
        (r"\.Params\.featured_image\b", "featured_image"),
        (r"\.Params\.featureimage\b", "featureimage"),
        (r"\.Params\.thumbnail\b", "thumbnail"),
        (r"GetMatch\s+\"\*?feature\*", "bundle:feature"),
        (r"GetMatch\s+\"[^\"]*\*(?:cover|thumbnail)\*", "bundle:cover"),
    )

    def templates(self) -> list[str] | None:
        """layouts/ and each configured theme's layouts/; None when none of them writes the page's
        <head> (the theme is a Hugo module, or its folder is not checked out)."""
        theme = self.config.get("theme")
        themes = [t for t in (theme if isinstance(theme, list) else [theme]) if isinstance(t, str)]
        folders = [self.home / "layouts"] + [self.home / "themes" / t / "layouts" for t in themes]
        texts = read_templates([f for f in folders if f.is_dir()], (".html",))
        return texts if any("<head" in t for t in texts) else None

    def theme_hint(self) -> str:
        return "images (through Hugo's opengraph template), cover.image, image or featured_image"

    def post_field(self, post: Post) -> str:
        """`cover.image` for a post with a `cover:` map; else the field the templates show
        (`cover.image`, then `images`, then the theme's own); without readable templates
        `cover.image` for PaperMod-like sites and `images` (Hugo's own template) otherwise."""
        if post.doc.has_frontmatter and isinstance(post.frontmatter.get("cover"), dict):
            return "cover.image"
        fields = self.theme_fields
        if fields:
            return next((f for f in ("cover.image", "images") if f in fields), None) or self.theme_field("images")
        return "cover.image" if self.uses_cover_map(post) else "images"

    def bundle_word(self) -> str:
        """The word a bundle cover's name carries: `feature` for a theme that looks only for
        `*feature*` (Blowfish), else `cover` (Hugo's own template takes both)."""
        fields = self.theme_fields or ()
        return "feature" if "bundle:feature" in fields and not {"images", "bundle:cover"} & set(fields) else "cover"

    def bundle_by_name(self) -> bool:
        """A bundle's cover is found by its file name (no field): Hugo's own template, or a theme
        that matches `*feature*`/`*cover*` among the bundle's resources."""
        fields = self.theme_fields
        return fields is None or bool({"images", "bundle:feature", "bundle:cover"} & set(fields))

    def alt_field(self, post: Post) -> str:
        return "cover.alt" if self.field(post) == "cover.image" else "image_alt"

    def post_cover_folder(self, post: Post) -> str:
        if self.is_bundle(post):
            return posixpath.dirname(post.rel)
        return self.at(self.cover_dir)

    def cover_name(self, post: Post) -> str:
        if not self.is_bundle(post):
            return super().cover_name(post)
        name = slug(posixpath.basename(posixpath.dirname(post.rel))) or "cover"
        # Matches Hugo's `*cover*` lookup and is unlikely to be mentioned elsewhere (see above).
        return f"{name}-{self.bundle_word()}" if self.cover_dir_override is None else name

    def is_cover_file(self, rel: str) -> bool:
        """Also a page bundle's cover: `*cover*`-named beside the bundle's index file."""
        if super().is_cover_file(rel):
            return True
        folder, name = posixpath.split(rel)
        if not folder or not any(w in name.lower() for w in BUNDLE_COVER_WORDS) \
                or name.rsplit(".", 1)[-1].lower() not in IMAGE_EXTENSIONS:
            return False
        try:
            siblings = os.listdir(os.path.join(self.repo, folder))
        except OSError:
            return False
        return any(_INDEX.fullmatch(n) for n in siblings)

    def default_prefix(self) -> str:
        base = self.config.get("baseURL") or self.config.get("baseurl")
        path = urlsplit(base).path if isinstance(base, str) else ""
        return path if path.startswith("/") else "/"

    def in_bundle(self, post: Post, image_rel: str) -> bool:
        return self.is_bundle(post) and posixpath.dirname(image_rel) == posixpath.dirname(post.rel)

    def url(self, post: Post, image_rel: str) -> str:
        if self.in_bundle(post, image_rel) and not self.url_prefix_override is not None:
            return posixpath.basename(image_rel)  # a bundle resource, by its name
        return super().url(post, image_rel)

    def reference(self, post: Post, image_rel: str, alt: str) -> Reference:
        # A bundle cover is found by Hugo's templates by its name: no `images` entry (absURL would
        # make a bundle-relative entry a wrong site-root URL). A bundle image of another name (the
        # post's own picture) is named by the URL it is served at: the page's folder.
        if (self.embed_style == "frontmatter" and self.field_override is None and self.in_bundle(post, image_rel)
                and self.shown_by_name(post)):
            name = posixpath.basename(image_rel)
            if any(w in name.lower() for w in BUNDLE_COVER_WORDS):
                return Reference(None)
            return Reference(None, {"images": self.field_value(post, "images", self.bundle_url(post, image_rel))})
        return super().reference(post, image_rel, alt)

    def bundle_url(self, post: Post, image_rel: str) -> str:
        """A bundle resource's site URL: the bundle's folder under the content folder, lowercased
        as Hugo makes page paths. With `permalinks` configured the page's URL is not the folder's,
        so the resource's own name is written (current Hugo finds it among the page's resources)."""
        under = self.under_content(image_rel)
        if under is None or self.config.get("permalinks"):
            return posixpath.basename(image_rel)
        folder = posixpath.dirname(under)
        return self.prefix() + (folder.lower() + "/" if folder else "") + posixpath.basename(image_rel)

    def own_cover_candidates(self, post: Post, target: str) -> list[str]:
        return super().own_cover_candidates(post, target) + (
            [self.at("assets/" + target.lstrip("/"))] if target.startswith("/") else [])

    def can_name(self, post: Post, rel: str) -> bool:
        return self.in_bundle(post, rel) or super().can_name(post, rel)

    def may_delete(self, post: Post, rel: str) -> bool:
        if self.in_bundle(post, rel):
            name = posixpath.basename(rel).lower()
            return any(w in name for w in BUNDLE_COVER_WORDS) and name.rsplit(".", 1)[-1] in IMAGE_EXTENSIONS
        return super().may_delete(post, rel)

    def previous_cover(self, post: Post, *, new_name: str = "") -> str | None:
        """Also a page bundle's cover file when no field names it (regenerating a bundle whose
        cover Hugo finds by its `*cover*` name): the bundle image other than the new one."""
        old = super().previous_cover(post, new_name=new_name)
        if old is None and self.is_bundle(post) and self.cover_value(post) is None \
                and not self.removes_body_cover(post, True):
            found = [c for c in self.bundle_covers(post) if c != new_name]
            if found:
                old = self.existing_cover(post, found[0])
        return old

    def old_cover_candidates(self, post: Post, target: str) -> list[str]:
        out = super().old_cover_candidates(post, target)
        clean = target.split("#", 1)[0].split("?", 1)[0].strip()
        prefix = self.prefix()
        if clean.startswith(prefix):
            out.append(self.at("static/" + clean[len(prefix):]))
        return out


__all__ = ["Hugo", "detect"]
