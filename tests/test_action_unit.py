"""The action's small parts: workflow commands, log groups, the job summary's size, outputs, the
event helpers, and that an unexpected failure is one redacted line."""

from __future__ import annotations

import io
import json

import pytest

from imagegen import action, redact
from imagegen.action import (EventLog, Runner, SummaryContext, changed_files, fork_pull_request, input_env_name,
                             looks_like_post, report_output, summary_markdown, target_branch)
from imagegen.report import Event, Failed, Generated, Pending, ProviderStats, Report, Skipped
from tests.helpers import commit_all, git, init_repo


def runner(env=None) -> tuple[Runner, io.StringIO]:
    out = io.StringIO()
    return Runner(env or {}, out), out


def test_input_env_names_follow_the_runner():
    assert input_env_name("only-changed") == "INPUT_ONLY-CHANGED"
    assert input_env_name("github-token") == "INPUT_GITHUB-TOKEN"
    assert input_env_name("some input") == "INPUT_SOME_INPUT"


def test_annotations_have_no_empty_properties_and_escape_their_values():
    r, out = runner()
    r.warning("50% done\nnext line", file="blog/a,b:c.md", title=None, line="")
    assert out.getvalue() == "::warning file=blog/a%2Cb%3Ac.md::50%25 done%0Anext line\n"
    r, out = runner()
    r.error("plain")
    assert out.getvalue() == "::error::plain\n"


def test_log_lines_cannot_inject_workflow_commands():
    r, out = runner()
    log = EventLog(r)
    log(Event("warning", message="hi\n::set-env name=X::y\n::add-mask::z"))
    printed = out.getvalue().splitlines()
    assert len(printed) == 1 and not printed[0].startswith("::")


def test_masks_each_line_of_a_multiline_secret():
    r, out = runner()
    r.mask("line-one-secret\nline-two-secret")
    lines = out.getvalue().splitlines()
    assert "::add-mask::line-one-secret" in lines and "::add-mask::line-two-secret" in lines


def test_interleaved_posts_print_as_separate_groups():
    r, out = runner()
    log = EventLog(r)
    log(Event("start", message="repo"))
    log(Event("generating", "a.md", "cf"))
    log(Event("generating", "b.md", "cf"))
    log(Event("retry", "a.md", "cf", "rate limited"))
    log(Event("generated", "b.md", "cf", "att/b.png"))
    log(Event("skip", "c.md", message="has-image"))
    log(Event("failed", "a.md", message="no luck"))
    log(Event("generating", "d.md", "cf"))
    log.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "start repo"
    assert lines[1:4] == ["::group::generated: b.md", "generating b.md [cf]", "generated b.md [cf] att/b.png"]
    assert lines[4] == "::endgroup::"
    assert lines[5] == "skip c.md has-image"
    assert lines[6] == "::group::failed: a.md" and lines[9] == "failed a.md no luck" and lines[10] == "::endgroup::"
    assert lines[11] == "generating d.md [cf]"


def big_report(n: int) -> Report:
    rep = Report()
    rep.generated = [Generated(f"blog/2026-01-01-post-{i}.md", f"attachments/p{i}.png", "cloudflare", "m", "x" * 300)
                     for i in range(n)]
    rep.failed = [Failed(f"blog/f{i}.md", "e" * 500) for i in range(n)]
    rep.pending = [Pending(f"blog/q{i}.md", "max-images") for i in range(n)]
    rep.skipped = [Skipped(f"blog/s{i}.md", "has-image") for i in range(n)]
    rep.skipped += [Skipped(f"blog/t{i}.md", "too-large", "big") for i in range(n)]
    rep.providers = {"cloudflare": ProviderStats(calls=n, images=n)}
    return rep


def test_summary_of_a_big_backfill_stays_small_and_says_how_many_more():
    text = summary_markdown(big_report(5000), SummaryContext(repository="o/r", commit_sha="a" * 40, public=True))
    assert len(text.encode()) < 200 * 1024
    assert "… and 4950 more covers" in text and "… and 4950 more posts" in text
    assert "5000 has-image, 5000 too-large" in text
    assert text.count("<img") == 50


