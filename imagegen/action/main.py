"""The action's main, as a short sequence of steps that return values:

    read_inputs -> scope -> prepare -> run (preflight, once discovery found work) -> publish -> finish

The runner starts the container with the workspace mounted at /github/workspace (the working
directory), one `INPUT_<NAME>` variable per input (name upper-cased, spaces to `_`, hyphens kept),
and `GITHUB_*` variables (event payload, output and summary files, API URL, ...). Everything here is
GitHub Actions I/O; the work itself is `imagegen.pipeline` and `imagegen.publish`.

A step that finds nothing to do raises `Stop` (a notice, or an error with its exit code); a mistake
in the inputs or settings is an `ImagegenError`. Either ends the action with one line, empty outputs
and a one-line job summary. Once covers exist, the report file, the outputs and the summary are
written together after publishing (`finish`), so all three say the same thing.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TextIO

from imagegen import aio, doctor, git, pipeline, publish, redact, sites
from imagegen.action.event import (changed_files, commit_range, fork_pull_request, load_event, looks_like_post,
                                   target_branch)
from imagegen.action.inputs import Input, in_action_words, input_env_name, inputs
from imagegen.action.runner import EventLog, Runner
from imagegen.action.summary import BENIGN_SKIPS, SummaryContext, outputs, summary_markdown
from imagegen.errors import (EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, EXIT_REPORT, ImagegenError, PublishError,
                             SettingsError, action_exit_code)
from imagegen.gfm import table_cell
from imagegen.publish import Publisher, Target
from imagegen.report import PendingReason, Report
from imagegen.config.settings import Settings, load
from imagegen.sites import Site


class Stop(Exception):
    """End the action without generating (more): a notice (code 0) or an error (its exit code)."""

    def __init__(self, message: str, code: int = EXIT_OK) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ActionPlan:
    """What the inputs and the event decided, read once before any work and handed to each step."""

    settings: Settings
    site: Site
    """The blog engine the run follows, resolved once (the scope and the run both use it)."""
    workspace: Path
    commit: str
    """The `commit` input: api, git, pull-request or none."""
    branch: str | None
    """The branch the covers are committed to; None: nothing is committed (commit: none, a dry run)."""
    head: str
    """The checkout's commit ('' without git)."""
    token: str
    event_name: str
    event: Mapping[str, Any]
    only_changed: str
    message: str | None
    """The `commit-message` input (None: the default message)."""
    pull_request_branch: str
    repository: str
    api_url: str
    server_url: str
    doctor: bool = False
    """`mode: doctor`: the provider checks only."""

    def target(self) -> Target:
        """Where a publisher puts the covers."""
        return Target(workspace=self.workspace, branch=self.branch or "", base_sha=self.head,
                      repository=self.repository, api_url=self.api_url, server_url=self.server_url,
                      token=self.token, pull_request_branch=self.pull_request_branch)


