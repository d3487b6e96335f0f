"""Settings: one place for each default; explicit value > environment > default; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen import redact
from imagegen.config.knobs import CORE
from imagegen.config.settings import secret_values
from imagegen.config.settings import SettingsError, load


def test_defaults(tmp_path: Path) -> None:
    s = load({"providers": "local"}, {}, repo=tmp_path)
    assert s.repo == tmp_path.resolve()
    # The site-owned settings are None until the engine decides (imagegen.sites):
    assert (s.paths, s.exclude, s.attachments_dir, s.embed_style, s.frontmatter_field, s.image_url_prefix) \
        == (None,) * 6
    from imagegen import sites

    site = sites.resolve(s)  # an empty folder: the Obsidian fallback and its own defaults
    assert (site.name, site.paths, site.cover_folders(), site.embed_style) == ("obsidian", (".",), ("attachments",), "obsidian")
    assert site.exclude == ("index.md", "AGENTS.md", "IDEAS.md", "README.md")
    assert s.max_images is None and s.dry_run is False and s.concurrency == 8
    assert (s.width, s.height) == (1200, 630)
    assert [p.name for p in s.providers] == ["local"]
    assert s.describer_model == "gemini-3.1-flash-lite"
    assert s.describer_fallbacks == ("gemini-3.5-flash-lite", "gemini-3.5-flash")


def test_env_fallback_and_explicit_wins(tmp_path: Path) -> None:
    env = {"IMAGEGEN_MAX_IMAGES": "7", "IMAGEGEN_EMBED_STYLE": "markdown", "PROMPT_DESCRIBER_MODEL": "gemini-x"}
    s = load({"providers": "local"}, env, repo=tmp_path)
    assert s.max_images == 7 and s.embed_style == "markdown" and s.describer_model == "gemini-x"
    s = load({"providers": "local", "max-images": "2", "embed-style": ""}, env, repo=tmp_path)
    assert s.max_images == 2 and s.embed_style == "markdown"  # an empty input falls back to env


@pytest.mark.parametrize("raw,needle", [
    ({"embed-style": "html"}, "embed-style: unknown style 'html'"),
    ({"timezone": "Mars/Olympus"}, "timezone: unknown timezone"),
    ({"attachments-dir": "../elsewhere"}, "attachments-dir: '../elsewhere' is outside the repository"),
    ({"attachments-dir": "."}, "attachments-dir: must be a folder inside the repository"),
    ({"max-images": "many"}, "max-images: expected a whole number"),
    ({"concurrency": "0"}, "concurrency: must be at least 1"),
    ({"dry-run": "perhaps"}, "dry-run: expected true or false"),
    ({"providers": "local,dalle"}, "providers: unknown provider 'dalle'"),
    ({"provider-budget": "local"}, "provider-budget: expected NAME=N"),
    ({"provider-budget": "nope=3"}, "provider-budget: unknown provider 'nope'"),
    ({"paths": "../../etc"}, "paths: '../../etc' is outside the repository"),
])
def test_bad_settings_have_one_clear_message(tmp_path: Path, raw: dict[str, str], needle: str) -> None:
    raw = {"providers": "local", **raw}
    with pytest.raises(SettingsError) as e:
        load(raw, {}, repo=tmp_path)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_repo(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load({"providers": "local"}, {}, repo=tmp_path / "nope")


def test_nothing_configured_names_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as e:
        load({}, {"AIHORDE_ENABLED": "false"}, repo=tmp_path)  # no key, and the keyless AI Horde switched off
    msg = str(e.value)
    assert msg.startswith("no image provider is configured")
    assert "--providers card" in msg


def test_budgets_and_pacing_overrides(tmp_path: Path) -> None:
    s = load({"providers": "local", "provider-budget": "local=5", "provider-min-interval": "local=2.5",
              "provider-max-in-flight": "local=1", "reserve": "local"}, {}, repo=tmp_path)
    (p,) = s.providers
    assert p.budget == 5 and p.limits.min_interval == 2.5 and p.limits.max_in_flight == 1 and p.reserve


def test_lists_accept_commas_and_newlines(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    s = load({"providers": "local", "paths": "a,\n b\n"}, {}, repo=tmp_path)
    assert s.paths == ("a", "b")


def test_every_core_setting_has_help_and_env() -> None:
    names = [d.name for d in CORE]
    assert len(names) == len(set(names))
    for d in CORE:
        assert d.help and d.env_name.isupper()


def test_secret_options_are_registered_for_redaction(tmp_path: Path) -> None:
    redact.clear()
    from imagegen.providers import REGISTRY

    secret_opts = [(spec, o) for spec in REGISTRY for o in spec.options if o.secret]
    env = {o.env: f"SENTINEL-{spec.name}-{o.key}-0000" for spec, o in secret_opts}
    # Every secret a user gives is found once, for the entry point to register before printing ...
    assert sorted(secret_values({}, env)) == sorted(env.values())
    assert secret_values({"cloudflare-api-token": "FROM-A-FLAG-123"}, {}) == ["FROM-A-FLAG-123"]
    # ... and the command does so before anything is printed: a run with a bad setting echoes none.
    from imagegen import cli

    code = cli.main(["providers", str(tmp_path)], env)
    assert code == 0
    for value in env.values():
        assert redact.redact(f"x {value} y") == "x *** y"


def test_the_engine_owned_settings_help_names_each_engines_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """The help of a setting the blog engine decides names each engine's default, said by the engine
    itself: a new engine (one module, one ENGINES line) needs no edit to the settings' declarations."""
    from imagegen.config import knobs
    from imagegen.sites import ENGINES
    from imagegen.sites.base import Site

    for name, (cls, _) in ENGINES.items():
        assert f"{name}: {cls.describe_default('attachments-dir')}" in knobs.knob("attachments-dir").help
        assert cls.cover_dir in cls.describe_default("attachments-dir"), name

    class Zola(Site):
        name = "zola"
        default_paths = ("content",)
        cover_dir = "static/covers"
        default_field = "extra.image"

    monkeypatch.setitem(ENGINES, "zola", (Zola, None))
    for setting, said in (("paths", "zola: content"), ("attachments-dir", "zola: static/covers"),
                          ("frontmatter-field", "zola: extra.image"), ("embed-style", "zola: frontmatter"),
                          ("exclude", "zola: none")):
        assert said in knobs._engines(setting), setting


