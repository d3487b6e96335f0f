"""From a post to an image prompt: the cached prompt, the describer's (imagegen.prompts.describer),
or the post's own cleaned text.

    described = await prompt_for(post, settings, describer, regenerate=False)
        # .prompt, .alt, .source: "cached" | "describer:<model>" | "text"
    styled(prompt, settings)      # what is sent to the image providers (the stored prompt is unstyled)

Only a post's `prompt_text()`, `cached_prompt`, `title` and `rel` are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Protocol

from imagegen.words import cut


PREFIX = "generate an image to illustrate the following blog post: "

ALT_MAX_CHARS = 125
"""Alt text longer than this is cut (screen readers and the accessibility guides' limit)."""

TEMPLATE_FIELDS: tuple[str, ...] = ("title", "description", "tags", "body", "style")
"""The fields a `--prompt-template` may use."""

MAX_POST_CHARS = 12_000
"""Characters of post text sent to the describer (bounds tokens and latency)."""

class PostLike(Protocol):
    rel: str
    title: str | None
    cached_prompt: str | None

    def prompt_text(self) -> str: ...


class DescriberLike(Protocol):
    async def describe(self, post: PostLike, contents: str = "") -> "Described": ...


class DescriberFailed(Exception):
    """Every describer model failed for this post (the caller falls back to the post text)."""


@dataclass(frozen=True)
class Described:
    """An image prompt, where it came from, and the cover's alt text that came with it."""

    prompt: str
    source: str
    """"cached", "text" or "describer:<model>" (the report's `prompt_source`)."""
    alt: str = ""
    """The cover's alt text from the same answer ('' when none came with it: the caller uses the title)."""
    model: str = ""
    """The describer model that wrote it ('' for a cached or text prompt)."""

    @classmethod
    def by_describer(cls, prompt: str, model: str, alt: str = "") -> "Described":
        return cls(prompt, f"describer:{model}", alt, model)


# --------------------------------------------------------------------------- pure helpers

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Unicode categories Cc, Zl and Zp, as one regex (a per-character category lookup was the
slowest step of a run's per-post overhead)."""


def sanitize(text: str) -> str:
    """One line: control characters and line breaks become spaces, runs collapse, ends stripped."""
    if not text:
        return ""
    text = _CONTROL.sub(" ", text.translate(_ZERO_WIDTH))
    return " ".join(text.split())


def _frontmatter_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(sanitize(str(v)) for v in value if isinstance(v, (str, int, float)) and str(v).strip())
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return sanitize(str(value))
    return ""


def post_fields(post: PostLike, settings: Any) -> dict[str, str]:
    """What a prompt is made of: the title (frontmatter `title`, else the H1), the frontmatter
    `description` (else `summary`), `tags` (a list or a string), the cleaned body (social sections,
    embeds and markup removed, the title not repeated) and the blog's style."""
    data = getattr(post, "frontmatter", None)
    data = data if isinstance(data, dict) else {}
    title = sanitize(post.title or "")
    description = _frontmatter_text(data.get("description")) or _frontmatter_text(data.get("summary"))
    tags = _frontmatter_text(data.get("tags"))
    headings = tuple(getattr(settings, "social_headings", ()) or ())
    body = sanitize(post.prompt_text(headings) if headings else post.prompt_text())
    if title and body.startswith(title):  # the H1 repeats the title
        body = body[len(title):].lstrip(" .:-—")
    return {"title": title, "description": description, "tags": tags, "body": body,
            "style": sanitize(getattr(settings, "prompt_style", "") or "")}


def _sentence(text: str) -> str:
    return text if not text or text[-1] in ".!?:;…" else text + "."


def text_prompt(post: PostLike, settings: Any) -> str:
    """The prompt without a describer: PREFIX + title, description, tags and the cleaned body
    (or `settings.prompt_template` filled with them), cut to prompt_max_chars. The body is what
    gets cut, so a template's text after `{body}` survives."""
    limit = int(getattr(settings, "prompt_max_chars", 2048))
    fields = post_fields(post, settings)
    template = getattr(settings, "prompt_template", "") or ""
    if template:
        render = lambda body: sanitize(template.format_map({**fields, "body": body}))  # noqa: E731
    else:
        head = " ".join(p for p in (_sentence(fields["title"]), _sentence(fields["description"]),
                                    _sentence(f"Tags: {fields['tags']}") if fields["tags"] else "") if p)
        render = lambda body: sanitize(PREFIX + " ".join(p for p in (head, body) if p))  # noqa: E731
    room = limit - len(render(""))
    body = fields["body"]
    if len(body) > room:
        body = cut(body, max(0, room - 1))
    return cut(render(body), limit)


def styled(prompt: str, settings: Any) -> str:
    """What providers receive: the prompt plus the blog's style suffix, if one is set (not again
    when the prompt template already placed it with `{style}`)."""
    style = sanitize(getattr(settings, "prompt_style", "") or "")
    if "{style}" in (getattr(settings, "prompt_template", "") or ""):
        return prompt
    return f"{prompt}, {style}" if style else prompt


def alt_from(text: str) -> str:
    """Alt text as written into a post: one line, no wrapping quotes, at most ALT_MAX_CHARS."""
    return cut(clean_description(text), ALT_MAX_CHARS)


_LABEL = re.compile(r"^(?:here(?:'s| is)[^:]{0,60}:|(?:image )?(?:prompt|description)\s*:)\s*", re.I)


def clean_description(text: str) -> str:
    """The describer's answer as a prompt: one line, no label, no wrapping quotes."""
    text = sanitize(text)
    text = _LABEL.sub("", text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`“”":
        text = text[1:-1].strip()
    if len(text) >= 2 and text[0] == "“" and text[-1] == "”":
        text = text[1:-1].strip()
    return text


def describer_text(fields: dict[str, str]) -> str:
    """What the describer reads: the same cleaned text as the text prompt, labelled, capped."""
    head = "\n".join(f"{label}: {fields[key]}" for key, label in
                     (("title", "Title"), ("description", "Description"), ("tags", "Tags")) if fields.get(key))
    body = fields.get("body", "")[:MAX_POST_CHARS]
    return f"{head}\n\n{body}" if head else body


async def prompt_for(post: PostLike, settings: Any, describer: "DescriberLike | None", *,
                     regenerate: bool, cached_alt: str = "", cached_prompt: str | None = None) -> Described:
    """The prompt to use: the cached prompt verbatim (and `cached_alt`) unless
    regenerating, else the describer's prompt and alt text, else the cleaned post text. The alt
    text is "" when none came with the prompt: the caller then uses the post's title.
    `cached_prompt`: a cached prompt kept outside the post (the state file), used when the post's
    frontmatter has none."""
    cached = post.cached_prompt or cached_prompt
    if cached and not regenerate:
        return Described(cached, "cached", alt_from(cached_alt) if cached_alt else "")
    limit = int(getattr(settings, "prompt_max_chars", 2048))
    if describer is not None:
        try:
            described = await describer.describe(post, describer_text(post_fields(post, settings)))
            return replace(described, prompt=cut(described.prompt, limit))
        except DescriberFailed:
            pass
    return Described(text_prompt(post, settings), "text", "")
