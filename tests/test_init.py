"""`imagegen init`: a settings file that loads (every setting listed from its declaration, the
detected post folders set), an optional workflow that lints, and nothing existing overwritten."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from imagegen import cli
from imagegen.cli import scaffold
from imagegen.config.sources import load_config
from imagegen.config.knobs import CORE
from imagegen.config.settings import load
from imagegen.providers import secret_options
from tests.helpers import demo_repo


def test_init_writes_a_settings_file_that_loads_with_the_detected_folders(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo(tmp_path)
    assert cli.main(["init", str(repo)], env={}) == 0
    out = capsys.readouterr().out
    assert f"wrote {repo / '.imagegen.toml'}" in out and "next: imagegen run --dry-run" in out
    text = (repo / ".imagegen.toml").read_text()
    assert tomllib.loads(text) == {"paths": ["auto-blog-zero", "chickie-loo", "systems-for-public-good"],
                                   "site": "obsidian"}
    for d in CORE:  # every setting is listed, with its help
        assert re.search(rf"^#? ?{re.escape(d.name)} = ", text, re.MULTILINE), d.name
        assert f"# {d.help}" in text
    s = load({"providers": "local"}, {}, repo=repo)
    assert s.paths == ("auto-blog-zero", "chickie-loo", "systems-for-public-good")
    assert s.config_file == ".imagegen.toml"


def test_every_commented_setting_is_valid_when_uncommented(tmp_path: Path) -> None:
    text = scaffold.config_text(scaffold.Detected())
    names = {d.name for d in CORE}
    lines = [line[2:] if line.startswith("# ") and line[2:].split(" = ", 1)[0] in names else line
             for line in text.splitlines()]
    data = tomllib.loads("\n".join(lines))
    assert set(data) == names
    (tmp_path / ".imagegen.toml").write_text("\n".join(lines))
    assert load_config(tmp_path).values  # loads without an error
    local = {"providers": "local"}
    s = load(local, {}, repo=tmp_path)  # and the defaults written out are the defaults
    assert s.config_file == ".imagegen.toml"
    (tmp_path / ".imagegen.toml").unlink()
    assert s.with_(config_file="") == load(local, {}, repo=tmp_path)


def test_init_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo(tmp_path)
    (repo / ".imagegen.toml").write_text("max-images = 1\n")
    assert cli.main(["init", str(repo)], env={}) == 2
    assert ".imagegen.toml already exists" in capsys.readouterr().err
    assert (repo / ".imagegen.toml").read_text() == "max-images = 1\n"
    assert not (repo / scaffold.WORKFLOW_PATH).exists()


def test_init_workflow_after_init_adds_only_the_workflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The newcomer's path: `init`, edit the file, then `init --workflow`: the file stays byte for byte."""
    repo = demo_repo(tmp_path)
    assert cli.main(["init", str(repo)], env={}) == 0
    settings = repo / ".imagegen.toml"
    edited = settings.read_text() + 'prompt-style = "my edit"\n'
    settings.write_text(edited)
    capsys.readouterr()
    assert cli.main(["init", str(repo), "--workflow"], env={}) == 0
    out = capsys.readouterr().out
    assert f"kept {settings} as it is" in out and f"wrote {repo / scaffold.WORKFLOW_PATH}" in out
    assert settings.read_text() == edited
    assert yaml.safe_load((repo / scaffold.WORKFLOW_PATH).read_text())["jobs"]["covers"]
    # a second time the workflow exists: refused, nothing touched
    flow = (repo / scaffold.WORKFLOW_PATH).read_text()
    assert cli.main(["init", str(repo), "--workflow"], env={}) == 2
    assert "covers.yml already exists" in capsys.readouterr().err
    assert (repo / scaffold.WORKFLOW_PATH).read_text() == flow and settings.read_text() == edited


def test_force_never_drops_a_line_the_user_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo(tmp_path)
    settings = repo / ".imagegen.toml"
    mine = ('# my blog\'s settings\nmax-images = 1   # keep it small\nprompt_style = "my edit"\n'
            '# width = 800\nsite = "obsidian"\n')
    settings.write_text(mine)
    (repo / scaffold.WORKFLOW_PATH).parent.mkdir(parents=True)
    (repo / scaffold.WORKFLOW_PATH).write_text("name: mine\n# my own workflow line\n")
    assert cli.main(["init", str(repo), "--workflow", "--force"], env={}) == 0
    out = capsys.readouterr().out
    text = settings.read_text()
    assert text.startswith(mine), "every line the user wrote stays, in its place"
    added = text[len(mine):]
    assert "# concurrency = 8" in added and "max-images" not in added and "prompt-style" not in added
    assert "width =" not in added and "site =" not in added  # mentioned (even commented out): not added again
    assert tomllib.loads(text) == {"max-images": 1, "prompt_style": "my edit", "site": "obsidian",
                                   "paths": ["auto-blog-zero", "chickie-loo", "systems-for-public-good"]}  # detected
    assert load({"providers": "local"}, {}, repo=repo).max_images == 1
    backup = repo / ".github" / "workflows" / "covers.yml.bak"
    assert backup.read_text() == "name: mine\n# my own workflow line\n"
    assert f"refreshed {settings}" in out and f"the old one is kept as {backup}" in out
    # once more: nothing left to add, the file is kept; the earlier backup is not overwritten
    assert cli.main(["init", str(repo), "--workflow", "--force"], env={}) == 0
    assert settings.read_text() == text and backup.read_text() == "name: mine\n# my own workflow line\n"
    assert (repo / ".github" / "workflows" / "covers.yml.bak-2").exists()


