"""The `imagegen` command: a thin click shell over settings + pipeline; it knows nothing of GitHub Actions.

The options of `run` and `doctor` are made from the setting declarations (`imagegen.cli.options`),
so the CLI, the action inputs and the environment fallbacks can never disagree about a name or a
default. Made for the person who types it:
- every option takes one value (a list is comma-separated or the option repeated), so
  `--paths Blog REPO` can never swallow the repository;
- a mistake prints one error line and one hint, with the closest real command or option
  (`imagegen.cli.mistakes`), not the whole usage;
- `--help` opens with runnable examples;
- progress is told in sentences and the summary names the posts, with the time taken
  (`imagegen.cli.narrate`).

Every error ends the command in one place (`fail`): one line, never a traceback that could hold a
secret, and the exit code that `imagegen.errors` puts on the error's class.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import click

from imagegen import __version__, doctor, preview
from imagegen.cli import scaffold
from imagegen.cli.mistakes import explain, option_as_value, repo_hint, stray
from imagegen.cli.narrate import Printer, summary
from imagegen.cli.options import raw_values, setting_options
from imagegen.errors import (EXIT_CANCELLED, EXIT_ERROR, EXIT_OK, EXIT_REPORT, EXIT_SETTINGS, ImagegenError,
                             ReportError, UsageError, exit_code_of)
from imagegen.pipeline import run_sync
from imagegen.providers import REGISTRY
from imagegen.report import Report
from imagegen import redact
from imagegen.config.settings import Settings, load, provider_opts, read_config, secret_values
from imagegen.config.sources import Layers

__all__ = ["EXIT_CANCELLED", "EXIT_ERROR", "EXIT_OK", "EXIT_REPORT", "EXIT_SETTINGS", "Runtime", "app", "fail", "main"]

# Every help text opens with runnable examples; click keeps a block that starts with `\b` as written.
RUN_EXAMPLES = """\
\b
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
\b
examples:
  imagegen run --providers local       give the blog in this folder covers, offline
  imagegen run ~/blog --dry-run        what would happen, without writing anything
  imagegen init --workflow             write .imagegen.toml and a GitHub workflow for this blog
  imagegen providers                   which image providers are configured

`imagegen run --help` lists every option.
"""

INIT_EXAMPLES = """\
\b
examples:
  imagegen init                        write .imagegen.toml for the blog in this folder
  imagegen init ~/blog --workflow      also write .github/workflows/covers.yml
"""

PROVIDERS_EXAMPLES = """\
\b
examples:
  imagegen providers                   which providers the keys in the environment configure
  imagegen providers ~/blog            the same, with the models set in ~/blog's .imagegen.toml
"""

PREVIEW_EXAMPLES = """\
\b
examples:
  imagegen preview                     a page showing every post's cover as social sites crop it
  imagegen preview ~/blog --out covers.html
"""

DOCTOR_EXAMPLES = """\
\b
examples:
  imagegen doctor                      check the keys and models the blog in this folder would use
  imagegen doctor ~/blog --providers cloudflare,gemini
"""
WORDS = "imagegen.words"
"""`ctx.meta` key: the words a command was given (the hints point at one of them)."""


@dataclass(frozen=True)
class Runtime:
    """What `main` was given, handed to the commands as click's `ctx.obj`."""

    env: Mapping[str, str]
    clock: object = None
    """Replaces real time in the run (tests, benchmarks); None: the real clock."""
    timer: Callable[[], float] = time.monotonic
    """Measures the elapsed time the summary shows."""

    def clock_kw(self) -> dict[str, object]:
        return {"clock": self.clock} if self.clock is not None else {}


# --------------------------------------------------------------------------- help layout


class _Help(click.Command):
    """click's help laid out for a person in a hurry: one short usage line, the command's text
    (runnable examples first), then the options under their sections."""

    def __init__(self, *args: Any, usage: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.usage_line = usage

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.ctx = exc.ctx or ctx  # click leaves it out of a missing value's error; the hint needs it
            raise

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "show this help and exit"
        return option

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write(f"usage: {self.usage_line}\n")

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_paragraph()
        formatter.write_text(self.help or "")  # not indented: the examples' lines start at the margin

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Listed by format_options, in their own section."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                default = "arguments" if isinstance(param, click.Argument) else "options"
                sections.setdefault(getattr(param, "section", default), []).append(record)
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows)


