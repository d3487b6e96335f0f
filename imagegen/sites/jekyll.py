"""Jekyll sites.

Conventions followed:
- Posts are `_posts/YYYY-MM-DD-title.md` (or `.markdown`), also in subfolders and under
  `<category>/_posts/` (https://jekyllrb.com/docs/posts/); `_drafts/` is never searched
  (https://jekyllrb.com/docs/posts/#drafts); `published: false` keeps a post off the site
  (https://jekyllrb.com/docs/front-matter/#predefined-global-variables): skipped as `draft`.
  Future-dated posts are not published by default (`future: false`), so they wait too.
- Frontmatter is YAML only (https://jekyllrb.com/docs/front-matter/).
- The cover reaches the page through jekyll-seo-tag, the plugin GitHub Pages ships, which emits
  `og:image` from `image:` (a path, or a map with `path` and `alt`) and prefixes `url` and `baseurl`
  itself (https://github.com/jekyll/jekyll-seo-tag/blob/master/docs/advanced-usage.md#customizing-image-output).
  So the file goes to `assets/images/covers/<post>.<ext>` (Jekyll copies `assets/` as is) and the
  post gets `image: /assets/images/covers/<post>.<ext>`, a site path without the baseurl; a post
  whose `image:` is already a map without `path` gets `image.path`, and its alt goes to `image.alt`.
"""

from __future__ import annotations

import os

from imagegen.posts import Post
from imagegen.sites.base import Site, exists, read_templates


def detect(repo: str) -> str | None:
    config = exists(repo, "_config.yml", "_config.yaml")
    if config and os.path.isdir(os.path.join(repo, "_posts")):
        return f"{config} and _posts/ found"
    return None


class Jekyll(Site):
    name = "jekyll"
    help_notes = {"paths": "_posts folders"}
    extensions = (".md", ".markdown")
    dated_names = True
    skip_dirs = frozenset({"node_modules", "_site", "vendor", "_drafts"})
    cover_dir = "assets/images/covers"

    def is_post_path(self, rel: str) -> bool:
        parts = rel.split("/")
        return "_posts" in parts[:-1] and "_drafts" not in parts

    def is_draft(self, post: Post) -> bool:
        return super().is_draft(post) or (post.doc.has_frontmatter and post.frontmatter.get("published") is False)

    reads = (
        (r"\{%-?\s*seo\b", "image"),
        (r"page\.image\b", "image"),
        (r"page\.header\.og_image\b", "header.og_image"),
        (r"page\.header\.(?:image|teaser)\b", "header.image"),
        (r"page\.cover_image\b", "cover_image"),
        (r"page\.cover\b", "cover"),
        (r"page\.featured_image\b", "featured_image"),
        (r"page\.feature_image\b", "feature_image"),
        (r"page\.thumbnail\b", "thumbnail"),
    )

    def templates(self) -> list[str] | None:
        """_layouts/ and _includes/; None when they do not write the page's <head> (a gem theme's
        layouts do, and are not in the repository)."""
        folders = [self.home / "_layouts", self.home / "_includes"]
        texts = read_templates([f for f in folders if f.is_dir()], (".html", ".liquid"))
        return texts if any("<head" in t for t in texts) else None

    def theme_hint(self) -> str:
        return "page.image, or {% seo %} (jekyll-seo-tag), which reads image"

    def post_field(self, post: Post) -> str:
        image = post.frontmatter.get("image") if post.doc.has_frontmatter else None
        return "image.path" if isinstance(image, dict) else self.theme_field("image")

    def alt_field(self, post: Post) -> str:
        return "image.alt" if self.field(post) == "image.path" else "image_alt"
