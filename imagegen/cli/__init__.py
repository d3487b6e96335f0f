"""The `imagegen` command: a thin shell over settings + pipeline; it knows nothing of GitHub Actions.

Flags are generated from the setting declarations (settings.CORE and every provider's options), so
the CLI, the action inputs and the environment fallbacks can never disagree about a name or default.

Made for the person who types it: every option takes one value (a list is comma-separated or the
flag repeated), so `--paths Blog REPO` can never swallow the repository; a mistake prints one error
line and one hint (with the closest real option), not the whole usage; `--help` opens with examples;
progress is told in sentences (imagegen.cli.narrate) and the summary names the posts, with the time taken.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from pathlib import Path
from typing import Callable, NoReturn, Sequence, TextIO

from imagegen import __version__
from imagegen.pipeline import run_sync
from imagegen.cli.narrate import Printer, summary
from imagegen.providers import REGISTRY
from imagegen.report import Report
from imagegen.secrets import redact
from imagegen.settings import CORE, Settings, load, provider_opts, read_config

from imagegen.errors import (EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, EXIT_REPORT, EXIT_SETTINGS, ImagegenError,
                             exit_code_of)


def _add_setting_flags(p: argparse.ArgumentParser) -> None:
    core = p.add_argument_group("run settings (each also readable from the environment variable shown)")
    for d in CORE:
        help_text = f"{d.help} (env {d.env_name}; default: {d.default or 'none'})"
        if d.flag:
            core.add_argument(f"--{d.name}", dest=d.name, action="store_const", const="true", default=None, help=help_text)
            core.add_argument(f"--no-{d.name}", dest=d.name, action="store_const", const="false", help=argparse.SUPPRESS)
        elif d.multi:
            # One value per flag: `--paths a,b` or `--paths a --paths b`, never `--paths a b`
            # (which would take the repository for a path).
            core.add_argument(f"--{d.name}", dest=d.name, action="append", default=None, metavar=d.metavar or "VALUE",
                              help=help_text + "; comma-separated or repeated")
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


RUN_EXAMPLES = """\
examples:
  imagegen run --providers local                  covers for the blog in this folder, offline
  imagegen run ~/blog --dry-run                   show what would happen, write nothing
  imagegen run ~/blog --paths posts,notes         only posts under posts/ and notes/
  imagegen run ~/blog --max-images 5              at most 5 new covers this run
  imagegen run ~/blog --posts posts/2026-01-01-hello.md --providers cloudflare,pollinations

Settings can also live in .imagegen.toml at the repository's root (`imagegen init` writes one);
flags and environment variables win over it. Provider keys come from the environment
(CLOUDFLARE_API_TOKEN, GEMINI_API_KEY, ...; `imagegen providers` shows which are set).
"""

MAIN_EXAMPLES = """\
examples:
  imagegen run --providers local       give the blog in this folder covers, offline
  imagegen run ~/blog --dry-run        what would happen, without writing anything
  imagegen init --workflow             write .imagegen.toml and a GitHub workflow for this blog
  imagegen providers                   which image providers are configured

`imagegen run --help` lists every option.
"""

INIT_EXAMPLES = """\
examples:
  imagegen init                        write .imagegen.toml for the blog in this folder
  imagegen init ~/blog --workflow      also write .github/workflows/covers.yml
