"""The command as a new user meets it: one value per option (the repository is never swallowed), a
mistake is one error line and one hint, --help opens with examples, "found no posts" says why,
progress is told in words, the progress bar is gone before the summary, and the summary names the
posts and the time taken."""

from __future__ import annotations

import io
import itertools
from datetime import datetime, timezone
from pathlib import Path

import pytest

from imagegen import cli
from imagegen.chain.scheduler import next_utc_midnight
from imagegen.testing import VirtualClock
from imagegen.cli.narrate import Narrator, fmt_duration
from imagegen.providers.base import QuotaExhausted
from imagegen.report import Event
from tests.helpers import init_repo
from tests.test_chain import Fake, drive, make_chain, run, settings


OBSIDIAN = "(obsidian site: no Hugo, Jekyll, Astro or Quartz site found: dated Markdown notes, Obsidian style)"


def blog(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = init_repo(tmp_path / "blog")
    for rel, text in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return repo


def cli_run(argv: list[str], capsys: pytest.CaptureFixture[str], **kw: object) -> tuple[int, str, str]:
    code = cli.main(argv, env={}, **kw)  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- one value per option


def test_paths_before_the_repository_does_not_swallow_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = blog(tmp_path, {"Blog/2026-01-01-a.md": "# A\n\nText.\n", "Other/2026-01-02-b.md": "# B\n"})
    code, out, err = cli_run(["run", "--paths", "Blog", str(repo), "--providers", "local", "--dry-run"], capsys)
    assert code == 0, err
    assert out.splitlines()[0].startswith("would generate 1 cover(s)")
    assert "Blog/2026-01-01-a.md" in out and "Other/" not in out


@pytest.mark.parametrize("argv_tail, error, hint", [
    (["--paths", "Blog", "extra", "REPO"], "unexpected 'REPO' (after --paths Blog extra)", "--paths Blog,extra"),
    (["REPO", "--paths", "Blog", "extra"], "unexpected 'extra' (after --paths Blog)", "--paths Blog,extra"),
    (["REPO", "--max-imagez", "3"], "unknown option --max-imagez (did you mean --max-images?)", "imagegen run --help"),
    (["REPO", "--max-image", "3"], "unknown option --max-image (did you mean --max-images?)", "imagegen run --help"),
    (["REPO", "--paths"], "--paths needs a value", "imagegen run --help"),
    (["REPO", "--report", "--dry-run"], "--report needs a value", "imagegen run --help"),
    (["REPO", "--dry-run=maybe"], "--dry-run takes no value", "imagegen run --help"),
    (["REPO", "REPO"], "unexpected 'REPO'", "the repository comes once"),
])
def test_a_mistake_is_one_error_line_and_one_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 argv_tail: list[str], error: str, hint: str) -> None:
    repo = blog(tmp_path, {})
    argv = ["run"] + [str(repo) if w == "REPO" else w for w in argv_tail]
    error = error.replace("'REPO'", repr(str(repo)))
    code, out, err = cli_run(argv, capsys)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0] == f"imagegen: error: {error}"
    assert lines[1].startswith("hint: ") and hint in lines[1]


