"""A post's body as plain prose for an image prompt.

What a reader would call the post's words: code blocks, social sections (Share, Comments, a
`🐦 Tweet` heading ...), embeds, markup and links' addresses go; link texts, emphasis and inline
code's words stay.
"""

from __future__ import annotations

import html
import re
from typing import Any

from imagegen.markdown.document import code_spans, fenced, lines

__all__ = ["plain_text", "social_heading_name", "strip_blocks", "strip_tags"]


_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\Z")
_SOCIAL_HEADING = re.compile(
    r"(?:share|sharing|share (?:this|it)(?: post| article| page)?|share on [a-z0-9 ]+|social|socials|social media|"
    r"social links|comments?|comment on [a-z0-9 ]+|leave a comment|discussion|discuss(?: this)?(?: post)?|"
    r"discuss (?:this )?on [a-z0-9 ]+|follow|follow (?:me|us|along)(?: on [a-z0-9 ]+)?|"
    r"find (?:me|us) (?:on|online|elsewhere)[a-z0-9 ]*|connect|connect with (?:me|us)|subscribe|elsewhere|"
    r"tweet|tweets|tweet this|twitter|x|x twitter|bluesky|bsky|mastodon|toot|toots|fediverse|threads|linkedin|"
    r"reddit|hacker news|webmentions?|reactions|likes and reposts)\Z"
)
"""Headings (lower-cased, emoji and punctuation dropped: `## 🐦 Tweet` is `tweet`) whose section is
a social/share block, not the post: left out of image prompts."""


def social_heading_name(heading: str) -> str:
    """A heading's text as compared with social heading names: lower case, letters and digits only."""
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", heading.lower()).split())
_SOCIAL_HOST = (r"(?:[\w-]+\.)*(?:twitter\.com|x\.com|[\w-]*mastodon[\w.-]*\.[a-z]+|bsky\.app|bsky\.social|"
                r"linkedin\.com|youtube\.com|youtu\.be|instagram\.com|facebook\.com|fb\.com|reddit\.com|threads\.net)")
_SOCIAL_URL = rf"(?:https?://)?{_SOCIAL_HOST}(?:[/?#][^\s)>\]]*)?"
_SOCIAL_LINK = re.compile(rf"\[[^\]\n]*\]\(\s*<?{_SOCIAL_URL}>?(?:\s+\"[^\"]*\")?\s*\)|<{_SOCIAL_URL}>|{_SOCIAL_URL}",
                          re.IGNORECASE)
_LINE_MARKERS = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?(?:\[[ xX]\][ \t]+)?")
_RULE = re.compile(r"[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*\Z")
_TABLE_SEP = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*\Z")
_DEFINITION = re.compile(r"[ \t]{0,3}\[[^\]\n]+\]:[ \t]*\S.*\Z")

# (pattern, replacement, a substring without which the pattern cannot match: a cheap pre-check)
_INLINE_SUBS: tuple[tuple[re.Pattern[str], Any, str], ...] = (
    (re.compile(r"<!--.*?-->", re.DOTALL), " ", '<!--'),
    (re.compile(r"%%.*?%%", re.DOTALL), " ", '%%'),
    (re.compile(r"!\[\[[^\]\n]*\]\]"), " ", '![['),  # Obsidian embeds (images, transclusions)
    (re.compile(r"!\[(?:\\.|[^\[\]\\\n]|\[[^\[\]\n]*\])*\]\([^)\n]*\)"), " ", '!['),  # Markdown images
    (re.compile(r"!\[[^\]\n]*\]\[[^\]\n]*\]"), " ", '!['),  # reference-style images
    (re.compile(r"\[\[([^\]|\n]*)\|([^\]\n]*)\]\]"), r"\2", '[['),  # [[a|b]] -> b
    (re.compile(r"\[\[([^\]\n]*)\]\]"), lambda m: m.group(1).replace("#", " "), '[['),
    (re.compile(r"\[\^[^\]\n]+\]"), "", '[^'),  # footnote references
    (re.compile(r"\[((?:\\.|[^\[\]\\\n]|\[[^\[\]\n]*\])*)\]\([^)\n]*\)"), r"\1", ']('),  # [text](url)
    (re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]"), r"\1", ']['),  # [text][ref]
    (re.compile(r"<(?:https?|mailto|ftp):[^>\s]*>", re.IGNORECASE), " ", '<'),  # autolinks
    (re.compile(r"\bhttps?://\S+", re.IGNORECASE), " ", '://'),  # bare URLs
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1", "**"),
    (re.compile(r"__(?=\S)(.+?)(?<=\S)__"), r"\1", "__"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1", '*'),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1", '_'),
    (re.compile(r"~~(.+?)~~"), r"\1", '~~'),
    (re.compile(r"==(.+?)=="), r"\1", '=='),
)


_SOCIAL_HINTS = ("twitter", "x.com", "mastodon", "bsky", "linkedin", "youtu", "instagram", "facebook", "fb.com",
                 "reddit", "threads")


def _social_line(line: str) -> bool:
    """A line that is nothing but links to social networks (optionally in a list or quote)."""
    low = line.lower()
    if not any(h in low for h in _SOCIAL_HINTS) or not _SOCIAL_LINK.search(line):
        return False
    rest = _SOCIAL_LINK.sub(" ", line)
    return not re.search(r"[^\W_]", rest)


