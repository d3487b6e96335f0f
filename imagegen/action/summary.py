"""The job summary (Markdown) and the compact `report` output, both kept under GitHub's size limits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import quote

from imagegen.gfm import table_cell
from imagegen.report import Report, SkipReason

BENIGN_SKIPS = frozenset({SkipReason.HAS_IMAGE, SkipReason.FUTURE, SkipReason.NOT_FOUND, SkipReason.EXCLUDED,
                          SkipReason.NOT_A_POST})
"""Skip reasons that are normal (no annotation): a cover already there, a post dated later, a
changed file that is not a post."""

MAX_ROWS = 50
SUMMARY_BUDGET = 512 * 1024
"""GitHub's limit is 1 MiB per step; stay well below it."""


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
    pull_request_url: str = ""
    pull_request_number: int = 0


def summary_markdown(report: Report, ctx: SummaryContext) -> str:
    """The job summary: counts, where the covers went, then one section per kind of outcome."""
    link_base = f"{ctx.server_url.rstrip('/')}/{ctx.repository}" if ctx.repository else ""
    lines = _headline(report, ctx, link_base)
    lines += _generated(report, ctx, link_base) + _outcomes(report) + _providers(report)
    text = "\n".join(lines) + "\n"
    if len(text.encode("utf-8")) > SUMMARY_BUDGET:
        cut = text.encode("utf-8")[:SUMMARY_BUDGET].decode("utf-8", errors="ignore")
        text = cut.rsplit("\n", 1)[0] + "\n\n… (summary truncated; see the `report` output)\n"
    return text


def _headline(report: Report, ctx: SummaryContext, link_base: str) -> list[str]:
    """The title, the counts, where the covers went (commit, pull request, or not committed), why the
    run ended, and the publisher's notes."""
    gen = report.generated
    lines = ["## Cover images" + (" (dry run)" if report.dry_run else ""), ""]
    counts = [f"**{len(gen)}** generated"] if not report.dry_run else [f"**{len(report.planned)}** would be generated"]
    counts += [f"{len(report.skipped)} skipped", f"{len(report.failed)} failed", f"{len(report.pending)} pending"]
    lines += [" · ".join(counts), ""]
    if ctx.pull_request_url:
        lines += [f"Proposed in pull request [#{ctx.pull_request_number}]({ctx.pull_request_url})"
                  + (f" (commit [`{ctx.commit_sha[:12]}`]({link_base}/commit/{ctx.commit_sha}))"
                     if ctx.commit_sha and link_base else "") + ": merge it to publish the covers.", ""]
    elif ctx.commit_sha and link_base:
        lines += [f"Committed [`{ctx.commit_sha[:12]}`]({link_base}/commit/{ctx.commit_sha}).", ""]
    elif gen and not report.dry_run:
        lines += ["Not committed" + (" (commit: none: a later step commits the files)." if ctx.mode == "none" else "."),
                  ""]
    why = report.stop_reason or ""
    if report.stopped_by_quota:
        lines += [f"**Stopped:** every provider is out of quota or disabled ({table_cell(why)}); the remaining posts "
                  "are pending for the next run.", ""]
    elif report.cancelled:
        lines += ["**Cancelled:** in-flight writes finished; the remaining posts are pending.", ""]
    elif why:
        lines += [f"Run ended: {table_cell(why)}.", ""]
    for note in ctx.notes:
        lines += [f"> {table_cell(note)}", ""]
    return lines


def _generated(report: Report, ctx: SummaryContext, link_base: str) -> list[str]:
    """The covers made, linked to the commit when there is one (with thumbnails in a public repository)."""
    if not report.generated:
        return []

    def file_link(path: str) -> str:
        if ctx.commit_sha and link_base:
            return f"[{table_cell(path)}]({link_base}/blob/{ctx.commit_sha}/{quote(path)})"
        return f"`{table_cell(path)}`"

    thumbs = bool(ctx.public and ctx.commit_sha and link_base)
    rows = []
    for g in report.generated:
        row = [file_link(g.post), table_cell(g.provider), f"`{table_cell(g.model)}`", file_link(g.image)]
        if thumbs:  # a public repository: GitHub serves the committed image to anyone
            row.insert(0, f'<img src="{link_base}/raw/{ctx.commit_sha}/{quote(g.image)}" width="96" alt="">')
        rows.append(row)
    header = (["cover"] if thumbs else []) + ["post", "provider", "model", "image"]
    return ["### Generated", ""] + _table(header, rows, noun="covers")


def _why(reason: str, message: str) -> str:
    return table_cell(reason) + (f": {table_cell(message)}" if message else "")


def _outcomes(report: Report) -> list[str]:
    """A dry run's plan, the failed, pending and skipped posts (benign skips only counted)."""
    lines: list[str] = []
    if report.planned:
        lines += ["### Would generate", ""]
        lines += _table(["post", "why", "image"], [[f"`{table_cell(p.post)}`", table_cell(p.why),
                                                    f"`{table_cell(p.would_write)}`"] for p in report.planned],
                        noun="posts")
    if report.failed:
        lines += ["### Failed", ""]
        lines += _table(["post", "error"], [[f"`{table_cell(f.post)}`", table_cell(f.error)] for f in report.failed],
                        noun="posts")
    if report.pending:
        lines += ["### Pending (for the next run)", ""]
        lines += _table(["post", "reason"], [[f"`{table_cell(p.post)}`", _why(p.reason, p.message)]
                                             for p in report.pending], noun="posts")
    if report.skipped:
        by_reason: dict[str, int] = {}
        for s in report.skipped:
            by_reason[str(s.reason)] = by_reason.get(str(s.reason), 0) + 1
        lines += ["### Skipped", "", ", ".join(f"{n} {table_cell(r)}" for r, n in sorted(by_reason.items())), ""]
        problems = [s for s in report.skipped if s.reason not in BENIGN_SKIPS]
        if problems:
            lines += _table(["post", "reason"], [[f"`{table_cell(s.post)}`", _why(s.reason, s.message)]
                                                 for s in problems], noun="posts")
    return lines


def _providers(report: Report) -> list[str]:
    """Each provider's calls, images, errors, time and status."""
    if not report.providers:
        return []
    rows = []
    for name, st in report.providers.items():
        errs = ", ".join(f"{k} {v}" for k, v in st.errors.items() if v) or "none"
        rows.append([table_cell(name), str(st.calls), str(st.images), table_cell(errs), f"{st.seconds:.1f}",
                     table_cell(st.status)])
    return ["### Providers", ""] + _table(["provider", "calls", "images", "errors", "seconds", "status"], rows,
                                          noun="providers")


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


def outputs(report: Report | None, sha: str = "", pr_url: str = "", pr_number: int = 0) -> dict[str, str]:
    """The action's outputs (v1): all empty or zero when the action stopped before any work."""
    pr = {"pull-request-url": pr_url, "pull-request-number": str(pr_number) if pr_number else ""}
    if report is None:
        return {"images-generated": "0", "posts-updated": "", "pending": "0", "stopped-by-quota": "false",
                "commit-sha": "", **pr, "report": ""}
    return {
        "images-generated": str(len(report.generated)),
        "posts-updated": "\n".join(report.posts_updated),
        "pending": str(len(report.pending) + len(report.planned)),  # v1: a dry run's plan counts as pending
        "stopped-by-quota": "true" if report.stopped_by_quota else "false",
        "commit-sha": sha,
        **pr,
        "report": report_output(report),
    }
