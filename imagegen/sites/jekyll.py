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
from imagegen.sites.base import Site, exists


def detect(repo: str) -> str | None:
    config = exists(repo, "_config.yml", "_config.yaml")
    if config and os.path.isdir(os.path.join(repo, "_posts")):
        return f"{config} and _posts/ found"
    return None


class Jekyll(Site):
    name = "jekyll"
    extensions = (".md", ".markdown")
    dated_names = True
    skip_dirs = frozenset({"node_modules", "_site", "vendor", "_drafts"})
    cover_dir = "assets/images/covers"

    def is_post_path(self, rel: str) -> bool:
        parts = rel.split("/")
        return "_posts" in parts[:-1] and "_drafts" not in parts

    def is_draft(self, post: Post) -> bool:
        return super().is_draft(post) or (post.doc.has_frontmatter and post.frontmatter.get("published") is False)

    def post_field(self, post: Post) -> str:
        image = post.frontmatter.get("image") if post.doc.has_frontmatter else None
        return "image.path" if isinstance(image, dict) else "image"

    def alt_field(self, post: Post) -> str:
        return "image.alt" if self.field(post) == "image.path" else "image_alt"
