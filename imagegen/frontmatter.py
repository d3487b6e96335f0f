"""YAML frontmatter: split a post into BOM / frontmatter / body, read it, and edit it with a minimal diff.

A blogger's post is often the only copy of their writing, so editing follows two rules:

* Only the lines of the keys being set change. Every other byte (key order, comments, quoting,
  empty values, CRLF, a BOM, a missing final newline, the whole body) stays as it was.
* After every edit the new frontmatter is parsed again and compared with what was intended;
  anything unexpected raises `FrontmatterError` instead of producing a damaged file.

Values are read with JSON-like semantics: dates and timestamps stay strings (`2026-03-23` is a
`str`, never a `date`), so a post round-trips through JSON reports unchanged.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

__all__ = [
    "Document",
    "FrontmatterError",
    "Loader",
    "normalize_value",
    "parse",
    "quote",
    "render_key",
    "render_value",
    "set_fields",
    "split",
]

BOM = "\ufeff"

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_Base):  # type: ignore[misc,valid-type]
    """SafeLoader (libyaml-backed when available) where timestamps stay strings.

    The implicit timestamp resolver is removed, and an explicit `!!timestamp` tag also yields the
    original text, so no value is ever a `date`/`datetime`.
    """


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
Loader.add_constructor(_TIMESTAMP, lambda loader, node: loader.construct_scalar(node))


class FrontmatterError(ValueError):
    """The frontmatter is not a valid YAML mapping, or an edit could not be made safely.

    `str()` is one line meant for the user. `reason` is always ``bad-frontmatter``.
    """

    reason = "bad-frontmatter"


# --------------------------------------------------------------------------- splitting

_OPEN = re.compile(r"---[ \t]*\r?\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?(?:\n|\Z)", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """A post's text cut into its parts; joining them gives the text back exactly.

    ``text == bom + opening + block + closing + body``. Without frontmatter, `opening`, `block`
    and `closing` are empty.
    """

    bom: str
    opening: str
    """The opening ``---`` line with its line ending ("" when there is no frontmatter)."""
    block: str
    """The YAML between the delimiters; every line ends with a line break (or it is empty)."""
    closing: str
    """The closing ``---``/``...`` line, with its line ending if it has one."""
    body: str
    newline: str
    """``\\r\\n`` when the file's first line break is CRLF, else ``\\n``: used for lines we add."""
    final_newline: bool

    @property
    def has_frontmatter(self) -> bool:
        return bool(self.opening)

    @property
    def block_first_line(self) -> int:
        """1-based file line number of the first frontmatter line (for messages)."""
        return 2

    @property
    def body_first_line(self) -> int:
        """0-based file line index where the body starts."""
        if not self.has_frontmatter:
            return 0
        return 1 + self.block.count("\n") + 1

    @property
    def text(self) -> str:
        return self.bom + self.opening + self.block + self.closing + self.body

    def with_block(self, block: str) -> str:
        """The full text with the frontmatter block replaced (frontmatter is created if absent)."""
        if self.has_frontmatter:
            return self.bom + self.opening + block + self.closing + self.body
        return self.bom + "---" + self.newline + block + "---" + self.newline + self.body

    def with_body(self, body: str) -> str:
        """The full text with the body replaced, keeping the final-newline state: a closing line at
        the end of the file gains a line break when a body follows, and loses it when the body
        becomes empty in a file that did not end with one."""
        closing = self.closing
        if body and closing and not closing.endswith("\n"):
            closing += self.newline
        elif not body and not self.final_newline:
            closing = closing.rstrip("\r\n")
        return self.bom + self.opening + self.block + closing + body


