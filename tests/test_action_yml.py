"""action.yml cannot drift from the code: its inputs are exactly the CLI settings, every provider's
options and the action-only inputs, and the file is what `python -m imagegen.action action-yml` prints."""

from __future__ import annotations

import yaml

from imagegen.action import ACTION_INPUTS, OUTPUTS, inputs, render_action_yml
from imagegen.providers import REGISTRY
from imagegen.config.knobs import CORE
from tests.helpers import ROOT

REGENERATE = "regenerate it: .venv/bin/python -m imagegen.action action-yml > action.yml"


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_inputs_are_exactly_the_settings_provider_options_and_action_inputs():
    expected = [d.name for d in CORE]
    expected += [o.input_name for spec in REGISTRY for o in spec.all_options() if o.key != "base_url"]
    expected += [i.name for i in ACTION_INPUTS]
    assert list(action()["inputs"]) == expected, f"action.yml inputs drifted from the code; {REGENERATE}"


def test_test_only_base_urls_are_not_inputs_but_still_read_from_the_environment(tmp_path):
    from imagegen.config.settings import load

    assert not [n for n in action()["inputs"] if n.endswith("-base-url")]
    s = load({"providers": "together", "together-api-token": "tok-12345678"},
             {"IMAGEGEN_TOGETHER_BASE_URL": "http://127.0.0.1:9"}, repo=tmp_path)
    assert s.providers[0].opts["base_url"] == "http://127.0.0.1:9"


def test_action_yml_is_the_generated_file():
    assert (ROOT / "action.yml").read_text(encoding="utf-8") == render_action_yml(), \
        f"action.yml differs from the generated one; {REGENERATE}"


def test_required_provider_secrets_and_settings_are_inputs():
    names = set(action()["inputs"])
    for n in ("cloudflare-api-token", "cloudflare-account-id", "huggingface-api-token", "together-api-token",
              "pollinations-enabled", "pollinations-api-key", "gemini-api-key", "github-token", "commit",
              "commit-message", "branch", "only-changed", "paths", "posts", "changed-since", "providers", "reserve",
              "provider-budget", "max-images", "concurrency", "attachments-dir", "embed-style", "dry-run",
              "state-file", "prompt-style", "describer-model", "describer-fallbacks"):
        assert n in names, n


def test_every_input_shows_its_real_default_and_the_env_fallback():
    data = action()
    for name, spec in data["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec and isinstance(spec["default"], str), name
        assert spec.get("required") is False, name
    action_only = {i.name: i for i in ACTION_INPUTS}
    for i in inputs():
        if i.name in action_only:
            continue
        # the real default (what GitHub shows), never "" with the default in prose; secrets stay empty
        assert data["inputs"][i.name]["default"] == ("" if i.secret else i.effective_default), i.name
        assert i.env and f"`{i.env}`" in data["inputs"][i.name]["description"], i.name
    assert data["inputs"]["providers"]["default"] == "cloudflare,huggingface,together,pollinations,aihorde,gemini"
    assert data["inputs"]["concurrency"]["default"] == "8"
    assert data["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert data["inputs"]["commit"]["default"] == "api"
    assert data["inputs"]["only-changed"]["default"] == "auto"
    assert data["inputs"]["pull-request-branch"]["default"] == "imagegen/covers"


def test_an_input_left_at_its_default_falls_back_to_the_environment(tmp_path):
    """The runner passes every input, the defaults included: a workflow's `env:` must still win
    over a default nobody chose."""
    import io

    from imagegen import action as act
    from tests.helpers import commit_all, init_repo

    repo = init_repo(tmp_path / "blog")
    (repo / "2026-01-01-a.md").write_text("# A\n\nText.\n")
    commit_all(repo)
    env = {f"INPUT_{name.upper()}": spec["default"] for name, spec in action()["inputs"].items()}
    env.update({"GITHUB_WORKSPACE": str(repo), "INPUT_COMMIT": "none", "IMAGEGEN_PROVIDERS": "local",
                "IMAGEGEN_DRY_RUN": "true", "INPUT_GITHUB-TOKEN": ""})
    out = io.StringIO()
    assert act.main(env, out=out) == 0, out.getvalue()
    assert "would_generate" in out.getvalue() or "2026-01-01-a.md" in out.getvalue()
    assert not (repo / "attachments").exists()  # the env's dry-run won over the input's default "false"


def test_release_action_yml_is_action_yml_with_the_prebuilt_image():
    from imagegen.action import render_release_action_yml

    image = "ghcr.io/octo/imagegen:1.2.3"
    release = yaml.safe_load(render_release_action_yml(image))
    main_ = action()
    assert release["runs"] == {"using": "docker", "image": f"docker://{image}"}
    assert {k: v for k, v in release.items() if k != "runs"} == {k: v for k, v in main_.items() if k != "runs"}
    import pytest

    for bad in ("ghcr.io/octo/imagegen", "Dockerfile", "ghcr.io/Octo/x:1 ; rm -rf /"):
        with pytest.raises(ValueError):
            render_release_action_yml(bad)


def test_secret_inputs_are_the_provider_secrets():
    secret = {i.name for i in inputs() if i.secret}
    assert {"cloudflare-api-token", "cloudflare-account-id", "huggingface-api-token", "together-api-token",
            "pollinations-api-key", "gemini-api-key", "github-token"} <= secret


def test_outputs_and_runs():
    data = action()
    assert list(data["outputs"]) == [n for n, _ in OUTPUTS] == [
        "images-generated", "posts-updated", "pending", "stopped-by-quota", "commit-sha", "pull-request-url",
        "pull-request-number", "report"]
    assert all(v.get("description") for v in data["outputs"].values())
    assert data["runs"] == {"using": "docker", "image": "Dockerfile"}  # main builds it; a release runs the prebuilt image
    assert data["name"] and data["description"] and data["branding"]["icon"] and data["branding"]["color"]


def test_settings_page_tables_match_the_code():
    """docs/settings.md's inputs/outputs tables (between the markers) are `python -m imagegen.action tables`."""
    from imagegen.action import markdown_tables
    from imagegen.action.__main__ import SETTINGS_PAGE, TABLES_END, TABLES_START

    text = (ROOT / SETTINGS_PAGE).read_text(encoding="utf-8")
    assert TABLES_START in text and TABLES_END in text, \
        f"{SETTINGS_PAGE} lost its generated action tables' markers ({TABLES_START} ... {TABLES_END})"
    inner = text.split(TABLES_START, 1)[1].split(TABLES_END, 1)[0]
    assert inner.strip() == markdown_tables().strip(), \
        f"{SETTINGS_PAGE}'s action tables are stale; regenerate: .venv/bin/python -m imagegen.action tables --write"


def test_tables_write_replaces_only_what_lies_between_the_markers(tmp_path, monkeypatch):
    from imagegen.action import markdown_tables
    from imagegen.action.__main__ import TABLES_END, TABLES_START, _cli

    page = tmp_path / "docs" / "settings.md"
    page.parent.mkdir()
    page.write_text(f"# Settings\n\nbefore\n{TABLES_START}\nstale | table\n{TABLES_END}\nafter\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert _cli(["tables", "--write"]) == 0
    text = page.read_text(encoding="utf-8")
    assert text == f"# Settings\n\nbefore\n{TABLES_START}\n{markdown_tables().strip()}\n{TABLES_END}\nafter\n"
    page.write_text("# no markers\n", encoding="utf-8")
    assert _cli(["tables", "--write"]) == 2 and page.read_text(encoding="utf-8") == "# no markers\n"
