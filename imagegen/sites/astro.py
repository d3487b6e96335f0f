"""Astro sites.

Conventions followed:
- Posts are the Markdown and MDX entries of the site's content collections
  (https://docs.astro.build/en/guides/content-collections/), read from the collections' own
  declaration in `src/content.config.{ts,js,mjs,mts}` (legacy: `src/content/config.*`): a
  collection loaded with `glob({ base, pattern })` holds the files under `base` that match
  `pattern`, wherever that is (AstroPaper v5 keeps its posts in `src/data/blog` with
  `pattern: "**/[^_]*.md"`); a legacy collection is a folder of `src/content/`. A `file()`
  collection is data, not posts. Without a declaration, `src/content/` is searched.
- The schema says which field holds the cover and which dates a post: the official blog starter
  declares `heroImage: image().optional()` and `pubDate`, AstroPaper `ogImage: image().or(z.string())`
  and `pubDatetime`. The cover field is the schema's first `image()` field (a cover-like name
  first); `image()` takes a path relative to the post file, checks it exists and optimises it, and
  a path that does not resolve fails the build
  (https://docs.astro.build/en/guides/images/#images-in-content-collections). So the file goes to
  `src/assets/covers/<post>.<ext>` and the post gets `heroImage: "../../assets/covers/<post>.<ext>"`
  (relative to the post). A cover field declared only as `z.string()` is a URL: the file goes to
  `public/covers/<post>.<ext>` (served from the site root) and the post gets `/covers/<post>.<ext>`.
  The date fields are the schema's `z.date()`/`z.coerce.date()` ones. The alt text goes to
  `<field>Alt` (`heroImageAlt`).
- `draft: true` is the common convention for unpublished entries: skipped as `draft`.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field, replace
from functools import cached_property

from imagegen.posts import Post
from imagegen.sites.base import Site, exists, read_templates

CONFIG_FILES = ("astro.config.mjs", "astro.config.js", "astro.config.ts", "astro.config.mts", "astro.config.cjs")
CONTENT_CONFIGS = tuple(f"src/{d}config.{e}" for d in ("content.", "content/") for e in ("ts", "js", "mjs", "mts"))
COVER_NAMES = ("heroImage", "ogImage", "cover", "coverImage", "image", "featuredImage", "thumbnail", "socialImage")
"""Schema fields that name a post's cover, most likely first."""
PUBLIC_COVERS = "public/covers"


@dataclass
class Collection:
    """One content collection: where its entries are, which of them, and its schema's fields."""

    name: str
    base: str
    """Repo-relative folder of its entries."""
    pattern: re.Pattern[str] | None = None
    """The glob loader's pattern (None: every Markdown file under base)."""
    images: list[str] = field(default_factory=list)
    """Fields declared with `image()` (in order)."""
    strings: list[str] = field(default_factory=list)
    """Cover-like fields declared only as strings (URLs)."""
    dates: list[str] = field(default_factory=list)

    def holds(self, rel: str) -> bool:
        if not rel.startswith(self.base + "/") and self.base != ".":
            return False
        under = rel[len(self.base) + 1:] if self.base != "." else rel
        return self.pattern is None or bool(self.pattern.fullmatch(under))

    @property
    def cover(self) -> tuple[str, bool] | None:
        """(the cover field, whether it is an `image()`), or None when the schema names none."""
        for names, is_image in ((self.images, True), (self.strings, False)):
            ranked = sorted(names, key=lambda n: COVER_NAMES.index(n) if n in COVER_NAMES else len(COVER_NAMES))
            if ranked:
                return ranked[0], is_image
        return None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob (`**/`, `*`, `?`, `[...]`, `{a,b}`) as a regular expression over a relative path."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                body = "^" + body[1:] if body.startswith(("!", "^")) else body
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                out.append("(?:" + "|".join(glob_regex(p).pattern for p in pattern[i + 1:end].split(",")) + ")")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _strip_comments(text: str) -> str:
    return re.sub(r"(?<![:'\"`])//[^\n]*|/\*.*?\*/", "", text, flags=re.S)


