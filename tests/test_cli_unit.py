"""The command's small parts: flags derived from the settings, the progress output, the summary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from imagegen import cli
from imagegen.cli.narrate import Printer, summary
from imagegen.report import Event, Generated, ProviderStats, Report
from imagegen.settings import CORE, load


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_every_setting_and_provider_option_is_a_flag() -> None:
    parser = cli.build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    flags = {s for a in run._actions for s in a.option_strings}
    for d in CORE:
        assert f"--{d.name}" in flags
    for name in ("--cloudflare-api-token", "--gemini-image-model", "--pollinations-enabled", "--together-base-url"):
        assert name in flags


def test_repeatable_and_comma_lists_flatten(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    ns = cli.build_parser().parse_args(["run", str(tmp_path), "--providers", "local", "--paths", "a,b", "--paths", "c"])
    settings = cli.settings_from_args(ns, {})
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