class _Command(_Help):
    """A command that takes one value per option. A word left over once the repository is taken, or
    an option name given as another option's value, is a mistake said in words (cli.mistakes)."""

    allow_extra_args = True  # leftover words land in ctx.args, for `stray` to word them

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        words = list(args)
        ctx.meta[WORDS] = words
        mistake = option_as_value(ctx, words)
        if mistake is not None:
            raise mistake
        args = with_boolean_words(self, args)
        rest = super().parse_args(ctx, args)
        if ctx.args:
            raise stray(ctx, words, ctx.args[0])
        return rest


class _Group(_Help, click.Group):
    """The top command: its subcommands listed in the order they are declared."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        rows = [(name, cmd.get_short_help_str(formatter.width)) for name, cmd in self.commands.items()]
        with formatter.section("commands"):
            formatter.write_dl(rows)


TRUE_WORDS, FALSE_WORDS = frozenset({"true", "yes", "on"}), frozenset({"false", "no", "off"})


def with_boolean_words(command: click.Command, args: list[str]) -> list[str]:
    """An on/off option followed by `true`/`false` (or yes/no, on/off; also `--x=false`) takes
    that word as its value, as the action's inputs and the settings file write it: `--dry-run true`
    is a dry run, never "repository folder 'true' does not exist"."""
    flags: dict[str, tuple[str | None, str | None]] = {}  # option -> (its "on" form, its "off" form)
    for param in command.params:
        if isinstance(param, click.Option) and param.is_flag:
            on, off = (param.opts[0] if param.opts else None), (param.secondary_opts[0] if param.secondary_opts else None)
            for name in param.opts:
                flags[name] = (on, off)
            for name in param.secondary_opts:
                flags[name] = (off, on)  # --no-x true means --no-x
    out: list[str] = []
    i = 0
    while i < len(args):
        word, value = args[i], None
        if "=" in word and word.split("=", 1)[0] in flags:
            word, value = word.split("=", 1)
        elif word in flags and i + 1 < len(args) and args[i + 1].lower() in TRUE_WORDS | FALSE_WORDS:
            value = args[i + 1]
            i += 1
        i += 1
        if word not in flags or value is None:
            out.append(word if value is None else f"{word}={value}")
            continue
        if value.lower() not in TRUE_WORDS | FALSE_WORDS:
            out.append(f"{word}={value}")  # click says it takes no value
            continue
        chosen = flags[word][0 if value.lower() in TRUE_WORDS else 1]
        if chosen is not None:
            out.append(chosen)
    return out


def _repo(help_text: str = "the blog repository (default: the current folder)") -> click.Argument:
    return click.Argument(["repo"], required=False, default=".", metavar="REPO", help=help_text)


# --------------------------------------------------------------------------- the commands


@click.group("imagegen", cls=_Group, invoke_without_command=True, no_args_is_help=False,
             usage="imagegen COMMAND [REPO] [options]",
             help="Cover images for Markdown-in-git blogs.\n\n" + MAIN_EXAMPLES,
             context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 100, "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="imagegen", message="%(prog)s %(version)s",
                      help="show the version and exit")
@click.pass_context
def app(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is None:
        raise UsageError("no command given", "try `imagegen run --providers local` in a blog's folder; "
                                             "`imagegen --help` shows more")


def _settings(ctx: click.Context, repo: str, values: Mapping[str, Any], *, need_provider: bool | None = None) -> Settings:
    """Settings from the options, the environment and the settings file. When the repository does not
    exist and came right after an option's value, it was probably a second value: the hint says so."""
    raw = raw_values(values)
    for secret in secret_values(raw, {}):  # a secret given as an option, before anything is printed
        redact.register(secret)
    try:
        return load(raw, ctx.obj.env, repo=repo, need_provider=need_provider)
    except ImagegenError as exc:
        hint = repo_hint(ctx.command, ctx.meta.get(WORDS, ()), repo)
        if hint and exc.exit_code == UsageError.exit_code:
            raise UsageError(str(exc), hint) from exc
        raise