def _newline_of(text: str) -> str:
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def split(text: str) -> Document:
    """Cut `text` into BOM, frontmatter and body.

    Frontmatter starts only with a ``---`` line as the very first line (after an optional BOM;
    trailing whitespace allowed) and ends at the next line that is exactly ``---`` or ``...``
    (trailing whitespace and CRLF allowed). An opening line that is never closed raises
    FrontmatterError rather than guessing: the file is probably half-edited.
    """
    bom = BOM if text.startswith(BOM) else ""
    rest = text[len(bom):]
    newline = _newline_of(text)
    final_newline = text.endswith("\n")
    m = _OPEN.match(rest)
    if m is None:
        return Document(bom, "", "", "", rest, newline, final_newline)
    close = _CLOSE.search(rest, m.end())
    if close is None:
        raise FrontmatterError("frontmatter opened with '---' on line 1 is never closed with '---'")
    return Document(bom, rest[: m.end()], rest[m.end(): close.start()], close.group(0), rest[close.end():],
                    newline, final_newline)


# --------------------------------------------------------------------------- parsing


def _problem(exc: Exception, block: str, first_line: int) -> str:
    """One line: where in the file the YAML broke, what broke, and that line's text."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    problem = " ".join(str(problem).split())
    if mark is None:
        return f"invalid YAML frontmatter: {problem}"
    lines = block.split("\n")
    line_text = lines[mark.line].strip() if 0 <= mark.line < len(lines) else ""
    if len(line_text) > 80:
        line_text = line_text[:77] + "..."
    where = f"line {first_line + mark.line}"
    return f"invalid YAML frontmatter at {where}: {problem}" + (f" ({line_text!r})" if line_text else "")


def _compose(block: str, first_line: int = 2) -> tuple[yaml.Node | None, dict[str, Any]]:
    """Parse the block: its node tree (for positions) and its JSON-like value (always a dict)."""
    loader = Loader(block)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except Exception as exc:  # YAMLError, and ValueError/TypeError from odd scalars such as `0x_`
        raise FrontmatterError(_problem(exc, block, first_line)) from None
    finally:
        loader.dispose()
    if data is None:
        return node, {}
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a single text value"}.get(type(data), f"a {type(data).__name__}")
        raise FrontmatterError(f"frontmatter is {kind}, not a mapping of keys to values")
    return node, data


def parse(block: str, *, first_line: int = 2) -> dict[str, Any]:
    """The frontmatter block as a dict. `first_line` is the block's 1-based line in the file."""
    return _compose(block, first_line)[1]


def load(text: str) -> tuple[Document, dict[str, Any]]:
    """Split and parse in one step."""
    doc = split(text)
    return doc, parse(doc.block, first_line=doc.block_first_line) if doc.has_frontmatter else {}


# --------------------------------------------------------------------------- the quick check
#
# Parsing YAML costs ~30 µs a post even with libyaml, too slow for a no-op scan of 10,000 posts.
# `quick_keys` recognises a deliberately small subset of YAML by regular expressions: top-level
# `key: value` lines (value empty, a plain scalar that starts with a letter or is a simple number
# or date, a single- or double-quoted string without exotic escapes, or a flow list of such
# words), block lists under an empty key, comments and blank lines. Everything in that subset is
# valid YAML that parses to a mapping, so a post whose frontmatter matches can be judged from its
# key names alone. Anything else returns None and is parsed for real.

