"""Output that does not drown the reader: `--quiet` prints only errors and the final line, the
default counts the routine lines and names at most LISTED posts, `--verbose` says everything.
(Ctrl-C in one line: tests/test_crash.py, which interrupts a real process.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen import cli
from imagegen.cli.narrate import LISTED
from tests.helpers import commit_all, small_blog

POSTS = LISTED + 8  # dated 2026-01-01 ... 2026-01-28
SMALL = ["--providers", "card", "--width", "64", "--height", "64"]


def run(repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["run", str(repo), *SMALL, *args], env={})
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    repo = small_blog(tmp_path, POSTS)
    (repo / "series" / "2026-02-01-covered.md").write_text("# Covered\n\n![[attachments/x.jpg]]\n")
    (repo / "series" / "2026-02-02-broken.md").write_text("---\ntitle: [unclosed\n---\n# Broken\n")
    commit_all(repo)
    return repo


def test_quiet_prints_only_the_final_line(blog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(blog, capsys, "--quiet")
    assert code == 0 and err == ""
    assert out.splitlines() == [out.splitlines()[-1]] and out.startswith(f"generated {POSTS} cover(s) in ")


def test_quiet_still_shows_a_failure() -> None:
    from imagegen.cli.narrate import summary
    from imagegen.config.settings import Settings
    from imagegen.report import Failed, Generated, Report

    report = Report()
    report.generated = [Generated(f"p{i}.md", f"a/p{i}.jpg", "card", "m", "prompt") for i in range(50)]
    report.failed = [Failed("bad.md", "every provider failed")]
    text = summary(report, Settings(repo=Path(".")), 3.0, level="quiet")
    assert text.splitlines() == ["  FAILED bad.md: every provider failed",
                                 "generated 50 cover(s) in 3.0 s; skipped 0; failed 1; pending 0"]


def test_the_default_counts_routine_lines_and_names_at_most_listed_posts(blog: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(blog, capsys)
    assert code == 0
    assert "asking " not in err and "already has a cover" not in err
    assert "skipped series/2026-02-02-broken.md: " in err  # unusual: said
    assert err.count("\ngenerated ") + err.startswith("generated ") == POSTS  # progress, one line per cover
    named = [ln for ln in out.splitlines() if ln.startswith("  \"Post ")]
    assert len(named) == LISTED and f"  ... and {POSTS - LISTED} more (--verbose lists them all" in out


def test_verbose_says_everything(blog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(blog, capsys, "--verbose")
    assert code == 0
    assert err.count("asking Card for ") == POSTS and "already has a cover" in err
    assert len([ln for ln in out.splitlines() if ln.startswith("  \"Post ")]) == POSTS and "... and" not in out


def test_routine_pending_posts_are_one_line_each_reason(blog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(blog, capsys, "--max-images", "3")
    assert code == 0
    assert [ln for ln in err.splitlines() if ln.startswith("left for a later run")] == \
        [f"left for a later run: {POSTS - 3} posts (max-images)"]
    code, out, err = run(blog, capsys, "--max-images", "3", "-v")  # (3 more made by now)
    assert len([ln for ln in err.splitlines() if ln.startswith("left for a later run: series/")]) == POSTS - 6


def test_quiet_and_verbose_together_is_a_mistake(blog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(blog, capsys, "-q", "-v")
    assert code == 2 and "--quiet and --verbose contradict each other" in err


@pytest.mark.parametrize("words, dry", [(["--dry-run", "true"], True), (["--dry-run", "False"], False),
                                        (["--dry-run=yes"], True), (["--dry-run", "off"], False)])
def test_an_on_off_option_takes_true_or_false_as_its_value(blog: Path, capsys: pytest.CaptureFixture[str],
                                                           words: list[str], dry: bool) -> None:
    """As the action's inputs and the settings file write it: never "repository folder 'true'"."""
    code, out, err = run(blog, capsys, *words, "--max-images", "1")
    assert code == 0, err
    assert out.startswith("would generate" if dry else "generated")
