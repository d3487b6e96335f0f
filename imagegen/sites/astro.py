"""Astro sites.

Conventions followed:
- Posts are the Markdown and MDX entries of the content collections under `src/content/`
  (https://docs.astro.build/en/guides/content-collections/); the official blog starter keeps them
  in `src/content/blog/` with `pubDate` as the date and `heroImage` as the cover.
- The starter's schema declares `heroImage: image().optional()`
  (https://docs.astro.build/en/guides/images/#images-in-content-collections): `image()` takes a
  path relative to the post file, checks it exists and optimises it; a path that does not resolve
  fails the build. So the file goes to `src/assets/covers/<post>.<ext>` and the post gets
  `heroImage: "../../assets/covers/<post>.<ext>"` (relative to the post), its alt in `heroImageAlt`.
- `draft: true` is the common convention for unpublished entries: skipped as `draft`.
"""

from __future__ import annotations

import os
import posixpath

from imagegen.posts import Post
from imagegen.sites.base import Site

CONFIG_FILES = ("astro.config.mjs", "astro.config.js", "astro.config.ts", "astro.config.mts", "astro.config.cjs")


def detect(repo: str) -> str | None:
    for name in CONFIG_FILES:
        if os.path.exists(os.path.join(repo, name)) and os.path.isdir(os.path.join(repo, "src", "content")):
            return f"{name} and src/content/ found"
    return None


class Astro(Site):
    name = "astro"
    default_paths = ("src/content",)
    default_exclude = ("README.md",)
    extensions = (".md", ".mdx", ".markdown")
    date_fields = ("pubDate", "date", "publishDate")
    cover_dir = "src/assets/covers"
    default_field = "heroImage"

    def alt_field(self, post: Post) -> str:
        return "heroImageAlt"

    def url(self, post: Post, image_rel: str) -> str:
        """Relative to the post, as `image()` resolves it (an explicit prefix still wins)."""
        if self.url_prefix_override is not None:
            return super().url(post, image_rel)
        rel = posixpath.relpath(image_rel, posixpath.dirname(post.rel) or ".")
        return rel if rel.startswith("../") else "./" + rel