def test_summary_hard_budget():
    rep = Report()
    rep.failed = [Failed("p.md", "x" * 2_000_000)]
    text = summary_markdown(rep, SummaryContext())
    assert len(text.encode()) <= action.SUMMARY_BUDGET + 100 and "truncated" in text


def test_summary_cells_are_escaped():
    rep = Report()
    rep.failed = [Failed("a|b.md", "<script>x</script>\nsecond | line")]
    text = summary_markdown(rep, SummaryContext())
    assert "a\\|b.md" in text and "<script>" not in text and "second \\| line" in text


def test_report_output_is_compact_and_bounded():
    small = Report()
    assert "\n" not in report_output(small) and json.loads(report_output(small))["generated"] == []
    huge = big_report(3000)
    text = report_output(huge)
    data = json.loads(text)
    assert len(text.encode()) <= action.OUTPUT_LIMIT and data["truncated"] is True
    assert data["totals"]["generated"] == 3000 and 0 < len(data["generated"]) < 3000


def test_outputs_use_the_heredoc_form(tmp_path):
    f = tmp_path / "out"
    f.write_text("")
    r, _ = runner({"GITHUB_OUTPUT": str(f)})
    r.set_outputs({"posts-updated": "a.md\nb.md", "images-generated": "2"})
    text = f.read_text()
    name, rest = text.split("<<", 1)
    delim = rest.split("\n", 1)[0]
    assert name == "posts-updated" and delim.startswith("ghadelimiter_") and f"\na.md\nb.md\n{delim}\n" in text


def test_fork_detection_and_branch():
    ev = {"pull_request": {"head": {"repo": {"full_name": "x/y"}}}, "repository": {"full_name": "o/r"}}
    assert fork_pull_request("pull_request", ev, {}) == "x/y"
    ev["pull_request"]["head"]["repo"]["full_name"] = "o/r"
    assert fork_pull_request("pull_request", ev, {}) is None
    assert fork_pull_request("push", ev, {}) is None
    assert fork_pull_request("pull_request", {"pull_request": {"head": {"repo": None}}}, {}) == "(a deleted fork)"
    assert target_branch("", {"GITHUB_REF": "refs/heads/feature/x"}) == "feature/x"
    assert target_branch("", {"GITHUB_HEAD_REF": "patch", "GITHUB_REF": "refs/pull/1/merge"}) == "patch"
    assert target_branch(" dev ", {"GITHUB_REF": "refs/heads/main"}) == "dev"
    assert target_branch("", {"GITHUB_REF": "refs/tags/v1"}) is None


def test_changed_files_new_branch_without_commits_list_uses_the_tip(tmp_path):
    repo = init_repo(tmp_path / "r")
    (repo / "a.md").write_text("a")
    commit_all(repo)
    (repo / "b.md").write_text("b")
    (repo / "a.md").unlink()
    sha = commit_all(repo)
    assert changed_files(repo, "0" * 40, sha, {}, lambda m: None) == ["b.md"]
    assert changed_files(repo, "0" * 40, sha, {"commits": []}, lambda m: None) == []


def test_changed_files_between_two_commits(tmp_path):
    repo = init_repo(tmp_path / "r")
    (repo / "a.md").write_text("a")
    (repo / "gone.md").write_text("g")
    before = commit_all(repo)
    (repo / "a.md").write_text("a2")
    (repo / "new.md").write_text("n")
    (repo / "gone.md").unlink()
    after = commit_all(repo)
    assert sorted(changed_files(repo, before, after, {}, lambda m: None)) == ["a.md", "new.md"]


