"""Frontmatter (YAML `---`, TOML `+++`, JSON `{...}`): split a post into BOM / frontmatter / body,
read it, and edit it with a minimal diff.

A blogger's post is often the only copy of their writing, so editing follows two rules:

* Only the lines of the keys being set change. Every other byte (key order, comments, quoting,
  empty values, CRLF, a BOM, a missing final newline, the whole body) stays as it was.
* After every edit the new frontmatter is parsed again and compared with what was intended;
  anything unexpected raises `FrontmatterError` instead of producing a damaged file.

Values are read with JSON-like semantics: dates and timestamps stay strings (`2026-03-23` is a
`str`, never a `date`), so a post round-trips through JSON reports unchanged.

The three kinds are the ones Hugo reads (https://gohugo.io/content-management/front-matter/):
YAML between `---` lines (also Jekyll's and Astro's only kind), TOML between `+++` lines, and a
JSON object at the very top of the file. Edits:

* YAML: our own line editor (PyYAML has no round-trip mode): top-level and nested keys
  (`cover.image` inside a block `cover:` map), list values (an item appended to a block list is one
  new line; a flow list `images: []` is rewritten on its one line).
* TOML: tomlkit, the well-kept round-trip library (every untouched byte stays), checked again with
  the standard library's `tomllib`. Lines tomlkit adds get the file's own line ending.
* JSON: only keys that are not there yet are added, before the closing brace; an existing key is
  never rewritten (a JSON object has no comments or layout rules we could keep reliably), so such
  an edit is refused with `UnsafeEdit` (reason `cannot-edit`).
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

import datetime as _dt
import tomllib
import copy

import tomlkit
import tomlkit.items
import yaml

from imagegen.errors import FrontmatterError, UnsafeEdit

__all__ = [
    "Document",
    "Folded",
    "FrontmatterError",
    "UnsafeEdit",
    "fold",
    "read",
    "Loader",
    "normalize_value",
    "parse",
    "quote",
    "render_key",
    "render_value",
    "edit",
    "set_fields",
    "split",
    "truthy",
]

BOM = "\ufeff"

TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", ""})
"""What a person writes for yes and no: in a setting (`dry-run: "on"`), an action input, or a
frontmatter value written as text (`draft: "yes"`). One rule for all of them."""


def truthy(value: object) -> bool:
    """Whether a value a person wrote means yes: YAML/TOML/JSON true, 1, or one of TRUE_WORDS in
    any case. Anything else (false, None, a list, "maybe") is no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in TRUE_WORDS

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




# --------------------------------------------------------------------------- splitting

