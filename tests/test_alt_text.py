"""Every cover gets alt text: the describer's one sentence about the picture (same call as the
prompt, structured output), else the post's title; in the alt field and in every embed style;
cached like image_prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegen.prompts import ALT_MAX_CHARS, RESPONSE_SCHEMA, parse_answer
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.helpers import commit_all, init_repo, run_cli

POST = "---\ntitle: {title}\n---\n# {title}\n\nFoxes jump into snow drifts to catch mice.\n"
FAKE_ALT = "Layered shapes in warm light about"  # what the fake Gemini's alt text starts with


def test_parse_answer() -> None:
    assert parse_answer('{"prompt": "A fox in snow", "alt": "A red fox leaps into a snow drift."}') == (
        "A fox in snow", "A red fox leaps into a snow drift.")
    assert parse_answer('```json\n{"prompt": "A fox", "alt": "\\"A fox.\\""}\n```') == ("A fox", "A fox.")
    assert parse_answer("Prompt: a fox in the snow") == ("a fox in the snow", "")  # plain text: no alt
    assert parse_answer('{"prompt": "A fox"}') == ("A fox", "")
    prompt, alt = parse_answer(json.dumps({"prompt": "p", "alt": "A very long sentence " * 20}))
    assert len(alt) <= ALT_MAX_CHARS and alt.endswith("…")
    assert parse_answer('{"prompt": "line\\nbreak", "alt": "two\\nlines"}') == ("line break", "two lines")
    assert set(RESPONSE_SCHEMA["required"]) == {"prompt", "alt"}


def _blog(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "blog")
    p = repo / "posts" / "2026-01-01-winter-foxes.md"
    p.parent.mkdir(parents=True)
    p.write_text(POST.format(title="Winter foxes"))
    commit_all(repo)
    return repo


@pytest.mark.parametrize("style", ["obsidian", "markdown", "frontmatter"])
def test_describer_alt_text_in_every_embed_style(style: str, fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    repo = _blog(tmp_path)
    report = tmp_path / "r.json"
    r = run_cli("run", str(repo), "--providers", "local", "--embed-style", style, "--report", str(report),
                env=fake_providers.env(["gemini"]))
    assert r.returncode == 0, r.stderr
    (g,) = json.loads(report.read_text())["generated"]
    assert g["prompt_source"].startswith("describer:")
    alt = g["alt"]
    assert alt.startswith(FAKE_ALT) and len(alt) <= ALT_MAX_CHARS
    text = (repo / g["post"]).read_text()
    assert f"image_alt: {json.dumps(alt)}" in text
    name = Path(g["image"]).name
    if style == "obsidian":
        assert f"![[{g['image']}|{alt}]]" in text
    elif style == "markdown":
        assert f"![{alt}](../attachments/{name})" in text
    else:
        assert f'image: "{g["image"]}"' in text and "![" not in text
    # the describer was asked once, for both
    assert fake_providers.count("gemini") == 1
    body = fake_providers.requests("gemini")[0].json
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert set(body["generationConfig"]["responseSchema"]["properties"]) == {"prompt", "alt"}


def test_without_describer_the_alt_text_is_the_title(tmp_path: Path) -> None:
    repo = _blog(tmp_path)
    r = run_cli("run", str(repo), "--providers", "local", "--describer", "off", "--embed-style", "markdown")
    assert r.returncode == 0, r.stderr
    text = (repo / "posts/2026-01-01-winter-foxes.md").read_text()
    assert 'image_alt: "Winter foxes"' in text and "![Winter foxes](../attachments/posts-2026-01-01-winter-foxes.jpg)" in text


def test_alt_text_is_cached_with_the_prompt(fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    repo = _blog(tmp_path)
    env = fake_providers.env(["gemini"])
    assert run_cli("run", str(repo), "--providers", "local", "--embed-style", "markdown", env=env).returncode == 0
    post = repo / "posts/2026-01-01-winter-foxes.md"
    first = post.read_text()
    # the blogger deletes the cover embed and the image: the next run reuses the cached prompt and alt text
    post.write_text("\n".join(line for line in first.splitlines() if not line.startswith("![")) + "\n")
    for f in (repo / "attachments").iterdir():
        f.unlink()
    report = tmp_path / "r.json"
    r = run_cli("run", str(repo), "--providers", "local", "--embed-style", "markdown", "--report", str(report), env=env)
    assert r.returncode == 0, r.stderr
    (g,) = json.loads(report.read_text())["generated"]
    assert g["prompt_source"] == "cached" and g["alt"].startswith(FAKE_ALT)
    assert fake_providers.count("gemini") == 1  # no second describer call
    assert f"![{g['alt']}](" in post.read_text()


def test_no_prompt_in_frontmatter_caches_in_the_state_file(fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    repo = _blog(tmp_path)
    env = fake_providers.env(["gemini"])
    state = tmp_path / "state.json"
    args = ("run", str(repo), "--providers", "local", "--embed-style", "markdown", "--no-prompt-in-frontmatter",
            "--state-file", str(state))
    assert run_cli(*args, env=env).returncode == 0
    post = repo / "posts/2026-01-01-winter-foxes.md"
    text = post.read_text()
    assert "image_prompt" not in text and "image_alt: " in text  # alt text is content: it stays
    cached = json.loads(state.read_text())["prompts"]["posts/2026-01-01-winter-foxes.md"]
    assert cached["prompt"].startswith("A soft, luminous illustration") and cached["alt"].startswith(FAKE_ALT)
    post.write_text("\n".join(line for line in text.splitlines()
                              if not line.startswith(("![", "image_alt"))) + "\n")
    report = tmp_path / "r.json"
    assert run_cli(*args, "--report", str(report), env=env).returncode == 0
    (g,) = json.loads(report.read_text())["generated"]
    assert (g["prompt_source"], g["prompt"], g["alt"]) == ("cached", cached["prompt"], cached["alt"])
    assert fake_providers.count("gemini") == 1