def test_force_refuses_a_settings_file_it_cannot_read_and_touches_nothing(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo(tmp_path)
    (repo / ".imagegen.toml").write_text("max-images = = 1\n")
    assert cli.main(["init", str(repo), "--force", "--workflow"], env={}) == 2
    assert "cannot be read as TOML" in capsys.readouterr().err
    assert (repo / ".imagegen.toml").read_text() == "max-images = = 1\n"
    assert not (repo / scaffold.WORKFLOW_PATH).exists()


def test_init_then_a_dry_run_works_without_any_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What `init` suggests next must work on a machine with no key at all."""
    repo = demo_repo(tmp_path)
    assert cli.main(["init", str(repo)], env={}) == 0
    assert "next: imagegen run --dry-run" in capsys.readouterr().out
    assert cli.main(["run", "--dry-run", str(repo)], env={}) == 0
    out = capsys.readouterr().out  # no key at all: the keyless AI Horde, and what that means
    assert "would generate" in out and "a real run would ask: AI Horde" in out
    assert "no provider key is set, so AI Horde makes the covers" in out and "see the prompts" in out
    assert cli.main(["run", "--dry-run", str(repo)], env={"AIHORDE_ENABLED": "false"}) == 0
    out = capsys.readouterr().out
    assert "would generate" in out and "a real run needs an image provider first" in out
    assert "--providers card" in out


def test_init_workflow_is_ready_to_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo(tmp_path)
    assert cli.main(["init", str(repo), "--workflow", "--action", "me/imagegen@v1"], env={}) == 0
    wf = yaml.safe_load((repo / scaffold.WORKFLOW_PATH).read_text())
    steps = wf["jobs"]["covers"]["steps"]
    uses = [s["uses"] for s in steps]
    assert uses == ["actions/checkout@v5", "actions/cache/restore@v5", "me/imagegen@v1", "actions/cache/save@v5"]
    assert wf["permissions"] == {"contents": "write"}
    assert wf[True]["push"]["paths"] == ["auto-blog-zero/**", "chickie-loo/**", "systems-for-public-good/**",
                                         ".imagegen.toml"]
    action_step = steps[2]["with"]
    assert action_step["state-file"] == ".imagegen-state/quota.json"
    for o in secret_options():  # every provider secret the registry declares, from the repository's secrets
        assert action_step[o.input_name] == f"${{{{ secrets.{o.env} }}}}"
    assert "CLOUDFLARE_ACCOUNT_ID" in {o.env for o in secret_options()}
    # Anonymous Pollinations stamps its logo on every image since 2026-08: off unless asked for,
    # and the workflow says how (commented lines), logo included.
    assert "pollinations-enabled" not in action_step and "pollinations-accept-logo" not in action_step
    text = (repo / scaffold.WORKFLOW_PATH).read_text()
    assert '# pollinations-enabled: "true"' in text and '# pollinations-accept-logo: "true"' in text
    assert steps[1]["with"]["path"] == ".imagegen-state" == steps[3]["with"]["path"]


def test_init_workflow_passes_actionlint(tmp_path: Path) -> None:
    from tests.test_workflows import actionlint

    wf = tmp_path / "covers.yml"
    wf.write_text(scaffold.workflow_text(scaffold.Detected(paths=("posts",))))
    assert actionlint([wf], tmp_path) == []


def test_init_without_dated_posts_leaves_paths_to_the_default(tmp_path: Path) -> None:
    (tmp_path / "2026-01-01-root-post.md").write_text("# A\n")
    found = scaffold.detect(tmp_path)
    assert found.paths == () and found.posts == 1
    assert tomllib.loads(scaffold.config_text(found)) == {"site": "obsidian"}


@pytest.mark.parametrize("files, site, push, comment", [
    ({"hugo.toml": "title = 'A blog'\n", "content/posts/2026-01-01-dated.md": "+++\ntitle = 'x'\n+++\n"},
     "hugo", ["content/**"], "# Posts are read from content/ (the hugo site's folders)."),
    ({"_config.yml": "title: A blog\n", "_posts/2026-01-01-hello.md": "---\ntitle: x\n---\n"},
     "jekyll", ["**.md", "**.markdown"], None),
    ({"astro.config.mjs": "export default {}\n", "src/content/blog/first.mdx": "---\ntitle: x\n---\n"},
     "astro", ["src/content/**"], "# Posts are read from src/content/ (the astro site's folders)."),
])
def test_init_follows_the_detected_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str],
                                          site: str, push: list[str], comment: str | None) -> None:
    repo = tmp_path / "site"
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    assert cli.main(["init", str(repo), "--workflow"], env={}) == 0
    text = (repo / ".imagegen.toml").read_text()
    assert f"# Detected engine: {site} (" in text
    assert tomllib.loads(text) == {"site": site}  # the engine's folders are its default: not repeated
    if comment:
        assert comment in text
    wf = yaml.safe_load((repo / scaffold.WORKFLOW_PATH).read_text())
    assert wf[True]["push"]["paths"] == push + [".imagegen.toml"]
    assert load({"providers": "local"}, {}, repo=repo).site == site
