"""The GitHub Docker action: inputs, masks, log groups, annotations, outputs, job summary, commit back.

The runner starts the container with the workspace mounted at /github/workspace (the working
directory), one `INPUT_<NAME>` variable per input (name upper-cased, spaces to `_`, hyphens kept),
and `GITHUB_*` variables (event payload, output and summary files, API URL, ...). Everything here is
GitHub Actions I/O; the work itself is `imagegen.pipeline` and `imagegen.publish`.

The inputs are derived from the same declarations as the CLI flags (settings.CORE and every
provider's options) plus a few action-only ones; `action.yml` is generated from them
(`python -m imagegen.action action-yml > action.yml`) and a test fails when the two disagree.
Settings inputs default to empty in action.yml, so an empty input falls back to the environment
variable of the same meaning (a workflow's existing `env:` keeps working), then to the real default,
which lives in settings.py only.

Why not actions-toolkit (PyPI): its correct parts (reading an input, the GITHUB_OUTPUT heredoc,
add-mask) are a few lines each; its annotation helper writes empty properties (`title=,line=,...`)
and it has no job summary; and it would be one more pinned dependency in the image.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping, Sequence, TextIO
from urllib.parse import quote

from imagegen import secrets
from imagegen.report import Event, Report
from imagegen.secrets import redact

# ============================================================================ inputs and outputs


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    default: str = ""
    """The default in action.yml (empty for settings, so that the env fallback works)."""
    env: str = ""
    """Environment fallback read (by settings.load, or here) when the input is empty."""
    secret: bool = False
    kind: str = "setting"
    """setting | provider | action"""
    help: str = ""
    """The description without the default and fallback notes (the README's table)."""
    effective_default: str = ""
    """What an empty input ends up as, when nothing is in the environment either."""


ACTION_INPUTS: tuple[Input, ...] = (
    Input("github-token", "Token used to commit the covers back (needs `permissions: contents: write`).",
          "${{ github.token }}", env="GITHUB_TOKEN", secret=True, kind="action"),
    Input("commit", "How to commit the covers: `api` (Git Data API; the commit is made and verified as the "
          "token's bot), `git` (git CLI as github-actions[bot], push with rebase-and-retry), `pull-request` "
          "(push them to the `pull-request-branch` and open or update one pull request for a human to approve; "
          "needs `permissions: pull-requests: write` too), or `none` (only write the files; a later step commits "
          "them).", "api", kind="action"),
    Input("pull-request-branch", "With `commit: pull-request`: the branch the covers are pushed to (reused and "
          "updated by later runs while its pull request is open).", "imagegen/covers", kind="action"),
    Input("commit-message", "Commit message. Default: \"Add cover image(s) for ...\" listing the posts.", kind="action"),
    Input("branch", "Branch to commit to. Default: the checked-out branch (the pull request's head branch "
          "on pull_request events).", kind="action"),
    Input("only-changed", "`auto`: on push (and pull_request) events only the posts changed by the pushed "
          "commits, on schedule and workflow_dispatch every post missing a cover; `true`: only changed posts "
          "(nothing on events without commits); `false`: every post missing a cover. An explicit `posts` or "
          "`changed-since` input wins.", "auto", kind="action"),
)

OUTPUTS: tuple[tuple[str, str], ...] = (
    ("images-generated", "Number of cover images generated (and committed, unless commit is none)."),
    ("posts-updated", "Posts that got a cover, one repository-relative path per line."),
    ("pending", "Number of posts left for a later run (max-images, providers out of quota, a concurrent "
                "edit; in a dry run: the posts that would get a cover)."),
    ("stopped-by-quota", "`true` when the run stopped because every provider was out of quota."),
    ("commit-sha", "The commit with the covers (on the `pull-request-branch` with `commit: pull-request`); "
                   "empty when nothing was committed."),
    ("pull-request-url", "With `commit: pull-request`: the pull request with the covers; empty when there is none."),
    ("pull-request-number", "With `commit: pull-request`: its number; empty when there is none."),
    ("report", "The JSON report (compact; secrets redacted)."),
)


def _setting_description(help_text: str, default: str, env: str, *, secret: bool = False) -> str:
    text = help_text[0].upper() + help_text[1:]
    text = text.rstrip(".") + "."
    if secret:
        text += " Secret: pass it from `secrets`."
    elif default:
        text += f" Default: `{default}`."
    return text + f" Empty: read from env `{env}`."


def inputs() -> tuple[Input, ...]:
    """Every action input, in action.yml order: run settings, provider options, action-only inputs."""
    from imagegen.providers import REGISTRY
    from imagegen.settings import CORE

    out: list[Input] = []
    for d in CORE:
        help_text = d.help + ("; comma- or newline-separated" if d.multi else "")
        out.append(Input(d.name, _setting_description(help_text, d.default, d.env_name), env=d.env_name,
                         help=help_text, effective_default=d.default))
    for spec in REGISTRY:
        for o in spec.all_options():
            out.append(Input(o.input_name, _setting_description(o.help, o.default, o.env, secret=o.secret),
                             env=o.env, secret=o.secret, kind="provider",
                             help=o.help + (" (secret)" if o.secret else ""), effective_default=o.default))
    out.extend(ACTION_INPUTS)
    names = [i.name for i in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RuntimeError(f"action inputs declared twice: {', '.join(dupes)}")
    return tuple(out)


def input_env_name(name: str) -> str:
    """The variable the runner sets for an input: INPUT_ + upper-cased name, spaces to `_`, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def render_action_yml() -> str:
    lines = [
        "# Generated from imagegen/settings.py and the provider registry by",
        "#   python -m imagegen.action action-yml > action.yml",
        "# tests/test_action_yml.py fails when this file and the code disagree.",
        "name: Blog cover images (imagegen)",
        "description: " + _q("Give blog posts cover images from a chain of free image APIs and commit them back."),
        "author: imagegen",
        "branding:",
        "  icon: image",
        "  color: purple",
        "inputs:",
    ]
    for i in inputs():
        lines += [f"  {i.name}:", f"    description: {_q(i.description)}", "    required: false",
                  f"    default: {_q(i.default)}"]
    lines.append("outputs:")
    for name, desc in OUTPUTS:
        lines += [f"  {name}:", f"    description: {_q(desc)}"]
    lines += ["runs:", "  using: docker", "  image: Dockerfile", ""]
    return "\n".join(lines)


def markdown_tables() -> str:
    """The README's inputs and outputs tables."""
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    rows = ["| input | default | env fallback | description |", "|---|---|---|---|"]
    for i in inputs():
        default = i.default or i.effective_default
        rows.append(f"| `{i.name}` | {('`' + cell(default) + '`') if default else ''} | "
                    f"{('`' + i.env + '`') if i.env else ''} | {cell(i.help or i.description)} |")
    rows += ["", "| output | description |", "|---|---|"]
    rows += [f"| `{n}` | {cell(d)} |" for n, d in OUTPUTS]
    return "\n".join(rows) + "\n"


# ============================================================================ workflow commands


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def one_line(s: str) -> str:
    """Log text on one physical line, so nothing in it can start a workflow command."""
    return " ".join(redact(s).splitlines())


class Runner:
    """Talks to the Actions runner: commands on stdout, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY."""

    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out

    def print(self, text: str = "") -> None:
        self.out.write(one_line(text) + "\n")
        self.out.flush()

    def command(self, name: str, message: str = "", **props: str | int | None) -> None:
        shown = {k: v for k, v in props.items() if v is not None and str(v) != ""}
        head = "::" + name
        if shown:
            head += " " + ",".join(f"{k}={escape_property(redact(str(v)))}" for k, v in shown.items())
        self.out.write(f"{head}::{escape_data(redact(message))}\n")
        self.out.flush()

    def mask(self, value: str) -> None:
        """Mask a secret in the log (each line of a multi-line value too). Printed unredacted on
        purpose: the runner needs the value, and masks this very line."""
        for v in {value, *value.splitlines()}:
            if v.strip():
                self.out.write(f"::add-mask::{escape_data(v)}\n")
        self.out.flush()

    def error(self, message: str, **props: str | int | None) -> None:
        self.command("error", message, **props)

    def warning(self, message: str, **props: str | int | None) -> None:
        self.command("warning", message, **props)

    def notice(self, message: str, **props: str | int | None) -> None:
        self.command("notice", message, **props)

    def group(self, title: str, lines: Sequence[str]) -> None:
        self.command("group", one_line(title))
        for line in lines:
            self.print(line)
        self.command("endgroup")

    def set_outputs(self, values: Mapping[str, str]) -> None:
        path = self.env.get("GITHUB_OUTPUT")
        if not path:
            return
        with open(path, "a", encoding="utf-8", newline="\n") as f:
            for name, value in values.items():
                value = redact(value)
                delim = f"ghadelimiter_{uuid.uuid4()}"
                while delim in value:  # pragma: no cover - a UUID will not be in the value
                    delim = f"ghadelimiter_{uuid.uuid4()}"
                f.write(f"{name}<<{delim}\n{value}\n{delim}\n")

    def summary(self, markdown: str) -> None:
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        with open(path, "a", encoding="utf-8", newline="\n") as f:
            f.write(redact(markdown))


class EventLog:
    """Prints the pipeline's events. Posts are worked on concurrently, so each post's lines are
    held until its last event and then printed together as one log group."""

    TERMINAL = frozenset({"generated", "failed", "pending", "skip", "would_generate"})

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.held: dict[str, list[str]] = {}

    def __call__(self, ev: Event) -> None:
        line = ev.line()
        if not ev.post:
            self.runner.print(line)
            return
        held = self.held.setdefault(ev.post, [])
        held.append(line)
        if ev.kind in self.TERMINAL:
            self._flush(ev.post, ev.kind)

    def _flush(self, post: str, kind: str) -> None:
        lines = self.held.pop(post, [])
        if len(lines) == 1 and kind not in ("generated", "failed"):
            self.runner.print(lines[0])
        elif lines:
            self.runner.group(f"{kind}: {post}", lines)

    def close(self) -> None:
        for post in list(self.held):
            self._flush(post, "unfinished")


# ============================================================================ the event, the branch, changed posts

ZERO_SHA = "0" * 40
BENIGN_SKIPS = frozenset({"has-image", "future", "not-found", "excluded", "not-a-post"})
"""Skip reasons that are normal (no annotation): a cover already there, a post dated later, a
changed file that is not a post."""


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, errors="replace")


def load_event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fork_pull_request(event_name: str, event: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The fork's name when this is a pull request from a fork (no secrets, read-only token)."""
    if not event_name.startswith("pull_request"):
        return None
    pr = event.get("pull_request") or {}
    base = (event.get("repository") or {}).get("full_name") or env.get("GITHUB_REPOSITORY", "")
    head = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    if not pr:
        return None
    if not head:
        return "(a deleted fork)"
    return head if head != base else None


def target_branch(explicit: str, env: Mapping[str, str]) -> str | None:
    if explicit.strip():
        return explicit.strip()
    if env.get("GITHUB_HEAD_REF"):
        return env["GITHUB_HEAD_REF"]
    ref = env.get("GITHUB_REF", "")
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/"):]
    return None


def _have_commit(repo: Path, sha: str) -> bool:
    return _git(repo, "cat-file", "-e", f"{sha}^{{commit}}").returncode == 0


def _fetch_commit(repo: Path, sha: str) -> bool:
    if _have_commit(repo, sha):
        return True
    shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    r = _git(repo, "fetch", "-q", "--no-tags", *(["--depth=1"] if shallow else []), "origin", sha)
    return r.returncode == 0 and _have_commit(repo, sha)


def _event_files(event: Mapping[str, Any]) -> list[str] | None:
    commits = event.get("commits")
    if not isinstance(commits, list):
        return None
    files: list[str] = []
    for c in commits:
        if isinstance(c, dict):
            for key in ("added", "modified"):
                files.extend(p for p in c.get(key) or [] if isinstance(p, str))
    return files


def changed_files(repo: Path, before: str, after: str, event: Mapping[str, Any],
                  warn: Callable[[str], None]) -> list[str]:
    """Files added or modified between two commits (deleted ones left out).

    git first (fetching a commit a shallow checkout lacks); for a new branch (all-zero `before`)
    or when git cannot answer, the files listed in the event's commits."""
    if before and before != ZERO_SHA and after:
        if _fetch_commit(repo, before) and _fetch_commit(repo, after):
            r = _git(repo, "-c", "core.quotePath=false", "diff", "--name-only", "-z", "--diff-filter=ACMR",
                     before, after, "--")
            if r.returncode == 0:
                return [p for p in r.stdout.split("\0") if p]
        files = _event_files(event)
        warn(f"only-changed: could not compare {before[:12]}..{after[:12]} with git; "
             f"using the files listed in the event's commits")
        return files or []
    files = _event_files(event)
    if files is not None:
        return files
    if after and _fetch_commit(repo, after):
        r = _git(repo, "-c", "core.quotePath=false", "diff-tree", "--root", "--no-commit-id", "--name-only",
                 "-z", "-r", "--diff-filter=ACMR", after)
        if r.returncode == 0:
            return [p for p in r.stdout.split("\0") if p]
    return []


def commit_range(event_name: str, event: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, str] | None:
    if event_name == "push":
        return str(event.get("before") or ""), str(event.get("after") or env.get("GITHUB_SHA", ""))
    if event_name.startswith("pull_request"):
        pr = event.get("pull_request") or {}
        return str((pr.get("base") or {}).get("sha") or ""), str((pr.get("head") or {}).get("sha") or "")
    return None


def looks_like_post(rel: str, settings: Any) -> bool:
    """The same name rules discover applies to a walked file (dated .md, not hidden, not excluded,
    under a content path, not in the attachments folder)."""
    from imagegen.posts import date_prefix

    p = PurePosixPath(rel)
    if any(part.startswith(".") or part == "node_modules" for part in p.parts):
        return False
    name = p.name
    if not name.lower().endswith(".md") or name.casefold() in {n.casefold() for n in settings.exclude}:
        return False
    if not settings.include_undated and date_prefix(name) is None:
        return False
    att = settings.attachments_dir.strip("/")
    if rel == att or rel.startswith(att + "/"):
        return False
    return any(c == "." or rel == c or rel.startswith(c.rstrip("/") + "/") for c in settings.paths)


# ============================================================================ job summary

MAX_ROWS = 50
SUMMARY_BUDGET = 512 * 1024
"""GitHub's limit is 1 MiB per step; stay well below it."""


def _cell(s: object) -> str:
    text = " ".join(str(s).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, noun: str) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        out += ["", f"… and {len(rows) - MAX_ROWS} more {noun} (see the `report` output)"]
    return out + [""]


@dataclass
class SummaryContext:
    server_url: str = "https://github.com"
    repository: str = ""
    commit_sha: str = ""
    public: bool = False
    mode: str = "api"
    notes: list[str] = field(default_factory=list)
    left: list[dict[str, str]] = field(default_factory=list)
    pull_request_url: str = ""
    pull_request_number: int = 0


def summary_markdown(report: Report, ctx: SummaryContext) -> str:
    gen = report.generated
    dry = [p for p in report.pending if p.get("reason") == "dry-run"]
    pending = [p for p in report.pending if p.get("reason") != "dry-run"]
    problem_skips = [s for s in report.skipped if s.get("reason") not in BENIGN_SKIPS]
    lines = ["## Cover images" + (" (dry run)" if report.dry_run else ""), ""]
    counts = [f"**{len(gen)}** generated"] if not report.dry_run else [f"**{len(dry)}** would be generated"]
    counts += [f"{len(report.skipped)} skipped", f"{len(report.failed)} failed", f"{len(pending)} pending"]
    lines.append(" · ".join(counts))
    lines.append("")
    link_base = f"{ctx.server_url.rstrip('/')}/{ctx.repository}" if ctx.repository else ""
    if ctx.pull_request_url:
        lines += [f"Proposed in pull request [#{ctx.pull_request_number}]({ctx.pull_request_url})"
                  + (f" (commit [`{ctx.commit_sha[:12]}`]({link_base}/commit/{ctx.commit_sha}))"
                     if ctx.commit_sha and link_base else "") + ": merge it to publish the covers.", ""]
    elif ctx.commit_sha and link_base:
        lines += [f"Committed [`{ctx.commit_sha[:12]}`]({link_base}/commit/{ctx.commit_sha}).", ""]
    elif gen and not report.dry_run:
        lines += ["Not committed" + (" (commit: none: a later step commits the files)." if ctx.mode == "none" else "."), ""]
    why = report.stop_reason or ""
    if report.stopped_by_quota:
        lines += [f"**Stopped:** every provider is out of quota or disabled ({_cell(why)}); the remaining posts are "
                  "pending for the next run.", ""]
    elif report.cancelled:
        lines += ["**Cancelled:** in-flight writes finished; the remaining posts are pending.", ""]
    elif why:
        lines += [f"Run ended: {_cell(why)}.", ""]
    for note in ctx.notes:
        lines += [f"> {_cell(note)}", ""]

    def file_link(path: str) -> str:
        if ctx.commit_sha and link_base:
            return f"[{_cell(path)}]({link_base}/blob/{ctx.commit_sha}/{quote(path)})"
        return f"`{_cell(path)}`"

    if gen:
        lines += ["### Generated", ""]
        thumbs = bool(ctx.public and ctx.commit_sha and link_base)
        rows = []
        for g in gen:
            row = [file_link(g.post), _cell(g.provider), f"`{_cell(g.model)}`", file_link(g.image)]
            if thumbs:  # a public repository: GitHub serves the committed image to anyone
                row.insert(0, f'<img src="{link_base}/raw/{ctx.commit_sha}/{quote(g.image)}" width="96" alt="">')
            rows.append(row)
        lines += _table((["cover"] if thumbs else []) + ["post", "provider", "model", "image"], rows, noun="covers")
    if dry:
        lines += ["### Would generate", ""]
        lines += _table(["post", "why", "image"], [[f"`{_cell(p['post'])}`", _cell(p.get("why", "")),
                                                    f"`{_cell(p.get('would_write', ''))}`"] for p in dry], noun="posts")
    if report.failed:
        lines += ["### Failed", ""]
        lines += _table(["post", "error"], [[f"`{_cell(f['post'])}`", _cell(f.get("error", ""))] for f in report.failed],
                        noun="posts")
    if pending:
        lines += ["### Pending (for the next run)", ""]
        lines += _table(["post", "reason"], [[f"`{_cell(p['post'])}`", _cell(p.get("reason", "")) +
                                              (f": {_cell(p['message'])}" if p.get("message") else "")] for p in pending],
                        noun="posts")
    if report.skipped:
        by_reason: dict[str, int] = {}
        for s in report.skipped:
            by_reason[s.get("reason", "")] = by_reason.get(s.get("reason", ""), 0) + 1
        lines += ["### Skipped", "", ", ".join(f"{n} {_cell(r)}" for r, n in sorted(by_reason.items())), ""]
        if problem_skips:
            lines += _table(["post", "reason"], [[f"`{_cell(s['post'])}`", _cell(s.get("reason", "")) +
                                                  (f": {_cell(s['message'])}" if s.get("message") else "")]
                                                 for s in problem_skips], noun="posts")
    if report.providers:
        lines += ["### Providers", ""]
        rows = []
        for name, st in report.providers.items():
            errs = ", ".join(f"{k} {v}" for k, v in st.errors.items() if v) or "none"
            rows.append([_cell(name), str(st.calls), str(st.images), _cell(errs), f"{st.seconds:.1f}", _cell(st.status)])
        lines += _table(["provider", "calls", "images", "errors", "seconds", "status"], rows, noun="providers")
    text = "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > SUMMARY_BUDGET:
        cut = text.encode("utf-8")[:SUMMARY_BUDGET].decode("utf-8", errors="ignore")
        text = cut.rsplit("\n", 1)[0] + "\n\n… (summary truncated; see the `report` output)\n"
    return text


# ============================================================================ main

OUTPUT_LIMIT = 900 * 1024


def report_output(report: Report) -> str:
    """The compact JSON report for the `report` output, kept under an output's size limit: a huge
    backfill's report loses its prompts, long error texts and the skipped list first, then the
    lists are cut (with their full lengths in `totals`); the complete report is the `report` file."""
    text = report.dumps(indent=None)
    if len(text.encode("utf-8")) <= OUTPUT_LIMIT:
        return text
    data = json.loads(text)
    for g in data.get("generated", []):
        g.pop("prompt", None)
    for f in data.get("failed", []):
        f.pop("reasons", None)
        f["error"] = str(f.get("error", ""))[:300]
    lists = ("generated", "failed", "pending", "skipped")
    data["totals"] = {k: len(data.get(k, [])) for k in lists}
    data["skipped"] = []
    data["truncated"] = True
    keep = max(len(data.get(k, [])) for k in lists)
    while True:
        out = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if len(out.encode("utf-8")) <= OUTPUT_LIMIT or keep == 0:
            return out
        keep //= 2
        for k in lists:
            data[k] = data.get(k, [])[:keep]


def _outputs(report: Report | None, sha: str = "", pr_url: str = "", pr_number: int = 0) -> dict[str, str]:
    pr = {"pull-request-url": pr_url, "pull-request-number": str(pr_number) if pr_number else ""}
    if report is None:
        return {"images-generated": "0", "posts-updated": "", "pending": "0", "stopped-by-quota": "false",
                "commit-sha": "", **pr, "report": ""}
    return {
        "images-generated": str(len(report.generated)),
        "posts-updated": "\n".join(report.posts_updated),
        "pending": str(len(report.pending)),
        "stopped-by-quota": "true" if report.stopped_by_quota else "false",
        "commit-sha": sha,
        **pr,
        "report": report_output(report),
    }


def _allow_workspace_for_git(workspace: Path) -> None:
    """The container runs as root on a workspace owned by the runner's user: let every git this
    process starts (ours and the pipeline's) use it, without touching any config file."""
    n = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    for value in (str(workspace), str(workspace.resolve())):
        os.environ[f"GIT_CONFIG_KEY_{n}"] = "safe.directory"
        os.environ[f"GIT_CONFIG_VALUE_{n}"] = value
        n += 1
    os.environ["GIT_CONFIG_COUNT"] = str(n)


@dataclass
class Action:
    env: Mapping[str, str]
    out: TextIO
    clock: Any = None
    sleep: Callable[[float], None] = time.sleep
    runner: Runner = field(init=False)

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
        from imagegen.settings import SettingsError, load

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
        _allow_workspace_for_git(workspace)
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

        raw = {i.name: (self.value(i) or None) for i in all_inputs if i.kind != "action"}
        try:
            settings = load(raw, dict(self.env), repo=workspace)
        except SettingsError as exc:
            if fork and "no image provider" in str(exc):
                return self.stop(f"pull request from a fork ({fork}): provider secrets are not passed to it, "
                                 "so no covers were generated", code=0)
            return self.stop(str(exc), code=1)

        committing = mode != "none" and not settings.dry_run
        branch = target_branch(self.value(by_name["branch"]), self.env) if committing else None
        if committing and not branch:
            return self.stop(f"cannot tell which branch to commit to (GITHUB_REF={self.env.get('GITHUB_REF', '')!r}); "
                             "set the `branch` input", code=1)
        head = _git(workspace, "rev-parse", "HEAD").stdout.strip() if (workspace / ".git").exists() else ""
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
            return bool(discover(settings, clock.now().astimezone(settings.tz).date()).todo)
        except Exception:  # the run reports it properly
            return True

    def _generate_and_publish(self, settings: Any, mode: str, committing: bool, branch: str | None, pr_branch: str,
                              pub: Any, plan: Any, token: str, workspace: Path, head: str,
                              event: Mapping[str, Any], by_name: Mapping[str, Input]) -> int:
        from imagegen.publish import (PublishError, can_push, changes_from, publish_api, publish_git,
                                      publish_pull_request, restore_checkout)
        from imagegen.settings import SettingsError

        if committing and self._has_work(settings):
            why = pub.can_write() if pub is not None else can_push(workspace, branch or "")
            if why:
                return self.stop(f"nothing generated: {why}", code=0)

        # 4. The run.
        from imagegen.pipeline import run_sync

        log = EventLog(self.runner)
        try:
            report = run_sync(settings, emit=log, clock=self.clock) if self.clock else run_sync(settings, emit=log)
        except SettingsError as exc:
            log.close()
            return self.stop(str(exc), code=1)
        except Exception as exc:  # one clear line, never a traceback that could hold a secret
            log.close()
            try:
                from imagegen.discover import DiscoveryError
            except ImportError:  # pragma: no cover
                DiscoveryError = ()  # type: ignore[assignment,misc]
            if isinstance(exc, DiscoveryError):
                return self.stop(str(exc), code=1)
            return self.stop(f"imagegen failed: {type(exc).__name__}: {exc}", code=1)
        log.close()

        # 5. Publish; then the report file, the outputs and the summary, all saying what happened.
        ctx = SummaryContext(server_url=self.env.get("GITHUB_SERVER_URL", "https://github.com"),
                             repository=self._repository(), mode=mode,
                             public=(event.get("repository") or {}).get("private") is False)
        code = 130 if report.cancelled else 0
        if code == 0 and report.run_error:
            self.runner.error(report.run_error)
            code = 1
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
            left = {item["post"]: item for item in result.left}
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
        return code

    def _annotate(self, report: Report) -> None:
        for f in report.failed:
            self.runner.warning(f"no cover: {f.get('error', '')}", file=f["post"], title="imagegen: post failed")
        for s in report.skipped:
            if s.get("reason") not in BENIGN_SKIPS:
                self.runner.warning(f"skipped ({s.get('reason')}){': ' + s['message'] if s.get('message') else ''}",
                                    file=s["post"], title="imagegen: post skipped")
        for p in report.pending:
            if p.get("reason") == "changed-upstream":
                self.runner.warning(p.get("message", ""), file=p["post"], title="imagegen: left for the next run")

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

    @staticmethod
    def _write_report(report: Report, path: Path) -> None:
        from imagegen.writer import replace

        target = path if path.is_absolute() else Path.cwd() / path
        target.parent.mkdir(parents=True, exist_ok=True)
        replace(target, (report.dumps() + "\n").encode("utf-8"))


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


def main(env: Mapping[str, str] | None = None, *, out: TextIO | None = None, clock: Any = None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    env = dict(os.environ if env is None else env)
    action = Action(env, out or sys.stdout, clock=clock, sleep=sleep)
    try:
        return action.run()
    except KeyboardInterrupt:
        action.runner.error("cancelled")
        return 130
    except Exception as exc:  # the last line of defence: one redacted line, no traceback
        action.runner.error(f"imagegen failed unexpectedly: {type(exc).__name__}: {exc}")
        return 1
    finally:
        give_back_ownership(Path(env.get("GITHUB_WORKSPACE") or os.getcwd()))


def _cli(argv: Sequence[str]) -> int:
    if argv == ["action-yml"]:
        sys.stdout.write(render_action_yml())
        return 0
    if argv == ["tables"]:
        sys.stdout.write(markdown_tables())
        return 0
    print("usage: python -m imagegen.action action-yml | tables", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