"""


class UsageError(Exception):
    """argparse's complaint, caught before it prints the whole usage: `message` is the error,
    `parser` the (sub)command it happened in. `usage_hint` turns it into imagegen.errors.UsageError."""

    def __init__(self, message: str, parser: argparse.ArgumentParser) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports a mistake to `main` instead of printing the whole usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=100)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="imagegen", usage="imagegen COMMAND [REPO] [options]", allow_abbrev=False,
                description="Cover images for Markdown-in-git blogs.\n\n" + MAIN_EXAMPLES, formatter_class=_Formatter)
    p.add_argument("--version", action="version", version=f"imagegen {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    r = sub.add_parser("run", help="give every post that needs one a cover image", allow_abbrev=False, prog="imagegen run",
                       usage="imagegen run [REPO] [options]", formatter_class=_Formatter,
                       description=RUN_EXAMPLES + "\nFind the posts that need a cover, generate images, update the posts.")
    r.add_argument("repo", nargs="?", default=".", help="the blog repository (default: the current folder)")
    r.add_argument("--quiet", action="store_true", help="only print the summary")
    r.add_argument("--json-events", action="store_true", help="print events as JSON lines instead of text")
    _add_setting_flags(r)
    sub.add_parser("providers", help="list the providers, their settings and whether they are configured",
                   allow_abbrev=False, prog="imagegen providers", usage="imagegen providers [REPO]", formatter_class=_Formatter,
                   description="List the image providers, their model and whether they are configured.")\
        .add_argument("repo", nargs="?", default=".", help="the blog repository, for its .imagegen.toml (default: here)")
    i = sub.add_parser("init", help="write .imagegen.toml for this blog (and, with --workflow, a GitHub workflow)",
                       allow_abbrev=False, prog="imagegen init", usage="imagegen init [REPO] [--workflow] [--force]", formatter_class=_Formatter,
                       description=INIT_EXAMPLES + "\nWrite a settings file for the blog, listing every setting.")
    i.add_argument("repo", nargs="?", default=".", help="the blog repository (default: the current folder)")
    i.add_argument("--workflow", action="store_true", help="also write .github/workflows/covers.yml")
    i.add_argument("--force", action="store_true", help="replace files that already exist")
    i.add_argument("--action", default=None, metavar="OWNER/REPO@REF",
                   help="what the workflow's step uses (default: a placeholder to replace)")
    d = sub.add_parser("doctor", help="check keys, models, the state file and the describer (no image is made)",
                       allow_abbrev=False, prog="imagegen doctor", usage="imagegen doctor [REPO] [options]",
                       formatter_class=_Formatter,
                       description="Will this setup work? Checks each configured provider's key and models through "
                                   "cheap endpoints (model lists, whoami, the Hub's provider mapping), the state file "
                                   "and the describer, without spending quota or making an image. Exit 0 when at "
                                   "least one image provider is usable, 1 otherwise.")
    d.add_argument("repo", nargs="?", default=".", help="the blog repository (default: the current folder)")
    _add_setting_flags(d)
    return p


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [s for a in parser._actions for s in a.option_strings if s.startswith("--")]


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands the parser really has (suggestions and hints come from here, never a copy)."""
    actions = parser._subparsers._group_actions if parser._subparsers else []  # type: ignore[union-attr]
    return [name for a in actions for name in (getattr(a, "choices", None) or {})]


def _subparser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The subcommand's parser when argv names one (unknown options are reported by the top one)."""
    for action in parser._subparsers._group_actions if parser._subparsers else []:  # type: ignore[union-attr]
        choices = getattr(action, "choices", None) or {}
        for word in argv:
            if word in choices:
                return choices[word]
    return parser


def _positionals_before(parser: argparse.ArgumentParser, argv: Sequence[str], end: int) -> bool:
    """Whether argv[:end] holds a positional word after the command (not an option's value)."""
    takes_value = {o for a in parser._actions if a.nargs != 0 for o in a.option_strings}
    words = list(argv[:end])
    k = 0
    seen_command = parser.prog == "imagegen"
    while k < len(words):
        w = words[k]
        if w.startswith("-"):
            k += 2 if (w in takes_value and "=" not in w) else 1
            continue
        if not seen_command:
            seen_command = True  # the subcommand's own name
        else:
            return True
        k += 1
    return False


def _repo_hint(parser: argparse.ArgumentParser, argv: Sequence[str], repo: str) -> str:
    """When the repository word directly follows an option's value, it was probably meant as a
    second value for that option: say so."""
    target = _subparser(parser, argv)
    takes_value = {o for a in target._actions if a.nargs != 0 for o in a.option_strings}
    words = list(argv)
    for k in range(2, len(words)):
        if words[k] == repo and words[k - 2] in takes_value and not words[k - 1].startswith("-") \
                and not Path(repo).expanduser().is_dir():
            flag = words[k - 2]
            return (f"{repo!r} was read as the repository; if it is another value for {flag}, "
                    f"write {flag} {words[k - 1]},{repo}")
    return ""


def usage_hint(err: UsageError, argv: Sequence[str], parser: argparse.ArgumentParser) -> tuple[str, str]:
    """(error, hint) for a command-line mistake, each one line."""
    msg = err.args[0]
    target = _subparser(parser, argv)
    cmd = target.prog
    help_hint = f"`{cmd} --help` shows the options, with examples"
    if msg.startswith("unrecognized arguments:"):
        words = msg.split(":", 1)[1].split()
        options = [w for w in words if w.startswith("-")]
        if options:
            name = options[0].split("=", 1)[0]
            match = difflib.get_close_matches(name, _option_strings(target), n=1, cutoff=0.6)
            return (f"unknown option {name}" + (f" (did you mean {match[0]}?)" if match else ""), help_hint)
        # A stray word: most often more than one value given to a one-value option, so that one of
        # them was taken for the repository and the next is left over.
        argv = list(argv)
        stray = words[0]
        i = max((k for k, w in enumerate(argv) if w == stray), default=-1)
        j = i - 1
        while j >= 0 and not argv[j].startswith("-"):
            j -= 1
        values = argv[j + 1:i] if j >= 0 else []
        if j >= 0 and values and argv[j].startswith("--") and "=" not in argv[j]:
            flag = argv[j]
            # Was the repository already given before this option? Then the stray word is one more
            # value for it; otherwise the stray word is the repository and a value was taken for it.
            if _positionals_before(target, argv, j):
                values = values + [stray]
            return (f"unexpected {stray!r} (after {flag} {' '.join(argv[j + 1:i])})",
                    f"an option takes one value: write {flag} {','.join(values)} (or repeat {flag}); "
                    "the repository is the one word with no option before it")
        return (f"unexpected {stray!r}", f"the repository comes once, as the first word after the command; {help_hint}")
    if "invalid choice" in msg and "argument COMMAND" in msg:
        word = msg.split("invalid choice:", 1)[1].split("(", 1)[0].strip().strip("'")
        commands = _commands(parser)
        match = difflib.get_close_matches(word, commands, n=1, cutoff=0.5)
        return (f"unknown command {word!r}" + (f" (did you mean {match[0]!r}?)" if match else ""),
                f"commands: {', '.join(commands)}; `imagegen --help` shows examples")
    if "the following arguments are required: COMMAND" in msg:
        return ("no command given", "try `imagegen run --providers local` in a blog's folder; `imagegen --help` shows more")
    if msg.startswith("argument --") and "expected one argument" in msg:
        flag = msg.split()[1].split("/")[0].rstrip(":")
        return (f"{flag} needs a value", help_hint)
    return (msg, help_hint)


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