def _balanced(text: str, start: int) -> str:
    """The text from the bracket at `start` to its matching close (strings are not special)."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in "({[":
            depth += 1
        elif text[i] in ")}]":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return text[start:]


def _literal(value: str, consts: dict[str, str]) -> str | None:
    """A string literal's value, with `${NAME}` taken from the file's own string constants."""
    m = re.fullmatch(r"""\s*(["'`])(.*?)\1\s*""", value, re.S)
    if not m:
        return consts.get(value.strip())
    return re.sub(r"\$\{\s*(\w+)\s*\}", lambda g: consts.get(g.group(1), g.group(0)), m.group(2))


def read_collections(repo: str) -> tuple[str, list[Collection]] | None:
    """The content config's name and its Markdown collections, or None when there is none."""
    name = exists(repo, *CONTENT_CONFIGS)
    if name is None:
        return None
    try:
        text = _strip_comments(open(os.path.join(repo, name), encoding="utf-8").read())
    except (OSError, UnicodeDecodeError):
        return None
    consts = {m.group(1): m.group(3) for m in re.finditer(r"""\bconst\s+(\w+)\s*=\s*(["'])([^"'`]*)\2""", text)}
    out = []
    for m in re.finditer(r"(?:const|let|var)\s+(\w+)\s*=\s*defineCollection\s*\(", text):
        body = _balanced(text, m.end() - 1)
        coll = _collection(m.group(1), body, consts)
        if coll is not None:
            out.append(coll)
    return name, out


def _collection(var: str, body: str, consts: dict[str, str]) -> Collection | None:
    if re.search(r"\bfile\s*\(", body):
        return None  # a data collection (JSON/YAML entries), not posts
    loader = re.search(r"\bglob\s*\(", body)
    if loader:
        args = _balanced(body, loader.end() - 1)
        base_m = re.search(r"""\bbase\s*:\s*((["'`]).*?\2|\w+)""", args, re.S)
        pattern_m = re.search(r"""\bpattern\s*:\s*(\[[^\]]*\]|(["'`]).*?\2|\w+)""", args, re.S)
        base = _literal(base_m.group(1), consts) if base_m else None
        if base is None:
            return None
        raw = pattern_m.group(1) if pattern_m else ""
        items = re.findall(r"""(["'`])(.*?)\1""", raw) if raw.startswith("[") else [("", raw)] if raw else []
        patterns = [p for p in (_literal(f'"{v}"' if q else v, consts) for q, v in items) if p]
        if patterns and not any("md" in p or not re.search(r"\.\w+\}?$", p) for p in patterns):
            return None  # a pattern for other files (JSON, YAML)
        base = posixpath.normpath(base[2:] if base.startswith("./") else base).strip("/") or "."
        regex = re.compile("|".join(f"(?:{glob_regex(p).pattern})" for p in patterns)) if patterns else None
        coll = Collection(var, base, regex)
    else:
        coll = Collection(var, f"src/content/{var}")
    schema = re.search(r"\bschema\s*:", body)
    fields = body[schema.end():] if schema else ""
    for f in re.finditer(r"(\w+)\s*:\s*((?:image|z\.[\w.]+)\s*\()", fields):
        decl = fields[f.start(2):f.start(2) + 200].split("\n", 1)[0]
        if decl.startswith("image"):
            coll.images.append(f.group(1))
        elif re.match(r"z\.(?:coerce\.)?date\s*\(", decl):
            coll.dates.append(f.group(1))
        elif decl.startswith("z.string") and f.group(1) in COVER_NAMES:
            coll.strings.append(f.group(1))
    return coll


def detect(repo: str) -> str | None:
    config = exists(repo, *CONFIG_FILES)
    if config is None:
        return None
    if os.path.isdir(os.path.join(repo, "src", "content")):
        return f"{config} and src/content/ found"
    found = read_collections(repo)
    if found and any(os.path.isdir(os.path.join(repo, c.base)) for c in found[1]):
        return f"{config} and the collections of {found[0]} found"
    return None


class Astro(Site):
    name = "astro"
    help_notes = {"paths": "src/content or the collections' folders"}
    default_paths = ("src/content",)
    default_exclude = ("README.md",)
    extensions = (".md", ".mdx", ".markdown")
    date_fields = ("pubDate", "date", "publishDate", "pubDatetime")
    cover_dir = "src/assets/covers"
    served_root = "public"
    default_field = "heroImage"

    @cached_property
    def collections(self) -> list[Collection]:
        """The Markdown collections the content config declares (narrowed by `sections`)."""
        found = read_collections(str(self.home))
        colls = [replace(c, base=self.at(c.base)) for c in (found[1] if found else [])]
        if self.sections_override is not None:
            colls = [c for c in colls if c.name in self.sections_override or c.base in self.sections_override]
        return colls

    def engine_paths(self) -> tuple[str, ...]:
        bases = tuple(dict.fromkeys(c.base for c in self.collections if os.path.isdir(os.path.join(self.repo, c.base))))
        return bases or super().engine_paths()

    def collection(self, rel: str) -> Collection | None:
        return next((c for c in self.collections if c.holds(rel)), None)

    def is_post_path(self, rel: str) -> bool:
        if self.paths_given or not self.collections:
            return True
        return self.collection(rel) is not None

    def posts_note(self) -> str:
        if self.paths_given or not self.collections or self.engine_paths() == super().engine_paths():
            return ""
        return "posts in " + ", ".join(p + "/" for p in self.engine_paths())

    def post_date_fields(self, post: Post) -> tuple[str, ...]:
        coll = self.collection(post.rel)
        return tuple(dict.fromkeys((coll.dates if coll is not None else []) + list(self.date_fields)))

    def templates(self) -> list[str] | None:
        """The site's components, layouts and pages under src/ (not the content config)."""
        texts = read_templates([self.home / "src"], (".astro", ".tsx", ".jsx", ".ts", ".js"),
                               skip=("content.config.", "config."))
        return texts if any("<head" in t for t in texts) else None

    @cached_property
    def theme_fields(self) -> tuple[str, ...] | None:
        """The schemas' cover fields (image() or URL) some component reads."""
        texts = self.templates()
        if texts is None:
            return None
        names = dict.fromkeys(n for c in self.collections for n in c.images + c.strings)
        return tuple(n for n in names if any(re.search(rf"\b{re.escape(n)}\b", t) for t in texts))

    def theme_hint(self) -> str:
        names = dict.fromkeys(n for c in self.collections for n in c.images + c.strings)
        return " or ".join(names) or "a cover field (the collection's schema declares none: add one, e.g. " \
                                     "heroImage: image().optional())"

    def cover(self, post: Post) -> tuple[str, bool]:
        """(the cover field, whether it is an `image()`): the schema's, one a component reads first."""
        coll = self.collection(post.rel)
        if coll is None:
            return self.default_field, True
        shown = self.theme_fields
        if shown:
            for names, is_image in ((coll.images, True), (coll.strings, False)):
                for name in names:
                    if name in shown:
                        return name, is_image
        return coll.cover or (self.default_field, True)

    def post_field(self, post: Post) -> str:
        return self.cover(post)[0]

    def cover_fields(self, post: Post) -> tuple[str, ...]:
        coll = self.collection(post.rel)
        extra = tuple(coll.images + coll.strings) if coll is not None else ()
        return tuple(dict.fromkeys(super().cover_fields(post) + extra))

    def alt_field(self, post: Post) -> str:
        return f"{self.field(post)}Alt"

    def post_cover_folder(self, post: Post) -> str:
        return self.at(self.cover_dir if self.cover(post)[1] else PUBLIC_COVERS)

    def cover_folders(self) -> tuple[str, ...]:
        if self.cover_dir_override is not None:
            return (self.cover_dir_override,)
        return (self.at(self.cover_dir), self.at(PUBLIC_COVERS))

    def url(self, post: Post, image_rel: str) -> str:
        """Relative to the post, as `image()` resolves it; a site path for a string field (an
        explicit prefix still wins)."""
        if self.url_prefix_override is not None or not self.cover(post)[1]:
            return super().url(post, image_rel)
        rel = posixpath.relpath(image_rel, posixpath.dirname(post.rel) or ".")
        return rel if rel.startswith("../") else "./" + rel

    def can_name(self, post: Post, rel: str) -> bool:
        """An `image()` field names any file of the project (relative to the post); a URL field
        only a file under public/."""
        if self.cover(post)[1]:
            return not self.root or rel.startswith(self.root + "/")
        return super().can_name(post, rel)

    def old_cover_candidates(self, post: Post, target: str) -> list[str]:
        return super().old_cover_candidates(post, target) + [self.at("public/" + target.lstrip("/"))]