# Non-printable for YAML, or a line break to YAML but not to us (\x85, \u2028, \u2029), or a BOM.
_Q_UNSAFE = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_Q_WORD = r"(?:[^\s:#]|:(?=[^\s:])|(?<=\S)#)"  # a plain-scalar character: no ': ', no ':' at the end, no ' #'
_Q_PLAIN = (
    rf"(?:[^\W\d_]{_Q_WORD}*|\d{{1,18}}(?:\.\d{{1,18}})?|\d{{4}}-\d\d-\d\d(?:[Tt]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?)?)"
    rf"(?: +[^\s#:]{_Q_WORD}*)*"
)
_Q_PLAIN_FIRST_LETTER = rf"[^\W\d_]{_Q_WORD}*(?: +[^\s#:]{_Q_WORD}*)*"
_Q_QUOTED = r"(?:\"(?:[^\"\\]|\\[\"\\/bfnrt])*\"|'(?:[^']|'')*')"
_Q_FITEM = r"(?:[^\W\d_][\w.\-/ ]*|\d{1,18}|" + _Q_QUOTED + r" *)"
_Q_FLOW = rf"\[ *(?:{_Q_FITEM}(?:, *{_Q_FITEM})* *,? *)?\]"
_Q_TAIL = r"(?: +#.*)? *\Z"
_Q_ENTRY = re.compile(rf"([A-Za-z_][A-Za-z0-9_-]*):(?: +({_Q_QUOTED}|{_Q_FLOW}|{_Q_PLAIN}))?{_Q_TAIL}")
_Q_ITEM = re.compile(rf"( *)-(?: +(?:{_Q_QUOTED}|{_Q_PLAIN_FIRST_LETTER}))?{_Q_TAIL}")
_Q_SKIP = re.compile(r" *(?:#.*)?\Z")


def quick_keys(block: str) -> frozenset[str] | None:
    """The top-level keys if `block` is in the simple subset described above, else None.

    Never returns keys for a block that PyYAML would reject or that is not a mapping
    (tests/test_frontmatter_property.py checks this against the real parser).
    """
    text = block.replace("\r\n", "\n")
    if _Q_UNSAFE.search(text):
        return None
    keys: list[str] = []
    list_open = False  # the last key had no value: block-list items may follow
    item_indent: int | None = None
    for line in text.split("\n"):
        if _Q_SKIP.match(line):
            continue
        m = _Q_ENTRY.match(line)
        if m:
            keys.append(m.group(1))
            list_open = m.group(2) is None
            item_indent = None
            continue
        m = _Q_ITEM.match(line)
        if m and list_open and (item_indent is None or item_indent == len(m.group(1))):
            item_indent = len(m.group(1))
            continue
        return None
    return frozenset(keys)


# --------------------------------------------------------------------------- writing values

_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]\s*")
# JSON leaves these raw; YAML forbids them (or treats them as line breaks) inside a quoted scalar.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SPECIAL_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def normalize_value(value: str) -> str:
    """What is actually stored for a string: line breaks (and the whitespace around them) collapse
    to one space, lone surrogates become U+FFFD. Everything else is kept."""
    value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _BREAKS.sub(" ", value)