_RAW_BLOCK = re.compile(
    r"<(script|style|iframe|noscript|template|object|video|audio|svg|canvas|textarea)\b.*?"
    r"(?:</\1\s*>|(?=\n[ \t]*\n)|\Z)", re.IGNORECASE | re.DOTALL)
"""Elements whose content is never prose; an unclosed one ends with its paragraph (a blank line)."""
_EMBED_QUOTE = re.compile(
    r"<blockquote\b[^>]*\bclass\s*=\s*[\"']?[^\"'>]*(?:embed|tweet|twitter|bluesky|mastodon|instagram|tiktok|"
    r"reddit|threads|toot)[^>]*>.*?(?:</blockquote\s*>|(?=\n[ \t]*\n)|\Z)", re.IGNORECASE | re.DOTALL)
"""`<blockquote class="twitter-tweet">`, `class="bluesky-embed"`, `class="mastodon-embed"` ...:
the post someone else wrote, pasted for its embed script."""
_COMMENT_BLOCK = re.compile(r"<!--.*?(?:-->|(?=\n[ \t]*\n)|\Z)", re.DOTALL)
_TEMPLATE_TAG = re.compile(r"\{\{[<%].*?[%>]\}\}|\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
"""Hugo shortcodes (`{{< tweet user="x" id="1" >}}`), Liquid/Jinja tags: markup, not prose."""
_ANY_TAG = re.compile(
    r"<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)*\s*/?>"
    r"|</[A-Za-z][A-Za-z0-9-]*\s*>")
"""An HTML open or closing tag as CommonMark defines one (attributes may span lines), so prose
such as `a<b then 3 > 2` is not taken for a tag."""
_TAG_FRAGMENT = re.compile(r"</?[A-Za-z][\w:-]*(?=\s+[\w:.-]+\s*=|\s*(?:\n[ \t]*\n|\Z))(?:[^\n]|\n(?![ \t]*\n))*")
"""What is left of a tag that never closes (`<script data-allowed-prefixes="...`, the last thing in
its paragraph): from the `<` to the paragraph's end. `a<b then` is not one (no attribute follows)."""


def strip_blocks(text: str) -> str:
    """Embed blocks, raw HTML elements (with their content), comments and template tags removed.
    Runs on the whole body before it is read line by line, so a block's closing tag can never be
    lost with a line that is dropped for another reason."""
    if "<" in text:
        text = _COMMENT_BLOCK.sub(" ", text)
        text = _EMBED_QUOTE.sub(" ", text)
        text = _RAW_BLOCK.sub(" ", text)
    if "{" in text:
        text = _TEMPLATE_TAG.sub(" ", text)
    return text


def strip_tags(text: str) -> str:
    """Every HTML tag removed, closed or not, so no tag fragment survives into a prompt."""
    if "<" in text:
        text = _ANY_TAG.sub(" ", text)
        text = _TAG_FRAGMENT.sub(" ", text)
    return text


def plain_text(body: str, social_headings: tuple[str, ...] = ()) -> str:
    """Markdown body -> prose, whitespace collapsed to single spaces.

    Removed: fenced code blocks (code says little about a cover), social sections (a heading such
    as Share / Comments / `🐦 Tweet` / `🦋 Bluesky` / `🐘 Mastodon`, or one named in
    `social_headings`, and everything up to the next heading of the same or a higher level), lines
    that are only social-network links, embed blocks (`<blockquote class="...-embed">`, `<iframe>`,
    `<script>`, `<style>`), HTML tags (closed or not) and comments, template tags, image embeds,
    footnotes, link definitions, rules, table separator rows, URLs. Unwrapped: inline code (its
    text stays), links and wikilinks (their text), emphasis, headings, list/quote/table markers.
    """
    extra = {social_heading_name(h) for h in social_headings} - {""}
    rows = lines(body)
    flags = fenced(rows)
    if "<" in body or "{" in body:
        prose = "".join("\n" if f else line for line, f in zip(rows, flags))
        rows = lines(strip_blocks(prose))
        flags = [False] * len(rows)
    kept: list[str] = []
    social_level = 0
    for line, is_code in zip(rows, flags):
        if is_code:
            continue
        content = line.rstrip("\r\n")
        h = _HEADING.match(content)
        if h:
            level = len(h.group(1))
            if social_level and level > social_level:
                continue
            social_level = 0
            name = social_heading_name(h.group(2) or "")
            if _SOCIAL_HEADING.match(name) or name in extra:
                social_level = level
                continue
            kept.append(h.group(2) or "")
            continue
        if social_level or _social_line(content) or _RULE.match(content) or _TABLE_SEP.match(content) \
                or _DEFINITION.match(content):
            continue
        kept.append(_LINE_MARKERS.sub("", content, count=1))
    text = strip_tags("\n".join(kept))
    spans = code_spans(text) if "`" in text else []
    if spans:
        parts: list[str] = []
        pos = 0
        for s, e, n in spans:
            parts.append(text[pos:s])
            parts.append(" " + text[s + n: e - n].strip() + " ")
            pos = e
        parts.append(text[pos:])
        text = "".join(parts)
    for pattern, repl, needle in _INLINE_SUBS:
        if needle in text:
            text = pattern.sub(repl, text)
    text = text.replace("|", " ")
    return " ".join(html.unescape(text).split())