@dataclass
class Action:
    env: Mapping[str, str]
    out: TextIO
    clock: Any = None
    sleep: Callable[[float], None] = time.sleep
    runner: Runner = field(init=False)
    by_name: dict[str, Input] = field(init=False)
    """The action's inputs by name (action.yml's, from the setting declarations)."""
    report_failed: bool = field(default=False, init=False)
    """The report file could not be written (the run itself worked): exit status 3."""

    def __post_init__(self) -> None:
        self.runner = Runner(self.env, self.out)
        self.by_name = {i.name: i for i in inputs()}

    def value(self, name: str) -> str:
        """The input as the runner passed it ('' when absent)."""
        return self.env.get(input_env_name(name), "")

    def resolved(self, name: str) -> str:
        """The input, else its environment variable, else its default."""
        inp = self.by_name[name]
        v = self.value(name).strip()
        if v:
            return v
        return (self.env.get(inp.env, "") if inp.env else "").strip() or inp.default

    # ------------------------------------------------------------------ the steps

    def run(self) -> int:
        """The steps in order; the exit status of the step. The publisher is chosen once, after the
        scope, and always closed (the workspace left as the job expects it)."""
        try:
            plan = self.read_inputs()
            if plan.doctor:
                return self.run_doctor(plan.settings)
            plan = self.scope(plan)
            chosen = publish.choose(plan.commit if plan.branch else "none", plan.target(), sleep=self.sleep,
                                    write_interval=self._write_interval())
            try:
                self.prepare(chosen)
                report = self.generate(plan, chosen)
                return self.publish(plan, chosen, report)
            finally:
                chosen.close()
        except Stop as stop:
            return self.stop(stop.message, code=stop.code)
        except ImagegenError as exc:
            return self.stop(str(exc), code=action_exit_code(exc.exit_code))

    def read_inputs(self) -> ActionPlan:
        """Secrets first (masked in the log and registered for redaction before anything is printed),
        then the choices, the event and the settings."""
        self._mask_secrets()
        token = self.resolved("github-token")
        if token.startswith("${{"):
            token = ""  # a literal default outside a runner
        workspace = Path(self.env.get("GITHUB_WORKSPACE") or os.getcwd())
        git.trust_workspace(workspace)
        event_name = self.env.get("GITHUB_EVENT_NAME", "")
        event = load_event(self.env)
        commit = self._choice("commit", publish.MODES, f"one of {', '.join(publish.MODES)}")
        only = self._choice("only-changed", ("auto", "true", "false"), "auto, true or false")
        fork = fork_pull_request(event_name, event, self.env)
        if fork and commit != "none":
            raise Stop(f"pull request from a fork ({fork}): its token cannot push to it and secrets are not "
                       "passed to it, so no covers were generated (they are made after the merge; "
                       "use commit: none to only write files)")
        run_mode = self.resolved("mode").strip().lower() or "run"
        if run_mode not in ("run", "doctor"):
            raise SettingsError(f"mode: expected run or doctor, got {run_mode!r}")
        settings = self._settings(workspace, fork, need_provider=False if run_mode == "doctor" else None)
        head = _head(workspace)
        branch = None
        if run_mode == "run" and commit != "none" and not settings.dry_run:
            branch = self._branch(commit, head)
        return ActionPlan(
            settings=settings, site=sites.resolve(settings), workspace=workspace, commit=commit, branch=branch, head=head, token=token,
            event_name=event_name, event=event, only_changed=only,
            message=self.value("commit-message").strip() or None,
            pull_request_branch=self.resolved("pull-request-branch") or publish.DEFAULT_PR_BRANCH,
            repository=self.env.get("GITHUB_REPOSITORY", ""),
            api_url=self.env.get("GITHUB_API_URL") or "https://api.github.com",
            server_url=self.env.get("GITHUB_SERVER_URL", "https://github.com"), doctor=run_mode == "doctor")

    def scope(self, plan: ActionPlan) -> ActionPlan:
        """Which posts: an explicit list or changed-since wins; else only-changed decides (the posts
        the push or pull request added or changed, by the same rules discovery uses)."""
        s = plan.settings
        if s.posts or s.changed_since or plan.only_changed == "false":
            return plan
        rng = commit_range(plan.event_name, plan.event, self.env)
        if rng is None:
            if plan.only_changed == "true":
                raise Stop(f"only-changed: true, but a {plan.event_name or 'local'} event has no commits to "
                           "compare; nothing to do")
            return plan
        files = changed_files(plan.workspace, rng[0], rng[1], plan.event, self.runner.warning)
        posts = sorted({f for f in files if looks_like_post(f, plan.site) and (plan.workspace / f).is_file()})
        if not posts:
            raise Stop(f"no post was added or changed by this {plan.event_name}; nothing to do")
        self.runner.print(f"only-changed: {len(posts)} post(s) changed by this {plan.event_name}")
        return replace(plan, settings=s.with_(posts=tuple(posts)))

    def prepare(self, publisher: Publisher) -> None:
        """Before discovery: what the run must see first (with commit: pull-request, the open pull
        request's posts as the covers branch has them, so they are not generated again)."""
        try:
            notes = publisher.prepare()
        except PublishError as exc:
            raise Stop(f"nothing generated: {exc}", EXIT_ERROR) from None
        for note in notes:
            self.runner.print(note)

    def preflight(self, publisher: Publisher) -> None:
        """Asked by the run once its discovery found work, before any provider is called: a token
        that cannot write makes no cover it could not commit (a notice); a refusal that needs a
        fix (a ruleset) is an error."""
        try:
            why = publisher.preflight()
        except PublishError as exc:
            raise Stop(f"nothing generated: {exc}", EXIT_ERROR) from None
        if why:
            raise Stop(f"nothing generated: {why}")

    def generate(self, plan: ActionPlan, publisher: Publisher) -> Report:
        """The run itself, its events printed as they come."""
        log = EventLog(self.runner)

        try:
            return pipeline.run_sync(plan.settings, emit=log, clock=self.clock, site=plan.site,
                                     before_work=lambda todo: self.preflight(publisher))
        except (Stop, ImagegenError):
            raise
        except Exception as exc:  # one clear line, never a traceback that could hold a secret
            raise Stop(f"imagegen failed: {type(exc).__name__}: {exc}", EXIT_ERROR) from None
        finally:
            log.close()

    def publish(self, plan: ActionPlan, publisher: Publisher, report: Report) -> int:
        """Commit what the run wrote; posts the branch changed meanwhile become pending."""
        ctx = SummaryContext(server_url=plan.server_url, repository=plan.repository, mode=plan.commit,
                             public=(plan.event.get("repository") or {}).get("private") is False)
        code = EXIT_CANCELLED if report.cancelled else EXIT_OK
        if code == EXIT_OK and report.run_error:
            self.runner.error(report.run_error)
            code = EXIT_ERROR
        try:
            result = publisher.publish(publish.changes_from(report), plan.message)
        except PublishError as exc:
            if exc.committed:  # on the branch; only a later step (the pull request) failed
                self.runner.error(str(exc))
                ctx.commit_sha = exc.committed
                ctx.notes.append(str(exc))
            else:
                self.runner.error(f"the covers were generated but not committed: {exc}")
                ctx.notes.append(f"Not committed: {exc}")
            return self.finish(report, ctx, code=EXIT_ERROR, report_file=plan.settings.report)
        ctx.commit_sha = result.sha
        ctx.pull_request_url, ctx.pull_request_number = result.pull_request_url, result.pull_request_number
        ctx.notes.extend(result.notes)
        left = {item.post: item for item in result.left}
        if left:
            report.generated = [g for g in report.generated if g.post not in left]
            report.pending.extend(left.values())
        for line in result.notes + result.log:
            self.runner.print(line)
        if result.notice:
            self.runner.notice(result.notice)
        return self.finish(report, ctx, code=code, report_file=plan.settings.report)

    def finish(self, report: Report, ctx: SummaryContext, *, code: int, report_file: Path | None) -> int:
        """Annotations, the report file, the outputs and the summary, once publishing is over."""
        self._annotate(report)
        if report_file is not None:
            self._write_report(report, report_file)
        self.runner.set_outputs(outputs(report, ctx.commit_sha, ctx.pull_request_url, ctx.pull_request_number))
        self.runner.summary(summary_markdown(report, ctx))
        return code or (EXIT_REPORT if self.report_failed else EXIT_OK)

    def stop(self, message: str, *, code: int) -> int:
        """End without generating: a notice (code 0) or an error; outputs all empty/zero. The
        message names the action's inputs, not the command line's flags and variables."""
        message = in_action_words(message)
        if code:
            self.runner.error(message)
        else:
            self.runner.notice(message)
        self.runner.set_outputs(outputs(None))
        self.runner.summary(f"## Cover images\n\n{'**Error:** ' if code else ''}{table_cell(message)}\n")
        return code

    def run_doctor(self, settings: Settings) -> int:
        """`mode: doctor`: the `imagegen doctor` table in the log and the job summary; no image, no commit."""
        d = aio.run(doctor.diagnose(settings))
        table = in_action_words(doctor.render(d))
        for line in table.splitlines():
            self.runner.print(line)
        self.runner.summary("## imagegen doctor\n\n```\n" + table + "\n```\n")
        if not d.ok:
            self.runner.error("no image provider is usable: see the PROBLEM lines of the doctor table")
            return EXIT_ERROR
        return EXIT_OK

    # ------------------------------------------------------------------ helpers of the steps

    def _mask_secrets(self) -> None:
        for i in self.by_name.values():
            if i.secret:
                v = self.value(i.name) or (self.env.get(i.env, "") if i.env else "")
                if v.strip():
                    self.runner.mask(v.strip())
                    redact.register(v.strip())

    def _choice(self, name: str, allowed: Sequence[str], expected: str) -> str:
        v = self.resolved(name).lower()
        if v not in allowed:
            raise SettingsError(f"{name}: expected {expected}, got {v!r}")
        return v

    def _settings(self, workspace: Path, fork: str | None, *, need_provider: bool | None = None) -> Settings:
        """An input left at its action.yml default (or empty) is "not given": the environment
        variable of the same meaning wins, then the default (settings.load decides)."""
        raw = {i.name: (None if self.value(i.name).strip() in ("", i.default) else self.value(i.name))
               for i in self.by_name.values() if i.kind != "action"}
        try:
            return load(raw, dict(self.env), repo=workspace, need_provider=need_provider)
        except ImagegenError as exc:
            if fork and "no image provider" in str(exc):
                raise Stop(f"pull request from a fork ({fork}): provider secrets are not passed to it, "
                           "so no covers were generated") from None
            raise

    def _branch(self, commit: str, head: str) -> str:
        """The branch to commit to (the `branch` input, else the event's)."""
        branch = target_branch(self.value("branch"), self.env)
        if not branch:
            raise SettingsError(f"cannot tell which branch to commit to (GITHUB_REF={self.env.get('GITHUB_REF', '')!r}); "
                                "set the `branch` input")
        if commit == "git" and self.env.get("GITHUB_REF", "").startswith("refs/pull/") \
                and head and head == self.env.get("GITHUB_SHA"):
            raise SettingsError("commit: git on a pull request: the checkout is GitHub's merge commit, which must not "
                                "be pushed; check out the branch (actions/checkout with ref: ${{ github.head_ref }}) "
                                "or use commit: api")
        return branch

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

    def _write_interval(self) -> float | None:
        """IMAGEGEN_GITHUB_WRITE_INTERVAL (seconds) overrides the pacing of API writes (tests: 0)."""
        raw = self.env.get("IMAGEGEN_GITHUB_WRITE_INTERVAL", "").strip()
        try:
            return max(0.0, float(raw)) if raw else None
        except ValueError:
            return None

    def _write_report(self, report: Report, path: Path) -> None:
        """Atomically; a failure is one error line (the outputs and summary still follow) and
        the step's exit status 3 (errors.EXIT_REPORT)."""
        problem = report.write(path)
        if problem is not None:
            self.runner.error(problem)
            self.report_failed = True


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