def test_looks_like_post_uses_the_discovery_name_rules(tmp_path):
    from imagegen import sites
    from imagegen.config.settings import load

    site = sites.resolve(load({"providers": "local", "paths": "blog"}, {}, repo=tmp_path))
    assert looks_like_post("blog/2026-01-01-x.md", site)
    assert not looks_like_post("blog/notes.md", site)
    assert not looks_like_post("other/2026-01-01-x.md", site)
    assert not looks_like_post("blog/.hidden/2026-01-01-x.md", site)
    assert not looks_like_post("blog/README.md", site)
    assert not looks_like_post("blog/2026-01-01-x.png", site)


def test_an_unexpected_failure_is_one_redacted_error_line(tmp_path, monkeypatch):
    import imagegen.pipeline

    secret = "sk_SECRET_in_an_exception_123"
    repo = init_repo(tmp_path / "blog")
    (repo / "2026-01-01-a.md").write_text("# A\n\nText.\n")
    commit_all(repo)

    def boom(*a, **k):
        raise RuntimeError(f"provider said: bad key {secret}")

    monkeypatch.setattr(imagegen.pipeline, "run_sync", boom)
    out = io.StringIO()
    env = {"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "none",
           "INPUT_POLLINATIONS-API-KEY": secret}
    code = action.main(env, out=out)
    lines = out.getvalue().splitlines()
    assert code == 1
    assert lines[0] == f"::add-mask::{secret}"
    errors = [line for line in lines if line.startswith("::error::")]
    assert len(errors) == 1 and secret not in errors[0] and "***" in errors[0]
    assert not any("Traceback" in line for line in lines)


