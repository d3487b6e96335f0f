"""Command-line mistakes, told as one error line and one hint line (`imagegen.errors.UsageError`).

click finds most mistakes itself, with the closest real names: an unknown command or option
(`NoSuchCommand`, `NoSuchOption`, suggestions from the commands and options that exist) and an
option missing its value (`BadOptionUsage`). `explain` only words them for a person, from the
exception's fields, never its English text.

Three mistakes come from "one value per option", which click cannot see; they are found here in the
words the command was given:
- `stray`: a word left over after the repository was taken, most often a second value given to an
  option (`--paths Blog Notes REPO`);
- `option_as_value`: an option name taken as another option's value (`--report --dry-run` would
  write a report named "--dry-run" and run for real);
- `repo_hint`: a second value taken for the repository (`--paths Blog Notes` in the blog's folder),
  said when the "repository" turns out not to exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import click

from imagegen.errors import UsageError

__all__ = ["explain", "option_as_value", "repo_hint", "stray", "takes_value"]

ONE_VALUE = "the repository is the one word with no option before it"


def takes_value(command: click.Command) -> set[str]:
    """The option names of `command` that are followed by a value (not flags)."""
    return {o for p in command.params if isinstance(p, click.Option) and not p.is_flag for o in p.opts}


def _secret(command: click.Command, name: str) -> bool:
    """Whether option `name` takes a key or token (cli.options marks them): its value is never quoted."""
    return any(name in p.opts and getattr(p, "secret", False) for p in command.params)


def _names(command: click.Command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}


def _help_hint(ctx: click.Context | None) -> str:
    return f"`{ctx.command_path if ctx else 'imagegen'} --help` shows the options, with examples"


def explain(exc: click.UsageError) -> UsageError:
    """click's mistake as (error, hint), each one line."""
    ctx = exc.ctx
    if isinstance(exc, click.NoSuchCommand):
        commands = list(ctx.command.commands) if ctx and isinstance(ctx.command, click.Group) else []
        guess = f" (did you mean {exc.possibilities[0]!r}?)" if exc.possibilities else ""
        return UsageError(f"unknown command {exc.command_name!r}{guess}",
                          f"commands: {', '.join(commands)}; `imagegen --help` shows examples")
    if isinstance(exc, click.NoSuchOption):
        guess = f" (did you mean {exc.possibilities[0]}?)" if exc.possibilities else ""
        return UsageError(f"unknown option {exc.option_name}{guess}", _before_command(ctx, exc.option_name))
    if isinstance(exc, click.BadOptionUsage) and ctx is not None:
        needs = exc.option_name in takes_value(ctx.command)
        return UsageError(f"{exc.option_name} {'needs a value' if needs else 'takes no value'}", _help_hint(ctx))
    return UsageError(exc.format_message(), _help_hint(ctx))


def _before_command(ctx: click.Context | None, option: str) -> str:
    """The hint for an unknown option: the help, or, for a command's option written before the
    command (`imagegen --quiet run`), which command takes it."""
    if ctx is not None and isinstance(ctx.command, click.Group):
        takers = [name for name, cmd in ctx.command.commands.items() if option in _names(cmd)]
        if takers:
            return f"{option} is an option of `imagegen {takers[0]}`: write it after the command"
    return _help_hint(ctx)


def option_as_value(ctx: click.Context, words: Sequence[str]) -> UsageError | None:
    """An option given another option's name as its value (`--report --dry-run`): the error, or None."""
    takes, names = takes_value(ctx.command), _names(ctx.command)
    k = 0
    while k < len(words) and words[k] != "--":
        if words[k] in takes:
            if k + 1 < len(words) and words[k + 1].split("=", 1)[0] in names:
                return UsageError(f"{words[k]} needs a value", _help_hint(ctx))
            k += 1
        k += 1
    return None


def _positional_before(takes: set[str], words: Sequence[str], end: int) -> bool:
    """Whether words[:end] hold a positional word (not an option, not an option's value)."""
    k = 0
    while k < end:
        w = words[k]
        if not w.startswith("-"):
            return True
        k += 2 if (w in takes and "=" not in w) else 1
    return False


def stray(ctx: click.Context, words: Sequence[str], word: str) -> UsageError:
    """`word` was left over once the repository was taken: most often a second value given to an
    option, so that one value was taken for the repository and this one is left (or the repository
    came first and this is the option's second value)."""
    takes = takes_value(ctx.command)
    i = max(k for k, w in enumerate(words) if w == word)
    j = i - 1
    while j >= 0 and not words[j].startswith("-"):
        j -= 1
    values = list(words[j + 1:i]) if j >= 0 else []
    if values and words[j] in takes:
        flag = words[j]
        if _secret(ctx.command, flag):
            return UsageError(f"unexpected word after {flag} (a secret: not shown)",
                              f"an option takes one value: {flag} takes one key; {ONE_VALUE}")
        if _positional_before(takes, words, j):
            values.append(word)
        return UsageError(f"unexpected {word!r} (after {flag} {' '.join(words[j + 1:i])})",
                          f"an option takes one value: write {flag} {','.join(values)} (or repeat {flag}); {ONE_VALUE}")
    return UsageError(f"unexpected {word!r}",
                      f"the repository comes once, as the first word after the command; {_help_hint(ctx)}")


def repo_hint(command: click.Command, words: Sequence[str], repo: str) -> str:
    """When the repository word directly follows an option's value and is no folder, it was probably
    meant as a second value for that option: say so ('' otherwise)."""
    takes = takes_value(command)
    for k in range(2, len(words)):
        if words[k] == repo and words[k - 2] in takes and not words[k - 1].startswith("-") \
                and not Path(repo).expanduser().is_dir():
            flag = words[k - 2]
            if _secret(command, flag):
                return f"{repo!r} was read as the repository; {flag} takes one value"
            return (f"{repo!r} was read as the repository; if it is another value for {flag}, "
                    f"write {flag} {words[k - 1]},{repo}")
    return ""
