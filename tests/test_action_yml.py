"""action.yml cannot drift from the code: its inputs are exactly the CLI settings, every provider's
options and the action-only inputs, and the file is what `python -m imagegen.action action-yml` prints."""

from __future__ import annotations

import yaml

from imagegen.action import ACTION_INPUTS, OUTPUTS, inputs, render_action_yml
from imagegen.providers import REGISTRY
from imagegen.settings import CORE
from tests.helpers import ROOT

REGENERATE = "regenerate it: .venv/bin/python -m imagegen.action action-yml > action.yml"


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def test_inputs_are_exactly_the_settings_provider_options_and_action_inputs():
    expected = [d.name for d in CORE]
    expected += [o.input_name for spec in REGISTRY for o in spec.all_options()]
    expected += [i.name for i in ACTION_INPUTS]
    assert list(action()["inputs"]) == expected, f"action.yml inputs drifted from the code; {REGENERATE}"


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


def test_every_input_has_a_description_and_a_default_and_settings_default_to_empty():
    data = action()
    for name, spec in data["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec and isinstance(spec["default"], str), name
        assert spec.get("required") is False, name
    action_only = {i.name: i for i in ACTION_INPUTS}
    for i in inputs():
        if i.name in action_only:
            continue
        # empty, so the runner passes "" and settings.load falls back to the env var, then the default
        assert data["inputs"][i.name]["default"] == "", i.name
        assert i.env and f"`{i.env}`" in data["inputs"][i.name]["description"], i.name
    assert data["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert data["inputs"]["commit"]["default"] == "api"
    assert data["inputs"]["only-changed"]["default"] == "auto"


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
    assert data["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert data["name"] and data["description"] and data["branding"]["icon"] and data["branding"]["color"]


def test_readme_tables_match_the_code():
    """The README's inputs/outputs tables (between the markers) are `python -m imagegen.action tables`."""
    import pytest

    from imagegen.action import markdown_tables

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- action-tables:start -->", "<!-- action-tables:end -->"
    if start not in text:
        pytest.skip("README.md has no generated action tables yet (markers " + start + " ... " + end + ")")
    inner = text.split(start, 1)[1].split(end, 1)[0]
    assert inner.strip() == markdown_tables().strip(), \
        "README action tables are stale; regenerate: .venv/bin/python -m imagegen.action tables"
