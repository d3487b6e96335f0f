"""The `imagegen` command: a thin shell over settings + pipeline; it knows nothing of GitHub Actions.

Flags are generated from the setting declarations (settings.CORE and every provider's options), so
the CLI, the action inputs and the environment fallbacks can never disagree about a name or default.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence, TextIO

from imagegen import __version__
from imagegen.pipeline import run_sync
from imagegen.providers import REGISTRY
from imagegen.report import Event, Report
from imagegen.secrets import redact
from imagegen.settings import CORE, Settings, SettingsError, load, provider_opts

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_SETTINGS = 2
EXIT_CANCELLED = 130


def _add_setting_flags(p: argparse.ArgumentParser) -> None:
    core = p.add_argument_group("run settings (each also readable from the environment variable shown)")
    for d in CORE:
        help_text = f"{d.help} (env {d.env_name}; default: {d.default or 'none'})"
        if d.flag:
            core.add_argument(f"--{d.name}", dest=d.name, action="store_const", const="true", default=None, help=help_text)
            core.add_argument(f"--no-{d.name}", dest=d.name, action="store_const", const="false", help=argparse.SUPPRESS)
        elif d.multi:
            core.add_argument(f"--{d.name}", dest=d.name, action="append", default=None, metavar=d.metavar or "VALUE",
                              nargs="+" if d.name in ("paths", "posts") else None, help=help_text + "; repeatable or comma-separated")
        else:
            core.add_argument(f"--{d.name}", dest=d.name, default=None, metavar=d.metavar or "VALUE", help=help_text)
    for spec in REGISTRY:
        options = spec.all_options()
        if not options:
            continue
        g = p.add_argument_group(f"provider {spec.name}")
        for o in options:
            shown = "(secret)" if o.secret else (o.default or "none")
            g.add_argument(f"--{o.input_name}", dest=o.input_name, default=None, metavar="VALUE",
                           help=f"{o.help} (env {o.env}; default: {shown})")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imagegen", description="Cover images for Markdown-in-git blogs.")
    p.add_argument("--version", action="version", version=f"imagegen {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="give every post that needs one a cover image",
                       description="Find the posts that need a cover, generate images, update the posts.")
    r.add_argument("repo", nargs="?", default=".", help="the blog repository (default: the current folder)")
    r.add_argument("--quiet", action="store_true", help="only print the summary")
    r.add_argument("--json-events", action="store_true", help="print events as JSON lines instead of text")
    _add_setting_flags(r)
    sub.add_parser("providers", help="list the providers, their settings and whether they are configured")
    return p


def _flatten(value: object) -> str | None:
    """argparse values (lists of lists for repeatable multi-value flags) -> one comma-joined string."""
    if value is None:
        return None
    if isinstance(value, list):
        items: list[str] = []
        for v in value:
            items.extend(v if isinstance(v, list) else [v])
        return ",".join(items)
    return str(value)


def settings_from_args(ns: argparse.Namespace, env: dict[str, str]) -> Settings:
    raw = {k: _flatten(v) for k, v in vars(ns).items() if k not in ("command", "repo", "quiet", "json_events")}
    return load(raw, env, repo=ns.repo)


class Printer:
    """One progress line per post; on a terminal, a progress bar on the last line."""

    def __init__(self, out: TextIO, total_hint: int = 0, *, quiet: bool = False, json_lines: bool = False) -> None:
        self.out = out
        self.quiet = quiet
        self.json_lines = json_lines
        self.tty = out.isatty() and not json_lines
        self.done = 0
        self.total = total_hint
        self._bar_shown = False

    def __call__(self, ev: Event) -> None:
        if ev.kind == "plan":
            self.total = int(ev.data.get("total", 0))
        if ev.kind in ("generated", "failed", "pending"):
            self.done += 1
        if self.quiet:
            return
        if self.json_lines:
            print(ev.to_json(), file=self.out, flush=True)
            return
        if self._bar_shown:
            self.out.write("\r\x1b[2K")
            self._bar_shown = False
        print(ev.line(), file=self.out, flush=True)
        if self.tty and self.total:
            width = 30
            filled = int(width * min(self.done, self.total) / self.total)
            self.out.write(f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            self.out.flush()
            self._bar_shown = True


def summary(report: Report, settings: Settings) -> str:
    lines = []
    verb = "would generate" if report.dry_run else "generated"
    count = len([p for p in report.pending if p.get("reason") == "dry-run"]) if report.dry_run else len(report.generated)
    lines.append(f"{verb} {count} cover(s); skipped {len(report.skipped)}; failed {len(report.failed)}; "
                 f"pending {len([p for p in report.pending if p.get('reason') != 'dry-run'])}")
    for g in report.generated:
        lines.append(f"  {g.post} -> {g.image} ({g.provider})")
    for f in report.failed:
        lines.append(f"  FAILED {f['post']}: {f['error']}")
    if report.providers:
        lines.append("")
        lines.append(f"  {'provider':<13}{'calls':>6}{'images':>8}{'errors':>8}{'wasted':>8}{'seconds':>9}  status")
        for name, st in report.providers.items():
            errors = sum(st.errors.values())
            lines.append(f"  {name:<13}{st.calls:>6}{st.images:>8}{errors:>8}{st.wasted_calls:>8}{st.seconds:>9.1f}  {st.status}")
    if report.stopped_by_quota:
        lines.append("stopped: every provider is out (quota/auth); the remaining posts are pending for the next run")
    if report.cancelled:
        lines.append("cancelled: in-flight writes finished; the remaining posts are pending")
    if settings.report is not None:
        lines.append(f"report written to {settings.report}")
    return redact("\n".join(lines))


def cmd_providers(env: dict[str, str], out: TextIO) -> int:
    for spec in REGISTRY:
        opts = provider_opts(spec, {}, env)
        state = "configured" if spec.enabled(opts) else f"needs {spec.needs}"
        print(f"{spec.name:<13} model {opts.get('model') or spec.default_model:<42} {state}", file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None, *, clock: object = None) -> int:
    """The command. `clock` (tests, benchmarks) replaces real time in the run."""
    env = dict(os.environ if env is None else env)
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.command == "providers":
        return cmd_providers(env, sys.stdout)
    try:
        settings = settings_from_args(ns, env)
    except SettingsError as exc:
        print(f"imagegen: error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_SETTINGS
    printer = Printer(sys.stderr, quiet=ns.quiet, json_lines=ns.json_events)
    try:
        report = run_sync(settings, emit=printer, **({"clock": clock} if clock is not None else {}))
    except SettingsError as exc:
        print(f"imagegen: error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_SETTINGS
    except Exception as exc:  # a bug or an environment problem: one line, no traceback with secrets
        from imagegen.discover import DiscoveryError

        if isinstance(exc, DiscoveryError):
            print(f"imagegen: error: {redact(str(exc))}", file=sys.stderr)
            return EXIT_SETTINGS
        print(f"imagegen: error: {type(exc).__name__}: {redact(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    if settings.report is not None:
        write_report(report, settings)
    print(summary(report, settings))
    if report.cancelled:
        return EXIT_CANCELLED
    if report.run_error:
        print(f"imagegen: error: {redact(report.run_error)}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def write_report(report: Report, settings: Settings) -> None:
    """Write the JSON report atomically (a reader never sees half a report)."""
    from pathlib import Path

    from imagegen.writer import replace

    path = settings.report if settings.report.is_absolute() else Path.cwd() / settings.report  # type: ignore[union-attr]
    path.parent.mkdir(parents=True, exist_ok=True)
    replace(path, (report.dumps() + "\n").encode("utf-8"))