_OPEN = re.compile(r"---[ \t]*\r?\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?(?:\n|\Z)", re.MULTILINE)
_TOML_OPEN = re.compile(r"\+\+\+[ \t]*\r?\n")
_TOML_CLOSE = re.compile(r"^\+\+\+[ \t]*\r?(?:\n|\Z)", re.MULTILINE)
# Hugo's JSON frontmatter: the file starts with a JSON object. `{` then a key or `}` (so a Hugo
# shortcode `{{< ... >}}` opening a post without frontmatter is not mistaken for one).
_JSON_OPEN = re.compile(r"\{\s*[\"}]")
_REST_OF_LINE = re.compile(r"[ \t]*\r?(?:\n|\Z)")


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
    kind: str = "yaml"
    """``yaml`` | ``toml`` | ``json``, or "" when there is no frontmatter. For JSON, `opening` is
    empty, `block` is the object from ``{`` to ``}`` and `closing` the rest of that last line."""
    has_frontmatter: bool = field(init=False, repr=False, compare=False)
    """Whether there is a frontmatter block (asked of every post many times: a plain attribute)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "has_frontmatter", bool(self.kind))

    @property
    def block_first_line(self) -> int:
        """1-based file line number of the first frontmatter line (for messages)."""
        return 1 if self.kind == "json" else 2


    @property
    def text(self) -> str:
        return self.bom + self.opening + self.block + self.closing + self.body

    def with_block(self, block: str) -> str:
        """The full text with the frontmatter block replaced (YAML frontmatter is created if absent)."""
        if self.has_frontmatter:
            return self.bom + self.opening + block + self.closing + self.body
        return self.bom + "---" + self.newline + block + "---" + self.newline + self.body

    def with_body(self, body: str) -> str:
        """The full text with the body replaced, keeping the final-newline state: a closing line at
        the end of the file gains a line break when a body follows, and loses it when the body
        becomes empty in a file that did not end with one."""
        return self.replace_body(body).text

    def replace_body(self, body: str) -> "Document":
        """This document with the body replaced (see `with_body`), without splitting the text
        again; the frontmatter block is the same, so its parse (`composed`) is kept."""
        if body == self.body:
            return self
        closing = self.closing
        if body and closing and not closing.endswith("\n"):
            closing += self.newline
        elif not body and not self.final_newline:
            closing = closing.rstrip("\r\n")
        text_end = body or closing or self.block or self.opening or self.bom
        doc = Document(self.bom, self.opening, self.block, closing, body, self.newline, text_end.endswith("\n"),
                       self.kind)
        if "_composed" in self.__dict__:
            object.__setattr__(doc, "_composed", self.__dict__["_composed"])
        return doc

    def composed(self) -> "tuple[yaml.Node | None, dict[str, Any]]":
        """A YAML block's node tree (for positions) and its value, parsed once per Document: the
        reading, the edit and discovery's check of the edit share one parse."""
        cached = self.__dict__.get("_composed")
        if cached is None:
            cached = _compose(self.block, self.block_first_line)
            object.__setattr__(self, "_composed", cached)
        return cached


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
    for kind, opening, closing, mark in (("yaml", _OPEN, _CLOSE, "---"), ("toml", _TOML_OPEN, _TOML_CLOSE, "+++")):
        m = opening.match(rest)
        if m is None:
            continue
        close = closing.search(rest, m.end())
        if close is None:
            raise FrontmatterError(f"frontmatter opened with {mark!r} on line 1 is never closed with {mark!r}")
        return Document(bom, rest[: m.end()], rest[m.end(): close.start()], close.group(0), rest[close.end():],
                        newline, final_newline, kind)
    if _JSON_OPEN.match(rest):
        try:
            _, end = json.JSONDecoder().raw_decode(rest)
        except json.JSONDecodeError as exc:
            raise FrontmatterError(f"invalid JSON frontmatter at line {exc.lineno}: {exc.msg}") from None
        tail = _REST_OF_LINE.match(rest, end)
        cut = tail.end() if tail else end
        return Document(bom, "", rest[:end], rest[end:cut], rest[cut:], newline, final_newline, "json")
    return Document(bom, "", "", "", rest, newline, final_newline, "")


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


