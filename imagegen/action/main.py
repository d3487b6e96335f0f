"""The action's main: inputs -> settings -> (open pull request) -> run -> publish -> report file,
outputs and job summary.

The runner starts the container with the workspace mounted at /github/workspace (the working
directory), one `INPUT_<NAME>` variable per input (name upper-cased, spaces to `_`, hyphens kept),
and `GITHUB_*` variables (event payload, output and summary files, API URL, ...). Everything here is
GitHub Actions I/O; the work itself is `imagegen.pipeline` and `imagegen.publish`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, TextIO

from imagegen import secrets
from imagegen.action.commands import EventLog, Runner
from imagegen.action.event import (commit_range, changed_files, fork_pull_request, load_event, looks_like_post,
                                   target_branch)
from imagegen.action.inputs import Input, input_env_name, inputs
from imagegen.action.summary import BENIGN_SKIPS, SummaryContext, _cell, _outputs, summary_markdown
from imagegen import git, sites
from imagegen.errors import (EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, EXIT_REPORT, ImagegenError, action_exit_code,
                             exit_code_of)
from imagegen.report import PendingReason, Report

@dataclass
class Action:
    env: Mapping[str, str]
    out: TextIO
    clock: Any = None
    sleep: Callable[[float], None] = time.sleep
    runner: Runner = field(init=False)
    report_failed: bool = field(default=False, init=False)
    """The report file could not be written (the run itself worked): exit status 3."""

    def __post_init__(self) -> None:
        self.runner = Runner(self.env, self.out)

    def value(self, inp: Input) -> str:
        return self.env.get(input_env_name(inp.name), "")

    def resolved(self, inp: Input) -> str:
        v = self.value(inp).strip()
        if v:
            return v
        return (self.env.get(inp.env, "") if inp.env else "").strip() or inp.default

    def finish(self, report: Report | None, *, sha: str = "", markdown: str = "", pr_url: str = "",
               pr_number: int = 0, report_file: Path | None = None) -> None:
        """The report file, the outputs and the summary, written together once publishing is over,
        so all three say the same thing."""
        if report is not None and report_file is not None:
            self._write_report(report, report_file)
        self.runner.set_outputs(_outputs(report, sha, pr_url, pr_number))
        if markdown:
            self.runner.summary(markdown)

    def stop(self, message: str, *, code: int) -> int:
        """End without generating: a notice (code 0) or an error (code 1); outputs all empty/zero."""
        if code:
            self.runner.error(message)
        else:
            self.runner.notice(message)
        self.finish(None, markdown=f"## Cover images\n\n{'**Error:** ' if code else ''}{_cell(message)}\n")
        return code

    def run(self) -> int:
        from imagegen.publish import DEFAULT_PR_BRANCH, MODES, PublishError, restore_checkout
        from imagegen.settings import load

        all_inputs = inputs()
        by_name = {i.name: i for i in all_inputs}
        # 1. Secrets first: masked in the log and registered for redaction before anything is printed.
        for i in all_inputs:
            if i.secret:
                v = self.value(i) or (self.env.get(i.env, "") if i.env else "")
                if v.strip():
                    self.runner.mask(v.strip())
                    secrets.register(v.strip())
        token = self.resolved(by_name["github-token"])
        if token.startswith("${{"):
            token = ""  # a literal default outside a runner
        workspace = Path(self.env.get("GITHUB_WORKSPACE") or os.getcwd())
        git.trust_workspace(workspace)
        event_name = self.env.get("GITHUB_EVENT_NAME", "")
        event = load_event(self.env)

        mode = self.resolved(by_name["commit"]).lower()
        if mode not in MODES:
            return self.stop(f"commit: expected one of {', '.join(MODES)}, got {mode!r}", code=1)
        only = self.resolved(by_name["only-changed"]).lower()
        if only not in ("auto", "true", "false"):
            return self.stop(f"only-changed: expected auto, true or false, got {only!r}", code=1)

        fork = fork_pull_request(event_name, event, self.env)
        if fork and mode != "none":
            return self.stop(f"pull request from a fork ({fork}): its token cannot push to it and secrets are not "
                             "passed to it, so no covers were generated (they are made after the merge; "
                             "use commit: none to only write files)", code=0)

        # An input left at its action.yml default (or empty) is "not given": the environment
        # variable of the same meaning wins, then the default (settings.load decides).
        raw = {i.name: (None if self.value(i).strip() in ("", i.default) else self.value(i))
               for i in all_inputs if i.kind != "action"}
        try:
            settings = load(raw, dict(self.env), repo=workspace)
        except ImagegenError as exc:
            if fork and "no image provider" in str(exc):
                return self.stop(f"pull request from a fork ({fork}): provider secrets are not passed to it, "
                                 "so no covers were generated", code=0)
            return self.stop(str(exc), code=action_exit_code(exc.exit_code))

        run_mode = self.resolved(by_name["mode"]).strip().lower() or "run"
        if run_mode not in ("run", "doctor"):
            return self.stop(f"mode: expected run or doctor, got {run_mode!r}", code=1)
        if run_mode == "doctor":
            return self._doctor(settings)

        committing = mode != "none" and not settings.dry_run
        branch = target_branch(self.value(by_name["branch"]), self.env) if committing else None
        if committing and not branch:
            return self.stop(f"cannot tell which branch to commit to (GITHUB_REF={self.env.get('GITHUB_REF', '')!r}); "
                             "set the `branch` input", code=1)
        head = _head(workspace)
        if committing and mode == "git" and self.env.get("GITHUB_REF", "").startswith("refs/pull/") \
                and head and head == self.env.get("GITHUB_SHA"):
            return self.stop("commit: git on a pull request: the checkout is GitHub's merge commit, which must not be "
                             "pushed; check out the branch (actions/checkout with ref: ${{ github.head_ref }}) "
                             "or use commit: api", code=1)

        # 2. Which posts: an explicit list or changed-since wins; else only-changed decides.
        if not settings.posts and not settings.changed_since and only != "false":
            rng = commit_range(event_name, event, self.env)
            if rng is None and only == "true":
                return self.stop(f"only-changed: true, but a {event_name or 'local'} event has no commits to "
                                 "compare; nothing to do", code=0)
            if rng is not None:
                files = changed_files(workspace, rng[0], rng[1], event, self.runner.warning)
                posts = sorted({f for f in files if looks_like_post(f, settings) and (workspace / f).is_file()})
                if not posts:
                    return self.stop(f"no post was added or changed by this {event_name}; nothing to do", code=0)
                self.runner.print(f"only-changed: {len(posts)} post(s) changed by this {event_name}")
                settings = settings.with_(posts=tuple(posts))

        # 3. What is there to do? Discovery alone (no provider call, no write): a run with nothing to
        #    do makes no write request; a token that cannot write makes no cover it could not commit.
        #    With commit: pull-request the open pull request's posts are put into the workspace first
        #    (as they are on the covers branch), so they are not generated again.
        pub = None
        plan = None
        pr_branch = self.resolved(by_name["pull-request-branch"]) or DEFAULT_PR_BRANCH
        if committing:
            assert branch is not None
            if mode in ("api", "pull-request"):
                from imagegen.publish import ApiPublisher

                if not token:
                    return self.stop(f"commit: {mode} needs the github-token input", code=1)
                pub = ApiPublisher(token=token, api_url=self._api_url(), repository=self._repository(),
                                   branch=branch, sleep=self.sleep, **self._api_pacing())
            if mode == "pull-request":
                assert pub is not None
                if pr_branch == branch:
                    return self.stop(f"pull-request-branch: {pr_branch!r} is the branch the pull request would go "
                                     "into; name another branch", code=1)
                try:
                    plan = pub.plan_pull_request(pr_branch)
                except PublishError as exc:
                    return self.stop(f"nothing generated: {exc}", code=1)
                for rel, data in plan.posts.items():
                    target = workspace / rel
                    if target.is_file():
                        target.write_bytes(data)
                for note in plan.notes:
                    self.runner.print(note)
        try:
            return self._generate_and_publish(settings, mode, committing, branch, pr_branch, pub, plan, token,
                                              workspace, head, event, by_name)
        finally:
            if plan is not None and plan.posts:
                restore_checkout(workspace, plan.posts)

    def _has_work(self, settings: Any) -> bool:
        """Whether discovery finds a post to give a cover (the pipeline's own first step, run alone)."""
        from imagegen.clock import SystemClock
        from imagegen.discover import discover

        if settings.max_images == 0:
            return False
        clock = self.clock or SystemClock()
        try:
            return bool(discover(settings, clock.now().astimezone(settings.tz).date(), sites.resolve(settings)).todo)
        except Exception:  # the run reports it properly
            return True

    def _generate_and_publish(self, settings: Any, mode: str, committing: bool, branch: str | None, pr_branch: str,
                              pub: Any, plan: Any, token: str, workspace: Path, head: str,
                              event: Mapping[str, Any], by_name: Mapping[str, Input]) -> int:
        from imagegen.publish import (PublishError, can_push, changes_from, publish_api, publish_git,
                                      publish_pull_request, restore_checkout)

        if committing and self._has_work(settings):
            why = pub.can_write() if pub is not None else can_push(workspace, branch or "")
            if why:
                return self.stop(f"nothing generated: {why}", code=0)
            if pub is not None and mode == "api":
                refusal = pub.ruleset_refusal()
                if refusal:
                    return self.stop(f"nothing generated: {refusal}", code=1)

        # 4. The run.
        from imagegen.pipeline import run_sync

        log = EventLog(self.runner)
        try:
            report = run_sync(settings, emit=log, clock=self.clock) if self.clock else run_sync(settings, emit=log)
        except Exception as exc:  # one clear line, never a traceback that could hold a secret
            log.close()
            if isinstance(exc, ImagegenError):
                return self.stop(str(exc), code=action_exit_code(exc.exit_code))
            return self.stop(f"imagegen failed: {type(exc).__name__}: {exc}", code=action_exit_code(exit_code_of(exc)))
        log.close()

        # 5. Publish; then the report file, the outputs and the summary, all saying what happened.
        ctx = SummaryContext(server_url=self.env.get("GITHUB_SERVER_URL", "https://github.com"),
                             repository=self._repository(), mode=mode,
                             public=(event.get("repository") or {}).get("private") is False)
        code = EXIT_CANCELLED if report.cancelled else EXIT_OK
        if code == EXIT_OK and report.run_error:
            self.runner.error(report.run_error)
            code = EXIT_ERROR
        changes = changes_from(report)
        result = None
        if committing and changes:
            message = self.value(by_name["commit-message"]).strip() or None
            base_sha = head or self.env.get("GITHUB_SHA", "")
            try:
                if mode == "api":
                    result = publish_api(workspace, changes, token=token, api_url=self._api_url(),
                                         repository=self._repository(), branch=branch or "",
                                         base_sha=base_sha, message=message, sleep=self.sleep, **self._api_pacing())
                elif mode == "pull-request":
                    entries = [{"post": g.post, "image": g.image, "removed": g.removed_image or "",
                                "title": _post_title(workspace, g.post), "provider": g.provider, "model": g.model,
                                "prompt": g.prompt} for g in report.generated]
                    result = publish_pull_request(workspace, changes, plan, pub, base_sha=base_sha, entries=entries,
                                                  message=message, server_url=ctx.server_url)
                else:
                    result = publish_git(workspace, changes, branch=branch or "", message=message, sleep=self.sleep)
            except PublishError as exc:
                self.runner.error(f"the covers were generated but not committed: {exc}")
                ctx.notes.append(f"Not committed: {exc}")
                self._annotate(report)
                self.finish(report, markdown=summary_markdown(report, ctx), report_file=settings.report)
                return 1
            ctx.commit_sha = result.sha
            ctx.notes.extend(result.notes)
            left = {item.post: item for item in result.left}
            if left:
                report.generated = [g for g in report.generated if g.post not in left]
                report.pending.extend(left.values())
            for note in result.notes:
                self.runner.print(note)
            if mode == "pull-request":
                ctx.pull_request_url, ctx.pull_request_number = result.pull_request_url, result.pull_request_number
                if result.sha:
                    self.runner.print(f"pushed {len(result.committed)} post(s) to {pr_branch}: {result.sha}")
                if result.pull_request_url:
                    self.runner.notice(f"covers proposed in pull request #{result.pull_request_number}: "
                                       f"{result.pull_request_url}")
                # the checkout is the base branch again: the covers live on the covers branch
                restore_checkout(workspace, [p for c in changes if c.post in result.committed for p in c.paths])
            elif result.sha:
                self.runner.print(f"committed {len(result.committed)} post(s) to {branch}: {result.sha}")
        elif mode == "pull-request" and plan is not None and plan.number:
            ctx.pull_request_url, ctx.pull_request_number = plan.url, plan.number
        self._annotate(report)
        self.finish(report, sha=ctx.commit_sha, markdown=summary_markdown(report, ctx),
                    pr_url=ctx.pull_request_url, pr_number=ctx.pull_request_number, report_file=settings.report)
        return code or (EXIT_REPORT if self.report_failed else EXIT_OK)

    def _doctor(self, settings: Any) -> int:
        """`mode: doctor`: the `imagegen doctor` table in the log and the job summary; no image, no commit."""
        import asyncio

        from imagegen import doctor

        d = asyncio.run(doctor.diagnose(settings))
        table = doctor.render(d)
        for line in table.splitlines():
            self.runner.print(line)
        self.runner.summary("## imagegen doctor\n\n```\n" + table + "\n```\n")
        if not d.ok:
            self.runner.error("no image provider is usable: see the PROBLEM lines of the doctor table")
            return 1
        return 0

    def _annotate(self, report: Report) -> None:
        for f in report.failed:
            self.runner.warning(f"no cover: {f.error}", file=f.post, title="imagegen: post failed")
        for s in report.skipped:
            if s.reason not in BENIGN_SKIPS:
                self.runner.warning(f"skipped ({s.reason}){': ' + s.message if s.message else ''}",
                                    file=s.post, title="imagegen: post skipped")
        for p in report.pending:
            if p.reason == PendingReason.CHANGED_UPSTREAM:
                self.runner.warning(p.message, file=p.post, title="imagegen: left for the next run")

    def _api_pacing(self) -> dict[str, float]:
        """IMAGEGEN_GITHUB_WRITE_INTERVAL (seconds) overrides PyGithub's pacing of API writes (tests: 0)."""
        raw = self.env.get("IMAGEGEN_GITHUB_WRITE_INTERVAL", "").strip()
        try:
            return {"write_interval": max(0.0, float(raw))} if raw else {}
        except ValueError:
            return {}

    def _api_url(self) -> str:
        return self.env.get("GITHUB_API_URL") or "https://api.github.com"

    def _repository(self) -> str:
        return self.env.get("GITHUB_REPOSITORY", "")

    def _write_report(self, report: Report, path: Path) -> None:
        """Atomically; a failure is one error line (the outputs and summary still follow) and
        the step's exit status 3 (errors.EXIT_REPORT)."""
        problem = report.write(path)
        if problem is not None:
            self.runner.error(problem)
            self.report_failed = True


def _post_title(workspace: Path, rel: str) -> str:
    """The post's title for the pull request's list (its file name when it has none)."""
    try:
        from imagegen.posts import Post

        return Post.from_text((workspace / rel).read_text(encoding="utf-8-sig"), rel).title or PurePosixPath(rel).name
    except Exception:
        return PurePosixPath(rel).name


def give_back_ownership(workspace: Path) -> None:
    """The container runs as root; the workspace belongs to the runner's user. Files this run
    created or rewrote (images, posts, git's objects and index after a commit or sync) would
    otherwise be root's, and a later step (running as the runner's user) could not change them."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        st = workspace.stat()
    except OSError:
        return
    if st.st_uid == 0:
        return
    for root, dirs, files in os.walk(workspace):
        for name in [*dirs, *files]:
            p = os.path.join(root, name)
            try:
                if os.lstat(p).st_uid == 0:
                    os.lchown(p, st.st_uid, st.st_gid)
            except OSError:
                pass


def _head(workspace: Path) -> str:
    """The checkout's commit ('' without git)."""
    if not (workspace / ".git").exists():
        return ""
    try:
        return git.Git(workspace).out("rev-parse", "HEAD")
    except ImagegenError:
        return ""


def main(env: Mapping[str, str] | None = None, *, out: TextIO | None = None, clock: Any = None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    env = dict(os.environ if env is None else env)
    action = Action(env, out or sys.stdout, clock=clock, sleep=sleep)
    try:
        return action.run()
    except KeyboardInterrupt:
        action.runner.error("cancelled")
        return EXIT_CANCELLED
    except Exception as exc:  # the last line of defence: one redacted line, no traceback
        action.runner.error(f"imagegen failed unexpectedly: {type(exc).__name__}: {exc}")
        return EXIT_ERROR
    finally:
        give_back_ownership(Path(env.get("GITHUB_WORKSPACE") or os.getcwd()))