@app.command("run", cls=_Command, usage="imagegen run [REPO] [options]",
             short_help="give every post that needs one a cover image",
             help=RUN_EXAMPLES + "\nFind the posts that need a cover, generate images, update the posts.",
             params=[_repo(), click.Option(["--quiet", "-q"], is_flag=True, help="print only errors and the final line"),
                     click.Option(["--verbose", "-v"], is_flag=True,
                                  help="print every step and every post (the default counts the routine ones)"),
                     click.Option(["--json-events"], is_flag=True, help="print events as JSON lines instead of text"),
                     *setting_options()])
@click.pass_context
def _run(ctx: click.Context, repo: str, quiet: bool, verbose: bool, json_events: bool, **values: Any) -> int:
    runtime: Runtime = ctx.obj
    started = runtime.timer()
    if quiet and verbose:
        raise UsageError("--quiet and --verbose contradict each other", "choose one")
    level = "quiet" if quiet else "verbose" if verbose else "normal"
    settings = _settings(ctx, repo, values)
    printer = Printer(sys.stderr, json_lines=json_events, level=level)
    if settings.config_file and not (quiet or json_events):
        print(f"settings from {settings.config_file} (options and environment variables win over it)", file=sys.stderr)
    try:
        report = run_sync(settings, emit=printer, **runtime.clock_kw())
    finally:
        printer.close()  # the bar is gone before the summary or the error line
    return _finish(report, settings, runtime.timer() - started, level)


def _finish(report: Report, settings: Settings, elapsed: float, level: str = "normal") -> int:
    """Write the report file, print the summary; the run's exit code."""
    problem = report.write(settings.report) if settings.report is not None else None
    print(summary(report, settings, elapsed, report_written=problem is None, level=level))
    if problem is not None:  # the covers are written; only the report file is missing
        raise ReportError(problem)
    if report.cancelled:
        return EXIT_CANCELLED
    if report.run_error:
        raise ImagegenError(report.run_error)
    return EXIT_OK


@app.command("providers", cls=_Command, usage="imagegen providers [REPO]",
             short_help="list the providers, their settings and whether they are configured",
             help=PROVIDERS_EXAMPLES + "\nList the image providers, their model and whether they are configured.",
             params=[_repo("the blog repository, for its .imagegen.toml (default: here)")])
@click.pass_context
def _providers(ctx: click.Context, repo: str) -> int:
    layers = Layers({}, ctx.obj.env, read_config(Path(repo)))
    for spec in REGISTRY:
        opts = provider_opts(spec, layers)
        state = "configured" if spec.enabled(opts) else f"needs {spec.needs}"
        print(f"{spec.name:<13} model {opts.get('model') or spec.default_model:<42} {state}")
    return EXIT_OK


@app.command("init", cls=_Command, usage="imagegen init [REPO] [--workflow] [--force]",
             short_help="write .imagegen.toml for this blog (and, with --workflow, a GitHub workflow)",
             help=INIT_EXAMPLES + "\nWrite a settings file for the blog, listing every setting.",
             params=[_repo(), click.Option(["--workflow"], is_flag=True, help="also write .github/workflows/covers.yml"),
                     click.Option(["--force"], is_flag=True,
                                  help="refresh .imagegen.toml (adds the settings it does not mention; every line "
                                       "you wrote stays) and replace the workflow (the old one kept as .bak)"),
                     click.Option(["--action"], default=None, metavar="OWNER/REPO@REF",
                                  help="what the workflow's step uses (default: a placeholder to replace)")])
