"""The cleaned-text prompt on seed-style posts: title, description and tags first, then the body
without the social sections (`## 🐦 Tweet`, `## 🦋 Bluesky`, `## 🐘 Mastodon`, Share, Comments),
embed blocks or any tag fragment; `--prompt-template`; and the describer reads the same text."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from imagegen.posts import Post
from imagegen.prompts.plaintext import plain_text
from imagegen.prompts import PREFIX, Described, describer_text, post_fields, prompt_for, styled, text_prompt
from imagegen.config.settings import Settings, SettingsError, load

FIXTURE = Path(__file__).parent / "fixtures" / "seed-style-post.md"
SOCIAL_WORDS = ("Tweet", "Bluesky", "Mastodon", "erode, one twenty-minute", "toot text", "Share", "Twitter",
                "LinkedIn", "Comments", "@someone", "January 10, 2026", "They erode.")
MARKUP = ("<", ">", "script", "iframe", "blockquote", "data-allowed-prefixes", "allowfullscreen", "callout",
          "{{", "tweet user", "mdash", "&", "embed.js", "giscus")


def _absent(words: tuple[str, ...], text: str) -> None:
    for word in words:
        pattern = rf"\b{re.escape(word)}\b" if word[0].isalnum() and word[-1].isalnum() else re.escape(word)
        assert not re.search(pattern, text), (word, text)


def seed_post(tmp_path: Path, text: str | None = None) -> Post:
    path = tmp_path / "posts" / "2026-01-10-why-public-systems-fail.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else FIXTURE.read_text())
    return Post.load(path, tmp_path, max_bytes=1 << 20)


def test_seed_post_prompt_is_title_description_tags_then_clean_body(tmp_path: Path) -> None:
    prompt = text_prompt(seed_post(tmp_path), Settings(repo=tmp_path))
    assert prompt == (
        PREFIX + "Why public systems fail quietly. Small failures in public services add up long before anyone "
        "notices. Tags: public services, infrastructure. Most public systems do not collapse; they erode. A form "
        "that takes twenty minutes instead of two, a queue that grows by a few people a week. The people who run "
        "these systems usually know exactly where they hurt. What to measure Waiting time, abandoned applications "
        "and repeat visits tell the real story.")


def test_no_social_section_or_markup_survives(tmp_path: Path) -> None:
    post = seed_post(tmp_path)
    for text in (text_prompt(post, Settings(repo=tmp_path)), post.prompt_text(),
                 describer_text(post_fields(post, Settings(repo=tmp_path)))):
        _absent(SOCIAL_WORDS + MARKUP, text)


@pytest.mark.parametrize("fragment", [
    '<script data-allowed-prefixes="https://mastodon.social/"\n  src="https://mastodon.social/embed.js" async\n',
    '<script data-allowed-prefixes="https://x/" src="https://x/e.js" async\n',
    '<iframe src="https://www.youtube.com/embed/x"\n  allowfullscreen\n',
    '<blockquote class="mastodon-embed" data-embed-url="https://m.social/@a/1/embed">\nquoted toot\n',
    "<!-- an unclosed comment\nstill comment\n",
    '<div class="note"\n  data-x="1">Kept words</div>\n',
])
def test_broken_tags_leave_no_fragment(fragment: str) -> None:
    text = plain_text(f"Before words.\n\n{fragment}\nAfter words.\n")
    assert text.startswith("Before words.") and text.endswith("After words."), text
    assert not re.search(r"<|>|data-|allow|src=|embed|comment|quoted", text), text


def test_prose_with_angle_brackets_is_kept() -> None:
    assert plain_text("If a<b then 3 > 2 and x <y.\n") == "If a<b then 3 > 2 and x <y."


def test_social_headings_are_configurable(tmp_path: Path) -> None:
    body = "# T\n\nKept.\n\n## 📣 Spread the word\n\nBuy my book.\n\n## Next\n\nAlso kept.\n"
    post = seed_post(tmp_path, body)
    assert "Buy my book" in post.prompt_text()
    settings = load({"providers": "local", "social-headings": "Spread the word, Newsletter"}, {}, repo=tmp_path)
    assert settings.social_headings == ("Spread the word", "Newsletter")
    assert post_fields(post, settings)["body"] == "Kept. Next Also kept."


def test_title_falls_back_to_the_h1_and_is_not_repeated(tmp_path: Path) -> None:
    post = seed_post(tmp_path, "# Winter foxes\n\nFoxes in the snow.\n")
    assert text_prompt(post, Settings(repo=tmp_path)) == PREFIX + "Winter foxes. Foxes in the snow."
    post = seed_post(tmp_path, "---\ntitle: Foxes?\nsummary: A summary.\ntags: snow, foxes\n---\nFoxes in the snow.\n")
    assert text_prompt(post, Settings(repo=tmp_path)) == PREFIX + "Foxes? A summary. Tags: snow, foxes. Foxes in the snow."


def test_prompt_template(tmp_path: Path) -> None:
    post = seed_post(tmp_path)
    settings = load({"providers": "local", "prompt-template": "Cover for '{title}' ({tags}), {style}: {body}",
                     "prompt-style": "watercolour"}, {}, repo=tmp_path)
    prompt = text_prompt(post, settings)
    assert prompt.startswith("Cover for 'Why public systems fail quietly' (public services, infrastructure), "
                             "watercolour: Most public systems do not collapse")
    assert styled(prompt, settings) == prompt  # the template placed the style itself
    short = text_prompt(post, settings.with_(prompt_template="{body} -- {title}", prompt_max_chars=120))
    assert len(short) <= 120 and short.endswith("… -- Why public systems fail quietly")  # the body is what is cut


@pytest.mark.parametrize("template,message", [
    ("{title} {author}", "prompt-template: unknown field {author}"),
    ("{title", "prompt-template:"),
    ("{body[0]}", "prompt-template: unknown field"),
])
def test_bad_templates_are_refused(tmp_path: Path, template: str, message: str) -> None:
    with pytest.raises(SettingsError) as e:
        load({"providers": "local", "prompt-template": template}, {}, repo=tmp_path)
    assert message in str(e.value)


def test_describer_gets_the_same_cleaned_text_capped(tmp_path: Path) -> None:
    post = seed_post(tmp_path, FIXTURE.read_text().replace("The people who run", "word " * 5000 + "The people who run"))
    seen: list[str] = []

    class Recording:
        async def describe(self, p: object, contents: str = "") -> Described:
            seen.append(contents)
            return Described.by_describer("a described picture", "m")

    asyncio.run(prompt_for(post, Settings(repo=tmp_path), Recording(), regenerate=False))  # type: ignore[arg-type]
    (contents,) = seen
    assert contents.startswith("Title: Why public systems fail quietly\nDescription: Small failures")
    assert "Tags: public services, infrastructure\n\nMost public systems" in contents
    assert len(contents) < 12_000 + 300
    _absent(SOCIAL_WORDS + MARKUP, contents)