def test_bad_commit_mode_and_only_changed(tmp_path):
    repo = init_repo(tmp_path / "blog")
    for bad, word in (({"INPUT_COMMIT": "push"}, "commit"), ({"INPUT_ONLY-CHANGED": "maybe"}, "only-changed")):
        out = io.StringIO()
        env = {"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "none", **bad}
        assert action.main(env, out=out) == 1
        errors = [line for line in out.getvalue().splitlines() if line.startswith("::error::")]
        assert len(errors) == 1 and word in errors[0]


def test_git_mode_refuses_to_push_a_pull_request_merge_commit(tmp_path):
    repo = init_repo(tmp_path / "blog")
    (repo / "2026-01-01-a.md").write_text("# A\n\nText.\n")
    head = commit_all(repo)
    out = io.StringIO()
    env = {"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "git",
           "GITHUB_REF": "refs/pull/3/merge", "GITHUB_SHA": head, "GITHUB_HEAD_REF": "feature",
           "GITHUB_EVENT_NAME": "pull_request"}
    assert action.main(env, out=out) == 1
    assert "merge commit" in out.getvalue()
    assert git(repo, "status", "--porcelain") == ""


def _git_blog(tmp_path, *, remote: bool):
    """A checkout of a one-post blog, with a bare `origin` it may push to (or none at all)."""
    import subprocess

    from tests.fake_github import make_origin

    files = {"blog/2026-01-01-a.md": b"# A\n\nText.\n"}
    if not remote:
        repo = init_repo(tmp_path / "blog")
        (repo / "blog").mkdir()
        (repo / "blog/2026-01-01-a.md").write_bytes(files["blog/2026-01-01-a.md"])
        commit_all(repo)
        return repo
    origin = make_origin(tmp_path, files)
    subprocess.run(["git", "clone", "-q", f"file://{origin}", str(tmp_path / "blog")], check=True)
    return tmp_path / "blog"


def _counting_discovery(monkeypatch) -> list[int]:
    """Count every discovery, wherever it is called from."""
    import imagegen.discover
    import imagegen.pipeline

    calls: list[int] = []
    real = imagegen.discover.discover

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(imagegen.discover, "discover", counting)
    monkeypatch.setattr(imagegen.pipeline, "discover", counting)
    return calls


def test_discovery_runs_once_when_committing(tmp_path, monkeypatch):
    """The run's own discovery tells whether there is work (and so whether the branch must be
    writable): it is not run a second time for that."""
    repo = _git_blog(tmp_path, remote=True)
    calls = _counting_discovery(monkeypatch)
    out = io.StringIO()
    env = {"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "git",
           "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "workflow_dispatch"}
    assert action.main(env, out=out, sleep=lambda s: None) == 0, out.getvalue()
    assert len(calls) == 1
    assert "committed 1 post(s) to main" in out.getvalue()
    assert git(repo, "status", "--porcelain") == ""


def test_a_branch_it_cannot_push_to_stops_the_run_before_anything_is_written(tmp_path, monkeypatch):
    repo = _git_blog(tmp_path, remote=False)  # no origin: `git push --dry-run` fails
    calls = _counting_discovery(monkeypatch)
    out = io.StringIO()
    env = {"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "git",
           "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "workflow_dispatch",
           "GITHUB_OUTPUT": str(tmp_path / "outputs")}
    assert action.main(env, out=out) == 0
    lines = out.getvalue().splitlines()
    notices = [line for line in lines if line.startswith("::notice::")]
    assert len(notices) == 1 and "nothing generated: cannot push to main" in notices[0]
    assert lines.index("plan 1 post(s) to do") < lines.index(notices[0])  # decided from the run's discovery
    assert len(calls) == 1 and not any(line.startswith("generat") for line in lines)
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""  # no image, the post untouched
    assert "images-generated<<" in (tmp_path / "outputs").read_text()


def test_a_run_with_nothing_to_do_asks_no_preflight(tmp_path, monkeypatch):
    from imagegen.publish import GitPublisher

    repo = _git_blog(tmp_path, remote=False)
    (repo / "attachments").mkdir()
    (repo / "attachments/a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (repo / "blog/2026-01-01-a.md").write_text("# A\n\n![[attachments/a.png]]\n\nHas a cover.\n")
    commit_all(repo)

    def never(self):
        raise AssertionError("preflight asked with nothing to do")

    monkeypatch.setattr(GitPublisher, "preflight", never)
    out = io.StringIO()
    env = {"GITHUB_WORKSPACE": str(repo), "INPUT_PROVIDERS": "local", "INPUT_COMMIT": "git",
           "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "workflow_dispatch"}
    assert action.main(env, out=out) == 0, out.getvalue()
    assert "done: nothing to do" in out.getvalue()


@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    redact.clear()


def test_messages_are_told_in_the_workflows_words():
    """The action's user writes `with:` inputs: an environment variable or a CLI flag that an input
    stands for is named as that input, whatever message carries it."""
    from imagegen.action.inputs import in_action_words

    assert in_action_words("set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID (or use --providers card)") == \
        "set cloudflare-api-token and cloudflare-account-id (or use providers: card)"
    assert in_action_words("POLLINATIONS_ENABLED=true for the anonymous host") == \
        "pollinations-enabled: true for the anonymous host"
    assert in_action_words("--no-prompt-in-frontmatter keeps it out; --max-images 5; --dry-run") == \
        "prompt-in-frontmatter: false keeps it out; max-images: 5; dry-run"
    # what no input stands for is left as it is
    assert in_action_words("IMAGEGEN_CLOUDFLARE_BASE_URL and --json-events and x--y") == \
        "IMAGEGEN_CLOUDFLARE_BASE_URL and --json-events and x--y"


def test_a_queues_progress_is_printed_at_once_not_held_for_the_posts_group():
    """AI Horde's wait can last minutes: the log says where the post stands while it waits."""
    r, out = runner()
    log = EventLog(r)
    log(Event.generating("a.md", "aihorde", "AlbedoBase XL (SDXL)", 1))
    log(Event.queued("a.md", "aihorde", position=4, wait=95.0))
    assert out.getvalue().splitlines() == ["queued a.md [aihorde] position 4 in the queue, about 2 min to go"]
    log(Event("generated", "a.md", "aihorde", "att/a.webp"))
    assert out.getvalue().splitlines()[1:] == ["::group::generated: a.md", "generating a.md [aihorde]",
                                               "generated a.md [aihorde] att/a.webp", "::endgroup::"]
