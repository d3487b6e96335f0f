"""Quartz 4 sites (a digital garden built from an Obsidian vault: https://quartz.jzhao.xyz/).

Conventions followed:
- A Quartz site has `quartz.config.ts` at its root and its notes in `content/`
  (https://quartz.jzhao.xyz/authoring-content). Every Markdown note there is published, so every
  note is a post, dated or not, except: `draft: true` notes (the default `RemoveDrafts` filter;
  skipped as `draft`), notes without `publish: true` when the config uses the `ExplicitPublish`
  filter instead (https://quartz.jzhao.xyz/features/private-pages; left out), and whatever the
  config's `ignorePatterns` match (default `private`, `templates`, `.obsidian`). `index.md` files
  are the home and folder pages, not posts.
- A note's title is its `title`, else its file name, as Quartz shows it (the FrontMatter
  transformer sets `title` to the file's stem when there is none).
- The social image is the `socialImage` front matter key (aliases `image` and `cover`); a value
  that is not a full URL is served from Quartz's static folder: og:image is
  `https://<baseUrl>/static/<socialImage>` (quartz/components/Head.tsx, plugins/emitters/ogImage.tsx).
  So the cover goes to `quartz/static/covers/<note>.<ext>` and the note gets
  `socialImage: covers/<note>.<ext>`.
- Front matter is YAML; a note without any gets a small YAML block (Quartz reads it with
  gray-matter), unlike the engines that could keep TOML there.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from functools import cached_property

from imagegen import frontmatter as fm
from imagegen.posts import Post
from imagegen.sites.base import Site, exists

__all__ = ["Quartz", "detect"]

CONFIG_FILES = ("quartz.config.ts", "quartz.config.js", "quartz.config.mjs")
STATIC = "quartz/static"
DEFAULT_IGNORE = ("private", "templates", ".obsidian")


def detect(repo: str) -> str | None:
    config = exists(repo, *CONFIG_FILES)
    if config and os.path.isdir(os.path.join(repo, "content")):
        return f"{config} and content/ found"
    return None


def _without_comments(text: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)


class Quartz(Site):
    name = "quartz"
    default_paths = ("content",)
    default_exclude = ("index.md",)
    extensions = (".md",)
    date_fields = ("date", "published", "created")
    cover_dir = f"{STATIC}/covers"
    default_field = "socialImage"
    served_root = STATIC
    needs_frontmatter = False
    name_title = True

    @cached_property
    def config_text(self) -> str:
        name = exists(self.home, *CONFIG_FILES)
        try:
            return _without_comments(open(os.path.join(self.home, name), encoding="utf-8").read()) if name else ""
        except (OSError, UnicodeDecodeError):
            return ""

    @cached_property
    def ignore_patterns(self) -> tuple[str, ...]:
        """The config's `ignorePatterns` (globs relative to content/), or Quartz's default."""
        m = re.search(r"ignorePatterns\s*:\s*\[(.*?)\]", self.config_text, re.S)
        if not m:
            return DEFAULT_IGNORE
        return tuple(re.findall(r"""["'`]([^"'`]+)["'`]""", m.group(1)))

    @cached_property
    def explicit_publish(self) -> bool:
        """The config publishes only `publish: true` notes (Plugin.ExplicitPublish)."""
        return "ExplicitPublish(" in self.config_text

    def ignored(self, rel: str) -> bool:
        """`rel` (or a folder it is in) matches one of the config's ignorePatterns."""
        content = self.at("content") + "/"
        under = rel[len(content):] if rel.startswith(content) else rel
        parts = under.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch.fnmatchcase(p, pat.strip("/")) for pat in self.ignore_patterns for p in prefixes)

    def skip_dir(self, rel: str, name: str) -> bool:
        return super().skip_dir(rel, name) or self.ignored(rel)

    def is_post_path(self, rel: str) -> bool:
        return not self.ignored(rel)

    def not_a_post(self, post: Post) -> str | None:
        if self.explicit_publish and not fm.truthy(post.frontmatter.get("publish") if post.doc.has_frontmatter
                                                   else None):
            return "not `publish: true`, and this Quartz publishes only those (ExplicitPublish)"
        return None

    def cover_fields(self, post: Post) -> tuple[str, ...]:
        return tuple(dict.fromkeys(("socialImage", "image", "cover", self.field(post))))

    def url(self, post: Post, image_rel: str) -> str:
        """Relative to Quartz's static folder, which Quartz serves as `/static/` (an explicit
        prefix still wins, as a full URL)."""
        if self.url_prefix_override is not None:
            return super().url(post, image_rel)
        return self.served_path(image_rel)

    def old_cover_candidates(self, post: Post, target: str) -> list[str]:
        return super().old_cover_candidates(post, target) + [self.at(posixpath.join(STATIC, target.lstrip("/")))]