def quote(value: str) -> str:
    """A double-quoted YAML scalar (also valid JSON) that reads back as `normalize_value(value)`."""
    out = json.dumps(normalize_value(value), ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", out)


def render_value(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"frontmatter values must be str or bool, not {type(value).__name__}")


def render_key(key: str) -> str:
    if _PLAIN_KEY.match(key) and key.lower() not in _SPECIAL_WORDS:
        return key
    return quote(key)


def _stored(value: str | bool) -> str | bool:
    return normalize_value(value) if isinstance(value, str) else value


# --------------------------------------------------------------------------- editing


def _same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN and 1 != True (YAML distinguishes them)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _end_index(node: yaml.Node, block: str, seen: set[int] | None = None) -> int:
    """Index just past the last character that belongs to `node`'s value (trailing blanks excluded).

    A block collection's own end mark points at the next token, past any comment lines that belong
    to the next key, so its end is taken from its last child instead.
    """
    seen = seen if seen is not None else set()
    if id(node) in seen:  # an alias back to an enclosing node
        return node.start_mark.index
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        k, v = node.value[-1]
        return max(k.end_mark.index, _end_index(v, block, seen))
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _end_index(node.value[-1], block, seen)
    end = node.end_mark.index
    while end > node.start_mark.index and block[end - 1] in " \t\r\n":
        end -= 1
    return end


def _spans(node: yaml.MappingNode, block: str, line_starts: list[int]) -> list[tuple[str | None, int, int]]:
    """(key, first line, last line) of every top-level entry; key is None for non-string keys."""

    def line_of(index: int) -> int:
        return bisect.bisect_right(line_starts, index) - 1

    spans: list[tuple[str | None, int, int]] = []
    for k, v in node.value:
        start = line_of(k.start_mark.index)
        if block[line_starts[start]: k.start_mark.index].strip():
            raise FrontmatterError(f"cannot edit frontmatter line {start + 2}: a key does not start its line")
        end = max(_end_index(v, block), k.end_mark.index)
        last = max(start, line_of(max(end - 1, k.start_mark.index)))
        key = k.value if isinstance(k, yaml.ScalarNode) and k.tag == _STR else None
        spans.append((key, start, last))
    return spans


def set_fields(text: str, fields: Mapping[str, str | bool]) -> str:
    """Set top-level keys in the frontmatter of `text` with a minimal diff; return the new text.

    An existing key's whole entry (its line plus any continuation lines of a multi-line value,
    nested list or map) is replaced by one `key: value` line; comment lines after it stay. A key
    that appears several times is replaced everywhere. New keys are appended at the end of the
    frontmatter, which is created when absent. Strings are written double-quoted (see `quote`),
    booleans as true/false. Raises FrontmatterError when the result would not read back exactly.
    """
    if not fields:
        return text
    doc = split(text)
    node, old = _compose(doc.block, doc.block_first_line) if doc.has_frontmatter else (None, {})
    nl = doc.newline
    # Not splitlines(): that also breaks on \v, \x1c, \u2028...; lines here only ever end at \n.
    lines = re.findall(r"[^\n]*\n|[^\n]+\Z", doc.block)
    indent = ""
    spans: list[tuple[str | None, int, int]] = []
    if isinstance(node, yaml.MappingNode):
        if node.flow_style:
            raise FrontmatterError("cannot edit a frontmatter written as one {...} flow mapping")
        line_starts = [0]
        for line in lines[:-1]:
            line_starts.append(line_starts[-1] + len(line))
        spans = _spans(node, doc.block, line_starts)
        if node.value:
            indent = " " * node.value[0][0].start_mark.column

    def entry(key: str, value: str | bool, ending: str) -> str:
        return f"{indent}{render_key(key)}: {render_value(value)}{ending}"

    replacements: list[tuple[int, int, str]] = []
    appended: list[str] = []
    for key, value in fields.items():
        found = [(s, e) for k, s, e in spans if k == key]
        for s, e in found:
            ending = "\r\n" if lines[e].endswith("\r\n") else "\n"
            replacements.append((s, e, entry(key, value, ending)))
        if not found:
            appended.append(entry(key, value, nl))
    for s, e, new in sorted(replacements, reverse=True):
        lines[s: e + 1] = [new]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += nl
    new_text = doc.with_block("".join(lines) + "".join(appended))
    _verify(doc, old, new_text, fields)
    return new_text


def _verify(before: Document, old: dict[str, Any], new_text: str, fields: Mapping[str, str | bool]) -> None:
    """Re-read the edited text: written keys must read back as written, everything else unchanged."""
    try:
        after, new = load(new_text)
    except FrontmatterError as exc:
        raise FrontmatterError(f"refusing to write: the edited frontmatter would not parse ({exc})") from None
    if after.body != before.body or after.bom != before.bom:
        raise FrontmatterError("refusing to write: the edit would change the post body")
    for key, value in fields.items():
        if not _same(new.get(key, _MISSING), _stored(value)):
            raise FrontmatterError(f"refusing to write: {key!r} would not read back as written")
    expected = {k: v for k, v in old.items() if k not in fields}
    rest = {k: v for k, v in new.items() if k not in fields}
    if not _same(rest, expected):
        changed = sorted(str(k) for k in set(rest) ^ set(expected) | {k for k in rest if k in expected and not _same(rest[k], expected[k])})
        raise FrontmatterError(f"refusing to write: the edit would change other keys ({', '.join(changed)})")


_MISSING = object()
