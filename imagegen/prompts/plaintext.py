"""A post's body as plain prose for an image prompt, read from markdown-it's tokens.

What a reader would call the post's words: the text of paragraphs, headings, list items, quotes and
footnote-free prose, with link texts, emphasised words and inline code's words kept. Left out:
code blocks (code says little about a cover), social sections (a heading such as Share / Comments /
`🐦 Tweet` / `🦋 Bluesky` / `🐘 Mastodon`, or one named in `social_headings`, and everything up to
the next heading of the same or a higher level), lines that are only links to social networks,
images, embed blocks (`<blockquote class="...-embed">`, `<iframe>`, `<script>`, `<style>`), HTML
tags (closed or not) and comments, template tags (Hugo shortcodes, Liquid), footnotes, rules,
table separator rows and URLs.

The CommonMark parser (imagegen.markdown.document.MD) decides structure and inline markup (code,
emphasis, links, images), so no regex re-implements them. What CommonMark does not know is
handled on the text it leaves: Obsidian's `![[embeds]]`, `[[wikilinks|text]]`, `%%comments%%` and
`==highlights==`, `~~strikethrough~~`, bare URLs, and raw HTML that must go before parsing (an
unclosed `<script ...` would otherwise swallow the rest of its paragraph as HTML).
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterator

from markdown_it.token import Token

from imagegen.markdown.document import MD, fenced, lines

__all__ = ["plain_text", "social_heading_name", "strip_blocks", "strip_tags"]

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




_SOCIAL_HOST = re.compile(
    r"^(?:https?://)?(?:[\w-]+\.)*(?:twitter\.com|x\.com|[\w-]*mastodon[\w.-]*\.[a-z]+|bsky\.app|bsky\.social|"
    r"linkedin\.com|youtube\.com|youtu\.be|instagram\.com|facebook\.com|fb\.com|reddit\.com|threads\.net)"
    r"(?:[/?#]|$)", re.IGNORECASE)
_TABLE_SEP = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*\Z")
_BARE_URL = re.compile(r"(?:\bhttps?://|\bwww\.)\S+", re.IGNORECASE)

# What CommonMark leaves as text: (pattern, replacement, a substring without which it cannot match)
_TEXT_SUBS: tuple[tuple[re.Pattern[str], Any, str], ...] = (
    (re.compile(r"%%.*?%%", re.DOTALL), " ", "%%"),
    (re.compile(r"!\[\[[^\]\n]*\]\]"), " ", "![["),  # Obsidian embeds (images, transclusions)
    (re.compile(r"\[\[([^\]|\n]*)\|([^\]\n]*)\]\]"), r"\2", "[["),  # [[a|b]] -> b
    (re.compile(r"\[\[([^\]\n]*)\]\]"), lambda m: m.group(1).replace("#", " "), "[["),
    (re.compile(r"~~(.+?)~~"), r"\1", "~~"),
    (re.compile(r"==(.+?)=="), r"\1", "=="),
)


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


def _prose_source(body: str) -> str:
    """The body with raw HTML elements, comments and template tags removed before parsing; code
    blocks are blanked first, so markup shown as code neither goes nor hides what follows."""
    rows = lines(body)
    flags = fenced(rows)
    return strip_blocks("".join("\n" if f else row for row, f in zip(rows, flags)))


def _inline_lines(inline: Token) -> Iterator[list[Token]]:
    """An inline token's children, one list per source line (split at line breaks)."""
    line: list[Token] = []
    for child in inline.children or ():
        if child.type in ("softbreak", "hardbreak"):
            yield line
            line = []
        else:
            line.append(child)
    yield line


def _social_only(line: list[Token]) -> bool:
    """A line that is nothing but links to social networks (and punctuation)."""
    links = 0
    inside = 0
    for tok in line:
        if tok.type == "link_open":
            if not _SOCIAL_HOST.match(str(tok.attrs.get("href", ""))):
                return False
            links += 1
            inside += 1
        elif tok.type == "link_close":
            inside -= 1
        elif tok.type == "text" and not inside:
            rest = _BARE_URL.sub(lambda m: "" if _SOCIAL_HOST.match(m.group(0)) else m.group(0), tok.content)
            if rest != tok.content:
                links += 1
            if re.search(r"[^\W_]", rest):
                return False
    return links > 0


def _line_text(line: list[Token]) -> str:
    """The words of one line: text, inline code's text and link texts; no images, tags, autolink
    addresses or footnote references."""
    out: list[str] = []
    autolink = 0
    for tok in line:
        if tok.type == "link_open" and tok.markup == "autolink":
            autolink += 1
        elif tok.type == "link_close" and autolink:
            autolink -= 1
        elif autolink:
            continue
        elif tok.type == "text":
            out.append(tok.content)
        elif tok.type == "code_inline":
            out.append(f" {tok.content.strip()} ")
        elif tok.type == "html_inline":
            out.append(" ")
    return "".join(out)


_TASK = re.compile(r"\A[ \t]*\[[ xX]\][ \t]+")
"""A task list item's box (`- [ ] task`): CommonMark leaves it as text."""


def _inline_text(inline: Token) -> str:
    kept = [_TASK.sub("", _line_text(line)) for line in _inline_lines(inline) if not _social_only(line)]
    return " ".join(k for k in kept if not _TABLE_SEP.match(k))


def _texts(tokens: list[Token], extra: set[str]) -> Iterator[str]:
    """The text of every block that is prose, skipping social sections and footnote definitions."""
    social_level = 0
    in_footnotes = 0
    for i, tok in enumerate(tokens):
        if tok.type == "footnote_block_open":
            in_footnotes += 1
        elif tok.type == "footnote_block_close":
            in_footnotes -= 1
        if in_footnotes:
            continue
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            if social_level and level > social_level:
                continue
            social_level = 0
            name = social_heading_name(tokens[i + 1].content if i + 1 < len(tokens) else "")
            if _SOCIAL_HEADING.match(name) or name in extra:
                social_level = level
        elif social_level:
            continue
        elif tok.type == "inline" and not (i and tokens[i - 1].type == "heading_open" and social_level):
            yield _inline_text(tok)
        elif tok.type == "html_block":
            yield strip_tags(tok.content)


def plain_text(body: str, social_headings: tuple[str, ...] = ()) -> str:
    """Markdown body -> prose, whitespace collapsed to single spaces (see the module docstring)."""
    extra = {social_heading_name(h) for h in social_headings} - {""}
    source = _prose_source(body) if ("<" in body or "{" in body) else body
    text = "\n".join(_texts(MD.parse(source), extra))
    text = strip_tags(text)
    for pattern, repl, needle in _TEXT_SUBS:
        if needle in text:
            text = pattern.sub(repl, text)
    if "://" in text or "www." in text:
        text = _BARE_URL.sub(" ", text)
    text = text.replace("|", " ")
    return " ".join(html.unescape(text).split())