def _init(repo: str, workflow: bool, force: bool, action: str | None) -> int:
    done = scaffold.init(Path(repo).expanduser(), workflow=workflow, force=force, action=action or scaffold.ACTION_REF)
    for w in done:
        if w.action == "kept":
            print(f"kept {w.path} as it is")
        elif w.action == "refreshed":
            print(f"refreshed {w.path}: added the settings it did not mention; every line you wrote is still there")
        else:
            print(f"wrote {w.path}" + (f" (the old one is kept as {w.backup})" if w.backup else ""))
    if workflow and not action:
        print(f"in {scaffold.WORKFLOW_PATH}, replace {scaffold.ACTION_REF} with the GitHub repository that hosts "
              "the imagegen action (owner/name@v1, or pass --action), and add the provider keys you have as "
              "repository secrets")
    print("next: imagegen run --dry-run" + (f" {repo}" if repo != "." else ""))
    return EXIT_OK


@app.command("doctor", cls=_Command, usage="imagegen doctor [REPO] [options]",
             short_help="check keys, models, the state file and the describer (no image is made)",
             help=DOCTOR_EXAMPLES + "\nWill this setup work? Checks each configured provider's key and models through cheap endpoints "
                  "(model lists, whoami, the Hub's provider mapping), the state file and the describer, without "
                  "spending quota or making an image. Exit 0 when at least one image provider is usable, 1 otherwise.",
             params=[_repo(), *setting_options()])
@click.pass_context
def _doctor(ctx: click.Context, repo: str, **values: Any) -> int:
    settings = _settings(ctx, repo, values, need_provider=False)  # no key yet: the table says where to get one
    return doctor.main(settings, sys.stdout, **ctx.obj.clock_kw())


@app.command("preview", cls=_Command, usage="imagegen preview [REPO] [--out FILE] [options]",
             short_help="write one HTML page showing every post's cover as social sites crop it",
             help=PREVIEW_EXAMPLES + "\nLook before you commit: one static page (no server, no network) with "
                  "every post's cover at the shapes social sites crop it to (1.91:1 link card, 2:1 large "
                  "card, square), its title, provider and prompt; missing and stale covers marked. Reads only.",
             params=[_repo(), click.Option(["--out"], default=None, metavar="FILE",
                                           help="where to write the page (default: in the git directory)"),
                     *setting_options()])
@click.pass_context
def _preview(ctx: click.Context, repo: str, out: str | None, **values: Any) -> int:
    settings = _settings(ctx, repo, values, need_provider=False)  # it looks, it makes nothing
    page, shown = preview.write(settings, Path(out).expanduser() if out else None)
    print(f"wrote {page}: {len(shown.entries)} posts, {shown.count('ok')} with a cover, "
          f"{shown.count('missing')} missing, {shown.count('stale')} stale, {shown.count('skipped')} skipped")
    print(f"open it: {page.as_uri()}")
    return EXIT_OK


# --------------------------------------------------------------------------- the entry point


def fail(exc: BaseException) -> int:
    """The one place an error ends the command: one line on stderr (a mistake adds a hint line) and
    the exit code of the error's class (imagegen.errors: a mistake or a bad setting 2, the report
    file 3, Ctrl-C 130, anything else 1)."""
    if isinstance(exc, click.UsageError):
        exc = explain(exc)
    elif isinstance(exc, click.ClickException):
        exc = ImagegenError(exc.format_message())
    if isinstance(exc, KeyboardInterrupt):
        print("imagegen: cancelled", file=sys.stderr)
        return exit_code_of(exc)
    what = str(exc) if isinstance(exc, ImagegenError) else f"{type(exc).__name__}: {redact.redact(str(exc))}"
    print(f"imagegen: error: {what}", file=sys.stderr)
    if isinstance(exc, UsageError) and exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    return exit_code_of(exc)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, *, clock: object = None,
         timer: Callable[[], float] = time.monotonic) -> int:
    """The command; returns its exit code. `clock` (tests, benchmarks) replaces real time in the
    run; `timer` measures the elapsed time the summary shows."""
    words = list(sys.argv[1:] if argv is None else argv)
    runtime = Runtime(dict(os.environ if env is None else env), clock, timer)
    for secret in secret_values({}, runtime.env):  # the environment's secrets, before any output
        redact.register(secret)
    try:
        with app.make_context("imagegen", words, obj=runtime) as ctx:
            return int(app.invoke(ctx))
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except (Exception, KeyboardInterrupt) as exc:  # one line, never a traceback that could hold a secret
        return fail(exc)