def test_a_mistake_never_quotes_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A word too many after a key is worded without the key (it is not registered for redaction
    yet: the mistake is found before the settings are read)."""
    repo = str(blog(tmp_path, {}))
    for argv in (["run", repo, "--cloudflare-api-token", "sekrit-one", "sekrit-two"],
                 ["run", "--cloudflare-api-token", "sekrit-one", "sekrit-two", repo],
                 ["run", "--providers", "local", "--cloudflare-api-token", "sekrit-one", "sekrit-two"]):
        code, out, err = cli_run(argv, capsys)
        assert code == 2 and len(err.splitlines()) == 2, err
        assert "sekrit-one" not in out + err and "--cloudflare-api-token" in err  # the option's value


def test_a_second_path_read_as_the_repository_gets_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(blog(tmp_path, {"Blog/2026-01-01-a.md": "# A\n"}))
    code, _, err = cli_run(["run", "--providers", "local", "--paths", "Blog", "Notes"], capsys)
    assert code == 2
    assert err.splitlines() == ["imagegen: error: repository folder 'Notes' does not exist",
                                "hint: 'Notes' was read as the repository; if it is another value for --paths, "
                                "write --paths Blog,Notes"]


@pytest.mark.parametrize("argv, error, hint", [
    (["rn"], "unknown command 'rn' (did you mean 'run'?)", "commands: run, providers, init, doctor, preview;"),
    ([], "no command given", "imagegen run --providers local"),
    (["int"], "unknown command 'int' (did you mean 'init'?)", "commands: "),
    (["doctr"], "unknown command 'doctr' (did you mean 'doctor'?)", "commands: "),
    (["--runn"], "unknown option --runn", "`imagegen --help`"),
    (["--quiet", "run"], "unknown option --quiet", "--quiet is an option of `imagegen run`"),
])
def test_command_mistakes(capsys: pytest.CaptureFixture[str], argv: list[str], error: str, hint: str) -> None:
    code, _, err = cli_run(argv, capsys)
    assert code == 2 and err.splitlines()[0] == f"imagegen: error: {error}" and len(err.splitlines()) == 2
    assert err.splitlines()[1].startswith("hint: ") and hint in err.splitlines()[1]


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["init", "--help"], ["providers", "-h"],
                                  ["doctor", "--help"]])
def test_help_opens_with_examples(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert cli.main(argv, env={}) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("usage: imagegen") and len(lines[0]) < 80  # one short usage line
    first_text = next(line for line in lines[1:] if line.strip() and not line.startswith("Cover images"))
    assert first_text == "examples:"
    assert lines[lines.index("examples:") + 1].strip().startswith("imagegen ")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from imagegen import __version__

    assert cli.main(["--version"], env={}) == 0
    assert capsys.readouterr().out == f"imagegen {__version__}\n"


# --------------------------------------------------------------------------- found no posts: why


@pytest.mark.parametrize("files, argv, why", [
    ({"posts/hello.md": "# Hello\n", "posts/about.md": "# About\n"}, [],
     "found no posts in the repository " + OBSIDIAN + ": 2 .md files there, but none is named like YYYY-MM-DD-title.md "
     "(e.g. posts/about.md); add --include-undated to treat them as posts"),
    ({"posts/2026-01-01-a.md": "# A\n", "posts/2026-01-02-b.md": "# B\n", "Blog/.keep": ""}, ["--paths", "Blog"],
     "found no posts in Blog " + OBSIDIAN + ": there is no .md file there; the repository has 2 dated posts elsewhere, "
     "most in posts/ (try --paths posts, or leave --paths out to search everything)"),
    ({"README.md": "# Readme\n", "index.md": "# Index\n"}, [],
     "found no posts in the repository " + OBSIDIAN + ": all 2 .md files there are excluded by name "
     "(--exclude index.md,AGENTS.md,IDEAS.md,README.md)"),
    ({"notes.txt": "x", "page.mdx": "# P\n"}, [],
     "found no posts in the repository " + OBSIDIAN + ": there is no .md file there (1 .markdown/.mdx file there is not read as posts by this site)"),
])
def test_found_no_posts_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 files: dict[str, str], argv: list[str], why: str) -> None:
    repo = blog(tmp_path, files)
    code, out, err = cli_run(["run", str(repo), "--providers", "local", *argv], capsys,
                             timer=iter([0.0, 0.25]).__next__)
    assert code == 0, err
    assert out.splitlines()[0] == why + " (took 0.2 s)"


def test_no_changed_post_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.helpers import commit_all

    repo = blog(tmp_path, {"2026-01-01-a.md": "# A\n"})
    commit_all(repo)
    code, out, _ = cli_run(["run", str(repo), "--providers", "local", "--changed-since", "HEAD"], capsys)
    assert code == 0 and out.startswith(f"found no posts in the repository {OBSIDIAN}: no post changed since HEAD")


def test_the_action_log_says_why_too(tmp_path: Path) -> None:
    from imagegen import action

    repo = blog(tmp_path, {"posts/hello.md": "# Hello\n"})
    out = io.StringIO()
    assert action.main({"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "none",
                        "INPUT_ONLY-CHANGED": "false"}, out=out) == 0
    assert "none is named like YYYY-MM-DD-title.md" in out.getvalue()


# --------------------------------------------------------------------------- progress in words


def test_a_switch_after_a_quota_is_told_in_words() -> None:
    clock = VirtualClock()
    reset = next_utc_midnight(clock.now())
    cf = Fake("cloudflare", clock, ["ok", QuotaExhausted("daily allocation used", reset_at=reset)])
    po = Fake("pollinations", clock)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("cloudflare", slots=1), cf), (settings("pollinations", slots=1), po)], events)
    run(drive(chain, 3, concurrency=1))
    narrator = Narrator(now=clock.now)
    lines = [line for line in map(narrator.line, events) if line]
    assert "Cloudflare is out: quota used up until 00:00 UTC; not asked again before then" in lines
    assert "switched from Cloudflare to Pollinations: quota used up until 00:00 UTC (p1)" in lines
    assert "generated p0 -> " not in lines  # the chain itself emits no generated event
    assert lines[0] == "asking Cloudflare for p0"


def test_other_events_in_words() -> None:
    n = Narrator(now=lambda: datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc))
    assert n.line(Event.skip("a.md", "has-image")) == "skipped a.md: already has a cover"
    assert n.line(Event.skip("c.md", "opted-out", "image: false")) == "skipped c.md: opted out (image: false)"
    assert n.line(Event.skip("b.md", "future", "dated 2099-01-01, after today (2026-11-30)")) == \
        "skipped b.md: dated 2099-01-01, after today (2026-11-30)"
    assert n.line(Event("generated", "a.md", "huggingface", "attachments/a.jpg")) == \
        "generated a.md -> attachments/a.jpg by Hugging Face"
    assert n.line(Event.provider_out("together", "auth", "Together: invalid API key")) == \
        "Together AI is out for this run: the key was refused (Together: invalid API key)"
    assert n.line(Event.provider_out("gemini", "quota", "m", datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc))) == \
        "Gemini is out: quota used up until 2026-12-05 08:00 UTC; not asked again before then"
    assert n.line(Event.plan(1)) == "1 post to give a cover"
    assert n.line(Event.done("completed")) is None
    assert [fmt_duration(x) for x in (1.44, 52.2, 185, 3725)] == ["1.4 s", "52 s", "3 min 05 s", "1 h 02 min"]


# --------------------------------------------------------------------------- the bar and the summary


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_cleared_before_the_summary_and_the_summary_has_titles_and_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = blog(tmp_path, {"posts/2026-01-01-a.md": "---\ntitle: The First Post\n---\nText.\n",
                           "posts/2026-01-02-b.md": "# Second, from the H1\n\nText.\n"})
    tty = FakeTTY()
    order: list[str] = []

    class Out(io.StringIO):
        def write(self, s: str) -> int:
            order.append(f"stdout:{s}")
            return super().write(s)

    class Err(FakeTTY):
        def write(self, s: str) -> int:
            order.append(f"stderr:{s}")
            return super().write(s)

    out, err = Out(), Err()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    ticks = itertools.chain([100.0], itertools.repeat(172.5))
    code = cli.main(["run", str(repo), "--providers", "local", "--width", "64", "--height", "64"], env={},
                    timer=ticks.__next__)
    assert code == 0, err.getvalue()
    assert "] 2/2" in err.getvalue()  # a bar was drawn
    first_summary = next(i for i, w in enumerate(order) if w.startswith("stdout:"))
    last_bar = max(i for i, w in enumerate(order[:first_summary]) if "/2" in w and w.startswith("stderr:["))
    assert "stderr:\r\x1b[2K" in order[last_bar + 1:first_summary]  # cleared after it, before the summary
    text = out.getvalue()
    assert text.splitlines()[0] == "generated 2 cover(s) in 1 min 12 s; skipped 0; failed 0; pending 0"
    assert '"The First Post" (posts/2026-01-01-a.md) -> ' in text
    assert '"Second, from the H1" (posts/2026-01-02-b.md) -> ' in text


@pytest.mark.parametrize("files, argv, why", [
    ({"hugo.toml": "title = 'x'\n", "content/_index.md": "+++\ntitle = 'Home'\n+++\n"}, [],
     "found no posts in content (hugo site: "),
    ({"hugo.toml": "title = 'x'\n", "content/.keep": "", "posts/2026-01-01-a.md": "# A\n"}, [],
     "found no posts in content (hugo site: "),
])
def test_found_no_posts_names_the_detected_engine_and_its_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                 files: dict[str, str], argv: list[str], why: str) -> None:
    repo = blog(tmp_path, files)
    code, out, err = cli_run(["run", str(repo), "--providers", "local", *argv], capsys)
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith(why), first
    if (repo / "posts").exists():  # dated posts outside the engine's folder: where they are
        assert first.endswith("the repository has 1 dated post elsewhere, most in posts/ (try --paths posts) (took "
                              + first.rsplit("(took ", 1)[1])
    else:
        assert "none of them a post by the hugo site's rules (section pages such as _index.md" in first