def test_a_dry_run_needs_no_provider_and_says_what_a_real_run_would_need(tmp_path: Path) -> None:
    off = {"AIHORDE_ENABLED": "false"}  # no key, and not the keyless AI Horde either
    s = load({"dry-run": "true"}, off, repo=tmp_path)
    assert s.providers == () and s.no_provider.startswith("no image provider is configured")
    with pytest.raises(SettingsError, match="no image provider is configured"):
        load({}, off, repo=tmp_path)  # a run that writes still refuses before any work
    assert load({}, off, repo=tmp_path, need_provider=False).providers == ()  # doctor


def test_a_run_with_an_empty_chain_refuses_before_any_work(tmp_path: Path) -> None:
    from imagegen.pipeline import run_sync

    (tmp_path / "2026-01-01-a.md").write_text("# A\n")
    s = load({"dry-run": "true"}, {"AIHORDE_ENABLED": "false"}, repo=tmp_path).with_(dry_run=False)
    with pytest.raises(SettingsError, match="no image provider is configured"):
        run_sync(s)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-01-01-a.md"]


def test_a_key_with_a_line_break_is_named_as_such(tmp_path: Path) -> None:
    env = {"CLOUDFLARE_API_TOKEN": "abcdefgh\nijklmnop", "CLOUDFLARE_ACCOUNT_ID": "0123456789abcdef"}
    with pytest.raises(SettingsError) as e:
        load({}, env, repo=tmp_path)
    assert str(e.value) == ("cloudflare-api-token: the value has a line break inside it, and a key or token is one "
                            "word; paste the secret's value again")
    assert "abcdefgh" not in str(e.value)
    # a trailing newline (a secret saved from `echo`) is not a mistake
    assert load({}, {**env, "CLOUDFLARE_API_TOKEN": "abcdefghijklmnop\n"}, repo=tmp_path).providers


def test_a_posts_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    (tmp_path / "2026-01-01-a.md").write_text("# A\n")
    with pytest.raises(SettingsError, match="posts: 'nope.md' does not exist in the repository"):
        load({"providers": "card", "posts": "2026-01-01-a.md,nope.md"}, {}, repo=tmp_path)
    assert load({"providers": "card", "posts": "2026-01-01-a.md"}, {}, repo=tmp_path).posts == ("2026-01-01-a.md",)


def test_an_unknown_provider_gets_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"unknown provider 'cardd' \(did you mean 'card'\?; known: "):
        load({"providers": "cardd"}, {}, repo=tmp_path)


def test_a_file_given_as_the_repository_is_said_to_be_a_file(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# x\n")
    with pytest.raises(SettingsError, match="is a file, not the blog's folder"):
        load({"providers": "card"}, {}, repo=tmp_path / "README.md")
