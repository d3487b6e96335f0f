"""The repository's settings file (.imagegen.toml or [tool.imagegen] in pyproject.toml): read by the
CLI and the action, below flags/inputs and the environment, refusing unknown keys and secrets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from imagegen import action, cli
from imagegen.config.knobs import CORE, all_knobs
from imagegen.config.settings import SettingsError, load
from tests.helpers import commit_all, init_repo


def repo_with(tmp_path: Path, toml: str, name: str = ".imagegen.toml") -> Path:
    repo = tmp_path / "blog"
    repo.mkdir(exist_ok=True)
    (repo / name).write_text(toml)
    return repo


def test_every_setting_can_be_written_and_lists_become_lists(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, 'paths = ["posts", "notes"]\nmax-images = 3\ndry-run = true\n'
                               'providers = ["local"]\nembed_style = "markdown"\nlocal-image-model = "abstract-v1"\n'
                               'provider-timeout = ["local=5"]\n')
    (repo / "posts").mkdir()
    (repo / "notes").mkdir()
    s = load({}, {}, repo=repo)
    assert s.paths == ("posts", "notes") and s.max_images == 3 and s.dry_run is True
    assert [p.name for p in s.providers] == ["local"] and s.embed_style == "markdown"
    assert s.providers[0].limits.timeout == 5.0
    assert s.config_file == ".imagegen.toml"


def test_flags_and_environment_win_over_the_file(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, 'providers = "local"\nmax-images = 3\nconcurrency = 2\nwidth = 800\n')
    s = load({"max-images": "7"}, {"IMAGEGEN_CONCURRENCY": "5"}, repo=repo)
    assert (s.max_images, s.concurrency, s.width) == (7, 5, 800)
    assert load({}, {}, repo=repo).height == 630  # not in the file: the default


def test_the_known_keys_come_from_the_declarations() -> None:
    keys = {k.name: k for k in all_knobs()}
    assert {d.name for d in CORE} <= set(keys)
    assert keys["cloudflare-api-token"].secret and keys["cloudflare-api-token"].scope == "provider"
    assert keys["paths"].multi and keys["commit"].scope == "action"


@pytest.mark.parametrize("toml, words", [
    ("max-image = 3\n", ["unknown setting 'max-image'", "did you mean 'max-images'"]),
    ("atachments_dir = 'img'\n", ["did you mean 'attachments-dir'"]),
    ("zzz = 1\n", ["unknown setting 'zzz'", "imagegen run --help"]),
    ("cloudflare-api-token = 'abc'\n", ["is a secret", "repository secret"]),
    ("max-images = [1, 2]\n", ["max-images takes one value"]),
    ("[paths]\nx = 1\n", ["paths is a table"]),
    ("paths = ['a,b']\n", ["contains a comma"]),
    ("max-images = 1\nmax_images = 2\n", ["max-images is set twice"]),
    ("max-images = = 3\n", ["not valid TOML", "line 1"]),
])
def test_bad_files_are_refused_with_one_sentence(tmp_path: Path, toml: str, words: list[str]) -> None:
    repo = repo_with(tmp_path, toml)
    with pytest.raises(SettingsError) as err:
        load({"providers": "local"}, {}, repo=repo)
    msg = str(err.value)
    assert msg.startswith(".imagegen.toml") and "\n" not in msg
    for w in words:
        assert w in msg


def test_pyproject_tool_section(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, '[project]\nname = "blog"\n\n[tool.imagegen]\nproviders = ["local"]\nmax-images = 2\n',
                     "pyproject.toml")
    s = load({}, {}, repo=repo)
    assert s.max_images == 2 and s.config_file == "pyproject.toml [tool.imagegen]"
    (repo / "pyproject.toml").write_text('[tool.imagegen]\nmax-imagez = 2\n')
    with pytest.raises(SettingsError, match=r"pyproject.toml \[tool.imagegen\]: unknown setting 'max-imagez'"):
        load({"providers": "local"}, {}, repo=repo)


def test_an_unrelated_or_broken_pyproject_is_ignored(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "[project\nthis is not toml", "pyproject.toml")
    assert load({"providers": "local"}, {}, repo=repo).config_file == ""
    (repo / "pyproject.toml").write_text('[tool.black]\nline-length = 100\n')
    assert load({"providers": "local"}, {}, repo=repo).config_file == ""


def test_both_files_at_once_is_refused(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, "max-images = 1\n")
    (repo / "pyproject.toml").write_text("[tool.imagegen]\nmax-images = 2\n")
    with pytest.raises(SettingsError, match="both .imagegen.toml and pyproject.toml"):
        load({"providers": "local"}, {}, repo=repo)


def test_file_settings_are_relative_to_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = repo_with(tmp_path, 'providers = "local"\nstate-file = ".imagegen-state/quota.json"\nreport = "r.json"\n')
    monkeypatch.chdir(tmp_path)
    s = load({}, {}, repo=repo)
    assert s.state_file == repo.resolve() / ".imagegen-state" / "quota.json"
    assert s.report == repo.resolve() / "r.json"
    assert load({"report": "here.json"}, {}, repo=repo).report == Path("here.json")  # a flag: relative to cwd


def test_the_cli_reads_the_file_and_a_bad_one_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = init_repo(tmp_path / "blog")
    (repo / "2026-01-01-a.md").write_text("# A\n\nText.\n")
    (repo / ".imagegen.toml").write_text('providers = ["local"]\ndry-run = true\nreport = "out.json"\n')
    assert cli.main(["run", str(repo)], env={}) == 0
    assert "settings from .imagegen.toml" in capsys.readouterr().err
    report = json.loads((repo / "out.json").read_text())
    assert report["dry_run"] is True and report["pending"][0]["post"] == "2026-01-01-a.md"
    assert not (repo / "attachments").exists()
    capsys.readouterr()
    (repo / ".imagegen.toml").write_text('providers = ["local"]\ndryrun = true\n')
    assert cli.main(["run", str(repo)], env={}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["imagegen: error: .imagegen.toml: unknown setting 'dryrun' (did you mean 'dry-run'?)"]


def test_the_action_reads_the_file(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "blog")
    (repo / "2026-01-01-a.md").write_text("# A\n\nText.\n")
    (repo / "2026-01-02-b.md").write_text("# B\n\nText.\n")
    (repo / ".imagegen.toml").write_text('providers = ["local"]\nmax-images = 1\nembed-style = "markdown"\n')
    commit_all(repo)
    out = io.StringIO()
    env = {"GITHUB_WORKSPACE": str(repo), "INPUT_COMMIT": "none", "INPUT_ONLY-CHANGED": "false"}
    assert action.main(env, out=out) == 0, out.getvalue()
    assert "![B](attachments/" in (repo / "2026-01-02-b.md").read_text()  # newest first, markdown style
    assert "attachments" not in (repo / "2026-01-01-a.md").read_text()     # max-images = 1 from the file
    out = io.StringIO()
    (repo / ".imagegen.toml").write_text('providers = ["local"]\nmax_imagez = 1\n')
    assert action.main(env, out=out) != 0
    errors = [line for line in out.getvalue().splitlines() if line.startswith("::error::")]
    assert len(errors) == 1 and "did you mean 'max-images'" in errors[0]