def cmd_providers(env: dict[str, str], out: TextIO, repo: str = ".") -> int:
    config = read_config(Path(repo))
    for spec in REGISTRY:
        opts = provider_opts(spec, {}, env, config)
        state = "configured" if spec.enabled(opts) else f"needs {spec.needs}"
        print(f"{spec.name:<13} model {opts.get('model') or spec.default_model:<42} {state}", file=out)
    return EXIT_OK


def cmd_init(ns: argparse.Namespace, out: TextIO) -> int:
    from imagegen.cli import scaffold

    repo = Path(ns.repo).expanduser()
    try:
        written = scaffold.init(repo, workflow=ns.workflow, force=ns.force, action=ns.action or scaffold.ACTION_REF)
    except ImagegenError as exc:
        print(f"imagegen: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for path in written:
        print(f"wrote {path}", file=out)
    if ns.workflow and not ns.action:
        print(f"in {scaffold.WORKFLOW_PATH}, replace {scaffold.ACTION_REF} with where the action is published, "
              "and add the provider keys you have as repository secrets", file=out)
    print("next: imagegen run --dry-run" + (f" {ns.repo}" if ns.repo != "." else ""), file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None, *, clock: object = None,
         timer: Callable[[], float] = time.monotonic) -> int:
    """The command. `clock` (tests, benchmarks) replaces real time in the run; `timer` measures the
    elapsed time the summary shows."""
    env = dict(os.environ if env is None else env)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except UsageError as exc:
        error, hint = usage_hint(exc, argv, parser)
        print(f"imagegen: error: {error}", file=sys.stderr)
        print(f"hint: {hint}", file=sys.stderr)
        return EXIT_SETTINGS
    if ns.command == "providers":
        try:
            return cmd_providers(env, sys.stdout, ns.repo)
        except ImagegenError as exc:
            print(f"imagegen: error: {exc}", file=sys.stderr)
            return exc.exit_code
    if ns.command == "init":
        return cmd_init(ns, sys.stdout)
    started = timer()
    try:
        settings = settings_from_args(ns, env)
    except ImagegenError as exc:
        print(f"imagegen: error: {exc}", file=sys.stderr)
        hint = _repo_hint(parser, argv, ns.repo)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return exc.exit_code
    if ns.command == "doctor":
        from imagegen import doctor

        return doctor.main(settings, sys.stdout, **({"clock": clock} if clock is not None else {}))
    printer = Printer(sys.stderr, quiet=ns.quiet, json_lines=ns.json_events)
    if settings.config_file and not (ns.quiet or ns.json_events):
        print(f"settings from {settings.config_file} (options and environment variables win over it)", file=sys.stderr)
    try:
        report = run_sync(settings, emit=printer, **({"clock": clock} if clock is not None else {}))
    except Exception as exc:  # one line, never a traceback that could hold a secret
        printer.close()
        what = str(exc) if isinstance(exc, ImagegenError) else f"{type(exc).__name__}: {redact(str(exc))}"
        print(f"imagegen: error: {what}", file=sys.stderr)
        return exit_code_of(exc)
    printer.close()
    report_problem = write_report(report, settings) if settings.report is not None else None
    print(summary(report, settings, timer() - started, report_written=report_problem is None))
    if report_problem is not None:  # the covers are written; only the report file is missing
        print(f"imagegen: error: {redact(report_problem)}", file=sys.stderr)
        return EXIT_REPORT
    if report.cancelled:
        return EXIT_CANCELLED
    if report.run_error:
        print(f"imagegen: error: {redact(report.run_error)}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def write_report(report: Report, settings: Settings) -> str | None:
    """Write the JSON report atomically (a reader never sees half a report); None, or one line
    saying why it could not be written."""
    assert settings.report is not None
    return report.write(settings.report)
