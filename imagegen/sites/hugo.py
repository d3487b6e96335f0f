"""Hugo sites.

Conventions followed:
- Content is every Markdown file under `content/` (https://gohugo.io/content-management/organization/);
  a leaf bundle's `index.md` is a page, a branch bundle's `_index.md` is a section list, never a post
  (https://gohugo.io/content-management/page-bundles/).
- Frontmatter is YAML (`---`), TOML (`+++`) or JSON (`{`) (https://gohugo.io/content-management/front-matter/);
  `date`/`publishDate` date a page; `draft: true` pages are not built by default, nor are future
  ones (https://gohugo.io/getting-started/usage/#draft-future-and-expired-content).
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
import tomllib
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from imagegen import frontmatter as fm
from imagegen.images import IMAGE_EXTENSIONS
from imagegen.posts import Post
from imagegen.sites.base import Reference, Site, exists

CONFIG_FILES = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml", "config.yaml", "config.yml",
                "config.json", "config/_default/hugo.toml", "config/_default/hugo.yaml",
                "config/_default/config.toml", "config/_default/config.yaml")
BUNDLE_COVER_WORDS = ("cover", "feature", "thumbnail")


def detect(repo: str) -> str | None:
    """Why this repository is a Hugo site, or None."""
    config = exists(repo, *CONFIG_FILES)
    if config and os.path.isdir(os.path.join(repo, "content")):
        return f"{config} and content/ found"
    return None


class Hugo(Site):
    name = "hugo"
    default_paths = ("content",)
    default_exclude = ("README.md",)
    extensions = (".md", ".markdown")
    date_fields = ("date", "publishDate", "pubDate")
    cover_dir = "static/images/covers"

    @cached_property
    def config(self) -> dict[str, Any]:
        """The site configuration (only baseURL, theme and params are looked at); {} if unreadable."""
        name = exists(self.repo, *CONFIG_FILES)
        if name is None:
            return {}
        try:
            text = open(os.path.join(self.repo, name), encoding="utf-8").read()
            if name.endswith(".toml"):
                data = tomllib.loads(text)
            elif name.endswith(".json"):
                data = json.loads(text)
            else:
                data = fm.parse(text)
        except (OSError, ValueError, fm.FrontmatterError):
            return {}
        return data if isinstance(data, dict) else {}

    def is_post_name(self, name: str) -> bool:
        return not name.startswith("_index.") and super().is_post_name(name)

    @staticmethod
    def is_bundle(post: Post) -> bool:
        return posixpath.splitext(posixpath.basename(post.rel))[0] == "index"

    def bundle_covers(self, post: Post) -> list[str]:
        """Images in the post's bundle folder named so Hugo's templates take them as the cover."""
        folder = os.path.dirname(post.path)
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        return sorted(n for n in names
                      if n.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS and any(w in n.lower() for w in BUNDLE_COVER_WORDS))

    def uses_cover_map(self, post: Post) -> bool:
        if post.doc.has_frontmatter and isinstance(post.frontmatter.get("cover"), dict):
            return True
        params = self.config.get("params")
        theme = self.config.get("theme")
        themes = theme if isinstance(theme, list) else [theme]
        return (isinstance(params, dict) and isinstance(params.get("cover"), dict)) or any(
            isinstance(t, str) and "papermod" in t.lower() for t in themes)

    def has_cover(self, post: Post) -> bool:
        return super().has_cover(post) or (self.is_bundle(post) and bool(self.bundle_covers(post)))

    def post_field(self, post: Post) -> str:
        return "cover.image" if self.uses_cover_map(post) else "images"

    def alt_field(self, post: Post) -> str:
        return "cover.alt" if self.field(post) == "cover.image" else "image_alt"

    def post_cover_folder(self, post: Post) -> str:
        if self.is_bundle(post):
            return posixpath.dirname(post.rel)
        return self.cover_dir

    def cover_name(self, post: Post) -> str:
        if self.is_bundle(post) and not self.cover_dir_override is not None:
            # Matches Hugo's `*cover*` lookup and is unlikely to be mentioned elsewhere (see above).
            return super().cover_name(post) + "-cover"
        return super().cover_name(post)

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
        return any(n.startswith("index.") and n.lower().endswith(self.extensions) for n in siblings)

    def default_prefix(self) -> str:
        base = self.config.get("baseURL") or self.config.get("baseurl")
        path = urlsplit(base).path if isinstance(base, str) else ""
        return path if path.startswith("/") else "/"

    def served_path(self, image_rel: str) -> str:
        return image_rel[len("static/"):] if image_rel.startswith("static/") else image_rel

    def in_bundle(self, post: Post, image_rel: str) -> bool:
        return self.is_bundle(post) and posixpath.dirname(image_rel) == posixpath.dirname(post.rel)

    def url(self, post: Post, image_rel: str) -> str:
        if self.in_bundle(post, image_rel) and not self.url_prefix_override is not None:
            return posixpath.basename(image_rel)  # a bundle resource, by its name
        return super().url(post, image_rel)

    def reference(self, post: Post, image_rel: str, alt: str) -> Reference:
        # A bundle cover is found by Hugo's templates by its name: no `images` entry (absURL would
        # make a bundle-relative entry a wrong site-root URL).
        if (self.embed_style == "frontmatter" and self.field(post) == "images" and not self.field_override is not None
                and self.in_bundle(post, image_rel)):
            return Reference(None)
        return super().reference(post, image_rel, alt)

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
            out.append("static/" + clean[len(prefix):])
        return out


__all__ = ["Hugo", "detect"]