def _plain_toml(value: Any) -> Any:
    """tomllib's value with dates and times as their ISO text (JSON-like, as for YAML)."""
    if isinstance(value, dict):
        return {k: _plain_toml(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_toml(v) for v in value]
    if isinstance(value, (_dt.date, _dt.time)):  # datetime is a date
        return value.isoformat()
    return value


def _toml_problem(exc: Exception, first_line: int) -> str:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if m:
        msg = msg[: m.start()].strip() + f" (line {first_line + int(m.group(1)) - 1})"
    return f"invalid TOML frontmatter: {msg}"


def read(doc: Document) -> dict[str, Any]:
    """The frontmatter of any kind as a JSON-like dict ({} when there is none)."""
    if doc.kind == "yaml":
        return doc.composed()[1]
    if doc.kind == "toml":
        try:
            return _plain_toml(tomllib.loads(doc.block))
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise FrontmatterError(_toml_problem(exc, doc.block_first_line)) from None
    if doc.kind == "json":
        try:
            data = json.loads(doc.block)
        except ValueError as exc:
            raise FrontmatterError(f"invalid JSON frontmatter: {exc}") from None
        if not isinstance(data, dict):
            raise FrontmatterError("frontmatter is not a JSON object")
        return data
    return {}


def _raw(doc: Document) -> dict[str, Any]:
    """The frontmatter as its parser gives it (TOML dates stay date objects): used to compare."""
    if doc.kind == "toml":
        try:
            return tomllib.loads(doc.block)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise FrontmatterError(_toml_problem(exc, doc.block_first_line)) from None
    return read(doc)


class Folded(dict):  # type: ignore[type-arg]
    """A frontmatter mapping whose keys are looked up case-insensitively (`Title` is `title`), as
    Hugo reads front matter (https://gohugo.io/content-management/front-matter/: keys are
    case-insensitive). Iterating, `keys()` and writing keep the author's spelling; `spelled`
    gives it back for a key asked for in any case."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self._index = {k.casefold(): k for k in data if isinstance(k, str)}

    def spelled(self, key: str) -> str:
        """The key as the author wrote it (`key` itself when it is not there)."""
        return key if dict.__contains__(self, key) else self._index.get(key.casefold(), key)

    def __getitem__(self, key: Any) -> Any:
        return dict.__getitem__(self, self.spelled(key) if isinstance(key, str) else key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, self.spelled(key) if isinstance(key, str) else key)

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, self.spelled(key) if isinstance(key, str) else key, default)


def fold(value: Any) -> Any:
    """`value` with every mapping in it made a `Folded` one (lists are walked too)."""
    if isinstance(value, dict):
        return Folded({k: fold(v) for k, v in value.items()})
    if isinstance(value, list):
        return [fold(v) for v in value]
    return value


def load(text: str) -> tuple[Document, dict[str, Any]]:
    """Split and parse in one step."""
    doc = split(text)
    return doc, read(doc)


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
_ANY_BREAK = re.compile(r"[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# JSON leaves these raw; YAML forbids them (or treats them as line breaks) inside a quoted scalar.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_SPECIAL_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def normalize_value(value: str) -> str:
    """What is actually stored for a string: line breaks (and the whitespace around them) collapse
    to one space, lone surrogates become U+FFFD. Everything else is kept."""
    if not value.isascii():  # a lone surrogate is never ASCII
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _BREAKS.sub(" ", value) if _ANY_BREAK.search(value) else value


def quote(value: str) -> str:
    """A double-quoted YAML scalar (also valid JSON) that reads back as `normalize_value(value)`."""
    out = json.dumps(normalize_value(value), ensure_ascii=False)
    if out.isascii() and "\x7f" not in out:
        return out  # nothing YAML forbids (the unsafe characters are DEL and non-ASCII ones)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", out)


Value = Union[str, bool, Sequence[str]]
"""What can be written: a string, a boolean, or a list of strings (a list or tuple)."""


def _check_value(value: Value) -> None:
    """What `render_value` accepts, checked without rendering (a string, a bool, a list of strings)."""
    if isinstance(value, (str, bool)):
        return
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return
    raise TypeError(f"frontmatter values must be str, bool or a list of str, not {type(value).__name__}")


def render_value(value: Value) -> str:
    """A YAML (flow) value: double-quoted strings, true/false, ["a", "b"] for lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(quote(v) for v in value) + "]"
    raise TypeError(f"frontmatter values must be str, bool or a list of str, not {type(value).__name__}")


def render_key(key: str) -> str:
    if _PLAIN_KEY.match(key) and key.lower() not in _SPECIAL_WORDS:
        return key
    return quote(key)


def _stored(value: Value) -> Any:
    """What a written value reads back as."""
    if isinstance(value, str):
        return normalize_value(value)
    if isinstance(value, (list, tuple)):
        return [normalize_value(v) for v in value]
    return value


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


@dataclass(frozen=True)
class _Leaf:
    value: Value


_Tree = dict  # str -> _Leaf | _Tree


def _tree(fields: Mapping[str, Value]) -> dict[str, Any]:
    """Dotted names (`cover.image`) as a tree of nested keys with `_Leaf` values."""
    tree: dict[str, Any] = {}
    for name, value in fields.items():
        parts = name.split(".")
        if not all(parts):
            raise UnsafeEdit(f"cannot set {name!r}: not a field name (empty part between dots)")
        _check_value(value)  # type check before anything is written
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if isinstance(node, _Leaf):
                raise UnsafeEdit(f"cannot set both {part!r} and a key inside it")
        if isinstance(node.get(parts[-1]), dict):
            raise UnsafeEdit(f"cannot set both {name!r} and a key inside it")
        node[parts[-1]] = _Leaf(value)
    return tree


def _expected(old: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    """`old` with the tree's values set: what the edited frontmatter must read back as."""
    new = copy.deepcopy(old)

    def apply(target: dict[str, Any], sub: dict[str, Any]) -> None:
        for key, value in sub.items():
            if isinstance(value, _Leaf):
                target[key] = _stored(value.value)
            else:
                child = target.get(key)
                if not isinstance(child, dict):
                    child = {}
                target[key] = child
                apply(child, value)

    apply(new, tree)
    return new


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


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


@dataclass(frozen=True)
class _Span:
    key: str | None
    """None for non-string keys."""
    first: int
    last: int
    """First and last line (0-based, in the block) of the whole entry."""
    knode: yaml.Node
    vnode: yaml.Node


class _YamlEditor:
    """Line edits of a YAML block: each entry touched is replaced by freshly rendered lines (or new
    lines are inserted after the entries of its mapping); nothing else is rewritten."""

    def __init__(self, doc: Document, node: yaml.Node | None) -> None:
        self.doc = doc
        self.block = doc.block
        # Not splitlines(): that also breaks on \v, \x1c, \u2028...; lines here only ever end at \n.
        self.lines = re.findall(r"[^\n]*\n|[^\n]+\Z", doc.block)
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += doc.newline
        self.line_starts = [0]
        for line in self.lines[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.node = node
        self.edits: list[tuple[int, int, int, str]] = []
        """(first line, line after the replaced ones, order, new text); an insertion replaces nothing."""

    def line_of(self, index: int) -> int:
        return bisect.bisect_right(self.line_starts, index) - 1

    def spans(self, node: yaml.MappingNode) -> list[_Span]:
        out: list[_Span] = []
        for k, v in node.value:
            start = self.line_of(k.start_mark.index)
            if self.block[self.line_starts[start]: k.start_mark.index].strip():
                raise FrontmatterError(f"cannot edit frontmatter line {start + 2}: a key does not start its line")
            end = max(_end_index(v, self.block), k.end_mark.index)
            last = max(start, self.line_of(max(end - 1, k.start_mark.index)))
            key = k.value if isinstance(k, yaml.ScalarNode) and k.tag == _STR else None
            out.append(_Span(key, start, last, k, v))
        return out

    def ending(self, line: int) -> str:
        return "\r\n" if self.lines[line].endswith("\r\n") else "\n"

    def render(self, key: str, sub: Any, indent: str, nl: str) -> str:
        if isinstance(sub, _Leaf):
            return f"{indent}{render_key(key)}: {render_value(sub.value)}{nl}"
        out = f"{indent}{render_key(key)}:{nl}"
        for k, v in sub.items():
            out += self.render(k, v, indent + "  ", nl)
        return out

    def mapping(self, node: yaml.MappingNode | None, sub: dict[str, Any], old: Any, indent: str,
                append_at: int, depth: int, path: tuple[str, ...]) -> None:
        spans = self.spans(node) if node is not None else []
        old_map = old if isinstance(old, dict) else {}
        for key, value in sub.items():
            found = [sp for sp in spans if sp.key == key]
            if not found:
                self.edits.append((append_at, append_at, depth, self.render(key, value, indent, self.doc.newline)))
                continue
            for sp in found:
                own_indent = " " * sp.knode.start_mark.column
                nl = self.ending(sp.last)
                v = sp.vnode
                if isinstance(value, _Leaf):
                    self.leaf(sp, key, value.value, old_map.get(key), own_indent, nl, depth)
                elif isinstance(v, yaml.MappingNode) and not v.flow_style and v.value:
                    child_indent = " " * v.value[0][0].start_mark.column
                    self.mapping(v, value, old_map.get(key), child_indent, sp.last + 1, depth + 1, path + (key,))
                elif isinstance(v, yaml.ScalarNode) and v.tag == "tag:yaml.org,2002:null" and sp.first == sp.last:
                    self.edits.append((sp.first, sp.last + 1, -1, self.render(key, value, own_indent, nl)))
                else:
                    raise UnsafeEdit(f"cannot set {_dotted(path + (key,))}.{'.'.join(value)}: "
                                     f"{_dotted(path + (key,))!r} is not a block of keys")

    def leaf(self, sp: _Span, key: str, value: Value, old: Any, indent: str, nl: str, depth: int) -> None:
        v = sp.vnode
        if (isinstance(value, (list, tuple)) and isinstance(v, yaml.SequenceNode) and not v.flow_style and v.value
                and isinstance(old, list) and len(value) > len(old) and list(value[: len(old)]) == old):
            first = self.lines[self.line_of(v.value[0].start_mark.index)]
            dash = first[: len(first) - len(first.lstrip(" "))]
            if first.lstrip(" ").startswith("-"):
                text = "".join(f"{dash}- {quote(x)}{nl}" for x in value[len(old):])
                self.edits.append((sp.last + 1, sp.last + 1, depth, text))
                return
        self.edits.append((sp.first, sp.last + 1, -1, f"{indent}{render_key(key)}: {render_value(value)}{nl}"))

    def result(self) -> str:
        lines = list(self.lines)
        # Later positions first, so earlier indexes stay valid; at one position a replacement goes
        # first, then insertions with the deepest last (it ends up first: right after its parent).
        # Insertions at one place made in order appear in that order: the later one is applied first.
        order = sorted(enumerate(self.edits), key=lambda ie: (-ie[1][0], ie[1][2], -ie[0]))
        for _, (first, stop, _, text) in order:
            lines[first:stop] = [text]
        return "".join(lines)


def _edit_yaml(doc: Document, tree: dict[str, Any]) -> str:
    if not doc.has_frontmatter:
        ed = _YamlEditor(doc, None)
        return doc.with_block("".join(ed.render(k, v, "", doc.newline) for k, v in tree.items()))
    node, old = doc.composed()
    ed = _YamlEditor(doc, node)
    indent = ""
    if isinstance(node, yaml.MappingNode):
        if node.flow_style:
            raise FrontmatterError("cannot edit a frontmatter written as one {...} flow mapping")
        if node.value:
            indent = " " * node.value[0][0].start_mark.column
    ed.mapping(node if isinstance(node, yaml.MappingNode) else None, tree, old, indent, len(ed.lines), 0, ())
    return doc.with_block(ed.result())


def _edit_toml(doc: Document, tree: dict[str, Any]) -> str:
    try:
        tdoc = tomlkit.parse(doc.block)
    except Exception as exc:  # tomlkit's own parse errors
        raise FrontmatterError(f"invalid TOML frontmatter: {exc}") from None

    def apply(container: Any, sub: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, value in sub.items():
            here = path + (key,)
            current = container.get(key) if key in container else None
            if isinstance(value, _Leaf):
                v = _stored(value.value)
                if (isinstance(v, list) and isinstance(current, tomlkit.items.Array) and len(v) > len(current)
                        and [str(x) for x in current] == v[: len(current)]
                        and all(isinstance(x, str) for x in current)):
                    for item in v[len(current):]:
                        current.append(item)
                else:
                    container[key] = v
            else:
                if current is None:
                    container[key] = tomlkit.table()
                    current = container[key]
                if not isinstance(current, (tomlkit.items.Table, tomlkit.items.InlineTable)):
                    raise UnsafeEdit(f"cannot set {_dotted(here)}.…: {_dotted(here)!r} is not a table")
                apply(current, value, here)

    apply(tdoc, tree, ())
    block = tomlkit.dumps(tdoc)
    if doc.newline == "\r\n" and not re.search(r"(?<!\r)\n", doc.block):
        block = re.sub(r"(?<!\r)\n", "\r\n", block)  # the lines tomlkit added
    if block and not block.endswith("\n"):
        block += doc.newline
    return doc.with_block(block)


def _edit_json(doc: Document, tree: dict[str, Any], old: dict[str, Any]) -> str:
    present = [k for k in tree if k in old]
    if present:
        raise UnsafeEdit(f"the JSON frontmatter already has {present[0]!r}: imagegen only adds new keys to JSON "
                         "frontmatter, it never rewrites one (convert the frontmatter to YAML or TOML to let it)")

    def plain(sub: Any) -> Any:
        return _stored(sub.value) if isinstance(sub, _Leaf) else {k: plain(v) for k, v in sub.items()}

    block = doc.block
    close = block.rstrip().rfind("}")
    head = block[:close].rstrip()
    m = re.search(r"\n([ \t]+)\"", block)
    indent = m.group(1) if m else "  "
    nl = doc.newline
    items = [f"{indent}{json.dumps(k, ensure_ascii=False)}: {json.dumps(plain(v), ensure_ascii=False)}"
             for k, v in tree.items()]
    sep = "" if head.endswith("{") else ","
    new_block = head + sep + nl + ("," + nl).join(items) + (block[len(head):] if "\n" in block[len(head):] else nl + block[len(head):].lstrip())
    return doc.bom + new_block + doc.closing + doc.body


def set_fields(text: str, fields: Mapping[str, Value]) -> str:
    """Set keys in the frontmatter of `text` with a minimal diff; return the new text.

    A dotted name (`cover.image`) is a key inside a map (`cover:` in YAML, `[cover]` or an inline
    table in TOML), created when absent. YAML: an existing key's whole entry (its line plus any
    continuation lines of a multi-line value, nested list or map) is replaced by one `key: value`
    line, comment lines after it stay; a key that appears several times is replaced everywhere; new
    keys go after the last entry of their map; a list that only gains items at its end gains one
    line per item. YAML frontmatter is created when there is none (callers decide whether that is
    right for the site). Strings are written double-quoted (see `quote`), booleans as true/false.
    Raises FrontmatterError (UnsafeEdit for a valid block that cannot take this edit) when the
    result would not read back as exactly the old values with these set.
    """
    if not fields:
        return text
    return edit(split(text), fields).text


def edit(doc: Document, fields: Mapping[str, Value]) -> Document:
    """`set_fields` on a Document already split: the edited Document, split from the new text and
    verified (the caller needs no further split; its parse is kept for a later edit)."""
    if not fields:
        return doc
    tree = _tree(fields)
    old_raw = _raw(doc)
    if doc.kind == "toml":
        new_text = _edit_toml(doc, tree)
    elif doc.kind == "json":
        new_text = _edit_json(doc, tree, old_raw)
    else:
        new_text = _edit_yaml(doc, tree)
    return _verify(doc, _expected(old_raw, tree), new_text, fields)


def _verify(before: Document, expected: dict[str, Any], new_text: str, fields: Mapping[str, Value]) -> Document:
    """Re-read the edited text: written keys must read back as written, everything else unchanged."""
    try:
        after = split(new_text)
        new = _raw(after)
    except FrontmatterError as exc:
        raise FrontmatterError(f"refusing to write: the edited frontmatter would not parse ({exc})") from None
    if after.body != before.body or after.bom != before.bom:
        raise FrontmatterError("refusing to write: the edit would change the post body")
    if before.has_frontmatter and after.kind != before.kind:
        raise FrontmatterError("refusing to write: the edit would change the kind of frontmatter")
    for name in fields:
        got: Any = new
        want: Any = expected
        for part in name.split("."):
            got = got.get(part, _MISSING) if isinstance(got, dict) else _MISSING
            want = want.get(part, _MISSING) if isinstance(want, dict) else _MISSING
        if not _same(got, want):
            raise FrontmatterError(f"refusing to write: {name!r} would not read back as written")
    if not _same(new, expected):
        changed = sorted(str(k) for k in set(new) ^ set(expected)
                         | {k for k in new if k in expected and not _same(new[k], expected[k])})
        raise FrontmatterError(f"refusing to write: the edit would change other keys ({', '.join(changed)})")
    return after


_MISSING = object()
