"""Commit back: the Git Data API path against a fake GitHub API backed by a real bare repository,
and the git CLI path against a real bare remote. Races are made real: the branch moves between our
read and our update, and another commit edits the same post."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from imagegen import redact
from imagegen.errors import SettingsError
from imagegen.publish import (BOT_EMAIL, BOT_NAME, PUBLISH_DEADLINE, ApiPublisher, Change, GitHubApi, GitPublisher,
                              NoPublisher, PublishError, PullRequestPublisher, Target, blob_sha, can_push, choose)
from tests.fake_github import FakeGitHub, make_origin
from tests.helpers import git

POST_A = "blog/2026-01-01-alpha.md"
POST_B = "blog/2026-01-02-beta.md"
IMG_A = "attachments/blog-2026-01-01-alpha.png"
IMG_B = "attachments/blog-2026-01-02-beta.png"
OLD_COVER = "attachments/old-cover.png"
PNG = b"\x89PNG\r\n\x1a\n" + b"fake image bytes"
TOKEN = "ghs_writeTOKEN1234567890"
READ_TOKEN = "ghs_readonlyTOKEN0987654321"


def post(title: str, extra: str = "") -> bytes:
    return f"---\ntitle: {title}\n---\n\n# {title}\n\nBody.{extra}\n".encode()


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path, {POST_A: post("Alpha"), POST_B: post("Beta"), "README.md": b"readme\n",
                                  OLD_COVER: b"old"})


@pytest.fixture
def gh(origin: Path):
    with FakeGitHub(origin, tokens={TOKEN: "write", READ_TOKEN: "read"}) as server:
        yield server


def clone(origin: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(dest)], check=True)
    return dest


def write_cover(ws: Path, post_rel: str, img_rel: str, tag: str = "") -> Change:
    (ws / img_rel).parent.mkdir(parents=True, exist_ok=True)
    (ws / img_rel).write_bytes(PNG + tag.encode())
    text = (ws / post_rel).read_bytes()
    (ws / post_rel).write_bytes(text.replace(b"\n\n# ", f"\n\n![[{img_rel}]]\n\n# ".encode(), 1))
    return Change(post_rel, (post_rel, img_rel), title=tag, provider="local", model="abstract-v1",
                  prompt=f"a cover for {tag}")


def github(gh: FakeGitHub, token: str = TOKEN, **kw) -> GitHubApi:
    """The API client as the action builds it, without retries or pauses (tests)."""
    kw.setdefault("retry", None)
    kw.setdefault("write_interval", 0)
    return GitHubApi(token=token, api_url=gh.url, repository=gh.full_name, branch="main", **kw)


def api(ws: Path, gh: FakeGitHub, changes: list[Change], *, token: str = TOKEN, base_sha: str | None = None,
        deadline: float = PUBLISH_DEADLINE, **kw):
    sleeps: list[float] = []
    target = Target(ws, "main", base_sha=git(ws, "rev-parse", "HEAD").strip() if base_sha is None else base_sha)
    result = ApiPublisher(github(gh, token, sleep=sleeps.append, **kw), target, deadline=deadline).publish(changes, None)
    return result, sleeps


def publish_git(ws: Path, changes: list[Change], *, sleep) -> object:
    return GitPublisher(ws, "main", sleep=sleep).publish(changes, None)


def clean(ws: Path) -> bool:
    return git(ws, "status", "--porcelain").strip() == ""


# ----------------------------------------------------------------------------- api


def test_api_commits_only_the_run_files_as_the_bot_and_syncs_the_checkout(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    (ws / "unrelated.txt").write_text("a later step's file, not ours\n")
    before = gh.head()
    change = write_cover(ws, POST_A, IMG_A)
    result, sleeps = api(ws, gh, [change])
    assert result.sha == gh.head() != before
    assert result.committed == [POST_A] and not result.left and result.synced
    assert gh.read(IMG_A) == PNG
    assert gh.read(POST_A) == (ws / POST_A).read_bytes()
    assert not gh.exists("unrelated.txt")
    assert gh.git("rev-parse", f"{result.sha}^").strip() == before
    files = gh.git("diff", "--name-only", before, result.sha).split()
    assert sorted(files) == sorted([POST_A, IMG_A])
    # no author/committer sent: GitHub makes (and verifies) the commit as the token's bot
    posted = [r.body for r in gh.requests if r.method == "POST" and r.path.endswith("/git/commits")]
    assert posted and all("author" not in b and "committer" not in b for b in posted)
    assert gh.git("log", "-1", "--format=%an <%ae>", result.sha).strip() == f"{BOT_NAME} <{BOT_EMAIL}>"
    patches = [r.body for r in gh.requests if r.method == "PATCH"]
    assert patches == [{"sha": result.sha, "force": False}]
    # the checkout now sits on the new commit; the unrelated file is still there, untracked
    assert git(ws, "rev-parse", "HEAD").strip() == result.sha
    assert git(ws, "status", "--porcelain").strip() == "?? unrelated.txt"
    assert sleeps == []


def test_api_nothing_changed_makes_no_commit(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    before = gh.head()
    result, _ = api(ws, gh, [Change(POST_A, (POST_A,))])
    assert result.sha == "" and gh.head() == before
    assert not [r for r in gh.requests if r.method in ("POST", "PATCH")]
    result, _ = api(ws, gh, [])
    assert result.sha == "" and gh.head() == before


def test_api_deletes_a_replaced_cover(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    change = write_cover(ws, POST_A, IMG_A)
    (ws / OLD_COVER).unlink()
    change = Change(change.post, change.written, (OLD_COVER,))
    result, _ = api(ws, gh, [change])
    assert result.sha and not gh.exists(OLD_COVER) and gh.exists(IMG_A)
    assert clean(ws)


def test_api_ref_moves_between_read_and_update_rebuilds_on_the_new_head(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    change = write_cover(ws, POST_A, IMG_A)
    moved: list[str] = []
    gh.before_ref_update.append(lambda g: moved.append(g.commit_files({"README.md": b"edited meanwhile\n"})))
    result, sleeps = api(ws, gh, [change])
    assert moved and result.sha == gh.head()
    assert gh.git("rev-parse", f"{result.sha}^").strip() == moved[0]  # on top of the other commit
    assert gh.read("README.md") == b"edited meanwhile\n"  # nothing of theirs lost
    assert gh.read(IMG_A) == PNG and result.committed == [POST_A]
    assert sleeps == [1.0]
    assert sum(1 for r in gh.requests if r.method == "PATCH") == 2
    assert git(ws, "rev-parse", "HEAD").strip() == result.sha and clean(ws)
    assert (ws / "README.md").read_bytes() == b"edited meanwhile\n"


def test_api_concurrent_edit_of_the_same_post_is_left_for_the_next_run(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    b = write_cover(ws, POST_B, IMG_B)
    theirs = post("Alpha", " Edited by a human meanwhile.")
    gh.before_ref_update.append(lambda g: g.commit_files({POST_A: theirs}, "human edit"))
    result, sleeps = api(ws, gh, [a, b])
    assert result.committed == [POST_B]
    assert [x.post for x in result.left] == [POST_A] and result.left[0].reason == "changed-upstream"
    assert "left for the next run" in result.left[0].message
    assert gh.read(POST_A) == theirs  # not overwritten
    assert not gh.exists(IMG_A) and gh.exists(IMG_B)
    # the checkout matches the branch: their post, no orphan image of ours
    assert (ws / POST_A).read_bytes() == theirs and not (ws / IMG_A).exists()
    assert git(ws, "rev-parse", "HEAD").strip() == result.sha and clean(ws)


def test_api_post_changed_before_we_started_is_left_without_a_retry(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    theirs = post("Alpha", " Newer.")
    gh.commit_files({POST_A: theirs})
    a = write_cover(ws, POST_A, IMG_A)
    result, sleeps = api(ws, gh, [a])
    assert result.sha == "" and [x.post for x in result.left] == [POST_A]
    assert gh.read(POST_A) == theirs and sleeps == []


def test_api_already_committed_identical_files_are_not_a_conflict(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    gh.commit_files({POST_A: (ws / POST_A).read_bytes(), IMG_A: (ws / IMG_A).read_bytes()})
    head = gh.head()
    result, _ = api(ws, gh, [a])
    assert result.sha == "" and result.committed == [POST_A] and not result.left and gh.head() == head


def test_api_gives_up_after_bounded_retries(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    for i in range(10):
        gh.before_ref_update.append(lambda g, i=i: g.commit_files({f"other-{i}.txt": b"x"}))
    with pytest.raises(PublishError, match="kept moving"):
        api(ws, gh, [a], attempts=3)
    assert sum(1 for r in gh.requests if r.method == "PATCH") == 3


def test_api_read_only_token_is_detected_before_any_work(tmp_path, origin, gh):
    redact.register(READ_TOKEN)
    why = github(gh, READ_TOKEN).can_write()
    assert why and "403" in why and "contents: write" in why and READ_TOKEN not in why
    assert github(gh).can_write() is None
    assert "401" in (github(gh, "ghs_unknownTOKEN111").can_write() or "")
    # the publisher's preflight says the same, before anything is generated
    target = Target(tmp_path, "main")
    assert ApiPublisher(github(gh, READ_TOKEN), target).preflight() == why
    assert ApiPublisher(github(gh), target).preflight() is None


def test_api_preflight_a_ruleset_the_token_may_not_bypass_is_an_error_not_a_notice(tmp_path, origin, gh):
    gh.protect("main", ruleset=True)
    pub = ApiPublisher(github(gh), Target(tmp_path, "main"))
    with pytest.raises(PublishError, match="protected by the ruleset .* `commit: pull-request`"):
        pub.preflight()
    gh.ruleset_bypass = "always"
    assert pub.preflight() is None
    assert [r for r in gh.requests if r.method == "PATCH"] == []  # reads and one blob: the branch is untouched


def test_api_errors_never_carry_the_token(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    redact.register(READ_TOKEN)
    with pytest.raises(PublishError) as info:
        api(ws, gh, [a], token=READ_TOKEN)
    assert READ_TOKEN not in str(info.value) and "403" in str(info.value)


def test_api_under_a_github_enterprise_prefix(tmp_path, origin):
    with FakeGitHub(origin, tokens={TOKEN: "write"}, prefix="/api/v3") as ghe:
        assert ghe.url.endswith("/api/v3")
        ws = clone(origin, tmp_path / "ws")
        result, _ = api(ws, ghe, [write_cover(ws, POST_A, IMG_A)])
        assert result.sha == ghe.head()
        assert all(r.path.startswith("/api/v3/") for r in ghe.requests)


def test_api_base_commit_unknown_to_github_still_commits(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    result, _ = api(ws, gh, [a], base_sha="1" * 40)
    assert result.sha and any("not on GitHub" in n for n in result.notes)


def test_blob_sha_matches_git(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(PNG)
    assert blob_sha(PNG) == subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True).stdout.strip()


# ----------------------------------------------------------------------------- git


def other_clone_commit(origin: Path, tmp: Path, files: dict[str, bytes], name: str = "other") -> str:
    other = tmp / name
    subprocess.run(["git", "clone", "-q", f"file://{origin}", str(other)], check=True)
    for rel, data in files.items():
        (other / rel).parent.mkdir(parents=True, exist_ok=True)
        (other / rel).write_bytes(data)
    git(other, "add", "-A")
    git(other, "commit", "-qm", "someone else")
    git(other, "push", "-q", "origin", "HEAD:main")
    return git(other, "rev-parse", "HEAD").strip()


def test_git_commits_and_pushes_as_the_bot(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    (ws / "unrelated.txt").write_text("not ours\n")
    a = write_cover(ws, POST_A, IMG_A)
    assert can_push(ws, "main") is None
    result = publish_git(ws, [a], sleep=lambda s: None)
    assert result.sha == gh.head() == git(ws, "rev-parse", "HEAD").strip()
    assert result.log == [f"committed 1 post(s) to main: {result.sha}"]
    assert gh.git("log", "-1", "--format=%an <%ae>").strip() == f"{BOT_NAME} <{BOT_EMAIL}>"
    assert sorted(gh.git("show", "--name-only", "--format=", result.sha).split()) == sorted([POST_A, IMG_A])
    assert git(ws, "status", "--porcelain").strip() == "?? unrelated.txt"


def test_git_rejected_push_rebases_and_retries(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    theirs = other_clone_commit(origin, tmp_path, {"README.md": b"theirs\n"})
    sleeps: list[float] = []
    result = publish_git(ws, [a], sleep=sleeps.append)
    assert result.sha == gh.head() and sleeps == [1.0]
    assert gh.git("rev-parse", f"{result.sha}^").strip() == theirs  # linear, nothing forced
    assert gh.read("README.md") == b"theirs\n" and gh.read(IMG_A) == PNG
    assert clean(ws)


def test_git_concurrent_edit_of_the_same_post_is_left(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    b = write_cover(ws, POST_B, IMG_B)
    theirs = post("Alpha", " Human edit.")
    other_clone_commit(origin, tmp_path, {POST_A: theirs})
    result = publish_git(ws, [a, b], sleep=lambda s: None)
    assert result.committed == [POST_B] and [x.post for x in result.left] == [POST_A]
    assert gh.read(POST_A) == theirs and gh.exists(IMG_B) and not gh.exists(IMG_A)
    assert (ws / POST_A).read_bytes() == theirs and not (ws / IMG_A).exists()
    assert git(ws, "rev-parse", "HEAD").strip() == gh.head() and clean(ws)


def test_git_only_conflicting_post_means_no_commit(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    a = write_cover(ws, POST_A, IMG_A)
    theirs = post("Alpha", " Human edit.")
    head = other_clone_commit(origin, tmp_path, {POST_A: theirs})
    result = publish_git(ws, [a], sleep=lambda s: None)
    assert result.sha == "" and gh.head() == head and [x.post for x in result.left] == [POST_A]
    assert git(ws, "rev-parse", "HEAD").strip() == head and clean(ws)


def test_git_nothing_changed(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    head = gh.head()
    result = publish_git(ws, [Change(POST_A, (POST_A,))], sleep=lambda s: None)
    assert result.sha == "" and gh.head() == head


@pytest.fixture(autouse=True)
def _forget_secrets():
    yield
    redact.clear()


# ----------------------------------------------------------------------------- refusals, lost answers, pacing


@pytest.mark.parametrize("ruleset", [False, True])
def test_api_protected_branch_is_one_clear_refusal_not_a_retry_loop(tmp_path, origin, gh, ruleset):
    ws = clone(origin, tmp_path / "ws")
    gh.protect("main", ruleset=ruleset)
    before = gh.head()
    with pytest.raises(PublishError) as info:
        api(ws, gh, [write_cover(ws, POST_A, IMG_A)])
    text = str(info.value)
    expected = ("Repository rule violations found Changes must be made through a pull request." if ruleset
                else "Protected branch update failed for refs/heads/main.")
    assert expected in text and "commit: pull-request" in text and "allowed to push" in text
    assert "\n" not in text and "kept moving" not in text
    assert sum(1 for r in gh.requests if r.method == "PATCH") == 1 and gh.head() == before
    assert (ws / IMG_A).read_bytes() == PNG  # the images stay in the workspace


def test_api_5xx_after_the_update_was_applied_is_a_success(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    gh.inject("PATCH", r"/git/refs/heads/main$", 502, "Bad Gateway", apply=True)
    result, sleeps = api(ws, gh, [write_cover(ws, POST_A, IMG_A)])
    assert result.sha and result.sha == gh.head() and result.committed == [POST_A]
    assert any("points to our commit" in n for n in result.notes) and sleeps == []
    assert sum(1 for r in gh.requests if r.method == "PATCH") == 1
    assert git(ws, "rev-parse", "HEAD").strip() == result.sha


def test_api_5xx_before_the_update_retries_once_the_branch_is_read_again(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    before = gh.head()
    gh.inject("PATCH", r"/git/refs/heads/main$", 500, "Internal Server Error", apply=False)
    result, sleeps = api(ws, gh, [write_cover(ws, POST_A, IMG_A)])
    assert result.sha == gh.head() and gh.git("rev-parse", f"{result.sha}^").strip() == before
    assert any("did not move; trying again" in n for n in result.notes) and sleeps == [1.0]
    assert sum(1 for r in gh.requests if r.method == "PATCH") == 2


def test_api_422_that_is_not_a_race_and_not_moved_is_not_retried(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    gh.inject("PATCH", r"/git/refs/heads/main$", 422, "Reference cannot be updated")
    with pytest.raises(PublishError, match="Reference cannot be updated"):
        api(ws, gh, [write_cover(ws, POST_A, IMG_A)])
    assert sum(1 for r in gh.requests if r.method == "PATCH") == 1  # one try, no retry loop


def test_api_posts_go_inline_and_byte_exact_images_as_blobs(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    change = write_cover(ws, POST_A, IMG_A)
    odd = b"\xef\xbb\xbf" + (ws / POST_A).read_bytes().replace(b"\n", b"\r\n") + "caf\u00e9 \u2014 no final newline".encode()
    (ws / POST_A).write_bytes(odd)
    result, _ = api(ws, gh, [change])
    assert gh.read(POST_A) == odd and gh.read(IMG_A) == PNG
    blobs = [r for r in gh.requests if r.method == "POST" and r.path.endswith("/git/blobs")]
    assert len(blobs) == 1  # the image; the post went into the tree as text
    tree = next(r.body for r in gh.requests if r.method == "POST" and r.path.endswith("/git/trees"))
    assert any(e["path"] == POST_A and "content" in e for e in tree["tree"])


def test_api_nothing_to_do_writes_nothing(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    api(ws, gh, [])
    assert [r for r in gh.requests if r.method != "GET"] == []


def test_write_pacer_follows_github_guidance_and_no_more():
    from imagegen.publish import WritePacer

    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = WritePacer(clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        pacer()
    assert slept == []  # a handful of writes: no pause at all
    pacer()
    pacer()
    assert slept == [1.0, 1.0]  # many writes: one second apart
    # never more than 80 content-creating requests a minute, even with no gap
    now[0], slept[:] = 0.0, []
    burst = WritePacer(gap=0, free=0, clock=lambda: now[0], sleep=sleep)
    for _ in range(81):
        burst()
    assert slept == [60.0]
    # PyGithub's own pauses are off: ours are the only ones
    pub = GitHubApi(token=TOKEN, api_url="http://127.0.0.1:9", repository="o/r", branch="main")
    req = pub.gh._Github__requester
    assert req._Requester__seconds_between_writes is None and req._Requester__seconds_between_requests is None
    assert req._Requester__timeout == 30


def test_git_protected_branch_is_a_refusal(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    gh.protect_pushes("main")
    before = gh.head()
    sleeps: list[float] = []
    with pytest.raises(PublishError) as info:
        publish_git(ws, [write_cover(ws, POST_A, IMG_A)], sleep=sleeps.append)
    assert "GH006" in str(info.value) and "commit: pull-request" in str(info.value)
    assert sleeps == [] and gh.head() == before


# ----------------------------------------------------------------------------- pull-request mode

PR_BRANCH = "imagegen/covers"


def pr_publisher(ws: Path, gh: FakeGitHub) -> PullRequestPublisher:
    target = Target(ws, "main", base_sha=git(ws, "rev-parse", "HEAD").strip(), server_url="https://github.example",
                    pull_request_branch=PR_BRANCH)
    return PullRequestPublisher(github(gh, sleep=lambda s: None), target)


def pr_run(ws: Path, gh: FakeGitHub, covers: list[tuple[str, str, str]]):
    """What the action does in pull-request mode: prepare (read the open pull request, put its posts
    into the workspace), make covers, publish them to the covers branch (opening or updating the pull
    request), close (the checkout is the base branch again)."""
    pub = pr_publisher(ws, gh)
    pub.prepare()
    try:
        result = pub.publish([write_cover(ws, post_rel, img, tag=title) for post_rel, img, title in covers], None)
    finally:
        pub.close()
    return pub.plan, result


def test_pull_request_mode_opens_then_updates_one_pull_request(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    base = gh.head()
    plan, result = pr_run(ws, gh, [(POST_A, IMG_A, "Alpha")])
    assert gh.head() == base  # the base branch is untouched
    assert result.sha == gh.head(PR_BRANCH) and gh.git("rev-parse", f"{result.sha}^").strip() == base
    assert result.pull_request_number == 1 and result.pull_request_url.endswith("/pull/1")
    pr = gh.pulls[0]
    assert pr["base"] == "main" and pr["head"] == PR_BRANCH and pr["title"] == "Cover image for 2026-01-01-alpha.md"
    assert "**Alpha**" in pr["body"] and "a cover for Alpha" in pr["body"] and "local" in pr["body"]
    assert f"/blob/{result.sha}/{IMG_A}?raw=true" in pr["body"]
    assert gh.read(IMG_A, PR_BRANCH) == PNG + b"Alpha" and not gh.exists(IMG_A)
    assert clean(ws) and git(ws, "rev-parse", "HEAD").strip() == base  # the checkout is main again

    # a later run: the open pull request's post is not made again, the new one is added to it
    ws2 = clone(origin, tmp_path / "ws2")
    plan, result2 = pr_run(ws2, gh, [(POST_B, IMG_B, "Beta")])
    assert list(plan.posts) == [POST_A] and plan.number == 1
    assert result2.pull_request_number == 1 and len(gh.pulls) == 1
    assert gh.git("rev-parse", f"{result2.sha}^").strip() == result.sha  # a fast-forward, never forced
    assert gh.read(IMG_A, PR_BRANCH) == PNG + b"Alpha" and gh.read(IMG_B, PR_BRANCH) == PNG + b"Beta"
    assert gh.pulls[0]["title"] == "Cover images for 2 posts"
    assert "**Alpha**" in gh.pulls[0]["body"] and "**Beta**" in gh.pulls[0]["body"]
    assert gh.head() == base and clean(ws2)


def test_pull_request_mode_follows_a_moved_base_and_drops_a_post_edited_there(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    _, first = pr_run(ws, gh, [(POST_A, IMG_A, "Alpha"), (POST_B, IMG_B, "Beta")])
    theirs = post("Alpha", " Edited on main while the covers waited.")
    moved = gh.commit_files({POST_A: theirs, "README.md": b"new readme\n"})
    new_post = "blog/2026-01-03-gamma.md"
    gh.commit_files({new_post: post("Gamma")})
    ws2 = clone(origin, tmp_path / "ws2")
    plan, result = pr_run(ws2, gh, [(new_post, "attachments/blog-2026-01-03-gamma.png", "Gamma")])
    assert list(plan.posts) == [POST_B] and any(POST_A in n for n in plan.notes)
    parents = gh.git("rev-list", "--parents", "-n1", result.sha).split()[1:]
    assert parents == [first.sha, gh.head()]  # the covers branch, then main's head: mergeable, nothing forced
    assert gh.read(POST_A, PR_BRANCH) == theirs and not gh.exists(IMG_A, PR_BRANCH)  # theirs wins, no orphan image
    assert gh.read("README.md", PR_BRANCH) == b"new readme\n"
    assert gh.exists(IMG_B, PR_BRANCH) and gh.exists("attachments/blog-2026-01-03-gamma.png", PR_BRANCH)
    body = gh.pulls[0]["body"]
    assert "**Beta**" in body and "**Gamma**" in body and "**Alpha**" not in body
    assert gh.git("merge-base", "--is-ancestor", moved, result.sha) == ""


def test_pull_request_mode_when_actions_may_not_open_pull_requests(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    gh.actions_can_open_pull_requests = False
    with pytest.raises(PublishError) as info:
        pr_run(ws, gh, [(POST_A, IMG_A, "Alpha")])
    text = str(info.value)
    assert "not permitted to create or approve pull requests" in text and "Allow GitHub Actions" in text
    assert PR_BRANCH in text and gh.exists(IMG_A, PR_BRANCH)  # the covers are safe on the branch


def test_pull_request_mode_after_a_merged_pull_request_starts_a_new_one(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    _, first = pr_run(ws, gh, [(POST_A, IMG_A, "Alpha")])
    # the human merges it (fast-forward) and closes the pull request; the branch stays
    gh.git("update-ref", "refs/heads/main", first.sha)
    gh.pulls[0]["state"] = "closed"
    ws2 = clone(origin, tmp_path / "ws2")
    plan, result = pr_run(ws2, gh, [(POST_B, IMG_B, "Beta")])
    assert plan.number == 0 and plan.posts == {}
    assert result.pull_request_number == 2 and gh.pulls[1]["state"] == "open"
    assert "**Beta**" in gh.pulls[1]["body"] and "**Alpha**" not in gh.pulls[1]["body"]
    assert gh.git("rev-parse", f"{result.sha}^").strip() == first.sha


def test_api_stalled_github_is_one_clear_error_within_the_overall_deadline(tmp_path, origin, gh):
    """A GitHub that accepts the connection and never answers (or drips) never trips the
    per-request timeout's reads in time; the overall deadline ends the commit with one line and
    leaves the branch and the workspace's covers alone."""
    ws = clone(origin, tmp_path / "ws")
    before = gh.head()
    gh.stall("POST", r"/git/trees$")
    with pytest.raises(PublishError) as info:
        api(ws, gh, [write_cover(ws, POST_A, IMG_A)], deadline=0.5)
    text = str(info.value)
    assert "did not finish within 0.5 s in all" in text and "\n" not in text
    assert gh.head() == before and (ws / IMG_A).read_bytes() == PNG
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # the alarm is off again


