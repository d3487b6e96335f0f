"""The command's small parts: flags derived from the settings, the progress output, the summary."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from imagegen import cli
from imagegen.cli.narrate import Printer, summary
from imagegen.cli.options import raw_values
from imagegen.providers import REGISTRY
from imagegen.report import Event, Generated, ProviderStats, Report
from imagegen.config.knobs import CORE
from imagegen.config.settings import load


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("command", ["run", "doctor"])
def test_every_setting_and_provider_option_is_an_option(capsys: pytest.CaptureFixture[str], command: str) -> None:
    assert cli.main([command, "--help"], env={}) == 0
    listed = set(re.findall(r"--[a-z0-9-]+", capsys.readouterr().out))
    for d in CORE:
        assert f"--{d.name}" in listed
        if d.flag:
            assert f"--no-{d.name}" in listed
    for spec in REGISTRY:
        for o in spec.all_options():
            assert f"--{o.input_name}" in listed
    for name in ("--cloudflare-api-token", "--gemini-image-model", "--pollinations-enabled", "--together-base-url"):
        assert name in listed


def _raw(*words: str) -> dict[str, str | None]:
    ctx = cli.app.commands["run"].make_context("run", list(words))
    return raw_values(ctx.params)


def test_raw_values_are_what_settings_load_takes() -> None:
    """Strings as given, a repeated list option comma-joined, booleans as "true"/"false", None for
    every option not given (so the environment and the settings file still apply)."""
    raw = _raw("--paths", "a,b", "--paths", "c", "--dry-run", "--no-include-undated", "--max-images", "3",
               "--report", "", "--cloudflare-api-token", "tok")
    given = {"paths": "a,b,c", "dry-run": "true", "include-undated": "false", "max-images": "3", "report": "",
             "cloudflare-api-token": "tok"}
    assert {k: v for k, v in raw.items() if v is not None} == given
    assert set(raw) == {d.name for d in CORE} | {o.input_name for spec in REGISTRY for o in spec.all_options()}
    assert set(_raw().values()) == {None}


def test_repeatable_and_comma_lists_flatten(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    settings = load(_raw("--providers", "local", "--paths", "a,b", "--paths", "c"), {}, repo=tmp_path)
    assert settings.paths == ("a", "b", "c")


def test_progress_bar_only_on_a_terminal() -> None:
    tty = FakeTTY()
    p = Printer(tty)
    p(Event.plan(2))
    p(Event("generated", "s/2026-01-01-a.md", "local", "attachments/a.png"))
    assert "[###############...............] 1/2" in tty.getvalue()
    plain = io.StringIO()
    q = Printer(plain)
    q(Event.plan(2))
    q(Event("generated", "s/2026-01-01-a.md", "local", "attachments/a.png"))
    assert "1/2" not in plain.getvalue() and plain.getvalue().count("\n") == 2


def test_json_events_and_quiet() -> None:
    out = io.StringIO()
    Printer(out, json_lines=True)(Event("skip", "x.md", message="has-image"))
    assert out.getvalue().startswith('{"event": "skip"')
    quiet = io.StringIO()
    Printer(quiet, quiet=True)(Event("skip", "x.md"))
    assert quiet.getvalue() == ""


def test_summary_table(tmp_path: Path) -> None:
    settings = load({"providers": "local"}, {}, repo=tmp_path)
    r = Report()
    r.generated.append(Generated("s/p.md", "attachments/s-p.png", "local", "abstract-v1", "prompt"))
    r.providers["local"] = ProviderStats(calls=2, images=1, errors={"quota": 1}, seconds=1.5, wasted_calls=1, status="quota")
    r.stopped_by_quota = True
    text = summary(r, settings)
    assert "generated 1 cover(s)" in text and "s/p.md -> attachments/s-p.png (the offline provider)" in text
    assert "local" in text.splitlines()[-2] and "quota" in text.splitlines()[-2]
    assert "stopped: every provider is out" in text


def test_providers_command_lists_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["providers"], env={"TOGETHER_API_TOKEN": "tok-123456"}) == 0
    out = capsys.readouterr().out
    assert "together" in out and "configured" in out.split("together", 1)[1].splitlines()[0]
    assert "needs CLOUDFLARE_API_TOKEN" in out
    assert "tok-123456" not in out


def test_every_error_ends_the_command_in_one_line_with_its_exit_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "read_config", boom)
    assert cli.main(["providers"], env={}) == cli.EXIT_ERROR
    assert capsys.readouterr().err == "imagegen: error: RuntimeError: boom\n"
    monkeypatch.setattr(cli, "load", interrupted)
    assert cli.main(["run", str(tmp_path)], env={}) == cli.EXIT_CANCELLED
    assert capsys.readouterr().err == "imagegen: cancelled\n"
    monkeypatch.undo()
    monkeypatch.setattr(Report, "write", lambda self, path: "could not write the report 'r.json': disk full")
    code = cli.main(["run", str(tmp_path), "--providers", "local", "--report", str(tmp_path / "r.json")], env={})
    assert code == cli.EXIT_REPORT  # the summary first: the run itself worked
    out, err = capsys.readouterr()
    assert out.startswith("found no posts") and "report written" not in out
    assert err.splitlines()[-1] == "imagegen: error: could not write the report 'r.json': disk full"
