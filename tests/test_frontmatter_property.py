"""Property tests: writing any prompt text into any valid frontmatter never damages the post, and the
quick pre-check never vouches for YAML the real parser rejects."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imagegen.covers import rewrite
from imagegen import frontmatter as fm
from imagegen.posts import Post

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEY_NAMES = st.sampled_from(["title", "date", "tags", "summary", "draft", "image_prompt", "image", "author",
                             "regenerate_image", "weight", "series", "description"])
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEF0123456789 -_.,!?'", min_size=1, max_size=20)


@st.composite
def scalar_value(draw: st.DrawFn) -> list[str]:
    """Lines of one value in an assorted style (first line continues `key:`)."""
    style = draw(st.sampled_from(["plain", "single", "double", "empty", "block", "folded", "list", "flow", "map",
                                  "date", "number", "bool", "null", "multiline-plain"]))
    text = draw(WORD).strip() or "x"
    if style == "plain":
        return [" " + json.dumps(text)[1:-1].replace("\\", "") if text[0].isalpha() else " w" + text.replace(":", "")]
    if style == "single":
        return [" '" + text.replace("'", "''") + "'"]
    if style == "double":
        return [" " + json.dumps(draw(st.text(max_size=30)))]
    if style == "empty":
        return [""]
    if style in ("block", "folded"):
        n = draw(st.integers(1, 3))
        body = ["  " + (draw(WORD).strip() or "x") for _ in range(n)]
        trailing = [""] * draw(st.integers(0, 1))
        return [" " + ("|" if style == "block" else ">") + draw(st.sampled_from(["", "-", "+"]))] + body + trailing
    if style == "list":
        indent = draw(st.sampled_from(["", "  "]))
        return [""] + [f"{indent}- '{(draw(WORD).strip() or 'x').replace(chr(39), chr(39) * 2)}'" for _ in range(draw(st.integers(1, 3)))]
    if style == "flow":
        return [" [" + ", ".join(json.dumps(draw(WORD)) for _ in range(draw(st.integers(0, 3)))) + "]"]
    if style == "map":
        return ["", "  inner: 1", "  other: " + json.dumps(draw(WORD))]
    if style == "date":
        return [" 2026-03-23"]
    if style == "number":
        return [" " + str(draw(st.integers(-1000, 1000)))]
    if style == "bool":
        return [" " + draw(st.sampled_from(["true", "false", "yes", "no"]))]
    if style == "null":
        return [" " + draw(st.sampled_from(["null", "~"]))]
    return [" first part", "  continued here"]


@st.composite
def document(draw: st.DrawFn) -> tuple[str, str]:
    """(whole file text, body) with a valid frontmatter mapping of assorted styles and comments."""
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    lines: list[str] = []
    keys = draw(st.lists(KEY_NAMES, min_size=0, max_size=6, unique=True))
    for key in keys:
        if draw(st.booleans()):
            lines.append("# " + draw(WORD))
        value = draw(scalar_value())
        lines.append(f"{key}:{value[0]}" + (draw(st.sampled_from(["", "  # trailing"])) if value[0].strip() and
                                             value[0].strip()[0] not in "|>" else ""))
        lines.extend(value[1:])
    if draw(st.booleans()):
        lines.append("# closing comment")
    block = "".join(line + nl for line in lines)
    body = draw(st.sampled_from([
        "# Title" + nl + nl + "Text." + nl,
        "# T" + nl + "---" + nl + "```yaml" + nl + "---" + nl + "title: fake" + nl + "---" + nl + "```" + nl + "end",
        "",
        "no heading, no final newline",
    ]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    close = draw(st.sampled_from(["---", "...", "---  "]))
    return bom + "---" + nl + block + close + nl + body, body


@SETTINGS
@given(doc=document(), prompt=st.text(), also=st.booleans())
def test_writing_any_prompt_keeps_the_post_intact(doc: tuple[str, str], prompt: str, also: bool) -> None:
    text, body = doc
    before = fm.split(text)
    try:
        old = fm.parse(before.block)
    except fm.FrontmatterError:
        assume(False)  # the generator aims for valid YAML; rare misses are not interesting
        return
    fields: dict[str, str | bool] = {"image_prompt": prompt}
    if also:
        fields["regenerate_image"] = False
    out = fm.set_fields(text, fields)
    after = fm.split(out)
    new = fm.parse(after.block)
    assert after.body == body and after.bom == before.bom
    assert new["image_prompt"] == fm.normalize_value(prompt)
    assert {k: v for k, v in new.items() if k not in fields} == {k: v for k, v in old.items() if k not in fields}
    # every line that is not part of a replaced entry is still there, in order
    kept = [line for line in before.block.splitlines() if not line.startswith(tuple(fields))]
    remaining = iter(after.block.splitlines())
    assert all(any(line == r for r in remaining) for line in kept if not line.startswith((" ", "-")))


@SETTINGS
@given(doc=document(), prompt=st.text())
def test_post_update_roundtrip(doc: tuple[str, str], prompt: str) -> None:
    text, body = doc
    try:
        post = Post.from_text(text, "s/2026-01-01-x.md")
    except Exception:
        assume(False)
        return
    embed = "![[attachments/x.png]]"
    out = rewrite(post, embed=embed, fields={"image_prompt": prompt}, remove_cover=False).decode()
    again = Post.from_text(out, "s/2026-01-01-x.md")
    assert again.cached_prompt == (fm.normalize_value(prompt).strip() or None)
    cover = again.cover()
    assert cover is not None and cover.target == "attachments/x.png"
    new_body = fm.split(out).body
    assert body in (new_body.replace(embed + "\r\n", "", 1), new_body.replace(embed + "\n", "", 1))


# --------------------------------------------------------------------------- quick_keys soundness

# Fragments that are mostly valid YAML values, plus the characters and words that break them.
FRAGMENTS = st.sampled_from([
    "abc", "Word", "x y", "C#", "http://x.org/a", "2026-03-23", "2026-03-23T10:00:00Z", "12", "1.5", "\u00e9t\u00e9",
    "'q'", "'it''s'", '"d"', '"a: #b"', '"\\n"', "[a, b]", "[]", "[x,]", "[1, 'two', \"3\"]", " #c", " # comment",
    ":", ": ", "::", "#", "-", "- ", "?", ",", "]", "[", "{", "}", "&a", "*a", "!t", "|", ">", "%", "@", "`", "'", '"',
    "\\", "\t", "\r", "\x00", "\x7f", "\x85", "\u2028", "\ufeff", "0x_", "0b_", "1:2", ".nan", "=", "<<", "yes",
    " ", "  ",
])


@st.composite
def near_yaml(draw: st.DrawFn) -> str:
    """Lines close to the quick subset: entries, list items, comments, blanks, and junk."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["entry", "entry", "entry", "item", "comment", "blank", "junk"]))
        value = "".join(draw(st.lists(FRAGMENTS, max_size=3)))
        if kind == "entry":
            key = draw(st.sampled_from(["a", "title", "b_c", "yes", "x-y", "Null", "k9"]))
            lines.append(f"{key}:{draw(st.sampled_from([' ', '', '  ']))}{value}")
        elif kind == "item":
            lines.append(draw(st.sampled_from(["", "  ", " "])) + "-" + draw(st.sampled_from([" ", ""])) + value)
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["", "  "])) + "#" + value)
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  "])))
        else:
            lines.append(value)
    return "\n".join(lines) + ("\n" if lines else "")


@settings(max_examples=400, deadline=None)
@given(block=near_yaml())
def test_quick_keys_never_vouches_for_invalid_yaml(block: str) -> None:
    keys = fm.quick_keys(block)
    if keys is None:
        return
    data = fm.parse(block)  # must not raise
    assert {str(k) for k in data} <= keys | {"True", "False", "None"}
    assert {k for k in keys if k.lower() not in ("yes", "no", "true", "false", "on", "off", "y", "n", "null")} <= set(data)