def test_pull_request_mode_says_what_it_did_and_a_run_without_covers_names_the_open_one(tmp_path, origin, gh):
    ws = clone(origin, tmp_path / "ws")
    _, result = pr_run(ws, gh, [(POST_A, IMG_A, "Alpha")])
    assert result.log == [f"pushed 1 post(s) to {PR_BRANCH}: {result.sha}"]
    assert result.notice == f"covers proposed in pull request #1: {result.pull_request_url}"
    ws2 = clone(origin, tmp_path / "ws2")
    before = len(gh.requests)
    pub = pr_publisher(ws2, gh)
    pub.prepare()
    assert (ws2 / POST_A).read_bytes() == gh.read(POST_A, PR_BRANCH)  # the open pull request's version
    idle = pub.publish([], None)
    pub.close()
    assert (idle.sha, idle.pull_request_number, idle.pull_request_url) == ("", 1, result.pull_request_url)
    assert not idle.log and not idle.notice and not idle.notes
    assert [r for r in gh.requests[before:] if r.method != "GET"] == []
    assert clean(ws2)  # the carried post is main's again


def test_pull_request_posts_are_written_through_the_writer_never_through_a_symlink(tmp_path, origin, gh):
    """The open pull request's posts go into the workspace like every post write: atomically, and
    never through a symlink that leads outside the repository."""
    ws = clone(origin, tmp_path / "ws")
    pr_run(ws, gh, [(POST_A, IMG_A, "Alpha")])
    ws2 = clone(origin, tmp_path / "ws2")
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"not the repository's\n")
    (ws2 / POST_A).unlink()
    (ws2 / POST_A).symlink_to(outside)
    pub = pr_publisher(ws2, gh)
    with pytest.raises(PublishError, match=f"could not put {POST_A} into the workspace"):
        pub.prepare()
    pub.close()
    assert outside.read_bytes() == b"not the repository's\n"
    # a plain post is replaced by a new file (a rename), not rewritten in place
    ws3 = clone(origin, tmp_path / "ws3")
    inode = (ws3 / POST_A).stat().st_ino
    pub = pr_publisher(ws3, gh)
    pub.prepare()
    assert (ws3 / POST_A).stat().st_ino != inode and (ws3 / POST_A).read_bytes() == gh.read(POST_A, PR_BRANCH)
    assert not [p for p in (ws3 / POST_A).parent.iterdir() if p.name.startswith(".imagegen-tmp")]
    pub.close()


def test_the_commit_input_chooses_one_publisher(tmp_path):
    target = Target(tmp_path, "main", token=TOKEN, repository="o/r", api_url="http://127.0.0.1:9")
    assert isinstance(choose("none", target), NoPublisher)
    assert isinstance(choose("git", target), GitPublisher)
    assert isinstance(choose("api", target), ApiPublisher)
    assert isinstance(choose("pull-request", target), PullRequestPublisher)
    with pytest.raises(SettingsError, match="commit: api needs the github-token input"):
        choose("api", Target(tmp_path, "main"))
    with pytest.raises(SettingsError, match="commit: expected one of api, git, pull-request, none, got 'push'"):
        choose("push", target)
    same = Target(tmp_path, "covers", token=TOKEN, repository="o/r", pull_request_branch="covers")
    with pytest.raises(SettingsError, match="pull-request-branch: 'covers' is the branch the pull request"):
        choose("pull-request", same)


def test_no_publisher_touches_nothing(tmp_path):
    (tmp_path / "a.md").write_text("x")
    pub = NoPublisher()
    assert pub.prepare() == [] and pub.preflight() is None
    result = pub.publish([Change("a.md", ("a.md",))], None)
    assert (result.sha, result.committed, result.notes, result.log) == ("", [], [], [])
    pub.close()
    assert (tmp_path / "a.md").read_text() == "x"
